"""Immutable backups (ransomware protection): each backup blob is written with a
time-based retention policy of its own (Azure's version-level immutability), so
that nobody can delete or change it before its end: not an Odoo administrator,
not a stolen session of one, not the storage account's Owner.

Why version-level and not a container policy (ARCHITECTURE.md): the end is set
per backup, when it is committed (Put Block List's
``x-ms-immutability-policy-*`` headers), from the policy's own number of days;
two databases, or two policies with other plans, may share one container; and
a container-level policy applies to every blob of the container, the access
test's marker included, which could then never be deleted. It needs a
container with version-level immutability support (``immutableStorageWithVersioning``,
ARM), which Odoo reads and never turns on by itself: once on, it cannot be
turned off, and the container cannot be deleted while it holds blobs.
"""

from datetime import timezone

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_datetime

from ..services import AzureError
from ..services.blob import IMMUTABILITY_MODES
from ..services.storage import StorageClient
from .cloud_backup_policy import IMMUTABLE_DAYS_MAX

SUPPORT = [("enabled", "Enabled"), ("missing", "Not Enabled")]


class CloudBackupPolicy(models.Model):
    _inherit = "cloud.backup.policy"  # pylint: disable=consider-merging-classes-inherited

    immutable = fields.Boolean(
        string="Immutable Backups",
        tracking=True,
        help="Ransomware protection: each backup is written with an Azure immutability policy "
        "(time-based retention) of its own, so that nobody can delete or change it before its end (an "
        "overwrite keeps it as a previous version): "
        "not an Odoo administrator, not someone using a stolen Odoo session, not even the storage "
        "account's owner in Azure. Retention and Delete Backup leave such a backup alone until then. "
        "Needs a container with version-level immutability support (Azure portal > the container > "
        "Access policy); Check Immutability tells.",
    )
    immutability_days = fields.Integer(
        string="Immutable For (days)",
        default=7,
        tracking=True,
        help="How long each backup cannot be deleted or changed, from the moment it is written. Keep it "
        "within the retention above (the daily backups kept, for instance): retention skips a backup "
        "still immutable, says so, and deletes it at its first pass after the end. At most 36500.",
    )
    immutability_mode = fields.Selection(
        [(mode, mode) for mode in IMMUTABILITY_MODES],
        default="Unlocked",
        required=True,
        tracking=True,
        help="Unlocked: someone with the right Azure role can still shorten or remove a backup's "
        "policy in the Azure portal (protection against mistakes and against a stolen Odoo session). "
        "Locked: nobody can shorten or remove it, ever; it can only be extended: the backup stays, "
        "and is billed, until its end, whatever happens (protection against a stolen Azure account too, "
        "and what compliance rules such as SEC 17a-4 ask).",
    )
    immutable_support = fields.Selection(
        related="storage_id.immutable_support",
        help="Whether the storage location's container accepts immutable backups (version-level "
        "immutability support), as Azure said at the last check.",
    )

    @api.constrains(
        "immutable", "immutability_days", "storage_id", "lifecycle_enabled", "lifecycle_delete_days"
    )
    def _check_immutability(self):
        for policy in self.filtered("immutable"):
            if not 1 <= policy.immutability_days <= IMMUTABLE_DAYS_MAX:
                raise ValidationError(
                    _("Immutable backups are kept between 1 and %s days.", IMMUTABLE_DAYS_MAX)
                )
            if policy.storage_id.immutable_support == "missing":
                raise ValidationError(policy.storage_id._immutability_missing_text())
            delete = policy.lifecycle_delete_days if policy.lifecycle_enabled else 0
            if delete and delete < policy.immutability_days:
                raise ValidationError(
                    _(
                        "The lifecycle rule deletes backups after %(delete)s days, before their "
                        "immutability ends (%(days)s days): Azure would refuse. Delete after %(days)s days "
                        "or more.",
                        delete=delete,
                        days=policy.immutability_days,
                    )
                )

    @api.onchange("immutable")
    def _onchange_immutable(self):
        # aligned with the retention plan: as long as the daily backups are kept, by default
        if self.immutable and self.keep_daily and self.immutability_days == 7:
            self.immutability_days = self.keep_daily

    def action_check_immutability(self):
        """Ask Azure whether the storage location's container accepts immutable backups."""
        self._check_backup_admin()
        for policy in self.sudo():
            storage = policy.storage_id
            with storage.account_id._azure_errors():
                storage._check_immutability()
                # setting a blob's policy is the owner's right: Storage Blob Data Owner
                if not storage._check_roles():
                    raise UserError(storage.last_error)
            policy.message_post(
                body=_(
                    "Immutability support of the container %(container)s checked by %(user)s: %(state)s.",
                    container=storage.container,
                    user=self.env.user.name,
                    state=dict(storage._fields["immutable_support"]._description_selection(self.env))[
                        storage.immutable_support
                    ],
                )
            )
        return True

    def _immutability(self):
        """(days, mode) of the policy each new backup blob gets, or None; raises AzureError when
        the container does not accept it (read from Azure now: the backup is never written without
        the protection its policy promises)."""
        self.ensure_one()
        if not self.immutable:
            return None
        storage = self.storage_id.sudo()
        if not storage._check_immutability():
            raise AzureError(
                "storage.immutability_not_enabled",
                code="ImmutabilityNotEnabled",
                params={"account": storage.storage_account, "container": storage.container},
            )
        return self.immutability_days, self.immutability_mode


class CloudStorage(models.Model):
    _inherit = "cloud.storage"  # pylint: disable=consider-merging-classes-inherited

    immutable_support = fields.Selection(
        SUPPORT,
        string="Immutability Support",
        readonly=True,
        help="Whether the container has version-level immutability support, which immutable backups "
        "need, as Azure said at the last check (a backup policy's Check Immutability, each immutable "
        "backup). It is turned on in the Azure portal (the container > Access policy > Enable "
        "version-level immutability support, with blob versioning on the account); it cannot be turned "
        "off again.",
    )

    def _check_immutability(self):
        """Read the container's version-level immutability support from Azure (one ARM call;
        the caller checked the rights) and keep it; True when enabled."""
        self.ensure_one()
        storage = self.sudo()
        enabled = storage.account_id._arm(StorageClient).container_immutability(
            storage.subscription_id, storage.resource_group, storage.storage_account, storage.container
        )
        support = "enabled" if enabled else "missing"
        if storage.immutable_support != support:
            storage.immutable_support = support
        return enabled

    def _writes_immutable(self):
        """Whether a policy writes immutable backups here: the data role needed is then Storage
        Blob Data Owner (services/authorization.py missing_roles)."""
        self.ensure_one()
        policies = self.env["cloud.backup.policy"].sudo()
        return bool(policies.search_count([("storage_id", "=", self.id), ("immutable", "=", True)], limit=1))

    def _immutability_missing_text(self):
        return _(
            "The container %(container)s of %(account)s has no version-level immutability support, which "
            "immutable backups need. In the Azure portal, turn on versioning for blobs on the storage "
            "account (Data management > Data protection), then on the container: Access policy > Enable "
            "version-level immutability support; or choose a storage location whose container has it. "
            "Then click Check Immutability on the backup policy.",
            container=self.container,
            account=self.storage_account,
        )


class CloudBackup(models.Model):
    _inherit = "cloud.backup"  # pylint: disable=consider-merging-classes-inherited

    immutable_until = fields.Datetime(
        help="The end of the backup's Azure immutability policy: nobody can delete or change the backup "
        "before (ransomware protection of its policy).",
    )
    immutability_mode = fields.Char(help="Unlocked or Locked (see the backup policy).")
    retention_held = fields.Boolean(
        help="Retention would delete this backup but its immutability keeps it (said once on the policy)."
    )

    def _job_record_failure(self, error, what):
        """A backup refused for want of support: the storage location remembers it (the failure
        rolled back what the run wrote), so that a policy cannot be saved immutable on it."""
        res = super()._job_record_failure(error, what)
        if isinstance(error, AzureError) and error.key == "storage.immutability_not_enabled":
            self.storage_id.sudo().immutable_support = "missing"
        return res

    def _describe(self, error):
        """Azure's refusal of an immutable backup for want of a role names the one it needs."""
        message = super()._describe(error)
        if (
            isinstance(error, AzureError)
            and error.code == "AuthorizationPermissionMismatch"
            and self.policy_id.immutable
        ):
            message = "%s %s" % (
                message,
                _(
                    "Immutable backups are written with their own immutability policy, which only the "
                    "storage owner may set: the connected Microsoft user needs Storage Blob Data Owner "
                    "on the container (Test Access on the storage location offers to assign it)."
                ),
            )
        return message

    def _locked_until(self):
        """The end of this backup's immutability when it has not come yet, else False."""
        self.ensure_one()
        if self.immutable_until and self.immutable_until > fields.Datetime.now():
            return self.immutable_until
        return False

    def _delete_blob(self, store):
        """An immutable backup lives in an account with blob versioning: Delete Blob only turns its
        blob into a previous version, which Azure keeps, and bills, until it is deleted by its id.
        So its previous versions are deleted too (``BlobStore.delete_versions``); the backup is
        marked Deleted only when none of it is left. A version still protected (written by an
        overwrite, or extended in the Azure portal) keeps it Done with that version's end as
        ``immutable_until``: returned, and retention deletes it at its first pass after it."""
        self.ensure_one()
        if not self.immutable_until:
            return super()._delete_blob(store)
        owner = self.policy_id._owner_metadata()
        store.delete(self.blob_name, owner)
        left = store.delete_versions(self.blob_name, owner)
        if left["foreign"]:
            self.message_post(
                body=_(
                    "%s previous version(s) of this backup's blob were not written by this database: "
                    "left alone (delete them in the Azure portal if they are not needed).",
                    left["foreign"],
                )
            )
        until = left["kept_until"]
        if until:
            until = until.astimezone(timezone.utc).replace(tzinfo=None)
            self.write({"immutable_until": until, "retention_held": False})
            self.message_post(
                body=_(
                    "The backup's blob was deleted, but a previous version of it is immutable until "
                    "%(until)s: Azure keeps it, and bills it, until then. It is deleted after that date "
                    "(retention, or Delete Backup).",
                    until=format_datetime(self.env, until),
                )
            )
            return until
        self.write({"state": "deleted"})
        return False

    def _check_not_locked(self):
        """Delete Backup on a backup still immutable: said before anything is sent to Azure."""
        for backup in self:
            until = backup._locked_until()
            if until:
                raise UserError(
                    _(
                        "The backup %(name)s is immutable until %(until)s (%(mode)s immutability policy in "
                        "Azure, the ransomware protection of its backup policy): nobody can delete it "
                        "before, an administrator included. Retention deletes it after that date.",
                        name=backup.display_name,
                        until=format_datetime(self.env, until),
                        mode=backup.immutability_mode or "Unlocked",
                    )
                )
