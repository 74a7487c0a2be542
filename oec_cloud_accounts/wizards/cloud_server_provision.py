from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..models.cloud_server import REGIONS
from ..services.compute import ComputeClient


class CloudServerProvision(models.TransientModel):
    """Servers > Provision from Cloud: account and subscription, then region,
    then a size the subscription may use there, then the host's settings."""

    _name = "cloud.server.provision"
    # another company's account or subscription: refused before anything of it is read
    _inherit = "cloud.company.references.mixin"
    _description = "Provision a Server from Azure"

    wizard_step = fields.Selection(
        [("account", "Account"), ("region", "Region"), ("server", "Server")], default="account", required=True
    )
    account_id = fields.Many2one(
        "cloud.account",
        string="Cloud Account",
        domain="[('state', '=', 'active'), ('can_compute', '=', True)]",
        default=lambda self: self._default_account(),
        help="Only active accounts whose subscription has Microsoft.Compute registered.",
    )
    subscription_line_id = fields.Many2one(
        "cloud.account.subscription",
        string="Subscription",
        domain="[('account_id', '=', account_id), ('can_compute', '=', True)]",
    )
    option_ids = fields.One2many("cloud.server.provision.option", "wizard_id")
    region_option_id = fields.Many2one(
        "cloud.server.provision.option",
        string="Region",
        domain="[('wizard_id', '=', id), ('kind', '=', 'region')]",
    )
    size_option_id = fields.Many2one(
        "cloud.server.provision.option",
        string="VM Size",
        domain="[('wizard_id', '=', id), ('kind', '=', 'size')]",
        help="Sizes your subscription may create in this region, with their pay-as-you-go estimate.",
    )
    name = fields.Char(string="Server Name")
    image = fields.Selection(
        [("ubuntu2404", "Ubuntu 24.04 LTS"), ("ubuntu2204", "Ubuntu 22.04 LTS")], default="ubuntu2404"
    )
    admin_username = fields.Char(string="Admin User", default="odoo")
    ssh_public_key = fields.Text(string="SSH Public Key")
    size_details = fields.Char(
        compute="_compute_size_details", help="The chosen size in words, with its pay-as-you-go estimate."
    )
    size_note = fields.Char(readonly=True, help="Sizes of the region that cannot boot the server's image.")
    ssh_allowed_cidrs = fields.Char(
        string="SSH Allowed From",
        help="Networks allowed to reach SSH, in CIDR notation, comma separated. Empty: SSH closed.",
    )
    host_name = fields.Char(help="e.g. erp.example.com")
    os_disk_gb = fields.Integer(string="OS Disk (GiB)", default=64)

    @api.model
    def _default_account(self):
        accounts = self.env["cloud.account"].search([("state", "=", "active"), ("can_compute", "=", True)])
        return accounts[:1] if len(accounts) == 1 else accounts.browse()

    @api.depends("size_option_id")
    def _compute_size_details(self):
        for wizard in self:
            size = wizard.size_option_id
            if not size:
                wizard.size_details = False
            elif size.price_hour:
                wizard.size_details = _(
                    "%(name)s: %(cpu)s vCPU and %(mem)s GiB of memory, about $%(month).0f a month "
                    "($%(hour).3f an hour) pay-as-you-go for the VM, its OS disk and its public IP.",
                    name=size.name,
                    cpu=size.vcpus,
                    mem="%g" % size.memory_gb,
                    month=size.price_month,
                    hour=size.price_hour,
                )
            else:
                wizard.size_details = _(
                    "%(name)s: %(cpu)s vCPU and %(mem)s GiB of memory; no price is known for it in this "
                    "region.",
                    name=size.name,
                    cpu=size.vcpus,
                    mem="%g" % size.memory_gb,
                )

    @api.onchange("account_id")
    def _onchange_account_id(self):
        self.subscription_line_id = (
            self.account_id.subscription_ids.filtered(lambda s: s.is_default and s.can_compute)[:1]
            or self.account_id.subscription_ids.filtered("can_compute")[:1]
        )

    def action_load_regions(self):
        """Step 1 -> 2: the regions of the subscription, the six of cloud_server.REGIONS first."""
        self.ensure_one()
        arm = self._checked_client()
        with self.account_id._azure_errors():
            offered = arm.list_locations(self.subscription_line_id.subscription_id)
        names = {loc["name"]: loc["display_name"] for loc in offered}
        lines = [
            (0, 0, {"kind": "region", "name": code, "label": label, "sequence": index})
            for index, (code, label) in enumerate(REGIONS)
            if code in names
        ]
        known = dict(REGIONS)
        lines += [
            (0, 0, {"kind": "region", "name": code, "label": label, "sequence": 100})
            for code, label in sorted(names.items(), key=lambda item: item[1])
            if code not in known
        ]
        self.sudo().write(
            {"option_ids": [(5, 0, 0), *lines], "wizard_step": "region", "size_option_id": False}
        )
        self.region_option_id = (
            self.option_ids.filtered(lambda o: o.name == "eastus")[:1] or self.option_ids[:1]
        )
        return self._reopen()

    def action_load_sizes(self):
        """Step 2 -> 3: sizes without restriction for the subscription in the region, with prices."""
        self.ensure_one()
        if not self.region_option_id:
            raise UserError(_("Choose a region."))
        arm = self._checked_client()
        location = self.region_option_id.name
        skipped = []
        with self.account_id._azure_errors():
            sizes = arm.list_vm_sizes(self.subscription_line_id.subscription_id, location, skipped=skipped)
        # the region's prices in one query, not one per size
        disk_gb = self.os_disk_gb or 64
        estimates = (
            self.env["cloud.price"].sudo()._estimates((location, size["name"], disk_gb) for size in sizes)
        )
        lines = []
        for index, size in enumerate(sizes):
            estimate = estimates[(location, size["name"], disk_gb)] or {}
            lines.append(
                (
                    0,
                    0,
                    {
                        "kind": "size",
                        "name": size["name"],
                        "sequence": index,
                        "vcpus": size["vcpus"],
                        "memory_gb": size["memory_gb"],
                        "price_hour": estimate.get("hour", 0.0),
                        "price_month": estimate.get("month", 0.0),
                    },
                )
            )
        if not lines:
            raise UserError(
                _(
                    "Your subscription may create no VM size in %s: pick another region.",
                    self.region_option_id.label,
                )
            )
        stale = self.option_ids.filtered(lambda o: o.kind == "size")
        self.sudo().write(
            {
                "option_ids": [(2, line.id) for line in stale] + lines,
                "wizard_step": "server",
                "size_note": self._size_note(skipped),
            }
        )
        sizes_found = self.option_ids.filtered(lambda o: o.kind == "size")
        self.size_option_id = sizes_found.filtered(lambda o: o.name == "Standard_B2s")[:1] or sizes_found[:1]
        return self._reopen()

    @api.model
    def _size_note(self, skipped):
        """Why sizes Azure lists are not offered (they cannot boot the server's image), or False."""
        generation = len([s for s in skipped if s["problem"] == "generation"])
        architecture = len([s for s in skipped if s["problem"] == "architecture"])
        if not (generation or architecture):
            return False
        return _(
            "Not offered, as the server's Ubuntu image is Generation 2 on x64: sizes that run only "
            "Generation 1 images (%(generation)s) and Arm64 sizes (%(architecture)s).",
            generation=generation,
            architecture=architecture,
        )

    def action_back(self):
        self.ensure_one()
        self.wizard_step = "region" if self.wizard_step == "server" else "account"
        return self._reopen()

    def action_provision(self):
        """Create the server and queue its provisioning: the request returns at once."""
        self.ensure_one()
        if not (self.size_option_id and self.region_option_id and self.name and self.ssh_public_key):
            raise UserError(_("Give the server a name, a size and an SSH public key."))
        server = self.env["cloud.server"].create(
            {
                "name": self.name,
                "company_id": self.account_id.company_id.id,
                "account_id": self.account_id.id,
                "subscription_line_id": self.subscription_line_id.id,
                "location": self.region_option_id.name,
                "vm_size": self.size_option_id.name,
                "image": self.image,
                "admin_username": self.admin_username,
                "ssh_public_key": self.ssh_public_key,
                "ssh_allowed_cidrs": self.ssh_allowed_cidrs,
                "host_name": self.host_name,
                "os_disk_gb": self.os_disk_gb,
            }
        )
        # the notification shows the server's new master password once, then opens its form
        result = server.action_provision()
        result["params"]["next"] = {
            "type": "ir.actions.act_window",
            "res_model": "cloud.server",
            "res_id": server.id,
            "views": [(False, "form")],
            "view_mode": "form",
            "target": "current",
        }
        return result

    def _checked_client(self):
        """Access before effect: a Cloud Manager who may change the account."""
        if not self.env.user.has_group("oec_cloud_accounts.group_cloud_manager"):
            raise AccessError(_("Only Cloud Managers can provision servers."))
        if not self.account_id or not self.subscription_line_id:
            raise UserError(_("Choose an active account and a subscription with Compute."))
        self.account_id._check_can_change()
        self.subscription_line_id.check_access_rule("read")
        if self.subscription_line_id.account_id != self.account_id:
            raise UserError(_("Choose a subscription of the chosen account."))
        with self.account_id._azure_errors():
            return self.account_id.sudo()._arm(ComputeClient)

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Provision from Cloud"),
        }


class CloudServerProvisionOption(models.TransientModel):
    _name = "cloud.server.provision.option"
    _inherit = ("cloud.owned.fields.mixin",)
    # stands for what Azure listed: only the wizard's own code (sudo) makes or changes it
    _user_fields = frozenset()
    _description = "Region or VM size offered to the provisioning wizard"
    _order = "sequence, id"

    wizard_id = fields.Many2one("cloud.server.provision", required=True, ondelete="cascade")
    kind = fields.Selection([("region", "Region"), ("size", "Size")], required=True)
    sequence = fields.Integer()
    name = fields.Char(required=True)
    label = fields.Char()
    vcpus = fields.Integer(string="vCPUs")
    memory_gb = fields.Float(string="Memory (GiB)")
    price_hour = fields.Float(digits=(12, 4))
    price_month = fields.Float(digits=(12, 2))

    def _owned_fields_hint(self):
        return _("The regions and sizes offered are listed by Odoo from Azure. Start Provision again.")

    @api.depends("kind", "name", "label", "vcpus", "memory_gb", "price_hour", "price_month")
    def _compute_display_name(self):
        for option in self:
            if option.kind == "region":
                option.display_name = "%s (%s)" % (option.label or option.name, option.name)
            elif option.price_hour:
                option.display_name = _(
                    "%(name)s: %(cpu)s vCPU, %(mem)s GiB, $%(hour).3f/hour, about $%(month).0f/month",
                    name=option.name,
                    cpu=option.vcpus,
                    mem="%g" % option.memory_gb,
                    hour=option.price_hour,
                    month=option.price_month,
                )
            else:
                option.display_name = _(
                    "%(name)s: %(cpu)s vCPU, %(mem)s GiB (no price known)",
                    name=option.name,
                    cpu=option.vcpus,
                    mem="%g" % option.memory_gb,
                )
