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
        """Prepare the sign-in in this browser session and send the browser to
        Microsoft. Done here, in the button's request, rather than by a GET
        route that any web page could make the browser call."""
        self.env["cloud.account"]._check_can_connect()
        self.ensure_one()
        environment = self.environment_id
        if not environment:
            raise UserError(_("Choose an Azure cloud, or configure one in Settings > Cloud Accounts."))
        return {
            "type": "ir.actions.act_url",
            "url": environment._start_connect(),
            "target": "self",
        }
