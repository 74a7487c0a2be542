from azure_emulator import defaults

from odoo.tests import HttpCase, tagged

from .common import EmulatorMixin


@tagged("post_install", "-at_install")
class TestAccountTours(EmulatorMixin, HttpCase):
    """What a person sees in a real browser (Chromium) for accounts that
    already exist or no longer work."""

    def setUp(self):
        super().setUp()
        self.Account = self.env["cloud.account"]
        self.Account.search([]).write({"active": False})
        self.action = self.env.ref("oec_cloud_accounts.cloud_account_action")

    def test_tour_add_account_again_reconnects_the_card(self):
        account = self.connect()
        account.action_disconnect()
        with self.emu.control.auto_consent(user=defaults.USER_EMAIL):
            self.start_tour(
                "/web#action=%d" % self.action.id, "oec_cloud_accounts_connect_again", login="admin"
            )
        self.assertEqual(self.Account.search([]), account, "no second card")
        self.assertEqual(account.state, "active")

    def test_tour_disconnected_card_offers_only_reconnect(self):
        account = self.connect()
        account.action_disconnect()
        since = len(self.emu.control.requests())
        self.start_tour("/web#action=%d" % self.action.id, "oec_cloud_accounts_disconnected", login="admin")
        self.assertEqual(self.remote_calls(since), [])
