"""Backup alerts against the emulator + Azurite: real runs fail and succeed, the
scheduled action raises an alert once (one activity, one mail) and a good backup
or a passed verification clears it."""

from datetime import datetime, timedelta

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..models import cloud_backup_policy_alert as alert_module
from ..models.cloud_backup_policy_alert import ALERT_ACTIVITY, ALERT_TEMPLATE, scrub
from .backup_common import BackupMixin
from .test_i18n import FrenchMixin

SAS = "https://oecbackuptest.blob.core.windows.net/odoo-backups/db/x.zip?sv=2024-08-04&sr=b&sp=r&sig=S3cr3tS1gnature%3D"


@tagged("post_install", "-at_install")
class TestBackupAlerts(BackupMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        self.responsible = new_test_user(
            self.env, "alert_owner", groups="base.group_system", email="owner@example.com"
        )
        self.follower = new_test_user(
            self.env, "alert_follower", groups="base.group_user", email="f@example.com"
        )

    def make_policy(self, **values):
        policy = super().make_policy(user_id=self.responsible.id, **values)
        policy.message_subscribe(partner_ids=self.follower.partner_id.ids)
        return policy

    def backup_now(self, policy):
        backup = self.env["cloud.backup"].browse(policy.action_backup_now()["res_id"])
        self.run_cron()
        return backup

    def alert_activities(self, policy):
        return policy.activity_ids.filtered(lambda a: a.activity_type_id == self.env.ref(ALERT_ACTIVITY))

    def alert_mails(self, policy):
        """The alert messages posted on the policy (one per alert raised), newest first."""
        return policy.message_ids.filtered(
            lambda m: m.message_type == "comment" and "Backup alert" in (m.subject or "")
        )

    def assert_one_alert(self, policy, state):
        self.assertEqual(policy.alert_state, state)
        activity = self.alert_activities(policy)
        self.assertEqual(len(activity), 1, "one activity")
        self.assertEqual(activity.user_id, self.responsible)
        mails = self.alert_mails(policy)
        self.assertEqual(len(mails), 1, "one mail")
        # by mail to the responsible and the follower, each once
        emailed = mails.notification_ids.filtered(lambda n: n.notification_type == "email").res_partner_id
        self.assertEqual(emailed, (self.responsible | self.follower).partner_id)
        self.assertIn("/mail/view?model=cloud.backup.policy&amp;res_id=%d" % policy.id, mails.body)
        return activity, mails

    def break_storage(self, policy):
        """Point the policy at a storage account that does not exist: its runs fail."""
        if not getattr(self, "gone", None):
            self.gone = self.make_location(self.account, name="oecgonestorage")
        policy.storage_id = self.gone

    def test_failed_backup_raises_once_and_a_good_one_clears(self):
        policy = self.make_policy(backup_format="dump")
        good = self.storage
        self.break_storage(policy)
        failed = self.backup_now(policy)
        self.assertEqual(failed.state, "failed")
        activity, mail = self.assert_one_alert(policy, "backup_failed")
        self.assertIn("oecgonestorage was not found", policy.alert_message)
        self.assertIn("oecgonestorage was not found", mail.body)
        self.assertIn("Back up now", str(activity.note))
        self.assertFalse(failed.activity_ids, "the run itself asks nobody: the policy does")
        # the next failures, by hand and by the schedule, raise nothing more
        self.assertEqual(self.backup_now(policy).state, "failed")
        policy.sudo().next_run_at = datetime(2020, 1, 1)
        self.run_cron()
        self.assertEqual(len(policy.backup_ids.filtered(lambda b: b.state == "failed")), 3)
        self.assert_one_alert(policy, "backup_failed")
        # a good backup clears it: the activity is done, the chatter says so, no mail
        policy.storage_id = good
        landed = self.backup_now(policy)
        self.assertEqual(landed.state, "done", landed.error)
        self.assertEqual(policy.alert_state, "ok")
        self.assertFalse(policy.alert_message)
        self.assertFalse(self.alert_activities(policy))
        self.assertFalse(activity.exists(), "marked done")
        self.assertEqual(policy.last_good_backup_at, landed.finished_at)
        cleared = policy.message_ids.filtered(lambda m: "Cleared: a good backup landed at" in (m.body or ""))
        self.assertEqual(len(cleared), 1)
        self.assertEqual(len(self.alert_mails(policy)), 1, "no mail for clearing")
        # and the next failure raises again
        self.break_storage(policy)
        self.backup_now(policy)
        self.assertEqual(policy.alert_state, "backup_failed")
        self.assertEqual(len(self.alert_activities(policy)), 1)
        self.assertEqual(len(self.alert_mails(policy)), 2)

    def test_overdue_raises_once_across_passes(self):
        policy = self.make_policy(backup_format="dump", alert_grace_hours=6)
        landed = self.backup_now(policy)
        self.assertEqual(policy.last_good_backup_at, landed.finished_at)
        self.assertEqual(policy.overdue_since, landed.finished_at + timedelta(hours=30))
        self.run_cron()  # the new backup's verification
        self.assertEqual((landed.verify_state, policy.alert_state), ("done", "ok"))
        self.assertEqual(policy.last_verified_at, landed.verified_at)
        # the last good backup was 31 hours ago
        landed.sudo().finished_at = datetime.now() - timedelta(hours=31)
        self.assertLess(policy.overdue_since, datetime.now())
        self.run_cron()
        activity, mail = self.assert_one_alert(policy, "overdue")
        self.assertIn("No good backup since", policy.alert_message)
        self.assertIn("grace period of 6 hours", mail.body)
        self.run_cron()
        self.assert_one_alert(policy, "overdue")
        # a longer grace period would not have alerted; the state stays until a good backup
        policy.alert_grace_hours = 48
        self.run_cron()
        self.assertEqual(policy.alert_state, "overdue")
        self.backup_now(policy)
        self.assertEqual(policy.alert_state, "ok")
        self.assertFalse(activity.exists())
        self.assertEqual(len(self.alert_mails(policy)), 1, "no mail for clearing")

    def test_paused_or_unscheduled_policy_is_not_overdue(self):
        policy = self.make_policy(backup_format="dump", scheduled=False)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE cloud_backup_policy SET create_date = %s WHERE id = %s",
            (datetime.now() - timedelta(days=5), policy.id),
        )
        policy.invalidate_recordset(["create_date"])
        self.assertFalse(policy.overdue_since)
        self.run_cron()
        self.assertEqual(policy.alert_state, "ok")
        policy.scheduled = True
        self.assertLess(policy.overdue_since, datetime.now(), "never backed up, made 5 days ago")
        self.account.sudo().state = "expired"
        self.run_cron()
        self.assertEqual(policy.alert_state, "ok", "paused: the account has its own activity")
        self.account.sudo().state = "active"
        self.run_cron()
        self.assertEqual(policy.alert_state, "overdue")
        self.assertIn("since the policy was made on", policy.alert_message)
        policy.scheduled = False
        self.assertEqual(policy.alert_state, "ok")
        self.assertTrue(any("no longer scheduled" in (m.body or "") for m in policy.message_ids))
        # scheduled again: overdue again, then archived: cleared, and nothing raised while archived
        policy.scheduled = True
        self.run_cron()
        self.assertEqual(policy.alert_state, "overdue")
        self.assertEqual(len(self.alert_mails(policy)), 2)
        policy.active = False
        self.assertEqual(policy.alert_state, "ok")
        self.assertFalse(self.alert_activities(policy))
        self.assertTrue(any("was archived" in (m.body or "") for m in policy.message_ids))
        self.assertFalse(policy._alert_raise("backup_failed", "Azure refused."))
        self.assertEqual(policy.alert_state, "ok")

    def test_verify_failure_raised_once_and_cleared_by_a_passed_one(self):
        policy = self.make_policy(backup_format="dump")
        backup = self.backup_now(policy)
        blob = self.blobs.get_blob_client(backup.blob_name)
        metadata = blob.get_blob_properties().metadata
        blob.upload_blob(b"PGDMP corrupted", overwrite=True, metadata=metadata)
        backup.action_verify()
        self.run_cron()
        self.assertEqual(backup.verify_state, "failed")
        self.assert_one_alert(policy, "verify_failed")
        self.assertIn("does not match", policy.alert_message)
        self.assertFalse(policy.last_verified_at, "never passed")
        backup.action_verify()
        self.run_cron()
        self.assertEqual(backup.verify_state, "failed")
        self.assert_one_alert(policy, "verify_failed")
        # a good backup lands: verified at the next pass, which clears the alert
        newest = self.backup_now(policy)
        self.assertEqual(newest.state, "done")
        self.assertEqual(policy.alert_state, "verify_failed", "a verification alert waits for a verification")
        self.run_cron()
        self.assertEqual(newest.verify_state, "done")
        self.assertEqual(policy.alert_state, "ok")
        self.assertEqual(policy.last_verified_at, newest.verified_at)
        self.assertFalse(self.alert_activities(policy))
        self.assertTrue(any("Cleared: the backup" in (m.body or "") for m in policy.message_ids))

    def test_a_backup_failure_replaces_a_verification_alert(self):
        policy = self.make_policy(backup_format="dump")
        backup = self.backup_now(policy)
        backup._record_failure("verify", "The blob does not match the backup.")
        self.assert_one_alert(policy, "verify_failed")
        self.break_storage(policy)
        self.backup_now(policy)
        self.assertEqual(policy.alert_state, "backup_failed")
        self.assertEqual(len(self.alert_activities(policy)), 1, "the verification's activity was replaced")
        self.assertEqual(len(self.alert_mails(policy)), 2)
        # the lesser one again: nothing
        backup._record_failure("verify", "The blob does not match the backup.")
        self.assertEqual(policy.alert_state, "backup_failed")
        self.assertEqual(len(self.alert_mails(policy)), 2)

    def test_alert_carries_no_signed_link(self):
        self.assertEqual(
            scrub("GET %s failed" % SAS),
            "GET https://oecbackuptest.blob.core.windows.net/odoo-backups/db/x.zip failed",
        )
        self.assertEqual(scrub("sig=abc&se=1 and SIG=xyz"), "sig=…&se=1 and SIG=…")
        policy = self.make_policy(backup_format="dump")
        policy.user_id = False  # the Settings administrators are told instead
        backup = self.backup_now(policy)
        backup._record_failure("backup", "Azure refused %s (AuthenticationFailed)" % SAS)
        self.assertEqual(policy.alert_state, "backup_failed")
        mail = self.alert_mails(policy)
        activity = self.alert_activities(policy)
        admins = self.env.ref("base.group_system").users.filtered(lambda user: not user.share)
        self.assertEqual(activity.user_id, admins.sorted("id")[0])
        self.assertLessEqual(admins.partner_id, mail.notification_ids.res_partner_id)
        for text in (mail.body, mail.subject, str(activity.note), policy.alert_message):
            self.assertNotIn("S3cr3t", text)
            self.assertNotIn("sig=", text)
        # the mails sent keep none either
        bodies = self.env["mail.mail"].sudo().search([("mail_message_id", "=", mail.id)]).mapped("body_html")
        self.assertFalse([body for body in bodies if "S3cr3t" in body])

    def test_a_broken_template_never_undoes_the_runs(self):
        """The template is the administrators' to change: one that cannot be rendered loses the
        alert (logged), never the runs' results."""
        self.env.ref(ALERT_TEMPLATE).subject = "{{ object.no_such_field }}"
        policy = self.make_policy(backup_format="dump")
        good = self.storage
        self.break_storage(policy)
        with self.assertLogs(alert_module._logger, "WARNING") as logs:
            failed = self.backup_now(policy)
        self.assertEqual(failed.state, "failed", "the failure is recorded")
        self.assertIn("oecgonestorage was not found", failed.error)
        self.assertEqual(policy.alert_state, "ok", "the alert could not be raised")
        self.assertFalse(self.alert_activities(policy), "nothing half-raised")
        self.assertIn("_alert_raise failed", logs.output[0])
        policy.storage_id = good
        self.assertEqual(self.backup_now(policy).state, "done")

    def test_alert_settings_are_for_settings_administrators(self):
        policy = self.make_policy()
        policy.active = False
        self.assertFalse(
            [m for m in policy.message_ids if "Cleared" in (m.body or "")], "nothing to clear: no note"
        )
        policy.active = True
        reader = new_test_user(self.env, "alert_reader", groups="oec_cloud_accounts.group_cloud_manager")
        self.assertEqual(policy.with_user(reader).alert_state, "ok", "readable")
        with self.assertRaises(AccessError):
            policy.with_user(reader).write({"alert_grace_hours": 48})
        admin = policy.with_user(self.responsible)
        admin.write({"alert_grace_hours": 48})
        for field, value in (("alert_state", "ok"), ("last_verified_at", "2030-01-01 00:00:00")):
            with self.subTest(field=field), self.assertRaises(AccessError):
                admin.write({field: value})
        self.assertEqual(policy.alert_grace_hours, 48)


@tagged("post_install", "-at_install")
class TestBackupAlertsFrench(FrenchMixin, BackupMixin, TransactionCase):
    def test_alert_in_the_responsibles_language(self):
        responsible = new_test_user(
            self.env, "alert_fr", groups="base.group_system", email="fr@example.com", lang="fr_FR"
        )
        policy = self.make_policy(backup_format="dump", user_id=responsible.id)
        backup = self.env["cloud.backup"].sudo().create({"policy_id": policy.id, "trigger": "manual"})
        backup._record_failure("backup", "Azure refused.")
        self.assertEqual(
            policy.activity_ids.summary, "Alerte de sauvegarde : Échec de la sauvegarde (Nightly)"
        )
        self.assertIn("cliquez sur Sauvegarder maintenant", policy.alert_message)
        mail = policy.message_ids.filtered(lambda m: m.message_type == "comment")
        self.assertEqual(mail.subject, "Alerte de sauvegarde : Nightly (%s)" % self.env.cr.dbname)
        self.assertIn("Dernière bonne sauvegarde", mail.body)
