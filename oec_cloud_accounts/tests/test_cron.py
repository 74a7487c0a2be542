from datetime import timedelta

from azure_emulator import defaults

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import TransactionCase, tagged

from ..models.cloud_job_mixin import RETRY_AFTER_MAX, backoff
from ..services import AzureError
from .common import EmulatorMixin


@tagged("post_install", "-at_install")
class TestCron(EmulatorMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        # only our accounts: the database may hold others
        self.env["cloud.account"].search([]).write({"active": False})
        self.first = self.connect()
        self.second = self.connect(user=defaults.SECOND_USER_EMAIL)
        self.past = fields.Datetime.now() - timedelta(minutes=1)

    def _run(self):
        return self.run_job("cloud.account", "_cron_refresh_tokens")

    def test_only_due_accounts_are_refreshed(self):
        self.assertEqual(self._run(), 0, "freshly connected accounts are not due")
        self.first.next_run_at = self.past
        token = self.first.sudo()._get_secret("refresh_token_enc")
        self.assertEqual(self._run(), 1)
        self.assertNotEqual(self.first.sudo()._get_secret("refresh_token_enc"), token)
        self.assertGreater(self.first.next_run_at, fields.Datetime.now() + timedelta(hours=12))

    def test_batches_and_trigger(self):
        (self.first | self.second).next_run_at = self.past
        cron = self.env.ref("oec_cloud_accounts.ir_cron_refresh_tokens")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        self.assertEqual(self.run_job("cloud.account", "_cron_refresh_tokens", batch_size=1), 1)
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
            triggers + 1,
            "a full batch asks for another run",
        )
        self.assertEqual(self._run(), 1)

    def test_transient_failures_back_off(self):
        self.first.next_run_at = self.past
        self.emu.control.inject_fault(service="entra", path="/token", status=429)
        self._run()
        self.assertEqual((self.first.state, self.first.retry_count), ("active", 1))
        self.assertGreaterEqual(self.first.next_run_at, fields.Datetime.now() + timedelta(seconds=50))
        self.assertEqual(self._run(), 0, "not retried before its time")
        # timeouts and dropped connections are transient too
        for fault in ({"drop": True}, {"status": 503, "code": "ServiceUnavailable"}):
            self.first.next_run_at = self.past
            self.emu.control.inject_fault(service="entra", path="/token", **fault)
            self._run()
            self.assertEqual(self.first.state, "active")
        self.assertEqual(self.first.retry_count, 3)
        # the backoff grows: 60 s, 120 s, 240 s...
        self.assertGreaterEqual(self.first.next_run_at, fields.Datetime.now() + timedelta(seconds=230))
        self.first.next_run_at = self.past
        self._run()
        self.assertEqual((self.first.state, self.first.retry_count), ("active", 0))

    def test_backoff_follows_retry_after_within_a_bound(self):
        """60 s doubled per failure up to an hour; Azure's Retry-After when longer (Compute
        asks up to 1200 s), but never more than RETRY_AFTER_MAX."""
        self.assertEqual([backoff(n) for n in range(8)], [60, 120, 240, 480, 960, 1920, 3600, 3600])
        self.assertEqual(backoff(0, 1200), 1200)
        self.assertEqual(backoff(3, 30), 480)
        self.assertEqual(backoff(0, 10**7), RETRY_AFTER_MAX)

    def test_invalid_grant_expires_with_activity(self):
        (self.first | self.second).next_run_at = self.past
        self.emu.control.revoke_refresh_tokens(user=defaults.USER_EMAIL)
        self.assertEqual(self._run(), 2)
        self.assertEqual(self.first.state, "expired")
        self.assertEqual(self.first.last_error_code, "50173")
        self.assertEqual(self.second.state, "active", "one account's failure does not stop the others")
        self.assertTrue(any("Expired" in message.body for message in self.first.message_ids))
        activity = self.first.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.env.user)
        self.assertEqual(self._run(), 0, "expired accounts are left alone")

    def test_proxy_page_does_not_stop_the_others(self):
        """A proxy's HTML page instead of a token answer (200 or 400): that
        account backs off, the next ones are refreshed in the same run."""
        page = "<html><body><h1>Access denied by the corporate proxy</h1></body></html>"
        for status in (200, 400):
            with self.subTest(status=status):
                self.first.write({"next_run_at": self.past - timedelta(hours=1), "retry_count": 0})
                self.second.next_run_at = self.past
                token = self.second.sudo()._get_secret("refresh_token_enc")
                self.emu.control.inject_fault(service="entra", path="/token", status=status, body=page)
                self.assertEqual(self._run(), 2)
                self.assertEqual(
                    (self.first.state, self.first.retry_count, self.first.last_error_code),
                    ("active", 1, "unexpected_response"),
                )
                self.assertIn("HTTP %d" % status, self.first.last_error)
                self.assertGreater(self.first.next_run_at, fields.Datetime.now())
                self.assertNotEqual(self.second.sudo()._get_secret("refresh_token_enc"), token)
                self.assertGreater(self.second.next_run_at, fields.Datetime.now() + timedelta(hours=12))
        # the Refresh button on it: a message, not a traceback
        self.emu.control.inject_fault(service="entra", path="/token", status=200, body=page)
        answer = self.first.action_refresh()
        self.assertEqual(answer["params"]["type"], "warning")
        self.assertIn("unexpected answer (HTTP 200)", answer["params"]["message"])

    def test_wrong_client_secret_is_retried_once_fixed(self):
        """invalid_client (AADSTS7000215) hits every account: Error with an
        activity, retried on a slow schedule and at once when the secret changes."""
        (self.first | self.second).next_run_at = self.past
        self.emu.control.update_app(defaults.CLOUD_CLIENT_ID, secret="the-new-secret")
        self.assertEqual(self._run(), 2)
        for account in self.first | self.second:
            self.assertEqual((account.state, account.last_error_code), ("error", "7000215"))
            self.assertTrue(account.sudo()._get_secret("refresh_token_enc"), "the tokens are kept")
            self.assertGreater(account.next_run_at, fields.Datetime.now() + timedelta(hours=5))
            self.assertEqual(account.activity_ids.summary, "Check the Azure account")
            self.assertEqual(account.activity_ids.user_id, self.env.user)
        self.assertEqual(self._run(), 0, "not hammered with the same wrong secret")
        cron = self.env.ref("oec_cloud_accounts.ir_cron_refresh_tokens")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        self.cloud.set_client_secret("the-new-secret")
        self.assertEqual(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers + 1)
        self.assertEqual(self._run(), 2)
        for account in self.first | self.second:
            self.assertEqual(account.state, "active")
            self.assertFalse(account.activity_ids, "the activity was answered")
            self.assertTrue(account.subscription_ids.filtered("is_default").can_compute)

    def test_run_by_the_cron_job_processing(self):
        """The scheduled action as ir.cron runs it (its own cursor and error
        handling): one account answering a proxy page does not fail the job."""
        (self.first | self.second).next_run_at = self.past
        self.first.next_run_at = self.past - timedelta(hours=1)
        self.emu.control.inject_fault(service="entra", path="/token", status=200, body="<html>proxy</html>")
        cron = self.env.ref("oec_cloud_accounts.ir_cron_refresh_tokens")
        cron.write({"nextcall": self.past, "active": True})
        self.env.flush_all()
        self.registry.enter_test_mode(self.cr)
        try:
            with (
                self.assertNoLogs("odoo.addons.base.models.ir_cron", "ERROR"),
                self.registry.cursor() as cron_cr,
            ):
                self.registry["ir.cron"]._process_job(self.registry.db_name, cron_cr, cron.read(load=None)[0])
        finally:
            self.registry.leave_test_mode()
        (self.first | self.second).invalidate_recordset()
        cron.invalidate_recordset()
        self.assertEqual((self.first.retry_count, self.first.last_error_code), (1, "unexpected_response"))
        self.assertEqual((self.second.retry_count, self.second.state), (0, "active"))
        self.assertGreater(self.second.next_run_at, fields.Datetime.now() + timedelta(hours=12))
        self.assertGreater(cron.nextcall, self.past)

    def test_inactivity_expiry(self):
        self.second.next_run_at = self.past
        self.emu.control.expire_refresh_tokens(user=defaults.SECOND_USER_EMAIL)
        self._run()
        self.assertEqual((self.second.state, self.second.last_error_code), ("expired", "700082"))

    def test_copy_of_the_database_sends_nothing(self):
        """In a copy of the database (Odoo renewed database.uuid, as its restore "as a copy" and
        Duplicate do) the tokens are the original's: the accounts end Expired saying why, at the
        first pass, and nothing is sent to Azure, no activity, no mail."""
        activities, mails = self.env["mail.activity"].search_count([]), self.env["mail.mail"].search_count([])
        self.env["ir.config_parameter"].sudo().init(force=True)
        accounts = self.first | self.second
        accounts.invalidate_recordset()
        self.assertEqual(accounts.mapped("is_usable"), [False, False], "not usable here, at once")
        before = len(self.emu.control.requests())
        # Refresh on the card: said at once
        action = self.first.action_refresh()
        self.assertIn("copy of another Odoo database", action["params"]["message"])
        # the scheduled action takes the other one though it was refreshed a moment ago
        self.assertEqual(self._run(), 1)
        self.assertEqual(self.remote_calls(since=before), [], "nothing reached Azure")
        for account in accounts:
            self.assertEqual(account.state, "expired")
            self.assertIn("copy of another Odoo database", account.last_error)
            self.assertFalse(account.has_tokens, "the original's tokens are deleted from the copy")
            self.assertIn("copy of another Odoo database", account.message_ids.filtered("body")[0].body)
        self.assertEqual(self._run(), 0)
        self.assertEqual(self.env["mail.activity"].search_count([]), activities)
        self.assertEqual(self.env["mail.mail"].search_count([]), mails)
        # Reconnect needs the cloud's client secret, the original's too: said before any request
        self.assertFalse(self.cloud.client_secret_set)
        with self.assertRaises(AzureError) as caught:
            self.cloud._identity()
        self.assertEqual(caught.exception.key, "cloud.client_secret_copy")
        self.assertEqual(self.remote_calls(since=before), [])
        # entered again in the copy, the account reconnects and works there
        self.cloud.set_client_secret(defaults.CLOUD_CLIENT_SECRET)
        self.assertEqual(self.connect(account=self.first).state, "active")
        self.assertTrue(self.first.is_usable)


@tagged("post_install", "-at_install")
class TestCronConcurrency(TransactionCase):
    """Two cron workers on real cursors: an account locked by one is skipped by
    the other, without waiting. Needs committed rows, cleaned up afterwards."""

    def test_skip_locked(self):
        with self.registry.cursor() as cr0:
            env0 = api.Environment(cr0, SUPERUSER_ID, {"tracking_disable": True, "mail_create_nolog": True})
            cloud = env0["cloud.azure.environment"].create(
                {
                    "name": "Concurrency test",
                    "authority_host": "https://127.0.0.1:9",
                    "arm_endpoint": "https://127.0.0.1:9",
                    "arm_audience": "https://management.azure.com/",
                }
            )
            account = env0["cloud.account"].create({"environment_id": cloud.id, "name": "Locked"})
            account._set_secret("refresh_token_enc", "never used")
            ids = (account.id, cloud.id)
        try:
            with self.registry.cursor() as worker1, self.registry.cursor() as worker2:
                worker1.execute("SELECT id FROM cloud_account WHERE id = %s FOR UPDATE", (ids[0],))
                # a wait for the lock would be an error here, not a hang (for the session: the job commits)
                worker2.execute("SET lock_timeout = '2s'")
                env2 = api.Environment(worker2, SUPERUSER_ID, {})
                locked = env2["cloud.account"].browse(ids[0])
                env2["cloud.account"]._cron_refresh_tokens(batch_size=1000)
                self.assertEqual(
                    (locked.last_refresh_at, locked.retry_count, locked.last_error), (False, 0, False)
                )
                worker1.rollback()
                # the lock gone, the same picker takes it: it was due, and skipped only for its lock
                env2["cloud.account"]._cron_refresh_tokens(batch_size=1000)
                locked.invalidate_recordset()
                self.assertEqual(locked.retry_count, 1, "its refresh was tried (the host is unreachable)")
                self.assertTrue(locked.last_error)
                worker2.execute("RESET lock_timeout")
                worker2.commit()
        finally:
            with self.registry.cursor() as cr3:
                cr3.execute("DELETE FROM cloud_account WHERE id = %s", (ids[0],))
                cr3.execute("DELETE FROM cloud_azure_environment WHERE id = %s", (ids[1],))
