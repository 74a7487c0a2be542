# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, fields, models

PROVIDER_XMLID = "oec_auth_azure.provider_azure"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    oec_azure_enabled = fields.Boolean(
        string="Allow users to sign in with Microsoft Azure",
        help="Show the Microsoft Azure button on the login, sign-up and reset-password pages.",
    )
    oec_azure_tenant = fields.Char(
        string="Tenant",
        help="Directory (tenant) ID or a verified domain of your organisation; organizations, "
        "common or consumers for multi-tenant app registrations.",
    )
    oec_azure_client_id = fields.Char(
        string="Application (client) ID",
        help="On the Overview page of the app registration in the Azure portal.",
    )
    oec_azure_client_secret = fields.Char(
        string="Client Secret",
        groups="base.group_system",
        help="Optional: the Value of a secret from Certificates & secrets. With it, Odoo uses the "
        "authorization-code flow with PKCE; without it, the implicit flow (tick 'ID tokens' and "
        "'Access tokens' in Azure).",
    )
    oec_azure_allowed_tenants = fields.Char(
        string="Allowed Tenants",
        help="With organizations / common / consumers only: the directory (tenant) IDs whose users "
        "may sign in, separated by commas. Empty: any tenant.",
    )
    oec_azure_link_by_email = fields.Boolean(
        string="Link Accounts by Email",
        help="Link a Microsoft account to the Odoo user with the same email at first sign-in, "
        "without a reset-password or invitation link. Single tenant only.",
    )
    oec_azure_redirect_uri = fields.Char(
        string="Redirect URI",
        readonly=True,
        help="Register this URI (platform 'Web') in the Azure app registration, Authentication page.",
    )

    @api.model
    def get_values(self):
        res = super().get_values()
        res["oec_azure_redirect_uri"] = self.env["auth.oauth.provider"]._oec_azure_redirect_uri()
        provider = self.env.ref(PROVIDER_XMLID, raise_if_not_found=False)
        if provider:
            provider = provider.sudo()
            res.update(
                oec_azure_enabled=provider.enabled,
                oec_azure_tenant=provider.oec_azure_tenant,
                oec_azure_client_id=provider.client_id,
                oec_azure_client_secret=provider.oec_azure_client_secret,
                oec_azure_allowed_tenants=provider.oec_azure_allowed_tenants,
                oec_azure_link_by_email=provider.oec_azure_link_by_email,
            )
        return res

    def set_values(self):
        super().set_values()
        provider = self.env.ref(PROVIDER_XMLID, raise_if_not_found=False)
        if not provider:
            return
        values = {
            "enabled": self.oec_azure_enabled,
            "oec_azure_tenant": (self.oec_azure_tenant or "").strip() or "organizations",
            "client_id": (self.oec_azure_client_id or "").strip() or False,
            "oec_azure_client_secret": (self.oec_azure_client_secret or "").strip() or False,
            "oec_azure_allowed_tenants": (self.oec_azure_allowed_tenants or "").strip() or False,
            "oec_azure_link_by_email": self.oec_azure_link_by_email,
        }
        # Write only what changed: the tenant rewrites the authorization URL.
        current = provider.sudo().read(list(values))[0]
        changed = {k: v for k, v in values.items() if (current[k] or False) != (v or False)}
        if changed:
            provider.sudo().write(changed)
