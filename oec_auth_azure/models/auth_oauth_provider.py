# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib
import logging
import re
import threading
import time
from urllib.parse import urlencode, urlsplit

import jwt
import requests
from jwt.utils import base64url_encode
from psycopg2 import sql

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessDenied, UserError, ValidationError
from odoo.http import request
from odoo.tools.sql import column_exists

from .secret_box import KEY_OPTION, SecretBox

_logger = logging.getLogger(__name__)

GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)
TENANT_ALIASES = ("organizations", "common", "consumers")
# The tenant of personal Microsoft accounts (what /consumers signs in to).
MSA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# a DNS host name, an IPv4 address, or an IPv6 address as urlsplit gives it (no brackets)
HOST_RE = re.compile(
    r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
    r"|[0-9a-f:.]+:[0-9a-f:.]*"
)
TIMEOUT = 10
# Clock skew tolerated on exp/iat/nbf, in seconds.
LEEWAY = 120
JWKS_TTL = 24 * 3600
# At most this many JWKS downloads per key set and minute: an unknown `kid`
# triggers one, and the id_token of the implicit flow comes from the browser.
JWKS_REFRESH_BUDGET = 6
DEFAULT_GRAPH = "https://graph.microsoft.com"
# Group overage: at most this many Graph pages (999 groups each) are read.
GRAPH_MAX_PAGES = 20
# The client secret lives, AES-GCM encrypted, in a column no ORM field maps
# (as auth_totp's secret): no read, search_read, export or RPC can return it.
SECRET_COLUMN = "oec_azure_client_secret_enc"
# Where versions before the encryption kept it in clear (dropped by init()).
LEGACY_SECRET_COLUMN = "oec_azure_client_secret"

# Process-wide caches: signing keys and domain -> tenant id are public data
# that every worker may share; nothing here is per user.
_jwks_cache = {}
_tenant_cache = {}
_cache_lock = threading.Lock()


class AuthOAuthProvider(models.Model):
    _inherit = "auth.oauth.provider"

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

    def init(self):
        res = super().init()
        cr = self.env.cr
        if not column_exists(cr, self._table, SECRET_COLUMN):
            cr.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN {} varchar").format(
                    sql.Identifier(self._table), sql.Identifier(SECRET_COLUMN)
                )
            )
        if column_exists(cr, self._table, LEGACY_SECRET_COLUMN):
            self._oec_azure_encrypt_legacy_secrets()
        return res

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
            provider.sudo()._oec_azure_store_client_secret(value or None)

    def _compute_oec_azure_client_secret_set(self):
        ids = [id_ for id_ in self._ids if id_]  # new records have no row
        with_secret = set()
        if ids:
            self.env.cr.execute(
                sql.SQL("SELECT id FROM {} WHERE id = ANY(%s) AND {} IS NOT NULL").format(
                    sql.Identifier(self._table), sql.Identifier(SECRET_COLUMN)
                ),
                (ids,),
            )
            with_secret = {row[0] for row in self.env.cr.fetchall()}
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
            if not tenant or not (
                tenant.lower() in TENANT_ALIASES or GUID_RE.match(tenant) or DOMAIN_RE.match(tenant)
            ):
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
            if provider.client_id and not GUID_RE.match(provider.client_id.strip()):
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
                if not _is_secure_url(url):
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
            bad = [t for t in allowed if not GUID_RE.match(t)]
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
                vals["auth_endpoint"] = _authorize_url(None, vals["oec_azure_tenant"])
        return super().create(vals_list)

    def write(self, vals):
        if "oec_azure_tenant" in vals and "auth_endpoint" not in vals:
            for provider in self.filtered("oec_azure"):
                # Keep the browser host (Azure public cloud, a sovereign cloud
                # or the sandbox) and put the new tenant in its path.
                super(AuthOAuthProvider, provider).write(
                    dict(
                        vals,
                        auth_endpoint=_authorize_url(provider.auth_endpoint, vals["oec_azure_tenant"]),
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
            provider.sudo()._oec_azure_store_client_secret(None)

    # -- business methods -------------------------------------------------------------------------

    @api.model
    def _oec_azure_redirect_uri(self):
        """The redirect URI, built from web.base.url (never from the request's
        Host header) so that it is the same in Azure, in the authorize request
        and in the token request. https when the site is served over https."""
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
        if base.startswith("http://") and request and request.httprequest.scheme == "https":
            base = "https://" + base[len("http://") :]
        return base + "/auth_oauth/signin"

    @api.model
    def _oec_azure_frontchannel_logout_url(self):
        return self._oec_azure_redirect_uri().rpartition("/auth_oauth/signin")[0] + "/oec_auth_azure/logout"

    def _oec_azure_end_session_url(self, tenant_id=None, logout_hint=None):
        """Microsoft's end_session_endpoint for this sign-in, on the browser
        host of the authorization URL. Microsoft comes back to the redirect
        URI (already registered), which leads to the login page."""
        self.ensure_one()
        parts = urlsplit(self.auth_endpoint or DEFAULT_AUTHORITY)
        tenant = tenant_id if tenant_id and GUID_RE.match(tenant_id) else self._oec_azure_segment()
        params = {
            "client_id": self.client_id or "",
            "post_logout_redirect_uri": self._oec_azure_redirect_uri(),
        }
        if logout_hint:
            params["logout_hint"] = logout_hint
        return "%s://%s/%s/oauth2/v2.0/logout?%s" % (parts.scheme, parts.netloc, tenant, urlencode(params))

    def _oec_azure_client_secret(self):
        """The client secret in clear, or None when none is set. For the
        sign-in code only (never reachable over RPC: private).

        :raise UserError: a secret is set but this server cannot decrypt it
            (no key, or another key than the one it was stored with)
        """
        self.ensure_one()
        self.env.cr.execute(
            sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
                sql.Identifier(SECRET_COLUMN), sql.Identifier(self._table)
            ),
            (self.id,),
        )
        row = self.env.cr.fetchone()
        if not row or not row[0]:
            return None
        value = self._oec_azure_secret_box().decrypt(row[0], self._oec_azure_secret_context(self.id))
        if value is None:
            _logger.warning(
                "Microsoft Entra ID: the client secret of provider %s cannot be decrypted: was %s changed?",
                self.id,
                KEY_OPTION,
            )
            raise UserError(
                _(
                    "The client secret of %(provider)s cannot be decrypted with the server's key "
                    "(%(option)s changed?): an administrator must enter it again.",
                    provider=self.name,
                    option=KEY_OPTION,
                )
            )
        return value

    def _oec_azure_store_client_secret(self, value):
        """Encrypt and store ``value`` (None clears it). Callers check access."""
        self.ensure_one()
        stored = (
            self._oec_azure_secret_box().encrypt(value, self._oec_azure_secret_context(self.id))
            if value
            else None
        )
        self.env.cr.execute(
            sql.SQL("UPDATE {} SET {} = %s WHERE id = %s").format(
                sql.Identifier(self._table), sql.Identifier(SECRET_COLUMN)
            ),
            (stored, self.id),
        )
        self.invalidate_recordset(["oec_azure_client_secret_set"])

    @api.model
    def _oec_azure_secret_box(self):
        key = tools.config.get(KEY_OPTION)
        if not key:
            raise UserError(
                _(
                    "No encryption key is configured for the client secret: add %(option)s = <64 "
                    "hexadecimal characters> to the Odoo server configuration file and restart Odoo.",
                    option=KEY_OPTION,
                )
            )
        try:
            return SecretBox(key)
        except ValueError as exc:
            raise UserError(
                _("The server option %(option)s must be 64 hexadecimal characters.", option=KEY_OPTION)
            ) from exc

    @api.model
    def _oec_azure_secret_context(self, provider_id):
        # bound to table, row and column: a ciphertext copied elsewhere does not decrypt
        return "%s:%s:%s" % (self._table, provider_id, SECRET_COLUMN)

    def _oec_azure_encrypt_legacy_secrets(self):
        """Move secrets kept in clear by earlier versions into the encrypted
        column, then drop the clear one. Without a key they cannot be kept."""
        cr = self.env.cr
        cr.execute(
            sql.SQL("SELECT id, {legacy} FROM {table} WHERE COALESCE({legacy}, '') != ''").format(
                legacy=sql.Identifier(LEGACY_SECRET_COLUMN), table=sql.Identifier(self._table)
            )
        )
        rows = cr.fetchall()
        box = None
        if rows:
            try:
                box = self._oec_azure_secret_box()
            except UserError:
                _logger.warning(
                    "Microsoft Entra ID: %s is not configured: the client secret of providers %s, "
                    "stored in clear by an earlier version, is removed; enter it again once the key is set.",
                    KEY_OPTION,
                    [row[0] for row in rows],
                )
        for provider_id, value in rows if box else ():
            cr.execute(
                sql.SQL("UPDATE {} SET {} = %s WHERE id = %s").format(
                    sql.Identifier(self._table), sql.Identifier(SECRET_COLUMN)
                ),
                (box.encrypt(value, self._oec_azure_secret_context(provider_id)), provider_id),
            )
        cr.execute(
            sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(
                sql.Identifier(self._table), sql.Identifier(LEGACY_SECRET_COLUMN)
            )
        )

    def _oec_azure_allowed_tenant_ids(self):
        self.ensure_one()
        return [t.lower() for t in re.split(r"[\s,;]+", self.oec_azure_allowed_tenants or "") if t]

    def _oec_azure_authority(self):
        self.ensure_one()
        return (self.oec_azure_authority or DEFAULT_AUTHORITY).rstrip("/")

    def _oec_azure_segment(self):
        self.ensure_one()
        return (self.oec_azure_tenant or "organizations").strip()

    def _oec_azure_token_endpoint(self):
        return "%s/%s/oauth2/v2.0/token" % (self._oec_azure_authority(), self._oec_azure_segment())

    def _oec_azure_jwks_uri(self):
        return "%s/%s/discovery/v2.0/keys" % (self._oec_azure_authority(), self._oec_azure_segment())

    def _oec_azure_admin_consent_url(self):
        """Microsoft's admin-consent page for this app (opened in the browser)."""
        self.ensure_one()
        parts = urlsplit(self.auth_endpoint or DEFAULT_AUTHORITY)
        tenant = self._oec_azure_segment()
        if tenant.lower() in ("common", "consumers"):
            tenant = "organizations"
        return "%s://%s/%s/v2.0/adminconsent?%s" % (
            parts.scheme,
            parts.netloc,
            tenant,
            urlencode(
                {
                    "client_id": self.client_id or "",
                    "scope": "https://graph.microsoft.com/.default",
                    "redirect_uri": self._oec_azure_redirect_uri(),
                }
            ),
        )

    def _oec_azure_post(self, url, data):
        """POST to Microsoft's token endpoint: its JSON answer, errors included."""
        response = requests.post(url, data=data, timeout=TIMEOUT, verify=_ca_bundle())
        try:
            return response.json()
        except ValueError:
            return {"error": "invalid_response", "error_description": response.text[:200]}

    def _oec_azure_get_json(self, url, access_token=None):
        headers = {"Authorization": "Bearer %s" % access_token} if access_token else {}
        response = requests.get(url, headers=headers, timeout=TIMEOUT, verify=_ca_bundle())
        response.raise_for_status()
        return response.json()

    def _oec_azure_tenant_ids(self):
        """The tenant ids an id_token may come from; None means any tenant."""
        self.ensure_one()
        allowed = self._oec_azure_allowed_tenant_ids()
        tenant = self._oec_azure_segment().lower()
        if allowed:
            return set(allowed)
        if tenant == "consumers":
            return {MSA_TENANT_ID}
        if tenant in TENANT_ALIASES:
            return None
        if GUID_RE.match(tenant):
            return {tenant}
        return {self._oec_azure_resolve_domain(tenant)}

    def _oec_azure_resolve_domain(self, domain):
        """A verified domain's tenant id, from the issuer of its OpenID configuration."""
        key = (self._oec_azure_authority(), domain)
        with _cache_lock:
            if key in _tenant_cache:
                return _tenant_cache[key]
        url = "%s/%s/v2.0/.well-known/openid-configuration" % key
        try:
            issuer = self._oec_azure_get_json(url).get("issuer", "")
        except (requests.RequestException, ValueError) as exc:
            _logger.warning("Microsoft Entra ID: cannot resolve tenant %s: %s", domain, exc)
            raise AccessDenied(_("Microsoft's directory could not be reached.")) from exc
        tid = issuer.rstrip("/").split("/")[-2].lower() if issuer.count("/") >= 4 else ""
        if not GUID_RE.match(tid):
            raise AccessDenied(_("Microsoft did not recognise the tenant %s.", domain))
        with _cache_lock:
            _tenant_cache[key] = tid
        return tid

    def _oec_azure_signing_key(self, kid):
        """The public key for `kid` from the tenant's JWKS, downloaded again
        when the kid is unknown (Microsoft rotates its keys) or the cache is old."""
        url = self._oec_azure_jwks_uri()
        now = time.monotonic()
        with _cache_lock:
            entry = _jwks_cache.setdefault(url, {"keys": {}, "fetched": 0.0, "refreshes": []})
            key = entry["keys"].get(kid)
            if key is not None and now - entry["fetched"] < JWKS_TTL:
                return key
            entry["refreshes"] = [t for t in entry["refreshes"] if now - t < 60]
            if len(entry["refreshes"]) >= JWKS_REFRESH_BUDGET:
                return key
            entry["refreshes"].append(now)
        try:
            keys = {
                jwk["kid"]: jwt.PyJWK(jwk, algorithm="RS256").key
                for jwk in self._oec_azure_get_json(url).get("keys", [])
                if jwk.get("kid") and jwk.get("kty") == "RSA"
            }
        except (requests.RequestException, ValueError, jwt.PyJWTError) as exc:
            _logger.warning("Microsoft Entra ID: cannot download the signing keys from %s: %s", url, exc)
            return key
        with _cache_lock:
            entry.update(keys=keys, fetched=now)
        return keys.get(kid)

    def _oec_azure_verify_id_token(self, id_token, nonce):
        """The claims of a valid id_token, else AccessDenied with the reason."""
        self.ensure_one()
        if not id_token:
            raise AccessDenied(_("Microsoft sent no id_token."))
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise AccessDenied(_("The id_token is malformed.")) from exc
        if header.get("alg") != "RS256":
            raise AccessDenied(_("The id_token is not signed with RS256."))
        key = self._oec_azure_signing_key(header.get("kid"))
        if key is None:
            raise AccessDenied(_("The id_token is signed with an unknown key."))
        try:
            claims = jwt.decode(
                id_token,
                key,
                algorithms=["RS256"],
                audience=self.client_id,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "aud", "iss", "sub", "tid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AccessDenied(_("The id_token has expired.")) from exc
        except jwt.InvalidAudienceError as exc:
            raise AccessDenied(_("The id_token was issued to another application.")) from exc
        except jwt.PyJWTError as exc:
            raise AccessDenied(_("The id_token is invalid: %s", exc)) from exc
        tid = str(claims["tid"]).lower()
        allowed = self._oec_azure_tenant_ids()
        if allowed is not None and tid not in allowed:
            raise AccessDenied(_("The id_token comes from a tenant that may not sign in here."))
        if self._oec_azure_segment().lower() == "organizations" and tid == MSA_TENANT_ID:
            raise AccessDenied(_("Personal Microsoft accounts may not sign in here."))
        if claims["iss"] != "%s/%s/v2.0" % (self._oec_azure_authority(), claims["tid"]):
            raise AccessDenied(_("The id_token has an unexpected issuer."))
        if not nonce or not tools.consteq(str(claims.get("nonce", "")), nonce):
            raise AccessDenied(_("The id_token does not answer this sign-in (nonce mismatch)."))
        return claims

    def _oec_azure_graph_host(self):
        """Microsoft Graph of this provider's cloud: the host of its UserInfo
        URL (graph.microsoft.com, graph.microsoft.us, microsoftgraph.chinacloudapi.cn,
        or the sandbox)."""
        self.ensure_one()
        parts = urlsplit(self.validation_endpoint or "")
        if not parts.netloc or not _is_secure_url(self.validation_endpoint):
            return DEFAULT_GRAPH
        return "%s://%s" % (parts.scheme, parts.netloc)

    def _oec_azure_graph_groups(self, access_token):
        """Object ids of the signed-in user's groups, direct and transitive,
        from Graph's /me/transitiveMemberOf (delegated permission User.Read,
        the least privileged one Microsoft documents for the signed-in user).
        Used on group overage only.

        :raise AccessDenied: with what to do, when Graph refuses or fails
        """
        self.ensure_one()
        host = self._oec_azure_graph_host()
        url = host + "/v1.0/me/transitiveMemberOf/microsoft.graph.group?$select=id&$top=999"
        groups = []
        for _page in range(GRAPH_MAX_PAGES):
            try:
                response = requests.get(
                    url,
                    headers={"Authorization": "Bearer %s" % access_token},
                    timeout=TIMEOUT,
                    verify=_ca_bundle(),
                )
            except requests.RequestException as exc:
                _logger.warning("Microsoft Entra ID: Graph could not be reached: %s", type(exc).__name__)
                raise AccessDenied(
                    _("Microsoft Graph could not be reached to read your groups. Try again in a moment.")
                ) from exc
            if response.status_code in (401, 403):
                _logger.warning(
                    "Microsoft Entra ID: Graph refused to list the groups of a user (HTTP %s)",
                    response.status_code,
                )
                raise AccessDenied(
                    _(
                        "You are a member of too many groups for the token, and Microsoft Graph "
                        "refused to list them. An administrator must grant the app registration "
                        "the delegated permission User.Read (Microsoft Graph, with admin consent), "
                        "or map app roles instead of groups."
                    )
                )
            try:
                response.raise_for_status()
                body = response.json()
                groups += [item["id"].lower() for item in body.get("value", []) if item.get("id")]
            except (requests.RequestException, ValueError, AttributeError, TypeError) as exc:
                _logger.warning("Microsoft Entra ID: unexpected Graph answer (HTTP %s)", response.status_code)
                raise AccessDenied(
                    _("Microsoft Graph gave an unexpected answer while reading your groups. Try again later.")
                ) from exc
            url = body.get("@odata.nextLink")
            if not url:
                return groups
            if not url.startswith(host + "/"):
                # the token goes to Graph only, whatever a next link says
                raise AccessDenied(_("Microsoft Graph gave an unexpected answer while reading your groups."))
        raise AccessDenied(_("You are a member of too many groups to be read from Microsoft Graph."))

    def _oec_azure_check_at_hash(self, claims, access_token):
        """An access token that came with the id_token (implicit flow) must be
        the one the id_token names, when it names one (at_hash)."""
        if "at_hash" not in claims or not access_token:
            return
        digest = hashlib.sha256(access_token.encode()).digest()[:16]
        expected = base64url_encode(digest).decode()
        if not tools.consteq(str(claims["at_hash"]), expected):
            raise AccessDenied(_("The access token does not belong to the id_token (at_hash)."))


def _is_secure_url(url):
    """https, or http on the loopback interface (as Azure itself allows), to a
    plain host: no user name ("https://graph.microsoft.com@evil.example" sends
    the bearer token to evil.example), no white space, a host DNS can have."""
    if not url or any(char.isspace() or ord(char) < 32 for char in url):
        return False
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    if not parts.netloc or "@" in parts.netloc or not hostname or not HOST_RE.fullmatch(hostname):
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and hostname in LOOPBACK_HOSTS)


def _authorize_url(current, tenant):
    parts = urlsplit(current or DEFAULT_AUTHORITY)
    base = "%s://%s" % (parts.scheme, parts.netloc) if parts.netloc else DEFAULT_AUTHORITY
    return "%s/%s/oauth2/v2.0/authorize" % (base, (tenant or "organizations").strip())


def _ca_bundle():
    """`verify=` for every call to Microsoft: the server option
    oec_azure_ca_bundle (private clouds, Azure Stack, the local sandbox), else
    the default trust store. Passed per request on purpose: REQUESTS_CA_BUNDLE
    in the environment would override a session's setting."""
    return tools.config.get("oec_azure_ca_bundle") or True
