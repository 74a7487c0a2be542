"""Backup access through the RPC layer: Cloud Users read policies and backups,
only Cloud Managers of the company run, verify, download or delete, only
Settings administrators restore, and a refused call never reaches Azure (the
emulator's request log is the witness)."""

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .backup_common import BackupMixin
from .common import refused_users

# (label, model, method, args after the ids): every public backup method that
# reaches Azure or queues work, and writes of fields owned by the code
CALLS = (
    ("back up now", "cloud.backup.policy", "action_backup_now", []),
    ("lifecycle rule", "cloud.backup.policy", "action_apply_lifecycle", []),
    ("write policy", "cloud.backup.policy", "write", [{"next_run_at": "2030-01-01 00:00:00"}]),
    ("verify", "cloud.backup", "action_verify", []),
    ("download", "cloud.backup", "action_download", []),
    ("delete blob", "cloud.backup", "action_delete_backup", []),
    ("restore", "cloud.backup", "action_restore", []),
    ("write backup", "cloud.backup", "write", [{"state": "queued"}]),
    ("storage key (private)", "cloud.storage", "_blob_store", []),
)


@tagged("post_install", "-at_install")
class TestBackupAccess(BackupMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = refused_users(cls.env, "bkp")
        cls.manager = new_test_user(cls.env, "bkp_manager", groups="oec_cloud_accounts.group_cloud_manager")

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
        record = {
            "cloud.backup.policy": self.policy,
            "cloud.backup": self.backup,
            "cloud.storage": self.storage,
        }[model]
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": [record.ids, *args], "kwargs": {}},
        )

    def test_refused_before_any_remote_call(self):
        users = dict(self.users, **{"cloud manager (restore)": self.manager})
        for kind, user in users.items():
            for label, model, method, args in CALLS:
                if kind.startswith("cloud manager") and label != "restore":
                    continue  # a manager may do the rest; restoring needs Settings rights
                with self.subTest(user=kind, call=label):
                    before = len(self.emu.control.requests())
                    with self.assertRaises(JsonRpcException) as refusal:
                        self.rpc(user.login, model, method, args)
                    self.assertIn(
                        refusal.exception.args[0],
                        ("odoo.exceptions.AccessError", "odoo.exceptions.UserError", "builtins.ValueError"),
                    )
                    self.assertEqual(self.remote_calls(since=before), [], "a refused call reached Azure")
        self.assertEqual(self.backup.state, "done")
        self.assertFalse(self.env["cloud.backup"].search([("state", "=", "queued")]))
        # the witness sees calls: the manager's download reaches Azure (listKeys)
        before = len(self.emu.control.requests())
        action = self.rpc(self.manager.login, "cloud.backup", "action_download", [])
        self.assertIn("sig=", action["url"])
        self.assertTrue(self.remote_calls(since=before))

    def test_cloud_user_reads(self):
        viewer = self.users["cloud user"]
        self.authenticate(viewer.login, viewer.login)
        backups = self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": "cloud.backup", "method": "search_read", "args": [[], ["name", "state"]], "kwargs": {}},
        )
        self.assertEqual([b["id"] for b in backups], self.backup.ids)
        outsider = self.users["manager of another company"]
        self.authenticate(outsider.login, outsider.login)
        for model in ("cloud.backup", "cloud.backup.policy", "cloud.storage"):
            self.assertEqual(
                self.make_jsonrpc_request(
                    "/web/dataset/call_kw",
                    {"model": model, "method": "search_read", "args": [[], ["name"]], "kwargs": {}},
                ),
                [],
                model,
            )
