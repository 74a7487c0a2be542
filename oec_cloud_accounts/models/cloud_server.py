import base64
import binascii
import ipaddress
import re
import secrets
import struct

from odoo import _, _lt, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from odoo.addons.base.models.res_partner import _tz_get

from ..services.inputs import quote, shorten

STATES = [
    ("draft", "Draft"),
    ("provisioning", "Provisioning"),
    ("running", "Running"),
    ("stopped", "Stopped"),
    ("failed", "Failed"),
    ("deleting", "Deleting"),
    ("deleted", "Deleted"),
]
OPERATIONS = [
    ("provision", "Provision"),
    ("start", "Start"),
    ("stop", "Stop (deallocate)"),
    ("restart", "Restart"),
    ("refresh", "Refresh"),
    ("delete", "Delete"),
]
# provisioning, one short cron step each (see cloud_server_engine.py): each waits for what it
# needs only, the operations of a step running at once
PROVISION_STEPS = [
    ("resource_group", "Resource group"),
    ("network", "Network security group and virtual network"),
    ("vm", "Virtual machine, network interface and public IP"),
    ("finalize", "Power state and IP address"),
]
# 17.0.1.1.0 made the public IP and the NIC in steps of their own: a server upgraded while at one
# goes on along that chain (migrations/17.0.1.2.0 moved those at its first two steps to network)
LEGACY_STEPS = [
    ("public_ip", "Public IP address"),
    ("nic", "Network interface"),
]
# where a legacy step stands among PROVISION_STEPS (progress bar)
LEGACY_STEP_PLACE = {"public_ip": "network", "nic": "network"}
OPERATION_STEPS = [
    ("vm_action", "Virtual machine operation"),
    ("delete_group", "Resource group deletion"),
]
REGIONS = [
    # the six regions offered first, in this order (the subscription's other regions follow)
    ("eastus", "East US (Virginia)"),
    ("westus2", "West US 2 (Washington)"),
    ("westeurope", "West Europe (Netherlands)"),
    ("northeurope", "North Europe (Ireland)"),
    ("southeastasia", "Southeast Asia (Singapore)"),
    ("australiaeast", "Australia East (Sydney)"),
]
# the other regions' names as Azure displays them (ARM's location displayName), so that a person
# reads a name wherever a region is shown; a region missing here shows its code
REGION_NAMES = {
    "australiacentral": "Australia Central",
    "australiacentral2": "Australia Central 2",
    "australiasoutheast": "Australia Southeast",
    "brazilsouth": "Brazil South",
    "brazilsoutheast": "Brazil Southeast",
    "canadacentral": "Canada Central",
    "canadaeast": "Canada East",
    "centralindia": "Central India",
    "centralus": "Central US",
    "eastasia": "East Asia",
    "eastus2": "East US 2",
    "francecentral": "France Central",
    "francesouth": "France South",
    "germanynorth": "Germany North",
    "germanywestcentral": "Germany West Central",
    "israelcentral": "Israel Central",
    "italynorth": "Italy North",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
    "koreacentral": "Korea Central",
    "koreasouth": "Korea South",
    "mexicocentral": "Mexico Central",
    "newzealandnorth": "New Zealand North",
    "northcentralus": "North Central US",
    "norwayeast": "Norway East",
    "norwaywest": "Norway West",
    "polandcentral": "Poland Central",
    "qatarcentral": "Qatar Central",
    "southafricanorth": "South Africa North",
    "southafricawest": "South Africa West",
    "southcentralus": "South Central US",
    "southindia": "South India",
    "spaincentral": "Spain Central",
    "swedencentral": "Sweden Central",
    "switzerlandnorth": "Switzerland North",
    "switzerlandwest": "Switzerland West",
    "uaecentral": "UAE Central",
    "uaenorth": "UAE North",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "westcentralus": "West Central US",
    "westindia": "West India",
    "westus": "West US",
    "westus3": "West US 3",
    "usgovarizona": "USGov Arizona",
    "usgovtexas": "USGov Texas",
    "usgovvirginia": "USGov Virginia",
    "chinaeast": "China East",
    "chinaeast2": "China East 2",
    "chinaeast3": "China East 3",
    "chinanorth": "China North",
    "chinanorth2": "China North 2",
    "chinanorth3": "China North 3",
}
# the VM's power state as Azure reports it (PowerState/<code>), in words
POWER_STATES = {
    "starting": _lt("Starting"),
    "running": _lt("Running"),
    "stopping": _lt("Stopping"),
    "stopped": _lt("Stopped (still allocated: compute is billed)"),
    "deallocating": _lt("Deallocating"),
    "deallocated": _lt("Stopped (deallocated)"),
    "unknown": _lt("Unknown"),
}
# Written only by the provisioning code (sudo), after the caller's rights were checked.
SYSTEM_FIELDS = frozenset(
    {
        "state",
        "operation",
        "step",
        "lro_token",
        "lro_kind",
        "operation_started_at",
        "next_run_at",
        "retry_count",
        "last_error",
        "last_error_code",
        "failed_step",
        "resource_group",
        "vm_name",
        "public_ip",
        "power_state",
        "vcpus",
        "memory_gb",
        "schedule_last_event_at",
        "dns_zone_id",
        "dns_record_name",
        "dns_state",
        "dns_message",
        "https",
    }
)
# What Azure was asked to create: fixed once provisioning starts.
PROVISION_FIELDS = frozenset(
    {
        "account_id",
        "subscription_line_id",
        "location",
        "vm_size",
        "image",
        "admin_username",
        "ssh_public_key",
        "ssh_allowed_cidrs",
        "host_name",
        "os_disk_gb",
        "company_id",
    }
)
HOST_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
ADMIN_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# Azure refuses these Linux admin names
RESERVED_ADMINS = frozenset(
    [
        "administrator",
        "admin",
        "user",
        "user1",
        "test",
        "user2",
        "test1",
        "user3",
        "admin1",
        "1",
        "123",
        "a",
        "actuser",
        "adm",
        "admin2",
        "aspnet",
        "backup",
        "console",
        "david",
        "guest",
        "john",
        "owner",
        "root",
        "server",
        "sql",
        "support",
        "support_388945a0",
        "sys",
        "test2",
        "test3",
        "user4",
        "user5",
    ]
)
MIN_DISK_GB, MAX_DISK_GB = 30, 4095
# the encrypted column holding the Odoo master password (admin_passwd) of the server
MASTER_PASSWORD = "master_password_enc"
# SSH public keys: one OpenSSH line, of a type Azure Linux VMs take
SSH_KEY_MAX_CHARS = 16 * 1024
SSH_COMMENT_MAX_CHARS = 100
RSA_MIN_BITS, RSA_MAX_BITS = 2048, 16384
ECDSA_CURVES = {
    # key type: (curve name in the key data, length of the uncompressed point)
    "ecdsa-sha2-nistp256": (b"nistp256", 65),
    "ecdsa-sha2-nistp384": (b"nistp384", 97),
    "ecdsa-sha2-nistp521": (b"nistp521", 133),
}
SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", *ECDSA_CURVES)
# SSH sources: a short list of the networks that administer the server
SSH_SOURCES_MAX = 50


def region_label(location):
    """The name a person reads for an Azure region code (e.g. East US (Virginia) for eastus)."""
    return dict(REGIONS).get(location) or REGION_NAMES.get(location) or location


class CloudServer(models.Model):
    """An Azure VM prepared for hosting Odoo, in a resource group of its own.

    Everything that takes Azure more than a moment (provisioning, start, stop,
    restart, delete) is queued here and advanced by a scheduled action, one
    short step per transaction (cloud_server_engine.py): no web request ever
    waits for Azure.
    """

    _name = "cloud.server"
    _inherit = (
        "mail.thread",
        "mail.activity.mixin",
        "cloud.owned.fields.mixin",
        "cloud.company.references.mixin",
        "oec.secret.mixin",
        "cloud.job.mixin",
    )
    _description = "Cloud Server"
    _code_owned_fields = SYSTEM_FIELDS
    _order = "name, id"
    _check_company_auto = True
    # the master password: encrypted, in a column no ORM read reaches (oec.secret.mixin)
    _secret_columns = (MASTER_PASSWORD,)

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    account_id = fields.Many2one(
        "cloud.account",
        string="Cloud Account",
        required=True,
        ondelete="restrict",
        index=True,
        check_company=True,
        domain="[('state', '=', 'active'), ('can_compute', '=', True)]",
        help="The connected Azure account the server is created with.",
    )
    subscription_line_id = fields.Many2one(
        "cloud.account.subscription",
        string="Subscription",
        required=True,
        ondelete="restrict",
        check_company=True,
        domain="[('account_id', '=', account_id)]",
    )
    subscription_id = fields.Char(related="subscription_line_id.subscription_id", string="Subscription ID")
    account_needs_reconnect = fields.Boolean(
        related="account_id.needs_reconnect",
        help="The account is archived, expired or disconnected: Odoo does nothing in Azure for this record "
        "until it is reconnected.",
    )
    location = fields.Char(
        string="Region Code", required=True, help="The Azure region (location) name, e.g. westeurope."
    )
    location_label = fields.Char(compute="_compute_location_label", string="Region")
    vm_size = fields.Char(string="VM Size", required=True, help="e.g. Standard_B2s.")
    vcpus = fields.Integer(string="vCPUs", readonly=True)
    memory_gb = fields.Float(string="Memory (GiB)", readonly=True)
    image = fields.Selection(
        [("ubuntu2404", "Ubuntu 24.04 LTS"), ("ubuntu2204", "Ubuntu 22.04 LTS")],
        required=True,
        default="ubuntu2404",
    )
    admin_username = fields.Char(
        string="Admin User", required=True, default="odoo", help="The Linux user that can sign in with SSH."
    )
    ssh_public_key = fields.Text(
        string="SSH Public Key",
        required=True,
        help="One OpenSSH public key of the admin user, on one line (ssh-ed25519, "
        "ecdsa-sha2-nistp256/384/521, or ssh-rsa of 2048 bits or more). Password sign-in is disabled.",
    )
    ssh_allowed_cidrs = fields.Char(
        string="SSH Allowed From",
        help="Networks allowed to reach SSH (port 22), in CIDR notation, separated by commas, "
        "e.g. 203.0.113.0/24. Empty: SSH is closed. HTTP is always open, HTTPS when the server has a name "
        "in a managed DNS zone.",
    )
    host_name = fields.Char(
        help="The public name of the Odoo site, e.g. erp.example.com: nginx answers for it. The VM's "
        "computer name is its first label. In a zone of Cloud > DNS Zones, its A record is kept there and "
        "the site gets a Let's Encrypt certificate (HTTPS); elsewhere it is served over HTTP only.",
    )
    https = fields.Boolean(
        string="HTTPS",
        readonly=True,
        copy=False,
        help="Set when provisioning starts: the host name is in a managed DNS zone, so the VM obtains a "
        "Let's Encrypt certificate at its first boot and port 443 is open. Otherwise only port 80 is.",
    )
    web_access = fields.Char(compute="_compute_web_access")
    master_password_set = fields.Boolean(
        compute="_compute_master_password_set",
        help="The Odoo master password of the server (database manager) is stored, encrypted.",
    )
    os_disk_gb = fields.Integer(string="OS Disk (GiB)", default=64, required=True)
    # provisioning state, written by the engine
    state = fields.Selection(STATES, default="draft", required=True, readonly=True, tracking=True, index=True)
    operation = fields.Selection(OPERATIONS, readonly=True, help="What is being done, if anything.")
    step = fields.Selection(
        PROVISION_STEPS + LEGACY_STEPS + OPERATION_STEPS, readonly=True, string="Current Step"
    )
    failed_step = fields.Selection(PROVISION_STEPS + LEGACY_STEPS + OPERATION_STEPS, readonly=True)
    progress = fields.Integer(compute="_compute_progress", help="Share of the provisioning steps done.")
    in_progress = fields.Boolean(compute="_compute_progress")
    on_hold = fields.Boolean(
        compute="_compute_progress",
        help="An operation waits for its account, which is not active: it goes on once the account is "
        "reconnected (or works again).",
    )
    # shown while in progress as the time elapsed since, ticking in the browser (cloud_elapsed widget)
    operation_started_at = fields.Datetime(string="Started On", readonly=True)
    lro_token = fields.Text(readonly=True, groups="base.group_system", copy=False)
    lro_kind = fields.Char(readonly=True, groups="base.group_system", copy=False)
    # next_run_at, retry_count, last_error, last_error_code: cloud.job.mixin
    # what Azure has
    resource_group = fields.Char(readonly=True, copy=False)
    vm_name = fields.Char(string="VM Name", readonly=True, copy=False)
    public_ip = fields.Char(string="Public IP", readonly=True, copy=False)
    power_state = fields.Char(
        string="Power State Code",
        readonly=True,
        copy=False,
        help="As Azure reports it: running, deallocated...",
    )
    power_state_label = fields.Char(compute="_compute_power_state_label", string="Power State")
    portal_url = fields.Char(compute="_compute_portal_url", string="Azure Portal")
    # cost estimate (cloud.price), in the prices' currency (USD: Azure's retail prices, unconverted)
    cost_currency_id = fields.Many2one("res.currency", compute="_compute_cost", string="Currency")
    cost_hour = fields.Float(compute="_compute_cost", string="Cost per Hour", digits=(12, 4))
    cost_month = fields.Monetary(
        compute="_compute_cost",
        currency_field="cost_currency_id",
        string="Cost per Month",
        help="Running all month: the VM, its OS disk and its public IP, at pay-as-you-go list prices.",
    )
    cost_month_stopped = fields.Monetary(
        compute="_compute_cost",
        currency_field="cost_currency_id",
        string="Cost per Month When Stopped",
        help="A deallocated VM stops paying for compute but still pays for its disk and public IP.",
    )
    cost_source = fields.Char(compute="_compute_cost", string="Prices From")
    # schedule (cloud_server_schedule.py)
    schedule_enabled = fields.Boolean(
        string="Scheduled Start/Stop",
        tracking=True,
        help="Deallocate the VM outside working hours and start it again, to save compute cost.",
    )
    schedule_tz = fields.Selection(
        _tz_get, string="Time Zone", default=lambda self: self.env.user.tz or "UTC", required=True
    )
    schedule_start = fields.Float(string="Start At", default=8.0, help="Local time the VM is started.")
    schedule_stop = fields.Float(string="Stop At", default=20.0, help="Local time the VM is deallocated.")
    schedule_mon = fields.Boolean(string="Monday", default=True)
    schedule_tue = fields.Boolean(string="Tuesday", default=True)
    schedule_wed = fields.Boolean(string="Wednesday", default=True)
    schedule_thu = fields.Boolean(string="Thursday", default=True)
    schedule_fri = fields.Boolean(string="Friday", default=True)
    schedule_sat = fields.Boolean(string="Saturday")
    schedule_sun = fields.Boolean(string="Sunday")
    schedule_last_event_at = fields.Datetime(readonly=True, copy=False)

    _sql_constraints = (
        ("os_disk_range", "CHECK(os_disk_gb BETWEEN 30 AND 4095)", "The OS disk takes 30 to 4095 GiB."),
    )

    # -- computes ----------------------------------------------------------------------------------

    @api.depends("host_name", "https", "state")
    def _compute_web_access(self):
        for server in self:
            host = (server.host_name or "").rstrip(".").lower()
            if server.state == "draft":
                https = bool(server._managed_zone())
            else:
                https = server.https
            if https:
                server.web_access = _(
                    "HTTPS: a Let's Encrypt certificate for %s (obtained at the first boot, renewed by "
                    "certbot); HTTP redirects to it.",
                    host,
                )
            elif host:
                server.web_access = _(
                    "HTTP only (port 80): %s is not in a zone of Cloud > DNS Zones, so no certificate is "
                    "obtained and port 443 stays closed.",
                    host,
                )
            else:
                server.web_access = _(
                    "HTTP only (port 80): give the server a host name in a zone of Cloud > DNS Zones to "
                    "have HTTPS; port 443 stays closed."
                )

    def _compute_master_password_set(self):
        stored = self._ids_with_secret(MASTER_PASSWORD)
        for server in self:
            server.master_password_set = server.id in stored

    @api.depends("location")
    def _compute_location_label(self):
        for server in self:
            server.location_label = region_label(server.location)

    @api.depends("power_state")
    def _compute_power_state_label(self):
        for server in self:
            server.power_state_label = server._power_state_words(server.power_state)

    @api.depends("state", "operation", "step", "account_id.state")
    def _compute_progress(self):
        steps = [key for key, _label in PROVISION_STEPS]
        for server in self:
            queued = bool(server.operation) and server.state != "failed"
            # nothing moves while the account cannot sign in (the scheduled action skips it)
            server.on_hold = queued and server.account_id.state != "active"
            server.in_progress = queued and not server.on_hold
            step = LEGACY_STEP_PLACE.get(server.step, server.step)
            if server.operation == "provision" and step in steps:
                # the share of the steps done: a step's operations run at once, the bar moves when
                # all of them are over
                server.progress = int(100 * steps.index(step) / len(steps))
            else:
                server.progress = 100 if server.state in ("running", "stopped", "deleted") else 0

    @api.depends("location", "vm_size", "os_disk_gb")
    def _compute_cost(self):
        prices = self.env["cloud.price"].sudo()
        # the prices of all the servers' regions in one query, each currency looked up once
        keys = {server: (server.location, server.vm_size, server.os_disk_gb) for server in self}
        estimates = prices._estimates(key for key in keys.values() if key[0] and key[1])
        currencies = {}
        for server in self:
            estimate = estimates.get(keys[server])
            if estimate:
                code = estimate["currency"]
                if code not in currencies:
                    currencies[code] = prices._currency(code)
                # the currency first: a monetary amount is rounded to its currency's decimals
                server.cost_currency_id = currencies[code]
                server.cost_hour = estimate["hour"]
                server.cost_month = estimate["month"]
                server.cost_month_stopped = estimate["month_stopped"]
                server.cost_source = prices._source_label(estimate)
            else:
                server.cost_currency_id = False
                server.cost_hour = server.cost_month = server.cost_month_stopped = 0.0
                server.cost_source = _("no price known for this size in this region")

    @api.depends("resource_group", "subscription_id", "account_id.environment_id.portal_url")
    def _compute_portal_url(self):
        for server in self:
            portal = server.account_id.environment_id.portal_url
            if portal and server.resource_group and server.subscription_id:
                server.portal_url = "%s/#@/resource/subscriptions/%s/resourceGroups/%s/overview" % (
                    portal.rstrip("/"),
                    server.subscription_id,
                    server.resource_group,
                )
            else:
                server.portal_url = False

    # -- constraints -------------------------------------------------------------------------------

    @api.constrains("location", "vm_size")
    def _check_location_size(self):
        for server in self:
            if not re.fullmatch(r"[a-z0-9]{2,40}", server.location or ""):
                raise ValidationError(
                    _("%s is not an Azure region name (e.g. westeurope).", quote(server.location or ""))
                )
            if not re.fullmatch(r"[A-Za-z0-9_]{3,64}", server.vm_size or ""):
                raise ValidationError(
                    _("%s is not an Azure VM size (e.g. Standard_B2s).", quote(server.vm_size or ""))
                )

    @api.constrains("account_id", "subscription_line_id", "company_id")
    def _check_account_company(self):
        # sudo: the names are not read for the message, and the caller's reach was checked in create/write
        for server in self.sudo():
            if server.account_id.company_id != server.company_id:
                raise ValidationError(_("A server belongs to the company of its cloud account."))
            if server.subscription_line_id.account_id != server.account_id:
                raise ValidationError(
                    _("A server's subscription must be one of its cloud account's subscriptions.")
                )

    @api.constrains("admin_username")
    def _check_admin_username(self):
        for server in self:
            name = server.admin_username or ""
            if not ADMIN_RE.match(name) or name in RESERVED_ADMINS:
                raise ValidationError(
                    _(
                        "%s cannot be the admin user: use lowercase letters, digits, '-' or '_' (up to 32, "
                        "starting with a letter), and none of the names Azure reserves (admin, root, "
                        "administrator, user, test...).",
                        quote(name),
                    )
                )

    @api.constrains("ssh_public_key")
    def _check_ssh_public_key(self):
        for server in self:
            parse_ssh_public_key(server.ssh_public_key)

    @api.constrains("ssh_allowed_cidrs")
    def _check_ssh_allowed_cidrs(self):
        for server in self:
            parse_cidrs(server.ssh_allowed_cidrs)

    @api.constrains("host_name", "name")
    def _check_host_name(self):
        for server in self:
            if server.host_name:
                check_host_name(server.host_name)
            computer_name(server)

    # -- CRUD --------------------------------------------------------------------------------------

    def write(self, vals):
        if (
            not self.env.su
            and PROVISION_FIELDS.intersection(vals)
            and self.filtered(lambda s: s.state != "draft")
        ):
            raise UserError(
                _(
                    "A server's account, region, size, image, network and admin settings are fixed once "
                    "it has been provisioned: provision a new server instead."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_without_azure(self):
        for server in self:
            if (
                server.state not in ("draft", "deleted")
                or server.resource_group
                and server.state != "deleted"
            ):
                raise UserError(
                    _(
                        "%s still has resources in Azure: use Delete in Azure first (it removes its resource "
                        "group), then delete the record.",
                        server.name,
                    )
                )

    # -- user actions (each: access check first, then the engine in sudo) -------------------------

    def action_provision(self):
        """Check, then queue the provisioning; the answer shows the new master password once."""
        self._check_can_change()
        for server in self:
            if server.state != "draft":
                raise UserError(_("%s has already been provisioned.", server.name))
        servers = self.sudo()
        servers._preflight()
        for server in servers:
            # decided once, before the network security group and the cloud-init are made from it
            server.write({"https": bool(server._managed_zone())})
            server._ensure_master_password()
        servers._queue("provision", state="provisioning", step="resource_group")
        return servers._master_password_notification(
            _(
                "Provisioning started. The Odoo master password of %(servers)s (the database manager's; "
                "shown once here, administrators can show it again on the server): %(passwords)s",
                servers=", ".join(servers.mapped("name")),
                passwords=", ".join(server._get_secret(MASTER_PASSWORD) for server in servers),
            )
        )

    def action_show_master_password(self):
        """Administrators only: the server's Odoo master password, in a notification (never a field)."""
        self.ensure_one()
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only administrators (Settings group) can see a server's master password."))
        self.check_access_rights("read")
        self.check_access_rule("read")
        server = self.sudo()
        password = server._get_secret(MASTER_PASSWORD)
        if not password and server._secret_from_copy(MASTER_PASSWORD):
            raise UserError(
                _(
                    "The master password of %s was stored by the database this one is a copy of: it is "
                    "not shown here. See it in the original database.",
                    server.name,
                )
            )
        if not password:
            raise UserError(
                _(
                    "%s has no master password stored in Odoo (it was never provisioned from here).",
                    server.name,
                )
            )
        server._message_log(body=_("Master password shown to %s.", self.env.user.name))
        return server._master_password_notification(
            _("The Odoo master password of %(server)s: %(password)s", server=server.name, password=password)
        )

    def action_start(self):
        return self._operate("start", ("stopped",))

    def action_stop(self):
        return self._operate("stop", ("running",))

    def action_restart(self):
        return self._operate("restart", ("running",))

    def action_refresh_state(self):
        return self._operate("refresh", ("running", "stopped"))

    def action_delete_in_azure(self):
        """Delete the server's resource group (only if it carries our tag), after a confirmation."""
        self._check_can_change()
        for server in self:
            if server.state in ("draft", "deleted", "deleting"):
                raise UserError(_("%s has nothing in Azure to delete.", server.name))
        return self.sudo()._queue("delete", state="deleting", step="delete_group")

    def action_retry(self):
        """Go on from the step that failed."""
        self._check_can_change()
        for server in self.sudo():
            if server.state != "failed":
                raise UserError(_("%s has not failed.", server.name))
            state = {"provision": "provisioning", "delete": "deleting"}.get(server.operation)
            server.write(
                {
                    "state": state or server._settled_state(),
                    "step": server.failed_step or server.step,
                    "failed_step": False,
                    "retry_count": 0,
                    "next_run_at": False,
                    "last_error": False,
                    "last_error_code": False,
                }
            )
            server._message_log(body=_("Retry requested by %s.", self.env.user.name))
        self.env.ref("oec_cloud_accounts.ir_cron_cloud_server")._trigger()
        return True

    # -- helpers -----------------------------------------------------------------------------------

    def _operate(self, operation, allowed_states):
        self._check_can_change()
        labels = dict(self._fields["operation"]._description_selection(self.env))
        for server in self:
            if server.operation:
                raise UserError(_("%s is busy; wait for the current operation to end.", server.name))
            if server.state not in allowed_states:
                raise UserError(
                    _(
                        "%(op)s is not possible while %(server)s is %(state)s.",
                        op=labels[operation],
                        server=server.name,
                        state=server.state,
                    )
                )
        step = "finalize" if operation == "refresh" else "vm_action"
        return self.sudo()._queue(operation, step=step)

    def _queue(self, operation, state=None, step=None, automatic=False):
        """Hand the operation to the scheduled action and return at once.
        ``automatic``: asked by the server's schedule, not by a person."""
        now = fields.Datetime.now()
        values = {
            "operation": operation,
            "step": step,
            "operation_started_at": now,
            "next_run_at": False,
            "retry_count": 0,
            "last_error": False,
            "last_error_code": False,
            "failed_step": False,
        }
        if state:
            values["state"] = state
        self.write(values)
        labels = dict(self._fields["operation"]._description_selection(self.env))
        for server in self:
            if automatic:
                body = _("%s by the server's schedule.", labels[operation])
            else:
                body = _("%(op)s requested by %(user)s.", op=labels[operation], user=self.env.user.name)
            server._message_log(body=body)
        self.env.ref("oec_cloud_accounts.ir_cron_cloud_server")._trigger()
        return True

    def _power_state_words(self, power_state):
        """Azure's power state code (running, deallocated...) as a person reads it, in their language."""
        words = POWER_STATES.get(power_state)
        # Odoo's lazy translation reads the language from this frame's self.env
        return str(words) if words else power_state

    def _settled_state(self):
        return "running" if self.power_state in ("running", "starting") else "stopped"

    def _managed_zone(self):
        """The zone of Cloud > DNS Zones (of the server's company) holding the host name, if any."""
        self.ensure_one()
        if not self.host_name:
            return self.env["cloud.dns.zone"]
        zones = self.env["cloud.dns.zone"].sudo().with_company(self.company_id)
        return zones._zone_for_host(self.host_name)[0]

    def _ensure_master_password(self):
        """The server's master password (sudo callers), made and stored encrypted the first time:
        the same one goes into every copy of the cloud-init sent for the VM."""
        self.ensure_one()
        password = self._get_secret(MASTER_PASSWORD)
        if not password:
            password = secrets.token_urlsafe(24)
            self._set_secret(MASTER_PASSWORD, password)
        return password

    def _master_password_notification(self, message):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning",
                "title": _("Odoo master password"),
                "message": message,
                "sticky": True,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _owned_fields_hint(self):
        return _("Use the server's buttons instead.")

    def _acting_accounts(self):
        return self.sudo().account_id


# -- validation of what enters (plain functions: the wizard uses them too) ----------------------


def parse_ssh_public_key(text):
    """(type, bits, line) of exactly one OpenSSH public key line: ssh-ed25519, ecdsa-sha2-nistp256/384/521
    or ssh-rsa of 2048 bits or more, its data decoded and of the type it says; ``line`` is what Azure gets
    ("type data comment"). ValidationError otherwise."""
    text = (text or "").strip()
    if len(text) > SSH_KEY_MAX_CHARS:
        raise ValidationError(
            _(
                "The SSH public key is %(size)s characters long; one OpenSSH public key line takes at most "
                "%(max)s. Paste a single public key (the .pub file), not a private key or several keys.",
                size=len(text),
                max=SSH_KEY_MAX_CHARS,
            )
        )
    if len(text.splitlines()) > 1:
        raise ValidationError(
            _(
                "Paste exactly one SSH public key, on one line: Azure installs only that key for the admin "
                "user."
            )
        )
    parts = text.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-", "sk-")):
        raise ValidationError(_("Paste an OpenSSH public key: a line like 'ssh-ed25519 AAAA... me@host'."))
    kind, blob = parts[0], parts[1]
    comment = parts[2].strip() if len(parts) > 2 else ""
    if kind not in SSH_KEY_TYPES:
        raise ValidationError(
            _(
                "Use an ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa key (Azure Linux VMs accept "
                "these); got %s.",
                quote(kind, 40),
            )
        )
    if len(comment) > SSH_COMMENT_MAX_CHARS or any(ord(char) < 32 or ord(char) == 127 for char in comment):
        raise ValidationError(
            _(
                "The SSH key's comment (after the key data) takes at most %s printable characters: shorten "
                "it or remove it.",
                SSH_COMMENT_MAX_CHARS,
            )
        )
    try:
        data = base64.b64decode(blob, validate=True)
        fields_ = _ssh_fields(data)
    except (ValueError, binascii.Error, struct.error) as exc:
        raise ValidationError(_("The SSH public key is not valid OpenSSH base64 data.")) from exc
    if not fields_ or fields_[0] != kind.encode():
        raise ValidationError(_("The SSH public key's type does not match its data."))
    line = " ".join(filter(None, (kind, blob, comment)))
    if kind == "ssh-ed25519":
        if len(fields_) != 2 or len(fields_[1]) != 32:
            raise ValidationError(_("The ed25519 key is truncated."))
        return kind, 256, line
    if kind in ECDSA_CURVES:
        curve, point_size = ECDSA_CURVES[kind]
        if (
            len(fields_) != 3
            or fields_[1] != curve
            or len(fields_[2]) != point_size
            or fields_[2][:1] != b"\x04"
        ):
            raise ValidationError(_("The ECDSA key's data does not match its type %s.", kind))
        return kind, int(kind[-3:]), line
    if len(fields_) != 3:
        raise ValidationError(_("The RSA key is truncated."))
    bits = int.from_bytes(fields_[2], "big").bit_length()
    if not RSA_MIN_BITS <= bits <= RSA_MAX_BITS:
        raise ValidationError(
            _(
                "The RSA key has %(bits)s bits: Azure needs %(min)s to %(max)s (or use ed25519).",
                bits=bits,
                min=RSA_MIN_BITS,
                max=RSA_MAX_BITS,
            )
        )
    return kind, bits, line


def _ssh_fields(data):
    out, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        pos += 4
        if length > len(data) - pos:
            raise ValueError("truncated")
        out.append(data[pos : pos + length])
        pos += length
    return out


def parse_cidrs(text):
    """The networks of a comma-separated CIDR list (empty: none); ValidationError on a bad one, or when
    together they cover half of the internet's addresses or more."""
    items = [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]
    if len(items) > SSH_SOURCES_MAX:
        raise ValidationError(
            _(
                "SSH may be allowed from at most %(max)s networks (%(count)s given): name the networks "
                "that administer the server.",
                max=SSH_SOURCES_MAX,
                count=len(items),
            )
        )
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=True))
        except ValueError as exc:
            raise ValidationError(
                _(
                    "%s is not a network in CIDR notation (e.g. 203.0.113.0/24, or 203.0.113.7/32 for one "
                    "address).",
                    quote(item),
                )
            ) from exc
    for version, bits in ((4, 32), (6, 128)):
        same = [network for network in networks if network.version == version]
        covered = sum(network.num_addresses for network in ipaddress.collapse_addresses(same))
        if covered * 2 >= 2**bits:
            raise ValidationError(
                _(
                    "%(networks)s would open SSH to the whole internet, or to %(share)s%% of its "
                    "IPv%(version)s addresses: name your own networks.",
                    networks=shorten(", ".join(str(network) for network in same)),
                    share=round(100 * covered / 2**bits),
                    version=version,
                )
            )
    return [str(network) for network in networks]


def check_host_name(host_name):
    labels = host_name.rstrip(".").lower().split(".")
    if len(host_name) > 253 or len(labels) < 2 or not all(HOST_LABEL_RE.match(label) for label in labels):
        raise ValidationError(
            _(
                "%s is not a host name: use a full name such as erp.example.com (letters, digits and '-').",
                quote(host_name),
            )
        )


def computer_name(server):
    """The VM's computer name (Linux host name, at most 63 characters): the host name's first label,
    or the server's name made into one; ValidationError when nothing is left."""
    base = (server.host_name or "").split(".")[0] or server.name or ""
    name = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")[:63].strip("-")
    if not name or name.isdigit():
        raise ValidationError(_("Give the server a name with letters (it becomes the VM's name)."))
    return name
