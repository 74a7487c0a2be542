"""Every fault at every step (issue 24, part 3).

For each remote operation, run as a person or the scheduled action runs it, each
fault the emulator can make on its route: throttling with a Retry-After, 500,
503, no answer within the timeout, a dropped connection, the sign-in revoked
between two steps, the emulator gone and back. The test asserts what people see
(a message of azure_messages.py, never a traceback nor the "unexpected" one; or
the record's last error and its next attempt, Retry-After honoured) and that no
record is left in a state that is not true (Active, Running, Ready, Done).

The outcomes form the table of ``readme/FAULTS.md``: the test fails when the file
differs from what it saw. ``OEC_WRITE_FAULTS=1`` (with the same TEST_TAGS) rewrites it.
"""

import logging
import os
from pathlib import Path
from unittest.mock import patch

from azure_emulator import defaults

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..models.cloud_azure_environment import TIMEOUT_OPTION
from ..models.cloud_server_engine import POLL_PARAM
from ..services import AzureError
from .common import CAPTURED_TEXTS_VARIABLE, capture_texts, max_ids
from .storage_common import StorageMixin
from .test_server import ssh_key

_logger = logging.getLogger(__name__)

FAULTS_FILE = Path(__file__).resolve().parents[1] / "readme" / "FAULTS.md"
WRITE_VARIABLE = "OEC_WRITE_FAULTS"
# the client's timeout in this test (server option oec_azure_timeout) and the emulator's delay
TIMEOUT = 0.5
DELAY = 1.0
RETRY_AFTER = 120

FAULTS = (
    ("429 Retry-After: %d" % RETRY_AFTER, {"status": 429, "headers": {"Retry-After": str(RETRY_AFTER)}}),
    ("500", {"status": 500}),
    ("503", {"status": 503, "headers": {"Retry-After": "0"}}),
    ("timeout", {"delay": DELAY}),
    ("dropped connection", {"drop": True}),
    ("sign-in revoked", None),
    ("emulator gone and back", None),
)


def seconds_until(when):
    """Seconds from now to ``when`` (a naive UTC datetime), to the nearest 10."""
    return int(round((when - fields.Datetime.now()).total_seconds() / 10.0) * 10)


@tagged("post_install", "-at_install")
class TestFaults(StorageMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(patch.dict(config.options, {TIMEOUT_OPTION: TIMEOUT}))
        cls.env["ir.config_parameter"].sudo().set_param(POLL_PARAM, 0)
        cls.key = ssh_key()

    def setUp(self):
        super().setUp()
        self.outcomes = []

    # -- faults --------------------------------------------------------------------------------------

    def inject(self, fault, route):
        """Make ``fault`` on ``route`` ({service, path, method}); returns what ends it."""
        control = self.emu.control
        if fault == "sign-in revoked":
            # the access token in hand is no longer renewed: each step asks for one (its lifetime
            # is below the account's renewal margin), and the refresh token was revoked meanwhile
            control.revoke_refresh_tokens(user=defaults.USER_EMAIL)
            control.expire_codes()
            return lambda: None
        if fault == "emulator gone and back":
            self.emu.suspend()
            return self.emu.resume
        options = dict(FAULTS)[fault]
        control.inject_fault(count=None, **route, **options)
        return control.clear_faults

    def run_with(self, fault, route, operation):
        end = self.inject(fault, route)
        try:
            return operation()
        finally:
            end()

    def record(self, operation, fault, shown, retried):
        self.outcomes.append((operation, fault, shown, retried))

    def connected(self):
        # tokens short-lived (below ACCESS_MARGIN): every step renews its access token, so that
        # a sign-in revoked between two steps is seen at the next one, as it is once the hour ends
        self.emu.control.configure(access_token_ttl=60)
        return self.connect()

    # -- the operations ------------------------------------------------------------------------------

    def op_connect(self, fault):
        route = {"service": "entra", "path": "/token", "method": "POST"}
        identity = self.cloud._identity()
        scopes = self.cloud._delegated_scopes()
        flow = identity.start_flow(scopes, self.cloud._redirect_uri(), "test-state")
        params, _location = self.answer_consent(flow["auth_uri"])

        def redeem():
            result = identity.redeem(flow, params, scopes)
            return self.env["cloud.account"]._connect(self.cloud, result)

        before = self.env["cloud.account"].search_count([])
        with self.assertRaises(AzureError) as caught:
            self.run_with(fault, route, redeem)
        error = caught.exception
        self.assertNotEqual(error.key, "job.unexpected")
        self.assertEqual(self.env["cloud.account"].search_count([]), before, "no half-made account")
        self.record("Connect (code redemption)", fault, "error page: `%s`" % error.key, "when Try again")

    def op_refresh(self, fault):
        account = self.connected()
        route = {"service": "entra", "path": "/token", "method": "POST"}
        account.sudo().next_run_at = False
        self.run_with(fault, route, lambda: self.run_job("cloud.account", "_cron_refresh_tokens"))
        account.invalidate_recordset()
        self.assertTrue(account.last_error, "the failure is recorded")
        if fault == "sign-in revoked":
            self.assertEqual(account.state, "expired", "no Active account without a sign-in")
            self.assertTrue(account.activity_ids)
            retried = "after Reconnect"
        else:
            self.assertIn(account.state, ("active", "error"))
            self.assertTrue(account.next_run_at)
            retried = "in %d s" % seconds_until(account.next_run_at)
        self.record(
            "Token refresh (scheduled)",
            fault,
            "account %s, `%s` in its last error" % (account.state, account.last_error_code),
            retried,
        )

    def op_capabilities(self, fault):
        account = self.connected()
        route = {"service": "arm", "path": "/subscriptions", "method": "GET"}
        answer = self.run_with(fault, route, account.action_refresh)
        account.invalidate_recordset()
        self.assertEqual(answer["params"]["type"], "warning", answer)
        if fault == "sign-in revoked":
            self.assertEqual(account.state, "expired")
        self.assertNotEqual(account.last_error_code, "unexpected_error", account.last_error)
        self.record(
            "Capability check (Refresh button)",
            fault,
            "warning notification, account %s (`%s`)" % (account.state, account.last_error_code),
            "when clicked again" if fault != "sign-in revoked" else "after Reconnect",
        )

    def new_server(self, account):
        subscription = account.subscription_ids.filtered(
            lambda s: s.subscription_id == defaults.SUBSCRIPTION_ID
        )
        return self.env["cloud.server"].create(
            {
                "name": "Fault ERP",
                "account_id": account.id,
                "subscription_line_id": subscription.id,
                "location": "westeurope",
                "vm_size": "Standard_B2s",
                "ssh_public_key": self.key,
                "ssh_allowed_cidrs": "203.0.113.0/24",
                "host_name": "erp.example.com",
            }
        )

    def advance(self, server, until, passes=40):
        for _index in range(passes):
            self.run_job("cloud.server", "_cron_advance")
            server.invalidate_recordset()
            if until(server):
                return
        self.fail("server stuck at %s/%s: %s" % (server.state, server.step, server.last_error))

    def server_outcome(self, operation, fault, server, account, expected_state):
        """A server step that failed: its state is still the true one, and it says when it goes on."""
        server.invalidate_recordset()
        account.invalidate_recordset()
        self.assertEqual(server.state, expected_state, server.last_error)
        self.assertTrue(server.last_error)
        self.assertNotEqual(server.last_error_code, "unexpected_error", server.last_error)
        if fault == "sign-in revoked":
            self.assertEqual(account.state, "expired")
            shown = "server %s, on hold; account expired (`%s`)" % (server.state, account.last_error_code)
            retried = "after Reconnect"
        else:
            shown = "server %s, `%s` in its last error" % (server.state, server.last_error_code)
            retried = "in %d s" % seconds_until(server.next_run_at)
        self.record(operation, fault, shown, retried)

    def op_provision_step(self, fault):
        account = self.connected()
        server = self.new_server(account)
        server.action_provision()
        self.run_job("cloud.server", "_cron_advance")  # the resource group, the step before
        server.invalidate_recordset()
        self.assertEqual(server.step, "nsg")
        route = {"service": "arm", "path": "/networkSecurityGroups/", "method": "PUT"}
        self.run_with(fault, route, lambda: self.run_job("cloud.server", "_cron_advance"))
        self.server_outcome(
            "Provisioning step (network security group)", fault, server, account, "provisioning"
        )

    def op_vm_action(self, fault):
        account = self.connected()
        server = self.new_server(account)
        server.action_provision()
        self.advance(server, lambda s: not s.operation or s.state == "failed")
        self.assertEqual(server.state, "running", server.last_error)
        server.action_stop()
        route = {"service": "arm", "path": "/deallocate", "method": "POST"}
        self.run_with(fault, route, lambda: self.run_job("cloud.server", "_cron_advance"))
        server.invalidate_recordset()
        self.assertEqual(server.operation, "stop", "still to do")
        self.server_outcome("VM action (Stop)", fault, server, account, "running")

    def op_storage_access(self, fault):
        account = self.connected()
        storage = self.ready_storage(account)
        route = {"service": "blob", "path": "/oecready/", "method": ".*"}
        if fault == "sign-in revoked":
            route = {"service": "arm", "path": "/listKeys", "method": "POST"}
        self.run_with(fault, route, storage.action_test_access)
        storage.invalidate_recordset()
        account.invalidate_recordset()
        self.assertTrue(storage.last_error)
        self.assertNotIn("Unexpected", storage.last_error)
        if fault == "sign-in revoked":
            # the account's failure, not the location's: the account says so (Expired) and the
            # location, whose blobs were never reached, waits for it (ARCHITECTURE.md, job mixin)
            self.assertEqual(account.state, "expired")
            self.assertIn("On hold", storage.last_error)
            shown = "location %s, on hold; account expired (`%s`)" % (storage.state, account.last_error_code)
            retried = "after Reconnect"
        else:
            self.assertEqual(storage.state, "error", "no Ready location that failed its test")
            shown = "location %s, account %s; message in the chatter" % (storage.state, account.state)
            retried = "when Test Access is clicked again"
        self.record("Storage access test (upload, read, delete a marker)", fault, shown, retried)

    def op_prices(self, fault):
        if fault == "sign-in revoked":
            return  # the retail prices need no sign-in
        self.run_job("cloud.price", "_cron_refresh_prices")
        count = self.env["cloud.price"].search_count([])
        self.assertTrue(count)
        route = {"service": "prices", "path": "/api/retail", "method": "GET"}
        self.run_with(fault, route, lambda: self.run_job("cloud.price", "_cron_refresh_prices"))
        self.assertEqual(self.env["cloud.price"].search_count([]), count, "the previous prices are kept")
        self.record(
            "Price refresh (scheduled)", fault, "previous prices kept; logged", "at the next daily run"
        )

    # -- the table -----------------------------------------------------------------------------------

    OPERATIONS = (
        "op_connect",
        "op_refresh",
        "op_capabilities",
        "op_provision_step",
        "op_vm_action",
        "op_storage_access",
        "op_prices",
    )

    def test_every_fault_at_every_step(self):
        for operation in self.OPERATIONS:
            for fault, _options in FAULTS:
                with self.subTest(operation=operation, fault=fault):
                    self.emu.control.reset()
                    since = max_ids(self.env)
                    try:
                        # each case's records are undone, once what it wrote for people is captured
                        with self.env.cr.savepoint() as savepoint:
                            getattr(self, operation)(fault)
                            if os.environ.get(CAPTURED_TEXTS_VARIABLE):
                                capture_texts(self.env, since)
                            savepoint.rollback()
                    finally:
                        self.emu.resume()
                        self.emu.control.clear_faults()
        self.check_table()

    def check_table(self):
        lines = [
            "<!-- generated by oec_cloud_accounts/tests/test_faults.py: do not edit; to regenerate,",
            "     OEC_WRITE_FAULTS=1 TEST_TAGS=/oec_cloud_accounts:TestFaults make test -->",
            "",
            "What people see when Azure fails at each step, as the test suite saw it against the",
            "local emulator (client timeout %s s, Retry-After %d s, retries at once)."
            % (TIMEOUT, RETRY_AFTER),
            "",
            "| operation | fault | outcome (shown how) | retried when |",
            "| --- | --- | --- | --- |",
        ]
        lines += ["| %s | %s | %s | %s |" % row for row in self.outcomes]
        text = "\n".join(lines) + "\n"
        if os.environ.get(WRITE_VARIABLE):
            FAULTS_FILE.write_text(text)
            _logger.info("%s written", FAULTS_FILE)
            return
        current = FAULTS_FILE.read_text() if FAULTS_FILE.is_file() else ""
        self.assertEqual(
            current,
            text,
            "readme/FAULTS.md differs from what the test saw: run %s=1 TEST_TAGS=/oec_cloud_accounts:"
            "TestFaults make test, then review and commit the file" % WRITE_VARIABLE,
        )
