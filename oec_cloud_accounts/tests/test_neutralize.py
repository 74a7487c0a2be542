"""A neutralized copy of the database cannot act on production: Odoo's own
neutralization (``odoo-bin neutralize``, the database manager's and this addon's
neutralized restore) runs each installed module's data/neutralize.sql."""

from azure_emulator import defaults

from odoo.exceptions import UserError
from odoo.modules.neutralize import neutralize_database
from odoo.tests import TransactionCase, tagged

from .common import EmulatorMixin, tables_holding
from .test_server import ssh_key


@tagged("post_install", "-at_install")
class TestNeutralize(EmulatorMixin, TransactionCase):
    def stored_ciphertexts(self):
        cr = self.env.cr
        cr.execute(
            "SELECT refresh_token_enc, access_token_enc FROM cloud_account "
            "WHERE refresh_token_enc IS NOT NULL "
            "UNION ALL SELECT client_secret_enc, NULL FROM cloud_azure_environment "
            "WHERE client_secret_enc IS NOT NULL "
            "UNION ALL SELECT master_password_enc, NULL FROM cloud_server "
            "WHERE master_password_enc IS NOT NULL"
        )
        return [value for row in cr.fetchall() for value in row if value]

    def test_neutralized_copy_holds_no_secret_and_cannot_reach_azure(self):
        account = self.connect()
        self.assertEqual(account.state, "active")
        subscription = account.subscription_ids.filtered(
            lambda s: s.subscription_id == defaults.SUBSCRIPTION_ID
        )
        server = self.env["cloud.server"].create(
            {
                "name": "Production ERP",
                "account_id": account.id,
                "subscription_line_id": subscription.id,
                "location": "westeurope",
                "vm_size": "Standard_B2s",
                "ssh_public_key": ssh_key(),
            }
        )
        master_password = server.sudo()._ensure_master_password()
        ciphertexts = self.stored_ciphertexts()
        self.assertEqual(len(ciphertexts), 4, "the tokens, the client secret and the master password")

        self.env.flush_all()  # a copy has no pending ORM writes: the SQL acts on what is stored
        neutralize_database(self.env.cr)
        self.env.invalidate_all()

        self.assertEqual(self.stored_ciphertexts(), [])
        for value in ciphertexts:
            self.assertEqual(tables_holding(self.env, value[:40]), [])
        self.assertEqual(account.state, "disconnected")
        self.assertFalse(account.has_tokens)
        self.assertFalse(account.next_run_at, "the token cron has nothing to pick")
        self.assertFalse(self.cloud.client_secret_set)
        self.assertIn("Reconnect", account.last_error)
        self.assertIsNone(server.sudo()._get_secret("master_password_enc"))
        self.assertEqual(tables_holding(self.env, master_password), [])

        since = len(self.emu.control.requests())
        with self.assertRaises(UserError):
            account.action_refresh()
        # the token cron finds nothing due
        self.run_job("cloud.account", "_cron_refresh_tokens")
        self.assertEqual(self.remote_calls(since), [])
