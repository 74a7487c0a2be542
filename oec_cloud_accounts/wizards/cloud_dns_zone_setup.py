from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..services import AzureError


class CloudDnsZoneSetup(models.TransientModel):
    """DNS Quick Setup: the public DNS zones an account sees, to pick one."""

    _name = "cloud.dns.zone.setup"
    # another company's account: refused before its name could be read through the wizard
    _inherit = "cloud.company.references.mixin"
    _description = "DNS Quick Setup"

    account_id = fields.Many2one("cloud.account", required=True, readonly=True, ondelete="cascade")
    line_ids = fields.One2many("cloud.dns.zone.setup.line", "wizard_id", string="Zones", readonly=True)
    notes = fields.Text(readonly=True, help="Subscriptions that could not be listed, and why.")

    @api.model
    def _open(self, account):
        """List the zones of every subscription of ``account`` (sudo; the caller
        checked the rights) and open the wizard on them."""
        lines, notes, failed = [], [], False
        with account._azure_errors():
            client = account._dns_client()
        for sub in account.subscription_ids:
            if not sub.can_dns:
                notes.append(
                    _(
                        "%(sub)s: Microsoft.Network is not registered (register it from the account's "
                        "Subscriptions), so its zones are not listed.",
                        sub=sub.name,
                    )
                )
                continue
            try:
                zones = client.list_zones(sub.subscription_id)
            except AzureError as error:
                notes.append("%s: %s" % (sub.name, account._azure_error_message(error, reference=True)))
                failed = True
                continue
            managed = set(account.dns_zone_ids.with_context(active_test=False).mapped("azure_id"))
            for zone in zones:
                lines.append(
                    fields.Command.create(
                        {
                            "name": zone["name"],
                            "resource_group": zone["resource_group"],
                            "subscription_id": zone["subscription_id"],
                            "subscription_name": sub.name,
                            "azure_id": zone["id"],
                            "record_count": zone["record_count"],
                            "name_servers": "\n".join(zone["name_servers"]),
                            "already_managed": zone["id"] in managed,
                        }
                    )
                )
        if not lines and failed:
            raise UserError("\n".join(notes))
        if not lines:
            notes.append(
                _(
                    "No public DNS zone was found in the account's subscriptions. Create one in the Azure "
                    "portal (DNS zones > Create), then run DNS Quick Setup again."
                )
            )
        # the wizard belongs to the caller (create_uid; sudo keeps the user), its lines to the server
        wizard = self.sudo().create(
            {"account_id": account.id, "line_ids": lines, "notes": "\n".join(notes) or False}
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("DNS Quick Setup"),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }


class CloudDnsZoneSetupLine(models.TransientModel):
    _name = "cloud.dns.zone.setup.line"
    _inherit = ("cloud.owned.fields.mixin",)
    # stands for what Azure listed: only the wizard's own code (sudo) makes or changes it
    _user_fields = frozenset()
    _description = "DNS Quick Setup: a zone found"
    _order = "name, resource_group, id"

    wizard_id = fields.Many2one("cloud.dns.zone.setup", required=True, ondelete="cascade")
    name = fields.Char(string="Zone", readonly=True)
    resource_group = fields.Char(readonly=True)
    subscription_id = fields.Char(string="Subscription ID", readonly=True)
    subscription_name = fields.Char(string="Subscription", readonly=True)
    azure_id = fields.Char(readonly=True)
    record_count = fields.Integer(
        string="Record Sets", readonly=True, help="As Azure counted them when listed, SOA and NS included."
    )
    name_servers = fields.Text(readonly=True)
    already_managed = fields.Boolean(readonly=True)

    def _owned_fields_hint(self):
        return _(
            "The zones of DNS Quick Setup are listed by Odoo from Azure. Run DNS Quick Setup from the "
            "account."
        )

    def action_select(self):
        """Manage this zone in Odoo: create (or reactivate) it, read its records and make the A
        records of the servers whose host name is in it."""
        self.ensure_one()
        account = self.wizard_id.account_id
        account._check_can_change()
        line = self.sudo()
        # _sync reads the zone from Azure with the account's token: a zone it cannot see fails there
        zone_model = self.env["cloud.dns.zone"].sudo()
        zone = zone_model.with_context(active_test=False).search(
            [("account_id", "=", account.id), ("azure_id", "=", line.azure_id)], limit=1
        )
        values = {
            "account_id": account.id,
            "name": line.name.lower(),
            "subscription_id": line.subscription_id,
            "subscription_name": line.subscription_name,
            "resource_group": line.resource_group,
            "azure_id": line.azure_id,
            "active": True,
        }
        if zone:
            zone.write(values)
        else:
            zone = zone_model.create(values)
        zone._call(zone._sync)
        zone.message_post(body=_("Managed from Odoo (DNS Quick Setup by %s).", self.env.user.name))
        # the servers that already exist get their A records now, not at their next Refresh
        zone._sync_servers()
        return {
            "type": "ir.actions.act_window",
            "res_model": "cloud.dns.zone",
            "res_id": zone.id,
            "view_mode": "form",
            "target": "current",
        }
