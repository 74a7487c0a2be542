from azure_emulator import defaults

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..services import AzureError
from .common import EmulatorMixin


@tagged("post_install", "-at_install")
class TestAccountIdentity(EmulatorMixin, TransactionCase):
    """One record per Microsoft account, and states that never look usable when they are not."""

    def setUp(self):
        super().setUp()
        self.Account = self.env["cloud.account"]

    def test_add_account_twice_reconnects_the_existing_record(self):
        first = self.connect()
        first.action_disconnect()
        count = self.Account.search_count([])
        notices = []
        again = self.connect(notices=notices)
        self.assertEqual(again, first, "the same Microsoft account gets no second card")
        self.assertEqual(self.Account.search_count([]), count)
        self.assertEqual(first.state, "active")
        self.assertTrue(first.is_usable)
        self.assertIn("reconnected this account instead of adding a second one", first.message_ids[0].body)
        # the notification the user gets names the account
        self.assertEqual(
            notices[0]["message"],
            "%s was already connected: %s is reconnected and active." % (defaults.USER_EMAIL, first.name),
        )

    def test_another_user_of_the_tenant_gets_an_account_of_its_own(self):
        first = self.connect()
        other = self.emu.control.add_user(email="colleague@" + defaults.TENANT_DOMAIN, name="Colleague")
        self.emu.control.update_subscription(
            defaults.SUBSCRIPTION_ID, users=[defaults.USER_OID, other["oid"]]
        )
        second = self.connect(user=other["email"])
        self.assertNotEqual(second, first)
        self.assertEqual(second.ms_username, other["email"])

    def test_reconnect_as_another_user_is_refused(self):
        account = self.connect()
        other = self.emu.control.add_user(email="colleague@" + defaults.TENANT_DOMAIN, name="Colleague")
        with self.assertRaises(AzureError) as caught:
            self.connect(user=other["email"], account=account)
        self.assertEqual(caught.exception.code, "user_mismatch")
        message = self.Account._azure_error_message(caught.exception)
        self.assertIn(defaults.USER_EMAIL, message)
        self.assertIn(other["email"], message)
        self.assertEqual(
            (account.ms_username, account.ms_object_id), (defaults.USER_EMAIL, defaults.USER_OID)
        )

    def test_disconnected_account_is_not_usable(self):
        account = self.connect()
        self.assertTrue(account.is_usable and account.can_compute)
        account.action_disconnect()
        self.assertFalse(account.is_usable)
        self.assertFalse(
            account.can_compute or account.can_storage or account.can_dns, "capabilities unknown"
        )
        line = account.subscription_ids.filtered(
            lambda s: s.subscription_id == defaults.UNREGISTERED_SUBSCRIPTION_ID
        )
        since = len(self.emu.control.requests())
        with self.assertRaisesRegex(UserError, "no working sign-in to Azure: click Reconnect first"):
            line.with_context(namespace="Microsoft.Compute").action_register_provider()
        with self.assertRaisesRegex(UserError, "no working sign-in"):
            line.action_set_default()
        with self.assertRaisesRegex(UserError, "no working sign-in"):
            account.action_refresh()
        self.assertEqual(self.remote_calls(since), [], "Azure was never called")
        self.assertEqual(account.state, "disconnected", "a refused Refresh changes nothing")

    def test_expired_account_is_not_usable(self):
        account = self.connect()
        self.emu.control.update_user(defaults.USER_EMAIL, password_changed=True)
        account.action_refresh()
        self.assertEqual(account.state, "expired")
        self.assertFalse(account.is_usable or account.has_tokens or account.can_dns)

    def test_cloud_user_is_told_to_ask_a_manager(self):
        account = self.connect()
        account.action_disconnect()
        viewer = new_test_user(self.env, "identity_viewer", groups="oec_cloud_accounts.group_cloud_user")
        with self.assertRaisesRegex(UserError, "ask a Cloud Manager to reconnect it"):
            account.with_user(viewer)._check_usable()
        arch = self.Account.with_user(viewer).get_views([(False, "kanban"), (False, "form")])["views"]
        self.assertIn("Ask a Cloud Manager", arch["kanban"]["arch"])
        self.assertNotIn("action_reconnect", arch["kanban"]["arch"])
        manager_arch = self.Account.get_views([(False, "kanban")])["views"]["kanban"]["arch"]
        self.assertNotIn("Ask a Cloud Manager", manager_arch)
