"""A copy of the database never acts as production, and a restore leaves the server's own
loops alone.

A "production" database of its own (restored from this one's committed state) gets a cloud, a
connected account, a storage location and a policy, and one real backup: its run is "running"
in its own dump (its start is committed before pg_dump reads the database). That backup is then
restored as a copy (the product's Restore: Odoo's restore_db(copy=True) in a process of its
own) and as the same database (Odoo's restore_db(copy=False) on the downloaded blob), and the
scheduled actions of each restored database run as Odoo's cron runner runs them. Real databases,
committed, dropped at the end."""

import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from unittest.mock import patch

from azure_emulator import defaults

import odoo
from odoo import SUPERUSER_ID, api, fields
from odoo.modules.registry import Registry
from odoo.service import db as db_service
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..models.cloud_backup_run import BLOCK_PARAM
from ..models.cloud_server_engine import POLL_PARAM
from .backup_common import BackupMixin
from .test_backup import drop_database
from .test_server import ssh_key

COPY = "copy of another Odoo database"  # in the account's message (azure_messages.py)
ELSEWHERE = "when this database was copied from it"  # in the run's note


@contextmanager
def as_a_server():
    """Odoo's code run below works for other databases as a server's would: the at_install
    tests of their modules are not run when their registry loads (this process runs tests, a
    server does not), and this thread's database (which Registry() sets) stays the test's."""
    thread = threading.current_thread()
    dbname = getattr(thread, "dbname", None)
    try:
        with patch.dict(config.options, {"test_enable": False}):
            yield
    finally:
        thread.dbname = dbname


def load_registry(name):
    """``name``'s registry in this process, loaded as a server loads it."""
    with as_a_server():
        return Registry(name)


def run_scheduled_actions(name, xmlids=None):
    """The scheduled actions of oec_cloud_accounts (or ``xmlids``) in the database ``name``,
    each made due and run as Odoo's cron runner runs a due job (ir.cron._process_jobs:
    _acquire_one_job, then _process_job in a cursor of its own, committed)."""
    registry = load_registry(name)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        if xmlids:
            crons = [env.ref("oec_cloud_accounts." + xmlid) for xmlid in xmlids]
        else:
            data = env["ir.model.data"].search(
                [("module", "=", "oec_cloud_accounts"), ("model", "=", "ir.cron")]
            )
            crons = env["ir.cron"].browse(data.mapped("res_id"))
        for cron in crons:
            cron._trigger()
        ids = [cron.id for cron in crons]
    db = odoo.sql_db.db_connect(name)
    with as_a_server(), db.cursor() as cron_cr:
        for cron_id in ids:
            job = registry["ir.cron"]._acquire_one_job(cron_cr, (cron_id,))
            assert job, "scheduled action %s is due" % cron_id
            registry["ir.cron"]._process_job(db, cron_cr, job)
            cron_cr.commit()


@contextmanager
def database(name):
    """``with database(name) as env``: a cursor of the database ``name`` as the server's
    (committed at the end of the block), in a superuser environment."""
    with load_registry(name).cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})


def mail_counts(cr):
    """What tells people: activities, e-mail notifications, outgoing mails."""
    cr.execute(
        "SELECT (SELECT count(*) FROM mail_activity),"
        " (SELECT count(*) FROM mail_notification WHERE notification_type = 'email'),"
        " (SELECT count(*) FROM mail_mail)"
    )
    return cr.fetchone()


@tagged("post_install", "-at_install")
class TestDatabaseCopies(BackupMixin, TransactionCase):
    def setUp(self):
        # the emulator's reset (EmulatorMixin), not BackupMixin's records in this database
        super(BackupMixin, self).setUp()
        self.production = self.new_database("prod")
        with tempfile.NamedTemporaryFile(suffix=".dump") as dump:
            db_service.dump_db(self.env.cr.dbname, dump, "dump")
            dump.flush()
            self.restore(self.production, dump.name, copy=True)
        with database(self.production) as env:
            env["ir.config_parameter"].set_param(BLOCK_PARAM, "256")
            cloud = self.make_cloud(env)
            account = self.connect(cloud=cloud)
            self.seed_storage()
            policy = env["cloud.backup.policy"].create(
                {
                    "name": "Nightly",
                    "storage_id": self.make_location(account).id,
                    "backup_format": "dump",
                    "schedule_tz": "Europe/Paris",
                    "user_id": env.ref("base.user_admin").id,
                }
            )
            self.account_id, self.policy_id = account.id, policy.id
            self.backup_id = policy.action_backup_now()["res_id"]
        run_scheduled_actions(self.production, ["ir_cron_backups"])
        with database(self.production) as env:
            backup = env["cloud.backup"].browse(self.backup_id)
            self.assertEqual(backup.state, "done", backup.error)
            self.blob_name = backup.blob_name

    def new_database(self, suffix):
        name = "%s-%s-test" % (self.env.cr.dbname, suffix)
        drop_database(name)  # left by a run that was killed
        self.addCleanup(drop_database, name)
        return name

    @staticmethod
    def restore(name, path, copy):
        with as_a_server():
            db_service.restore_db(name, path, copy=copy)

    def a_day_later(self, env):
        """The account's tokens are renewed daily: a day after the backup, it is due."""
        env["cloud.account"].browse(self.account_id).write(
            {"next_run_at": fields.Datetime.now() - timedelta(minutes=1)}
        )

    def check_run_ended_elsewhere(self, env):
        backup = env["cloud.backup"].browse(self.backup_id)
        self.assertEqual(backup.state, "elsewhere", backup.error)
        self.assertFalse(backup.error, "no failure")
        self.assertFalse(backup.activity_ids, "nobody is asked to do anything")
        self.assertTrue(any(ELSEWHERE in message.body for message in backup.message_ids))

    def test_restored_as_a_copy(self):
        copy = self.new_database("copy")
        with database(self.production) as env:
            env["cloud.backup"].browse(self.backup_id)._queue_restore(copy, False)  # not neutralized
        registries = dict(Registry.registries.d)
        deadline = time.monotonic() + 240
        state = "queued"
        while state in ("queued", "running") and time.monotonic() < deadline:
            # as ThreadedServer.cron_thread (odoo/service/server.py): each pass goes over the
            # databases of this process; a job that registers one there ends the thread
            # ("OrderedDict mutated during iteration") and every scheduled action with it
            for db_name, registry in Registry.registries.d.items():
                if registry.ready and db_name == self.production:
                    run_scheduled_actions(self.production, ["ir_cron_backups"])
            with database(self.production) as env:
                backup = env["cloud.backup"].browse(self.backup_id)
                state, error = backup.restore_state, backup.restore_error
            if state == "running":
                time.sleep(1)  # our own restore process, not Azure
        self.assertEqual(state, "done", error)
        self.assertEqual(dict(Registry.registries.d), registries, "this process's databases are left alone")
        self.assertNotIn(copy, Registry.registries)

        # the copy's scheduled actions, a day later
        with database(copy) as env:
            self.a_day_later(env)
            counts = mail_counts(env.cr)
        before = len(self.emu.control.requests())
        run_scheduled_actions(copy)
        # the retail price list is public, read anonymously: it acts for nobody
        sent = [call for call in self.remote_calls(since=before) if call["service"] != "prices"]
        self.assertEqual(sent, [], "nothing of the original's sign-in reached Azure")
        with database(copy) as env:
            account = env["cloud.account"].browse(self.account_id)
            self.assertEqual(account.state, "expired")
            self.assertIn(COPY, account.last_error)
            self.assertFalse(account.is_usable or account.has_tokens)
            self.check_run_ended_elsewhere(env)
            self.assertEqual(mail_counts(env.cr), counts, "no activity, no mail")

        # production goes on: its tokens work and its next scheduled actions run in this process
        with database(self.production) as env:
            policy = env["cloud.backup.policy"].browse(self.policy_id)
            again = policy.action_backup_now()["res_id"]
        run_scheduled_actions(self.production, ["ir_cron_backups"])
        with database(self.production) as env:
            self.assertEqual(env["cloud.backup"].browse(again).state, "done")
            self.assertEqual(env["cloud.account"].browse(self.account_id).state, "active")

        # and a provisioning asked after the restore reaches Running through the same cron runner
        with database(self.production) as env:
            env["ir.config_parameter"].set_param(POLL_PARAM, 0)
            account = env["cloud.account"].browse(self.account_id)
            server = env["cloud.server"].create(
                {
                    "name": "After the restore",
                    "account_id": account.id,
                    "subscription_line_id": account.subscription_ids.filtered(
                        lambda line: line.subscription_id == defaults.SUBSCRIPTION_ID
                    ).id,
                    "location": "westeurope",
                    "vm_size": "Standard_B2s",
                    "ssh_public_key": ssh_key(),
                    "ssh_allowed_cidrs": "203.0.113.0/24",
                }
            )
            server.action_provision()
            server_id = server.id
        run_scheduled_actions(self.production, ["ir_cron_cloud_server"])  # its budget: 50 s
        with database(self.production) as env:
            server = env["cloud.server"].browse(server_id)
            self.assertEqual((server.state, server.operation), ("running", False), server.last_error)

    def test_restored_as_the_same_database(self):
        moved = self.new_database("moved")
        with tempfile.NamedTemporaryFile(suffix=".dump") as dump:
            self.blobs.get_blob_client(self.blob_name).download_blob().readinto(dump)
            dump.flush()
            self.restore(moved, dump.name, copy=False)
        with database(moved) as env:
            self.a_day_later(env)
            counts = mail_counts(env.cr)
        before = len(self.emu.control.requests())
        run_scheduled_actions(moved)
        # the moved database keeps its sign-in: the tokens were renewed
        paths = [call["path"] for call in self.remote_calls(since=before)]
        self.assertTrue(any(path.endswith("/oauth2/v2.0/token") for path in paths), paths)
        with database(moved) as env:
            account = env["cloud.account"].browse(self.account_id)
            self.assertEqual(account.state, "active", account.last_error)
            self.assertTrue(account.is_usable)
            self.assertGreater(account.next_run_at, fields.Datetime.now() + timedelta(hours=12))
            self.check_run_ended_elsewhere(env)
            self.assertEqual(mail_counts(env.cr), counts, "no activity, no mail")

        # its backups are of this database, not of the one it was taken from (by that one's name)
        with database(moved) as env:
            again = env["cloud.backup.policy"].browse(self.policy_id).action_backup_now()["res_id"]
        run_scheduled_actions(moved, ["ir_cron_backups"])
        with database(moved) as env:
            backup = env["cloud.backup"].browse(again)
            self.assertEqual(backup.state, "done", backup.error)
            self.assertEqual(backup.database, moved)
            self.assertTrue(backup.blob_name.startswith(moved + "/"), backup.blob_name)
