import logging
import time
import uuid
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..services import AzureError
from ..services.arm import StaticTokenCredential
from ..services.blob import BlobStore
from ..services.errors import KIND_TRANSIENT
from ..services.storage import StorageClient
from .cloud_account import RECONNECT
from .cloud_server import region_label
from .cloud_server_engine import TAG_CREATOR, TAG_CREATOR_VALUE, TAG_DATABASE

_logger = logging.getLogger(__name__)
CHECK_SECONDS = 10  # between two looks at a storage account Azure is creating
CREATION_SECONDS = 60  # about how long Azure takes to create one (the progress bar's scale)


class CloudStorage(models.Model):
    """A blob container of an Azure storage account, where backups go.

    Made by Storage Quick Setup (an account's Storage capability). No key is
    kept, nor used: blobs are read and written with the connected account's
    Microsoft Entra token for Azure Storage, as the signed-in user, whom Azure
    RBAC gives the Storage Blob Data Contributor role on the container; download
    links are user delegation SAS. Only when an administrator turns on the
    shared key fallback is the storage account's key read from Azure (listKeys)
    when a backup, a check or a download needs it, and used in memory only.
    """

    _name = "cloud.storage"
    _description = "Storage Location"
    _inherit = ("mail.thread", "mail.activity.mixin", "cloud.owned.fields.mixin", "cloud.job.mixin")
    _order = "name, id"
    # everything else comes from Azure or Quick Setup's checks
    _user_fields = frozenset({"name", "active", "shared_key_fallback"})

    name = fields.Char(
        compute="_compute_name",
        store=True,
        readonly=False,
        help="How the location is shown; by default 'storage account / container'.",
    )
    active = fields.Boolean(default=True)
    account_id = fields.Many2one(
        "cloud.account",
        required=True,
        ondelete="restrict",
        index=True,
        help="The connected Azure account: its Microsoft user reads and writes the backups (with the "
        "Storage Blob Data roles Azure gives that user).",
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    account_needs_reconnect = fields.Boolean(
        related="account_id.needs_reconnect",
        help="The account is archived, expired or disconnected: Odoo does nothing in Azure for this record "
        "until it is reconnected.",
    )
    subscription_id = fields.Char(string="Subscription ID", readonly=True)
    subscription_name = fields.Char(string="Subscription", readonly=True)
    resource_group = fields.Char(readonly=True)
    storage_account = fields.Char(
        readonly=True,
        help="3 to 24 lower-case letters and digits, unique across Azure.",
    )
    container = fields.Char(
        readonly=True,
        help="The blob container backups are written to (3 to 63 lower-case letters, digits and hyphens).",
    )
    shared_key_fallback = fields.Boolean(
        groups="base.group_system",
        tracking=True,
        help="Sign blob requests with the storage account's key (read from Azure each time, never "
        "stored) instead of Microsoft Entra ID: only for an account where nobody can give the "
        "Storage Blob Data Contributor role. Azure refuses it when the storage account disallows shared "
        "key access (as Azure Policy often requires).",
    )
    location = fields.Char(string="Region Code", readonly=True)
    location_label = fields.Char(compute="_compute_location_label", string="Region")
    kind = fields.Char(readonly=True, help="Azure's kind of storage account, e.g. StorageV2.")
    sku = fields.Char(string="Redundancy", readonly=True, help="e.g. Standard_LRS.")
    blob_endpoint = fields.Char(
        readonly=True,
        help="The account's blob service URL, as Azure gave it at the last access test (shown only: Odoo "
        "reads it from Azure again each time it uses it).",
    )
    azure_id = fields.Char(string="Azure Resource ID", readonly=True)
    state = fields.Selection(
        [("creating", "Creating"), ("new", "To Test"), ("ready", "Ready"), ("error", "Cannot Access")],
        default="ready",
        required=True,
        readonly=True,
        tracking=True,
        help="Creating: Azure is creating the storage account. To Test: created, no access test yet. Ready: "
        "the last access test wrote, read and deleted a blob. Cannot Access: see the last error for what to "
        "change in the Azure portal (or why Azure could not create the account).",
    )
    last_check_at = fields.Datetime(string="Last Access Test", readonly=True)
    # cloud.job.mixin: next_run_at (following a creation), retry_count, last_error, last_error_code
    last_error = fields.Text(help="Why the last access test or the creation failed.")
    # following a creation (Azure's long-running operation); no secret in the token (azure-core 1.41
    # keeps the request's URL and the response, not its headers)
    lro_token = fields.Text(string="Operation Token", readonly=True, groups="base.group_system", copy=False)
    next_run_at = fields.Datetime(string="Next Creation Check", help="When Odoo asks Azure again.")
    policy_ids = fields.One2many("cloud.backup.policy", "storage_id", string="Backup Policies")
    policy_count = fields.Integer(compute="_compute_policy_count", string="Policies")
    in_progress = fields.Boolean(compute="_compute_progress", help="Azure is creating the storage account.")
    progress = fields.Integer(
        compute="_compute_progress",
        help="While Azure creates the storage account: the time elapsed against the minute it usually takes.",
    )

    @api.depends("storage_account", "container")
    def _compute_name(self):
        for storage in self:
            if storage.storage_account and storage.container:
                storage.name = "%s / %s" % (storage.storage_account, storage.container)
            else:
                storage.name = storage.name or storage.storage_account or False

    @api.depends("location")
    def _compute_location_label(self):
        for storage in self:
            storage.location_label = region_label(storage.location)

    @api.depends("policy_ids")
    def _compute_policy_count(self):
        for storage in self:
            storage.policy_count = len(storage.policy_ids)

    @api.depends("state", "create_date")
    def _compute_progress(self):
        now = fields.Datetime.now()
        for storage in self:
            storage.in_progress = storage.state == "creating"
            if storage.in_progress:
                elapsed = (now - (storage.create_date or now)).total_seconds()
                storage.progress = min(95, int(100 * elapsed / CREATION_SECONDS))
            else:
                storage.progress = 0 if storage.state == "error" else 100

    # -- what backups need ---------------------------------------------------------------------------

    def _blob_store(self):
        """The container, reached as the connected account's user with a Microsoft Entra token for
        Azure Storage, or with the shared key fallback, with the storage account's key read from
        Azure now (sudo: callers checked the user's rights first).

        The endpoint is never the stored one: it is the account's
        primaryEndpoints.blob read from Azure now, checked against the cloud's
        storage suffix before any token or key is sent (StorageClient.blob_endpoint)."""
        self.ensure_one()
        storage = self.sudo()
        client = storage.account_id._arm(StorageClient)
        endpoint = client.blob_endpoint(
            storage.subscription_id,
            storage.resource_group,
            storage.storage_account,
            **storage.account_id.environment_id._blob_endpoint_rule(),
        )
        if storage.shared_key_fallback:
            credential = client.account_key(
                storage.subscription_id, storage.resource_group, storage.storage_account
            )
        else:
            credential = StaticTokenCredential(*storage.account_id._storage_token())
        if storage.blob_endpoint != endpoint:  # shown on the form; nearly never changes
            storage.blob_endpoint = endpoint
        return BlobStore(
            endpoint,
            credential,
            storage.container,
            ca_bundle=self.env["cloud.azure.environment"]._ca_bundle(),
            account_name=storage.storage_account,
            backoff=self.env["cloud.azure.environment"]._retry_backoff(),
            timeout=self.env["cloud.azure.environment"]._timeout(),
            read_timeout=self.env["cloud.azure.environment"]._timeout(set_only=True),
        )

    # -- actions (each reaches Azure: access first, then sudo) --------------------------------------

    def action_test_access(self):
        """Write, read back and delete a marker blob; the result shows on the form."""
        self._check_storage_admin()
        self._check_can_change()
        self.account_id._check_can_change()
        for storage in self.sudo():
            storage._test_access()
        return True

    def action_check_again(self):
        """Ask Azure once how the creation of the storage account goes."""
        self._check_storage_admin()
        self._check_can_change()
        self.account_id._check_can_change()
        for storage in self.sudo().filtered(lambda s: s.state == "creating"):
            storage._advance_creation_safely()
        return True

    def action_quick_setup(self):
        """Storage Quick Setup again, on this location (to pick its container, or another)."""
        self._check_storage_admin()
        self._check_can_change()
        self.account_id._check_can_change()
        self.ensure_one()
        return self.env["cloud.storage.setup"]._open(self.account_id.sudo(), storage=self.sudo())

    def action_view_policies(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "oec_cloud_accounts.cloud_backup_policy_action"
        )
        action["domain"] = [("storage_id", "=", self.id)]
        action["context"] = {"default_storage_id": self.id}
        return action

    def action_new_backup_policy(self):
        """Quick Setup's last step: the backup settings of this database, on this location."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Backup Settings"),
            "res_model": "cloud.backup.policy",
            "view_mode": "form",
            "target": "current",
            "context": {"default_storage_id": self.id},
        }

    # -- business methods -----------------------------------------------------------------------------

    def _open_after_setup(self):
        """Where Storage Quick Setup ends: a ready location without a policy for this database gets one
        with the default settings (for Settings administrators: only they may make one), saved at once so
        that nothing is lost by leaving its form, which opens next; else the location's form."""
        self.ensure_one()
        if self.env.is_system() and self.state == "ready":
            policies = self.env["cloud.backup.policy"]
            policy = policies.search([("storage_id", "=", self.id)], limit=1)
            if not policy:
                policy = policies.create({"storage_id": self.id})
                policy.message_post(
                    body=_(
                        "Created by Storage Quick Setup with the default settings (a daily backup and its "
                        "retention): change them on this form."
                    )
                )
                return {
                    "type": "ir.actions.act_window",
                    "name": _("Backup Settings"),
                    "res_model": "cloud.backup.policy",
                    "res_id": policy.id,
                    "view_mode": "form",
                    "target": "current",
                }
        return {
            "type": "ir.actions.act_window",
            "res_model": "cloud.storage",
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    def _test_access(self):
        """The access test (callers checked the rights): True when a blob could be
        written, read and deleted; else the record says why (state Cannot Access)."""
        self.ensure_one()
        now = fields.Datetime.now()
        try:
            if not self.container:
                raise UserError(_("Choose a container first (Storage Quick Setup)."))
            if not self._check_roles():
                self.message_post(
                    body=_(
                        "Access test by %(user)s: %(error)s", user=self.env.user.name, error=self.last_error
                    )
                )
                return False
            marker = "%s-%s" % (self.env.cr.dbname, uuid.uuid4().hex)
            self._blob_store().check_access(marker)
        except AzureError as error:
            if self._role_applying(error):
                return False
            if self.account_id._record_account_failure(error):
                # the account's sign-in or rights, not the storage: its state stays, the account's changes
                self._job_on_hold(self.account_id, error)
                return False
            message = self.account_id._azure_error_message(error, reference=True)
            self.write({"state": "error", "last_error": message, "last_check_at": now})
            self._end_role_wait(error, message)
            self.message_post(
                body=_("Access test by %(user)s failed: %(error)s", user=self.env.user.name, error=message)
            )
            return False
        self.write({"state": "ready", "last_error": False, "last_check_at": now, "next_run_at": False})
        if self.role_state == "applying":
            self.role_state = "granted"
        self.message_post(
            body=_(
                "Access test by %(user)s: a blob was written, read back and deleted in %(container)s.",
                user=self.env.user.name,
                container=self.container,
            )
        )
        self._test_immutability()
        return True

    def _test_immutability(self):
        """After an access test, when a policy writes immutable backups here: the container's
        version-level immutability support, read from Azure, and what to do without it."""
        if not self._writes_immutable():
            return
        try:
            enabled = self._check_immutability()
        except AzureError as error:
            self.message_post(body=self.account_id._azure_error_message(error, reference=True))
            return
        if not enabled:
            self.message_post(body=self._immutability_missing_text())

    def _start_creation(self, resource_group_location=None):
        """Send the storage account's creation (sudo, rights checked by the
        caller): the record stays Creating until Azure says it is done."""
        self.ensure_one()
        client = self.account_id._arm(StorageClient)
        tags = self._tags()
        client.create_resource_group(
            self.subscription_id, self.resource_group, resource_group_location or self.location, tags
        )
        token = client.begin_create_account(
            self.subscription_id, self.resource_group, self.storage_account, self.location, tags, self.sku
        )
        self.write({"lro_token": token or False, "next_run_at": fields.Datetime.now(), "retry_count": 0})
        self.message_post(
            body=_(
                "Storage account %(name)s asked to Azure by %(user)s (%(region)s, %(sku)s).",
                name=self.storage_account,
                user=self.env.user.name,
                region=self.location,
                sku=self.sku,
            )
        )
        self._trigger_cron()

    def _advance_creation(self):
        """One look at the creation; on success, read the new account's endpoints."""
        self.ensure_one()
        client = self.account_id._arm(StorageClient)
        if self.lro_token and not client.poll_create(self.subscription_id, self.lro_token):
            self.write({"next_run_at": fields.Datetime.now() + timedelta(seconds=CHECK_SECONDS)})
            return False
        account = client.get_account(self.subscription_id, self.resource_group, self.storage_account)
        self.write(
            {
                "state": "new",
                "lro_token": False,
                "next_run_at": False,
                "retry_count": 0,
                "last_error": False,
                "azure_id": account["id"],
                "blob_endpoint": account["blob_endpoint"],
                "kind": account["kind"],
                "sku": account["sku"],
                "location": account["location"],
            }
        )
        self.message_post(body=_("Azure created the storage account %s.", self.storage_account))
        if self.created_by_setup:
            self._after_creation()
        self._read_settings(account)
        if self.container:
            self._test_access()
        return True

    def _advance_creation_safely(self):
        """One look at one record: whatever happens is recorded on it, never raised."""
        return self._job_isolated(self, "creation check", self._advance_creation)

    def _job_account(self):
        return self.account_id

    def _job_record_failure(self, error, what):
        """Transient: look again later, with backoff. Else the creation failed: say why
        (the account's own failures wait for it instead: cloud.job.mixin)."""
        error = self._job_azure_error(error)
        if error.key == RECONNECT:
            # the account was disconnected or archived meanwhile: the creation is followed after Reconnect
            return
        message = self.account_id._azure_error_message(error, reference=True)
        if error.detail and error.detail not in message:
            message = "%s\n%s" % (message, error.detail)
        if error.kind == KIND_TRANSIENT:
            self._job_retry_later(error, message)
            return
        self.write(
            {
                "state": "error",
                "last_error": message,
                "last_error_code": error.code,
                "lro_token": False,
                "next_run_at": False,
                "retry_count": 0,
            }
        )
        self.message_post(body=_("Azure could not create the storage account: %s", message))

    def _set_lifecycle_rule(self, prefix, cool_after_days, delete_after_days):
        """Our lifecycle management rule on this container (sudo, rights checked
        by the caller); see StorageClient.set_lifecycle_rule."""
        self.ensure_one()
        storage = self.sudo()
        return storage.account_id._arm(StorageClient).set_lifecycle_rule(
            storage.subscription_id,
            storage.resource_group,
            storage.storage_account,
            storage.container,
            prefix,
            cool_after_days,
            delete_after_days,
        )

    @api.model
    def _check_storage_admin(self):
        """Storage locations hold backups, and a backup is the whole database (every company,
        password hashes): setting them up and reaching them is for administrators only."""
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(
                _(
                    "Only administrators (Settings access) may set up or test backup storage: a backup "
                    "holds the whole database."
                )
            )

    def _acting_accounts(self):
        return self.sudo().account_id

    def _tags(self):
        return {
            TAG_CREATOR: TAG_CREATOR_VALUE,
            TAG_DATABASE: self.env["ir.config_parameter"].sudo().get_param("database.uuid", ""),
        }

    # -- scheduled action -------------------------------------------------------------------------------

    @api.model
    def _cron_check_creating(self, batch_size=20, budget=0):
        """Follow the storage accounts Azure is creating, one short transaction each.

        Rows are picked by cloud.job.mixin (FOR UPDATE SKIP LOCKED: several cron
        workers share them); a failure of one is recorded on it and the others go on.
        ``budget``: seconds this run may stay while Azure creates, looking again each
        time one is due (the scheduled action passes 50: Odoo's cron thread looks at
        future triggers only once a minute, which would show a creation of one minute
        as two).
        """
        deadline = time.monotonic() + budget
        total = 0
        while True:
            total += self._job_run_due(
                self._name,
                SQL("%s AND next_run_at <= %s", self._creating_condition(), fields.Datetime.now()),
                SQL("next_run_at, id"),
                "creation check",
                lambda storage: (
                    storage._advance_creation() if storage.state == "creating" else storage._test_access()
                ),
                batch_size,
            )
            when = self._next_check_at()
            wait = when and max((when - fields.Datetime.now()).total_seconds(), 0.2)
            if not wait or time.monotonic() + wait >= deadline:
                self._trigger_cron()
                return total
            # nothing held while Azure works: no lock, no open transaction
            self.env.cr.commit()  # pylint: disable=invalid-commit
            time.sleep(wait)

    @api.model
    def _creating_condition(self):
        """SQL: the creations to follow, and the access tests waiting for Azure to apply a role Odoo
        assigned (cloud_storage_access.py), but those of an account that needs Reconnect (they wait)."""
        return SQL(
            "(state = 'creating' OR (state = 'error' AND role_state = 'applying'))"
            " AND next_run_at IS NOT NULL AND %s",
            self._job_account_active(),
        )

    @api.model
    def _next_check_at(self):
        """When the next creation is due a look (None: none is followed)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL("SELECT min(next_run_at) FROM cloud_storage WHERE %s", self._creating_condition())
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _trigger_cron(self):
        """Wake the scheduled action when the next creation is due."""
        when = self._next_check_at()
        if when:
            cron = self.env.ref("oec_cloud_accounts.ir_cron_cloud_storage_creation", raise_if_not_found=False)
            if cron:
                cron._trigger(at=max(when, fields.Datetime.now()))
