from datetime import datetime, time, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKBACK_DAYS = 8


class CloudServer(models.Model):
    """Automatic stop (deallocate) and start on a weekly schedule, in the server's time zone.

    Only the scheduled moments act: a server started by hand in the evening
    stays up until the next scheduled stop, not the next pass of the cron.
    """

    # a concern file of cloud.server, named in ARCHITECTURE.md
    _inherit = "cloud.server"  # pylint: disable=consider-merging-classes-inherited

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
    def _cron_schedule(self, batch_size=1000):
        """Queue the start or stop of each scheduled server whose last moment has not been acted on,
        one transaction each (cloud.job.mixin)."""
        now = fields.Datetime.now()
        queued = []
        self._job_run_due(
            self._name,
            SQL(
                "active AND schedule_enabled AND state IN ('running', 'stopped') AND operation IS NULL"
                " AND %s",
                self._job_account_active(),
            ),
            SQL("id"),
            "schedule",
            lambda server: queued.append(server._apply_schedule(now)),
            batch_size,
        )
        return sum(queued)

    def _job_record_failure(self, error, what):
        if what != "schedule":
            return super()._job_record_failure(error, what)
        # one server's defect never keeps the others from their schedule; logged by _job_isolated,
        # and tried again at the next pass (its moment is still unacted on)
        return None

    def _apply_schedule(self, now):
        """Queue this server's start or stop if a scheduled moment passed unacted on; 1 if queued."""
        event = self._last_scheduled_event(now)
        if not event or (self.schedule_last_event_at and event[0] <= self.schedule_last_event_at):
            return 0
        moment, action = event
        self.schedule_last_event_at = moment
        if self.state == ("running" if action == "start" else "stopped"):
            return 0
        self._queue(action, step="vm_action", automatic=True)
        return 1

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
