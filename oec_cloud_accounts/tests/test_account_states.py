"""States that tell the truth: a token or permission error met by a server's step,
a storage location's creation or access test, a backup or an A record is the
account's state (Expired or Error, with its reason, chatter and activity), never
the resource's. The resource keeps its last known state with a note, nothing of the
account reaches Azure while it cannot sign in, and the work goes on once the account
is reconnected."""

from datetime import timedelta

from azure_emulator import defaults

from odoo import fields
from odoo.tests import TransactionCase, tagged

from .backup_common import BackupMixin
from .dns_common import DnsMixin
from .storage_common import StorageMixin
from .test_server import ServerCase

# what Azure Resource Manager answers a token it does not accept (e.g. signed by keys it forgot)
REFUSED_TOKEN = {"service": "arm", "status": 401, "code": "InvalidAuthenticationToken", "count": None}


class AccountStateMixin:
    def assert_account(self, state, code, summary):
        """The account says what happened: its state, its reason, its chatter and an activity."""
        account = self.account
        account.invalidate_recordset()
        self.assertEqual((account.state, account.last_error_code), (state, code), account.last_error)
        label = dict(account._fields["state"]._description_selection(account.env))[state]
        self.assertTrue(
            any(("%s:" % label) in (body or "") for body in account.message_ids.mapped("body")),
            account.message_ids.mapped("body"),
        )
        self.assertEqual(account.activity_ids.mapped("summary"), [summary])

    def woken(self, xmlid):
        """Whether the scheduled action ``xmlid`` was asked to run (ir.cron._trigger)."""
        cron = self.env.ref(xmlid)
        return bool(self.env["ir.cron.trigger"].sudo().search_count([("cron_id", "=", cron.id)]))

    def reconnect(self):
        self.emu.control.clear_faults()
        self.env["ir.cron.trigger"].sudo().search([]).unlink()
        self.connect(account=self.account)
        self.assertEqual(self.account.state, "active")
        self.assertFalse(self.account.activity_ids, "the activity was answered")


@tagged("post_install", "-at_install")
class TestServerKeepsItsState(AccountStateMixin, ServerCase, TransactionCase):
    def test_refused_token_expires_the_account_not_the_server(self):
        """The sandbox restarted without its state: the next refresh of a running VM
        meets a 401. The account turns Expired (Reconnect), the server stays Running."""
        server = self.new_server()
        self.provision(server)
        self.assertEqual(server.state, "running", server.last_error)
        self.emu.control.inject_fault(**REFUSED_TOKEN)
        server.action_refresh_state()
        self.run_job("cloud.server", "_cron_advance")
        server.invalidate_recordset()
        self.assertEqual((server.state, server.failed_step, server.operation), ("running", False, "refresh"))
        self.assertTrue(server.on_hold)
        self.assertFalse(server.in_progress)
        self.assertFalse(server.activity_ids, "nothing to do on the server")
        self.assertIn("On hold until the account %s works again" % self.account.name, server.last_error)
        self.assertIn("Azure refused the access token", server.last_error)
        self.assert_account("expired", "InvalidAuthenticationToken", "Reconnect the Azure account")
        self.assertIn("Azure refused the access token", self.account.last_error)
        # nothing of the account reaches Azure while it cannot sign in
        since = len(self.emu.control.requests())
        self.assertEqual(self.run_job("cloud.server", "_cron_advance"), 0)
        self.assertEqual(self.remote_calls(since), [])

        self.reconnect()
        self.assertTrue(self.woken("oec_cloud_accounts.ir_cron_cloud_server"))
        self.advance(server, lambda s: not s.operation or s.state == "failed")
        self.assertEqual(server.state, "running", server.last_error)
        self.assertFalse(server.last_error, "the note went with the wait")
        self.assertFalse(server.on_hold)

    def test_dead_refresh_token_expires_the_account(self):
        server = self.new_server()
        self.provision(server)
        # the access token is due for renewal and Microsoft revoked the sign-in meanwhile
        self.account.sudo().access_expires_at = fields.Datetime.now() - timedelta(minutes=1)
        self.emu.control.revoke_refresh_tokens(user=defaults.USER_EMAIL)
        server.action_refresh_state()
        self.run_job("cloud.server", "_cron_advance")
        server.invalidate_recordset()
        self.assertEqual((server.state, server.operation, server.on_hold), ("running", "refresh", True))
        self.assert_account("expired", "50173", "Reconnect the Azure account")
        self.assertFalse(self.account.has_tokens)
        self.reconnect()
        self.advance(server, lambda s: not s.operation or s.state == "failed")
        self.assertEqual(server.state, "running", server.last_error)

    def test_missing_role_puts_the_account_in_error_and_provisioning_waits(self):
        """A 403 AuthorizationFailed: the signed-in identity lacks a role. The account
        says so (Error); the provisioning waits at its step and goes on once the role
        is granted and the account checked again (its Refresh, or the scheduled one)."""
        self.emu.control.inject_fault(
            service="arm",
            path="(?i)/resourcegroups/oec-",
            method="PUT",
            status=403,
            code="AuthorizationFailed",
            count=None,
        )
        server = self.new_server()
        server.action_provision()
        self.run_job("cloud.server", "_cron_advance")
        server.invalidate_recordset()
        self.assertEqual(
            (server.state, server.step, server.failed_step, server.on_hold),
            ("provisioning", "resource_group", False, True),
        )
        self.assertRegex(server.last_error, "Owner or Contributor")
        self.assert_account("error", "AuthorizationFailed", "Check the Azure account")
        self.assertRegex(self.account.last_error, "Owner or Contributor")
        self.assertTrue(self.account.has_tokens, "the sign-in itself works")
        # the role is granted in Azure; the account's Refresh finds it active again
        self.emu.control.clear_faults()
        self.account.action_refresh()
        self.assertEqual(self.account.state, "active")
        self.advance(server, lambda s: not s.operation or s.state == "failed")
        self.assertEqual(server.state, "running", server.last_error)


@tagged("post_install", "-at_install")
class TestDnsRecordAccountState(AccountStateMixin, DnsMixin, ServerCase, TransactionCase):
    def test_refused_record_is_the_zone_accounts_state(self):
        self.seed_zone("example.test")
        self.quick_setup(self.account, "example.test")
        server = self.new_server(host_name="erp.example.test")
        self.provision(server)
        self.assertEqual(server.dns_state, "managed")
        self.emu.control.inject_fault(
            service="arm", path=r"(?i)/dnszones/example\.test/A/", status=403, code="AuthorizationFailed"
        )
        server.action_refresh_state()
        self.advance(server, lambda s: not s.operation)
        self.assertEqual((server.state, server.dns_state), ("running", "error"))
        self.assertRegex(server.dns_message, "DNS Zone Contributor")
        self.assert_account("error", "AuthorizationFailed", "Check the Azure account")


@tagged("post_install", "-at_install")
class TestStorageKeepsItsState(AccountStateMixin, StorageMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        self.account = self.connect()

    def test_creation_waits_for_the_account(self):
        wizard = self.quick_setup(self.account)
        wizard.write({"new_account_name": "oecwaiting", "location": "westeurope"})
        wizard.action_create_account()
        storage = wizard.storage_id
        self.assertEqual(storage.state, "creating")
        self.emu.control.inject_fault(**REFUSED_TOKEN)
        storage.sudo().next_run_at = fields.Datetime.now() - timedelta(seconds=1)
        self.run_job("cloud.storage", "_cron_check_creating")
        self.assertEqual(storage.state, "creating", "Azure may well have made it: nothing says otherwise")
        self.assertIn("Azure refused the access token", storage.last_error)
        self.assert_account("expired", "InvalidAuthenticationToken", "Reconnect the Azure account")
        since = len(self.emu.control.requests())
        self.assertEqual(self.run_job("cloud.storage", "_cron_check_creating"), 0)
        self.assertEqual(self.remote_calls(since), [])
        self.reconnect()
        self.assertTrue(self.woken("oec_cloud_accounts.ir_cron_cloud_storage_creation"))
        for _attempt in range(3):
            self.run_job("cloud.storage", "_cron_check_creating")
            if storage.state != "creating":
                break
            storage.sudo().next_run_at = fields.Datetime.now() - timedelta(seconds=1)
        self.assertEqual(storage.state, "new", storage.last_error)
        self.assertFalse(storage.last_error)

    def test_access_test_refused_to_the_account(self):
        storage = self.ready_storage(self.account)
        # the access test's first ARM read: the role assignments of the signed-in user
        self.emu.control.inject_fault(
            service="arm", path="/roleAssignments", status=403, code="AuthorizationFailed", count=None
        )
        storage.action_test_access()
        self.assertEqual(storage.state, "ready", "the storage account itself was not found wanting")
        self.assertRegex(storage.last_error, "On hold until the account")
        self.assert_account("error", "AuthorizationFailed", "Check the Azure account")


@tagged("post_install", "-at_install")
class TestBackupWaitsForTheAccount(AccountStateMixin, BackupMixin, TransactionCase):
    def test_queued_backup_waits_for_the_account(self):
        policy = self.make_policy(backup_format="dump")
        backup = self.env["cloud.backup"].browse(policy.action_backup_now()["res_id"])
        self.emu.control.inject_fault(**REFUSED_TOKEN)
        self.run_cron()
        self.assertEqual(backup.state, "queued")
        self.assertIn("Azure refused the access token", backup.error)
        self.assertFalse(backup.activity_ids, "no failed backup to look at")
        self.assert_account("expired", "InvalidAuthenticationToken", "Reconnect the Azure account")
        since = len(self.emu.control.requests())
        self.run_cron()
        self.assertEqual(self.remote_calls(since), [])
        self.reconnect()
        self.assertTrue(self.woken("oec_cloud_accounts.ir_cron_backups"))
        self.run_cron()
        self.assertEqual(backup.state, "done", backup.error)
        self.assertFalse(backup.error)
        self.assertEqual(self.blob_names(), [backup.blob_name])
