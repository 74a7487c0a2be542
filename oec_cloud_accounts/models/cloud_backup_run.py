"""The scheduled action of backups: runs, verifications, restores, retention.

A run streams pg_dump (and the filestore) to a block blob in the cron worker,
outside any transaction: its start and its end are each committed apart. Each
run holds a PostgreSQL advisory lock for its database on a connection of its
own: a second run of the same database cannot take it, and when the Odoo
process dies the connection closes and the lock goes with it, which is how the
next pass tells a dead run (still "running", lock free) from a live one.

A run is "running" in its own dump (its start is committed before pg_dump
reads the database), so a database restored from it, as a copy or as the same
database, holds it "running" with nobody running it. Each start records where it
runs, as PostgreSQL knows the database (_database_identity: a restored database
always has another oid); a run started elsewhere is not failed here, it ends as
"Ran Elsewhere" (its result is in the database it ran in), telling nobody.

Time limits. Odoo stops a scheduled action that runs too long: the threaded
server logs "virtual real time limit reached" and reloads the whole server,
a cron worker (--workers) is killed. So every long step (upload, verification,
restore's download) works to a deadline taken from those limits (time_limit()),
minus a margin: each Azure request gets timeouts and retries that fit in the
time left, and at the deadline the step stops and the run ends Failed, saying
why, with nothing committed. A backup is not resumed in the next run: staged
blocks could be, but pg_dump's output cannot be continued mid-stream, so the
next run starts over (and succeeds once Azure answers, or once the limit is
raised for a database too large to back up within it).

A restore takes as long as it takes, so all of it (download, SHA-256, pg_restore or
psql, the copy's new parameters and neutralization) runs in a process of its own
(services/restore.py), started in a session of its own (a cron worker killed or a
server reload leaves it alone) with a read-only URL of the blob: the step only
starts it. That process holds the restore's advisory lock, restores into a
temporary database renamed at its end, and leaves result.json in its folder; the
next passes of the scheduled action only look at them, and drop what a process
that died left.
"""

import json
import logging
import os
import shutil
import socket
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import psycopg2

import odoo
from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.modules import get_modules
from odoo.modules.neutralize import get_neutralization_queries
from odoo.sql_db import connection_info_for
from odoo.tools import SQL, config, exec_pg_environ, find_pg_tool, format_datetime

from ..services import AzureError
from ..services.blob import (
    BLOCK_SIZE,
    CONCURRENCY,
    META_DATABASE,
    META_FORMAT,
    READ_TIMEOUT,
    SAS_MINUTES,
    Deadline,
    DeadlineReached,
    MiB,
    write_odoo_zip,
    write_pg_custom,
)
from ..services.envelope import DecryptingSink, EnvelopeError, EnvelopeReader, private_key_pem
from ..services.errors import KIND_TRANSIENT, STORAGE
from ..services.restore import TEMP_PREFIX, drop_leftovers, start_restore_process
from ..services.storage import supports_tiers
from .cloud_job_mixin import job_deadline, time_limit

_logger = logging.getLogger(__name__)

# pg_advisory_lock(classid, objid): the class says what is locked, objid which one
LOCK_BACKUP = 0x0EC0  # objid: hashtext(database name)
LOCK_VERIFY = 0x0EC1  # objid: backup id
LOCK_RESTORE = 0x0EC2  # objid: backup id
BLOCK_PARAM = "oec_cloud_accounts.backup_block_kib"
VERIFY_EVERY = timedelta(days=7)
# pg_restore's --jobs for a custom dump (1: streamed into pg_restore, no staging file; see the README's
# performance section for why)
RESTORE_JOBS = 1
# the share of Odoo's time limit kept for what comes after a step (recording it, the next job)
MIN_START = 10  # seconds left needed to start a run; else it waits for the next pass
MAX_ROWS = 1000  # rows of one kind looked at in one pass (policies, runs to check)
# a backup or verification Azure could not serve (busy, failing, out of reach) is tried this many
# times more, after Azure's Retry-After or a growing wait (cloud_job_mixin.backoff), before it fails
TRANSIENT_TRIES = 3


@contextmanager
def advisory_lock(dbname, classid, objid):
    """Try a session-level advisory lock on a private connection; yields whether
    it was taken. The lock lives as long as that connection: to the end of the
    block, or of the process."""
    _name, params = connection_info_for(dbname)
    conn = psycopg2.connect(**params)
    try:
        conn.autocommit = True
        with conn.cursor() as cr:
            if isinstance(objid, str):
                cr.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (classid, objid))
            else:
                cr.execute("SELECT pg_try_advisory_lock(%s, %s)", (classid, objid))
            yield cr.fetchone()[0]
    finally:
        conn.close()


class CloudBackup(models.Model):
    # a concern file of cloud.backup, named in ARCHITECTURE.md
    _inherit = "cloud.backup"  # pylint: disable=consider-merging-classes-inherited

    # -- scheduled action ----------------------------------------------------------------------------

    @api.model
    def _cron_run(self, batch_size=100):
        """Everything due, each item isolated: a failure is recorded on its record and the others go on.
        Everything works to this job's deadline (see time_limit)."""
        self.with_context(oec_backup_deadline=job_deadline())._cron_run_due(batch_size)

    @api.model
    def _cron_run_due(self, batch_size):
        """The jobs of backups, each row in a transaction of its own (cloud.job.mixin)."""
        jobs = self.env["cloud.job.mixin"]
        # what acts through an account that needs Reconnect waits for it, untried (queued runs too)
        connected = jobs._job_account_active(through_storage=True)
        deadline = self._deadline()
        # no run starts with less than MIN_START seconds left: the next pass takes it
        until = deadline.at - MIN_START
        kinds = (("state", "backup"), ("verify_state", "verify"), ("restore_state", "restore"))
        for field, _kind in kinds:
            jobs._job_run_due(
                self._name,
                SQL("%s = 'running'", SQL.identifier(field)),
                SQL("id"),
                "dead-run check",
                lambda backup, field=field: backup._fail_if_dead(field),
                MAX_ROWS,
            )
        now = fields.Datetime.now()
        jobs._job_run_due(
            "cloud.backup.policy",
            SQL("active AND scheduled AND next_run_at <= %s AND %s", now, connected),
            SQL("next_run_at, id"),
            "scheduled backup",
            lambda policy: policy._queue_scheduled(now),
            MAX_ROWS,
        )
        jobs._job_run_due(
            "cloud.backup.policy",
            SQL("active AND %s", connected),
            SQL("id"),
            "weekly verification",
            partial(self._queue_verification, limit=now - VERIFY_EVERY),
            MAX_ROWS,
        )
        waited = SQL("(next_run_at IS NULL OR next_run_at <= %s)", fields.Datetime.now())
        for field, kind in kinds:
            jobs._job_run_due(
                self._name,
                SQL(
                    "%s = 'queued' AND %s AND %s",
                    SQL.identifier(field),
                    connected,
                    SQL("TRUE") if kind == "restore" else waited,
                ),
                SQL("id"),
                kind,
                lambda backup, kind=kind: getattr(backup, "_do_" + kind)(),
                batch_size,
                until=until,
                # a run commits its start: a failure goes back to it, not to a savepoint
                savepoint=False,
            )
        # after the runs: a backup that just landed is not overdue (cloud_backup_policy_alert.py)
        jobs._job_run_due(
            "cloud.backup.policy",
            self.env["cloud.backup.policy"]._alert_overdue_condition(fields.Datetime.now(), connected),
            SQL("overdue_since, id"),
            "overdue check",
            lambda policy: policy._alert_overdue(fields.Datetime.now()),
            MAX_ROWS,
        )
        jobs._job_run_due(
            "cloud.backup.policy",
            SQL(
                "active AND id IN (SELECT policy_id FROM cloud_backup WHERE state = 'done') AND %s", connected
            ),
            SQL("id"),
            "retention",
            lambda policy: policy._apply_retention(),
            MAX_ROWS,
            until=until,
        )
        if time.time() >= until:
            # too little time left in this pass: the next one goes on (triggered at once)
            _logger.info("cloud.backup: %.0f s left, the rest is for the next pass", deadline.left())
            self.env.ref("oec_cloud_accounts.ir_cron_backups")._trigger()

    def _deadline(self):
        """The Deadline of this scheduled action's long work (or of this request)."""
        return Deadline(
            self.env.context.get("oec_backup_deadline") or job_deadline(cron=False),
            max_read=self.env["cloud.azure.environment"]._timeout(set_only=True) or READ_TIMEOUT,
        )

    def _job_account(self):
        # only work not started waits for the account (its storage key is read with the account's
        # sign-in before anything starts); a started run ends Failed, saying why
        if "queued" in (self.state, self.verify_state, self.restore_state):
            return self.storage_id.account_id
        return self.env["cloud.account"]

    def _job_on_hold(self, account, error):
        """A run that failed on its account's sign-in or rights (now the account's state)
        stays queued, saying why, and starts once the account is active again."""
        note = self.env["cloud.job.mixin"]._job_hold_note(account, error)
        values = {}
        if self.state == "queued":
            values["error"] = note
        if self.restore_state == "queued":
            values["restore_error"] = note
        if note not in (self.error, self.restore_error):
            self._message_log(body=note)
        self.write(values)

    def _job_record_failure(self, error, what):
        """A failed backup, verification or restore is Failed, saying why (the account's own
        failures wait for it instead: cloud.job.mixin). The checks around them (dead runs)
        are only logged (by cloud.job.mixin), and tried again at the next pass."""
        if what in ("backup", "verify") and self._try_again_later(error, what):
            return
        if what in ("backup", "verify", "restore"):
            self._record_failure(what, self._describe(error))

    def _try_again_later(self, error, what):
        """A backup or verification Azure could not serve (a transient failure: 429, 5xx, a
        timeout, a connection lost) is queued again for after Azure's Retry-After or a growing
        wait, TRANSIENT_TRIES times at most: a throttled storage account is no failed backup,
        and raises no alert. False when it must fail now."""
        if not isinstance(error, AzureError) or error.kind != KIND_TRANSIENT:
            return False
        if self.retry_count >= TRANSIENT_TRIES:
            return False
        message = self._describe(error)
        self.write({"state" if what == "backup" else "verify_state": "queued"})
        # the job mixin's one way: the message, the count, Retry-After or the backoff
        self._job_retry_later(error, message)
        self._message_log(
            body=_(
                "%(what)s: Azure could not serve it (%(error)s). It is tried again at %(at)s "
                "(new try %(attempt)s of %(tries)s).",
                what=_("Backup") if what == "backup" else _("Verification"),
                error=message,
                at=format_datetime(self.env, self.next_run_at),
                tries=TRANSIENT_TRIES,
                attempt=self.retry_count,
            )
        )
        self.env.ref("oec_cloud_accounts.ir_cron_backups")._trigger(self.next_run_at)
        return True

    # -- backup run ----------------------------------------------------------------------------------

    def _do_backup(self):
        with advisory_lock(self.env.cr.dbname, LOCK_BACKUP, self.env.cr.dbname) as locked:
            if not locked:
                # another worker runs a backup of this database: stay queued for a later pass
                _logger.info("cloud.backup %s: another backup of %s is running", self.id, self.database)
                return
            now = fields.Datetime.now()
            self.write(
                {
                    **self._encryption_start(),
                    "state": "running",
                    # the database this runs in: a backup queued before a dump that ends up in a
                    # copy is of the copy, never of the database it was queued in
                    "database": self.env.cr.dbname,
                    "started_at": now,
                    "runner": "%s:%s" % (socket.gethostname(), os.getpid()),
                    "database_identity": self._database_identity(),
                    "blob_name": self._make_blob_name(now),
                }
            )
            # everything read from the database first: no transaction stays open while streaming
            stream = self._prepare_stream()
            self.env.cr.commit()  # pylint: disable=invalid-commit
            result, seconds = stream()
            size = result["size"]
            self.write(
                {
                    "state": "done",
                    "retry_count": 0,
                    "next_run_at": False,
                    "last_error": False,
                    "finished_at": fields.Datetime.now(),
                    "duration": seconds,
                    "size": size,
                    "throughput": size / MiB / seconds if seconds else 0,
                    "sha256": result["sha256"],
                    "blocks": result["blocks"],
                    "manifest": json.dumps(result["manifest"]) if result.get("manifest") else False,
                    "error": False,
                    # naive UTC, as Odoo keeps datetimes
                    "immutable_until": result["immutable_until"]
                    and result["immutable_until"].replace(tzinfo=None),
                    "immutability_mode": result["immutability_mode"],
                    "plain_sha256": result.get("plain_sha256"),
                    "plain_size": result.get("plain_size", 0),
                }
            )
            self.message_post(
                body=_(
                    "Backup written to %(blob)s: %(size)s in %(seconds)s s, SHA-256 %(sha)s.",
                    blob=self.blob_name,
                    size=self.size_display,
                    seconds=round(seconds, 1),
                    sha=result["sha256"],
                )
            )
            if self.immutable_until:
                self.message_post(
                    body=_(
                        "Immutable until %(until)s (%(mode)s): nobody can delete or change this backup "
                        "before.",
                        until=format_datetime(self.env, self.immutable_until),
                        mode=self.immutability_mode,
                    )
                )
            self.policy_id._alert_isolated("_backup_landed", self)

    def _prepare_stream(self):
        """A function that streams pg_dump (and the filestore) to the block blob and
        returns (result, seconds), touching no cursor: what it needs is read now."""
        store = self.storage_id._blob_store()
        deadline = store.deadline = self._deadline()
        policy = self.policy_id
        metadata = dict(
            policy._owner_metadata(), **{META_DATABASE: self.database, META_FORMAT: self.backup_format}
        )
        cmd = [find_pg_tool("pg_dump"), "--no-owner", self.database]
        env = exec_pg_environ()
        manifest = None
        if self.backup_format == "zip":
            manifest = self._manifest()
            filestore = config.filestore(self.database)

            def produce(out):
                write_odoo_zip(out, cmd, env, filestore, manifest, deadline)

        else:
            cmd.insert(-1, "--format=c")

            def produce(out):
                write_pg_custom(out, cmd, env, deadline)

        # an encrypted run writes through the encryptor (cloud_backup_encryption.py), inside the
        # dump's snapshot, where the manifest (installed modules, rows of the main tables) is read
        sealed = {}
        produce = self._encrypting(produce, metadata, sealed)
        produce, recorded = self._in_dump_snapshot(produce, cmd, metadata, manifest)
        name, block_size = self.blob_name, self._block_size()
        # a premium or general-purpose v1 account takes no access tier: its blobs go without one
        kind = self.storage_id.kind
        tier = self.tier if not kind or supports_tiers(kind) else None
        # immutable backups: the container's support is read from Azure first (raises without it)
        immutability = policy._immutability()

        def stream():
            started = time.monotonic()
            result = store.upload(
                name,
                produce,
                metadata=metadata,
                tier=tier,
                block_size=block_size,
                concurrency=CONCURRENCY,
                immutability=immutability,
            )
            result["manifest"] = recorded.get("manifest")
            return dict(result, **sealed), max(time.monotonic() - started, 0.001)

        return stream

    def _manifest(self):
        """manifest.json as Odoo's database manager writes it (db.dump_db_manifest, which
        is behind the database manager's list_db switch: backups are not)."""
        self.env.cr.execute("SELECT name, latest_version FROM ir_module_module WHERE state = 'installed'")
        modules = dict(self.env.cr.fetchall())
        return {
            "odoo_dump": "1",
            "db_name": self.database,
            "version": odoo.release.version,
            "version_info": odoo.release.version_info,
            "major_version": odoo.release.major_version,
            "pg_version": "%d.%d" % divmod(self.env.cr._cnx.server_version / 100, 100),
            "modules": modules,
        }

    def _make_blob_name(self, now):
        extension = "zip" if self.backup_format == "zip" else "dump"
        if self.policy_id.encrypt_backups:
            extension += ".enc"  # ciphertext: no tool takes it for a zip or a dump
        return "%s%s/%s_%s_%s.%s" % (
            self.policy_id._blob_prefix(),
            now.strftime("%Y"),
            self.database,
            now.strftime("%Y-%m-%d_%H-%M-%S"),
            self.id,
            extension,
        )

    def _block_size(self):
        value = self.env["ir.config_parameter"].sudo().get_param(BLOCK_PARAM)
        return int(value) * 1024 if value and value.isdigit() and int(value) >= 64 else BLOCK_SIZE

    def _fail_if_dead(self, field="state"):
        """Failed if the lock its runner held is free: the runner is gone. Started in another
        database (this one was restored from a dump taken meanwhile): ended as such."""
        kind, classid, key = {
            "state": ("backup", LOCK_BACKUP, self.database),
            "verify_state": ("verify", LOCK_VERIFY, self.id),
            "restore_state": ("restore", LOCK_RESTORE, self.id),
        }[field]
        if self.database_identity and self.database_identity != self._database_identity():
            self._end_elsewhere(kind)
            return
        with advisory_lock(self.env.cr.dbname, classid, key) as free:
            if not free:
                return
            if kind == "restore" and self.restore_job:
                self._collect_restore()
                return
            if kind == "backup":
                message = _(
                    "The Odoo process running this backup (%(runner)s) stopped before it ended "
                    "(restart, crash, or a time limit): nothing was committed in Azure. Back up again.",
                    runner=self.runner or "?",
                )
            else:
                message = _("The Odoo process doing this stopped before it ended: ask again.")
            self._record_failure(kind, message)

    # each week, the newest successful backup of each policy is read back and checked

    @api.model
    def _queue_verification(self, policy, limit):
        # two small queries, not a read of the policy's every run (every pass, for every policy)
        newest = policy._newest_good_backup()
        if not newest or newest.verify_state in ("queued", "running"):
            return
        if policy.alert_state == "verify_failed" and not newest.verify_state:
            # a verification failed: the next good backup is verified at once (it clears the alert)
            newest.verify_state = "queued"
            return
        [(last,)] = self._read_group(
            [("policy_id", "=", policy.id), ("verified_at", "!=", False)], [], ["verified_at:max"]
        )
        if not last or last <= limit:
            newest.verify_state = "queued"

    def _do_verify(self):
        with advisory_lock(self.env.cr.dbname, LOCK_VERIFY, self.id) as locked:
            if not locked:
                return
            store = self.storage_id._blob_store()
            store.deadline = self._deadline()
            self.write({"verify_state": "running", "database_identity": self._database_identity()})
            self.env.cr.commit()  # pylint: disable=invalid-commit # nothing is read from the database while the blob downloads
            # an encrypted blob's structure is checked as it is read (no key: its content is not)
            envelope = EnvelopeReader() if self.encrypted else None
            broken = None
            try:
                result = store.download(self.blob_name, out=DecryptingSink(envelope) if envelope else None)
            except EnvelopeError as error:
                result, broken = None, self._envelope_message(error)
            if envelope and not broken:
                broken = self._check_envelope(envelope)
            if broken:
                self._record_failure("verify", broken)
                return
            stored = {k.lower(): v for k, v in result["metadata"].items()}.get("oec_sha256")
            self.write(
                {
                    "verify_state": "done",
                    "verified_at": fields.Datetime.now(),
                    "retry_count": 0,
                    "next_run_at": False,
                    "last_error": False,
                }
            )
            if result["sha256"] == self.sha256 and stored == self.sha256 and result["size"] == self.size:
                if envelope:
                    said = _(
                        "Verified: the blob's SHA-256 matches (%(sha)s) and it is a whole encrypted "
                        "backup (%(chunks)s chunks). Its content is checked with the private key: "
                        "Verify with Key.",
                        sha=self.sha256,
                        chunks=envelope.chunks,
                    )
                else:
                    said = _("Verified: the blob's SHA-256 matches (%s).", self.sha256)
                self.message_post(body=said)
                self.policy_id._alert_isolated(
                    "_record_verified", self.verified_at, _("the backup %s was verified", self.display_name)
                )
                return
            self._record_failure("verify", self._blob_mismatch(result))

    def _blob_mismatch(self, result):
        """The words of a blob read back (``result`` of BlobStore.download) that is not the one written."""
        return _(
            "The blob does not match the backup: SHA-256 %(got)s (%(size)s bytes) read back, "
            "%(want)s (%(want_size)s bytes) written. Do not rely on this backup: back up again.",
            got=result["sha256"],
            size=result["size"],
            want=self.sha256,
            want_size=int(self.size),
        )

    # -- restore --------------------------------------------------------------------------------------

    def _do_restore(self, private_key=None):
        """Start the restore process. An encrypted backup's needs ``private_key`` (a loaded key, from
        the request of the person who gave it: cloud_backup_encryption.py), passed on its stdin."""
        if self.encrypted and private_key is None:
            # queued without its key (the key is never kept): only the person who has it can restore
            self._record_failure(
                "restore",
                _("This backup is encrypted: restore it with Restore, giving the private key."),
            )
            return
        with advisory_lock(self.env.cr.dbname, LOCK_RESTORE, self.id) as locked:
            if not locked:
                return
            # checked when asked; again now, things may have changed meanwhile (and once more by
            # the restore process, whose database gets this name only at its end)
            name = self._check_restore_target(self.restore_db_name)
            url = self._restore_read_url()
            # its folder (and so its temporary database's name) committed with "running", before the
            # process starts: Odoo killed at any point from here, the next pass finds what it left
            # (a process still restoring, which it waits for, or leftovers, which it drops)

            def params_of(workdir):
                params = self._restore_params(workdir, url, name)
                if private_key is not None:
                    # on the process's stdin only (never its command line, environment, log or database)
                    params["private_key"] = private_key_pem(private_key)
                return params

            self._start_in_workdir(
                params_of,
                lambda workdir: {
                    "restore_state": "running",
                    "restore_job": workdir,
                    "database_identity": self._database_identity(),
                },
            )
            self.message_post(
                body=_(
                    "Restoring into the new database %s: the backup is downloaded, checked against its "
                    "SHA-256 and restored by a process of its own.",
                    name,
                )
            )
        # leaving the block frees our lock, which goes to the restore process waiting for it

    def _restore_params(self, workdir, url, name, neutralize=None):
        """What the restore process needs (services/restore.py), given on its stdin;
        ``neutralize``: whether to neutralize the copy (None: as the restore was asked)."""
        temp = os.path.basename(workdir)
        neutralize = self.restore_neutralize if neutralize is None else neutralize
        queries = self._neutralize_queries() if neutralize else None
        pg_env = {key: value for key, value in exec_pg_environ().items() if key.startswith("PG")}
        return {
            "url": url,
            "ca_bundle": self.env["cloud.azure.environment"]._ca_bundle(),
            "backoff": self.env["cloud.azure.environment"]._retry_backoff(),
            "sha256": self.sha256,
            "format": self.backup_format,
            "jobs": RESTORE_JOBS,
            "db": name,
            "temp_db": temp,
            "filestore": config.filestore(name),
            "temp_filestore": config.filestore(temp),
            "db_template": config["db_template"],
            "unaccent": bool(config["unaccent"]),
            "http_port": config["http_port"],
            "connect": connection_info_for("postgres")[1],
            "pg_env": pg_env,
            "pg_restore": find_pg_tool("pg_restore"),
            "psql": find_pg_tool("psql"),
            "neutralize": queries,
            "lock": {"db": self.env.cr.dbname, "classid": LOCK_RESTORE, "objid": self.id},
            # an encrypted backup: what its content must hash to (the key itself is added at the start)
            "plain_sha256": self.plain_sha256 if self.encrypted else None,
            "cron_id": self.env.ref("oec_cloud_accounts.ir_cron_backups").id,
            # its log goes where this server's goes
            "logfile": config.get("logfile") or None,
        }

    @api.model
    def _neutralize_queries(self):
        """Each module's data/neutralize.sql on this server's addons path: the restore process
        runs those of the restored database's installed modules (odoo.modules.neutralize)."""
        return {module: query for module in get_modules() for query in get_neutralization_queries([module])}

    def _restore_read_url(self):
        """A read-only URL of this backup's blob for the restore process to download with, long
        enough for a slow download (each request is signed anew). Signing it asks Azure for a user
        delegation key when blobs are reached with a Microsoft Entra token: within the job's
        deadline."""
        store = self.storage_id._blob_store()
        store.deadline = self._deadline()
        return store.read_url(self.blob_name, minutes=SAS_MINUTES + int(self.size or 0) // (60 * MiB))

    def _start_in_workdir(self, params_of, running_of):
        """Start the restore process in a new working folder (removed if it does not start) with
        ``params_of(workdir)``; returns the folder. ``running_of(workdir)``: the values written
        and committed before the process starts, the folder among them, so that Odoo killed from
        there on leaves a record whose next pass finds the folder (a process still at work, which
        it waits for, or leftovers, which it drops)."""
        workdir = tempfile.mkdtemp(prefix=TEMP_PREFIX)
        self.write(running_of(workdir))
        self.env.cr.commit()  # pylint: disable=invalid-commit # the restore process starts from here
        try:
            self._start_restore_process(params_of(workdir), workdir)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return workdir

    def _start_restore_process(self, params, workdir):
        """Start the restore process, and wait until it waits for the lock of ``params``."""
        proc = start_restore_process(params, workdir)
        deadline = self._deadline()
        while proc.poll() is None:
            self.env.cr.execute(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s "
                "AND objsubid = 2 AND NOT granted",
                (params["lock"]["classid"], params["lock"]["objid"]),
            )
            if self.env.cr.fetchone():
                return proc
            if deadline.left() <= 0:
                proc.kill()
                raise DeadlineReached("the restore process")
            time.sleep(0.05)  # our own process starting, not Azure
        raise UserError(
            _(
                "The restore process stopped at its start (exit code %s): see the server's log.",
                proc.returncode,
            )
        )

    def _collect_restore(self):
        """The restore process is gone (its lock is free): keep what it left. A process that
        died left its temporary database and filestore: dropped."""
        path = os.path.join(self.restore_job, "result.json")
        try:
            with open(path) as handle:
                result = json.load(handle)
        except (OSError, ValueError):
            result = {"ok": False, "error": _("The restore process stopped before it ended: ask again.")}
        if not result.get("ok"):
            temp = os.path.basename(self.restore_job)
            try:
                drop_leftovers(connection_info_for("postgres")[1], temp, config.filestore(temp))
            except (ValueError, psycopg2.Error) as error:
                _logger.warning(
                    "cloud.backup %s: the restore's temporary database %s: %s", self.id, temp, error
                )
        shutil.rmtree(self.restore_job, ignore_errors=True)
        self.restore_job = False
        if result.get("ok"):
            self.write({"restore_state": "done", "restore_error": False})
            self.message_post(body=_("Restored into the new database %s.", self.restore_db_name))
        else:
            self._record_failure("restore", self._restore_failure(result))

    def _restore_failure(self, result):
        """What result.json's failure says, in words."""
        code = result.get("code")
        if code == "sha256":
            return _(
                "The blob does not match the backup (SHA-256 %(got)s, %(want)s written): "
                "nothing was restored.",
                got=result.get("got"),
                want=self.sha256,
            )
        if code == "exists":
            # the name was taken while restoring: said as when the restore is asked for
            try:
                self._check_restore_target(self.restore_db_name)
            except UserError as error:
                return str(error)
        if code == "envelope":
            # the envelope's failure (wrong key, changed or cut blob): nothing was restored
            error = EnvelopeError(
                result.get("envelope"), result.get("error") or "", **result.get("values", {})
            )
            return _("%s Nothing was restored.", self._envelope_message(error))
        if code == "plain_sha256":
            return _(
                "The decrypted content does not match the backup (SHA-256 %(got)s, %(want)s written): "
                "nothing was restored.",
                got=result.get("got"),
                want=self.plain_sha256,
            )
        if code == "azure":
            # Azure's answer to the restore process's download, worded as this server's own calls'
            if result.get("network"):
                # as AzureError.network() words it, with the kind the restore process met
                error = AzureError(
                    "network", code="NetworkError", kind=KIND_TRANSIENT, params={"error": result["network"]}
                )
            else:
                error = AzureError.from_arm(
                    result.get("status"),
                    result.get("azure_code") or "HttpError",
                    result.get("detail"),
                    STORAGE,
                    retry_after=result.get("retry_after"),
                    values={
                        "account": self.storage_id.storage_account,
                        "container": self.storage_id.container,
                    },
                )
            # worded for a person (try again, not "it will be retried": nothing retries a restore)
            message = self.storage_id.account_id._azure_error_message(error, reference=True, dialog=True)
            return _("%s Nothing was restored.", message)
        if code == "tool":
            return "%s (exit code %s): %s" % (
                result.get("tool"),
                result.get("exit"),
                result.get("error") or "-",
            )
        return result.get("error") or "?"

    # -- runs caught in progress by a copy of the database --------------------------------------------

    def _database_identity(self):
        """This database as PostgreSQL knows it: the cluster's system identifier (when this
        role may read it) and the database's oid. A database made from a dump always has
        another oid (and, on another server, another identifier), whether it was restored as a
        copy or as the same database; a renamed one keeps it."""
        cr = self.env.cr
        cr.execute(
            "SELECT oid, has_function_privilege('pg_control_system()', 'EXECUTE') "
            "FROM pg_database WHERE datname = current_database()"
        )
        oid, readable = cr.fetchone()
        system = ""
        if readable:
            cr.execute("SELECT system_identifier FROM pg_control_system()")
            system = cr.fetchone()[0]
        return "%s/%s" % (system, oid)

    def _end_elsewhere(self, kind):
        """A run the dump of this database caught in progress: it ran in the original
        database, which records its result. It ends here, truthfully: no failure, no activity,
        no mail, and nothing touched outside this database (the original's restore folder)."""
        if kind == "backup":
            self.write({"state": "elsewhere"})
            body = _(
                "This backup was in progress in the database %(database)s when this database was copied "
                "from it: it ran there, and its result (the blob, its size and SHA-256) is recorded there, "
                "not here.",
                database=self.database,
            )
        elif kind == "verify":
            self.write({"verify_state": False})
            body = _(
                "A verification of this backup was in progress in the database %(database)s when this "
                "database was copied from it: its result is recorded there, not here.",
                database=self.database,
            )
        else:
            self.write({"restore_state": False, "restore_job": False})
            body = _(
                "A restore of this backup into %(name)s was in progress in the database %(database)s when "
                "this database was copied from it: its result is recorded there, not here.",
                name=self.restore_db_name,
                database=self.database,
            )
        self._message_log(body=body)

    # -- failures ------------------------------------------------------------------------------------

    def _record_failure(self, kind, message):
        """Keep what failed on the record and say it in its chatter; a failed backup or verification
        raises the policy's alert, which tells its responsible once (cloud_backup_policy_alert.py),
        not at each failure. Never raises."""
        if kind == "backup":
            message = "%s %s" % (
                message,
                _("No blob was committed: the blocks already sent expire in Azure within 7 days."),
            )
        values = {
            "backup": {"state": "failed", "error": message, "finished_at": fields.Datetime.now()},
            "verify": {"verify_state": "failed", "verified_at": fields.Datetime.now()},
            "restore": {"restore_state": "failed", "restore_error": message, "restore_job": False},
        }[kind]
        if kind != "restore":
            values.update(retry_count=0, next_run_at=False, last_error=False)
        self.write(values)
        titles = {
            "backup": _("Backup failed"),
            "verify": _("Backup verification failed"),
            "restore": _("Restore failed"),
        }
        self.message_post(body=_("%(title)s: %(message)s", title=titles[kind], message=message))
        if kind == "backup":
            self.policy_id._alert_isolated(
                "_alert_raise",
                "backup_failed",
                _("The backup %(name)s failed: %(message)s", name=self.name, message=message),
            )
        elif kind == "verify":
            self.policy_id._alert_isolated(
                "_alert_raise",
                "verify_failed",
                _(
                    "The verification of the backup %(name)s failed: %(message)s",
                    name=self.name,
                    message=message,
                ),
            )

    def _describe(self, error):
        if isinstance(error, DeadlineReached):
            return self._deadline_message(error)
        if isinstance(error, AzureError):
            return self._error_text(error)
        return str(error) or type(error).__name__

    @api.model
    def _deadline_message(self, error):
        limit = time_limit()
        return _(
            "Stopped while waiting for %(step)s: this server lets a scheduled action run %(limit)s "
            "(limit_time_real_cron, limit_time_real, limit_time_cpu), and the work must end well before. "
            "Either Azure did not answer in time, or the work takes longer than that: then raise "
            "limit_time_real_cron (and limit_time_cpu with --workers) in the server configuration.",
            step=error.step,
            limit=_("%s s", limit) if limit else _("without limit"),
        )
