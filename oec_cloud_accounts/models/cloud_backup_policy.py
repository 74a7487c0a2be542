import logging
from datetime import datetime, time, timedelta

import psycopg2.errors
import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_datetime

from odoo.addons.base.models.res_partner import _tz_get

from ..services import AzureError
from ..services.blob import META_DB_UUID, TIERS
from ..services.retention import backups_to_keep

_logger = logging.getLogger(__name__)

# the integer fields' bounds, checked before anything reaches PostgreSQL (an int4 column) or
# Azure (a lifecycle rule's daysAfterModificationGreaterThan is at most 99999)
KEEP_MAX = {"keep_daily": 3660, "keep_weekly": 520, "keep_monthly": 240, "keep_yearly": 100}
LIFECYCLE_DAYS_MAX = 99999
# blobs retention leaves alone, saying why on the backup: another database's or a person's, or
# ones Azure keeps (immutability policy, legal hold, a lease someone holds)
LEFT_ALONE = ("ForeignBlob", "BlobImmutableDueToPolicy", "BlobImmutableDueToLegalHold", "LeaseIdMissing")
IMMUTABLE_DAYS_MAX = 36500  # a hundred years: how long an immutable backup is kept at most
GRACE_MAX = 720  # hours (30 days): the alerts' grace period (cloud_backup_policy_alert.py)
BOUNDS = dict(
    KEEP_MAX,
    lifecycle_cool_days=LIFECYCLE_DAYS_MAX,
    lifecycle_delete_days=LIFECYCLE_DAYS_MAX,
    alert_grace_hours=GRACE_MAX,
    immutability_days=IMMUTABLE_DAYS_MAX,
)

FORMATS = [
    ("zip", "Zip with filestore (Odoo database manager)"),
    ("dump", "PostgreSQL custom dump (no filestore)"),
]


class CloudBackupPolicy(models.Model):
    """How and when this database is backed up to a blob container, and how
    long backups are kept.

    A backup is the whole database (every company, the users' password hashes,
    database.secret): policies are made, changed and run by Settings
    administrators only (access rights, and each action checks it first)."""

    _name = "cloud.backup.policy"
    _description = "Backup Policy"
    _inherit = ("mail.thread", "mail.activity.mixin", "cloud.owned.fields.mixin")
    _order = "name, id"
    # the alert's fields: cloud_backup_policy_alert.py
    _code_owned_fields = frozenset(
        {
            "next_run_at",
            "lifecycle_rule",
            "last_good_backup_at",
            "last_verified_at",
            "alert_state",
            "alert_message",
            "alert_since",
            "overdue_since",
            # the restore tests' (cloud_backup_policy_restore_test.py)
            "restore_test_next_at",
        }
    )

    name = fields.Char(required=True, default=lambda self: self.env.cr.dbname, tracking=True)
    active = fields.Boolean(default=True)
    # not stored: a copy, or a database restored under another name, backs up itself, never
    # the database it was taken from by the name that one had
    database = fields.Char(
        compute="_compute_database",
        help="The database backed up: the one this policy lives in.",
    )
    storage_id = fields.Many2one(
        "cloud.storage",
        string="Storage Location",
        required=True,
        ondelete="restrict",
        tracking=True,
        domain="[('state', '=', 'ready')]",
        help="The blob container the backups are written to (Cloud > Storage, or Storage Quick Setup "
        "on an account).",
    )
    company_id = fields.Many2one(
        related="storage_id.company_id",
        store=True,
        index=True,
        help="The company of the storage location. The backups hold the whole database, every company "
        "included: only Settings administrators manage them.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        tracking=True,
        help="Gets the activity and the mail of a backup alert (a backup or its verification failed, "
        "or no good backup for too long); without one, the Settings administrators do.",
    )
    backup_format = fields.Selection(
        FORMATS,
        string="Format",
        default="zip",
        required=True,
        tracking=True,
        help="Zip: dump.sql, the filestore and manifest.json, as Odoo's database manager makes and "
        "restores it. PostgreSQL custom dump: smaller and faster, restored with pg_restore, but without "
        "the attachments kept in the filestore.",
    )
    tier = fields.Selection(
        [(tier, tier) for tier in TIERS],
        string="Access Tier",
        default="Cool",
        required=True,
        help="Azure's access tier of each backup blob: Hot costs more to keep and less to read; Cool "
        "and Cold cost less to keep, more to read, and bill an early deletion before 30 and 90 days.",
    )
    scheduled = fields.Boolean(
        default=True, tracking=True, help="Back up every day at the time below (scheduled action)."
    )
    schedule_time = fields.Float(
        string="Daily At", default=2.0, help="Local time of the daily backup, in the time zone below."
    )
    schedule_tz = fields.Selection(
        _tz_get, string="Time Zone", default=lambda self: self.env.user.tz or "UTC", required=True
    )
    next_run_at = fields.Datetime(
        string="Next Backup",
        readonly=True,
        help="When the scheduled action queues the next backup; none while paused (the storage "
        "location's account needs Reconnect).",
    )
    account_id = fields.Many2one(related="storage_id.account_id", string="Cloud Account")
    paused = fields.Boolean(
        related="storage_id.account_id.needs_reconnect",
        help="The account of the storage location is archived, expired or disconnected: no backup is "
        "taken until it is reconnected.",
    )
    keep_daily = fields.Integer(
        default=7, help="Keep the newest backup of each of this many most recent days (at most 3660)."
    )
    keep_weekly = fields.Integer(default=4, help="... of each of this many most recent weeks (at most 520).")
    keep_monthly = fields.Integer(
        default=12, help="... of each of this many most recent months (at most 240)."
    )
    keep_yearly = fields.Integer(default=1, help="... of each of this many most recent years (at most 100).")
    lifecycle_enabled = fields.Boolean(
        string="Lifecycle Rule",
        help="Also ask Azure to manage the backups' blobs (lifecycle management rule on the storage "
        "account): cheaper tier after some days, deletion after more. It acts on this database's "
        "backups only, beside the retention above.",
    )
    lifecycle_cool_days = fields.Integer(
        string="Move to Cool After (days)",
        default=30,
        help="0: never move to the Cool tier. At most 99999 (Azure's limit).",
    )
    lifecycle_delete_days = fields.Integer(
        string="Delete After (days)",
        default=400,
        help="0: never delete by the lifecycle rule. At most 99999 (Azure's limit).",
    )
    lifecycle_rule = fields.Char(
        string="Lifecycle Rule Name", readonly=True, help="The rule's name in the storage account, once set."
    )
    backup_ids = fields.One2many("cloud.backup", "policy_id")
    backup_count = fields.Integer(compute="_compute_backup_stats")
    last_backup_id = fields.Many2one("cloud.backup", compute="_compute_backup_stats")

    _sql_constraints = (
        (
            "keep_positive",
            "CHECK(keep_daily >= 0 AND keep_weekly >= 0 AND keep_monthly >= 0 AND keep_yearly >= 0)",
            "Retention counts cannot be negative.",
        ),
    )

    @api.depends("backup_ids")
    def _compute_backup_stats(self):
        # grouped by the database, for all the policies at once: a policy has thousands of runs
        Backup = self.env["cloud.backup"]
        domain = [("policy_id", "in", self._origin.ids)]
        stats = {
            policy.id: (count, last)
            for policy, count, last in Backup._read_group(domain, ["policy_id"], ["__count", "id:max"])
        }
        for policy in self:
            count, last = stats.get(policy._origin.id, (0, None))
            policy.backup_count = count
            policy.last_backup_id = Backup.browse(last)

    @api.constrains("schedule_time", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly")
    def _check_schedule(self):
        for policy in self:
            if not 0 <= policy.schedule_time < 24:
                raise ValidationError(_("The daily backup time is between 00:00 and 23:59."))
            for name, most in KEEP_MAX.items():
                if not 0 <= policy[name] <= most:
                    raise ValidationError(policy._bound_message(name))
            if not any((policy.keep_daily, policy.keep_weekly, policy.keep_monthly, policy.keep_yearly)):
                raise ValidationError(
                    _(
                        "Keep at least one daily, weekly, monthly or yearly backup "
                        "(the newest is always kept)."
                    )
                )

    @api.constrains("lifecycle_enabled", "lifecycle_cool_days", "lifecycle_delete_days")
    def _check_lifecycle(self):
        for policy in self.filtered("lifecycle_enabled"):
            cool, delete = policy.lifecycle_cool_days, policy.lifecycle_delete_days
            if not (0 <= cool <= LIFECYCLE_DAYS_MAX and 0 <= delete <= LIFECYCLE_DAYS_MAX):
                raise ValidationError(
                    _("The lifecycle rule's days are between 0 and %s (Azure's limit).", LIFECYCLE_DAYS_MAX)
                )
            if not (cool or delete):
                raise ValidationError(_("Give the lifecycle rule a number of days to move or to delete."))
            if cool and delete and delete <= cool:
                raise ValidationError(_("The lifecycle rule must delete after it moves to Cool."))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_bounds(vals)
        policies = super().create(vals_list)
        policies._schedule_next()
        return policies

    def write(self, vals):
        self._check_bounds(vals)
        res = super().write(vals)
        if {"scheduled", "schedule_time", "schedule_tz", "active", "storage_id"} & set(vals):
            self._schedule_next()
        return res

    # -- actions -------------------------------------------------------------------------------------

    def action_backup_now(self):
        """Queue a backup now; the scheduled action runs it (this returns at once)."""
        self._check_backup_admin()
        backups = self.env["cloud.backup"]
        for policy in self.sudo():
            backups |= policy._queue_backup(trigger="manual")
        self.env.ref("oec_cloud_accounts.ir_cron_backups")._trigger()
        if len(backups) == 1:
            return backups.with_env(self.env)._open_form()
        return True

    def action_apply_lifecycle(self):
        """Set (or remove) the lifecycle management rule of this database's backups in Azure."""
        self._check_backup_admin()
        for policy in self.sudo():
            policy._apply_lifecycle()
        return True

    def action_view_backups(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("oec_cloud_accounts.cloud_backup_action")
        action["domain"] = [("policy_id", "=", self.id)]
        action["context"] = {"default_policy_id": self.id}
        return action

    # -- business methods ----------------------------------------------------------------------------

    def _check_backup_admin(self):
        """Settings administrators only, then the access rights and rules (see cloud.backup)."""
        self.env["cloud.backup"]._check_backup_admin()
        self._check_can_change()

    def _acting_accounts(self):
        return self.sudo().storage_id.account_id

    @api.model
    def _check_bounds(self, vals):
        """Refuse out-of-range integers before they reach PostgreSQL or Azure."""
        for name, most in BOUNDS.items():
            value = vals.get(name)
            if value is None or value is False:
                continue
            try:
                number = int(value)
            except (TypeError, ValueError, OverflowError):
                continue  # not a number: the ORM refuses it
            if not 0 <= number <= most or number != value:
                raise ValidationError(self._bound_message(name))

    def _bound_message(self, name):
        field = self._fields[name]
        return _(
            "%(field)s must be a whole number between 0 and %(most)s.",
            field=field._description_string(self.env),
            most=BOUNDS[name],
        )

    def _compute_database(self):
        self.database = self.env.cr.dbname

    def _queue_backup(self, trigger):
        """A queued cloud.backup, refused while one runs or waits for this database.

        The search gives the usual answer; the partial unique index of cloud.backup
        (one queued or running backup per database) settles the race of two requests
        at once: the second insert waits for the first transaction and fails."""
        self.ensure_one()
        if self.storage_id.state != "ready":
            raise UserError(
                _(
                    "The storage location %(name)s cannot be used (%(state)s): test its access first "
                    "(Cloud > Storage).",
                    name=self.storage_id.display_name,
                    state=dict(self.storage_id._fields["state"].selection)[self.storage_id.state],
                )
            )
        busy = (
            self.env["cloud.backup"]
            .sudo()
            .search([("database", "=", self.database), ("state", "in", ("queued", "running"))], limit=1)
        )
        if busy:
            raise UserError(
                _(
                    "A backup of %(db)s is already %(state)s (%(name)s): wait for it to finish.",
                    db=self.database,
                    state=dict(busy._fields["state"].selection)[busy.state].lower(),
                    name=busy.display_name,
                )
            )
        try:
            with self.env.cr.savepoint():
                backup = (
                    self.env["cloud.backup"]
                    .sudo()
                    .create(
                        {
                            "policy_id": self.id,
                            "trigger": trigger,
                            "requested_by": self.env.user.id if trigger == "manual" else False,
                        }
                    )
                )
        except psycopg2.errors.UniqueViolation as error:
            raise UserError(
                _(
                    "A backup of %(db)s was queued at the same moment by another request: wait for it "
                    "to finish.",
                    db=self.database,
                )
            ) from error
        backup.message_post(
            body=_("Backup requested by %s.", self.env.user.name)
            if trigger == "manual"
            else _("Scheduled backup queued.")
        )
        return backup

    def _queue_scheduled(self, now):
        """The scheduled backup of this policy (its moment has come), and the next moment."""
        self._queue_backup(trigger="scheduled")
        self._schedule_next(now)

    def _newest_good_backup(self):
        """This policy's newest successful backup (one query), or an empty recordset."""
        self.ensure_one()
        return self.env["cloud.backup"].search(
            [("policy_id", "=", self.id), ("state", "=", "done")], order="id desc", limit=1
        )

    def _job_account(self):
        return self.storage_id.account_id

    def _job_on_hold(self, account, error):
        """Retention failed on the account's sign-in or rights (now the account's state):
        it is applied again once the account is active, nothing to note here."""

    def _job_record_failure(self, error, what):
        """A scheduled backup not queued (the previous run still going, the location unusable)
        is said in the chatter and waits for the next moment; the other jobs of a policy
        (verification, retention) are only logged (by cloud.job.mixin) and tried at the next pass."""
        if what == "scheduled backup":
            self.message_post(
                body=_("Scheduled backup not started: %s", self.env["cloud.backup"]._describe(error))
            )
            self._schedule_next(fields.Datetime.now())

    def _schedule_next(self, after=None):
        """Set next_run_at to the next daily moment after ``after`` (UTC, default now); none while
        the policy is off or paused (its account needs Reconnect)."""
        after = after or fields.Datetime.now()
        cron = self.env.ref("oec_cloud_accounts.ir_cron_backups", raise_if_not_found=False)
        for policy in self.sudo():
            if not (policy.scheduled and policy.active) or policy.paused:
                policy.next_run_at = False
                continue
            policy.next_run_at = policy._next_moment(after)
            if cron:
                cron._trigger(at=policy.next_run_at)

    def _follow_account(self):
        """The account of the storage location was disconnected, expired or archived (pause), or
        connected again (resume): the daily backups follow, and the chatter says so."""
        self._schedule_next()
        for policy in self.sudo().filtered(lambda policy: policy.scheduled and policy.active):
            if policy.paused:
                body = _(
                    "Paused: the account %s needs Reconnect. No backup is taken until then.",
                    policy.account_id.name,
                )
            else:
                body = _("Resumed: the account %s is connected again.", policy.account_id.name)
            policy._message_log(body=body)

    def _next_moment(self, after):
        tz = pytz.timezone(self.schedule_tz or "UTC")
        local_after = pytz.utc.localize(after).astimezone(tz)
        minutes = round(self.schedule_time * 60)
        at = time(minutes // 60 % 24, minutes % 60)
        for days in range(3):
            day = (local_after + timedelta(days=days)).date()
            moment = tz.localize(datetime.combine(day, at)).astimezone(pytz.utc).replace(tzinfo=None)
            if moment > after:
                return moment
        return after + timedelta(days=1)

    def _blob_prefix(self):
        return "%s/" % self.database

    def _owner_metadata(self):
        """What a blob's metadata must say for this database to delete it."""
        return {META_DB_UUID: self.env["ir.config_parameter"].sudo().get_param("database.uuid")}

    def _apply_lifecycle(self):
        storage = self.storage_id.sudo()
        cool = self.lifecycle_cool_days if self.lifecycle_enabled else 0
        delete = self.lifecycle_delete_days if self.lifecycle_enabled else 0
        with storage.account_id._azure_errors():
            name = storage._set_lifecycle_rule(self._blob_prefix(), cool, delete)
        self.sudo().lifecycle_rule = name or False
        self.message_post(
            body=_(
                "Lifecycle rule %(name)s set by %(user)s: Cool after %(cool)s days, "
                "deleted after %(delete)s days.",
                name=name,
                user=self.env.user.name,
                cool=cool or "-",
                delete=delete or "-",
            )
            if name
            else _("Lifecycle rule removed by %s.", self.env.user.name)
        )

    def _apply_retention(self):
        """Delete the blobs of the successful backups the retention counts do not keep
        (never the newest, never a blob another database or a person wrote); a blob Azure
        keeps (immutable, leased) is left alone with why, and the others still go."""
        self.ensure_one()
        backups = self.env["cloud.backup"].search(
            [("policy_id", "=", self.id), ("state", "=", "done"), ("error", "=", False)]
        )
        tz = pytz.timezone(self.schedule_tz or "UTC")
        moments = [(b.id, pytz.utc.localize(b.started_at or b.create_date).astimezone(tz)) for b in backups]
        keep = backups_to_keep(
            moments, self.keep_daily, self.keep_weekly, self.keep_monthly, self.keep_yearly
        )
        doomed = backups.filtered(lambda b: b.id not in keep)
        if not doomed:
            return 0
        # immutable backups whose policy has not ended: skipped without asking Azure, said below,
        # deleted at the first pass after their end (nothing marked deleted that is not)
        locked = doomed.filtered(lambda backup: backup._locked_until())
        doomed -= locked
        store = self.storage_id._blob_store() if doomed else None
        if store:
            store.deadline = self.env["cloud.backup"]._deadline()
        for backup in doomed.sorted("id"):
            try:
                kept = backup._delete_blob(store)
            except AzureError as error:
                if error.code not in LEFT_ALONE:
                    raise
                until = error.params.get("until") if error.code == "BlobImmutableDueToPolicy" else None
                if until:
                    # a policy Azure knows (extended in the portal, another clock): kept, tried again
                    backup.immutable_until = until.replace(tzinfo=None)
                    locked |= backup
                    continue
                backup.error = backup._error_text(error)
                backup.message_post(body=_("Retention left the blob alone: %s", backup.error))
                continue
            if kept:
                # a previous version still protected (blob versioning): kept, deleted after its end
                locked |= backup
                continue
            backup.message_post(body=_("Deleted by the retention of %s.", self.display_name))
        if locked:
            self._say_locked(locked)
        return len(doomed)

    def _say_locked(self, locked):
        """One line in the policy's chatter (and the log) for the backups retention would delete
        but their immutability keeps: how many, and when the first can go; said when a backup
        joins them, not at every pass of the scheduled action."""
        if all(locked.mapped("retention_held")):
            return
        locked.retention_held = True
        first = min(locked.mapped("immutable_until"))
        _logger.info(
            "cloud.backup.policy %s: retention skipped %s immutable backup(s), the first deletable at %s",
            self.id,
            len(locked),
            first,
        )
        self.message_post(
            body=_(
                "Retention kept %(count)s backup(s) that their immutability policy protects (ransomware "
                "protection): Azure refuses to delete them before their end. The first becomes deletable "
                "on %(date)s; retention deletes each at its first pass after its end.",
                count=len(locked),
                date=format_datetime(self.env, first),
            )
        )
