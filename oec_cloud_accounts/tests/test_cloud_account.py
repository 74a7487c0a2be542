from datetime import timedelta
from unittest.mock import patch

from azure_emulator import defaults

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import Form, TransactionCase, new_test_user, tagged
from odoo.tools import config

from ..services import AzureError
from .common import EmulatorMixin


@tagged("post_install", "-at_install")
class TestCloudAccount(EmulatorMixin, TransactionCase):
    def test_connect_creates_active_account(self):
        account = self.connect()
        self.assertEqual(account.state, "active")
        # named after who signed in and the tenant's name, not "Microsoft Azure"
        self.assertEqual(account.name, "%s - %s" % (defaults.USER_EMAIL, defaults.TENANT_NAME))
        self.assertEqual(account.ms_username, defaults.USER_EMAIL)
        self.assertEqual(account.ms_display_name, defaults.USER_NAME)
        self.assertEqual(account.tenant_id, defaults.TENANT_ID)
        self.assertTrue(account.is_sandbox)
        self.assertEqual(
            set(account.subscription_ids.mapped("subscription_id")),
            {defaults.SUBSCRIPTION_ID, defaults.UNREGISTERED_SUBSCRIPTION_ID},
        )
        default = account.subscription_ids.filtered("is_default")
        self.assertEqual(default.subscription_id, defaults.SUBSCRIPTION_ID)
        self.assertTrue(account.can_compute and account.can_storage and account.can_dns)
        self.assertTrue(account.has_tokens)
        self.assertTrue(account.access_expires_at > fields.Datetime.now())
        self.assertIn("Connected as", account.message_ids[0].body)

    def test_capabilities_follow_the_default_subscription(self):
        account = self.connect()
        unregistered = account.subscription_ids.filtered(
            lambda s: s.subscription_id == defaults.UNREGISTERED_SUBSCRIPTION_ID
        )
        self.assertEqual(unregistered.compute_state, "NotRegistered")
        unregistered.action_set_default()
        self.assertFalse(account.can_compute)
        self.assertTrue(account.can_storage)
        self.assertFalse(account.can_dns)
        # register the missing provider from Odoo; Azure takes a while: one read answers Registering
        self.emu.control.configure(registration_polls=1)
        unregistered.with_context(namespace="Microsoft.Compute").action_register_provider()
        self.assertEqual(unregistered.compute_state, "Registering")
        account.action_refresh()
        self.assertEqual(unregistered.compute_state, "Registering")
        self.assertTrue(unregistered.next_run_at, "the scheduled action follows it")
        self.assertFalse(account.can_compute)
        # the refresh icon sees it end too, and says so once
        account.action_refresh()
        self.assertEqual(unregistered.compute_state, "Registered")
        self.assertFalse(unregistered.next_run_at)
        self.assertTrue(account.can_compute)
        self.assertFalse(account.can_dns)
        self.assertIn("Azure registered Microsoft.Compute", account.message_ids[0].body)
        state = self.emu.control.state()
        self.assertEqual(
            state["subscriptions"][defaults.UNREGISTERED_SUBSCRIPTION_ID]["providers"]["Microsoft.Compute"],
            "Registered",
        )

    def test_renamable(self):
        account = self.connect()
        with Form(account) as form:
            form.name = "Production"
        self.assertEqual(account.name, "Production")

    def test_access_token_reused_then_refreshed_near_expiry(self):
        account = self.connect()
        token, _exp = account._access_token()
        self.assertEqual(account._access_token()[0], token)
        requests_before = len(self.emu.control.requests())
        account.access_expires_at = fields.Datetime.now() + timedelta(minutes=2)
        new_token, _expires_at = account._access_token()
        self.assertNotEqual(new_token, token)
        self.assertGreater(len(self.emu.control.requests()), requests_before)
        self.assertTrue(account.access_expires_at > fields.Datetime.now() + timedelta(minutes=30))

    def test_refresh_stays_active(self):
        account = self.connect()
        # an earlier refresh, so that the new time is told apart within the same second
        earlier = fields.Datetime.now() - timedelta(hours=1)
        account.sudo().last_refresh_at = earlier
        token = account.sudo()._get_secret("access_token_enc")
        start = fields.Datetime.now()
        action = account.action_refresh()
        end = fields.Datetime.now()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(account.state, "active")
        self.assertTrue(start <= account.last_refresh_at <= end, (start, account.last_refresh_at, end))
        self.assertEqual(account.next_run_at - account.last_refresh_at, timedelta(days=1), "kept alive daily")
        self.assertNotEqual(account.sudo()._get_secret("access_token_enc"), token, "the tokens are renewed")

    def test_refresh_turns_expired_with_reason(self):
        account = self.connect()
        self.emu.control.update_user(defaults.USER_OID, password_changed=True)
        action = account.action_refresh()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertEqual(account.state, "expired")
        self.assertEqual(account.last_error_code, "50173")
        self.assertIn("Reconnect", account.last_error)
        self.assertFalse(account.has_tokens)
        self.assertTrue(account.activity_ids)
        self.assertEqual(account.activity_ids.user_id, account.user_id)

    def test_transient_failure_never_expires(self):
        account = self.connect()
        self.emu.control.inject_fault(service="entra", path="/token", status=500, code="server_error")
        account.action_refresh()
        self.assertEqual(account.state, "active")
        self.assertEqual(account.retry_count, 1)
        self.assertTrue(account.has_tokens)
        self.assertIn("retried", account.last_error)
        # next time it works, and the failure is forgotten
        account.action_refresh()
        self.assertEqual((account.state, account.retry_count, account.last_error), ("active", 0, False))

    def test_reconnect_same_record_and_wrong_tenant(self):
        account = self.connect()
        self.emu.control.update_user(defaults.USER_OID, password_changed=True)
        account.action_refresh()
        self.assertEqual(account.state, "expired")
        # another user of the same tenant does not silently replace the identity
        with self.assertRaises(AzureError) as caught:
            self.connect(user=defaults.SECOND_USER_EMAIL, account=account)
        self.assertEqual(caught.exception.code, "user_mismatch")
        again = self.connect(account=account)
        self.assertEqual(again, account)
        self.assertEqual(account.state, "active")
        self.assertEqual(account.ms_username, defaults.USER_EMAIL)
        self.assertFalse(account.activity_ids, "the reconnect activity is done")
        with self.assertRaises(AzureError) as caught:
            self.connect(user=defaults.OTHER_USER_EMAIL, account=account)
        self.assertEqual(caught.exception.code, "tenant_mismatch")
        self.assertEqual(account.ms_username, defaults.USER_EMAIL)

    def test_no_subscriptions_creates_nothing(self):
        count = self.env["cloud.account"].search_count([])
        with self.assertRaises(AzureError) as caught:
            self.connect(user=defaults.OTHER_USER_EMAIL)
        self.assertEqual(caught.exception.code, "NoSubscriptionsFound")
        self.assertEqual(self.env["cloud.account"].search_count([]), count)

    def test_disconnect_deletes_tokens(self):
        account = self.connect()
        action = account.action_disconnect()
        self.assertEqual(account.state, "disconnected")
        self.assertFalse(account.has_tokens)
        self.assertIn("Enterprise applications", action["params"]["message"])
        with self.assertRaises(AzureError):
            account._access_token()
        self.env.cr.execute(
            "SELECT refresh_token_enc, access_token_enc FROM cloud_account WHERE id = %s", (account.id,)
        )
        self.assertEqual(self.env.cr.fetchone(), (None, None))

    def test_manager_without_email_connects(self):
        """The chatter note of a connection does not need the user's email
        (message_post refused it after the code was redeemed: tokens lost)."""
        manager = new_test_user(self.env, "cloud_no_email", groups="oec_cloud_accounts.group_cloud_manager")
        manager.partner_id.email = False
        identity = self.cloud._identity()
        scopes = self.cloud._delegated_scopes()
        flow = identity.start_flow(scopes, self.cloud._redirect_uri(), "test-state")
        params, _location = self.answer_consent(flow["auth_uri"])
        result = identity.redeem(flow, params, scopes)
        account = self.env["cloud.account"].with_user(manager)._connect(self.cloud, result)
        self.assertEqual((account.state, account.create_uid), ("active", manager))
        self.assertTrue(account.sudo()._get_secret("refresh_token_enc"))
        self.assertIn("Connected as", account.message_ids[0].body)
        self.assertEqual(account.message_ids[0].author_id, manager.partner_id)

    def test_secret_flags_follow_the_secrets(self):
        account = self.connect()
        self.assertTrue(account.has_tokens and self.cloud.client_secret_set)
        account.sudo()._set_secret("refresh_token_enc", None)
        self.cloud.sudo()._set_secret("client_secret_enc", None)
        self.assertFalse(account.has_tokens, "read from the column again after a change")
        self.assertFalse(self.cloud.client_secret_set)
        self.cloud.set_client_secret(defaults.CLOUD_CLIENT_SECRET)
        self.assertTrue(self.cloud.client_secret_set)

    def test_tokens_encrypted_at_rest(self):
        account = self.connect()
        refresh_token = account.sudo()._get_secret("refresh_token_enc")
        self.assertTrue(refresh_token.startswith("1.emu.rt."))
        self.env.cr.execute("SELECT refresh_token_enc FROM cloud_account WHERE id = %s", (account.id,))
        stored = self.env.cr.fetchone()[0]
        self.assertTrue(stored.startswith("v2:"))
        self.assertNotIn(refresh_token, stored)
        self.env.cr.execute(
            "SELECT client_secret_enc FROM cloud_azure_environment WHERE id = %s", (self.cloud.id,)
        )
        self.assertNotIn(defaults.CLOUD_CLIENT_SECRET, self.env.cr.fetchone()[0])

    def test_missing_key_is_a_clear_error(self):
        with patch.dict(config.options, {"oec_cloud_secret_key": ""}), self.assertRaises(UserError) as caught:
            self.cloud.set_client_secret("x")
        self.assertIn("oec_cloud_secret_key", str(caught.exception))

    def test_settings(self):
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.cloud_environment_id, self.cloud)
        self.assertTrue(settings.cloud_redirect_uri.endswith("/cloud_accounts/azure/callback"))
        self.assertEqual(
            settings.cloud_scopes, "https://management.azure.com/user_impersonation offline_access"
        )
        self.assertTrue(settings.cloud_client_secret_set)
        public = self.env.ref("oec_cloud_accounts.cloud_azure_environment_public")
        form = Form(self.env["res.config.settings"])
        form.cloud_environment_id = public
        form.cloud_client_id = "11111111-2222-3333-4444-555555555555"
        form.cloud_client_secret = "a new secret"
        form.save().execute()
        self.assertEqual(public.client_id, "11111111-2222-3333-4444-555555555555")
        self.assertEqual(public.sudo()._get_secret("client_secret_enc"), "a new secret")
        self.assertEqual(self.env["res.config.settings"].create({}).cloud_environment_id, public)

    def test_clouds_are_data(self):
        expected = {
            "cloud_azure_environment_public": (
                "https://login.microsoftonline.com",
                "https://management.azure.com",
                "core.windows.net",
            ),
            "cloud_azure_environment_usgov": (
                "https://login.microsoftonline.us",
                "https://management.usgovcloudapi.net",
                "core.usgovcloudapi.net",
            ),
            "cloud_azure_environment_china": (
                "https://login.chinacloudapi.cn",
                "https://management.chinacloudapi.cn",
                "core.chinacloudapi.cn",
            ),
        }
        for xmlid, (login, arm, suffix) in expected.items():
            cloud = self.env.ref("oec_cloud_accounts." + xmlid)
            self.assertEqual(
                (cloud.authority_host, cloud.arm_endpoint, cloud.storage_suffix), (login, arm, suffix)
            )
        self.assertEqual(self.cloud.display_name, "Test emulator (sandbox)")

    def test_add_account_wizard(self):
        wizard = self.env["cloud.account.connect"].create({})
        self.assertEqual(wizard.environment_id, self.cloud)
        # the sign-in is prepared in the browser's session (test_connect_http), not without one
        with self.assertRaisesRegex(UserError, "from the browser"):
            wizard.action_connect_azure()
        public = self.env.ref("oec_cloud_accounts.cloud_azure_environment_public")
        with self.assertRaisesRegex(UserError, "not configured"):
            self.env["cloud.account.connect"].create({"environment_id": public.id}).action_connect_azure()
