"""Backups against the emulator + Azurite: real pg_dump, real azure-storage-blob
calls, real restores by Odoo's database manager code."""

import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from datetime import datetime, timedelta
from types import MappingProxyType
from unittest.mock import patch

import psycopg2
import requests
from psycopg2 import sql

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError, ValidationError
from odoo.modules.registry import Registry
from odoo.sql_db import close_db, connection_info_for
from odoo.tests import TransactionCase, tagged
from odoo.tools import config, exec_pg_environ, find_pg_tool, mute_logger

from odoo.addons.base.models import ir_config_parameter

from ..models import cloud_job_mixin
from ..models.cloud_backup_run import LOCK_BACKUP, TRANSIENT_TRIES, advisory_lock
from ..models.cloud_job_mixin import time_budget, time_limit
from ..services.blob import META_DB_UUID, META_SHA256, Deadline, DeadlineReached
from ..services.restore import COPY_PARAMETERS, TEMP_PREFIX
from .backup_common import CONTAINER, RG, STORAGE_ACCOUNT, BackupMixin, block_id_pattern


def table_counts(dbname):
    """{table: rows} of every table of the public schema, read on a connection of its own
    (what is committed, as pg_dump sees it)."""
    _name, params = connection_info_for(dbname)
    conn = psycopg2.connect(**params)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
            tables = [row[0] for row in cr.fetchall()]
            counts = {}
            for table in tables:
                cr.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
                counts[table] = cr.fetchone()[0]
            return counts
    finally:
        conn.close()


def on_postgres(query):
    """Run ``query`` (CREATE or DROP DATABASE) on the server's postgres database, outside a
    transaction, on a connection of its own."""
    _name, params = connection_info_for("postgres")
    conn = psycopg2.connect(**params)
    try:
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(query)
    finally:
        conn.close()


def create_database(name):
    """An empty database ``name`` on this server, as something else (not Odoo) would make it."""
    on_postgres(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))


def drop_database(name):
    """Drop a database made by a test (exp_drop only sees the -d database in tests), and its filestore."""
    Registry.delete(name)
    close_db(name)
    on_postgres(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    shutil.rmtree(config.filestore(name), ignore_errors=True)


def file_hashes(root):
    hashes = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                hashes[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return hashes


@tagged("post_install", "-at_install")
class TestBackupRun(BackupMixin, TransactionCase):
    @staticmethod
    def last_message(record):
        """The newest message with a body (tracking messages have none)."""
        return next((m.body for m in record.message_ids if m.body), "")

    def backup_now(self, policy):
        action = policy.action_backup_now()
        backup = self.env["cloud.backup"].browse(action["res_id"])
        self.assertEqual(backup.state, "queued")
        self.run_cron()
        return backup

    def test_zip_backup_restored_identical(self):
        policy = self.make_policy(backup_format="zip", tier="Cool")
        # an attachment in the filestore, so the zip carries more than the assets
        self.env["ir.attachment"].create({"name": "note.txt", "raw": os.urandom(300000)})
        backup = self.backup_now(policy)
        self.assertEqual(backup.state, "done", backup.error)
        self.assertTrue(backup.blob_name.startswith(self.env.cr.dbname + "/"))
        self.assertGreater(backup.blocks, 1, "256 KiB blocks: the upload was staged in pieces")
        props = self.blobs.get_blob_client(backup.blob_name).get_blob_properties()
        self.assertEqual(props.size, backup.size)
        self.assertEqual(props.metadata[META_SHA256], backup.sha256)
        self.assertEqual(
            props.metadata[META_DB_UUID],
            self.env["ir.config_parameter"].sudo().get_param("database.uuid"),
        )
        self.assertEqual(props.blob_tier, "Cool")
        content = self.blobs.get_blob_client(backup.blob_name).download_blob().readall()
        self.assertEqual(hashlib.sha256(content).hexdigest(), backup.sha256)
        with zipfile.ZipFile(__import__("io").BytesIO(content)) as archive:
            names = archive.namelist()
            self.assertIn("dump.sql", names)
            self.assertIn("manifest.json", names)
            self.assertTrue(any(name.startswith("filestore/") for name in names))
        self.assertIn("Backup written to", self.last_message(backup))

        # restore into a new database, through the wizard and the scheduled action
        target = "%s-restored-test" % self.env.cr.dbname
        drop_database(target)  # left by a run that was killed
        self.addCleanup(drop_database, target)
        wizard = self.env["cloud.backup.restore"].with_context(default_backup_id=backup.id).create({})
        self.assertTrue(wizard.neutralize, "neutralized by default")
        wizard.db_name = target
        wizard.action_confirm()
        self.assertEqual(backup.restore_state, "queued")
        with self.assertRaises(UserError):  # never twice at once
            backup._queue_restore(target + "x", True)
        started = time.monotonic()
        self.run_cron()
        self.assertLess(time.monotonic() - started, 60, "the scheduled action does not wait for the restore")
        self.assertEqual(backup.restore_state, "running", backup.restore_error)
        self.assertTrue(backup.restore_job)
        self.wait_restore(backup)
        self.assertEqual(backup.restore_state, "done", backup.restore_error)
        self.assertFalse(backup.restore_job)
        original, restored = table_counts(self.env.cr.dbname), table_counts(target)
        # by design the copy differs there: a new uuid and the neutralization flag (parameters),
        # and the neutralization's dummy outgoing mail server
        for table in ("ir_config_parameter", "ir_mail_server"):
            original.pop(table)
            restored.pop(table)
        # the restore process woke the scheduled action up when it ended (a committed trigger)
        self.assertGreaterEqual(original.pop("ir_cron_trigger"), 1)
        restored.pop("ir_cron_trigger")
        differences = {
            t: (original.get(t), restored.get(t))
            for t in set(original) | set(restored)
            if original.get(t) != restored.get(t)
        }
        self.assertEqual(differences, {})
        self.assertEqual(
            file_hashes(config.filestore(target)), file_hashes(config.filestore(self.env.cr.dbname))
        )
        _name, params = connection_info_for(target)
        conn = psycopg2.connect(**params)
        try:
            with conn.cursor() as cr:
                cr.execute("SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'")
                self.assertEqual(cr.fetchone()[0].lower(), "true")
        finally:
            conn.close()
        # an existing database is never overwritten
        with self.assertRaises(UserError):
            backup._queue_restore(target, True)
        with self.assertRaises(UserError):
            backup._queue_restore("bad name!", True)
        # nor a filestore folder left by a database dropped outside Odoo
        drop_database(target)
        os.makedirs(config.filestore(target))
        with self.assertRaisesRegex(UserError, "filestore"):
            backup._queue_restore(target, True)
        # nor on a server whose database manager is off (restore_db would refuse it in the cron)
        with patch.dict(config.options, list_db=False), self.assertRaisesRegex(UserError, "list_db"):
            backup._queue_restore(target + "-2", True)

    def test_restore_of_a_wrong_blob_leaves_no_database(self):
        """The restore process checks the SHA-256 once the blob has gone through pg_restore: a
        mismatch drops what it made (a temporary database, never under the requested name)."""
        backup = self.backup_now(self.make_policy(backup_format="dump"))
        self.assertEqual(backup.state, "done", backup.error)
        written = backup.sha256
        backup.sudo().sha256 = "0" * 64  # the record no longer matches the blob
        target = "%s-restored-wrong" % self.env.cr.dbname
        drop_database(target)
        self.addCleanup(drop_database, target)
        backup._queue_restore(target, True)
        self.run_cron()
        self.assertEqual(backup.restore_state, "running", backup.restore_error)
        temp = os.path.basename(backup.restore_job)
        self.addCleanup(drop_database, temp)
        self.wait_restore(backup)
        self.assertEqual(backup.restore_state, "failed")
        self.assertIn("does not match the backup (SHA-256 %s" % written, backup.restore_error)
        self.assertIn("nothing was restored", backup.restore_error)
        for name in (target, temp):
            self.assertFalse(backup._database_named_like(name), "%s was dropped" % name)
            self.assertFalse(os.path.exists(config.filestore(name)))

    def test_dead_restore_process_leftovers_dropped(self):
        """A restore process that died (no result.json, its lock free) left its temporary
        database and filestore: the next pass drops them and fails the restore."""
        backup = self.backup_now(self.make_policy(backup_format="dump"))
        workdir = tempfile.mkdtemp(prefix=TEMP_PREFIX)
        self.addCleanup(shutil.rmtree, workdir, ignore_errors=True)
        temp = os.path.basename(workdir)
        self.addCleanup(drop_database, temp)
        create_database(temp)
        os.makedirs(os.path.join(config.filestore(temp), "ab"))
        with open(os.path.join(config.filestore(temp), "ab", "half"), "wb") as handle:
            handle.write(b"half a filestore")
        backup.sudo().write(
            {
                "restore_state": "running",
                "restore_db_name": "%s-never-made" % self.env.cr.dbname,
                "restore_job": workdir,
                "database_identity": backup._database_identity(),
            }
        )
        self.run_cron()
        self.assertEqual(backup.restore_state, "failed")
        self.assertIn("stopped before it ended", backup.restore_error)
        self.assertFalse(backup.restore_job)
        self.assertFalse(backup._database_named_like(temp), "the temporary database was dropped")
        self.assertFalse(os.path.exists(config.filestore(temp)))
        self.assertFalse(os.path.exists(workdir))

    def test_copy_parameters_are_odoo_defaults(self):
        """The restore process renews what ir.config_parameter.init(force=True) renews in a copy."""
        self.assertEqual(set(COPY_PARAMETERS), set(ir_config_parameter._default_parameters))

    def test_custom_dump(self):
        policy = self.make_policy(backup_format="dump", tier="Hot")
        backup = self.backup_now(policy)
        self.assertEqual(backup.state, "done", backup.error)
        self.assertTrue(backup.blob_name.endswith(".dump"))
        self.assertEqual(self.blobs.get_blob_client(backup.blob_name).get_blob_properties().blob_tier, "Hot")
        with tempfile.NamedTemporaryFile(suffix=".dump") as tmp:
            self.blobs.get_blob_client(backup.blob_name).download_blob().readinto(tmp)
            tmp.flush()
            listing = subprocess.run(
                [find_pg_tool("pg_restore"), "--list", tmp.name],
                env=exec_pg_environ(),
                capture_output=True,
                check=True,
            ).stdout.decode()
        self.assertIn("TABLE public res_partner", listing)

    def test_one_run_per_database(self):
        policy = self.make_policy(backup_format="dump", tier="Cold")
        policy.action_backup_now()
        with self.assertRaisesRegex(UserError, "already queued"):
            policy.action_backup_now()
        # a run of this database held by another process: the cron leaves ours queued
        with advisory_lock(self.env.cr.dbname, LOCK_BACKUP, self.env.cr.dbname) as taken:
            self.assertTrue(taken)
            before = len(self.emu.control.requests())
            self.run_cron()
            backup = policy.backup_ids
            self.assertEqual(backup.state, "queued")
            self.assertFalse([r for r in self.remote_calls(before) if r["service"] == "blob"])
        self.run_cron()
        self.assertEqual(backup.state, "done", backup.error)
        self.assertEqual(self.blobs.get_blob_client(backup.blob_name).get_blob_properties().blob_tier, "Cold")

    def test_failure_mid_upload_leaves_no_blob(self):
        policy = self.make_policy(backup_format="zip")
        # the third block always fails (the SDK's own retries included)
        self.emu.control.inject_fault(
            path=block_id_pattern(2),
            method="PUT",
            service="blob",
            status=500,
            code="InternalError",
            count=None,
        )
        backup = self.backup_now(policy)
        # Azure failing is transient: tried again later, no alert yet
        self.assertEqual(backup.state, "queued")
        self.assertTrue(backup.next_run_at)
        self.assertEqual(backup.retry_count, 1)
        self.assertEqual(policy.alert_state, "ok")
        self.assertEqual(self.run_tries(backup), TRANSIENT_TRIES)
        self.assertEqual(backup.state, "failed")
        self.assertIn("internal error", backup.error)
        self.assertIn("No blob was committed", backup.error)
        self.assertEqual(self.blob_names(), [], "nothing committed")
        self.assertEqual(policy.alert_state, "backup_failed")
        self.assertTrue(policy.activity_ids, "the responsible user is told (test_backup_alerts.py)")
        # the record can simply be retried once Azure is back
        self.emu.control.clear_faults()
        retry = self.backup_now(policy)
        self.assertEqual(retry.state, "done", retry.error)
        self.assertEqual(self.blob_names(), [retry.blob_name])

    def test_dead_run_detected(self):
        policy = self.make_policy(backup_format="dump")
        backup = policy.action_backup_now() and policy.backup_ids
        backup.sudo().write({"state": "running", "runner": "elsewhere:1"})
        # a live runner: another process holding the database's backup lock
        _name, params = connection_info_for(self.env.cr.dbname)
        code = (
            "import psycopg2, sys, time\n"
            "conn = psycopg2.connect(**%r)\n"
            "cr = conn.cursor()\n"
            "cr.execute('SELECT pg_advisory_lock(%%s, hashtext(%%s))', (%d, %r))\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n" % (params, LOCK_BACKUP, self.env.cr.dbname)
        )
        runner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        self.addCleanup(lambda: runner.poll() is None and runner.kill())
        self.assertEqual(runner.stdout.readline().strip(), b"locked")
        self.run_cron()
        self.assertEqual(backup.state, "running", "a live run is left alone")
        os.kill(runner.pid, signal.SIGKILL)  # the Odoo process dies with its connection
        runner.wait(10)
        self.run_cron()
        self.assertEqual(backup.state, "failed")
        self.assertIn("stopped before it ended", backup.error)

    def test_runs_started_elsewhere_end_without_failure(self):
        """Runs a dump caught in progress, seen in the database restored from it (another
        PostgreSQL identity, test_backup_copies.py makes real ones): they ran in the original, so
        they end here with a note, no failure, no activity, and the original's restore folder
        (the same server's) is left alone."""
        policy = self.make_policy(backup_format="dump", user_id=self.env.ref("base.user_admin").id)
        done = self.backup_now(policy)
        self.assertEqual(done.database_identity, done._database_identity(), "recorded at its start")
        workdir = tempfile.mkdtemp(prefix="oec-restore-")
        self.addCleanup(shutil.rmtree, workdir, ignore_errors=True)
        elsewhere = "1/1"  # another cluster's database
        done.sudo().write(
            {
                "verify_state": "running",
                "restore_state": "running",
                "restore_db_name": "the-original-restores-this",
                "restore_job": workdir,
                "database_identity": elsewhere,
            }
        )
        running = self.env["cloud.backup"].browse(policy.action_backup_now()["res_id"])
        running.sudo().write({"state": "running", "runner": "elsewhere:1", "database_identity": elsewhere})
        activities = self.env["mail.activity"].search_count([])
        self.run_cron()
        self.assertEqual((running.state, running.error), ("elsewhere", False))
        self.assertIn("when this database was copied from it", self.last_message(running))
        notes = done.message_ids.mapped("body")
        self.assertTrue(any("A verification of this backup was in progress" in note for note in notes))
        self.assertTrue(any("A restore of this backup into" in note for note in notes))
        # then the same pass's weekly verification checked it here: this database never had
        self.assertEqual((done.state, done.verify_state, done.restore_state), ("done", "done", False))
        self.assertFalse(done.restore_job or done.restore_error)
        self.assertTrue(os.path.isdir(workdir), "the original's restore folder is left alone")
        self.assertEqual(self.env["mail.activity"].search_count([]), activities)
        # the same database goes on: Back up now is free again
        self.assertEqual(self.backup_now(policy).state, "done")

    def test_verify_catches_corruption(self):
        policy = self.make_policy(backup_format="dump", user_id=self.env.ref("base.user_admin").id)
        backup = self.backup_now(policy)
        backup.action_verify()
        self.run_cron()
        self.assertEqual(backup.verify_state, "done")
        self.assertIn("Verified", self.last_message(backup))
        # the blob changes behind Odoo's back, metadata kept
        blob = self.blobs.get_blob_client(backup.blob_name)
        metadata = blob.get_blob_properties().metadata
        blob.upload_blob(b"PGDMP corrupted", overwrite=True, metadata=metadata)
        backup.action_verify()
        self.run_cron()
        self.assertEqual(backup.verify_state, "failed")
        self.assertIn("does not match", self.last_message(backup))
        self.assertEqual(policy.activity_ids.user_id, policy.user_id)

    def test_download_link(self):
        policy = self.make_policy(backup_format="dump")
        backup = self.backup_now(policy)
        action = backup.action_download()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertIn("sp=r&", action["url"])
        session = requests.Session()
        session.trust_env = False
        response = session.get(action["url"], verify=self.emu.ca_path, timeout=30)
        self.assertEqual(response.status_code, 200, response.content[:500])
        self.assertEqual(hashlib.sha256(response.content).hexdigest(), backup.sha256)
        self.assertIn("Download link made by", self.last_message(backup))
        # a user delegation SAS (the account allows no shared key), of this blob only, that ends
        self.assertIn("skoid=", action["url"])
        self.assertIn("sr=b&", action["url"])
        expired = self.storage._blob_store().read_url(backup.blob_name, minutes=-1)
        self.assertEqual(session.get(expired, verify=self.emu.ca_path, timeout=30).status_code, 403)
        # the same link cannot write
        refused = session.put(
            action["url"],
            data=b"x",
            headers={"x-ms-blob-type": "BlockBlob"},
            verify=self.emu.ca_path,
            timeout=30,
        )
        self.assertEqual(refused.status_code, 403)


@tagged("post_install", "-at_install")
class TestBackupRetention(BackupMixin, TransactionCase):
    def test_retention_deletes_only_our_expired_blobs(self):
        """Ten daily backups (01:00 UTC, 02:00 in Paris), 3 daily and 2 weekly kept: the
        policy applies services/retention.py (tested alone in services/tests) to the
        runs' own start times, deletes the others' blobs, and leaves foreign blobs alone."""
        policy = self.make_policy(keep_daily=3, keep_weekly=2, keep_monthly=0, keep_yearly=0)
        owner = policy._owner_metadata()
        prefix = policy._blob_prefix()
        # a blob a person put there, and one of our records whose blob someone replaced
        self.blobs.upload_blob(prefix + "manual/keep-me.zip", b"mine")
        backups = self.env["cloud.backup"].sudo()
        replaced = backups
        for day in range(1, 11):
            name = "%s2025/01-%02d.zip" % (prefix, day)
            metadata = {"oec_db_uuid": "someone-else"} if day == 3 else owner
            self.blobs.upload_blob(name, b"backup of " + name.encode(), metadata=metadata)
            backup = self.done_backup(policy, name, datetime(2025, 1, day, 1, 0))
            replaced |= backup if day == 3 else backups
        policy._apply_retention()
        # kept: the last 3 days, and the newest of ISO week 2025-W01 (Wednesday 1st to Sunday 5th)
        expected = ["01-05", "01-08", "01-09", "01-10"]
        kept = backups.search([("policy_id", "=", policy.id), ("state", "=", "done")]) - replaced
        self.assertEqual(sorted(b.started_at.strftime("%m-%d") for b in kept), expected)
        self.assertEqual(
            self.blob_names(),
            sorted(
                ["%s2025/%s.zip" % (prefix, d) for d in expected + ["01-03"]]
                + [prefix + "manual/keep-me.zip"]
            ),
            "only blobs written by this database were deleted",
        )
        self.assertIn("not written by this database", replaced.error)
        self.assertEqual(replaced.state, "done")
        deleted = backups.search([("policy_id", "=", policy.id), ("state", "=", "deleted")])
        self.assertEqual(
            sorted(b.started_at.strftime("%m-%d") for b in deleted),
            ["01-01", "01-02", "01-04", "01-06", "01-07"],
        )
        self.assertIn("Deleted by the retention", deleted[0].message_ids.mapped("body")[0])
        # applied again: nothing more goes
        policy._apply_retention()
        self.assertEqual(backups.search_count([("policy_id", "=", policy.id), ("state", "=", "deleted")]), 5)

    def test_a_blob_azure_keeps_does_not_stop_retention(self):
        """The oldest blob is leased by another program: Azure refuses its deletion (412
        LeaseIdMissing, as contract/fixtures/blob/delete_refused.json); it is left alone with
        why, and the other expired blobs still go."""
        policy = self.make_policy(keep_daily=1, keep_weekly=0, keep_monthly=0, keep_yearly=0)
        owner, prefix = policy._owner_metadata(), policy._blob_prefix()
        backups = self.env["cloud.backup"].sudo()
        for day in (1, 2, 3):
            name = "%s2025/01-%02d.zip" % (prefix, day)
            self.blobs.upload_blob(name, b"backup", metadata=owner)
            backups |= self.done_backup(policy, name, datetime(2025, 1, day, 1, 0))
        leased, expired, newest = backups
        self.blobs.get_blob_client(leased.blob_name).acquire_lease(lease_duration=-1)
        policy._apply_retention()
        self.assertEqual((expired.state, newest.state), ("deleted", "done"))
        self.assertEqual(leased.state, "done")
        self.assertIn("lease", leased.error)
        self.assertIn("Retention left the blob alone", leased.message_ids[0].body)
        self.assertEqual(self.blob_names(), [leased.blob_name, newest.blob_name])
        # not tried again
        before = len(self.emu.control.requests())
        policy._apply_retention()
        self.assertEqual(self.remote_calls(before), [])


@tagged("post_install", "-at_install")
class TestBackupSchedule(BackupMixin, TransactionCase):
    def test_next_run_in_policy_time_zone(self):
        policy = self.make_policy(schedule_time=2.5, schedule_tz="Europe/Paris")
        # 02:30 in Paris is 01:30 UTC in winter, 00:30 UTC in summer
        self.assertEqual(policy._next_moment(datetime(2026, 1, 10, 12, 0)), datetime(2026, 1, 11, 1, 30))
        self.assertEqual(policy._next_moment(datetime(2026, 7, 10, 0, 10)), datetime(2026, 7, 10, 0, 30))
        policy.scheduled = False
        self.assertFalse(policy.next_run_at)

    def test_due_policy_queued_and_rescheduled(self):
        policy = self.make_policy(backup_format="dump")
        policy.sudo().next_run_at = datetime(2020, 1, 1)
        self.run_cron()
        backup = policy.backup_ids
        self.assertEqual(backup.trigger, "scheduled")
        self.assertEqual(backup.state, "done", backup.error)
        self.assertGreater(policy.next_run_at, datetime.now())

    def test_weekly_verification_of_the_newest(self):
        policy = self.make_policy(backup_format="dump")
        policy.action_backup_now()
        self.run_cron()
        newest = policy.backup_ids
        self.assertFalse(newest.verify_state)
        self.run_cron()
        self.assertEqual(newest.verify_state, "done", "never verified: verified at the next pass")
        self.assertTrue(newest.verified_at)
        three_days = datetime.now() - timedelta(days=3)
        newest.sudo().verified_at = three_days
        self.run_cron()
        self.assertLess(
            newest.verified_at, datetime.now() - timedelta(days=2), "verified 3 days ago: not again"
        )
        newest.sudo().verified_at = datetime.now() - timedelta(days=8)
        self.run_cron()
        self.assertEqual(newest.verify_state, "done")
        self.assertGreater(newest.verified_at, three_days, "verified 8 days ago: queued and verified again")

    def test_one_bad_backup_does_not_stop_the_others(self):
        """A location whose storage account is gone fails its run; the next run still happens."""
        policy = self.make_policy(backup_format="dump")
        gone = self.make_location(self.account, name="oecgonestorage")
        backups = self.env["cloud.backup"].sudo()
        # one queued run per database: the broken one stands for another database's run
        broken = backups.create(
            {
                "policy_id": policy.id,
                "trigger": "manual",
                "storage_id": gone.id,
                "database": self.env.cr.dbname + "_elsewhere",
            }
        )
        fine = backups.create({"policy_id": policy.id, "trigger": "manual"})
        self.run_cron()
        self.assertEqual(broken.state, "failed")
        self.assertIn("oecgonestorage was not found", broken.error)
        self.assertEqual(fine.state, "done", fine.error)

    def test_rollback_of_a_failed_run_keeps_the_committed_ones(self):
        """Each run is committed apart (cloud.job.mixin): the second run fails and is
        rolled back to the commit after the first, whose result stays."""
        policy = self.make_policy(backup_format="dump")
        gone = self.make_location(self.account, name="oecgonestorage")
        backups = self.env["cloud.backup"].sudo()
        fine = backups.create({"policy_id": policy.id, "trigger": "manual"})
        broken = backups.create(
            {
                "policy_id": policy.id,
                "trigger": "manual",
                "storage_id": gone.id,
                "database": self.env.cr.dbname + "_elsewhere",
            }
        )
        self.run_cron()
        self.assertEqual((fine.state, self.blob_names()), ("done", [fine.blob_name]), fine.error)
        self.assertEqual(broken.state, "failed")
        # what the failed run wrote before its failure (its start) was rolled back, not kept
        self.assertEqual((broken.blob_name, broken.started_at, broken.runner), (False, False, False))
        self.assertIn("oecgonestorage was not found", broken.error)

    def test_one_bad_retention_does_not_stop_the_others(self):
        """Retention of a policy whose storage account is gone fails (logged, nothing changed on its
        backups); the next policy's retention still deletes what it must."""
        gone = self.make_location(self.account, name="oecgonestorage")
        broken = self.make_policy(name="A broken", storage_id=gone.id, keep_daily=1, scheduled=False)
        fine = self.make_policy(name="B fine", keep_daily=1, scheduled=False)
        backups = self.env["cloud.backup"].sudo()
        made = {}
        for policy in (broken, fine):
            for day in (1, 2):
                name = "%s2025/%s-%d.zip" % (policy._blob_prefix(), policy.id, day)
                if policy == fine:
                    self.blobs.upload_blob(name, b"backup", metadata=policy._owner_metadata())
                made[policy, day] = backups.create(
                    {
                        "policy_id": policy.id,
                        "trigger": "scheduled",
                        "state": "done",
                        "started_at": datetime(2025, 3, day, 1, 0),
                        "blob_name": name,
                        "sha256": "0" * 64,
                    }
                )
        with self.assertLogs(cloud_job_mixin._logger, logging.INFO) as logs:
            self.run_cron()
        failed = "cloud.backup.policy %s: retention failed" % broken.id
        self.assertTrue(any(failed in line for line in logs.output), logs.output)
        self.assertEqual([made[broken, 1].state, made[broken, 2].state], ["done", "done"])
        self.assertEqual([made[fine, 1].state, made[fine, 2].state], ["deleted", "done"])
        self.assertEqual(self.blob_names(), [made[fine, 2].blob_name])

    def test_lifecycle_rule(self):
        policy = self.make_policy(lifecycle_enabled=True, lifecycle_cool_days=30, lifecycle_delete_days=400)
        policy.action_apply_lifecycle()
        storage, _resources = self.portal()
        rules = storage.management_policies.get(RG, STORAGE_ACCOUNT, "default").policy.rules
        self.assertEqual([r.name for r in rules], [policy.lifecycle_rule])
        definition = rules[0].definition
        self.assertEqual(definition.filters.prefix_match, ["%s/%s" % (CONTAINER, policy._blob_prefix())])
        self.assertEqual(definition.actions.base_blob.tier_to_cool.days_after_modification_greater_than, 30)
        self.assertEqual(definition.actions.base_blob.delete.days_after_modification_greater_than, 400)
        policy.lifecycle_enabled = False
        policy.action_apply_lifecycle()
        self.assertFalse(policy.lifecycle_rule)
        self.assertTrue(any("Lifecycle rule removed" in (m.body or "") for m in policy.message_ids))


@tagged("post_install", "-at_install")
class TestBackupGuards(BackupMixin, TransactionCase):
    """Restore names checked before anything is downloaded; the policy's integers bounded."""

    def done_backup(self):
        policy = self.make_policy(backup_format="dump")
        name = "%s2026/guard.dump" % policy._blob_prefix()
        self.blobs.upload_blob(name, b"PGDMP", metadata=policy._owner_metadata())
        return (
            self.env["cloud.backup"]
            .sudo()
            .create(
                {
                    "policy_id": policy.id,
                    "trigger": "manual",
                    "state": "done",
                    "blob_name": name,
                    "sha256": hashlib.sha256(b"PGDMP").hexdigest(),
                    # verified: the scheduled action's weekly verification leaves it alone
                    "verify_state": "done",
                    "verified_at": datetime.now(),
                }
            )
        )

    def test_restore_names_refused_before_download(self):
        backup = self.done_backup()
        before = len(self.emu.control.requests())
        for name, why in (
            ("template0", "already exists"),
            ("postgres", "already exists"),
            (self.env.cr.dbname.upper(), "already exists"),
            ("Template1", "already exists"),
            ("a" * 64, "Invalid database name"),
            ("bad name!", "Invalid database name"),
        ):
            with self.subTest(name=name):
                wizard = self.env["cloud.backup.restore"].create({"backup_id": backup.id, "db_name": name})
                with self.assertRaisesRegex(UserError, why):
                    wizard.action_confirm()
                self.assertFalse(backup.restore_state, "nothing queued")
        # had one been queued, the scheduled action would download the blob: nothing reached it
        self.run_cron()
        self.assertEqual(
            [r for r in self.remote_calls(before) if r["service"] == "blob" and r["method"] == "GET"],
            [],
            "no blob was downloaded",
        )
        # a name taken after the restore was queued: refused again before the download
        target = "%s-guard" % self.env.cr.dbname
        drop_database(target)
        self.addCleanup(drop_database, target)
        self.env["cloud.backup.restore"].create({"backup_id": backup.id, "db_name": target}).action_confirm()
        self.assertEqual(backup.restore_state, "queued")
        create_database(target.upper())
        self.addCleanup(drop_database, target.upper())
        before = len(self.emu.control.requests())
        self.run_cron()
        self.assertEqual(backup.restore_state, "failed")
        self.assertIn("already exists", backup.restore_error)
        self.assertFalse(
            [r for r in self.remote_calls(before) if r["service"] == "blob" and r["method"] == "GET"]
        )

    def test_policy_integers_bounded(self):
        policy = self.make_policy()
        for field, value in (
            ("lifecycle_delete_days", 2147483647),
            ("lifecycle_delete_days", 2**40),
            ("lifecycle_cool_days", 100000),
            ("keep_daily", 2**40),
            ("keep_weekly", 100000),
            ("keep_monthly", -1),
            ("keep_yearly", 101),
            ("alert_grace_hours", 721),
            ("alert_grace_hours", -1),
            ("alert_grace_hours", 2**40),
        ):
            with self.subTest(field=field, value=value):
                with self.assertRaisesRegex(ValidationError, "whole number between 0 and"):
                    policy.write({field: value})
                with self.assertRaisesRegex(ValidationError, "whole number between 0 and"):
                    self.make_policy(name="Another", **{field: value})
        # Azure's own limit is accepted, and sent as is
        policy.write({"lifecycle_enabled": True, "lifecycle_cool_days": 30, "lifecycle_delete_days": 99999})
        policy.action_apply_lifecycle()
        storage, _resources = self.portal()
        rules = storage.management_policies.get(RG, STORAGE_ACCOUNT, "default").policy.rules
        self.assertEqual(
            rules[0].definition.actions.base_blob.delete.days_after_modification_greater_than, 99999
        )


@tagged("post_install", "-at_install")
class TestBackupRace(TransactionCase):
    """Back up now pressed in several transactions at once queues one run (real cursors, committed)."""

    PARALLEL = 8

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            account = env["cloud.account"].create(
                {
                    "name": "Race",
                    "environment_id": env.ref("oec_cloud_accounts.cloud_azure_environment_public").id,
                }
            )
            storage = env["cloud.storage"].create(
                {
                    "account_id": account.id,
                    "storage_account": "oecrace",
                    "container": "race",
                    "state": "ready",
                }
            )
            policy = env["cloud.backup.policy"].create(
                {"name": "Race", "storage_id": storage.id, "scheduled": False}
            )
            cr.execute("SELECT coalesce(max(id), 0) FROM ir_cron_trigger")
            self.triggers_before = cr.fetchone()[0]
            self.ids = {
                "cloud.account": account.id,
                "cloud.storage": storage.id,
                "cloud.backup.policy": policy.id,
            }
        self.addCleanup(self.remove_committed)

    def remove_committed(self):
        with self.registry.cursor() as cr:
            cr.execute("SELECT id FROM cloud_backup WHERE policy_id = %s", (self.ids["cloud.backup.policy"],))
            ids = dict(self.ids, **{"cloud.backup": [row[0] for row in cr.fetchall()]})
            for model, record_ids in ids.items():
                record_ids = record_ids if isinstance(record_ids, list) else [record_ids]
                for table in ("mail_message", "mail_followers", "mail_activity"):
                    cr.execute(
                        sql.SQL("DELETE FROM {} WHERE res_model = %s AND res_id = ANY(%s)").format(
                            sql.Identifier(table)
                        )
                        if table != "mail_message"
                        else sql.SQL("DELETE FROM mail_message WHERE model = %s AND res_id = ANY(%s)"),
                        (model, record_ids),
                    )
            for table, key in (
                ("cloud_backup", "cloud.backup"),
                ("cloud_backup_policy", "cloud.backup.policy"),
                ("cloud_storage", "cloud.storage"),
                ("cloud_account", "cloud.account"),
            ):
                record_ids = ids[key] if isinstance(ids[key], list) else [ids[key]]
                cr.execute(
                    sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(sql.Identifier(table)), (record_ids,)
                )
            cr.execute("DELETE FROM ir_cron_trigger WHERE id > %s", (self.triggers_before,))

    def test_parallel_backup_now_queues_one_run(self):
        barrier = threading.Barrier(self.PARALLEL)
        results = []
        admin = self.env.ref("base.user_admin").id

        def press():
            with self.registry.cursor() as cr:
                env = api.Environment(cr, admin, {})
                policy = env["cloud.backup.policy"].browse(self.ids["cloud.backup.policy"])
                cr.execute("SELECT 1")  # the transaction's snapshot is taken before anyone queues
                barrier.wait(30)
                try:
                    policy.action_backup_now()
                    cr.commit()  # pylint: disable=invalid-commit
                    results.append("queued")
                except UserError as error:
                    cr.rollback()
                    results.append(str(error))

        threads = [threading.Thread(target=press, name="backup now %d" % i) for i in range(self.PARALLEL)]
        with mute_logger("odoo.sql_db"):  # the losers' inserts are refused by the unique index
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        self.assertEqual(len(results), self.PARALLEL, results)
        self.assertEqual(results.count("queued"), 1, results)
        self.assertTrue(all("already" in r or "same moment" in r for r in results if r != "queued"), results)
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM cloud_backup WHERE policy_id = %s AND state IN ('queued', 'running')",
                (self.ids["cloud.backup.policy"],),
            )
            self.assertEqual(cr.fetchone()[0], 1)


@tagged("post_install", "-at_install")
class TestBackupDeadline(BackupMixin, TransactionCase):
    """Long work ends well before Odoo's time limits, read from the server's configuration."""

    LIMITS = MappingProxyType(
        {"workers": 0, "limit_time_real": 120, "limit_time_real_cron": 30, "limit_time_cpu": 60}
    )

    def test_time_limit_follows_odoo_rules(self):
        cases = (
            ({"workers": 0, "limit_time_real_cron": -1}, 120),  # threaded: falls back to limit_time_real
            ({"workers": 0, "limit_time_real_cron": 0}, 120),  # 0 is not "> 0" there either
            ({"workers": 0, "limit_time_real_cron": 3600}, 3600),  # limit_time_cpu: workers only
            ({"workers": 2, "limit_time_real_cron": -1}, 60),  # limit_time_real, and 60 s of CPU
            ({"workers": 2, "limit_time_real_cron": 0, "limit_time_cpu": 0}, None),
            ({"workers": 2, "limit_time_real_cron": 3600, "limit_time_cpu": 7200}, 3600),
        )
        for options, expected in cases:
            with self.subTest(**options), patch.dict(config.options, dict(self.LIMITS, **options)):
                self.assertEqual(time_limit(), expected)
                if expected:
                    self.assertLessEqual(time_budget(), expected - 10, "well under the limit")
                else:
                    self.assertEqual(time_budget(), 6 * 3600, "no limit: still a bound")

    def test_hanging_storage_ends_in_a_failed_run_within_the_limit(self):
        policy = self.make_policy(backup_format="zip")
        # the second block's Put Block hangs: the emulator answers only after 90 s
        self.emu.control.inject_fault(
            path=block_id_pattern(1), method="PUT", service="blob", delay=90, count=None
        )
        with patch.dict(config.options, self.LIMITS):
            started = time.monotonic()
            backup = policy.action_backup_now() and policy.backup_ids
            self.run_cron()
            elapsed = time.monotonic() - started
            self.assertLess(elapsed, 30, "ended before Odoo's limit: no 'virtual real time limit', no reload")
            # no answer is transient: tried again later, each try within the limit too
            self.assertEqual(backup.state, "queued")
            self.run_tries(backup)
        self.assertEqual(backup.state, "failed")
        # the request's own timeout (fitted to the time left) or the deadline, whichever comes first
        self.assertRegex(backup.error, "Put Block|could not be reached")
        self.assertEqual(self.blob_names(), [], "nothing committed")
        # Azure answers again: the next run succeeds
        self.emu.control.clear_faults()
        with patch.dict(config.options, self.LIMITS):
            retry = policy.action_backup_now() and policy.backup_ids[0]
            self.run_cron()
        self.assertEqual(retry.state, "done", retry.error)
        self.assertEqual(self.blob_names(), [retry.blob_name])
        # a verification whose download hangs fails the same way
        self.emu.control.inject_fault(path=r"\.zip$", method="GET", service="blob", delay=90, count=None)
        with patch.dict(config.options, self.LIMITS):
            started = time.monotonic()
            retry.action_verify()
            self.run_cron()
            elapsed = time.monotonic() - started
            self.assertLess(elapsed, 30)
            self.run_tries(retry, "verify_state")
        self.assertEqual(retry.verify_state, "failed")
        self.assertRegex(
            "".join(m.body for m in retry.message_ids if m.body), "Get Blob|could not be reached"
        )

    def test_deadline_never_waits_past_itself(self):
        """Whatever a call or a block does, the waiting thread has its answer at the deadline."""
        deadline = Deadline(time.time() + 1)
        started = time.monotonic()
        with self.assertRaises(DeadlineReached) as reached:
            deadline.call("Put Block List", threading.Event().wait, 30)
        self.assertEqual(reached.exception.step, "Put Block List")
        self.assertLess(time.monotonic() - started, 3)
        message = self.env["cloud.backup"]._deadline_message(reached.exception)
        self.assertIn("Put Block List", message)
        self.assertIn("limit_time_real_cron", message)
        self.assertEqual(Deadline(time.time() + 5).call("x", sum, [1, 2]), 3)
        self.assertLessEqual(
            Deadline(time.time() + 8).options()["read_timeout"], 2, "retries fit in the time left"
        )

    def run_cron_in_a_pass_started(self, seconds_ago):
        """The backup cron run by a thread the way Odoo's cron server runs its jobs: the
        thread's ``start_time`` says when its pass began (odoo/service/server.py sets it)."""
        outcome = {}

        def job():
            try:
                self.run_cron()
            except Exception as error:  # noqa: BLE001 (raised again in the test's thread)
                outcome["error"] = error

        worker = threading.Thread(target=job, name="odoo.service.cron.cron0")
        worker.start_time = time.time() - seconds_ago
        worker.start()
        worker.join(120)
        self.assertFalse(worker.is_alive(), "the cron pass ended")
        if "error" in outcome:
            raise outcome["error"]

    def test_too_little_time_left_waits_for_the_next_pass(self):
        """Jobs run before ours in the same pass of the cron thread count against its limit."""
        policy = self.make_policy(backup_format="dump")
        backup = policy.action_backup_now() and policy.backup_ids
        with patch.dict(config.options, self.LIMITS):
            before = len(self.emu.control.requests())
            self.run_cron_in_a_pass_started(seconds_ago=12)
            self.assertEqual(backup.state, "queued", "left for the next pass")
            self.assertFalse([r for r in self.remote_calls(before) if r["service"] == "blob"])
        with patch.dict(config.options, self.LIMITS):
            self.run_cron()
        self.assertEqual(backup.state, "done", backup.error)
