from datetime import datetime, time, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKBACK_DAYS = 8


class CloudServer(models.Model):
    """Automatic stop (deallocate) and start on a weekly schedule, in the server's time zone.

    Only the scheduled moments act: a server started by hand in the evening
    stays up until the next scheduled stop, not the next pass of the cron.
    """

    _inherit = "cloud.server"

    @api.constrains("schedule_start", "schedule_stop")
    def _check_schedule(self):
        for server in self:
            for value in (server.schedule_start, server.schedule_stop):
                if not 0 <= value < 24:
                    raise ValidationError(_("Schedule times are between 00:00 and 23:59."))

    def write(self, vals):
        if vals.get("schedule_enabled"):
            # from now on: moments already past do not act when the schedule is turned on
            self.sudo().filtered(
                lambda s: not s.schedule_enabled
            ).schedule_last_event_at = fields.Datetime.now()
        return super().write(vals)

    @api.model
    def _cron_schedule(self):
        """Queue the start or stop of each scheduled server whose last moment has not been acted on."""
        now = fields.Datetime.now()
        servers = self.search(
            [
                ("schedule_enabled", "=", True),
                ("state", "in", ("running", "stopped")),
                ("operation", "=", False),
            ]
        )
        queued = 0
        for server in servers:
            event = server._last_scheduled_event(now)
            if not event or (server.schedule_last_event_at and event[0] <= server.schedule_last_event_at):
                continue
            moment, action = event
            server.schedule_last_event_at = moment
            wanted = "running" if action == "start" else "stopped"
            if server.state == wanted:
                continue
            server._queue(action, step="vm_action", automatic=True)
            queued += 1
        return queued

    def _last_scheduled_event(self, now):
        """(UTC moment, "start" | "stop") of the latest scheduled moment at or before ``now``."""
        self.ensure_one()
        tz = pytz.timezone(self.schedule_tz or "UTC")
        local_now = pytz.utc.localize(now).astimezone(tz)
        best = None
        for back in range(LOOKBACK_DAYS):
            day = (local_now - timedelta(days=back)).date()
            if not self["schedule_" + DAYS[day.weekday()]]:
                continue
            for action, hours in (("start", self.schedule_start), ("stop", self.schedule_stop)):
                local = tz.localize(datetime.combine(day, _as_time(hours)))
                if local <= local_now and (best is None or local > best[0]):
                    best = (local, action)
            if best:
                break
        if not best:
            return None
        return best[0].astimezone(pytz.utc).replace(tzinfo=None), best[1]


def _as_time(hours):
    minutes = round(hours * 60)
    return time(minutes // 60 % 24, minutes % 60)
