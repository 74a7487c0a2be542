import os
import re

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.sql_db import db_connect
from odoo.tools import SQL, config
from odoo.tools.sql import index_exists

from odoo.addons.web.controllers.database import DBNAME_PATTERN

from ..services.blob import DeadlineReached

# the names Odoo's database manager accepts
DBNAME_RE = re.compile(DBNAME_PATTERN)
# PostgreSQL cuts longer names (NAMEDATALEN - 1 bytes): a long name could land on another database
DBNAME_MAX_BYTES = 63
RUN_STATES = [
    ("queued", "Queued"),
    ("running", "Running"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("deleted", "Deleted"),
    # running when this database was copied from another one: it ran (and ended) there
    ("elsewhere", "Ran Elsewhere"),
]
# one queued or running backup per database, whatever the races (see init)
BUSY_INDEX = "cloud_backup_one_busy_per_database"
JOB_STATES = [("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")]
# sizes in powers of 1024, as the throughput (MiB/s) and Azure's block sizes (MiB) are counted
SIZE_UNITS = ("KiB", "MiB", "GiB", "TiB")


def format_size(size):
    """``size`` bytes for a person: 812 bytes, 1.5 KiB, 23.4 MiB, 1.2 GiB."""
    if size < 1024:
        return "%d bytes" % size
    value, unit = size / 1024, 0
    while value >= 1024 and unit < len(SIZE_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return "%.1f %s" % (value, SIZE_UNITS[unit])


class CloudBackup(models.Model):
    """One backup run of a policy, and what became of its blob."""

    _name = "cloud.backup"
    _description = "Backup"
    # cloud.job.mixin: a run Azure could not serve is tried again (next_run_at, retry_count)
    _inherit = ("mail.thread", "mail.activity.mixin", "cloud.owned.fields.mixin", "cloud.job.mixin")
    _order = "id desc"
    # every field is set by the run, the verification, the restore or retention
    _user_fields = frozenset()

    name = fields.Char(compute="_compute_name", store=True)
    policy_id = fields.Many2one("cloud.backup.policy", required=True, ondelete="restrict", index=True)
    storage_id = fields.Many2one(
        "cloud.storage",
        string="Storage Location",
        required=True,
        ondelete="restrict",
        help="Where this backup was written (the policy may point elsewhere since).",
    )
    company_id = fields.Many2one(
        related="storage_id.company_id",
        store=True,
        index=True,
        help="The company of the storage location. The backup itself holds the whole database: "
        "every company, the users and their password hashes.",
    )
    database = fields.Char(required=True, index=True)
    backup_format = fields.Selection(
        [("zip", "Zip with filestore"), ("dump", "PostgreSQL custom dump")], string="Format", required=True
    )
    tier = fields.Char(string="Access Tier")
    state = fields.Selection(RUN_STATES, default="queued", required=True, tracking=True, index=True)
    trigger = fields.Selection(
        [("manual", "Back up now"), ("scheduled", "Scheduled")], string="Started By", required=True
    )
    requested_by = fields.Many2one("res.users", help="Who clicked Back up now.")
    blob_name = fields.Char(help="The blob's name in the container.")
    started_at = fields.Datetime()
    finished_at = fields.Datetime()
    duration = fields.Float(string="Duration (s)", digits=(16, 1))
    size = fields.Float(string="Size (bytes)", digits=(16, 0))
    size_display = fields.Char(string="Size", compute="_compute_size_display")
    throughput = fields.Float(string="Throughput (MiB/s)", digits=(16, 1))
    sha256 = fields.Char(string="SHA-256", help="Of the blob's bytes; also in the blob's metadata.")
    blocks = fields.Integer(help="Blocks staged for the blob.")
    runner = fields.Char(help="The Odoo process (host:pid) that ran it.")
    database_identity = fields.Char(
        help="Where the last backup, verification or restore of this record started, as PostgreSQL "
        "knows the database (cluster identifier/oid): a database restored from a dump taken meanwhile "
        "has another, and tells the runs it caught in progress, which ran in the original, from its own.",
    )
    error = fields.Text(help="Why the run failed, or why retention left the blob alone.")
    verify_state = fields.Selection(
        JOB_STATES, string="Verification", tracking=True, help="Last re-download and SHA-256 comparison."
    )
    verified_at = fields.Datetime(string="Verified On")
    restore_db_name = fields.Char(string="Restore As")
    restore_neutralize = fields.Boolean(string="Neutralize")
    restore_state = fields.Selection(JOB_STATES, tracking=True)
    restore_error = fields.Text()
    restore_requested_by = fields.Many2one("res.users")
    restore_job = fields.Char(help="While the restore's own process runs: its working folder.")
    in_progress = fields.Boolean(compute="_compute_progress", help="Something is queued or running.")
    progress = fields.Integer(
        compute="_compute_progress",
        help="While running: the time elapsed against the previous successful backup's duration.",
    )

    def init(self):
        """One queued or running backup per database, kept by PostgreSQL: two Back up now at
        the same moment both pass the search of _queue_backup, the second insert fails."""
        super().init()
        cr = self.env.cr
        if index_exists(cr, BUSY_INDEX):
            return
        # runs queued twice before the index existed: the running one (else the oldest) stays
        cr.execute(
            SQL(
                """UPDATE cloud_backup b SET state = 'failed', error = %s
                    WHERE b.state IN ('queued', 'running') AND EXISTS (
                        SELECT 1 FROM cloud_backup o
                         WHERE o.database = b.database AND o.id != b.id
                           AND o.state IN ('queued', 'running')
                           AND (o.state = 'running' AND b.state = 'queued'
                                OR o.state = b.state AND o.id < b.id))""",
                "Queued while another backup of this database was queued or running.",
            )
        )
        cr.execute(
            SQL(
                "CREATE UNIQUE INDEX %s ON cloud_backup (database) WHERE state IN ('queued', 'running')",
                SQL.identifier(BUSY_INDEX),
            )
        )

    @api.depends("database", "started_at", "create_date")
    def _compute_name(self):
        for backup in self:
            moment = backup.started_at or backup.create_date or fields.Datetime.now()
            backup.name = "%s %s" % (backup.database or "", fields.Datetime.to_string(moment)[:16])

    @api.depends("state", "verify_state", "restore_state", "started_at")
    def _compute_progress(self):
        now = fields.Datetime.now()
        # how long the last successful run of each policy took, for all the running ones at once
        running = self.filtered(lambda backup: backup.state == "running" and backup.started_at)
        last_done = self.browse(
            [
                last_id
                for _policy, last_id in self._read_group(
                    [("policy_id", "in", running.policy_id.ids), ("state", "=", "done")],
                    ["policy_id"],
                    ["id:max"],
                )
            ]
            if running
            else []
        )
        durations = {done.policy_id: done.duration for done in last_done}
        for backup in self:
            busy = ("queued", "running")
            backup.in_progress = (
                backup.state in busy or backup.verify_state in busy or backup.restore_state in busy
            )
            if backup.state == "done":
                backup.progress = 100
            elif backup.state == "running" and backup.started_at:
                duration = durations.get(backup.policy_id)
                expected = max(duration, 1.0) if duration is not None else 60.0
                elapsed = (now - backup.started_at).total_seconds()
                backup.progress = min(95, int(100 * elapsed / expected))
            else:
                backup.progress = 0

    @api.depends("size")
    def _compute_size_display(self):
        for backup in self:
            backup.size_display = format_size(backup.size) if backup.size else False

    @api.model_create_multi
    def create(self, vals_list):
        policies = self.env["cloud.backup.policy"]
        for vals in vals_list:
            policy = policies.browse(vals.get("policy_id")).sudo()
            vals.setdefault("storage_id", policy.storage_id.id)
            vals.setdefault("database", self.env.cr.dbname)
            vals.setdefault("backup_format", policy.backup_format)
            vals.setdefault("tier", policy.tier)
        return super().create(vals_list)

    def unlink(self):
        if any(backup.state in ("running", "done") for backup in self):
            raise UserError(
                _(
                    "A successful backup's blob is deleted first (Delete Backup), and a running one must "
                    "finish: only queued, failed and deleted backups can be removed from the list."
                )
            )
        return super().unlink()

    # -- actions -------------------------------------------------------------------------------------

    def action_verify(self):
        """Queue a re-download of the blob and a comparison of its SHA-256 (the scheduled action runs it)."""
        self._check_backup_admin()
        for backup in self.sudo():
            if backup.state != "done":
                raise UserError(_("Only a successful backup can be verified."))
            backup.verify_state = "queued"
            backup.message_post(body=_("Verification requested by %s.", self.env.user.name))
        self.env.ref("oec_cloud_accounts.ir_cron_backups")._trigger()
        return True

    def action_download(self):
        """Open a link that lets the browser read the blob for a few minutes (read-only SAS)."""
        self._check_backup_admin()
        self.ensure_one()
        backup = self.sudo()
        if backup.state != "done":
            raise UserError(_("Only a successful backup can be downloaded."))
        with backup.storage_id.account_id._azure_errors():
            url = backup.storage_id._blob_store().read_url(backup.blob_name)
        backup.message_post(
            body=_("Download link made by %s (read-only, valid for 15 minutes).", self.env.user.name)
        )
        return {"type": "ir.actions.act_url", "url": url, "target": "new"}

    def action_delete_backup(self):
        """Delete the blob in Azure (only if this database wrote it) and keep the record as Deleted."""
        self._check_backup_admin()
        self.sudo()._check_not_locked()
        for backup in self.sudo():
            if backup.state != "done":
                raise UserError(_("Only a successful backup has a blob to delete."))
            store = backup.storage_id._blob_store()
            store.deadline = backup._deadline()  # within this request's time limit
            try:
                with backup.storage_id.account_id._azure_errors():
                    kept = backup._delete_blob(store)
            except DeadlineReached as error:
                raise UserError(
                    _("Azure did not answer in time: nothing was deleted, try again later.")
                ) from error
            if kept:
                # said on the backup by _delete_blob: a previous version stays until its end
                backup.message_post(
                    body=_("Blob deleted by %s; a protected version is left.", self.env.user.name)
                )
                continue
            backup.message_post(body=_("Blob deleted by %s.", self.env.user.name))
        return True

    def action_restore(self):
        """Ask for the new database's name (the wizard checks and queues the restore)."""
        self._check_can_restore()
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Restore Backup"),
            "res_model": "cloud.backup.restore",
            "view_mode": "form",
            "target": "new",
            "context": {"default_backup_id": self.id},
        }

    # -- business methods ----------------------------------------------------------------------------

    def _check_backup_admin(self):
        """A backup is the whole database (every company, the users' password hashes,
        database.secret): taking, reading, deleting or restoring one is for Settings
        administrators only, the people Odoo's database manager trusts. The first
        thing every backup action does, before any remote call."""
        if not self.env.is_system():
            raise AccessError(
                _(
                    "Only Settings administrators may back up, verify, download, delete or restore "
                    "backups: a backup holds the whole database, every company included."
                )
            )
        self._check_can_change()

    def _acting_accounts(self):
        return self.sudo().storage_id.account_id

    def _check_can_restore(self):
        """A restore makes a new database on this server: Settings administrators only."""
        self._check_backup_admin()
        for backup in self:
            if backup.state != "done":
                raise UserError(_("Only a successful backup can be restored."))

    def _queue_restore(self, db_name, neutralize):
        """Check the new database's name and queue the restore (caller checked the rights)."""
        self.ensure_one()
        db_name = self._check_restore_target(db_name)
        if self.restore_state in ("queued", "running"):
            raise UserError(_("A restore of this backup is already under way."))
        backup = self.sudo()
        backup.write(
            {
                "restore_db_name": db_name,
                "restore_neutralize": neutralize,
                "restore_state": "queued",
                "restore_error": False,
                "restore_requested_by": self.env.user.id,
            }
        )
        backup.message_post(
            body=_(
                "Restore into the new database %(name)s requested by %(user)s (%(mode)s).",
                name=db_name,
                user=self.env.user.name,
                mode=_("neutralized") if neutralize else _("not neutralized"),
            )
        )
        self.env.ref("oec_cloud_accounts.ir_cron_backups")._trigger()

    @api.model
    def _check_restore_target(self, db_name):
        """The new database's name, refused when invalid or taken (database or filestore folder),
        or when this server's database manager is off (restoring is one of its functions). Checked
        when the restore is asked for (before anything is downloaded) and again when it starts; the
        restore process's final rename fails if the name was taken meanwhile."""
        if not config["list_db"]:
            raise UserError(
                _(
                    "Restoring uses Odoo's database manager, which this server has turned off "
                    "(list_db = False in its configuration). Turn it on and restart Odoo to restore here, "
                    "or use Download and restore the file on another server."
                )
            )
        db_name = (db_name or "").strip()
        shown = db_name[:100]
        if not DBNAME_RE.match(db_name) or len(db_name.encode()) > DBNAME_MAX_BYTES:
            raise UserError(
                _(
                    "Invalid database name %(name)r: use letters, digits, '_', '-' and '.', starting "
                    "with a letter or a digit, at most 63 characters.",
                    name=shown,
                )
            )
        existing = self._database_named_like(db_name)
        if existing:
            raise UserError(
                _(
                    "A database named %(name)s already exists on this server (%(existing)s; names that "
                    "differ only by case are refused too): restoring never overwrites one, choose another "
                    "name.",
                    name=shown,
                    existing=existing,
                )
            )
        if os.path.exists(config.filestore(db_name)):
            raise UserError(
                _(
                    "A filestore folder for %(name)s already exists (%(path)s), left by a database dropped "
                    "outside Odoo: remove it, or choose another name.",
                    name=shown,
                    path=config.filestore(db_name),
                )
            )
        return db_name

    @api.model
    def _database_named_like(self, db_name):
        """The name of a database of this PostgreSQL server (templates included) equal to
        ``db_name`` ignoring case, or None: asked to pg_database itself, not to the list of
        databases Odoo shows (list_db, dbfilter), and before anything is downloaded."""
        with db_connect("postgres").cursor() as cr:
            cr.execute("SELECT datname FROM pg_database WHERE lower(datname) = lower(%s) LIMIT 1", (db_name,))
            row = cr.fetchone()
        return row[0] if row else None

    def _delete_blob(self, store):
        """Delete this backup's blob if its metadata names this database; state Deleted. Returns
        False, or the end of what Azure still keeps of it (cloud_backup_policy_immutability.py:
        the backup then stays Done)."""
        store.delete(self.blob_name, self.policy_id._owner_metadata())
        self.write({"state": "deleted"})
        return False

    def _error_text(self, error):
        return self.storage_id.account_id._azure_error_message(error, reference=True)

    def _open_form(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }
