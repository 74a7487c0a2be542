from odoo.tests import TransactionCase, tagged

from .common import EmulatorMixin, tables_holding

SECRET = "Zq8~cloud-secret-under-test-4f2a9c"


@tagged("post_install", "-at_install")
class TestSettingsSecret(EmulatorMixin, TransactionCase):
    def test_secret_is_in_no_table_in_clear(self):
        admin = self.env.ref("base.user_admin")
        settings = (
            self.env["res.config.settings"]
            .with_user(admin)
            .create({"cloud_environment_id": self.cloud.id, "cloud_client_secret": SECRET})
        )
        settings.execute()
        self.assertEqual(self.cloud.sudo()._get_secret("client_secret_enc"), SECRET, "stored, encrypted")
        self.assertEqual(tables_holding(self.env, SECRET), [])
        # write-only: never read back, never sent to the browser (a new request has an empty cache)
        settings.invalidate_recordset()
        self.assertFalse(settings.read(["cloud_client_secret"])[0]["cloud_client_secret"])
        defaults = self.env["res.config.settings"].with_user(admin).default_get(["cloud_client_secret"])
        self.assertFalse(defaults.get("cloud_client_secret"))
        again = self.env["res.config.settings"].with_user(admin).create({})
        self.assertTrue(again.cloud_client_secret_set)
        self.assertFalse(again.cloud_client_secret)
        # the witness can fail: the same search finds a value stored in clear
        self.env["ir.config_parameter"].sudo().set_param("oec_test.witness", SECRET)
        self.assertEqual(tables_holding(self.env, SECRET), ["ir_config_parameter"])

    def test_empty_secret_keeps_the_current_one(self):
        self.env["res.config.settings"].create({"cloud_environment_id": self.cloud.id}).execute()
        self.assertTrue(self.cloud.client_secret_set)
        self.assertTrue(self.cloud.sudo()._get_secret("client_secret_enc"))


@tagged("post_install", "-at_install")
class TestSettingsAddAccount(EmulatorMixin, TransactionCase):
    def test_add_account_from_the_settings(self):
        """Settings > Cloud Accounts offers Add Account (where the documentation puts it)."""
        admin = self.env.ref("base.user_admin")
        settings = self.env["res.config.settings"].with_user(admin).create({})
        action = settings.action_add_cloud_account()
        self.assertEqual((action["res_model"], action["target"]), ("cloud.account.connect", "new"))
        arch = settings.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="action_add_cloud_account"', arch)
        self.assertIn("oec_cloud_accounts/README.rst", arch, "the documentation link")
