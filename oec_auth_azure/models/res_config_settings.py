# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError

from ..services import credentials
from .oec_azure_signin_log import DEFAULT_RETENTION_DAYS, RETENTION_PARAM
from .res_users import BREAK_GLASS_PARAM, ENFORCE_PARAM, REFUSE_API_KEYS_PARAM

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
    oec_azure_host_identity = fields.Boolean(
        string="Sign-in Without Secret",
        compute="_compute_oec_azure_host_identity",
        help="The server's configuration (option oec_azure_client_credential) makes Odoo prove it is "
        "the application with the host's managed identity or federated token: no client secret is "
        "stored nor sent, and the authorization-code flow with PKCE is used.",
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

    oec_azure_jit = fields.Boolean(
        string="Create Users at First Microsoft Sign-in",
        help="A person without an Odoo user who signs in with Microsoft gets one, if their tenant "
        "is the sign-in tenant (or an allowed one) and their token carries a mapped app role or "
        "group (set the mappings on the provider). Off by default.",
    )
    oec_azure_jit_user_type = fields.Selection(
        [("internal", "Internal User"), ("portal", "Portal User")],
        string="Type of Users Created by Microsoft Sign-in",
        default="internal",
        help="Users created at first Microsoft sign-in are internal or portal users.",
    )
    oec_azure_enforce = fields.Boolean(
        string="Enforce Microsoft Sign-in",
        config_parameter=ENFORCE_PARAM,
        help="Users linked to a Microsoft provider cannot sign in with an Odoo password: the login "
        "form tells them to use the Microsoft button (so Microsoft's MFA and conditional access "
        "always apply), and their reset-password link only links the Microsoft account.",
    )
    oec_azure_break_glass_group_id = fields.Many2one(
        "res.groups",
        string="Password Sign-in Kept For",
        config_parameter=BREAK_GLASS_PARAM,
        help="Members of this group keep password sign-in when Microsoft sign-in is enforced (a "
        "way in when Microsoft is unreachable). Empty: Administration / Settings.",
    )
    oec_azure_refuse_api_keys = fields.Boolean(
        string="Refuse API Keys of Microsoft Users",
        config_parameter=REFUSE_API_KEYS_PARAM,
        help="With enforced Microsoft sign-in, API keys of users linked to Microsoft stop working "
        "too (XML-RPC / JSON-RPC integrations). Off: their API keys keep working; their passwords "
        "never do.",
    )
    oec_azure_single_signout = fields.Boolean(
        string="Sign Out of Microsoft Too",
        config_parameter="oec_auth_azure.single_signout",
        help="Odoo's Log out also ends the Microsoft session of users who signed in with "
        "Microsoft (Microsoft's sign-out page, then back to Odoo's login page).",
    )
    oec_azure_frontchannel_logout_url = fields.Char(
        string="Sign-in Front-channel Logout URL",
        readonly=True,
        help="Register this URL in the Azure app registration (Authentication > Front-channel "
        "logout URL): signing out of Microsoft 365 then ends the Odoo sessions it started.",
    )
    oec_azure_signin_log_days = fields.Integer(
        string="Keep Microsoft Sign-ins (days)",
        config_parameter=RETENTION_PARAM,
        default=DEFAULT_RETENTION_DAYS,
        help="Entries of the Microsoft sign-in log older than this are deleted by a daily scheduled action.",
    )

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

    def _compute_oec_azure_host_identity(self):
        try:
            host_identity = not credentials.uses_secret(tools.config)
        except credentials.CredentialError:
            host_identity = False  # said at the next sign-in, with what to correct
        for settings in self:
            settings.oec_azure_host_identity = host_identity

    def _compute_oec_azure_client_secret_set(self):
        provider = self.env.ref(PROVIDER_XMLID, raise_if_not_found=False)
        secret_set = bool(provider) and provider.sudo().oec_azure_client_secret_set
        for settings in self:
            settings.oec_azure_client_secret_set = secret_set

    @api.model
    def get_values(self):
        res = super().get_values()
        res["oec_azure_redirect_uri"] = self.env["auth.oauth.provider"]._oec_azure_redirect_uri()
        res["oec_azure_frontchannel_logout_url"] = self.env[
            "auth.oauth.provider"
        ]._oec_azure_frontchannel_logout_url()
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
                oec_azure_jit=provider.oec_azure_jit,
                oec_azure_jit_user_type=provider.oec_azure_jit_user_type,
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
            "oec_azure_jit": self.oec_azure_jit,
            "oec_azure_jit_user_type": self.oec_azure_jit_user_type or "internal",
        }
        # Write only what changed: the tenant rewrites the authorization URL.
        current = provider.sudo().read(list(values))[0]
        changed = {k: v for k, v in values.items() if (current[k] or False) != (v or False)}
        if changed:
            provider.sudo().write(changed)

    @api.constrains("oec_azure_signin_log_days")
    def _check_oec_azure_signin_log_days(self):
        for settings in self:
            if settings.oec_azure_signin_log_days < 1:
                raise ValidationError(_("Microsoft sign-ins are kept for at least one day."))

    def action_oec_azure_open_provider(self):
        """The Microsoft Azure provider's form: role and group mappings."""
        provider = self.env.ref(PROVIDER_XMLID)
        return {
            "type": "ir.actions.act_window",
            "res_model": "auth.oauth.provider",
            "res_id": provider.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_oec_azure_clear_client_secret(self):
        """Remove the sign-in client secret (back to the implicit flow)."""
        provider = self.env.ref(PROVIDER_XMLID, raise_if_not_found=False)
        if provider:
            provider.action_oec_azure_clear_client_secret()
        self.invalidate_recordset(["oec_azure_client_secret_set"])
