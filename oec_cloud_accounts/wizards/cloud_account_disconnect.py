from odoo import api, fields, models


class CloudAccountDisconnect(models.TransientModel):
    """Disconnect's confirmation: what depends on the account, and what becomes of it."""

    _name = "cloud.account.disconnect"
    _inherit = "cloud.company.references.mixin"
    _description = "Disconnect a Cloud Account"

    account_id = fields.Many2one("cloud.account", required=True, readonly=True, ondelete="cascade")
    summary = fields.Text(compute="_compute_summary", string="What Happens")

    @api.depends("account_id")
    def _compute_summary(self):
        for wizard in self:
            wizard.summary = wizard.account_id._disconnect_summary() if wizard.account_id else False

    def action_disconnect(self):
        self.ensure_one()
        return self.account_id.action_disconnect()
