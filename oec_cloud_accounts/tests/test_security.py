from azure_emulator import defaults

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .common import EmulatorMixin
from .dns_common import DnsMixin
from .test_server import ssh_key


@tagged("post_install", "-at_install")
class TestSecurity(EmulatorMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.nobody = new_test_user(cls.env, "cloud_nobody", groups="base.group_user")
        cls.viewer = new_test_user(cls.env, "cloud_viewer", groups="oec_cloud_accounts.group_cloud_user")
        cls.manager = new_test_user(cls.env, "cloud_manager", groups="oec_cloud_accounts.group_cloud_manager")
        cls.admin = cls.env.ref("base.user_admin")

    def test_user_without_group_cannot_read(self):
        account = self.connect()
        with self.assertRaises(AccessError):
            account.with_user(self.nobody).read(["name"])
        with self.assertRaises(AccessError):
            self.env["cloud.account"].with_user(self.nobody).search([])

    def test_cloud_user_reads_but_does_not_change(self):
        account = self.connect()
        self.assertEqual(account.with_user(self.viewer).read(["state"])[0]["state"], "active")
        with self.assertRaises(AccessError):
            account.with_user(self.viewer).write({"name": "x"})
        with self.assertRaises(AccessError):
            account.with_user(self.viewer).action_disconnect()
        with self.assertRaises(AccessError):
            account.with_user(self.viewer).unlink()

    def test_manager_renames_and_deletes(self):
        account = self.connect()
        account.with_user(self.manager).write({"name": "Renamed"})
        account.with_user(self.manager).unlink()
        self.assertFalse(account.exists())

    def test_fields_owned_by_code_are_refused(self):
        account = self.connect().with_user(self.manager)
        for values in (
            {"state": "active"},
            {"tenant_id": "00000000-0000-0000-0000-000000000000"},
            {"environment_id": self.cloud.id},
            {"ms_username": "someone@else.example"},
            {"next_run_at": False},
            {"can_compute": True},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                account.write(values)
        with self.assertRaises(AccessError):
            self.env["cloud.account"].with_user(self.manager).create(
                {"name": "Forged", "environment_id": self.cloud.id, "state": "active"}
            )
        account.write({"name": "Renamed by the manager"})
        self.assertEqual(account.name, "Renamed by the manager")
        # subscription lines are written by the code that reads them from Azure
        line = account.subscription_ids[:1]
        with self.assertRaises(AccessError):
            line.write({"can_compute": True})
        with self.assertRaises(AccessError):
            line.write({"subscription_id": "forged"})

    def test_set_default_subscription(self):
        account = self.connect()
        self.emu.control.add_subscription(name="Second", users=[defaults.USER_EMAIL])
        account.action_refresh()
        self.assertEqual(len(account.subscription_ids), 2)
        other = account.subscription_ids.filtered(lambda line: not line.is_default)
        other.with_user(self.manager).action_set_default()
        self.assertEqual(account.subscription_ids.filtered("is_default"), other)
        with self.assertRaises(AccessError):
            account.subscription_ids[:1].with_user(self.viewer).action_set_default()

    def test_move_only_to_own_companies(self):
        account = self.connect()
        other = self.env["res.company"].create({"name": "Foreign Co"})
        with self.assertRaises(AccessError):
            account.with_user(self.manager).write({"company_id": other.id})
        self.assertEqual(account.company_id, self.env.company)
        self.manager.write({"company_ids": [(4, other.id)]})
        account.with_user(self.manager).write({"company_id": other.id})
        self.assertEqual(account.company_id, other)
        self.assertEqual(account.subscription_ids.company_id, other, "the subscriptions follow")

    def test_company_rule(self):
        account = self.connect()
        other = self.env["res.company"].create({"name": "Other Co"})
        outsider = new_test_user(
            self.env,
            "cloud_outsider",
            groups="oec_cloud_accounts.group_cloud_manager",
            company_id=other.id,
            company_ids=[(6, 0, other.ids)],
        )
        self.assertFalse(self.env["cloud.account"].with_user(outsider).search([("id", "=", account.id)]))
        with self.assertRaises(AccessError):
            account.with_user(outsider).read(["name"])
        with self.assertRaises(AccessError):
            account.subscription_ids.with_user(outsider).read(["name"])

    def test_nobody_reads_tokens(self):
        account = self.connect()
        secret_columns = {"refresh_token_enc", "access_token_enc", "client_secret_enc"}
        for user in (self.viewer, self.manager, self.admin):
            for record in (account.with_user(user), self.cloud.with_user(user)):
                # no field exposes them: not read, search_read, fields_get, export
                self.assertFalse(secret_columns & set(record.fields_get()))
                values = record.read()[0]
                self.assertFalse(secret_columns & set(values))
                self.assertNotIn(account.sudo()._get_secret("refresh_token_enc"), str(values))
                with self.assertRaises(ValueError):
                    record.read(
                        ["refresh_token_enc" if record._name == "cloud.account" else "client_secret_enc"]
                    )
        # a manager cannot change the application's secret
        with self.assertRaises(AccessError):
            self.cloud.with_user(self.manager).set_client_secret("hijack")


@tagged("post_install", "-at_install")
class TestCompanyBoundaries(DnsMixin, HttpCase):
    """A Cloud Manager of company B points B's records, or the wizards, at company A's account,
    subscription or zone: refused through JSON-RPC, before anything of A is read or Azure is
    called, and the refusal names nothing of A."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Company B"})
        # technical features on: Odoo's own access errors would then list the records' names
        cls.manager_b = new_test_user(
            cls.env,
            "company_b_manager",
            groups="oec_cloud_accounts.group_cloud_manager,base.group_no_one",
            company_id=cls.company_b.id,
            company_ids=[(6, 0, cls.company_b.ids)],
        )
        cls.manager_a = new_test_user(
            cls.env, "company_a_manager", groups="oec_cloud_accounts.group_cloud_manager"
        )

    def setUp(self):
        super().setUp()
        self.account_a = self.connect()
        self.account_a.name = "Secret Account Of A"
        self.line_a = self.account_a.subscription_ids[:1]
        self.seed_zone("secret-a.test")
        self.zone_a = self.quick_setup(self.account_a, "secret-a.test")
        # company B's own account (no sign-in needed: nothing here may reach Azure)
        self.account_b = (
            self.env["cloud.account"]
            .sudo()
            .create({"name": "Account B", "environment_id": self.cloud.id, "company_id": self.company_b.id})
        )
        self.line_b = (
            self.env["cloud.account.subscription"]
            .sudo()
            .create({"account_id": self.account_b.id, "name": "Sub B", "subscription_id": "sub-b"})
        )
        self.server_b = (
            self.env["cloud.server"]
            .sudo()
            .create(
                dict(
                    self.server_values(),
                    company_id=self.company_b.id,
                    account_id=self.account_b.id,
                    subscription_line_id=self.line_b.id,
                )
            )
        )

    def server_values(self):
        return {
            "name": "B's ERP",
            "account_id": self.account_a.id,
            "subscription_line_id": self.line_a.id,
            "location": "westeurope",
            "vm_size": "Standard_B2s",
            "ssh_public_key": ssh_key(),
        }

    def call(self, login, model, method, args, kwargs=None):
        self.login_as(login)
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw", {"model": model, "method": method, "args": args, "kwargs": kwargs or {}}
        )

    def test_references_to_another_company_refused(self):
        wizard_b = self.call(
            self.manager_b.login,
            "cloud.server.provision",
            "create",
            [{"account_id": self.account_b.id, "subscription_line_id": self.line_b.id}],
        )
        attempts = (
            ("server on A's account", "cloud.server", "create", [self.server_values()]),
            (
                "server on B's account, A's subscription",
                "cloud.server",
                "create",
                [dict(self.server_values(), account_id=self.account_b.id)],
            ),
            (
                "B's server moved to A's subscription",
                "cloud.server",
                "write",
                [self.server_b.ids, {"subscription_line_id": self.line_a.id}],
            ),
            (
                "B's server moved to A's account",
                "cloud.server",
                "write",
                [
                    self.server_b.ids,
                    {"account_id": self.account_a.id, "subscription_line_id": self.line_a.id},
                ],
            ),
            (
                "provision wizard on A's account",
                "cloud.server.provision",
                "create",
                [{"account_id": self.account_a.id}],
            ),
            (
                "provision wizard on A's subscription",
                "cloud.server.provision",
                "create",
                [{"account_id": self.account_b.id, "subscription_line_id": self.line_a.id}],
            ),
            (
                "provision wizard switched to A's account",
                "cloud.server.provision",
                "write",
                [[wizard_b], {"account_id": self.account_a.id, "subscription_line_id": self.line_a.id}],
            ),
            (
                "DNS quick setup on A's account",
                "cloud.dns.zone.setup",
                "create",
                [{"account_id": self.account_a.id}],
            ),
            ("A record wizard on A's zone", "cloud.dns.record.edit", "create", [{"zone_id": self.zone_a.id}]),
        )
        for label, model, method, args in attempts:
            with self.subTest(attempt=label):
                before = len(self.emu.control.requests())
                with self.assertRaises(JsonRpcException) as refusal:
                    self.call(self.manager_b.login, model, method, args)
                self.assertIn(
                    refusal.exception.args[0],
                    (
                        "odoo.exceptions.AccessError",
                        "odoo.exceptions.UserError",
                        "odoo.exceptions.ValidationError",
                    ),
                )
                message = str(refusal.exception)
                for secret in (
                    "Secret Account Of A",
                    "secret-a.test",
                    self.line_a.name,
                    self.line_a.subscription_id,
                ):
                    self.assertNotIn(secret, message)
                self.assertEqual(self.remote_calls(since=before), [], "a refused call reached Azure")
        self.server_b.invalidate_recordset()
        self.assertEqual(self.server_b.subscription_line_id, self.line_b, "nothing was written")
        self.assertFalse(self.env["cloud.server"].search([("subscription_line_id", "=", self.line_a.id)]))
        self.assertFalse(
            self.env["cloud.dns.zone.setup"].search(
                [("account_id", "=", self.account_a.id), ("create_uid", "=", self.manager_b.id)]
            )
        )
        # the witness: A's own manager uses the same references
        setup_id = self.call(
            self.manager_a.login, "cloud.dns.zone.setup", "create", [{"account_id": self.account_a.id}]
        )
        self.assertTrue(setup_id)
        server_id = self.call(self.manager_a.login, "cloud.server", "create", [self.server_values()])
        self.assertEqual(self.env["cloud.server"].browse(server_id).subscription_line_id, self.line_a)

    def test_subscription_of_another_account_refused(self):
        """Even where the caller may read both (superuser here): a server's subscription is its account's."""
        with self.assertRaisesRegex(ValidationError, "subscription must be one of its cloud account's"):
            self.env["cloud.server"].create(
                dict(
                    self.server_values(),
                    account_id=self.account_b.id,
                    company_id=self.company_b.id,
                    subscription_line_id=self.line_a.id,
                )
            )
        with self.assertRaises(UserError):  # ValidationError is one
            self.server_b.sudo().write({"company_id": self.env.company.id})
