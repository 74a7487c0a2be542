"""Storage access: only Cloud Managers of the location's company reach Azure
through Storage Quick Setup or a location, over the ORM and over JSON-RPC, and
a refused call never reaches Azure (the emulator's request log is the witness).
Plus the browser tour of Storage Quick Setup."""

from azure_emulator import defaults

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .common import refused_users, tables_holding
from .storage_common import RG, StorageMixin, listening

# (label, model, method, args after the ids): public methods that reach Azure, and code-owned writes
CALLS = (
    ("quick setup", "cloud.account", "action_storage_quick_setup", []),
    ("test access", "cloud.storage", "action_test_access", []),
    ("check again", "cloud.storage", "action_check_again", []),
    ("quick setup again", "cloud.storage", "action_quick_setup", []),
    ("write storage", "cloud.storage", "write", [{"container": "elsewhere"}]),
    ("set lifecycle (private)", "cloud.storage", "_set_lifecycle_rule", ["x/", 1, 2]),
)
WIZARD_CALLS = (
    "action_create_account",
    "action_check_again",
    "action_test_access",
    "action_test_again",
    "action_assign_roles",
)


@tagged("post_install", "-at_install")
class TestStorageAccess(StorageMixin, HttpCase):
    def blobs_of(self, storage, name):
        """The blob as Azure has it (None when absent), read with the location's own key."""
        return storage._blob_store().properties(name)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = refused_users(cls.env, "storage")
        # a backup is the whole database: Storage Quick Setup is for administrators (Settings)
        cls.users["cloud manager without Settings"] = new_test_user(
            cls.env, "storage_nosettings", groups="oec_cloud_accounts.group_cloud_manager"
        )
        other = cls.env["res.company"].create({"name": "Other Co (storage admin)"})
        cls.users["administrator of another company"] = new_test_user(
            cls.env,
            "storage_otheradmin",
            groups="base.group_system,oec_cloud_accounts.group_cloud_manager",
            company_id=other.id,
            company_ids=[(6, 0, other.ids)],
        )
        cls.manager = new_test_user(
            cls.env, "storage_manager", groups="base.group_system,oec_cloud_accounts.group_cloud_manager"
        )

    def setUp(self):
        super().setUp()
        self.account = self.connect()
        self.storage = self.ready_storage(self.account)

    def rpc(self, login, model, method, args, ids=None):
        self.login_as(login)
        if ids is None:
            ids = [{"cloud.account": self.account, "cloud.storage": self.storage}[model].ids]
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": [*ids, *args], "kwargs": {}},
        )

    def assertRefused(self, login, model, method, args, ids=None):
        with self.assertRaises(JsonRpcException) as refusal:
            self.rpc(login, model, method, args, ids=ids)
        self.assertEqual(refusal.exception.args[0], "odoo.exceptions.AccessError", (model, method))

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
                with self.assertRaises(AccessError):
                    self.storage.with_user(user).action_assign_roles()
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
        self.tour_beside_the_cron(
            "/web#id=%d&model=cloud.account&view_type=form" % self.account.id,
            "oec_cloud_accounts_storage_quick_setup",
            "cloud.backup",
            "_cron_run",
        )
        storage = self.env["cloud.storage"].search([("storage_account", "=", "oectourstore")])
        self.assertEqual(storage.container, "odoo-backups")
        self.assertEqual(storage.state, "ready")
        backup = storage.policy_ids.backup_ids
        self.assertEqual((backup.state, backup.trigger), ("done", "manual"))
        self.assertEqual(storage.policy_ids.schedule_time, 3.0)
        self.assertTrue(self.blobs_of(storage, backup.blob_name))

    def test_quick_setup_creation_tour(self):
        """A storage account created from Quick Setup: the window follows Azure by itself, and the
        backup settings it ends on are saved."""
        self.emu.control.configure(lro_polls=0)
        self.tour_beside_the_cron(
            "/web#id=%d&model=cloud.account&view_type=form" % self.account.id,
            "oec_cloud_accounts_storage_create",
            "cloud.storage",
            "_cron_check_creating",
        )
        storage = self.env["cloud.storage"].search([("storage_account", "=", "oectournew")])
        self.assertEqual((storage.container, storage.state), ("odoo-backups", "ready"))
        self.assertEqual(len(storage.policy_ids), 1, "the backup settings were kept")
        self.assertTrue(storage.policy_ids.scheduled)

    def test_quick_setup_needs_settings_rights(self):
        """A Cloud Manager who is not an administrator may not point the backups anywhere."""
        user = self.users["cloud manager without Settings"]
        since = len(self.emu.control.requests())
        for call in (
            lambda: self.account.with_user(user).action_storage_quick_setup(),
            lambda: self.storage.with_user(user).action_test_access(),
            lambda: self.storage.with_user(user).action_quick_setup(),
            lambda: self.env["cloud.storage.setup"].with_user(user).create({"account_id": self.account.id}),
            lambda: self.env["cloud.storage"].with_user(user).create({"account_id": self.account.id}),
        ):
            with self.assertRaises(AccessError):
                call()
        self.assertEqual(self.remote_calls(since), [], "a refused call reached Azure")
        self.assertIn("Settings", self._refusal_message(user))
        # still sees the locations (Cloud Users read them)
        self.assertEqual(self.storage.with_user(user).read(["name"])[0]["name"], "oecready / odoo-backups")

    def _refusal_message(self, user):
        with self.assertRaises(AccessError) as refusal:
            self.account.with_user(user).action_storage_quick_setup()
        return str(refusal.exception)

    def test_hostile_endpoint_over_rpc_reaches_nobody(self):
        """Lines stand for what Azure listed: an administrator cannot make one over RPC with a
        host of their own, nor change a location's endpoint; and a host left in the table is
        never used (the endpoint is read from Azure at use time)."""
        login = self.manager.login
        wizard = self.quick_setup(self.account.with_user(self.manager))
        line = wizard.line_ids.filtered(lambda line: line.name == "oecready")
        with listening() as listener:
            hostile = {
                "wizard_id": wizard.id,
                "name": "oecready",
                "resource_group": RG,
                "subscription_id": defaults.SUBSCRIPTION_ID,
                "azure_id": self.storage.azure_id,
                "blob_endpoint": listener.url("/oecready/"),
            }
            since = len(self.emu.control.requests())
            self.assertRefused(login, "cloud.storage.setup.line", "create", [hostile], ids=[])
            self.assertRefused(
                login, "cloud.storage.setup.line", "write", [{"name": "oecother"}], ids=[line.ids]
            )
            self.assertRefused(
                login,
                "cloud.storage.setup",
                "create",
                [{"account_id": self.account.id, "line_ids": [Command.create(hostile)]}],
                ids=[],
            )
            self.assertRefused(
                login,
                "cloud.storage.setup",
                "write",
                [{"line_ids": [Command.create(hostile)]}],
                ids=[wizard.ids],
            )
            self.assertRefused(
                login, "cloud.storage", "write", [{"blob_endpoint": listener.url("/oecready/")}]
            )
            self.assertEqual(self.remote_calls(since), [], "a refused call reached Azure")
            self.assertEqual(listener.count, 0)
            # what an older version (or an edit of the table) may have left: never used
            self.storage.sudo().blob_endpoint = listener.url("/oecready/")
            self.rpc(login, "cloud.storage", "action_test_access", [])
            self.assertEqual(listener.count, 0, "the key went to the listener")
        self.storage.invalidate_recordset()
        self.assertEqual(self.storage.state, "ready", self.storage.last_error)
        self.assertEqual(self.storage.blob_endpoint, self.emu.blob_url + "/oecready/")

    def test_other_wizards_listings_are_server_made(self):
        """The same for the zones of DNS Quick Setup and the regions and sizes of Provision."""
        manager = self.manager
        since = len(self.emu.control.requests())
        dns = self.env["cloud.dns.zone.setup"].with_user(manager).create({"account_id": self.account.id})
        zone = {
            "wizard_id": dns.id,
            "name": "evil.example",
            "resource_group": "../x",
            "subscription_id": defaults.SUBSCRIPTION_ID,
            "azure_id": "/subscriptions/x/resourceGroups/x/providers/Microsoft.Network/dnszones/evil.example",
        }
        Line = self.env["cloud.dns.zone.setup.line"]
        with self.assertRaises(AccessError):
            Line.with_user(manager).create(zone)
        with self.assertRaises(AccessError):
            dns.write({"line_ids": [Command.create(zone)]})
        with self.assertRaises(AccessError):
            Line.with_user(manager).sudo().create(zone).sudo(False).write({"name": "other.example"})
        provision = (
            self.env["cloud.server.provision"].with_user(manager).create({"account_id": self.account.id})
        )
        option = {"wizard_id": provision.id, "kind": "region", "name": "eastus/../../x"}
        Option = self.env["cloud.server.provision.option"]
        with self.assertRaises(AccessError):
            Option.with_user(manager).create(option)
        with self.assertRaises(AccessError):
            provision.write({"option_ids": [Command.create(option)]})
        with self.assertRaises(AccessError):
            Option.with_user(manager).sudo().create(option).sudo(False).write({"name": "westeurope"})
        self.assertEqual(self.remote_calls(since), [])
