from odoo import _, api, fields, models
from odoo.tools import config

from ..services import ArmClient, AzureIdentity

CA_BUNDLE_OPTION = "oec_azure_ca_bundle"
CALLBACK_PATH = "/cloud_accounts/azure/callback"
# seconds for every remote call (connect + read)
TIMEOUT = 20


class CloudAzureEnvironment(models.Model):
    """An Azure cloud: where to sign in and where ARM lives.

    Endpoints are data, never literals in code: Azure public, US Government
    and China come as records; private clouds (Azure Stack) and the local
    sandbox are records too. The application used to connect accounts (client
    id and secret) belongs to the cloud it is registered in.
    """

    _name = "cloud.azure.environment"
    _inherit = ("cloud.secret.mixin",)
    _description = "Azure Cloud"
    _order = "sequence, id"
    _secret_columns = ("client_secret_enc",)

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    is_sandbox = fields.Boolean(
        string="Sandbox",
        help="A local emulator of Azure for trying and testing: nothing it creates is real.",
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
        help="Storage endpoint suffix, e.g. core.windows.net; empty when the cloud gives full blob URLs.",
    )
    graph_endpoint = fields.Char(help="Microsoft Graph, e.g. https://graph.microsoft.com")
    portal_url = fields.Char(
        string="Portal URL", help="The Azure portal of this cloud, for links shown to users."
    )
    client_id = fields.Char(
        string="Application (client) ID",
        help="The Azure application (App registration) used to connect accounts in this cloud.",
    )
    client_secret_set = fields.Boolean(
        compute="_compute_client_secret_set",
        help="A client secret is stored, encrypted; it can be replaced, never read back.",
    )
    tenant = fields.Char(
        default="organizations",
        required=True,
        help="Whose accounts may connect: 'organizations' (any work account), or a tenant id or "
        "domain to accept only that directory.",
    )
    account_count = fields.Integer(compute="_compute_account_count", string="Accounts")

    def _compute_client_secret_set(self):
        with_secret = self._ids_with_secret("client_secret_enc")
        for cloud in self:
            cloud.client_secret_set = cloud.id in with_secret

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
                failed.write({"next_refresh_at": False})
                self.env.ref("oec_cloud_accounts.ir_cron_refresh_tokens")._trigger()

    # -- what services need ------------------------------------------------------------------------

    @api.model
    def _ca_bundle(self):
        """Optional PEM CA bundle for private clouds and the sandbox (server option)."""
        return config.get(CA_BUNDLE_OPTION) or None

    def _redirect_uri(self):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        return base.rstrip("/") + CALLBACK_PATH

    def _delegated_scopes(self):
        self.ensure_one()
        return [self.arm_audience.rstrip("/") + "/user_impersonation"]

    def _identity(self):
        self.ensure_one()
        return AzureIdentity(
            self.authority_host,
            self.client_id,
            self.sudo()._get_secret("client_secret_enc"),
            tenant=self.tenant,
            interactive_authority_host=self.interactive_authority_host,
            ca_bundle=self._ca_bundle(),
            timeout=TIMEOUT,
        )

    def _arm(self, access_token, expires_at):
        self.ensure_one()
        return ArmClient(
            self.arm_endpoint,
            self.arm_audience.rstrip("/") + "/.default",
            access_token,
            expires_at,
            ca_bundle=self._ca_bundle(),
            timeout=TIMEOUT,
        )
