"""Restore tests against the emulator + Azurite: a real backup with its manifest, restored by the
restore process into a throwaway database, checked, loaded by Odoo's own command line, dropped."""

import io
import json
import os
import shutil
import tempfile
import time
import zipfile
from datetime import timedelta
from unittest.mock import patch

import psycopg2

import odoo
from odoo import fields
from odoo.sql_db import connection_info_for
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..services.restore import TEMP_PREFIX, TEST_SUFFIX
from .backup_common import BackupMixin
from .test_backup import create_database, drop_database, table_counts


def databases_like(prefix):
    """The names of this PostgreSQL server's databases starting with ``prefix``."""
    _name, params = connection_info_for("postgres")
    conn = psycopg2.connect(**params)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,))
            return {row[0] for row in cr.fetchall()}
    finally:
        conn.close()


@tagged("post_install", "-at_install")
class TestRestoreTest(BackupMixin, TransactionCase):
    def wait_test(self, backup):
        """The next passes of the scheduled action, until the restore test's process is done."""
        self.wait_restore(backup, "restore_test_state", timeout=300)

    def start_test(self, backup):
        """The scheduled action's pass that starts the queued test; returns its throwaway names."""
        started = time.monotonic()
        self.run_cron()
        self.assertLess(time.monotonic() - started, 60, "the scheduled action does not wait for the test")
        self.assertEqual(backup.restore_test_state, "running", backup.restore_test_result)
        temp = os.path.basename(backup.restore_test_job)
        self.addCleanup(drop_database, temp)
        self.addCleanup(drop_database, temp + TEST_SUFFIX)
        return temp, temp + TEST_SUFFIX

    def active_users_while_it_exists(self, name, timeout=120):
        """The active users of the database ``name``, read as soon as it exists."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if name in databases_like(name):
                _name, params = connection_info_for(name)
                try:
                    conn = psycopg2.connect(**params)
                except psycopg2.OperationalError:
                    continue  # dropped meanwhile
                try:
                    with conn.cursor() as cr:
                        cr.execute("SELECT count(*) FROM res_users WHERE active")
                        return cr.fetchone()[0]
                finally:
                    conn.close()
            time.sleep(0.05)  # our own restore process, not Azure
        self.fail("the throwaway database %s was never seen" % name)

    def assert_dropped(self, *names):
        self.assertFalse(databases_like(TEMP_PREFIX) & set(names), "the throwaway databases were dropped")
        for name in names:
            self.assertFalse(os.path.exists(config.filestore(name)), "%s's filestore was removed" % name)

    def test_restore_test_passes_then_a_tampered_manifest_fails(self):
        policy = self.make_policy(backup_format="dump")
        backup = self.backup_written(policy)

        # the manifest: read in the dump's snapshot (what is committed, as pg_dump saw it)
        manifest = backup._manifest_data()
        self.assertEqual(
            manifest["modules"]["oec_cloud_accounts"],
            self.env["ir.module.module"]._get("oec_cloud_accounts").latest_version,
        )
        committed = table_counts(self.env.cr.dbname)
        for table in ("res_partner", "res_users", "ir_attachment", "ir_module_module"):
            self.assertEqual(manifest["tables"][table], committed[table], table)
        self.assertIn("modules", backup.manifest_summary)
        # and in the blob's metadata, for whoever restores it without this database
        metadata = self.blobs.get_blob_client(backup.blob_name).get_blob_properties().metadata
        self.assertIn("res_partner:%d" % committed["res_partner"], metadata["oec_tables"].split(","))
        self.assertTrue(metadata["oec_modules"].startswith("%d:" % len(manifest["modules"])))

        policy.action_restore_test_now()
        self.assertEqual(backup.restore_test_state, "queued")
        names = self.start_test(backup)
        self.wait_test(backup)
        self.assertEqual(backup.restore_test_state, "done", backup.restore_test_result)
        self.assertIn("match the manifest", backup.restore_test_result)
        self.assertIn("Odoo loaded it", backup.restore_test_result)
        self.assertFalse(backup.restore_test_job)
        self.assert_dropped(*names)
        self.assertEqual(policy.last_verified_at, backup.restore_tested_at, "Last Verified Restorable")
        self.assertEqual(policy.last_restore_test_id, backup)
        self.assertEqual(policy.alert_state, "ok")

        # the same backup against a manifest it does not match: one more row recorded, a table gone
        manifest["tables"]["res_partner"] += 1
        manifest["tables"]["x_table_gone"] = 3
        backup.sudo().manifest = json.dumps(manifest)
        verified = policy.last_verified_at
        backup.action_restore_test()
        names = self.start_test(backup)
        self.wait_test(backup)
        self.assertEqual(backup.restore_test_state, "failed")
        self.assertIn(
            "table res_partner has %d rows, %d recorded"
            % (committed["res_partner"], committed["res_partner"] + 1),
            backup.restore_test_result,
        )
        self.assertIn(
            "table x_table_gone is not in the restored database (3 rows recorded)", backup.restore_test_result
        )
        self.assert_dropped(*names)
        self.assertEqual(policy.last_verified_at, verified, "a failed test proves nothing")
        self.assertEqual(policy.alert_state, "restore_failed")
        self.assertIn("x_table_gone", policy.alert_message)
        self.assertEqual(len(policy.activity_ids), 1, "one activity for the responsible")

    def test_zip_carries_the_manifest(self):
        """A zip's manifest.json holds the row counts beside Odoo's module list: the same as the record's."""
        backup = self.backup_written(self.make_policy(backup_format="zip"))
        content = self.blobs.get_blob_client(backup.blob_name).download_blob().readall()
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            in_zip = json.loads(archive.read("manifest.json"))
        manifest = backup._manifest_data()
        self.assertEqual(in_zip["oec_tables"], manifest["tables"])
        self.assertEqual(in_zip["modules"], manifest["modules"])

    def test_odoo_must_load_it(self):
        """A restored database Odoo cannot load as it should (here: this addon's modules missing from
        the addons path the test is given) fails the test, with Odoo's own error."""
        policy = self.make_policy(backup_format="dump")
        backup = self.backup_written(policy)
        backup.action_restore_test()
        odoo_addons = os.path.join(os.path.dirname(odoo.__file__), "addons")
        with patch.dict(config.options, addons_path=odoo_addons):
            names = self.start_test(backup)
        self.wait_test(backup)
        self.assertEqual(backup.restore_test_state, "failed")
        self.assertIn("Odoo did not load it", backup.restore_test_result)
        self.assertIn("Some modules are not loaded", backup.restore_test_result)
        self.assertIn("oec_cloud_accounts", backup.restore_test_result)
        self.assert_dropped(*names)
        self.assertEqual(policy.alert_state, "restore_failed")

    def test_crash_leftovers_dropped(self):
        """A restore test whose process died (no result.json, its lock free) left its databases and
        filestores: the next pass drops them, and the test fails with the alert."""
        policy = self.make_policy(backup_format="dump")
        backup = self.backup_written(policy)
        workdir = tempfile.mkdtemp(prefix=TEMP_PREFIX)
        self.addCleanup(shutil.rmtree, workdir, ignore_errors=True)
        temp = os.path.basename(workdir)
        names = (temp, temp + TEST_SUFFIX)
        for name in names:
            self.addCleanup(drop_database, name)
            create_database(name)
            os.makedirs(os.path.join(config.filestore(name), "ab"))
        backup.sudo().write(
            {
                "restore_test_state": "running",
                "restore_test_job": workdir,
                "database_identity": backup._database_identity(),
            }
        )
        self.run_cron()
        self.assertEqual(backup.restore_test_state, "failed")
        self.assertIn("stopped before it ended", backup.restore_test_result)
        self.assertFalse(backup.restore_test_job)
        self.assertFalse(os.path.exists(workdir))
        self.assert_dropped(*names)
        self.assertEqual(policy.alert_state, "restore_failed")

    def test_schedule(self):
        """A schedule turned on tests at the next pass (when a good backup exists), then at its interval."""
        policy = self.make_policy(backup_format="dump")
        self.assertFalse(policy.restore_test_next_at)
        policy.restore_test_interval = "weekly"
        self.assertLessEqual(policy.restore_test_next_at, fields.Datetime.now())
        # nothing to test yet: the next look is a week later
        before = fields.Datetime.now()
        self.run_cron()
        self.assertGreaterEqual(policy.restore_test_next_at, before + timedelta(days=7))
        self.assertFalse(policy.backup_ids)
        backup = self.backup_written(policy)
        self.assertFalse(backup.restore_test_state, "not due yet")
        policy.sudo().restore_test_next_at = fields.Datetime.now() - timedelta(minutes=1)
        _temp, throwaway = self.start_test(backup)
        self.assertGreaterEqual(policy.restore_test_next_at, before + timedelta(days=7))
        # while Odoo loads the throwaway copy, nobody can sign in to it
        self.assertEqual(self.active_users_while_it_exists(throwaway), 0)
        self.wait_test(backup)
        self.assertEqual(backup.restore_test_state, "done", backup.restore_test_result)
        policy.restore_test_interval = "none"
        self.assertFalse(policy.restore_test_next_at)
