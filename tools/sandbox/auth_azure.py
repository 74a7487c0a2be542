# Run by `make run` through `odoo-bin shell` (``env`` is given) when the local
# Azure sandbox is up; OEC_SANDBOX_INFO holds the emulator's describe() JSON.
#
# Adds a SEPARATE provider "Microsoft Azure (sandbox)" pointed at the emulator,
# so that the documented "Microsoft Azure" provider stays untouched for the
# administrator to configure against the real Microsoft Entra ID from
# Settings. Idempotent: re-running updates the sandbox provider (the emulator's
# ports change at every start).
import json
import os

from azure_emulator import defaults
from azure_emulator.client import ControlClient

info = json.loads(os.environ["OEC_SANDBOX_INFO"])
Provider = env["auth.oauth.provider"]  # noqa: F821 (env: provided by odoo-bin shell)
if "oec_azure" in Provider._fields:
    values = {
        "name": "Microsoft Azure (sandbox)",
        "oec_azure": True,
        "oec_azure_tenant": info["tenant_id"],
        # the browser goes to the plain-http twin (no certificate warning),
        # Odoo's server to the https endpoints with the sandbox CA
        # (oec_azure_ca_bundle in the run configuration)
        "auth_endpoint": "%s/%s/oauth2/v2.0/authorize" % (info["http_url"], info["tenant_id"]),
        "oec_azure_authority": info["endpoints"]["authority_host"],
        "validation_endpoint": info["endpoints"]["userinfo"],
        "scope": "openid profile email",
        "client_id": info["signin_client_id"],
        # with a secret: authorization code + PKCE, no token through the browser
        "oec_azure_client_secret": info["signin_client_secret"],
        "css_class": "fa fa-fw fa-windows",
        "body": "Microsoft Azure (sandbox)",
        "enabled": True,
        "sequence": 90,
    }
    provider = Provider.search([("name", "=", values["name"]), ("oec_azure", "=", True)], limit=1)
    if provider:
        provider.write(values)
    else:
        provider = Provider.create(values)
    if "oec_azure_mapping_ids" in Provider._fields:
        # Roles → groups and just-in-time users, to try: both sandbox users
        # have the app role "Odoo.Contacts" (Enterprise applications > Users
        # and groups, in Azure), mapped to Contact Creation; sandbox.user has
        # no Odoo user and gets one at its first sign-in.
        role = "Odoo.Contacts"
        control = ControlClient(info["url"], info["ca_path"])
        for oid in (defaults.USER_OID, defaults.SECOND_USER_OID):
            control.update_user(oid, app_roles={info["signin_client_id"]: [role]})
        if not provider.oec_azure_mapping_ids.filtered(lambda m: m.value == role):
            provider.oec_azure_mapping_ids = [
                (
                    0,
                    0,
                    {
                        "kind": "role",
                        "value": role,
                        "group_ids": [(6, 0, env.ref("base.group_partner_manager").ids)],  # noqa: F821
                        "note": "Sandbox: assigned to both sandbox users",
                    },
                )
            ]
        provider.oec_azure_jit = True
    env.cr.commit()  # noqa: F821
