from datetime import timedelta

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..services import AzureError
from ..services.authorization import ROLE_NAMES, AuthorizationClient, missing_roles
from ..services.errors import KIND_TRANSIENT
from ..services.storage import StorageClient, settings_findings
from .azure_messages import MESSAGES

# Azure applies a new role assignment after up to about 10 minutes (Microsoft Learn, "Troubleshoot
# Azure RBAC"): the access test is run again by the storage scheduled action meanwhile
ROLE_WAIT = timedelta(minutes=15)
ROLE_CHECK_SECONDS = 60
# roles that may assign roles on a scope, for the "who must" message
ASSIGNERS = "Owner, User Access Administrator or Role Based Access Control Administrator"


class CloudStorage(models.Model):
    # a concern file of cloud.storage (blob access by Microsoft Entra ID: roles, account settings),
    # named in ARCHITECTURE.md
    _inherit = "cloud.storage"  # pylint: disable=consider-merging-classes-inherited

    role_state = fields.Selection(
        [("granted", "Granted"), ("missing", "Missing"), ("applying", "Assigned, Azure Applying")],
        string="Data Roles",
        readonly=True,
        help="Whether the connected Microsoft user has the roles backups need: Storage Blob Data "
        "Contributor on the container and Storage Blob Delegator on the storage account (download links). "
        "Azure applies a new role assignment after a few minutes.",
    )
    role_assigned_at = fields.Datetime(readonly=True, help="When Odoo assigned the data roles.")
    created_by_setup = fields.Boolean(readonly=True, help="The storage account was created by Quick Setup.")
    settings_report = fields.Text(
        string="Storage Account Settings",
        readonly=True,
        help="What the storage account's settings (network, shared key access, TLS...) mean for backups, "
        "as Azure gave them when Quick Setup last read them.",
    )

    # -- actions (each reaches Azure: access first, then sudo) --------------------------------------

    def action_assign_roles(self):
        """Assign the missing data roles to the connected Microsoft user (ARM role assignments),
        when that user may; else say who must, with the exact roles, scopes and user."""
        self._check_storage_admin()
        self._check_can_change()
        self.account_id._check_can_change()
        for storage in self.sudo():
            storage._assign_roles()
            storage._test_access()
        return True

    # -- business methods -----------------------------------------------------------------------------

    def _missing_roles(self):
        """[(role id, scope)] the connected user lacks for backups (one ARM call); raises AzureError."""
        self.ensure_one()
        storage = self.sudo()
        account = storage.account_id
        client = account._arm(AuthorizationClient)
        assignments = client.role_assignments(storage.subscription_id, storage.azure_id, account.ms_object_id)
        return missing_roles(assignments, storage.azure_id, storage.container, storage._writes_immutable())

    def _assign_roles(self, quiet=False):
        """Assign what ``_missing_roles`` names (sudo, rights checked by the caller). A refusal
        (403 AuthorizationFailed: the user is no Owner or User Access Administrator there) is a
        UserError naming who must do what (``quiet``: False is returned, the access test says it);
        it is never the account's failure."""
        self.ensure_one()
        storage = self.sudo()
        account = storage.account_id
        with account._azure_errors():
            missing = storage._missing_roles()
            if not missing:
                storage.role_state = "granted"
                return False
            client = account._arm(AuthorizationClient)
            for role, scope in missing:
                try:
                    client.assign_role(storage.subscription_id, scope, role, account.ms_object_id)
                except AzureError as error:
                    if error.code != "AuthorizationFailed":
                        raise
                    if quiet:
                        return False
                    raise UserError(storage._who_must(missing)) from error
        now = fields.Datetime.now()
        storage.write(
            {
                "role_state": "applying",
                "role_assigned_at": now,
                "next_run_at": now + timedelta(seconds=ROLE_CHECK_SECONDS),
            }
        )
        storage.message_post(
            body=_(
                "%(user)s assigned %(roles)s to %(principal)s. Azure applies a new role within a few "
                "minutes: Odoo tests the access again by itself meanwhile.",
                user=self.env.user.name,
                roles=storage._roles_text(missing),
                principal=account.ms_username or account.ms_object_id,
            )
        )
        storage._trigger_cron()
        return True

    def _check_roles(self):
        """Before a blob request with Microsoft Entra ID: the roles are there, or the record says
        which are missing (state Cannot Access) and False is returned."""
        self.ensure_one()
        if self.shared_key_fallback:
            return True
        missing = self._missing_roles()
        if not missing:
            if self.role_state != "applying":
                self.role_state = "granted"
            return True
        self.write(
            {
                "state": "error",
                "role_state": "missing",
                "last_error": self._who_must(missing, offer=True),
                "last_check_at": fields.Datetime.now(),
            }
        )
        return False

    def _role_applying(self, error):
        """Whether ``error`` (an access test's) is Azure not applying yet a role Odoo assigned:
        then the record waits and the scheduled action tests again."""
        if error.code != "AuthorizationPermissionMismatch" or self.role_state != "applying":
            return False
        if not self.role_assigned_at or self.role_assigned_at + ROLE_WAIT < fields.Datetime.now():
            return False
        self.write(
            {
                "state": "error",
                "last_error": _(
                    "The data roles were assigned at %(when)s: Azure applies a new role assignment "
                    "within a few minutes (up to about ten). Odoo tests the access again by itself; "
                    "you can also click Test Access later.",
                    when=fields.Datetime.to_string(self.role_assigned_at),
                ),
                "next_run_at": fields.Datetime.now() + timedelta(seconds=ROLE_CHECK_SECONDS),
                "last_check_at": fields.Datetime.now(),
            }
        )
        self._trigger_cron()
        return True

    def _end_role_wait(self, error, message):
        """After an access test that failed otherwise than on a role Azure is still applying
        (``error``, said by ``message``), for a record waiting for its roles: the scheduled
        action must not pick it again at once. A transient failure (429, 5xx, timeout) is tried
        again later with backoff; any other ends the wait: the roles are Missing when Azure still
        refuses the data access (the wait passed), else Granted (something else refused it)."""
        self.ensure_one()
        if self.role_state != "applying":
            return
        if error.kind == KIND_TRANSIENT:
            self._job_retry_later(error, message)
            return
        mismatch = error.code == "AuthorizationPermissionMismatch"
        self.write({"role_state": "missing" if mismatch else "granted", "next_run_at": False})

    def _after_creation(self):
        """What Quick Setup sets on a storage account it created: blob and container soft delete
        (the account itself was created HTTPS only, TLS 1.2, without public blob access nor shared
        key access: StorageClient.begin_create_account). Azure refusing soft delete does not undo
        the creation: the chatter says so and how to turn it on in the Azure portal."""
        self.ensure_one()
        try:
            self.account_id._arm(StorageClient).set_soft_delete(
                self.subscription_id, self.resource_group, self.storage_account
            )
        except AzureError as error:
            self.message_post(
                body=_(
                    "Soft delete could not be turned on for the storage account %(account)s: %(error)s "
                    "Turn it on in the Azure portal: the storage account, Data management, Data "
                    "protection, then Enable soft delete for blobs and Enable soft delete for "
                    "containers.",
                    account=self.storage_account,
                    error=self.account_id._azure_error_message(error, reference=True),
                )
            )

    def _read_settings(self, found):
        """The settings report of the storage account as Azure gave it (``found``)."""
        self.ensure_one()
        findings = settings_findings(found, self.sudo().shared_key_fallback)
        values = {
            "account": found.get("name") or self.storage_account,
            "count": found.get("private_endpoints") or 0,
            "version": found.get("minimum_tls_version") or "?",
        }
        lines = [str(MESSAGES[key]) % values for key, _severity in findings]
        summary = _(
            "Shared key access: %(shared_key)s. Public network access: %(public)s. Firewall: %(firewall)s. "
            "Private endpoints: %(count)s. Minimum TLS: %(version)s. HTTPS only: %(https)s. Public blob "
            "access: %(blobs)s.",
            shared_key=_("allowed") if found.get("allow_shared_key_access") else _("disabled"),
            public=found.get("public_network_access") or _("Enabled"),
            firewall=_("selected networks only")
            if found.get("network_default_action") == "Deny"
            else _("all networks"),
            count=values["count"],
            version=values["version"],
            https=_("yes") if found.get("https_only", True) else _("no"),
            blobs=_("allowed") if found.get("allow_blob_public_access") else _("disabled"),
        )
        if not any(severity == "fail" for _key, severity in findings):
            lines.append(_("Nothing in these settings stops backups."))
        self.settings_report = "\n".join([summary, *lines])

    # -- helpers ----------------------------------------------------------------------------------------

    @staticmethod
    def _roles_text(missing):
        return "; ".join("%s (%s)" % (ROLE_NAMES.get(role, role), scope) for role, scope in missing)

    def _who_must(self, missing, offer=False):
        account = self.account_id
        principal = "%s (%s)" % (account.ms_username or "?", account.ms_object_id)
        text = _(
            "The connected Microsoft user %(principal)s lacks the roles Odoo reads and writes backups "
            "with: %(roles)s. Someone who is %(assigners)s on these scopes must assign them (Azure portal > "
            "the storage account > Access control (IAM) > Add role assignment).",
            principal=principal,
            roles=self._roles_text(missing),
            assigners=ASSIGNERS,
        )
        if offer:
            text += " " + _("If that is you, click Assign the Roles.")
        return text
