# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools.misc import hmac as hmac_tool

_logger = logging.getLogger(__name__)

RETENTION_PARAM = "oec_auth_azure.signin_log_days"
DEFAULT_RETENTION_DAYS = 180
PURGE_BATCH = 10000
SID_SCOPE = "oec_auth_azure.sid"


class OecAzureSigninLog(models.Model):
    """One line per Microsoft sign-in attempt that came back to Odoo. Written
    by the sign-in code only (sudo); nothing secret: no token, code, nonce nor
    state, only who, from where, and what happened."""

    _name = "oec.azure.signin.log"
    _description = "Microsoft Entra ID sign-in"
    _order = "date desc, id desc"
    _rec_name = "date"

    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True, readonly=True)
    provider_id = fields.Many2one("auth.oauth.provider", ondelete="set null", readonly=True)
    tenant_id = fields.Char(string="Tenant ID", readonly=True, help="The tid claim: the user's directory.")
    oid = fields.Char(
        string="Object ID",
        readonly=True,
        help="The oid claim: the user's object ID in their directory.",
    )
    username = fields.Char(
        string="User Principal Name",
        readonly=True,
        help="The preferred_username claim of the id_token.",
    )
    user_id = fields.Many2one("res.users", string="Odoo User", ondelete="set null", readonly=True)
    ip_address = fields.Char(string="IP Address", readonly=True)
    result = fields.Selection(
        [("success", "Signed in"), ("refused", "Refused")],
        required=True,
        readonly=True,
        index=True,
    )
    reason = fields.Char(
        readonly=True,
        help="Why the sign-in was refused, as the user was told; for a sign-in, what of the "
        "mappings was not applied (the last active administrator keeps Settings).",
    )
    groups_added_ids = fields.Many2many(
        "res.groups",
        "oec_azure_signin_log_added_rel",
        "log_id",
        "group_id",
        readonly=True,
    )
    groups_removed_ids = fields.Many2many(
        "res.groups",
        "oec_azure_signin_log_removed_rel",
        "log_id",
        "group_id",
        readonly=True,
    )
    user_created = fields.Boolean(readonly=True)
    session_hash = fields.Char(
        readonly=True,
        index=True,
        groups="base.group_no_one",
        help="Keyed hash of the Microsoft session (sid claim): what a front-channel logout is "
        "matched against. Not the sid itself.",
    )
    signed_out_date = fields.Datetime(
        string="Signed Out by Microsoft",
        readonly=True,
        help="When Microsoft's front-channel logout ended this Odoo session.",
    )

    @api.model
    def _record(self, values):
        """Add an entry (callers pass only non-secret values)."""
        return self.sudo().create(values)

    @api.model
    def _session_hash(self, sid):
        return hmac_tool(self.env(su=True), SID_SCOPE, sid)

    @api.model
    def _end_microsoft_session(self, sid):
        """Front-channel logout: mark the sign-ins of Microsoft session ``sid``
        as signed out; their Odoo sessions end at their next request."""
        entries = self.sudo().search(
            [("session_hash", "=", self._session_hash(sid)), ("signed_out_date", "=", False)]
        )
        entries.write({"signed_out_date": fields.Datetime.now()})
        return entries

    @api.model
    def _cron_purge(self):
        """Delete the entries older than the retention period (system
        parameter oec_auth_azure.signin_log_days, 180 days by default). At
        most PURGE_BATCH per run: a large backlog is worked off by the next
        runs (the cron is triggered again) instead of one long transaction."""
        limit = fields.Datetime.now() - timedelta(days=self._retention_days())
        old = self.sudo().search([("date", "<", limit)], limit=PURGE_BATCH, order="date")
        old.unlink()
        if len(old) == PURGE_BATCH:
            self.env.ref("oec_auth_azure.ir_cron_signin_log_purge")._trigger()
        return len(old)

    @api.model
    def _retention_days(self):
        value = self.env["ir.config_parameter"].sudo().get_param(RETENTION_PARAM)
        try:
            days = int(value) if value else DEFAULT_RETENTION_DAYS
        except ValueError:
            _logger.warning("Microsoft Entra ID: %s is not a number of days: %r", RETENTION_PARAM, value)
            days = DEFAULT_RETENTION_DAYS
        return max(days, 1)
