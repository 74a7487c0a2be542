"""Backup test helpers: a storage account and container made in the emulator
through the real SDK (as the Azure portal would), a storage location and a
policy on it, and the blob container seen from outside Odoo."""

import base64
import time
from datetime import timedelta
from urllib.parse import quote

from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.storage.blob import BlobServiceClient
from azure_emulator import defaults

from odoo import fields

from ..models.cloud_backup_run import BLOCK_PARAM, TRANSIENT_TRIES
from ..services.arm import StaticTokenCredential
from .common import EmulatorMixin

RG = "oec-backups"
STORAGE_ACCOUNT = "oecbackuptest"
CONTAINER = "odoo-backups"


def block_id_pattern(index):
    """The query of the Put Block request of block ``index`` (as BlockBlobWriter names blocks)."""
    block_id = base64.b64encode(b"%032d" % index).decode()  # the SDK's encoding of our id
    return "comp=block&blockid=" + quote(block_id, safe="")


class BackupMixin(EmulatorMixin):
    """EmulatorMixin + a storage account, a connected account, a location and a policy."""

    def setUp(self):
        super().setUp()
        self.account = self.connect()
        self.seed_storage()
        self.storage = self.make_location(self.account)
        # small blocks: the test database's backup spans several of them
        self.env["ir.config_parameter"].sudo().set_param(BLOCK_PARAM, "256")

    def portal(self):
        return self.portal_clients(StorageManagementClient, ResourceManagementClient)

    def seed_storage(self, name=STORAGE_ACCOUNT, container=CONTAINER):
        storage, resources = self.portal()
        resources.resource_groups.create_or_update(RG, {"location": "westeurope"})
        # shared key access off, as Azure Policy requires: blobs are reached with Entra tokens only
        self.storage_account = storage.storage_accounts.begin_create(
            RG,
            name,
            {
                "location": "westeurope",
                "kind": "StorageV2",
                "sku": {"name": "Standard_LRS"},
                "properties": {"allowSharedKeyAccess": False},
            },
        ).result()
        storage.blob_containers.create(RG, name, container, {})
        # the roles the account's administrator gives the connected user: data on the container,
        # and user delegation keys (download links) on the account
        container_id = "%s/blobServices/default/containers/%s" % (self.storage_account.id, container)
        self.emu.control.assign_role(defaults.USER_OID, defaults.ROLE_BLOB_DATA_CONTRIBUTOR, container_id)
        self.emu.control.assign_role(defaults.USER_OID, defaults.ROLE_BLOB_DELEGATOR, self.storage_account.id)
        self.blobs = self.outside_client(container)

    def outside_client(self, container, **options):
        """The container seen from outside Odoo: someone else, its Storage Blob Data Owner."""
        container_id = "%s/blobServices/default/containers/%s" % (self.storage_account.id, container)
        self.emu.control.assign_role(defaults.SECOND_USER_OID, defaults.ROLE_BLOB_DATA_OWNER, container_id)
        minted = self.emu.control.issue_token(user=defaults.SECOND_USER_EMAIL, scope=defaults.STORAGE_SCOPE)
        return BlobServiceClient(
            self.storage_account.primary_endpoints.blob,
            credential=StaticTokenCredential(minted["access_token"], minted["expires_on"]),
            connection_verify=self.emu.ca_path,
            **options,
        ).get_container_client(container)

    def done_backup(self, policy, name, moment, **values):
        """A successful backup record of ``policy`` whose blob is ``name``, started at ``moment``."""
        return (
            self.env["cloud.backup"]
            .sudo()
            .create(
                dict(
                    {
                        "policy_id": policy.id,
                        "trigger": "scheduled",
                        "state": "done",
                        "started_at": moment,
                        "finished_at": moment,
                        "blob_name": name,
                        "sha256": "0" * 64,
                    },
                    **values,
                )
            )
        )

    def make_location(self, account, name=STORAGE_ACCOUNT, container=CONTAINER):
        return (
            account.env["cloud.storage"]
            .sudo()
            .create(
                {
                    "account_id": account.id,
                    "subscription_id": defaults.SUBSCRIPTION_ID,
                    "subscription_name": "Sandbox",
                    "resource_group": RG,
                    "storage_account": name,
                    "container": container,
                    "location": "westeurope",
                    "blob_endpoint": self.storage_account.primary_endpoints.blob,
                    "azure_id": self.storage_account.id,
                    "state": "ready",
                }
            )
        )

    def make_policy(self, **values):
        return self.env["cloud.backup.policy"].create(
            dict({"name": "Nightly", "storage_id": self.storage.id, "schedule_tz": "Europe/Paris"}, **values)
        )

    def run_cron(self):
        self.run_job("cloud.backup", "_cron_run")

    def backup_written(self, policy):
        """Back up now, run by the scheduled action: the backup, Done."""
        backup = self.env["cloud.backup"].browse(policy.action_backup_now()["res_id"])
        self.run_cron()
        self.assertEqual(backup.state, "done", backup.error)
        return backup

    def wait_restore(self, backup, field="restore_state", timeout=240):
        """The scheduled action's next passes while ``backup``'s ``field`` is running: our own
        restore process at work (not Azure), ``timeout`` seconds at most."""
        deadline = time.monotonic() + timeout
        while backup[field] == "running" and time.monotonic() < deadline:
            time.sleep(1)
            self.run_cron()

    def run_tries(self, backup, field="state"):
        """The scheduled action's passes while ``backup``'s ``field`` waits for a new try after
        a transient failure (TRANSIENT_TRIES at most), each try's time made to have come.
        Returns how many passes ran."""
        passes = 0
        while backup[field] == "queued" and backup.next_run_at:
            self.assertLessEqual(
                passes, TRANSIENT_TRIES, "a transient failure is tried a bounded number of times"
            )
            backup.sudo().next_run_at = fields.Datetime.now() - timedelta(seconds=1)
            self.run_cron()
            passes += 1
        return passes

    def blob_names(self):
        return sorted(blob.name for blob in self.blobs.list_blobs())
