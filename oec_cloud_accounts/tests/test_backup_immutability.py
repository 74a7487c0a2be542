"""Immutable backups (ransomware protection): a backup committed with its own time-based retention
policy in a container with version-level immutability support (made through ARM, as in the portal),
refused deletion before its end (Odoo's button, retention, and the Owner of the container in Azure),
deleted after it; a container without support refuses the policy before anything is written."""

from datetime import datetime, timedelta, timezone

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ImmutabilityPolicy
from azure_emulator import defaults

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import format_datetime

from .backup_common import RG, STORAGE_ACCOUNT, BackupMixin

WORM = "odoo-worm"


@tagged("post_install", "-at_install")
class TestImmutableBackups(BackupMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        container_id = self.worm_container(WORM)
        # setting a blob's immutability policy is the storage owner's right
        self.emu.control.assign_role(defaults.USER_OID, defaults.ROLE_BLOB_DATA_OWNER, container_id)
        self.worm_blobs = self.outside_client(WORM, retry_total=0)
        self.worm = self.make_location(self.account, container=WORM)

    def worm_container(self, name):
        """A container with version-level immutability support, made as in the portal."""
        storage, _resources = self.portal()
        storage.blob_containers.create(
            RG, STORAGE_ACCOUNT, name, {"properties": {"immutableStorageWithVersioning": {"enabled": True}}}
        )
        return "%s/blobServices/default/containers/%s" % (self.storage_account.id, name)

    def backup_now(self, policy):
        action = policy.action_backup_now()
        backup = self.env["cloud.backup"].browse(action["res_id"])
        self.run_cron()
        return backup

    def pass_time(self, backups, days):
        """``days`` later for Azure (the emulator's clock) and for Odoo (the policies' ends, as
        Odoo recorded them, moved back as much)."""
        self.emu.control.configure(clock_offset=days * 86400)
        for backup in backups.sudo():
            backup.immutable_until -= timedelta(days=days)

    def versions(self, blob_name):
        """Every version of ``blob_name`` Azure keeps (and bills): (version id, current)."""
        return [
            (item.version_id, bool(item.is_current_version))
            for item in self.worm_blobs.list_blobs(name_starts_with=blob_name, include=["versions"])
            if item.name == blob_name
        ]

    def refused_by_azure(self, blob_name):
        with self.assertRaises(HttpResponseError) as refusal:
            self.worm_blobs.get_blob_client(blob_name).delete_blob()
        self.assertEqual(refusal.exception.status_code, 409)
        self.assertEqual(refusal.exception.error_code, "BlobImmutableDueToPolicy")

    def test_backup_is_written_immutable_and_nobody_deletes_it_before_its_end(self):
        policy = self.make_policy(
            storage_id=self.worm.id,
            backup_format="dump",
            immutable=True,
            immutability_days=7,
            immutability_mode="Locked",
        )
        before = fields.Datetime.now()
        backup = self.backup_now(policy)
        self.assertEqual(backup.state, "done", backup.error)
        self.assertEqual(self.worm.immutable_support, "enabled")
        self.assertEqual(backup.immutability_mode, "Locked")
        self.assertAlmostEqual(backup.immutable_until, before + timedelta(days=7), delta=timedelta(minutes=5))
        props = self.worm_blobs.get_blob_client(backup.blob_name).get_blob_properties()
        self.assertEqual(props.immutability_policy.expiry_time.replace(tzinfo=None), backup.immutable_until)
        self.assertEqual(props.immutability_policy.policy_mode, "locked")
        self.assertIn("Immutable until", "".join(backup.message_ids.mapped("body")))
        # the container's owner in Azure cannot delete it either (an overwrite would keep it as a
        # previous version under the same policy: test_an_overwritten_backup_is_deleted_after_its_last_end)
        self.refused_by_azure(backup.blob_name)

        # Delete Backup in Odoo: refused with the date, before any request
        calls = len(self.emu.control.requests())
        with self.assertRaisesRegex(UserError, "immutable until .* nobody can delete it before"):
            backup.action_delete_backup()
        self.assertEqual(self.remote_calls(calls), [])
        self.assertEqual(backup.state, "done")
        self.assertIn(backup.blob_name, [b.name for b in self.worm_blobs.list_blobs()])

        # after its end: nothing of it left, not even a previous version (blob versioning)
        self.pass_time(backup, 8)
        backup.action_delete_backup()
        self.assertEqual(backup.state, "deleted")
        self.assertEqual(self.versions(backup.blob_name), [])

    def test_retention_skips_immutable_backups_and_says_so(self):
        policy = self.make_policy(
            storage_id=self.worm.id, keep_daily=1, keep_weekly=0, keep_monthly=0, keep_yearly=0
        )
        owner, prefix = policy._owner_metadata(), policy._blob_prefix()
        now = datetime.now(timezone.utc).replace(microsecond=0)
        backups = self.env["cloud.backup"].sudo()
        for day in (1, 2, 3, 4):
            name = "%s2025/01-%02d.zip" % (prefix, day)
            until = now + timedelta(days=day)
            # the fourth is the newest (kept); the third's policy is known to Azure only (extended
            # in the portal, say): Odoo learns it from Azure's refusal
            self.worm_blobs.upload_blob(
                name,
                b"backup",
                metadata=owner,
                immutability_policy=ImmutabilityPolicy(expiry_time=until, policy_mode="Unlocked"),
            )
            backups |= self.done_backup(
                policy,
                name,
                datetime(2025, 1, day, 1, 0),
                immutable_until=until.replace(tzinfo=None) if day != 3 else False,
                immutability_mode="Unlocked",
            )
        first, second, third, newest = backups
        calls = len(self.emu.control.requests())
        policy._apply_retention()
        self.assertEqual(backups.mapped("state"), ["done"] * 4, "nothing marked deleted that was not")
        self.assertFalse(any(backups.mapped("error")))
        # only the third was asked to Azure (HEAD, then the refused DELETE)
        blob_calls = [r for r in self.remote_calls(calls) if r["service"] == "blob"]
        self.assertEqual([r["method"] for r in blob_calls], ["HEAD", "DELETE"])
        self.assertIn("01-03", blob_calls[0]["path"])
        self.assertEqual(third.immutable_until, (now + timedelta(days=3)).replace(tzinfo=None))
        said = policy.message_ids[0].body
        self.assertIn("Retention kept 3 backup(s)", said)
        self.assertIn(format_datetime(self.env, first.immutable_until), said)
        # said once, not at every pass of the scheduled action
        messages = len(policy.message_ids)
        policy._apply_retention()
        self.assertEqual(len(policy.message_ids), messages)

        # two days later: the first two have ended, the third not yet
        self.pass_time(backups, 2)
        policy._apply_retention()
        self.assertEqual(backups.mapped("state"), ["deleted", "deleted", "done", "done"])
        # the third was said already: nothing new to say
        kept = [m for m in policy.message_ids.mapped("body") if "Retention kept" in (m or "")]
        self.assertEqual(len(kept), 1)
        self.assertEqual(
            sorted(b.name for b in self.worm_blobs.list_blobs()), [third.blob_name, newest.blob_name]
        )
        # Delete Blob left their blobs as previous versions: deleted too, by their ids
        self.assertEqual(self.versions(first.blob_name) + self.versions(second.blob_name), [])
        self.assertTrue(second.exists())

    def test_an_overwritten_backup_is_deleted_after_its_last_end(self):
        """A version still protected (the backup overwritten with a longer policy's bytes before: a
        person, a policy extended in the portal) is skipped and said like a locked backup; the backup
        is Deleted only when no version of it is left (by retention or Delete Backup alike)."""
        policy = self.make_policy(
            storage_id=self.worm.id, keep_daily=1, keep_weekly=0, keep_monthly=0, keep_yearly=0
        )
        owner, prefix = policy._owner_metadata(), policy._blob_prefix()
        now = datetime.now(timezone.utc).replace(microsecond=0)
        name = "%s2025/01-01.zip" % prefix
        for days in (5, 1):
            self.worm_blobs.upload_blob(
                name,
                b"backup %d" % days,
                overwrite=True,
                metadata=owner,
                immutability_policy=ImmutabilityPolicy(
                    expiry_time=now + timedelta(days=days), policy_mode="Unlocked"
                ),
            )
        old = self.done_backup(
            policy,
            name,
            datetime(2025, 1, 1, 1, 0),
            immutable_until=(now + timedelta(days=1)).replace(tzinfo=None),
            immutability_mode="Unlocked",
        )
        self.done_backup(policy, "%s2025/01-02.zip" % prefix, datetime(2025, 1, 2, 1, 0))
        self.assertEqual([current for _vid, current in self.versions(name)], [False, True])

        # before the backup's end: nothing asked, nothing deleted
        calls = len(self.emu.control.requests())
        policy._apply_retention()
        self.assertEqual([r for r in self.remote_calls(calls) if r["service"] == "blob"], [])
        self.assertEqual(len(self.versions(name)), 2)

        # after it: the blob and its expired version go, the version protected 5 days stays
        self.pass_time(old, 2)
        policy._apply_retention()
        self.assertEqual(old.state, "done")
        self.assertEqual(len(self.versions(name)), 1)
        # the version's end, as Azure answered it (Azure's clock counts)
        self.assertEqual(old.immutable_until, (now + timedelta(days=5)).replace(tzinfo=None))
        self.assertIn("a previous version of it is immutable until", old.message_ids[0].body)
        self.assertIn("Retention kept 1 backup(s)", policy.message_ids[0].body)
        # Delete Backup says until when, before any request
        calls = len(self.emu.control.requests())
        with self.assertRaisesRegex(UserError, "immutable until"):
            old.action_delete_backup()
        self.assertEqual(self.remote_calls(calls), [])

        # after that version's end (Azure's clock 6 days on): Delete Backup leaves nothing of it
        self.pass_time(old, 6)
        old.action_delete_backup()
        self.assertEqual(old.state, "deleted")
        self.assertEqual(self.versions(name), [])

    def test_a_read_only_user_deletes_nothing(self):
        """Delete Backup of an ended immutable backup: the rights are checked before any request."""
        policy = self.make_policy(storage_id=self.worm.id)
        name = "%s2025/01-01.zip" % policy._blob_prefix()
        self.worm_blobs.upload_blob(name, b"backup", metadata=policy._owner_metadata())
        backup = self.done_backup(
            policy,
            name,
            datetime(2025, 1, 1, 1, 0),
            immutable_until=datetime(2025, 1, 8, 1, 0),
            immutability_mode="Unlocked",
        )
        viewer = new_test_user(self.env, "worm_reader", groups="oec_cloud_accounts.group_cloud_user")
        calls = len(self.emu.control.requests())
        with self.assertRaises(AccessError):
            backup.with_user(viewer).action_delete_backup()
        self.assertEqual(self.remote_calls(calls), [])
        self.assertEqual(backup.state, "done")
        self.assertEqual([current for _vid, current in self.versions(name)], [True])

    def test_a_container_without_support_writes_nothing_and_says_what_to_do(self):
        policy = self.make_policy(backup_format="dump", immutable=True)
        backup = self.backup_now(policy)
        self.assertEqual(backup.state, "failed")
        self.assertIn("no version-level immutability support: nothing was written", backup.error)
        self.assertIn("Enable version-level immutability support", backup.error)
        self.assertEqual(self.blob_names(), [])
        self.assertEqual(self.storage.immutable_support, "missing")
        # the location's access test says it too: first the role immutable backups need...
        self.storage.action_test_access()
        self.assertEqual(self.storage.state, "error")
        self.assertIn("Storage Blob Data Owner", self.storage.last_error)
        # ... then, once given, the container's missing support and what to do
        self.emu.control.assign_role(
            defaults.USER_OID,
            defaults.ROLE_BLOB_DATA_OWNER,
            "%s/blobServices/default/containers/%s" % (self.storage_account.id, self.storage.container),
        )
        self.storage.action_test_access()
        self.assertEqual(self.storage.state, "ready", self.storage.last_error)
        self.assertIn("Enable version-level immutability support", self.storage.message_ids[0].body)
        # known now: the policy cannot be saved so
        with self.assertRaisesRegex(ValidationError, "no version-level immutability support"):
            policy.immutability_days = 3
        # nor an immutable policy moved onto that location
        moved = self.make_policy(name="Moved", storage_id=self.worm.id, immutable=True)
        with self.assertRaisesRegex(ValidationError, "no version-level immutability support"):
            moved.storage_id = self.storage
        # Check Immutability asks Azure again (turned on in the portal meanwhile: another location)
        worm_policy = self.make_policy(name="Worm", storage_id=self.worm.id, immutable=True)
        worm_policy.action_check_immutability()
        self.assertEqual(self.worm.immutable_support, "enabled")
        self.assertIn("Enabled", worm_policy.message_ids[0].body)

    def test_storage_blob_data_contributor_is_not_enough(self):
        """Azure lets only the storage owner set a blob's immutability policy: with Contributor the
        backup fails naming the role, and Check Immutability says who must assign it."""
        container_id = self.worm_container("odoo-worm-2")
        self.emu.control.assign_role(defaults.USER_OID, defaults.ROLE_BLOB_DATA_CONTRIBUTOR, container_id)
        location = self.make_location(self.account, container="odoo-worm-2")
        policy = self.make_policy(storage_id=location.id, backup_format="dump", immutable=True)
        backup = self.backup_now(policy)
        self.assertEqual(backup.state, "failed")
        self.assertIn("needs Storage Blob Data Owner on the container", backup.error)
        with self.assertRaisesRegex(UserError, "Storage Blob Data Owner"):
            policy.action_check_immutability()

    def test_lifecycle_rule_must_not_delete_before_the_end(self):
        with self.assertRaisesRegex(ValidationError, "before their immutability ends"):
            self.make_policy(
                storage_id=self.worm.id,
                immutable=True,
                immutability_days=30,
                lifecycle_enabled=True,
                lifecycle_cool_days=0,
                lifecycle_delete_days=10,
            )

    def test_only_settings_administrators_change_the_protection(self):
        policy = self.make_policy(storage_id=self.worm.id, immutable=True, immutability_days=30)
        viewer = new_test_user(self.env, "worm_viewer", groups="oec_cloud_accounts.group_cloud_user")
        manager = new_test_user(self.env, "worm_manager", groups="oec_cloud_accounts.group_cloud_manager")
        calls = len(self.emu.control.requests())
        for user in (viewer, manager):
            as_user = policy.with_user(user)
            self.assertTrue(as_user.immutable)  # they read it
            for values in ({"immutable": False}, {"immutability_days": 1}, {"immutability_mode": "Unlocked"}):
                with self.assertRaises(AccessError):
                    as_user.write(values)
            with self.assertRaises(AccessError):
                as_user.action_check_immutability()
        self.assertEqual(self.remote_calls(calls), [])
        self.assertEqual((policy.immutable, policy.immutability_days), (True, 30))
