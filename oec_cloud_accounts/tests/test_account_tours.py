from azure_emulator import defaults

from odoo.tests import HttpCase, tagged

from .common import EmulatorMixin
from .test_server import ssh_key


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

    def test_tour_disconnect_lists_dependents_and_refuses_their_actions(self):
        account = self.connect()
        account.name = "Tour Account"
        subscription = account.subscription_ids.filtered(
            lambda s: s.subscription_id == defaults.SUBSCRIPTION_ID
        )
        server = (
            self.env["cloud.server"]
            .sudo()
            .create(
                {
                    "name": "Tour ERP",
                    "account_id": account.id,
                    "subscription_line_id": subscription.id,
                    "location": "westeurope",
                    "vm_size": "Standard_B2s",
                    "ssh_public_key": ssh_key(),
                    "state": "running",
                    "resource_group": "oec-tour-erp",
                    "vm_name": "tour-erp",
                    "power_state": "running",
                }
            )
        )
        self.env["cloud.dns.zone"].sudo().create(
            {
                "name": "tour.example.test",
                "account_id": account.id,
                "subscription_id": defaults.SUBSCRIPTION_ID,
                "resource_group": "oec-dns",
                "azure_id": "/subscriptions/%s/resourceGroups/oec-dns/providers/Microsoft.Network/dnszones/"
                "tour.example.test" % defaults.SUBSCRIPTION_ID,
            }
        )
        storage = (
            self.env["cloud.storage"]
            .sudo()
            .create(
                {
                    "account_id": account.id,
                    "subscription_id": defaults.SUBSCRIPTION_ID,
                    "resource_group": "oec-backups",
                    "storage_account": "oectour",
                    "container": "odoo-backups",
                    "state": "ready",
                }
            )
        )
        policy = self.env["cloud.backup.policy"].create({"name": "Nightly", "storage_id": storage.id})
        self.assertTrue(policy.next_run_at)
        since = len(self.emu.control.requests())
        self.start_tour(
            "/web#action=%d&model=cloud.account&view_type=form&id=%d" % (self.action.id, account.id),
            "oec_cloud_accounts_disconnect_dependents",
            login="admin",
        )
        self.assertEqual(self.remote_calls(since), [], "nothing reached Azure")
        self.assertEqual((account.state, account.active), ("disconnected", True))
        self.assertFalse(server.operation, "Refresh was refused, not queued")
        self.assertFalse(policy.next_run_at, "the policy is paused")

    def test_tour_add_account_brings_back_the_archived_card(self):
        account = self.connect()
        account.action_archive()
        with self.emu.control.auto_consent(user=defaults.USER_EMAIL):
            self.start_tour(
                "/web#action=%d" % self.action.id, "oec_cloud_accounts_connect_archived", login="admin"
            )
        self.assertEqual(self.Account.search([]), account, "no second card")
        self.assertEqual((account.state, account.active), ("active", True))
