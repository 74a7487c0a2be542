# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The Microsoft provider's settings: fields, constraints and UI. Its calls to
Entra ID and Graph are in auth_oauth_provider_entra.py (through services/)."""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.http import request

from ..services.entra import DEFAULT_AUTHORITY, authorize_url
from ..services.urls import TENANT_ALIASES, is_guid, is_secure_url, is_tenant

# The client secret, AES-GCM encrypted in a column no ORM field maps
# (oec.secret.mixin): no read, search_read, export or RPC can return it.
SECRET_COLUMN = "oec_azure_client_secret_enc"


class AuthOAuthProvider(models.Model):
    _name = "auth.oauth.provider"
    _inherit = ("auth.oauth.provider", "oec.secret.mixin")
    _secret_columns = (SECRET_COLUMN,)

    oec_azure = fields.Boolean(
        string="Microsoft Entra ID",
        help="Sign in through Microsoft Entra ID (Azure AD) with the hardened flow of this module: "
        "signed state bound to the browser session, nonce, verified id_token, code flow with PKCE "
        "when a client secret is set.",
    )
    oec_azure_tenant = fields.Char(
        string="Tenant",
        default="organizations",
        help="Directory (tenant) ID of your organisation, one of its verified domains "
        "(e.g. contoso.onmicrosoft.com), or organizations / common / consumers for multi-tenant "
        "app registrations.",
    )
    oec_azure_authority = fields.Char(
        string="Login host",
        default=DEFAULT_AUTHORITY,
        help="Host Odoo's server calls for the token endpoint and the signing keys "
        "(https://login.microsoftonline.com for Azure public cloud, "
        "https://login.microsoftonline.us for US Government, https://login.chinacloudapi.cn "
        "for Azure China). The browser goes to the Authorization URL instead.",
    )
    oec_azure_client_secret = fields.Char(
        string="Client Secret",
        compute="_compute_oec_azure_client_secret",
        inverse="_inverse_oec_azure_client_secret",
        groups="base.group_system",
        copy=False,
        help="Optional and write-only: stored encrypted (server option oec_cloud_secret_key), "
        "never shown again; type a new one to replace it. With a secret Odoo uses the "
        "authorization-code flow with PKCE: no token ever passes through the browser. Without "
        "one, the implicit flow of the Odoo documentation is used (tick 'ID tokens' and "
        "'Access tokens' in Azure).",
    )
    oec_azure_client_secret_set = fields.Boolean(
        string="Client Secret Set",
        compute="_compute_oec_azure_client_secret_set",
        help="A client secret is stored (encrypted): the sign-in uses the authorization-code flow with PKCE.",
    )
    oec_azure_allowed_tenants = fields.Char(
        string="Allowed Tenants",
        help="Only for the tenants organizations / common / consumers: directory (tenant) IDs "
        "whose users may sign in, separated by commas or spaces. Empty: any tenant.",
    )
    oec_azure_link_by_upn = fields.Boolean(
        string="Link by User Principal Name",
        help="At first sign-in, link a Microsoft account to the Odoo user whose login or email "
        "equals its user principal name (the preferred_username of the id_token, which your "
        "tenant controls), without a reset-password or invitation link. Never by the email "
        "claim (any user can set it), never to an administrator (Settings or Administration "
        "rights: they link through their reset-password link), never to a user already linked. "
        "Only allowed for a single tenant.",
    )
    oec_azure_allow_signup = fields.Boolean(
        string="Allow Sign-up",
        help="Create a portal user for a Microsoft account that no Odoo user is linked to, when "
        "the database allows free sign-up (Settings > Permissions > Customer Account: Free sign "
        "up). Off: such accounts are refused even with free sign-up, since with organizations "
        "or common any user of any tenant could sign up. Invitations work either way.",
    )
    oec_azure_jit = fields.Boolean(
        string="Create Users at First Sign-in",
        help="Just-in-time users: a person who signs in with Microsoft without an Odoo user gets "
        "one, if their tenant is this single tenant (or on Allowed Tenants) and their id_token "
        "carries at least one mapped app role or group: turn on 'Assignment required' on the "
        "Enterprise application so that Entra ID decides who gets in. The login is their user "
        "principal name, never the email claim. A linked user whose token no longer carries any "
        "mapped role or group is then refused.",
    )
    oec_azure_jit_user_type = fields.Selection(
        [("internal", "Internal User"), ("portal", "Portal User")],
        string="Type of Created Users",
        default="internal",
        required=True,
        help="Users created at first sign-in are internal users (count as users for your "
        "subscription) or portal users.",
    )
    oec_azure_jit_template_id = fields.Many2one(
        "res.users",
        string="Template User",
        context={"active_test": False},
        ondelete="set null",
        help="Users created at first sign-in get the groups of this user (except its type: "
        "internal or portal), plus the groups their Microsoft roles map to.",
    )
    oec_azure_jit_archive = fields.Boolean(
        string="Archive Users Without Roles",
        help="With users created at first sign-in: when a linked user signs in with no mapped "
        "app role or group left, archive their Odoo user (besides refusing the sign-in). "
        "Administrators are never archived this way.",
    )
    oec_azure_mapping_ids = fields.One2many(
        "oec.azure.role.mapping",
        "provider_id",
        string="Role and Group Mappings",
        help="At each sign-in, the Odoo groups of these lines are given to the user when the "
        "id_token carries the app role (roles claim) or group (groups claim), and taken away when "
        "it no longer does. Odoo groups no line names are never changed.",
    )
    oec_azure_redirect_uri = fields.Char(
        string="Redirect URI",
        compute="_compute_oec_azure_redirect_uri",
        help="Register this URI (platform 'Web') in the Azure app registration, Authentication page.",
    )

    oec_azure_frontchannel_logout_url = fields.Char(
        string="Front-channel Logout URL",
        compute="_compute_oec_azure_redirect_uri",
        help="Register this URL in the Azure app registration (Authentication > Front-channel "
        "logout URL): signing out of Microsoft 365 then signs out of Odoo too.",
    )

    def _compute_oec_azure_redirect_uri(self):
        uri = self._oec_azure_redirect_uri()
        logout = self._oec_azure_frontchannel_logout_url()
        for provider in self:
            provider.oec_azure_redirect_uri = uri if provider.oec_azure else False
            provider.oec_azure_frontchannel_logout_url = logout if provider.oec_azure else False

    def _compute_oec_azure_client_secret(self):
        # write-only: the stored secret is never read back
        for provider in self:
            provider.oec_azure_client_secret = False

    def _inverse_oec_azure_client_secret(self):
        self.check_access_rights("write")
        self.check_access_rule("write")
        values = {provider: (provider.oec_azure_client_secret or "").strip() for provider in self}
        # The value written sits in the cache: drop it, or a read in the same
        # request (web_save reads the record back) would send it to the browser.
        self.invalidate_recordset(["oec_azure_client_secret"])
        for provider, value in values.items():
            provider.sudo()._set_secret(SECRET_COLUMN, value or None)

    def _compute_oec_azure_client_secret_set(self):
        # a secret stored by the database this one is a copy of is not used here
        with_secret = self._ids_with_secret(SECRET_COLUMN, here=True)
        for provider in self:
            provider.oec_azure_client_secret_set = provider.id in with_secret

    @api.constrains(
        "oec_azure",
        "oec_azure_tenant",
        "oec_azure_authority",
        "oec_azure_allowed_tenants",
        "oec_azure_link_by_upn",
        "oec_azure_jit",
        "client_id",
        "enabled",
        "auth_endpoint",
        "validation_endpoint",
    )
    def _check_oec_azure(self):
        for provider in self.filtered("oec_azure"):
            tenant = (provider.oec_azure_tenant or "").strip()
            if not is_tenant(tenant):
                raise ValidationError(
                    _(
                        "%(provider)s: the tenant must be a directory (tenant) ID such as "
                        "00000000-0000-0000-0000-000000000000, a verified domain such as "
                        "contoso.onmicrosoft.com, or one of organizations, common, consumers "
                        "(got %(value)r).",
                        provider=provider.name,
                        value=tenant,
                    )
                )
            if provider.client_id and not is_guid(provider.client_id.strip()):
                raise ValidationError(
                    _(
                        "%(provider)s: the application (client) ID is a GUID such as "
                        "00000000-0000-0000-0000-000000000000, shown on the app registration's "
                        "Overview page (got %(value)r).",
                        provider=provider.name,
                        value=provider.client_id,
                    )
                )
            if provider.enabled and not provider.client_id:
                raise ValidationError(
                    _("%s: set the application (client) ID before enabling the provider.", provider.name)
                )
            for label, url in (
                (_("login host"), provider.oec_azure_authority),
                (_("authorization URL"), provider.auth_endpoint),
                (_("UserInfo URL"), provider.validation_endpoint),
            ):
                if not is_secure_url(url):
                    raise ValidationError(
                        _(
                            "%(provider)s: the %(label)s must be an https:// URL to a plain host name "
                            "(got %(value)r).",
                            provider=provider.name,
                            label=label,
                            value=(url or "")[:100],
                        )
                    )
            allowed = provider._oec_azure_allowed_tenant_ids()
            bad = [t for t in allowed if not is_guid(t)]
            if bad:
                raise ValidationError(
                    _(
                        "%(provider)s: allowed tenants are directory (tenant) IDs (GUIDs); not: %(values)s.",
                        provider=provider.name,
                        values=", ".join(bad),
                    )
                )
            if allowed and tenant.lower() not in TENANT_ALIASES:
                raise ValidationError(
                    _(
                        "%s: the allowed tenants list only applies when the tenant is "
                        "organizations, common or consumers; a single tenant already limits "
                        "sign-in to that tenant.",
                        provider.name,
                    )
                )
            if provider.oec_azure_link_by_upn and tenant.lower() in TENANT_ALIASES:
                raise ValidationError(
                    _(
                        "%s: linking by user principal name is only allowed for a single tenant "
                        "(a directory ID or domain): in a multi-tenant setup, another tenant "
                        "could name its users like yours.",
                        provider.name,
                    )
                )

            if provider.oec_azure_jit and tenant.lower() in TENANT_ALIASES and not allowed:
                raise ValidationError(
                    _(
                        "%s: users can only be created at first sign-in for a single tenant (a "
                        "directory ID or domain) or for the tenants listed in Allowed Tenants: "
                        "else any Microsoft account with a matching role name could get a user.",
                        provider.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("oec_azure") and vals.get("oec_azure_tenant") and not vals.get("auth_endpoint"):
                vals["auth_endpoint"] = authorize_url(None, vals["oec_azure_tenant"])
        return super().create(vals_list)

    def write(self, vals):
        if "oec_azure_tenant" in vals and "auth_endpoint" not in vals:
            for provider in self.filtered("oec_azure"):
                # Keep the browser host (Azure public cloud, a sovereign cloud
                # or the sandbox) and put the new tenant in its path.
                super(AuthOAuthProvider, provider).write(
                    dict(
                        vals,
                        auth_endpoint=authorize_url(provider.auth_endpoint, vals["oec_azure_tenant"]),
                    )
                )
            others = self.filtered(lambda p: not p.oec_azure)
            return super(AuthOAuthProvider, others).write(vals) if others else True
        return super().write(vals)

    def action_oec_azure_clear_client_secret(self):
        """Forget the client secret: the sign-in goes back to the implicit flow."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        for provider in self:
            provider.sudo()._set_secret(SECRET_COLUMN, None)

    @api.model
    def _oec_azure_base_url(self):
        """web.base.url (never the request's Host header), so that a redirect
        URI is the same in Azure, in the authorize request and in the token
        request; https when the site is served over https (behind a TLS proxy).
        Also the rule of oec_cloud_accounts' callback."""
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
        if base.startswith("http://") and request and request.httprequest.scheme == "https":
            base = "https://" + base[len("http://") :]
        return base

    @api.model
    def _oec_azure_redirect_uri(self):
        return self._oec_azure_base_url() + "/auth_oauth/signin"

    @api.model
    def _oec_azure_frontchannel_logout_url(self):
        return self._oec_azure_redirect_uri().rpartition("/auth_oauth/signin")[0] + "/oec_auth_azure/logout"
