"""Backup access through the RPC layer. A backup is the whole database (every
company, the users' password hashes, database.secret): only Settings
administrators make, change or run policies, verify, download, delete or
restore backups. Cloud Users and Cloud Managers read the backups' status, and
a refused call never reaches Azure (the emulator's request log is the witness)."""

import logging

from azure_emulator import defaults

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .backup_common import BackupMixin
from .common import refused_users

_logger = logging.getLogger(__name__)

# (label, model, method, args after the ids): every public backup method that
# reaches Azure or queues work, the policies' create/write/unlink, and writes of
# fields owned by the code
CALLS = (
    ("create policy", "cloud.backup.policy", "create", None),
    ("write policy", "cloud.backup.policy", "write", [{"keep_daily": 3}]),
    ("unlink policy", "cloud.backup.policy", "unlink", []),
    ("back up now", "cloud.backup.policy", "action_backup_now", []),
    ("lifecycle rule", "cloud.backup.policy", "action_apply_lifecycle", []),
    ("write policy (code's field)", "cloud.backup.policy", "write", [{"next_run_at": "2030-01-01 00:00:00"}]),
    ("write alert settings", "cloud.backup.policy", "write", [{"alert_grace_hours": 48}]),
    ("write alert state", "cloud.backup.policy", "write", [{"alert_state": "overdue"}]),
    ("immutable backups", "cloud.backup.policy", "write", [{"immutable": True}]),
    ("check immutability", "cloud.backup.policy", "action_check_immutability", []),
    ("write backup's immutability", "cloud.backup", "write", [{"immutable_until": False}]),
    ("write immutability support", "cloud.storage", "write", [{"immutable_support": "enabled"}]),
    ("restore test now", "cloud.backup.policy", "action_restore_test_now", []),
    (
        "write restore test date",
        "cloud.backup.policy",
        "write",
        [{"restore_test_next_at": "2030-01-01 00:00:00"}],
    ),
    ("verify", "cloud.backup", "action_verify", []),
    ("restore test", "cloud.backup", "action_restore_test", []),
    ("download", "cloud.backup", "action_download", []),
    ("delete blob", "cloud.backup", "action_delete_backup", []),
    ("restore", "cloud.backup", "action_restore", []),
    ("restore wizard", "cloud.backup.restore", "create", None),
    ("write backup", "cloud.backup", "write", [{"state": "queued"}]),
    ("unlink backup", "cloud.backup", "unlink", []),
    ("storage key (private)", "cloud.storage", "_blob_store", []),
    ("assign data roles", "cloud.storage", "action_assign_roles", []),
    ("shared key fallback", "cloud.storage", "write", [{"shared_key_fallback": True}]),
    ("data roles check (private)", "cloud.storage", "_check_roles", []),
)
REFUSALS = ("odoo.exceptions.AccessError", "odoo.exceptions.UserError", "builtins.ValueError")


@tagged("post_install", "-at_install")
class TestBackupAccess(BackupMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = refused_users(cls.env, "bkp")
        # a Cloud Manager of the storage's company, without Settings rights
        cls.users["cloud manager"] = new_test_user(
            cls.env, "bkp_manager", groups="oec_cloud_accounts.group_cloud_manager"
        )
        cls.admin = new_test_user(
            cls.env, "bkp_admin", groups="base.group_system,oec_cloud_accounts.group_cloud_user"
        )

    def setUp(self):
        super().setUp()
        self.policy = self.make_policy(backup_format="dump")
        self.blobs.upload_blob(
            "%s2026/x.dump" % self.policy._blob_prefix(), b"PGDMP", metadata=self.policy._owner_metadata()
        )
        self.backup = (
            self.env["cloud.backup"]
            .sudo()
            .create(
                {
                    "policy_id": self.policy.id,
                    "trigger": "manual",
                    "state": "done",
                    "blob_name": "%s2026/x.dump" % self.policy._blob_prefix(),
                    "sha256": "0" * 64,
                }
            )
        )

    def rpc(self, login, model, method, args):
        self.login_as(login)
        if args is None:  # create
            args = [
                {
                    "cloud.backup.policy": {"name": "Mine", "storage_id": self.storage.id},
                    "cloud.backup.restore": {"backup_id": self.backup.id, "db_name": "oec-stolen-copy"},
                }[model]
            ]
        else:
            record = {
                "cloud.backup.policy": self.policy,
                "cloud.backup": self.backup,
                "cloud.storage": self.storage,
            }[model]
            args = [record.ids, *args]
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw", {"model": model, "method": method, "args": args, "kwargs": {}}
        )

    def test_refused_before_any_remote_call(self):
        """Portal, internal, Cloud User, Cloud Manager (of this company or another): every backup
        action refused, nothing reaches Azure, nothing changes."""
        matrix = []
        for kind, user in self.users.items():
            for label, model, method, args in CALLS:
                with self.subTest(user=kind, call=label):
                    before = len(self.emu.control.requests())
                    with self.assertRaises(JsonRpcException) as refusal:
                        self.rpc(user.login, model, method, args)
                    self.assertIn(refusal.exception.args[0], REFUSALS)
                    self.assertEqual(self.remote_calls(since=before), [], "a refused call reached Azure")
                    matrix.append("%s / %s: refused" % (kind, label))
        _logger.info("backup access matrix:\n%s", "\n".join(matrix))
        self.env.invalidate_all()
        self.assertEqual(self.backup.state, "done")
        self.assertEqual(self.policy.keep_daily, 7)
        self.assertEqual((self.policy.alert_grace_hours, self.policy.alert_state), (6, "ok"))
        self.assertTrue(self.policy.exists())
        self.assertEqual(self.env["cloud.backup.policy"].search_count([]), 1)
        self.assertFalse(self.env["cloud.backup"].search([("state", "=", "queued")]))
        self.assertFalse(self.backup.restore_test_state, "no restore test queued")
        self.assertFalse(self.env["cloud.backup.restore"].search([]))

    def test_settings_administrator_allowed(self):
        """The same calls as a Settings administrator: done, and Azure is reached."""
        login = self.admin.login
        before = len(self.emu.control.requests())
        action = self.rpc(login, "cloud.backup", "action_download", [])
        self.assertIn("sig=", action["url"])
        self.assertIn("skoid=%s" % defaults.USER_OID, action["url"], "a user delegation SAS")
        self.assertTrue(self.remote_calls(since=before), "the download link needs a user delegation key")
        self.rpc(login, "cloud.backup", "action_verify", [])
        self.env.invalidate_all()
        self.assertEqual(self.backup.verify_state, "queued")
        # queued only: the scheduled action starts it (nothing remote in the request)
        before = len(self.emu.control.requests())
        self.rpc(login, "cloud.backup.policy", "action_restore_test_now", [])
        self.env.invalidate_all()
        self.assertEqual(self.backup.restore_test_state, "queued")
        self.assertEqual(self.remote_calls(since=before), [])
        self.assertEqual(
            self.rpc(login, "cloud.backup", "action_restore", [])["res_model"], "cloud.backup.restore"
        )
        self.rpc(login, "cloud.backup.policy", "write", [{"keep_daily": 3, "alert_grace_hours": 12}])
        self.env.invalidate_all()
        self.assertEqual((self.policy.keep_daily, self.policy.alert_grace_hours), (3, 12))
        # the alert's state is the code's, even for them
        with self.assertRaises(JsonRpcException):
            self.rpc(login, "cloud.backup.policy", "write", [{"alert_state": "ok"}])
        self.rpc(login, "cloud.backup.policy", "action_backup_now", [])
        self.env.invalidate_all()
        self.assertEqual(
            self.policy.backup_ids.filtered(lambda b: b.state == "queued").requested_by, self.admin
        )
        other = self.rpc(login, "cloud.backup.policy", "create", None)
        self.assertTrue(self.env["cloud.backup.policy"].browse(other).exists())
        self.rpc(login, "cloud.backup", "action_delete_backup", [])
        self.env.invalidate_all()
        self.assertEqual(self.backup.state, "deleted")

    def test_cloud_user_reads(self):
        """Cloud Users and Managers read the backups' status of their companies; a Settings
        administrator sees every backup of the database, whatever their companies."""
        for kind in ("cloud user", "cloud manager"):
            viewer = self.users[kind]
            self.login_as(viewer.login)
            backups = self.make_jsonrpc_request(
                "/web/dataset/call_kw",
                {
                    "model": "cloud.backup",
                    "method": "search_read",
                    "args": [[], ["name", "state", "verify_state"]],
                    "kwargs": {},
                },
            )
            self.assertEqual([b["id"] for b in backups], self.backup.ids, kind)
        outsider = self.users["manager of another company"]
        self.login_as(outsider.login)
        for model in ("cloud.backup", "cloud.backup.policy", "cloud.storage"):
            self.assertEqual(
                self.make_jsonrpc_request(
                    "/web/dataset/call_kw",
                    {"model": model, "method": "search_read", "args": [[], ["name"]], "kwargs": {}},
                ),
                [],
                model,
            )
        other_company = outsider.company_id
        admin_elsewhere = new_test_user(
            self.env,
            "bkp_admin_elsewhere",
            groups="base.group_system",
            company_id=other_company.id,
            company_ids=[(6, 0, other_company.ids)],
        )
        self.login_as(admin_elsewhere.login)
        for model, record in (("cloud.backup", self.backup), ("cloud.backup.policy", self.policy)):
            found = self.make_jsonrpc_request(
                "/web/dataset/call_kw",
                {"model": model, "method": "search_read", "args": [[], ["name"]], "kwargs": {}},
            )
            self.assertEqual([r["id"] for r in found], record.ids, model)
