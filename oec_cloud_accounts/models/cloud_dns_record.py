import ipaddress
import json
import re

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..services import AzureError
from ..services.dns import MAX_A_RECORDS, OWNER_DB_KEY, OWNER_SERVER_KEY, RECORD_TYPES
from ..services.inputs import quote, shorten

# a DNS name takes at most 253 characters
NAME_MAX_CHARS = 253


def check_a_record_input(name, addresses=None):
    """Refuse, quoting at most a hundred characters of it, an A record's name longer than a DNS
    name can be, and addresses no public A record should hold: loopback (127.0.0.1), unspecified
    (0.0.0.0), broadcast, link-local (169.254.169.254 is the VMs' metadata service), multicast and
    reserved ones. The rest of the syntax is checked by services.dns."""
    if len(name or "") > NAME_MAX_CHARS:
        raise UserError(
            _(
                "Invalid record name %(name)s: a DNS name takes at most %(max)s characters.",
                name=quote(name),
                max=NAME_MAX_CHARS,
            )
        )
    if addresses is None:
        return
    items = [item for item in re.split(r"[\s,;]+", (addresses or "").strip()) if item]
    if len(items) > MAX_A_RECORDS:
        raise UserError(_("An A record needs between 1 and %s IPv4 addresses.", MAX_A_RECORDS))
    for item in items:
        try:
            address = ipaddress.IPv4Address(item)
        except ValueError:
            raise UserError(
                _(
                    "Invalid IPv4 address %s: write four numbers from 0 to 255, like 20.50.1.10.",
                    shorten(item),
                )
            ) from None
        kind = _address_kind(address)
        if kind:
            raise UserError(
                _(
                    "%(address)s is %(kind)s: it cannot be the address of a public name. Give the public "
                    "IPv4 address of the server.",
                    address=item,
                    kind=kind,
                )
            )


def _address_kind(address):
    """What makes ``address`` unfit for a public A record, or None."""
    if address.is_unspecified:
        return _("the unspecified address")
    if address.is_loopback:
        return _("a loopback address (this machine)")
    if address == ipaddress.IPv4Address("255.255.255.255"):
        return _("the broadcast address")
    if address.is_link_local:
        return _("a link-local address (169.254.0.0/16, where cloud VMs reach their metadata service)")
    if address.is_multicast:
        return _("a multicast address")
    if address.is_reserved:
        return _("a reserved address (240.0.0.0/4)")
    return None


class CloudDnsRecord(models.Model):
    """One record set of a zone, as last read from Azure. Written only by the
    code that talks to Azure (no user has write access): A records change
    through their buttons, which check the rights, call Azure, then store the
    answer here."""

    _name = "cloud.dns.record"
    _description = "Azure DNS Record Set"
    _order = "zone_id, record_type, name, id"
    _rec_name = "fqdn"
    _check_company_auto = True

    zone_id = fields.Many2one(
        "cloud.dns.zone", required=True, readonly=True, ondelete="cascade", index=True, check_company=True
    )
    company_id = fields.Many2one(related="zone_id.company_id", store=True, index=True)
    name = fields.Char(required=True, help="Relative to the zone; @ is the zone itself, * a wildcard.")
    record_type = fields.Selection([(t, t) for t in RECORD_TYPES], string="Type", required=True)
    ttl = fields.Integer(string="TTL", help="Seconds resolvers may keep the answer.")
    value_text = fields.Text(string="Values", help="One value per line.")
    fqdn = fields.Char(string="Full Name", help="The fully qualified name, e.g. www.example.com.")
    etag = fields.Char(help="Version of the record set in Azure, sent with changes (If-Match).")
    metadata_json = fields.Text(string="Metadata")
    owner_server_ref = fields.Char(
        string="Managed For",
        help="Set when Odoo created this A record for a server: the server's id in this database.",
    )
    is_managed_here = fields.Boolean(
        string="Managed by this database", help="Created by this Odoo database for one of its servers."
    )
    is_editable = fields.Boolean(compute="_compute_is_editable")

    _sql_constraints = (
        ("record_unique", "unique(zone_id, record_type, name)", "A record set appears once per zone."),
    )

    @api.depends("record_type")
    def _compute_is_editable(self):
        for record in self:
            record.is_editable = record.record_type == "A"

    # -- user actions ------------------------------------------------------------------------------

    def action_edit(self):
        self.ensure_one()
        self.zone_id._check_can_change()
        self._check_a_record()
        return self.env["cloud.dns.record.edit"]._open(self.zone_id, self)

    def action_delete_in_azure(self):
        """Delete the A record set in Azure, if it is still the version shown (If-Match)."""
        self.ensure_one()
        self.zone_id._check_can_change()
        self._check_a_record()
        record = self.sudo()
        zone = record.zone_id
        try:
            zone._dns_client().delete_record_set(
                zone.subscription_id, zone.resource_group, zone.name, record.name, "A", record.etag
            )
        except AzureError as error:
            if error.status != 412:
                raise UserError(
                    zone.account_id._azure_error_message(error, reference=True, dialog=True)
                ) from error
            # changed in Azure meanwhile: show the current version, delete nothing
            zone._call(record._reload)
            return zone.account_id._notify(
                "warning", zone.account_id._azure_error_message(error, reference=True), sticky=True
            )
        zone.message_post(body=_("A record %(name)s deleted in Azure.", name=record.fqdn or record.name))
        record.unlink()
        return zone.account_id._notify("success", _("The record was deleted in Azure."))

    def action_reload(self):
        """Read this record set from Azure again."""
        self.ensure_one()
        self.zone_id._check_can_change()
        record = self.sudo()
        record.zone_id._call(record._reload)
        return True

    # -- private helpers ---------------------------------------------------------------------------

    def _check_a_record(self):
        if self.record_type != "A":
            raise UserError(_("Only A records are changed from Odoo; the other types are shown read-only."))

    def _reload(self):
        zone = self.zone_id
        current = zone._dns_client().get_record_set(
            zone.subscription_id, zone.resource_group, zone.name, self.name, self.record_type
        )
        if current is None:
            self.unlink()
        else:
            self._store(zone, current)

    @api.model
    def _values(self, zone, record_set):
        metadata = {k.lower(): v for k, v in (record_set.get("metadata") or {}).items()}
        db_uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid")
        managed_here = bool(metadata.get(OWNER_DB_KEY)) and metadata.get(OWNER_DB_KEY) == db_uuid
        return {
            "zone_id": zone.id,
            "name": record_set["name"],
            "record_type": record_set["type"],
            "ttl": record_set["ttl"],
            "value_text": "\n".join(record_set["values"]),
            "fqdn": (record_set.get("fqdn") or "").rstrip("."),
            "etag": record_set["etag"],
            "metadata_json": json.dumps(record_set.get("metadata") or {}, sort_keys=True) or False,
            "owner_server_ref": metadata.get(OWNER_SERVER_KEY) if managed_here else False,
            "is_managed_here": managed_here,
        }

    @api.model
    def _store(self, zone, record_set):
        """Create or update the row of one record set read from Azure (sudo)."""
        if record_set["type"] not in RECORD_TYPES:
            return self.browse()
        values = self._values(zone, record_set)
        existing = zone.record_ids.filtered(
            lambda r: r.record_type == values["record_type"] and r.name == values["name"]
        )
        if existing:
            existing.sudo().write(values)
            return existing
        return self.sudo().create(values)

    @api.model
    def _replace(self, zone, record_sets):
        """The zone's rows become exactly these record sets."""
        kept = self.browse()
        for record_set in record_sets:
            kept |= self._store(zone, record_set)
        (zone.record_ids - kept).sudo().unlink()

    def _metadata(self):
        return json.loads(self.metadata_json or "{}") or None
