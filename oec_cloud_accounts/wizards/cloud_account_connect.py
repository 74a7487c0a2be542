from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.res_config_settings import ENVIRONMENT_PARAM


class CloudAccountConnect(models.TransientModel):
    """ "Add Account": choose the provider (Microsoft Azure) and start OAuth."""

    _name = "cloud.account.connect"
    _description = "Add a Cloud Account"

    environment_id = fields.Many2one(
        "cloud.azure.environment",
        string="Azure Cloud",
        default=lambda self: self._default_environment(),
        help="Where the account lives; the application configured for it in Settings is used.",
    )
    is_sandbox = fields.Boolean(related="environment_id.is_sandbox")

    @api.model
    def _default_environment(self):
        value = self.env["ir.config_parameter"].sudo().get_param(ENVIRONMENT_PARAM)
        return self.env["cloud.azure.environment"].browse(int(value or 0)).exists()

    def action_connect_azure(self):
        self.ensure_one()
        environment = self.environment_id
        if not environment:
            raise UserError(_("Choose an Azure cloud, or configure one in Settings > Cloud Accounts."))
        if not environment.client_id or not environment.client_secret_set:
            raise UserError(
                _(
                    "The Azure application for %s is not configured: set its client id and secret in "
                    "Settings > Cloud Accounts.",
                    environment.display_name,
                )
            )
        return {
            "type": "ir.actions.act_url",
            "url": "/cloud_accounts/azure/connect?environment_id=%d" % environment.id,
            "target": "self",
        }
