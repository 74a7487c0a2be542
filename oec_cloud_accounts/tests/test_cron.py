from datetime import timedelta

from azure_emulator import defaults

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import TransactionCase, tagged

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
        return self.env["cloud.account"]._cron_refresh_tokens()

    def test_cron_exists(self):
        cron = self.env.ref("oec_cloud_accounts.ir_cron_refresh_tokens")
        self.assertTrue(cron.active)
        self.assertEqual(cron.code.strip(), "model._cron_refresh_tokens()")

    def test_only_due_accounts_are_refreshed(self):
        self.assertEqual(self._run(), 0, "freshly connected accounts are not due")
        self.first.next_refresh_at = self.past
        token = self.first.sudo()._get_secret("refresh_token_enc")
        self.assertEqual(self._run(), 1)
        self.assertNotEqual(self.first.sudo()._get_secret("refresh_token_enc"), token)
        self.assertGreater(self.first.next_refresh_at, fields.Datetime.now() + timedelta(hours=12))

    def test_batches_and_trigger(self):
        (self.first | self.second).next_refresh_at = self.past
        cron = self.env.ref("oec_cloud_accounts.ir_cron_refresh_tokens")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        self.assertEqual(self.env["cloud.account"]._cron_refresh_tokens(batch_size=1), 1)
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
            triggers + 1,
            "a full batch asks for another run",
        )
        self.assertEqual(self._run(), 1)

    def test_transient_failures_back_off(self):
        self.first.next_refresh_at = self.past
        self.emu.control.inject_fault(service="entra", path="/token", status=429)
        self._run()
        self.assertEqual((self.first.state, self.first.retry_count), ("active", 1))
        self.assertGreaterEqual(self.first.next_refresh_at, fields.Datetime.now() + timedelta(seconds=50))
        self.assertEqual(self._run(), 0, "not retried before its time")
        # timeouts and dropped connections are transient too
        for fault in ({"drop": True}, {"status": 503, "code": "ServiceUnavailable"}):
            self.first.next_refresh_at = self.past
            self.emu.control.inject_fault(service="entra", path="/token", **fault)
            self._run()
            self.assertEqual(self.first.state, "active")
        self.assertEqual(self.first.retry_count, 3)
        # the backoff grows: 60 s, 120 s, 240 s...
        self.assertGreaterEqual(self.first.next_refresh_at, fields.Datetime.now() + timedelta(seconds=230))
        self.first.next_refresh_at = self.past
        self._run()
        self.assertEqual((self.first.state, self.first.retry_count), ("active", 0))

    def test_invalid_grant_expires_with_activity(self):
        (self.first | self.second).next_refresh_at = self.past
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

    def test_inactivity_expiry(self):
        self.second.next_refresh_at = self.past
        self.emu.control.expire_refresh_tokens(user=defaults.SECOND_USER_EMAIL)
        self._run()
        self.assertEqual((self.second.state, self.second.last_error_code), ("expired", "700082"))


@tagged("post_install", "-at_install")
class TestCronConcurrency(TransactionCase):
    """Two cron workers: an account locked by one is skipped by the other,
    without waiting. Needs committed rows, cleaned up afterwards."""

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
                # a wait for the lock would be an error here, not a hang
                worker2.execute("SET LOCAL lock_timeout = '2s'")
                env2 = api.Environment(worker2, SUPERUSER_ID, {})
                worker2.execute(
                    "SELECT count(*) FROM cloud_account WHERE active AND state = 'active' "
                    "AND refresh_token_enc IS NOT NULL AND id != %s",
                    (ids[0],),
                )
                others = worker2.fetchone()[0]
                self.assertEqual(env2["cloud.account"]._cron_refresh_tokens(batch_size=others + 1), others)
                self.assertEqual(env2["cloud.account"].browse(ids[0]).last_refresh_at, False)
                worker2.rollback()
                worker1.rollback()
        finally:
            with self.registry.cursor() as cr3:
                cr3.execute("DELETE FROM cloud_account WHERE id = %s", (ids[0],))
                cr3.execute("DELETE FROM cloud_azure_environment WHERE id = %s", (ids[1],))
