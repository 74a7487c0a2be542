"""Backup alerts: a policy whose backup failed, whose verification failed, or
whose last good backup is older than its interval plus a grace period.

An alert is raised once: the policy enters the alert state, its responsible
gets one activity (type "Backup alert") and one mail (template "Backup Policy:
Alert", to the responsible and the policy's followers). The same problem again,
or a lesser one, while the policy is in alert changes nothing: the failed runs
still say what happened in their own chatter. A worse one (a backup failing
while a verification failed) replaces the activity and mails once more. A good
backup clears a backup alert (failed or overdue), a passed verification clears
a verification alert: the activity is marked done with why, and no mail is sent
(the chatter says it; the next alert mails again).
"""

import logging
import re
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, format_datetime
from odoo.tools.sql import table_exists

from .cloud_backup_policy import GRACE_MAX

_logger = logging.getLogger(__name__)

ALERT_STATES = [
    ("ok", "OK"),
    ("verify_failed", "Verification Failed"),
    ("restore_failed", "Restore Test Failed"),
    ("backup_failed", "Backup Failed"),
    ("overdue", "Overdue"),
]
# an alert replaces only a lesser one: a failed backup and no backup for too long are the same
# problem (no good backup lands), worse than a restore test that failed (a backup that does not
# restore), itself worse than a verification that failed (a blob that does not match)
ALERT_RANK = {"ok": 0, "verify_failed": 1, "restore_failed": 2, "backup_failed": 3, "overdue": 3}
ALERTS = tuple(state for state, rank in ALERT_RANK.items() if rank)
# the states a good backup clears, the one a passed verification clears, and those a passed restore
# test clears (a SHA-256 that matches proves no restore)
BACKUP_ALERTS = ("backup_failed", "overdue")
VERIFY_ALERTS = ("verify_failed",)
RESTORE_ALERTS = ("verify_failed", "restore_failed")
ALERT_ACTIVITY = "oec_cloud_accounts.mail_activity_type_backup_alert"
ALERT_TEMPLATE = "oec_cloud_accounts.mail_template_backup_alert"
# a policy backs up once a day (schedule_time): the interval a good backup is expected in
INTERVAL = timedelta(days=1)
# what an alert must never carry out of Odoo: a URL's query (a SAS token's signature) or a bare
# signature
URL_QUERY = re.compile(r"(https?://[^\s?#\"'<>]+)[?#][^\s\"'<>]*")
SIGNATURE = re.compile(r"(?i)\b(sig|signature|skoid|sktid|skey)=[^&\s\"'<>]+")


def scrub(text):
    """``text`` without the query of any URL it holds nor any SAS signature."""
    return SIGNATURE.sub(r"\1=…", URL_QUERY.sub(r"\1", text or ""))


class CloudBackupPolicy(models.Model):
    # a concern file of cloud.backup.policy, named in ARCHITECTURE.md
    _inherit = "cloud.backup.policy"  # pylint: disable=consider-merging-classes-inherited

    last_good_backup_at = fields.Datetime(
        string="Last Good Backup",
        compute="_compute_last_good_backup_at",
        store=True,
        help="When the newest successful backup of this policy ended (its blob committed in Azure). "
        "A backup whose blob was deleted no longer counts.",
    )
    last_verified_at = fields.Datetime(
        string="Last Verified Restorable",
        readonly=True,
        copy=False,
        help="When a backup of this policy was last proven sound: the newest verification that passed "
        "(the blob read back from Azure, its SHA-256 equal to the one written at backup time) or restore "
        "test that passed (the backup restored into a throwaway database, matching its manifest, loaded "
        "by Odoo).",
    )
    alert_state = fields.Selection(
        ALERT_STATES,
        string="Alert",
        default="ok",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
        help="OK, or what went wrong: a backup failed, a verification failed, or no good backup "
        "landed for a day plus the grace period (Overdue). Entering an alert gives the responsible "
        "an activity and mails them and the followers, once; a good backup (or, for a verification, "
        "one that passes) clears it.",
    )
    alert_message = fields.Text(
        string="Alert Details", readonly=True, copy=False, help="What raised the current alert."
    )
    alert_since = fields.Datetime(readonly=True, copy=False, help="When the current alert was raised.")
    alert_grace_hours = fields.Integer(
        string="Grace Period (hours)",
        default=6,
        tracking=True,
        help="A scheduled policy is Overdue when no good backup landed for a day (its daily schedule) "
        "plus this many hours: room for a slow or retried backup before anyone is alerted. From 0 "
        "to 720.",
    )
    overdue_since = fields.Datetime(
        string="Overdue From",
        compute="_compute_overdue_since",
        store=True,
        help="When this policy is Overdue without a new good backup: the last good backup (or the "
        "policy's creation) plus a day plus the grace period. Empty when not scheduled.",
    )

    @api.depends("backup_ids.state", "backup_ids.finished_at")
    def _compute_last_good_backup_at(self):
        # one grouped query for all the policies: a policy has thousands of runs
        last = dict(
            self.env["cloud.backup"]._read_group(
                [("policy_id", "in", self._origin.ids), ("state", "=", "done")],
                ["policy_id"],
                ["finished_at:max"],
            )
        )
        for policy in self:
            policy.last_good_backup_at = last.get(policy._origin, False)

    @api.depends("last_good_backup_at", "alert_grace_hours", "scheduled", "create_date")
    def _compute_overdue_since(self):
        for policy in self:
            start = policy.last_good_backup_at or policy.create_date
            if policy.scheduled and start:
                policy.overdue_since = start + INTERVAL + timedelta(hours=policy.alert_grace_hours)
            else:
                policy.overdue_since = False

    @api.constrains("alert_grace_hours")
    def _check_alert_grace_hours(self):
        for policy in self:
            if not 0 <= policy.alert_grace_hours <= GRACE_MAX:
                raise ValidationError(policy._bound_message("alert_grace_hours"))

    def init(self):
        """The newest passed verification of each policy, on a database that had none recorded
        (installed before alerts, or upgraded): one statement, nothing once filled. At the
        install, the backups' table does not exist yet: nothing to fill."""
        super().init()
        if not table_exists(self.env.cr, "cloud_backup"):
            return
        self.env.cr.execute(
            SQL(
                """UPDATE cloud_backup_policy p SET last_verified_at = v.at
                     FROM (SELECT policy_id, max(verified_at) AS at FROM cloud_backup
                            WHERE verify_state = 'done' GROUP BY policy_id) v
                    WHERE v.policy_id = p.id AND p.last_verified_at IS NULL"""
            )
        )

    def write(self, vals):
        res = super().write(vals)
        if "active" in vals or "scheduled" in vals:
            # an archived policy alerts nobody; one no longer scheduled is not overdue
            for policy in self.sudo():
                if not policy.active:
                    policy._alert_clear(ALERTS, _("Cleared: the policy was archived."))
                elif not policy.scheduled:
                    policy._alert_clear(("overdue",), _("Cleared: the policy is no longer scheduled."))
        return res

    # -- raising and clearing ------------------------------------------------------------------------

    def _alert_isolated(self, method, *args):
        """``method(*args)`` of the alerts (raise, clear, a verification recorded), as a run calls
        it: an alert that cannot be raised or cleared (a mail template changed into an error) is
        logged, and never undoes the run's own result (a failure recorded, a backup landed)."""
        try:
            with self.env.cr.savepoint():
                return getattr(self, method)(*args)
        except Exception:  # pylint: disable=broad-except
            _logger.warning("cloud.backup.policy %s: %s failed", self.id, method, exc_info=True)
            return False

    def _alert_raise(self, state, message):
        """Enter the alert ``state`` (``message``: what happened): one activity for the responsible,
        one mail to them and the followers. Nothing when the policy is already in this alert or a
        worse one, or archived. Returns whether it was raised. Private: the scheduled action and the
        runs call it."""
        self.ensure_one()
        policy = self.sudo()
        if not policy.active or ALERT_RANK[state] <= ALERT_RANK[policy.alert_state]:
            return False
        users = policy._alert_users()
        # what Odoo writes, in the language of the person told
        policy = policy.with_context(lang=users[:1].lang or self.env.lang)
        policy.write({"alert_state": state, "alert_since": fields.Datetime.now()})
        policy.alert_message = "%s %s" % (scrub(message), policy._alert_advice())
        title = policy._alert_title()
        # a lesser alert's activity (a verification) is replaced: one activity per policy at a time
        policy.activity_feedback([ALERT_ACTIVITY], feedback=_("Replaced by a new alert: %s", title))
        if users:
            policy.activity_schedule(
                ALERT_ACTIVITY, summary=title, note=policy.alert_message, user_id=users[0].id
            )
        # the followers get it by its subtype (Discussions), the responsible (or the administrators)
        # by name, each once
        policy.message_post_with_source(
            ALERT_TEMPLATE,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            partner_ids=users.partner_id.ids,
        )
        return True

    def _alert_clear(self, states, note):
        """Back to OK when in one of ``states``: the alert's activity is marked done with ``note``
        (else ``note`` is logged). No mail. Returns whether it was cleared."""
        self.ensure_one()
        policy = self.sudo()
        if policy.alert_state not in states:
            return False
        policy.write({"alert_state": "ok", "alert_message": False, "alert_since": False})
        if policy.activity_ids.filtered(lambda activity: activity.activity_type_id == policy._alert_type()):
            policy.activity_feedback([ALERT_ACTIVITY], feedback=note)
        else:
            policy._message_log(body=note)
        return True

    def _backup_landed(self, backup):
        """A good backup of this policy landed: a backup alert clears."""
        self._alert_clear(
            BACKUP_ALERTS,
            _(
                "Cleared: a good backup landed at %s.",
                format_datetime(self.env, backup.finished_at, tz=self.schedule_tz),
            ),
        )

    def _record_verified(self, at, what, states=VERIFY_ALERTS):
        """A backup of this policy was proven sound at ``at`` (``what``: how, for the note): the
        last verified restorable moves on and the alerts ``states`` clear (a verification's; a
        restore test's, RESTORE_ALERTS)."""
        self.ensure_one()
        policy = self.sudo()
        if not policy.last_verified_at or at > policy.last_verified_at:
            policy.last_verified_at = at
        policy._alert_clear(
            states,
            _(
                "Cleared: %(what)s at %(at)s.",
                what=what,
                at=format_datetime(self.env, at, tz=self.schedule_tz),
            ),
        )

    def _alert_overdue(self, now):
        """The scheduled action's check of a policy selected as overdue (see _cron_run_due)."""
        if not self.overdue_since or self.overdue_since > now:
            return
        policy = self.with_context(lang=self._alert_users()[:1].lang or self.env.lang)
        tz = policy.schedule_tz
        if policy.last_good_backup_at:
            message = _(
                "No good backup since %(at)s: a backup is expected every day, and the grace period of "
                "%(grace)s hours has passed.",
                at=format_datetime(policy.env, policy.last_good_backup_at, tz=tz),
                grace=policy.alert_grace_hours,
            )
        else:
            message = _(
                "No good backup since the policy was made on %(at)s: a backup is expected every day, "
                "and the grace period of %(grace)s hours has passed.",
                at=format_datetime(policy.env, policy.create_date, tz=tz),
                grace=policy.alert_grace_hours,
            )
        policy._alert_raise("overdue", message)

    @api.model
    def _alert_overdue_condition(self, now, connected):
        """SQL: the policies to look at as overdue. Only a lesser alert can be replaced; a policy
        with a backup running waits for its result; one whose account needs Reconnect is paused
        (the account has its own activity, and a copy of the database tells nobody)."""
        lesser = tuple(state for state, rank in ALERT_RANK.items() if rank < ALERT_RANK["overdue"])
        return SQL(
            "active AND alert_state IN %s AND overdue_since <= %s"
            " AND id NOT IN (SELECT policy_id FROM cloud_backup WHERE state = 'running') AND %s",
            lesser,
            now,
            connected,
        )

    # -- what the alert says -------------------------------------------------------------------------

    def _alert_type(self):
        return self.env.ref(ALERT_ACTIVITY)

    def _alert_title(self):
        labels = dict(self._fields["alert_state"]._description_selection(self.env))
        return _("Backup alert: %(state)s (%(policy)s)", state=labels[self.alert_state], policy=self.name)

    def _alert_advice(self):
        """What to do, by alert."""
        if self.alert_state == "restore_failed":
            return _(
                "Do not rely on that backup: read the backup's restore test result, fix its cause (a module "
                "missing from this server's addons path, a database that changed during the backup), then "
                "click Back up now and Test Restore Now: a restore test that passes clears this alert."
            )
        if self.alert_state == "verify_failed":
            return _(
                "Do not rely on that backup: click Back up now (or wait for the next daily backup); the "
                "next good backup is verified at once, and a passed verification clears this alert."
            )
        if self.paused:
            return _(
                "The account %s needs Reconnect: no backup is taken until then. Reconnect it; a good "
                "backup clears this alert.",
                self.account_id.name,
            )
        return _(
            "Open the failed backups of the policy for Azure's answer, fix the cause (the storage "
            "location's access, the account's role, the server's time limits), then click Back up now: "
            "a good backup clears this alert."
        )

    def _alert_users(self):
        """Who gets the activity (the first) and the mail: the responsible, else the Settings
        administrators (those who may act on backups)."""
        if self.user_id.active:
            return self.user_id
        return self.env.ref("base.group_system").users.filtered(lambda user: not user.share).sorted("id")
