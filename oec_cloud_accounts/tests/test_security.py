from azure_emulator import defaults

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

from .common import EmulatorMixin


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
            {"next_refresh_at": False},
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
