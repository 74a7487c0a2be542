from odoo import _, api, fields, models
from odoo.exceptions import UserError

ENVIRONMENT_PARAM = "oec_cloud_accounts.environment_id"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    cloud_environment_id = fields.Many2one(
        "cloud.azure.environment",
        string="Azure Cloud",
        config_parameter=ENVIRONMENT_PARAM,
        help="The Azure cloud new accounts are connected in: public, US Government, China, a "
        "private cloud or the local sandbox.",
    )
    cloud_environment_is_sandbox = fields.Boolean(related="cloud_environment_id.is_sandbox")
    cloud_client_id = fields.Char(
        related="cloud_environment_id.client_id",
        readonly=False,
        string="Application (client) ID",
    )
    cloud_tenant = fields.Char(related="cloud_environment_id.tenant", readonly=False, string="Tenant")
    # Write-only and never a column of this transient model: its rows stay in
    # the table until the vacuum. The inverse encrypts it into the cloud record
    # when Settings are saved; the compute never reads it back.
    cloud_client_secret = fields.Char(
        string="Client Secret",
        compute="_compute_cloud_client_secret",
        inverse="_inverse_cloud_client_secret",
        help="The secret's Value from the application's Certificates & secrets page. Stored "
        "encrypted; leave empty to keep the current one.",
    )
    cloud_client_secret_set = fields.Boolean(related="cloud_environment_id.client_secret_set")
    cloud_client_credential = fields.Selection(related="cloud_environment_id.client_credential")
    cloud_redirect_uri = fields.Char(
        string="Redirect URI",
        compute="_compute_cloud_redirect_uri",
        help="Register it on the Azure application: Authentication > Add a platform > Web.",
    )
    cloud_scopes = fields.Char(
        string="Scopes Requested",
        compute="_compute_cloud_redirect_uri",
        help="Delegated permissions asked at sign-in: Azure Service Management user_impersonation, "
        "and offline_access for refresh tokens.",
    )
    cloud_account_count = fields.Integer(compute="_compute_cloud_redirect_uri", string="Cloud Accounts")

    @api.depends("cloud_environment_id")
    def _compute_cloud_redirect_uri(self):
        count = self.env["cloud.account"].search_count([])
        for settings in self:
            environment = settings.cloud_environment_id or self.env["cloud.azure.environment"]
            settings.cloud_redirect_uri = environment._redirect_uri()
            scopes = environment._delegated_scopes() if environment else []
            settings.cloud_scopes = " ".join([*scopes, "offline_access"])
            settings.cloud_account_count = count

    def _compute_cloud_client_secret(self):
        self.cloud_client_secret = False

    def _inverse_cloud_client_secret(self):
        for settings in self.filtered("cloud_client_secret"):
            if not settings.cloud_environment_id:
                raise UserError(_("Choose the Azure cloud the client secret belongs to."))
            settings.cloud_environment_id.set_client_secret(settings.cloud_client_secret.strip())

    def action_add_cloud_account(self):
        """Add Account from the settings, where the documentation puts it (the settings are saved first)."""
        return self.env["cloud.account"].action_add_account()

    def action_open_cloud_accounts(self):
        return self.env["ir.actions.act_window"]._for_xml_id("oec_cloud_accounts.cloud_account_action")
