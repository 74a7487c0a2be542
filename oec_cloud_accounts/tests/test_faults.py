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
import re
import time
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import psycopg2
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns.models import Zone
from azure.mgmt.resource.resources import ResourceManagementClient
from azure_emulator import defaults

from odoo import fields
from odoo.exceptions import UserError
from odoo.sql_db import connection_info_for
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from odoo.addons.oec_auth_azure.services.urls import TIMEOUT_OPTION
from odoo.addons.oec_auth_azure.tests.faults import (
    DELAY,
    FAULT_NAMES,
    GONE,
    RETRY_AFTER,
    REVOKED,
    TIMED_OUT,
    TIMEOUT,
    check_table,
    inject,
)

from ..models.cloud_backup_run import TRANSIENT_TRIES
from ..models.cloud_server_engine import POLL_PARAM
from ..services import AzureError
from ..services.blob import MIN_READ_TIMEOUT
from .common import CAPTURED_TEXTS_VARIABLE, capture_texts, max_ids
from .storage_common import StorageMixin
from .test_server import ssh_key

_logger = logging.getLogger(__name__)

FAULTS_FILE = Path(__file__).resolve().parents[1] / "readme" / "FAULTS.md"
# the faults of an operation whose client another row already meets with all of them: 503 takes
# the path of 500 in every client, the timeout and the emulator gone that of a dropped connection
# (the client's network errors)
REDUCED = tuple(name for name in FAULT_NAMES if name not in ("503", TIMED_OUT, GONE))
# the resource type of an ARM path (its second-to-last segment) -> the words of the table
RESOURCE_TYPES = {
    "resourcegroups": "resource group",
    "networksecuritygroups": "network security group",
    "virtualnetworks": "virtual network",
    "publicipaddresses": "public IP address",
    "networkinterfaces": "network interface",
    "virtualmachines": "virtual machine",
}
VM_ACTIONS = {
    # action: (the route of its request, the state it leaves while not done)
    "stop": ({"service": "arm", "path": "/deallocate", "method": "POST"}, "running"),
    "start": ({"service": "arm", "path": "/start\\?", "method": "POST"}, "stopped"),
    "restart": ({"service": "arm", "path": "/restart\\?", "method": "POST"}, "running"),
    "delete": ({"service": "arm", "path": "/resourcegroups/[^/?]+\\?", "method": "DELETE"}, "deleting"),
}
ZONE = "faults.example"
RG = "oec-dns"


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

    # -- faults --------------------------------------------------------------------------------------

    def run_with(self, fault, route, operation, revoke=None, delay=None):
        self.delay_used = delay or DELAY
        end = inject(self.emu, fault, route, revoke, delay)
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

    def calls_of(self, operation):
        """The remote calls ``operation()`` makes when nothing fails (its effects undone)."""
        since = len(self.emu.control.requests())
        with self.env.cr.savepoint(flush=False) as savepoint:
            operation()
            self.env.flush_all()
            savepoint.rollback()
        self.env.invalidate_all()
        return self.remote_calls(since)

    def account_outcome(self, account, fault):
        """A failure of the account's sign-in: the account says so (Expired), the work waits."""
        account.invalidate_recordset()
        self.assertEqual(account.state, "expired", "no Active account without a sign-in")
        return "account expired (`%s`)" % account.last_error_code

    def user_action(self, fault, route, operation):
        """A button whose failure is an error dialog: as over RPC, the UserError rolls its
        transaction back (nothing it wrote is kept). Returns the dialog's text."""
        with self.assertRaises(UserError) as caught, self.env.cr.savepoint():
            self.run_with(fault, route, operation)
        self.env.invalidate_all()
        text = str(caught.exception)
        self.assertNotIn("Unexpected", text)
        return text

    def dialog_outcome(self, account, fault, text):
        shown = 'error dialog: "%s"' % " ".join(text.split())
        if fault == REVOKED:
            # the dialog says to reconnect; the account's state, rolled back with the action, is
            # left to the next token refresh (the scheduled action) to find
            self.assertIn("Reconnect", text)
            account.invalidate_recordset()
            shown += " (Reconnect); account %s until its next scheduled token refresh" % account.state
        return shown

    # -- sign-in and account -------------------------------------------------------------------------

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
        if fault == REVOKED:
            self.assertEqual(account.state, "expired", "no Active account without a sign-in")
            self.assertTrue(account.activity_ids)
            retried = "after Reconnect"
        else:
            self.assertIn(account.state, ("active", "error"))
            self.assertTrue(account.next_run_at)
            retried = "in %d s" % seconds_until(account.next_run_at)
            if fault.startswith("429"):
                self.assertGreaterEqual(seconds_until(account.next_run_at), RETRY_AFTER, "Retry-After")
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
        if fault == REVOKED:
            self.assertEqual(account.state, "expired")
        self.assertNotEqual(account.last_error_code, "unexpected_error", account.last_error)
        if fault == REVOKED:
            retried = "after Reconnect"
        else:
            # the notification's "it will be retried": the scheduled token refresh does
            retried = "in %d s (the scheduled token refresh), or when clicked again" % seconds_until(
                account.next_run_at
            )
            if fault.startswith("429"):
                self.assertGreaterEqual(seconds_until(account.next_run_at), RETRY_AFTER, "Retry-After")
        self.record(
            "Capability check (Refresh button)",
            fault,
            "warning notification, account %s (`%s`)" % (account.state, account.last_error_code),
            retried,
        )

    def op_registration(self, fault):
        """The scheduled look at a provider registration Azure is doing."""
        account = self.connected()
        line = account.subscription_ids.filtered(
            lambda s: s.subscription_id == defaults.UNREGISTERED_SUBSCRIPTION_ID
        )
        line.with_context(namespace="Microsoft.Compute").action_register_provider()
        self.assertEqual(line.compute_state, "Registering")
        line.sudo().next_run_at = fields.Datetime.now() - timedelta(minutes=1)
        route = {
            "service": "arm",
            "path": "/subscriptions/%s/providers" % defaults.UNREGISTERED_SUBSCRIPTION_ID,
            "method": "GET",
        }
        self.run_with(
            fault, route, lambda: self.run_job("cloud.account.subscription", "_cron_check_registrations")
        )
        line.invalidate_recordset()
        self.assertEqual(line.compute_state, "Registering", "not Registered by a look that failed")
        if fault == REVOKED:
            shown = "subscription still Registering; " + self.account_outcome(account, fault)
            retried = "after Reconnect"
        else:
            self.assertTrue(line.last_error)
            shown = "subscription still Registering, `%s` in its last error" % line.last_error_code
            retried = "in %d s" % seconds_until(line.next_run_at)
        self.record("Provider registration check (scheduled)", fault, shown, retried)

    # -- servers -------------------------------------------------------------------------------------

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

    def cron_pass(self):
        self.run_job("cloud.server", "_cron_advance")

    def advance(self, server, until, passes=40):
        for _index in range(passes):
            self.cron_pass()
            server.invalidate_recordset()
            if until(server):
                return
        self.fail("server stuck at %s/%s: %s" % (server.state, server.step, server.last_error))

    def settled(self, server):
        self.advance(server, lambda s: not s.operation or s.state == "failed")

    def server_outcome(self, operation, fault, server, account, expected_state):
        """A server step that failed: its state is still the true one, and it says when it goes on."""
        server.invalidate_recordset()
        account.invalidate_recordset()
        self.assertEqual(server.state, expected_state, server.last_error)
        self.assertTrue(server.last_error)
        self.assertNotEqual(server.last_error_code, "unexpected_error", server.last_error)
        if fault == REVOKED:
            self.assertEqual(account.state, "expired")
            shown = "server %s, on hold; account expired (`%s`)" % (server.state, account.last_error_code)
            retried = "after Reconnect"
        else:
            shown = "server %s, `%s` in its last error" % (server.state, server.last_error_code)
            retried = "in %d s" % seconds_until(server.next_run_at)
            if fault.startswith("429"):
                self.assertGreaterEqual(seconds_until(server.next_run_at), RETRY_AFTER, "Retry-After")
        self.record(operation, fault, shown, retried)

    def provision_steps(self):
        """The creation requests of a provisioning as it goes now: [(cron pass, route, words)], read
        from the emulator's log of one provisioning without faults. A step that appears, goes, or
        joins another's pass changes the rows, not the test."""
        self.emu.control.reset()
        steps = {}
        with self.env.cr.savepoint() as savepoint:
            server = self.new_server(self.connected())
            server.action_provision()
            for index in range(1, 40):
                since = len(self.emu.control.requests())
                self.cron_pass()
                server.invalidate_recordset()
                for call in self.remote_calls(since):
                    segments = call["path"].rstrip("/").split("/")
                    kind = (
                        segments[-2].lower() if call["method"] == "PUT" and call["service"] == "arm" else ""
                    )
                    if kind and kind not in steps:
                        # the same request whatever the names (the ids in them differ between runs)
                        route = {
                            "service": "arm",
                            "method": "PUT",
                            "path": "/%s/[^/?]+\\?" % re.escape(segments[-2]),
                        }
                        steps[kind] = (index, route, RESOURCE_TYPES.get(kind, kind))
                if server.state != "provisioning":
                    break
            self.assertEqual(server.state, "running", server.last_error)
            savepoint.rollback()
        self.assertIn("virtualmachines", steps, "the provisioning creates a VM")
        return sorted(steps.values(), key=lambda step: step[0])

    def op_provision_step(self, fault, step):
        index, route, words = step
        account = self.connected()
        server = self.new_server(account)
        server.action_provision()
        for _index in range(index - 1):
            self.cron_pass()
        server.invalidate_recordset()
        self.assertEqual(server.state, "provisioning", server.last_error)
        self.run_with(fault, route, self.cron_pass)
        self.server_outcome("Provisioning step (%s)" % words, fault, server, account, "provisioning")

    def op_vm_action(self, fault, action):
        route, expected = VM_ACTIONS[action]
        account = self.connected()
        server = self.new_server(account)
        server.action_provision()
        self.settled(server)
        self.assertEqual(server.state, "running", server.last_error)
        if action == "start":
            server.action_stop()
            self.settled(server)
            self.assertEqual(server.state, "stopped", server.last_error)
        getattr(server, "action_delete_in_azure" if action == "delete" else "action_%s" % action)()
        self.run_with(fault, route, self.cron_pass)
        server.invalidate_recordset()
        self.assertEqual(server.operation, action, "still to do")
        self.server_outcome("VM action (%s)" % action.capitalize(), fault, server, account, expected)

    # -- storage and backups -------------------------------------------------------------------------

    def op_storage_access(self, fault):
        account = self.connected()
        storage = self.ready_storage(account)
        route = {"service": "blob", "path": "/oecready/", "method": ".*"}
        if fault == REVOKED:
            route = {"service": "arm", "path": "/listKeys", "method": "POST"}
        self.run_with(fault, route, storage.action_test_access)
        storage.invalidate_recordset()
        account.invalidate_recordset()
        self.assertTrue(storage.last_error)
        self.assertNotIn("Unexpected", storage.last_error)
        if fault == REVOKED:
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

    def backup_policy(self, account):
        storage = self.ready_storage(account)
        return self.env["cloud.backup.policy"].create(
            {
                "name": "Faults",
                "storage_id": storage.id,
                "schedule_tz": "Europe/Paris",
                "backup_format": "dump",
            }
        )

    def backup_done(self, account):
        policy = self.backup_policy(account)
        backup = self.env["cloud.backup"].browse(policy.action_backup_now()["res_id"])
        self.run_job("cloud.backup", "_cron_run")
        backup.invalidate_recordset()
        self.assertEqual(backup.state, "done", backup.error)
        return backup

    def blob_route(self, method, fault):
        if fault == REVOKED:
            return {"service": "arm", "path": "/listKeys", "method": "POST"}
        return {"service": "blob", "path": "/odoo-backups/", "method": method}

    def op_backup_upload(self, fault):
        account = self.connected()
        policy = self.backup_policy(account)
        backup = self.env["cloud.backup"].browse(policy.action_backup_now()["res_id"])
        # a request under a job's deadline waits at least MIN_READ_TIMEOUT for an answer
        delay = MIN_READ_TIMEOUT + 1
        self.run_with(
            fault,
            self.blob_route("PUT", fault),
            lambda: self.run_job("cloud.backup", "_cron_run"),
            delay=delay,
        )
        backup.invalidate_recordset()
        self.assertNotEqual(backup.state, "done", "no Done backup whose upload failed")
        self.assertNotIn("Unexpected", backup.error or "")
        if fault == REVOKED:
            self.assertTrue(backup.error)
        else:
            # Azure could not serve it: queued for a new try, no alert until the tries are spent
            self.assertEqual(backup.state, "queued")
            self.assertEqual(backup.retry_count, 1)
            self.assertNotEqual(backup.policy_id.alert_state, "backup_failed")
            self.assertIn("Azure could not serve it", "".join(m.body for m in backup.message_ids if m.body))
        shown = (
            "backup %s for a new try, no alert (after %d tries: failed, the policy's Backup Failed alert)"
            % (
                backup.state,
                TRANSIENT_TRIES + 1,
            )
        )
        retried = (
            "in %d s (then at growing waits)" % seconds_until(backup.next_run_at)
            if backup.next_run_at
            else ""
        )
        if fault == TIMED_OUT:
            shown += " (no answer in %d s: a request under a job's deadline waits %d s at least)" % (
                delay,
                MIN_READ_TIMEOUT,
            )
        if fault == REVOKED:
            shown = "backup %s; %s" % (backup.state, self.account_outcome(account, fault))
            retried = "after Reconnect"
        self.record("Backup upload (scheduled)", fault, shown, retried)

    def op_backup_verify(self, fault):
        account = self.connected()
        backup = self.backup_done(account)
        backup.action_verify()
        self.run_with(fault, self.blob_route("GET", fault), lambda: self.run_job("cloud.backup", "_cron_run"))
        backup.invalidate_recordset()
        self.assertNotEqual(backup.verify_state, "done", "not Verified by a read that failed")
        self.assertEqual(backup.state, "done", "the backup itself is still good")
        shown = "verification %s" % backup.verify_state
        retried = "when Verify is clicked again, or at the weekly verification"
        if fault == REVOKED:
            shown += ", on hold; " + self.account_outcome(account, fault)
            retried = "after Reconnect"
        else:
            # Azure could not serve it: queued for a new try, no alert until the tries are spent
            self.assertEqual(backup.verify_state, "queued")
            self.assertEqual(backup.retry_count, 1)
            self.assertNotEqual(backup.policy_id.alert_state, "verify_failed")
            self.assertIn("Azure could not serve it", "".join(m.body for m in backup.message_ids if m.body))
            shown += (
                " for a new try, the reason in the chatter, no alert (after %d tries: failed, the "
                % (TRANSIENT_TRIES + 1)
                + "policy's Verification Failed alert)"
            )
            retried = "in %d s (then at growing waits)" % seconds_until(backup.next_run_at)
        self.record("Backup verification (scheduled)", fault, shown, retried)

    def op_backup_download(self, fault):
        account = self.connected()
        backup = self.backup_done(account)
        calls = self.calls_of(backup.action_download)
        if not calls:
            self.record("Backup download link", fault, "no remote call: the link is signed here", "-")
            return
        # the first call to Azure itself (Entra ID's are the access token's renewal)
        first = next((call for call in calls if call["service"] != "entra"), calls[0])
        route = {"service": first["service"], "path": re.escape(first["path"]), "method": first["method"]}
        text = self.user_action(fault, route, backup.action_download)
        shown = self.dialog_outcome(account, fault, text)
        self.record(
            "Backup download link (%s %s)" % (first["service"], first["method"]),
            fault,
            shown,
            "when clicked again",
        )

    def op_backup_restore(self, fault):
        account = self.connected()
        backup = self.backup_done(account)
        target = "%s-fault-restore" % self.env.cr.dbname
        self.addCleanup(drop_if_exists, target)
        backup._queue_restore(target, True)

        def restore():
            deadline = time.monotonic() + 60
            self.run_job("cloud.backup", "_cron_run")
            backup.invalidate_recordset()
            # until it ends (or waits for its account: a queued restore that says why)
            while (
                backup.restore_state == "running"
                or backup.restore_state == "queued"
                and not backup.restore_error
            ) and time.monotonic() < deadline:
                time.sleep(0.5)  # our own restore process, not Azure
                self.run_job("cloud.backup", "_cron_run")
                backup.invalidate_recordset()

        self.run_with(fault, self.blob_route("GET", fault), restore)
        self.assertFalse(database_exists(target), "no database left by a restore that failed")
        self.assertTrue(backup.restore_error)
        if fault == REVOKED:
            self.assertEqual(backup.restore_state, "queued", "waits for its account")
            shown = "restore queued, on hold; " + self.account_outcome(account, fault)
            retried = "after Reconnect"
        else:
            self.assertEqual(backup.restore_state, "failed", backup.restore_error)
            # Azure's answer worded as the server's own calls', not the SDK's raw text
            for raw in ("RequestId", "HttpResponseError", "Content:", "Unexpected"):
                self.assertNotIn(raw, backup.restore_error)
            shown = 'restore failed: "%s"' % " ".join(backup.restore_error.split())
            retried = "when Restore is asked again"
        self.record("Backup restore (download of the blob)", fault, shown, retried)

    # -- DNS -----------------------------------------------------------------------------------------

    def dns_zone(self, account):
        dns_client, resources = self.portal_clients(DnsManagementClient, ResourceManagementClient)
        resources.resource_groups.create_or_update(RG, {"location": "westeurope"})
        dns_client.zones.create_or_update(RG, ZONE, Zone(location="global"))
        wizard = self.env["cloud.dns.zone.setup"].browse(account.action_dns_quick_setup()["res_id"])
        line = wizard.line_ids.filtered(lambda line: line.name == ZONE)
        return self.env["cloud.dns.zone"].browse(line.action_select()["res_id"])

    def dns_apply(self, action, addresses, name=None):
        wizard = self.env["cloud.dns.record.edit"].browse(action["res_id"])
        wizard.write(dict({"ipv4_addresses": addresses}, **({"name": name} if name else {})))
        return wizard.action_apply()

    def op_dns(self, fault, kind):
        account = self.connected()
        zone = self.dns_zone(account)
        if kind != "create":
            self.dns_apply(zone.action_new_a_record(), "20.1.2.3", "app")
        record = zone.record_ids.filtered(lambda r: r.name == "app")
        path = "/dnszones/%s/A/app\\?" % re.escape(ZONE)
        route = {"service": "arm", "path": path, "method": "DELETE" if kind == "delete" else "PUT"}
        operation = {
            "create": lambda: self.dns_apply(zone.action_new_a_record(), "20.1.2.3", "app"),
            "update": lambda: self.dns_apply(record.action_edit(), "20.9.9.9"),
            "delete": record.action_delete_in_azure,
        }[kind]
        text = self.user_action(fault, route, operation)
        after = zone.record_ids.filtered(lambda r: r.name == "app")
        if kind == "create":
            self.assertFalse(after, "no record Odoo would show as made")
        else:
            self.assertEqual(after.value_text, "20.1.2.3", "the record as Azure still has it")
        shown = self.dialog_outcome(account, fault, text)
        self.record("DNS A record %s" % kind, fault, shown, "when applied again")

    # -- prices --------------------------------------------------------------------------------------

    def op_prices(self, fault):
        if fault == REVOKED:
            return  # the retail prices need no sign-in
        self.run_job("cloud.price", "_cron_refresh_prices")
        count = self.env["cloud.price"].search_count([])
        self.assertTrue(count)
        cron = self.env.ref("oec_cloud_accounts.ir_cron_cloud_price")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        route = {"service": "prices", "path": "/api/retail", "method": "GET"}
        self.run_with(fault, route, lambda: self.run_job("cloud.price", "_cron_refresh_prices"))
        self.assertEqual(self.env["cloud.price"].search_count([]), count, "the previous prices are kept")
        new = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]) - triggers
        if fault.startswith("429"):
            self.assertEqual(len(new), 1, "the next pass is triggered after the Retry-After")
            retried = "in %d s (the scheduled action is triggered then)" % seconds_until(new.call_at)
            self.assertGreaterEqual(seconds_until(new.call_at), RETRY_AFTER)
        else:
            retried = "at the next daily run"
        self.record("Price refresh (scheduled)", fault, "previous prices kept; logged", retried)

    # -- the table -----------------------------------------------------------------------------------

    def cases(self):
        """[(method, argument or None, faults)] of every operation, in the table's order."""
        cases = [
            ("op_connect", None, FAULT_NAMES),
            ("op_refresh", None, FAULT_NAMES),
            ("op_capabilities", None, FAULT_NAMES),
            ("op_registration", None, FAULT_NAMES),
        ]
        # every fault at the first creation request, the ARM client's other faults at the others
        for index, step in enumerate(self.provision_steps()):
            cases.append(("op_provision_step", step, REDUCED if index else FAULT_NAMES))
        cases += [
            ("op_vm_action", action, FAULT_NAMES if action == "stop" else REDUCED) for action in VM_ACTIONS
        ]
        cases += [
            ("op_storage_access", None, FAULT_NAMES),
            ("op_backup_upload", None, FAULT_NAMES),
            ("op_backup_verify", None, REDUCED),
            ("op_backup_download", None, REDUCED),
            ("op_backup_restore", None, REDUCED),
        ]
        cases += [
            ("op_dns", kind, FAULT_NAMES if kind == "create" else REDUCED)
            for kind in ("create", "update", "delete")
        ]
        cases.append(("op_prices", None, FAULT_NAMES))
        return cases

    def test_every_fault_at_every_step(self):
        self.outcomes = []
        timings = []
        for method, argument, faults in self.cases():
            started = time.monotonic()
            for fault in faults:
                with self.subTest(
                    operation=method,
                    argument=argument and str(argument[-1] if isinstance(argument, tuple) else argument),
                    fault=fault,
                ):
                    self.emu.control.reset()
                    since = max_ids(self.env)
                    try:
                        # each case's records are undone, once what it wrote for people is captured
                        with self.env.cr.savepoint() as savepoint:
                            if argument is None:
                                getattr(self, method)(fault)
                            else:
                                getattr(self, method)(fault, argument)
                            if os.environ.get(CAPTURED_TEXTS_VARIABLE):
                                capture_texts(self.env, since)
                            savepoint.rollback()
                        self.env.invalidate_all()
                    finally:
                        self.emu.resume()
                        self.emu.control.clear_faults()
                        if fault == TIMED_OUT:
                            # the requests the client gave up on are still answered (and acted on)
                            # by the emulator: not in the next case's state
                            time.sleep(getattr(self, "delay_used", DELAY))
            timings.append(
                "%s %s: %.1f s"
                % (
                    method,
                    argument and (argument[-1] if isinstance(argument, tuple) else argument) or "",
                    time.monotonic() - started,
                )
            )
        _logger.info("fault cases: %s", "; ".join(timings))
        check_table(
            self,
            FAULTS_FILE,
            "oec_cloud_accounts/tests/test_faults.py",
            "TEST_TAGS=/oec_cloud_accounts:TestFaults make test",
            [
                "What people see when Azure fails at each step, as the test suite saw it against the",
                "local emulator (client timeout %s s, server option `oec_azure_timeout`; Retry-After %d s;"
                % (TIMEOUT, RETRY_AFTER),
                "the SDKs retry at once). No record is left Active, Running, Ready, Done or Registered by",
                'a step that failed. "%s": the account\'s refresh token is revoked between two' % REVOKED,
                'steps (each step renews its access token); "%s": every port refuses,' % GONE,
                "then the same emulator comes back. Operations whose client another row meets with every",
                "fault are tested without 503 (the path of 500 in every client), the timeout and the",
                "emulator gone (the path of a dropped connection: the client's network errors). The",
                "provisioning steps are the creation requests one provisioning makes now, read from the",
                "emulator's log. An error dialog rolls back what its action wrote, the account's state",
                "included. Sign-in: see oec_auth_azure's readme/FAULTS.md.",
            ],
            ("operation", "fault", "outcome (shown how)", "retried when"),
            self.outcomes,
        )


def database_exists(name):
    _name, params = connection_info_for("postgres")
    conn = psycopg2.connect(**params)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return bool(cr.fetchone())
    finally:
        conn.close()


def drop_if_exists(name):
    if database_exists(name):
        from .test_backup import drop_database

        drop_database(name)
