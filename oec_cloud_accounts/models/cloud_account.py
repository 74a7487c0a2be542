from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..services import AzureError
from ..services.dns import DnsClient
from ..services.errors import KIND_GRANT

# Written only by the code that owns them (connect, refresh, cron), in sudo
# mode after the caller's rights were checked: read-only in the views is no
# protection, since RPC can write any field of a record the caller may write.
SYSTEM_FIELDS = frozenset(
    {
        "provider",
        "environment_id",
        "state",
        "ms_username",
        "ms_display_name",
        "ms_object_id",
        "tenant_id",
        "access_expires_at",
        "last_refresh_at",
        "next_run_at",
        "retry_count",
        "last_error",
        "last_error_code",
        "can_compute",
        "can_storage",
        "can_dns",
    }
)

STATES = [
    ("active", "Active"),
    ("expired", "Expired"),
    ("error", "Error"),
    ("disconnected", "Disconnected"),
]
# only Reconnect gives these accounts a sign-in again: Odoo does nothing in Azure through them, and
# neither does it for what depends on them (servers, DNS zones, storage locations, backup policies)
RECONNECT_STATES = ("expired", "disconnected")
# the key of an AzureError (its message is in azure_messages.py)
RECONNECT = "account.reconnect"
# names of dependents quoted in a message, the others counted
NAMES_SHOWN = 5


class CloudAccount(models.Model):
    """A cloud provider account connected by OAuth (Microsoft Azure).

    Tokens live encrypted in columns the ORM does not know (see
    oec.secret.mixin); the token logic is in cloud_account_tokens.py.
    """

    _name = "cloud.account"
    _inherit = (
        "mail.thread",
        "mail.activity.mixin",
        "oec.secret.mixin",
        "cloud.owned.fields.mixin",
        "cloud.job.mixin",
    )
    _description = "Cloud Account"
    _order = "sequence, name, id"
    # storage_token_enc: "<expiry timestamp> <token>" of Azure Storage's token (_storage_token)
    _secret_columns = ("refresh_token_enc", "access_token_enc", "storage_token_enc")
    _code_owned_fields = SYSTEM_FIELDS

    # connected accounts are named after the signed-in user and tenant (_connect)
    name = fields.Char(required=True, tracking=True, default=lambda self: _("Microsoft Azure"))
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    provider = fields.Selection([("azure", "Microsoft Azure")], required=True, default="azure", readonly=True)
    environment_id = fields.Many2one(
        "cloud.azure.environment",
        string="Azure Cloud",
        required=True,
        readonly=True,
        ondelete="restrict",
        help="The Azure cloud (public, US Government, China, private or sandbox) the account lives in.",
    )
    is_sandbox = fields.Boolean(related="environment_id.is_sandbox", string="Sandbox")
    state = fields.Selection(
        STATES,
        string="Status",
        default="active",
        required=True,
        readonly=True,
        tracking=True,
        help="Active: tokens work. Expired: Microsoft refused the stored sign-in, click Reconnect. "
        "Error: Azure refused a check, see Last Error. Disconnected: tokens were deleted.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        tracking=True,
        help="Who gets an activity when the account needs a reconnection.",
    )
    # the signed-in Microsoft account
    ms_username = fields.Char(
        string="Microsoft Account", readonly=True, help="The email / UPN that signed in."
    )
    ms_display_name = fields.Char(string="Signed-in Name", readonly=True)
    ms_object_id = fields.Char(string="User Object ID", readonly=True)
    tenant_id = fields.Char(
        string="Tenant ID", readonly=True, help="The Microsoft Entra directory of the account."
    )
    # subscriptions and capabilities
    subscription_ids = fields.One2many("cloud.account.subscription", "account_id", string="Subscriptions")
    subscription_count = fields.Integer(compute="_compute_subscription_info")
    default_subscription_name = fields.Char(compute="_compute_subscription_info", string="Subscription")
    # those of the default subscription, stored for the search filters
    can_compute = fields.Boolean(
        string="Compute", compute="_compute_capabilities", store=True, help="Microsoft.Compute is registered."
    )
    can_storage = fields.Boolean(
        string="Storage", compute="_compute_capabilities", store=True, help="Microsoft.Storage is registered."
    )
    can_dns = fields.Boolean(
        string="DNS",
        compute="_compute_capabilities",
        store=True,
        help="Microsoft.Network is registered with DNS zones available.",
    )
    # token bookkeeping (the tokens themselves are not fields)
    access_expires_at = fields.Datetime(string="Access Token Expiry", readonly=True)
    last_refresh_at = fields.Datetime(string="Last Refresh", readonly=True)
    # cloud.job.mixin: retry_count, last_error, last_error_code, and the keepalive's next refresh
    next_run_at = fields.Datetime(
        string="Next Refresh",
        help="When the scheduled action next renews the tokens (sooner after a transient failure).",
    )
    has_tokens = fields.Boolean(compute="_compute_has_tokens")
    is_usable = fields.Boolean(
        string="Usable",
        compute="_compute_is_usable",
        help="Active with stored tokens: Odoo can act in Azure with this account.",
    )

    needs_reconnect = fields.Boolean(
        compute="_compute_needs_reconnect",
        help="Archived, Expired or Disconnected: Odoo does nothing in Azure with this account, nor for "
        "its servers, DNS zones, storage locations and backup policies, until it is reconnected.",
    )

    dns_zone_ids = fields.One2many("cloud.dns.zone", "account_id", string="DNS Zones")
    server_count = fields.Integer(compute="_compute_server_count", string="Servers")
    storage_ids = fields.One2many("cloud.storage", "account_id", string="Storage Locations")

    @api.depends("subscription_ids.is_default", "subscription_ids.name")
    def _compute_subscription_info(self):
        for account in self:
            subs = account.subscription_ids
            account.subscription_count = len(subs)
            default = subs.filtered("is_default")[:1]
            account.default_subscription_name = default.name or False

    @api.depends(
        "state",
        "subscription_ids.is_default",
        "subscription_ids.can_compute",
        "subscription_ids.can_storage",
        "subscription_ids.can_dns",
    )
    def _compute_capabilities(self):
        for account in self:
            default = account.subscription_ids.filtered("is_default")[:1]
            # only known while the account works: an expired or disconnected
            # account cannot tell what Azure allows now
            known = account.state == "active"
            account.can_compute = known and default.can_compute
            account.can_storage = known and default.can_storage
            account.can_dns = known and default.can_dns

    def _compute_has_tokens(self):
        with_tokens = self._ids_with_secret("refresh_token_enc")
        for account in self:
            account.has_tokens = account.id in with_tokens

    @api.depends("state", "has_tokens")
    def _compute_is_usable(self):
        """Whether Odoo can act in Azure with the account now: Active, with
        tokens stored by this database (not by the one it is a copy of, see
        oec.secret.mixin). Capabilities are only meaningful then, and every button
        that reaches Azure through the account (Use, Register, and
        the actions of other addons on the card) should be shown only then:
        ``invisible="not is_usable"``. Otherwise the only actions are
        Reconnect and Delete, and Refresh while tokens are stored."""
        with_tokens = self._ids_with_secret("refresh_token_enc", here=True)
        for account in self:
            account.is_usable = account.state == "active" and account.id in with_tokens

    @api.depends("state", "active")
    def _compute_needs_reconnect(self):
        for account in self:
            account.needs_reconnect = not account.active or account.state in RECONNECT_STATES

    def _compute_server_count(self):
        counts = dict(
            self.env["cloud.server"]._read_group(
                [("account_id", "in", self.ids), ("state", "!=", "deleted")], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.server_count = counts.get(account, 0)

    # -- CRUD --------------------------------------------------------------------------------------

    def write(self, vals):
        if "active" not in vals and "state" not in vals:
            return super().write(vals)
        if "active" in vals and not vals["active"]:
            self.filtered("active")._check_nothing_depends(archive=True)
        needed = {account: account.needs_reconnect for account in self}
        result = super().write(vals)
        # disconnected, expired, archived, or back: the backup policies pause or resume
        changed = self.filtered(lambda account: account.needs_reconnect != needed[account])
        if changed:
            changed._dependents()["policies"]._follow_account()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_without_dependents(self):
        # what PostgreSQL would refuse (cloud_server_account_id_fkey...), said with the records' names
        self._check_nothing_depends()

    def action_add_account(self):
        self._check_can_connect()
        return {
            "type": "ir.actions.act_window",
            "name": _("Add Account"),
            "res_model": "cloud.account.connect",
            "view_mode": "form",
            "target": "new",
        }

    def action_reconnect(self):
        """Sign in again into this record: the sign-in is prepared here, in
        the button's request (see cloud.azure.environment._start_connect)."""
        # access before effect: preparing the sign-in already calls Microsoft
        self._check_can_change()
        self._check_can_connect()
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": self.environment_id._start_connect(self),
            "target": "self",
        }

    def action_view_subscriptions(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Subscriptions"),
            "res_model": "cloud.account.subscription",
            "view_mode": "tree,form",
            "domain": [("account_id", "=", self.id)],
        }

    # -- private helpers ---------------------------------------------------------------------------

    @api.model
    def _check_can_connect(self):
        """Connecting (Add Account, Reconnect, the OAuth callback) is for Cloud Managers."""
        if not self.env.user.has_group("oec_cloud_accounts.group_cloud_manager"):
            raise AccessError(_("Only Cloud Managers can connect cloud accounts."))

    def _check_usable(self):
        """Refuse, without calling Azure, an action on an account that has no working sign-in."""
        for account in self:
            if not account.is_usable:
                if self.env.user.has_group("oec_cloud_accounts.group_cloud_manager"):
                    hint = _("click Reconnect first")
                else:
                    hint = _("ask a Cloud Manager to reconnect it")
                raise UserError(
                    _(
                        "The account %(name)s has no working sign-in to Azure: %(hint)s.",
                        name=account.name,
                        hint=hint,
                    )
                )

    def _check_connected(self):
        """Refuse, at once and before anything is queued or sent to Azure, an action through an
        account that only Reconnect can bring back (Expired, Disconnected) or an archived one.
        Every action on a server, DNS zone, storage location, backup policy or backup passes here
        (cloud.owned.fields.mixin._check_can_change), and so does every client (_arm)."""
        for account in self.sudo():
            if account.needs_reconnect:
                raise UserError(self._azure_error_message(account._reconnect_error()))

    def _reconnect_error(self):
        """The AzureError of an action through this account while it needs Reconnect."""
        self.ensure_one()
        if self.active:
            state = dict(self._fields["state"]._description_selection(self.env))[self.state].lower()
        else:
            state = _("archived")
        return AzureError(
            RECONNECT, code="reconnect_account", kind=KIND_GRANT, params={"name": self.name, "state": state}
        )

    @api.model
    def _dependents(self, everything=False):
        """What Odoo does in Azure through these accounts (sudo): {"servers", "zones", "storages",
        "policies"}, servers not deleted. ``everything``: every row that keeps an account from being
        deleted, archived and deleted ones too (DNS zones aside: they go with the account)."""
        env = self.sudo().with_context(active_test=not everything).env
        servers = [("account_id", "in", self.ids)]
        if not everything:
            servers.append(("state", "!=", "deleted"))
        storages = env["cloud.storage"].search([("account_id", "in", self.ids)])
        found = {
            "servers": env["cloud.server"].search(servers),
            "zones": env["cloud.dns.zone"].search([("account_id", "in", self.ids)]),
            "storages": storages,
            "policies": env["cloud.backup.policy"].search([("storage_id", "in", storages.ids)]),
        }
        if everything:
            del found["zones"]
        return found

    @api.model
    def _dependents_lines(self, dependents, effects=None):
        """One line per kind of dependent: how many, the first names, and ``effects[kind]`` if given."""
        labels = {
            "servers": _("Servers"),
            "zones": _("DNS zones"),
            "storages": _("Storage locations"),
            "policies": _("Backup policies"),
        }
        lines = []
        for kind, records in dependents.items():
            if not records:
                continue
            names = records.mapped("display_name")
            shown = ", ".join(names[:NAMES_SHOWN]) + (", …" if len(names) > NAMES_SHOWN else "")
            line = "• %s (%d): %s" % (labels[kind], len(records), shown)
            if effects:
                line = "%s. %s" % (line, effects[kind])
            lines.append(line)
        return lines

    def _disconnect_summary(self):
        """What Disconnect does to this account and to what depends on it (its confirmation)."""
        self.ensure_one()
        effects = {
            "servers": _(
                "They keep running, and billing, in Azure; Odoo no longer starts, stops, refreshes or "
                "deletes them, and their schedules and any operation under way wait."
            ),
            "zones": _("Kept as last read; Odoo changes no record in them, the servers' A records included."),
            "storages": _("Odoo no longer writes or reads backups there."),
            "policies": _("Paused: no scheduled backup, and queued ones wait."),
        }
        lines = self._dependents_lines(self._dependents(), effects)
        intro = _(
            "Disconnect deletes the stored tokens of %s: Odoo no longer acts in Azure with it, nor for "
            "what depends on it, until you reconnect it. Nothing is deleted in Azure.",
            self.name,
        )
        if not lines:
            return "%s\n\n%s" % (intro, _("Nothing in Odoo depends on this account."))
        return "%s\n\n%s\n\n%s" % (
            intro,
            "\n".join(lines),
            _("Reconnect resumes all of it: the backup policies are scheduled again."),
        )

    def _check_nothing_depends(self, archive=False):
        """Refuse to delete (or ``archive``) an account that records still depend on, naming them."""
        for account in self:
            lines = self._dependents_lines(account._dependents(everything=not archive))
            if not lines:
                continue
            if archive:
                message = _(
                    "%(name)s cannot be archived while these depend on it:\n%(lines)s\nAn archived account "
                    "would leave them without one. Delete or archive them first, or Disconnect the account "
                    "to stop Odoo acting in Azure with it.",
                    name=account.name,
                    lines="\n".join(lines),
                )
            else:
                message = _(
                    "%(name)s cannot be deleted while these depend on it:\n%(lines)s\nRemove them first: "
                    "a server with Delete in Azure, then its record; a backup policy and a storage location "
                    "once their backups are deleted (Delete Backup, then the record). Or keep the account "
                    "disconnected.",
                    name=account.name,
                    lines="\n".join(lines),
                )
            raise UserError(message)

    def _owned_fields_hint(self):
        return _("Use Reconnect, Refresh or Disconnect instead.")

    def _check_owned_fields(self, vals):
        super()._check_owned_fields(vals)
        if self.env.su:
            return
        if vals.get("company_id") and vals["company_id"] not in self.env.user.company_ids.ids:
            # the account, with its working tokens, would appear to another company's managers
            raise AccessError(_("A cloud account can only be moved to a company you belong to."))

    # -- servers, DNS and storage of the account ----------------------------------------------------

    def action_dns_quick_setup(self):
        """List the public DNS zones of every subscription the account sees, to pick one."""
        self._check_can_change()
        self.ensure_one()
        return self.env["cloud.dns.zone.setup"]._open(self.sudo())

    def _dns_client(self):
        """A DnsClient with a fresh access token (callers checked the rights)."""
        self.ensure_one()
        return self.sudo()._arm(DnsClient)

    def action_provision_server(self):
        """Provision from Cloud, with this account chosen."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "oec_cloud_accounts.cloud_server_provision_action"
        )
        action["context"] = {"default_account_id": self.id}
        return action

    def action_view_servers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("oec_cloud_accounts.cloud_server_action")
        action["domain"] = [("account_id", "=", self.id)]
        return action

    def action_storage_quick_setup(self):
        """Storage Quick Setup: pick or create a storage account and a container, then test access."""
        self.env["cloud.storage"]._check_storage_admin()
        self._check_can_change()
        self.ensure_one()
        return self.env["cloud.storage.setup"]._open(self.sudo())
