"""Storage access: only Cloud Managers of the location's company reach Azure
through Storage Quick Setup or a location, over the ORM and over JSON-RPC, and
a refused call never reaches Azure (the emulator's request log is the witness).
Plus the browser tour of Storage Quick Setup."""

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .common import refused_users, tables_holding
from .storage_common import StorageMixin

# (label, model, method, args after the ids): public methods that reach Azure, and code-owned writes
CALLS = (
    ("quick setup", "cloud.account", "action_storage_quick_setup", []),
    ("test access", "cloud.storage", "action_test_access", []),
    ("check again", "cloud.storage", "action_check_again", []),
    ("quick setup again", "cloud.storage", "action_quick_setup", []),
    ("write storage", "cloud.storage", "write", [{"container": "elsewhere"}]),
    ("set lifecycle (private)", "cloud.storage", "_set_lifecycle_rule", ["x/", 1, 2]),
)
WIZARD_CALLS = ("action_create_account", "action_check_again", "action_test_access", "action_test_again")


@tagged("post_install", "-at_install")
class TestStorageAccess(StorageMixin, HttpCase):
    def blobs_of(self, storage, name):
        """The blob as Azure has it (None when absent), read with the location's own key."""
        return storage._blob_store().properties(name)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = refused_users(cls.env, "storage")
        cls.manager = new_test_user(
            cls.env, "storage_manager", groups="oec_cloud_accounts.group_cloud_manager"
        )

    def setUp(self):
        super().setUp()
        self.account = self.connect()
        self.storage = self.ready_storage(self.account)

    def rpc(self, login, model, method, args):
        self.login_as(login)
        record = {"cloud.account": self.account, "cloud.storage": self.storage}[model]
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": [record.ids, *args], "kwargs": {}},
        )

    def test_refused_over_rpc_before_any_remote_call(self):
        for kind, user in self.users.items():
            for label, model, method, args in CALLS:
                with self.subTest(user=kind, call=label):
                    before = len(self.emu.control.requests())
                    with self.assertRaises(JsonRpcException) as refusal:
                        self.rpc(user.login, model, method, args)
                    self.assertIn(
                        refusal.exception.args[0],
                        ("odoo.exceptions.AccessError", "odoo.exceptions.UserError"),
                    )
                    self.assertEqual(self.remote_calls(since=before), [], "a refused call reached Azure")
        # the witness sees calls: the same RPCs by a manager of the company reach Azure
        for model, method in (
            ("cloud.storage", "action_test_access"),
            ("cloud.account", "action_storage_quick_setup"),
        ):
            before = len(self.emu.control.requests())
            self.rpc(self.manager.login, model, method, [])
            self.assertTrue(self.remote_calls(since=before), "the manager's %s reached Azure" % method)

    def test_refused_over_the_orm_and_in_the_wizard(self):
        wizard = self.quick_setup(self.account)
        wizard.write({"new_account_name": "oecrefused"})
        line = wizard.line_ids[:1]
        for kind, user in self.users.items():
            with self.subTest(user=kind):
                before = len(self.emu.control.requests())
                with self.assertRaises(AccessError):
                    self.account.with_user(user).action_storage_quick_setup()
                with self.assertRaises(AccessError):
                    self.storage.with_user(user).action_test_access()
                with self.assertRaises(AccessError):
                    self.storage.with_user(user).action_check_again()
                for method in WIZARD_CALLS:
                    with self.assertRaises(AccessError):
                        getattr(wizard.with_user(user), method)()
                with self.assertRaises(AccessError):
                    line.with_user(user).action_select()
                with self.assertRaises(AccessError):
                    self.env["cloud.storage.setup"].with_user(user).create({"account_id": self.account.id})
                self.assertEqual(self.remote_calls(since=before), [], "a refused call reached Azure")
        self.assertFalse(self.env["cloud.storage"].search([("storage_account", "=", "oecrefused")]))

    def test_no_key_in_the_database(self):
        client, _resources = self.portal()
        value = client.storage_accounts.list_keys("oec-storage", "oecready")["keys"][0]["value"]
        self.assertEqual(tables_holding(self.env, value[:20]), [], "the account key is stored nowhere")

    def test_quick_setup_tour(self):
        """Quick Setup up to a first successful backup, with the scheduled action beside the browser."""
        self.seed_account("oectourstore")
        with self.cron_beside_the_browser("cloud.backup", "_cron_run"):
            self.start_tour(
                "/web#id=%d&model=cloud.account&view_type=form" % self.account.id,
                "oec_cloud_accounts_storage_quick_setup",
                login="admin",
            )
        storage = self.env["cloud.storage"].search([("storage_account", "=", "oectourstore")])
        self.assertEqual(storage.container, "odoo-backups")
        self.assertEqual(storage.state, "ready")
        backup = storage.policy_ids.backup_ids
        self.assertEqual((backup.state, backup.trigger), ("done", "manual"))
        self.assertEqual(storage.policy_ids.schedule_time, 3.0)
        self.assertTrue(self.blobs_of(storage, backup.blob_name))
