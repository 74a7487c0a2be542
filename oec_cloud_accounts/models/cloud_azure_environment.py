import secrets
import time
from urllib.parse import urlsplit

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.http import request
from odoo.tools import config
from odoo.tools.misc import hmac

from odoo.addons.oec_auth_azure.services import credentials, entra
from odoo.addons.oec_auth_azure.services.urls import (
    ca_bundle,
    is_guid,
    is_host_name,
    is_secure_url,
    is_tenant,
    timeout,
)

from ..services import ArmClient, AzureError, AzureIdentity
from ..services.api_versions import API_VERSIONS, OverrideError, parse_overrides, resolve
from ..services.errors import KIND_CLIENT
from ..services.inputs import shorten

# multiplier of the Azure SDKs' waits between their retries (default 1; tests set 0)
RETRY_BACKOFF_OPTION = "oec_azure_retry_backoff"
CALLBACK_PATH = "/cloud_accounts/azure/callback"
# seconds for every remote call (connect + read), unless the server option oec_azure_timeout
# (oec_auth_azure's urls.TIMEOUT_OPTION: a slow proxy; the fault tests' short timeouts) says others
TIMEOUT = 20

# Sign-ins under way live in the browser's server-side session (see _start_connect).
SESSION_KEY = "oec_cloud_oauth"
HMAC_SCOPE = "oec_cloud_accounts.oauth_state"
FLOW_TTL = 15 * 60  # seconds a sign-in may take
MAX_PENDING = 5  # sign-ins started and not finished, per session

# Endpoints Odoo's server calls or shows as links: https, or plain http on
# loopback only (the sandbox serves its sign-in pages that way).
URL_FIELDS = (
    "authority_host",
    "interactive_authority_host",
    "arm_endpoint",
    "graph_endpoint",
    "portal_url",
    "prices_endpoint",
)


class CloudAzureEnvironment(models.Model):
    """An Azure cloud: where to sign in and where ARM lives.

    Endpoints are data, never literals in code: Azure public, US Government
    and China come as records; private clouds (Azure Stack) and the local
    sandbox are records too. The application used to connect accounts (client
    id and secret) belongs to the cloud it is registered in.
    """

    _name = "cloud.azure.environment"
    _inherit = ("oec.secret.mixin",)
    _description = "Azure Cloud"
    _order = "sequence, id"
    _secret_columns = ("client_secret_enc",)

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    is_sandbox = fields.Boolean(
        string="Sandbox",
        help="A local emulator of Azure, to try things out: nothing it creates is real.",
    )
    authority_host = fields.Char(
        required=True,
        help="Microsoft Entra ID sign-in host used by Odoo's server, e.g. https://login.microsoftonline.com",
    )
    interactive_authority_host = fields.Char(
        help="Sign-in host the browser is sent to; empty means the same as the authority host "
        "(true on real Azure clouds).",
    )
    arm_endpoint = fields.Char(
        string="Resource Manager Endpoint",
        required=True,
        help="Azure Resource Manager, e.g. https://management.azure.com",
    )
    arm_audience = fields.Char(
        string="Resource Manager Audience",
        required=True,
        help="The resource tokens are requested for, e.g. https://management.azure.com/ "
        "(scopes are this + user_impersonation or .default).",
    )
    storage_suffix = fields.Char(
        help="Storage endpoint suffix, e.g. core.windows.net: Odoo sends a storage account's key only to "
        "https://<account>.blob.<suffix>/. Empty only on a local sandbox (blobs served by path on its "
        "Resource Manager host).",
    )
    storage_audience = fields.Char(
        default="https://storage.azure.com/",
        help="The resource Odoo asks Microsoft Entra ID a token for to read and write blobs: "
        "https://storage.azure.com/ in every Azure cloud (public, US Government, China).",
    )
    graph_endpoint = fields.Char(help="Microsoft Graph, e.g. https://graph.microsoft.com")
    prices_endpoint = fields.Char(
        default="https://prices.azure.com/api/retail/prices",
        help="Azure retail prices API, read daily for the servers' cost estimates. Empty: only the "
        "shipped price table is used.",
    )
    portal_url = fields.Char(
        string="Portal URL", help="The Azure portal of this cloud, for links shown to users."
    )
    client_id = fields.Char(
        string="Application (client) ID",
        help="The Azure application (App registration) used to connect accounts in this cloud.",
    )
    client_secret_set = fields.Boolean(
        compute="_compute_client_secret_set",
        help="A client secret is stored, encrypted; it can be replaced, never read back. A secret "
        "stored by the database this one is a copy of is not used here: it must be entered again.",
    )
    client_credential = fields.Selection(
        [
            (credentials.SECRET, "Client secret"),
            (credentials.MANAGED_IDENTITY, "Managed identity (federated credential)"),
            (credentials.TOKEN_FILE, "Federated token file"),
        ],
        compute="_compute_client_credential",
        help="How Odoo proves it is the application: chosen by the server's configuration (option "
        "oec_azure_client_credential), not here. With a managed identity or a federated token file no "
        "client secret is stored nor sent: the app registration trusts that identity through a federated "
        "credential.",
    )
    tenant = fields.Char(
        default="organizations",
        required=True,
        help="Whose accounts may connect: 'organizations' (any work account), or a tenant id or "
        "domain to accept only that directory.",
    )
    api_version_overrides = fields.Text(
        string="API Versions",
        groups="base.group_system",
        help="Resource Manager API versions this cloud needs instead of Odoo's, one \"operation = "
        'version" a line (e.g. compute.virtual_machines = 2023-09-01), for a cloud that does not offer '
        "Odoo's versions yet. Empty: Odoo's versions, which all Azure public, US Government and China "
        "offer.",
    )
    api_versions_used = fields.Text(
        string="API Versions Used",
        compute="_compute_api_versions_used",
        groups="base.group_system",
        help="The API version of every operation Odoo calls in this cloud: Odoo's, or this cloud's own.",
    )
    account_count = fields.Integer(compute="_compute_account_count", string="Accounts")

    def _compute_client_secret_set(self):
        with_secret = self._ids_with_secret("client_secret_enc", here=True)
        for cloud in self:
            cloud.client_secret_set = cloud.id in with_secret

    def _compute_client_credential(self):
        try:
            kind = credentials.credential_kind(config)
        except credentials.CredentialError:
            kind = False
        self.client_credential = kind

    @api.depends("api_version_overrides")
    def _compute_api_versions_used(self):
        for cloud in self:
            try:
                versions = resolve(cloud.api_version_overrides)
            except OverrideError:
                versions = API_VERSIONS
            cloud.api_versions_used = "\n".join("%s = %s" % item for item in versions.items())

    def _compute_account_count(self):
        counts = dict(
            self.env["cloud.account"]._read_group(
                [("environment_id", "in", self.ids)], ["environment_id"], ["__count"]
            )
        )
        for cloud in self:
            cloud.account_count = counts.get(cloud, 0)

    @api.depends("name", "is_sandbox")
    def _compute_display_name(self):
        for cloud in self:
            # the sandbox must be recognisable wherever a cloud is shown
            labeled = cloud.is_sandbox and "sandbox" not in (cloud.name or "").lower()
            cloud.display_name = _("%s (sandbox)", cloud.name) if labeled else cloud.name

    @api.constrains(*URL_FIELDS, "arm_audience", "storage_audience", "client_id", "tenant", "storage_suffix")
    def _check_endpoints(self):
        """Endpoints end up in server-side requests carrying tokens and secrets
        and in links shown to users (a javascript: URL would run in Odoo's
        origin): refuse anything but https, or http on loopback."""
        for cloud in self:
            for name in URL_FIELDS:
                value = cloud[name]
                if (value or name in ("authority_host", "arm_endpoint")) and not is_secure_url(value):
                    raise ValidationError(
                        _(
                            "%(cloud)s: the %(field)s must be an https:// URL (http:// only on "
                            "127.0.0.1, localhost or ::1); got %(value)r.",
                            cloud=cloud.name,
                            field=cloud._fields[name]._description_string(self.env),
                            value=shorten(value),
                        )
                    )
            if not is_secure_url(cloud.arm_audience, loopback=False):
                raise ValidationError(
                    _(
                        "%(cloud)s: the Resource Manager audience must be an https:// URL such as "
                        "https://management.azure.com/; got %(value)r.",
                        cloud=cloud.name,
                        value=shorten(cloud.arm_audience),
                    )
                )
            if cloud.storage_audience and not is_secure_url(cloud.storage_audience, loopback=False):
                raise ValidationError(
                    _(
                        "%(cloud)s: the storage audience must be an https:// URL such as "
                        "https://storage.azure.com/; got %(value)r.",
                        cloud=cloud.name,
                        value=shorten(cloud.storage_audience),
                    )
                )
            if cloud.client_id and not is_guid(cloud.client_id):
                raise ValidationError(
                    _(
                        "%(cloud)s: the application (client) ID is a GUID such as "
                        "00000000-0000-0000-0000-000000000000, shown on the app registration's "
                        "Overview page; got %(value)r.",
                        cloud=cloud.name,
                        value=shorten(cloud.client_id),
                    )
                )
            tenant = cloud.tenant or ""
            if not is_tenant(tenant):
                raise ValidationError(
                    _(
                        "%(cloud)s: the tenant must be a directory (tenant) ID such as "
                        "00000000-0000-0000-0000-000000000000, a verified domain such as "
                        "contoso.onmicrosoft.com, or one of organizations, common, consumers; "
                        "got %(value)r.",
                        cloud=cloud.name,
                        value=shorten(tenant),
                    )
                )
            suffix = cloud.storage_suffix
            if suffix and not (is_host_name(suffix) and "." in suffix):
                raise ValidationError(
                    _(
                        "%(cloud)s: the storage endpoint suffix is a domain such as core.windows.net (no "
                        "https://, no slash); got %(value)r.",
                        cloud=cloud.name,
                        value=shorten(suffix),
                    )
                )

    @api.constrains("api_version_overrides")
    def _check_api_version_overrides(self):
        for cloud in self:
            try:
                parse_overrides(cloud.api_version_overrides)
            except OverrideError as error:
                reasons = {
                    "syntax": _('write one "operation = version" a line'),
                    "operation": _("the operation is none of %s", ", ".join(API_VERSIONS)),
                    "version": _("an API version is a date such as 2024-07-01, or 2023-07-01-preview"),
                }
                raise ValidationError(
                    _(
                        "%(cloud)s: the API versions line %(line)r cannot be used: %(reason)s.",
                        cloud=cloud.name,
                        line=shorten(error.line),
                        reason=reasons[error.reason],
                    )
                ) from None

    def set_client_secret(self, secret):
        """Store a new client secret (encrypted); only administrators get here."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        for cloud in self:
            cloud.sudo()._set_secret("client_secret_enc", secret or None)
        if secret:
            # a wrong or expired secret put the accounts in Error: retry them now
            failed = (
                self.env["cloud.account"]
                .sudo()
                .search([("environment_id", "in", self.ids), ("state", "=", "error")])
            )
            if failed:
                # no retry time: due at once, first in line
                failed.write({"next_run_at": False})
                self.env.ref("oec_cloud_accounts.ir_cron_refresh_tokens")._trigger()

    # -- what services need ------------------------------------------------------------------------

    @api.model
    def _ca_bundle(self):
        """Optional PEM CA bundle for private clouds and the sandbox (server option)."""
        return ca_bundle(config)

    def _retry_backoff(self):
        """The server option scaling the SDKs' waits between retries (services' ``backoff``)."""
        value = config.get(RETRY_BACKOFF_OPTION)
        return 1.0 if value in (None, "") else float(value)

    @api.model
    def _timeout(self, set_only=False):
        """Seconds every remote call waits to connect and for an answer: the server option
        ``oec_azure_timeout``, else TIMEOUT (``set_only``: else None, for blob reads, whose
        own default is longer)."""
        return timeout(config, None if set_only else TIMEOUT)

    def _redirect_uri(self):
        """The callback on web.base.url, by the sign-in addon's rule (https
        when the site is served over https)."""
        return self.env["auth.oauth.provider"]._oec_azure_base_url() + CALLBACK_PATH

    def _blob_endpoint_rule(self):
        """Where this cloud serves blobs, for services.hosts.check_blob_endpoint:
        its storage suffix, or on a local sandbox without one, its Resource
        Manager host (the emulator serves blobs by path on that host)."""
        self.ensure_one()
        path_style_host = None
        if self.is_sandbox and not self.storage_suffix:
            path_style_host = urlsplit(self.arm_endpoint).hostname
        return {"storage_suffix": self.storage_suffix or None, "path_style_host": path_style_host}

    def _delegated_scopes(self):
        self.ensure_one()
        return [self.arm_audience.rstrip("/") + "/user_impersonation"]

    def _storage_scopes(self):
        """The delegated scope of Azure Storage (blobs read and written as the signed-in user)."""
        self.ensure_one()
        return [(self.storage_audience or "https://storage.azure.com/").rstrip("/") + "/user_impersonation"]

    def _admin_consent_url(self):
        """Microsoft's page where a tenant's administrator consents for everyone (ARM's permissions)."""
        self.ensure_one()
        scopes = [self.arm_audience.rstrip("/") + "/.default"]
        # Microsoft's answer comes back to the callback: this marks it as the answer of this link
        return self._identity().admin_consent_url(
            self._redirect_uri(), scopes, state=entra.admin_consent_state(self.id)
        )

    @api.model
    def _uses_secret(self):
        """Whether the app registrations prove who they are with their stored client secret
        (server option oec_azure_client_credential; see oec_auth_azure services/credentials.py).

        :raise AzureError: the option's value is unknown
        """
        try:
            return credentials.uses_secret(config)
        except credentials.CredentialError as exc:
            raise AzureError("credential.unknown_kind", code=exc.code, kind=KIND_CLIENT) from exc

    def _identity(self):
        """The cloud's sign-in client; refused before any request when its client secret is
        stored but unreadable here (a copy of the database, or another encryption key).
        When the server proves the application's identity with a client assertion (a managed
        identity or a federated token, never stored), no secret is read nor sent."""
        self.ensure_one()
        secret = assertion = None
        if self._uses_secret():
            cloud = self.sudo()
            secret = cloud._get_secret("client_secret_enc")
            if secret is None and cloud._ids_with_secret("client_secret_enc"):
                copy = cloud._secret_from_copy("client_secret_enc")
                raise AzureError(
                    "cloud.client_secret_copy" if copy else "cloud.client_secret_unreadable",
                    code="client_secret_unreadable",
                    kind=KIND_CLIENT,
                    params={"name": self.display_name},
                )
        else:
            assertion = credentials.client_assertion(
                config, ca_bundle=self._ca_bundle(), timeout=self._timeout()
            )
        return AzureIdentity(
            self.authority_host,
            self.client_id,
            secret,
            tenant=self.tenant,
            interactive_authority_host=self.interactive_authority_host,
            ca_bundle=self._ca_bundle(),
            timeout=self._timeout(),
            client_assertion=assertion,
        )

    @api.model
    def _settings_environment(self):
        """The cloud chosen in Settings > Cloud Accounts (may be empty)."""
        value = self.env["ir.config_parameter"].sudo().get_param("oec_cloud_accounts.environment_id")
        return self.sudo().browse(int(value)).exists() if value and value.isdigit() else self.browse()

    def _arm(self, access_token, expires_at, client_class=ArmClient):
        """An ARM client (``client_class``: ArmClient or a subclass such as ComputeClient)."""
        self.ensure_one()
        return client_class(
            self.arm_endpoint,
            self.arm_audience.rstrip("/") + "/.default",
            access_token,
            expires_at,
            ca_bundle=self._ca_bundle(),
            timeout=self._timeout(),
            backoff=self._retry_backoff(),
            api_versions=resolve(self.sudo().api_version_overrides),
        )

    # -- connecting an account (auth code + PKCE) --------------------------------------------------

    def _start_connect(self, account=None):
        """Prepare a sign-in in the current browser session and return the
        URL of Microsoft's authorize page.

        The MSAL flow (PKCE verifier, nonce) stays in the server-side session,
        never in the browser; the state is random, signed with the database
        secret and bound to the session and the user (checked and consumed by
        the callback, see controllers/main.py). It runs inside the request of
        a button (JSON-RPC) or of the "Try again" form (CSRF token), never of
        a GET any site could trigger. The callers check the user's rights
        first: this already calls the cloud's sign-in authority.
        """
        self.ensure_one()
        with self.env["cloud.account"]._azure_errors():
            uses_secret = self._uses_secret()
        if not self.client_id or (uses_secret and not self.client_secret_set):
            raise UserError(
                _(
                    "The Azure application for %s is not configured: set its client id and secret in "
                    "Settings > Cloud Accounts.",
                    self.display_name,
                )
            )
        if not request or not request.session.uid:
            raise UserError(_("Cloud accounts are connected from the browser: Cloud Accounts > Add Account."))
        nonce = secrets.token_urlsafe(24)
        state = "%s.%s" % (nonce, self._connect_signature(nonce))
        with self.env["cloud.account"]._azure_errors():
            flow = self._identity().start_flow(
                self._delegated_scopes(),
                self._redirect_uri(),
                state,
                login_hint=account.ms_username if account else None,
            )
        now = time.time()
        pending = {
            key: value
            for key, value in (request.session.get(SESSION_KEY) or {}).items()
            if value["started"] > now - FLOW_TTL
        }
        # a few sign-ins may be under way in several tabs; never more
        while len(pending) >= MAX_PENDING:
            pending.pop(min(pending, key=lambda key: pending[key]["started"]))
        pending[nonce] = {
            "flow": flow,
            "environment_id": self.id,
            "account_id": account.id if account else None,
            "started": now,
        }
        request.session[SESSION_KEY] = pending
        return flow["auth_uri"]

    def _connect_signature(self, nonce):
        """The state's signature: valid only in this browser session, for this user."""
        message = "%s|%s|%s" % (nonce, request.session.sid, self.env.uid)
        return hmac(self.env(su=True), HMAC_SCOPE, message)
