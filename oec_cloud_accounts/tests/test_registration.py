"""Resource provider registration: Register asks Azure once; the scheduled action
follows the registration (minutes in Azure) until it ends, one subscription at a time."""

from datetime import timedelta

from azure_emulator import defaults

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..models.cloud_job_mixin import backoff
from .common import EmulatorMixin

THIRD_SUBSCRIPTION_ID = "5b6c7d8e-9f01-4123-a456-789abcdef012"


@tagged("post_install", "-at_install")
class TestProviderRegistration(EmulatorMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        # only our subscriptions: the database may hold others
        self.env["cloud.account.subscription"].search([]).write({"next_run_at": False})
        self.emu.control.add_subscription(
            id=THIRD_SUBSCRIPTION_ID, name="Third", providers={"Microsoft.Compute": "NotRegistered"}
        )
        self.account = self.connect()
        lines = {line.subscription_id: line for line in self.account.subscription_ids}
        self.unregistered = lines[defaults.UNREGISTERED_SUBSCRIPTION_ID]
        self.third = lines[THIRD_SUBSCRIPTION_ID]

    def _run(self):
        return self.run_job("cloud.account.subscription", "_cron_check_registrations")

    def _register(self, line, namespace="Microsoft.Compute"):
        return line.with_context(namespace=namespace).action_register_provider()

    def _due(self, line, minutes=1):
        line.next_run_at = fields.Datetime.now() - timedelta(minutes=minutes)

    def test_read_only_user_registers_nothing(self):
        viewer = new_test_user(self.env, "reg_viewer", groups="oec_cloud_accounts.group_cloud_user")
        since = len(self.emu.control.requests())
        with self.assertRaises(AccessError):
            self._register(self.unregistered.with_user(viewer))
        self.assertEqual(self.remote_calls(since), [], "Azure was never called")
        self.assertEqual(self.unregistered.compute_state, "NotRegistered")
        self.assertFalse(self.unregistered.next_run_at)

    def test_followed_until_registered(self):
        cron = self.env.ref("oec_cloud_accounts.ir_cron_check_registrations")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        action = self._register(self.unregistered)
        self.assertIn("Odoo follows its progress", action["params"]["message"])
        self.assertEqual(self.unregistered.compute_state, "Registering")
        self.assertFalse(self.unregistered.can_compute)
        first = self.unregistered.next_run_at - fields.Datetime.now()
        self.assertTrue(timedelta(seconds=50) <= first <= timedelta(seconds=60), first)
        self.assertGreater(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers)
        self.assertEqual(self._run(), 0, "not looked at before its time")
        # the emulator answers Registering to 3 reads (as Azure for minutes): each look waits longer
        for retries in (1, 2, 3):
            self._due(self.unregistered)
            self.assertEqual(self._run(), 1)
            self.assertEqual(
                (self.unregistered.compute_state, self.unregistered.retry_count), ("Registering", retries)
            )
            wait = self.unregistered.next_run_at - fields.Datetime.now()
            self.assertGreater(wait, timedelta(seconds=backoff(retries - 1) - 10))
        self._due(self.unregistered)
        self.assertEqual(self._run(), 1)
        line = self.unregistered
        self.assertEqual((line.compute_state, line.can_compute), ("Registered", True))
        self.assertEqual((line.next_run_at, line.retry_count, line.last_error), (False, 0, False))
        self.assertIn(
            "Azure registered Microsoft.Compute on subscription %s" % line.name,
            self.account.message_ids[0].body,
        )
        # the default subscription's capabilities follow it when it is the default
        line.action_set_default()
        self.assertTrue(self.account.can_compute)
        self.assertEqual(self._run(), 0, "nothing left to follow")

    def test_one_failing_subscription_does_not_stop_another(self):
        self.emu.control.configure(registration_polls=1)
        self._register(self.unregistered)
        self._register(self.third)
        # the failing one first
        self._due(self.third, minutes=2)
        self._due(self.unregistered)
        third_path = "/subscriptions/%s/providers" % THIRD_SUBSCRIPTION_ID
        self.emu.control.inject_fault(path=third_path, method="GET", status=500, count=None, service="arm")
        self.assertEqual(self._run(), 2)
        self.emu.control.clear_faults()
        # a passing failure: looked at again later, with backoff
        self.assertEqual((self.third.compute_state, self.third.retry_count), ("Registering", 1))
        self.assertTrue(self.third.last_error)
        self.assertGreater(self.third.next_run_at, fields.Datetime.now() + timedelta(seconds=50))
        self.assertEqual(self.unregistered.compute_state, "Registering")
        # a refusal: no more looks, and the account says why
        self.emu.control.inject_fault(
            path=third_path, method="GET", status=403, code="AuthorizationFailed", count=None, service="arm"
        )
        self._due(self.third, minutes=2)
        self._due(self.unregistered)
        self.assertEqual(self._run(), 2)
        self.assertFalse(self.third.next_run_at)
        self.assertEqual(
            (self.third.compute_state, self.third.last_error_code), ("Registering", "AuthorizationFailed")
        )
        self.assertEqual(
            (self.unregistered.compute_state, self.unregistered.can_compute), ("Registered", True)
        )
        bodies = self.account.message_ids.mapped("body")
        self.assertTrue(
            any(
                "stopped following the registration of Microsoft.Compute on subscription Third" in b
                for b in bodies
            )
        )
        self.assertTrue(any("Azure registered Microsoft.Compute" in b for b in bodies))
        self.assertEqual(self._run(), 0)
        # the refresh icon looks again and follows it again
        self.emu.control.clear_faults()
        self.emu.control.configure(registration_polls=5)
        self.account.action_refresh()
        self.assertTrue(self.third.next_run_at)

    def test_subscriptions_of_an_account_not_active_wait(self):
        self._register(self.unregistered)
        self.account.action_disconnect()
        self._due(self.unregistered)
        since = len(self.emu.control.requests())
        self.assertEqual(self._run(), 0)
        self.assertEqual(self.remote_calls(since), [])
        self.assertEqual(self.unregistered.compute_state, "Registering")
