# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from psycopg2 import sql

from odoo import api, fields, models
from odoo.tools.sql import column_exists

from .auth_oauth_provider import LEGACY_SECRET_COLUMN

PROVIDER_XMLID = "oec_auth_azure.provider_azure"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # Labels start with "Sign-in": oec_cloud_accounts has a Tenant, a Client
    # Secret... of its own in the same Settings model.
    oec_azure_enabled = fields.Boolean(
        string="Allow users to sign in with Microsoft Azure",
        help="Show the Microsoft Azure button on the login, sign-up and reset-password pages.",
    )
    oec_azure_tenant = fields.Char(
        string="Sign-in Tenant",
        help="Directory (tenant) ID or a verified domain of your organisation; organizations, "
        "common or consumers for multi-tenant app registrations.",
    )
    oec_azure_client_id = fields.Char(
        string="Sign-in Application (client) ID",
        help="On the Overview page of the app registration in the Azure portal.",
    )
    # Not stored (no column in this transient table, whose rows stay until
    # the vacuum) and never read back: the inverse hands it to the provider,
    # which keeps it encrypted.
    oec_azure_client_secret = fields.Char(
        string="Sign-in Client Secret",
        compute="_compute_oec_azure_client_secret",
        inverse="_inverse_oec_azure_client_secret",
        groups="base.group_system",
        help="Optional and write-only: the Value of a secret from Certificates & secrets, stored "
        "encrypted and never shown again. With it, Odoo uses the authorization-code flow with "
        "PKCE; without it, the implicit flow (tick 'ID tokens' and 'Access tokens' in Azure).",
    )
    oec_azure_client_secret_set = fields.Boolean(
        string="Sign-in Client Secret Set",
        compute="_compute_oec_azure_client_secret_set",
        help="A client secret is stored (encrypted) for the Microsoft Azure provider.",
    )
    oec_azure_allowed_tenants = fields.Char(
        string="Sign-in Allowed Tenants",
        help="With organizations / common / consumers only: the directory (tenant) IDs whose users "
        "may sign in, separated by commas. Empty: any tenant.",
    )
    oec_azure_link_by_upn = fields.Boolean(
        string="Link Accounts by User Principal Name",
        help="At first sign-in, link a Microsoft account to the Odoo user whose login or email "
        "equals its user principal name, without a reset-password link. Single tenant only; "
        "never by the email claim, never to administrators (they use their reset link).",
    )
    oec_azure_allow_signup = fields.Boolean(
        string="Allow Sign-up with Microsoft Azure",
        help="Create a portal user for an unknown Microsoft account when free sign-up is on. "
        "Off: unknown accounts are refused even with free sign-up (with organizations or "
        "common, that would be any user of any tenant).",
    )
    oec_azure_redirect_uri = fields.Char(
        string="Sign-in Redirect URI",
        readonly=True,
        help="Register this URI (platform 'Web') in the Azure app registration, Authentication page.",
    )

    def init(self):
        res = super().init()
        # Earlier versions stored the secret in this transient table, in clear.
        if column_exists(self.env.cr, self._table, LEGACY_SECRET_COLUMN):
            self.env.cr.execute(
                sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(
                    sql.Identifier(self._table), sql.Identifier(LEGACY_SECRET_COLUMN)
                )
            )
        return res

    def _compute_oec_azure_client_secret(self):
        # write-only: the stored secret is never read back
        for settings in self:
            settings.oec_azure_client_secret = False

    def _inverse_oec_azure_client_secret(self):
        values = [(settings.oec_azure_client_secret or "").strip() for settings in self]
        # keep the value out of this record's cache: it would be read back
        self.invalidate_recordset(["oec_azure_client_secret", "oec_azure_client_secret_set"])
        provider = self.env.ref(PROVIDER_XMLID, raise_if_not_found=False)
        # Empty means "keep the current one": every Settings save sends the
        # (always empty) field; removing is a button.
        for value in values:
            if value and provider:
                # as the current user: only system users may write providers
                provider.write({"oec_azure_client_secret": value})

    def _compute_oec_azure_client_secret_set(self):
        provider = self.env.ref(PROVIDER_XMLID, raise_if_not_found=False)
        secret_set = bool(provider) and provider.sudo().oec_azure_client_secret_set
        for settings in self:
            settings.oec_azure_client_secret_set = secret_set

    @api.model
    def get_values(self):
        res = super().get_values()
        res["oec_azure_redirect_uri"] = self.env["auth.oauth.provider"]._oec_azure_redirect_uri()
        provider = self.env.ref(PROVIDER_XMLID, raise_if_not_found=False)
        if provider:
            provider = provider.sudo()
            # never the client secret: what this returns goes to the browser
            res.update(
                oec_azure_enabled=provider.enabled,
                oec_azure_tenant=provider.oec_azure_tenant,
                oec_azure_client_id=provider.client_id,
                oec_azure_allowed_tenants=provider.oec_azure_allowed_tenants,
                oec_azure_link_by_upn=provider.oec_azure_link_by_upn,
                oec_azure_allow_signup=provider.oec_azure_allow_signup,
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
            "oec_azure_allowed_tenants": (self.oec_azure_allowed_tenants or "").strip() or False,
            "oec_azure_link_by_upn": self.oec_azure_link_by_upn,
            "oec_azure_allow_signup": self.oec_azure_allow_signup,
        }
        # Write only what changed: the tenant rewrites the authorization URL.
        current = provider.sudo().read(list(values))[0]
        changed = {k: v for k, v in values.items() if (current[k] or False) != (v or False)}
        if changed:
            provider.sudo().write(changed)

    def action_oec_azure_clear_client_secret(self):
        """Remove the sign-in client secret (back to the implicit flow)."""
        provider = self.env.ref(PROVIDER_XMLID, raise_if_not_found=False)
        if provider:
            provider.action_oec_azure_clear_client_secret()
        self.invalidate_recordset(["oec_azure_client_secret_set"])
