from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.cloud_dns_record import check_a_record_input
from ..services import AzureError
from ..services.dns import check_ttl, normalize_ipv4, normalize_record_name

# the version sent with If-Match and the record it belongs to come from Azure,
# never from the caller: an etag "*" would overwrite anything
OWNED_FIELDS = frozenset({"record_id", "etag", "conflict_message"})


class CloudDnsRecordEdit(models.TransientModel):
    """Create or change one A record set in Azure.

    A change is sent with the etag of the version the user started from
    (If-Match), a creation with If-None-Match: *. When Azure answers 412 the
    wizard stays open with the reason and a Reload button: nothing made in the
    Azure portal meanwhile is overwritten without the user seeing it first.
    """

    _name = "cloud.dns.record.edit"
    # another company's zone: refused before its name could be read through the wizard
    _inherit = ("cloud.owned.fields.mixin", "cloud.company.references.mixin")
    _code_owned_fields = OWNED_FIELDS
    _description = "Azure DNS A Record"

    zone_id = fields.Many2one("cloud.dns.zone", required=True, readonly=True, ondelete="cascade")
    record_id = fields.Many2one("cloud.dns.record", readonly=True, ondelete="set null")
    name = fields.Char(
        required=True,
        default="@",
        help="Relative to the zone: www, app.eu, @ for the zone itself, * or *.app for a wildcard.",
    )
    ipv4_addresses = fields.Char(
        string="IPv4 Addresses", help="One or more IPv4 addresses, separated by commas."
    )
    ttl = fields.Integer(
        string="TTL", default=3600, required=True, help="Seconds resolvers may keep the answer (60 to 86400)."
    )
    etag = fields.Char(readonly=True)
    conflict_message = fields.Text(readonly=True)

    @api.model
    def _open(self, zone, record=None):
        values = {"zone_id": zone.id}
        if record:
            values.update(
                record_id=record.id,
                name=record.name,
                ipv4_addresses=", ".join((record.value_text or "").split()),
                ttl=record.ttl,
                etag=record.etag,
            )
        # sudo: the fields the user may not set (which version, which record); still the user's wizard
        return self.sudo().create(values).sudo(False)._action()

    def _action(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("A Record") if not self.record_id else _("A Record %s", self.record_id.fqdn),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_apply(self):
        self.ensure_one()
        self.zone_id._check_can_change()
        zone = self.zone_id.sudo()
        check_a_record_input(self.name, self.ipv4_addresses)
        with zone.account_id._azure_errors(reference=False):
            name = normalize_record_name(self.name, zone.name)
            addresses = normalize_ipv4(self.ipv4_addresses)
            ttl = check_ttl(self.ttl)
        where = (zone.subscription_id, zone.resource_group, zone.name, name)
        record = self.record_id.sudo()
        try:
            client = zone._dns_client()
            if record and self.etag:
                if name != record.name:
                    raise UserError(_("A record's name cannot be changed: create a new record instead."))
                result = client.update_a_record(*where, addresses, ttl, self.etag, record._metadata())
            else:
                result = client.create_a_record(*where, addresses, ttl)
        except AzureError as error:
            message = zone.account_id._azure_error_message(error, reference=True, dialog=True)
            if error.status != 412:
                raise UserError(message) from error
            # kept (no exception): the user decides after seeing the current version
            self.sudo().conflict_message = message
            return self._action()
        stored = self.env["cloud.dns.record"]._store(zone, result)
        zone.message_post(
            body=_(
                "A record %(name)s set to %(addresses)s (TTL %(ttl)s) in Azure.",
                name=stored.fqdn,
                addresses=", ".join(addresses),
                ttl=ttl,
            )
        )
        return {"type": "ir.actions.act_window_close"}

    def action_reload(self):
        """After a conflict: start again from the record set as it is in Azure now."""
        self.ensure_one()
        self.zone_id._check_can_change()
        zone = self.zone_id.sudo()
        check_a_record_input(self.name)
        with zone.account_id._azure_errors():
            name = normalize_record_name(self.name, zone.name)
            current = zone._dns_client().get_record_set(
                zone.subscription_id, zone.resource_group, zone.name, name, "A"
            )
        values = {"conflict_message": False, "record_id": False, "etag": False, "name": name}
        if current is not None:
            record = self.env["cloud.dns.record"]._store(zone, current)
            values.update(
                record_id=record.id,
                ipv4_addresses=", ".join(current["values"]),
                ttl=current["ttl"],
                etag=current["etag"],
            )
        self.sudo().write(values)
        return self._action()
