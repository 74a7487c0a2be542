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
        Provider.create(values)
    env.cr.commit()  # noqa: F821
