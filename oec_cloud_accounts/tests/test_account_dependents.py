"""What depends on a cloud account (servers, DNS zones, storage locations, backup
policies and their backups) when the account is disconnected, expired, archived
or deleted: told before, refused at once after, paused and resumed."""

from datetime import datetime

from azure_emulator import defaults

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from ..models.cloud_server_engine import POLL_PARAM
from .common import EmulatorMixin
from .dns_common import DnsMixin
from .test_server import ssh_key

KEY = ssh_key()


class DependentsMixin(DnsMixin):
    """A connected account with two servers, a DNS zone, a storage location, a backup policy
    and a successful backup of it."""

    def setUp(self):
        super().setUp()
        self.account = self.connect()
        self.storage = self.make_location()
        self.subscription = self.account.subscription_ids.filtered(
            lambda s: s.subscription_id == defaults.SUBSCRIPTION_ID
        )
        self.running = self.make_server("ERP One")
        self.stopped = self.make_server("ERP Two", state="stopped", power_state="deallocated")
        self.seed_zone("example.test", records={"www": ["203.0.113.5"]})
        self.zone = self.quick_setup(self.account, "example.test")
        self.policy = self.make_policy()
        self.backup = (
            self.env["cloud.backup"]
            .sudo()
            .create({"policy_id": self.policy.id, "trigger": "manual", "state": "done", "blob_name": "b"})
            .sudo(False)
        )

    def make_location(self, name="oecbackuptest"):
        """A storage location as Storage Quick Setup leaves it (nothing here reaches its storage account)."""
        values = {
            "account_id": self.account.id,
            "subscription_id": defaults.SUBSCRIPTION_ID,
            "resource_group": "oec-backups",
            "storage_account": name,
            "container": "odoo-backups",
            "location": "westeurope",
            "state": "ready",
        }
        return self.env["cloud.storage"].sudo().create(values).sudo(False)

    def make_policy(self, **values):
        return self.env["cloud.backup.policy"].create(
            dict({"name": "Nightly", "storage_id": self.storage.id, "schedule_tz": "Europe/Paris"}, **values)
        )

    def run_cron(self):
        self.run_job("cloud.backup", "_cron_run")

    def make_server(self, name, state="running", **values):
        vals = {
            "name": name,
            "account_id": self.account.id,
            "subscription_line_id": self.subscription.id,
            "location": "westeurope",
            "vm_size": "Standard_B2s",
            "ssh_public_key": KEY,
            "state": state,
            "resource_group": "oec-%s" % name.lower().replace(" ", "-"),
            "vm_name": name.lower().replace(" ", "-"),
            "power_state": "running",
        }
        vals.update(values)
        return self.env["cloud.server"].sudo().create(vals).sudo(False)

    def reconnect_message(self, state="disconnected"):
        return "Reconnect the account %s first: it is %s" % (self.account.name, state)


@tagged("post_install", "-at_install")
class TestAccountDependents(DependentsMixin, TransactionCase):
    def test_disconnect_confirmation_lists_dependents(self):
        action = self.account.action_confirm_disconnect()
        self.assertEqual(action["res_model"], "cloud.account.disconnect")
        wizard = self.env[action["res_model"]].with_context(**action["context"]).create({})
        summary = wizard.summary
        self.assertIn("Servers (2): ERP One, ERP Two. They keep running, and billing, in Azure", summary)
        self.assertIn("DNS zones (1): example.test. Kept as last read", summary)
        self.assertIn("Storage locations (1): oecbackuptest / odoo-backups. Odoo no longer", summary)
        self.assertIn("Backup policies (1): Nightly. Paused", summary)
        self.assertIn("Nothing is deleted in Azure", summary)
        self.assertEqual(self.account.state, "active", "the confirmation changes nothing")
        wizard.action_disconnect()
        self.assertEqual(self.account.state, "disconnected")
        self.assertFalse(self.account.has_tokens)

    def test_disconnect_confirmation_without_dependents(self):
        other = self.env["cloud.account"].sudo().create({"name": "Spare", "environment_id": self.cloud.id})
        action = other.action_confirm_disconnect()
        wizard = self.env[action["res_model"]].with_context(**action["context"]).create({})
        self.assertIn("Nothing in Odoo depends on this account.", wizard.summary)

    def test_actions_on_dependents_refused_at_once(self):
        draft = self.make_server("ERP Draft", state="draft", resource_group=False, vm_name=False)
        failed = self.make_server("ERP Failed", state="failed", operation="provision", failed_step="network")
        record = self.zone.record_ids.filtered(lambda r: r.record_type == "A")
        self.assertTrue(record)
        self.account.action_disconnect()
        since = len(self.emu.control.requests())
        actions = {
            "server Refresh": self.running.action_refresh_state,
            "server Stop": self.running.action_stop,
            "server Restart": self.running.action_restart,
            "server Start": self.stopped.action_start,
            "server Delete in Azure": self.running.action_delete_in_azure,
            "server Provision": draft.action_provision,
            "server Retry": failed.action_retry,
            "zone Refresh": self.zone.action_refresh,
            "zone Check delegation": self.zone.action_check_delegation,
            "zone New A Record": self.zone.action_new_a_record,
            "record Edit": record.action_edit,
            "record Reload": record.action_reload,
            "record Delete in Azure": record.action_delete_in_azure,
            "storage Test Access": self.storage.action_test_access,
            "storage Choose Container": self.storage.action_quick_setup,
            "policy Back up now": self.policy.action_backup_now,
            "policy Apply Lifecycle Rule": self.policy.action_apply_lifecycle,
            "backup Verify": self.backup.action_verify,
            "backup Download": self.backup.action_download,
            "backup Delete": self.backup.action_delete_backup,
            "backup Restore": self.backup.action_restore,
        }
        for label, action in actions.items():
            with self.subTest(label), self.assertRaisesRegex(UserError, self.reconnect_message()):
                action()
        self.assertEqual(self.remote_calls(since), [], "Azure was never called")
        self.assertEqual(
            (self.running + self.stopped + draft).mapped("operation"), [False] * 3, "nothing was queued"
        )
        self.assertEqual((failed.state, failed.operation), ("failed", "provision"))
        self.assertEqual(self.policy.backup_ids, self.backup, "no backup was queued")
        self.assertFalse(self.backup.verify_state)

    def test_dependents_of_an_expired_account_refused_too(self):
        self.emu.control.update_user(defaults.USER_OID, password_changed=True)
        self.account.action_refresh()
        self.assertEqual(self.account.state, "expired")
        since = len(self.emu.control.requests())
        with self.assertRaisesRegex(UserError, self.reconnect_message("expired")):
            self.running.action_refresh_state()
        with self.assertRaisesRegex(UserError, self.reconnect_message("expired")):
            self.policy.action_backup_now()
        self.assertEqual(self.remote_calls(since), [])

    def test_archived_account_reaches_nothing(self):
        spare = self.connect(user=self.add_colleague())
        spare.action_archive()
        self.assertTrue(spare.has_tokens, "archiving keeps the tokens: Add Account brings it back")
        since = len(self.emu.control.requests())
        with self.assertRaisesRegex(UserError, "Reconnect the account %s first: it is archived" % spare.name):
            spare.action_dns_quick_setup()
        self.assertEqual(self.remote_calls(since), [])

    def add_colleague(self):
        other = self.emu.control.add_user(email="colleague@" + defaults.TENANT_DOMAIN, name="Colleague")
        self.emu.control.update_subscription(
            defaults.SUBSCRIPTION_ID, users=[defaults.USER_OID, other["oid"]]
        )
        return other["email"]

    def test_scheduled_actions_leave_dependents_waiting(self):
        # work under way when the account is disconnected: a provisioning, a scheduled start, a
        # storage account being created, a queued backup and a due verification
        self.env["ir.config_parameter"].sudo().set_param(POLL_PARAM, 0)
        server = self.make_server("ERP New", state="draft", resource_group=False, vm_name=False)
        server.action_provision()
        self.run_job("cloud.server", "_cron_advance")
        self.assertEqual((server.state, server.step), ("provisioning", "network"), server.last_error)
        self.stopped.sudo().write({"schedule_enabled": True})
        self.stopped.sudo().schedule_last_event_at = datetime(2020, 1, 1)
        creating = self.make_location(name="oeccreating")
        creating.sudo().write({"state": "creating", "next_run_at": datetime(2020, 1, 1)})
        self.backup.sudo().verified_at = datetime(2020, 1, 1)
        queued = self.env["cloud.backup"].browse(self.policy.action_backup_now()["res_id"])
        self.account.action_disconnect()
        since = len(self.emu.control.requests())
        with self.assertNoLogs("odoo.addons.oec_cloud_accounts.models.cloud_job_mixin", level="INFO"):
            self.run_job("cloud.server", "_cron_advance")
            self.run_job("cloud.server", "_cron_schedule")
            self.run_job("cloud.storage", "_cron_check_creating")
            self.run_cron()
        self.assertEqual(self.remote_calls(since), [], "nothing was tried")
        self.assertEqual(
            (server.state, server.step, server.last_error, server.retry_count),
            ("provisioning", "network", False, 0),
            "the server waits where it was: not Failed",
        )
        self.assertFalse(server.activity_ids)
        self.assertFalse(self.stopped.operation, "no scheduled start queued")
        self.assertEqual((creating.state, creating.last_error), ("creating", False))
        self.assertEqual(queued.state, "queued", "the queued backup waits for Reconnect")
        self.assertFalse(self.backup.verify_state)
        # nothing is due: the scheduled action does not wake up for them
        self.assertIsNone(self.env["cloud.server"]._next_due_at())

        self.connect(account=self.account)
        self.assertEqual(self.account.state, "active")
        for _index in range(20):
            self.run_job("cloud.server", "_cron_advance")
            if not server.operation:
                break
        self.assertEqual((server.state, server.operation), ("running", False), server.last_error)

    def test_backup_policy_pauses_and_resumes(self):
        self.assertTrue(self.policy.next_run_at)
        self.assertFalse(self.policy.paused)
        self.account.action_disconnect()
        self.assertTrue(self.policy.paused)
        self.assertFalse(self.policy.next_run_at, "the 02:00 backup is no longer scheduled")
        self.assertIn(
            "Paused: the account %s needs Reconnect" % self.account.name, self.policy.message_ids[0].body
        )
        # even a moment left from before: the scheduled action queues nothing
        self.policy.sudo().next_run_at = datetime(2020, 1, 1)
        self.run_cron()
        self.assertEqual(self.policy.backup_ids, self.backup)
        # a policy made meanwhile is paused from the start
        other = self.make_policy(name="Another")
        self.assertFalse(other.next_run_at)

        self.connect(account=self.account)
        self.assertFalse(self.policy.paused)
        self.assertGreater(self.policy.next_run_at, datetime.now(), "scheduled again")
        self.assertTrue(other.next_run_at)
        self.assertIn(
            "Resumed: the account %s is connected again" % self.account.name, self.policy.message_ids[0].body
        )
        # a token refresh of an active account changes no schedule
        moment = self.policy.next_run_at
        self.policy.sudo().next_run_at = datetime(2020, 1, 1)
        self.account.action_refresh()
        self.assertEqual(self.policy.next_run_at, datetime(2020, 1, 1), "a due backup stays due")
        self.assertTrue(moment)

    def test_expiry_pauses_the_policies(self):
        self.account.sudo().next_run_at = datetime(2020, 1, 1)
        self.emu.control.update_user(defaults.USER_OID, password_changed=True)
        self.run_job("cloud.account", "_cron_refresh_tokens")
        self.assertEqual(self.account.state, "expired")
        self.assertTrue(self.policy.paused)
        self.assertFalse(self.policy.next_run_at)

    def test_delete_names_what_must_go_first(self):
        self.running.sudo().state = "deleted"
        with self.assertRaises(UserError) as caught:
            self.account.unlink()
        message = str(caught.exception)
        self.assertIn("%s cannot be deleted while these depend on it" % self.account.name, message)
        self.assertIn("Servers (2): ERP One, ERP Two", message, "a deleted server's record counts")
        self.assertIn("Storage locations (1): oecbackuptest / odoo-backups", message)
        self.assertIn("Backup policies (1): Nightly", message)
        self.assertNotIn("DNS zones", message, "zones go with the account")
        self.assertNotIn("fkey", message)
        self.assertTrue(self.account.exists())
        # once they are gone, the account goes, its zone with it
        servers = self.running + self.stopped
        servers.sudo().state = "deleted"
        servers.unlink()
        self.backup.sudo().state = "deleted"
        self.backup.unlink()
        self.policy.unlink()
        self.storage.unlink()
        self.account.unlink()
        self.assertFalse(self.account.exists())
        self.assertFalse(self.zone.exists())

    def test_archive_with_dependents_refused(self):
        with self.assertRaises(UserError) as caught:
            self.account.action_archive()
        message = str(caught.exception)
        self.assertIn("%s cannot be archived while these depend on it" % self.account.name, message)
        for line in (
            "Servers (2)",
            "DNS zones (1): example.test",
            "Storage locations (1)",
            "Backup policies (1)",
        ):
            self.assertIn(line, message)
        self.assertTrue(self.account.active)
        # archived or deleted dependents no longer hold it
        self.running.sudo().state = "deleted"
        for record in (self.stopped, self.zone, self.policy, self.storage):
            record.action_archive()
        self.account.action_archive()
        self.assertFalse(self.account.active)


@tagged("post_install", "-at_install")
class TestAddAccountFindsArchived(EmulatorMixin, TransactionCase):
    def test_add_account_reconnects_the_archived_account(self):
        self.account = self.connect()
        self.account.action_archive()
        count = self.env["cloud.account"].with_context(active_test=False).search_count([])
        notices = []
        again = self.connect(notices=notices)
        self.assertEqual(again, self.account, "the same Microsoft account gets no second card")
        self.assertEqual(self.env["cloud.account"].with_context(active_test=False).search_count([]), count)
        self.assertTrue(self.account.active, "unarchived")
        self.assertEqual(self.account.state, "active")
        self.assertIn("is reconnected and active", notices[0]["message"])
