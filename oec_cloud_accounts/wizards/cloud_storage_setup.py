from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..models.cloud_server import REGIONS
from ..services import AzureError
from ..services.hosts import check_storage_id
from ..services.storage import (
    DEFAULT_SKU,
    StorageClient,
    blob_problem,
    check_account_name,
    check_container_name,
    check_group_name,
)

SKUS = [
    ("Standard_LRS", "Locally redundant (LRS)"),
    ("Standard_ZRS", "Zone redundant (ZRS)"),
    ("Standard_GRS", "Geo redundant (GRS)"),
    ("Standard_RAGRS", "Geo redundant, readable (RA-GRS)"),
]
DEFAULT_CONTAINER = "odoo-backups"
STEPS = [
    ("account", "Storage Account"),
    ("creating", "Creating"),
    ("container", "Container"),
    ("result", "Test"),
]
DEFAULT_GROUP = "oec-backups"


class CloudStorageSetup(models.TransientModel):
    """Storage Quick Setup (the account's Storage Quick Setup button): a storage
    account picked or created, a container picked or created, then an access test.

    No key passes through here: the access test reads it from Azure in memory.
    """

    _name = "cloud.storage.setup"
    _inherit = ("cloud.owned.fields.mixin",)
    _description = "Storage Quick Setup"
    # the account, what Azure listed and where the wizard stands: written by its own code only (sudo,
    # after the caller's rights were checked: the wizard is opened from the account or the location)
    _code_owned_fields = frozenset(
        {"account_id", "wizard_step", "storage_id", "line_ids", "option_ids", "notes"}
    )

    wizard_step = fields.Selection(STEPS, default="account", required=True)
    account_id = fields.Many2one("cloud.account", required=True, readonly=True, ondelete="cascade")
    storage_id = fields.Many2one(
        "cloud.storage",
        string="Storage Location",
        readonly=True,
        ondelete="cascade",
        help="The location set up.",
    )
    storage_state = fields.Selection(related="storage_id.state", string="Location Status")
    # what the form shows: the container once Azure created the account the wizard waits for (the
    # scheduled action follows the creation; the form reloads itself meanwhile, see in_progress)
    step = fields.Selection(STEPS, compute="_compute_step")
    in_progress = fields.Boolean(related="storage_id.in_progress")
    progress = fields.Integer(related="storage_id.progress")
    storage_error = fields.Text(related="storage_id.last_error", string="Location Error")
    role_state = fields.Selection(related="storage_id.role_state")
    settings_report = fields.Text(related="storage_id.settings_report")
    line_ids = fields.One2many(
        "cloud.storage.setup.line", "wizard_id", string="Storage Accounts", readonly=True
    )
    option_ids = fields.One2many("cloud.storage.setup.option", "wizard_id", string="Options")
    notes = fields.Text(readonly=True, help="Subscriptions that could not be listed, and why.")
    # creating a storage account
    new_account_name = fields.Char(
        string="New Storage Account",
        help="3 to 24 lower-case letters and digits, unique across all of Azure (part of its URL).",
    )
    subscription_line_id = fields.Many2one(
        "cloud.account.subscription",
        string="Subscription",
        domain="[('account_id', '=', account_id), ('can_storage', '=', True)]",
        help="Subscriptions with Microsoft.Storage registered.",
    )
    location = fields.Selection(REGIONS, string="Region", default="eastus")
    sku = fields.Selection(
        SKUS, string="Redundancy", default=DEFAULT_SKU, help="Locally redundant is cheapest."
    )
    group_mode = fields.Selection(
        [("new", "New resource group"), ("existing", "Existing resource group")], default="new"
    )
    new_group_name = fields.Char(string="New Resource Group", default=DEFAULT_GROUP)
    group_option_id = fields.Many2one(
        "cloud.storage.setup.option",
        string="Resource Group",
        domain="[('wizard_id', '=', id), ('kind', '=', 'group'), ('subscription_id', '=', subscription_ref)]",
    )
    subscription_ref = fields.Char(related="subscription_line_id.subscription_id", string="Subscription Ref")
    # the container
    container_mode = fields.Selection(
        [("new", "New container"), ("existing", "Existing container")], default="new"
    )
    new_container = fields.Char(
        default=DEFAULT_CONTAINER,
        help="3 to 63 lower-case letters, digits and hyphens, starting with a letter or a digit, no two "
        "hyphens in a row.",
    )
    container_option_id = fields.Many2one(
        "cloud.storage.setup.option",
        string="Container",
        domain="[('wizard_id', '=', id), ('kind', '=', 'container')]",
    )

    @api.depends("wizard_step", "storage_state")
    def _compute_step(self):
        for wizard in self:
            created = wizard.wizard_step == "creating" and wizard.storage_state == "new"
            # a storage account Azure just created has no container: a new one is the only choice
            wizard.step = "container" if created else wizard.wizard_step

    @api.model_create_multi
    def create(self, vals_list):
        # only _open makes a wizard (its account is code-owned); checked again all the same
        self._check_manager()
        for vals in vals_list:
            self.env["cloud.account"].browse(vals.get("account_id"))._check_can_change()
        return super().create(vals_list)

    @api.model
    def _open(self, account, storage=None):
        """List the storage accounts and resource groups of every subscription of
        ``account`` with Storage (sudo; the caller checked the rights) and open
        the wizard; with ``storage``, go on with that location."""
        self._check_manager()
        values = {"account_id": account.id}
        if storage:
            values["storage_id"] = storage.id
        else:
            values.update(self._listing(account))
        # sudo: lines and options are the server's; the wizard stays the caller's (create_uid)
        wizard = self.sudo().create(values).sudo(False)
        if storage:
            if storage.state == "creating":
                wizard.sudo().wizard_step = "creating"
            else:
                wizard._load_containers()
        return wizard._reopen()

    @api.model
    def _listing(self, account):
        client = self._client(account)
        lines, options, notes, failed = [], [], [], False
        managed = set(account.storage_ids.with_context(active_test=False).mapped("azure_id"))
        for sub in account.subscription_ids:
            if not sub.can_storage:
                notes.append(
                    _(
                        "%(sub)s: Microsoft.Storage is not registered (register it from the account's "
                        "Subscriptions), so its storage accounts are not listed.",
                        sub=sub.name,
                    )
                )
                continue
            try:
                found = client.list_accounts(sub.subscription_id)
                groups = client.list_resource_groups(sub.subscription_id)
            except AzureError as error:
                notes.append("%s: %s" % (sub.name, account._azure_error_message(error, reference=True)))
                failed = True
                continue
            for item in found:
                lines.append(
                    fields.Command.create(
                        {
                            "name": item["name"],
                            "resource_group": item["resource_group"],
                            "subscription_id": sub.subscription_id,
                            "subscription_name": sub.name,
                            "location": item["location"],
                            "kind": item["kind"],
                            "sku": item["sku"],
                            "azure_id": item["id"],
                            "provisioning_state": item["provisioning_state"],
                            "already_managed": item["id"] in managed,
                            "unusable_reason": self._unusable_reason(account, item),
                        }
                    )
                )
            options += [
                fields.Command.create(
                    {
                        "kind": "group",
                        "name": g["name"],
                        "label": g["location"],
                        "subscription_id": sub.subscription_id,
                    }
                )
                for g in groups
            ]
        if failed and not lines:
            raise UserError("\n".join(notes))
        subs = account.subscription_ids.filtered("can_storage")
        if not subs:
            raise UserError(
                _(
                    "No subscription of %s has Microsoft.Storage registered: register it from the account's "
                    "Subscriptions, then run Storage Quick Setup again.",
                    account.name,
                )
            )
        return {
            "line_ids": lines,
            "option_ids": options,
            "notes": "\n".join(notes) or False,
            "subscription_line_id": (subs.filtered("is_default") or subs)[:1].id,
            "wizard_step": "account",
        }

    # -- step a: a storage account -----------------------------------------------------------------

    def action_create_account(self):
        """Check the name (rules, then Azure's global availability) and send the
        creation; it goes on in Azure while Odoo follows it (Check again, cron)."""
        self.ensure_one()
        account = self._checked_account()
        name = (self.new_account_name or "").strip()
        with account._azure_errors():
            check_account_name(name)
            sub = self.subscription_line_id.sudo()
            if not sub or sub.account_id != account or not sub.can_storage:
                raise UserError(_("Choose a subscription with Storage."))
            if self.group_mode == "existing":
                option = self.group_option_id.sudo()
                if not option:
                    raise UserError(_("Choose a resource group."))
                if (
                    option.wizard_id != self
                    or option.kind != "group"
                    or option.subscription_id != sub.subscription_id
                ):
                    raise UserError(_("Choose a resource group of the chosen subscription."))
                group, group_location = check_group_name(option.name), option.label
            else:
                # as typed: a name Azure refuses is said so, never changed behind the user's back
                group, group_location = check_group_name(self.new_group_name or ""), self.location
            client = self._client(account)
            free = client.check_name_availability(sub.subscription_id, name)
            if not free["available"]:
                raise UserError(
                    _(
                        "The storage account name %(name)s cannot be used: %(reason)s Choose another name "
                        "(storage account names are unique across all of Azure).",
                        name=name,
                        reason=free["message"] or free["reason"],
                    )
                )
            storage = (
                self.env["cloud.storage"]
                .sudo()
                .create(
                    {
                        "account_id": account.id,
                        "subscription_id": sub.subscription_id,
                        "subscription_name": sub.name,
                        "resource_group": group,
                        "storage_account": name,
                        "location": self.location,
                        "kind": "StorageV2",
                        "sku": self.sku or DEFAULT_SKU,
                        "state": "creating",
                        "created_by_setup": True,
                    }
                )
            )
            storage._start_creation(group_location)
        self.sudo().write({"storage_id": storage.id, "wizard_step": "creating"})
        return self._reopen()

    def action_check_again(self):
        """Ask Azure once how the creation goes; once done, on to the container."""
        self.ensure_one()
        self._checked_account()
        storage = self.storage_id.sudo()
        if storage.state == "creating":
            storage._advance_creation_safely()
        if storage.state == "new":
            self._load_containers()
        return self._reopen()

    # -- step b: a container -------------------------------------------------------------------------

    def _load_containers(self):
        """List the containers of the picked account (sudo: the caller checked the rights)."""
        storage = self.storage_id.sudo()
        with self.account_id._azure_errors():
            names = self._client(self.account_id).list_containers(
                storage.subscription_id, storage.resource_group, storage.storage_account
            )
        stale = self.option_ids.filtered(lambda o: o.kind == "container")
        self.sudo().write(
            {
                "option_ids": [fields.Command.delete(o.id) for o in stale]
                + [fields.Command.create({"kind": "container", "name": n}) for n in names],
                "wizard_step": "container",
            }
        )
        default = self.option_ids.filtered(lambda o: o.kind == "container" and o.name == DEFAULT_CONTAINER)
        if default:
            self.write({"container_mode": "existing", "container_option_id": default.id})

    def action_test_access(self):
        """Create the container when asked, then write, read and delete a marker blob."""
        self.ensure_one()
        account = self._checked_account()
        storage = self.storage_id.sudo()
        if self.container_mode == "existing":
            option = self.container_option_id.sudo()
            if not option or option.wizard_id != self or option.kind != "container":
                raise UserError(_("Choose a container."))
            container = option.name
        else:
            container = (self.new_container or "").strip()
        with account._azure_errors():
            check_container_name(container)
            if self.container_mode == "new":
                self._client(account).create_container(
                    storage.subscription_id, storage.resource_group, storage.storage_account, container
                )
        storage = self._location_for(storage, container)
        self.sudo().write({"storage_id": storage.id})
        if storage.created_by_setup and not storage.shared_key_fallback:
            # a storage account this wizard created: its creator gives themself the data roles (an
            # Owner of the group it is in may); refused, the access test says who must
            storage._assign_roles(quiet=True)
        if storage._test_access():
            return storage._open_after_setup()
        self.sudo().wizard_step = "result"
        return self._reopen()

    # -- step c: the result ----------------------------------------------------------------------------

    def action_test_again(self):
        self.ensure_one()
        self._checked_account()
        storage = self.storage_id.sudo()
        if storage._test_access():
            return storage._open_after_setup()
        return self._reopen()

    def action_assign_roles(self):
        """Give the connected user the data roles (when that user may), then test again."""
        self.ensure_one()
        self._checked_account()
        storage = self.storage_id.sudo()
        storage._assign_roles()
        if storage._test_access():
            return storage._open_after_setup()
        return self._reopen()

    def action_open_storage(self):
        self.ensure_one()
        self._checked_account()
        return self.storage_id._open_after_setup()

    # -- helpers ----------------------------------------------------------------------------------------

    def _location_for(self, storage, container):
        """The location of this account and container: the one being set up
        when it has no container yet, else the one already known, else a new one."""
        same = (
            self.env["cloud.storage"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("account_id", "=", storage.account_id.id),
                    ("azure_id", "=", storage.azure_id),
                    ("container", "=", container),
                ],
                limit=1,
            )
        )
        if same:
            if not storage.container and storage != same:
                storage.unlink()  # an unfinished duplicate, only in Odoo
            same.active = True
            return same
        if not storage.container:
            storage.container = container
            return storage
        return storage.copy({"container": container, "state": "new", "last_error": False})

    @api.model
    def _check_manager(self):
        """Backups go where this wizard points: administrators (Settings) only, who manage clouds."""
        self.env["cloud.storage"]._check_storage_admin()
        if not self.env.user.has_group("oec_cloud_accounts.group_cloud_manager"):
            raise AccessError(_("Only Cloud Managers can set up storage."))

    def _checked_account(self):
        """Access before effect: an administrator who may change the account (and the location)."""
        self._check_manager()
        self.account_id._check_can_change()
        if self.storage_id:
            self.storage_id._check_can_change()
        return self.account_id.sudo()

    @api.model
    def _unusable_reason(self, account, found):
        """Why backups cannot go to this storage account (as ``StorageClient`` lists it), or False."""
        key = blob_problem(found)
        if not key:
            return False
        error = AzureError(key, code="StorageKind", params={"account": found["name"], "kind": found["kind"]})
        return account._azure_error_message(error)

    @api.model
    def _client(self, account):
        with account._azure_errors():
            return account.sudo()._arm(StorageClient)

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Storage Quick Setup"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }


class CloudStorageSetupLine(models.TransientModel):
    _name = "cloud.storage.setup.line"
    _inherit = ("cloud.owned.fields.mixin",)
    # stands for what Azure listed: only the wizard's own code (sudo) makes or changes it
    _user_fields = frozenset()
    _description = "Storage Quick Setup: a storage account found"
    _order = "name, resource_group, id"

    wizard_id = fields.Many2one("cloud.storage.setup", required=True, ondelete="cascade")
    name = fields.Char(string="Storage Account", readonly=True)
    resource_group = fields.Char(readonly=True)
    subscription_id = fields.Char(string="Subscription ID", readonly=True)
    subscription_name = fields.Char(string="Subscription", readonly=True)
    location = fields.Char(string="Region", readonly=True)
    kind = fields.Char(readonly=True)
    sku = fields.Char(string="Redundancy", readonly=True)
    azure_id = fields.Char(string="Azure Resource ID", readonly=True)
    provisioning_state = fields.Char(readonly=True)
    already_managed = fields.Boolean(string="In Odoo", readonly=True)
    unusable_reason = fields.Char(
        string="Not Usable", readonly=True, help="Why backups cannot go to this storage account."
    )

    def _owned_fields_hint(self):
        return _(
            "The storage accounts, resource groups and containers offered by Storage Quick Setup are "
            "listed by Odoo from Azure. Run Storage Quick Setup from the account."
        )

    def action_select(self):
        """Use this storage account: read it again from Azure (its subscription must be
        one of the account's), then on to its containers."""
        self.ensure_one()
        wizard = self.wizard_id
        account = wizard._checked_account()
        line = self.sudo()
        sub = account.subscription_ids.filtered(lambda s: s.subscription_id == line.subscription_id)[:1]
        if not sub.can_storage:
            raise UserError(
                _("This storage account is not in a subscription of %s with Storage.", account.name)
            )
        with account._azure_errors():
            check_group_name(line.resource_group)
            check_account_name(line.name)
            found = wizard._client(account).get_account(sub.subscription_id, line.resource_group, line.name)
            check_storage_id(found["id"], sub.subscription_id, line.resource_group, line.name, found["name"])
        reason = wizard._unusable_reason(account, found)
        if reason:
            raise UserError(reason)
        storage_model = self.env["cloud.storage"].sudo().with_context(active_test=False)
        # a location of this account still without a container (an earlier, unfinished setup)
        storage = storage_model.search(
            [("account_id", "=", account.id), ("azure_id", "=", found["id"]), ("container", "=", False)],
            limit=1,
        )
        values = {
            "account_id": account.id,
            "subscription_id": sub.subscription_id,
            "subscription_name": sub.name,
            "resource_group": found["resource_group"],
            "storage_account": found["name"],
            "location": found["location"],
            "kind": found["kind"],
            "sku": found["sku"],
            "blob_endpoint": found["blob_endpoint"],
            "azure_id": found["id"],
            "active": True,
        }
        if storage:
            storage.write(values)
        else:
            storage = storage_model.create(dict(values, state="new"))
        storage._read_settings(found)
        wizard.sudo().storage_id = storage
        wizard._load_containers()
        return wizard._reopen()


class CloudStorageSetupOption(models.TransientModel):
    _name = "cloud.storage.setup.option"
    _inherit = ("cloud.owned.fields.mixin",)
    # stands for what Azure listed: only the wizard's own code (sudo) makes or changes it
    _user_fields = frozenset()
    _description = "Resource group or container offered to Storage Quick Setup"
    _order = "name, id"

    wizard_id = fields.Many2one("cloud.storage.setup", required=True, ondelete="cascade")
    kind = fields.Selection([("group", "Resource Group"), ("container", "Container")], required=True)
    name = fields.Char(required=True)
    label = fields.Char(help="The resource group's region.")
    subscription_id = fields.Char(string="Subscription ID")

    def _owned_fields_hint(self):
        return _(
            "The storage accounts, resource groups and containers offered by Storage Quick Setup are "
            "listed by Odoo from Azure. Run Storage Quick Setup from the account."
        )

    @api.depends("name", "label")
    def _compute_display_name(self):
        for option in self:
            option.display_name = "%s (%s)" % (option.name, option.label) if option.label else option.name
