import logging

from odoo import _, api, fields, models
from odoo.tools import config

from ..services import AzureError
from ..services.dns import (
    is_owned_by,
    normalize_ipv4,
    normalize_record_name,
    owner_metadata,
    resolve_ns,
)
from ..services.errors import DNS_FOREIGN_RECORD
from .cloud_azure_environment import TIMEOUT

_logger = logging.getLogger(__name__)

# server option: "ip[:port],ip[:port]" of the resolvers "Check delegation" asks
# (default: the system's); tests point it at a DNS server on loopback
NAMESERVERS_OPTION = "oec_dns_nameservers"
# server option: seconds "Check delegation" waits for those resolvers (default: TIMEOUT / 4)
DNS_TIMEOUT_OPTION = "oec_dns_timeout"
DELEGATION_STATES = [
    ("unknown", "Not checked"),
    ("ok", "Delegated"),
    ("partial", "Partly delegated"),
    ("missing", "Not delegated"),
    ("error", "Not resolvable"),
]
# everything but these is written by the code that reads Azure (sudo)
USER_FIELDS = frozenset({"active"})


class CloudDnsZone(models.Model):
    """A public Azure DNS zone picked by DNS Quick Setup, with its record sets
    as last read from Azure (cloud.dns.record)."""

    _name = "cloud.dns.zone"
    _inherit = ("mail.thread", "cloud.owned.fields.mixin")
    _user_fields = USER_FIELDS
    _description = "Azure DNS Zone"
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(string="Zone", required=True, readonly=True, help="The domain, e.g. example.com.")
    active = fields.Boolean(default=True)
    account_id = fields.Many2one(
        "cloud.account",
        required=True,
        readonly=True,
        ondelete="cascade",
        index=True,
        tracking=True,
        check_company=True,
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    account_needs_reconnect = fields.Boolean(
        related="account_id.needs_reconnect",
        help="The account is archived, expired or disconnected: Odoo does nothing in Azure for this record "
        "until it is reconnected.",
    )
    subscription_id = fields.Char(string="Subscription ID", required=True, readonly=True)
    subscription_name = fields.Char(string="Subscription", readonly=True)
    resource_group = fields.Char(required=True, readonly=True)
    azure_id = fields.Char(string="Azure Resource ID", readonly=True)
    # counted from the records listed, never Azure's numberOfRecordSets of the last read: Odoo's own A
    # records (servers, New A Record) change the list between two reads
    record_count = fields.Integer(
        string="Record Sets",
        compute="_compute_record_count",
        help="The record sets listed on the Records tab, SOA and NS included.",
    )
    name_servers = fields.Text(
        readonly=True, help="Set these name servers at your domain's registrar to delegate it to Azure DNS."
    )
    record_ids = fields.One2many("cloud.dns.record", "zone_id", string="Records")
    last_sync_at = fields.Datetime(string="Last Read", readonly=True)
    delegation_state = fields.Selection(
        DELEGATION_STATES,
        string="Delegation",
        default="unknown",
        required=True,
        readonly=True,
        tracking=True,
        help="Whether the public DNS sends this domain to the Azure name servers above.",
    )
    delegation_checked_at = fields.Datetime(readonly=True)
    delegation_details = fields.Text(readonly=True)

    _sql_constraints = (
        ("zone_unique", "unique(account_id, azure_id)", "This DNS zone is already managed for this account."),
    )

    @api.depends("record_ids")
    def _compute_record_count(self):
        for zone in self:
            zone.record_count = len(zone.record_ids)

    # -- user actions ------------------------------------------------------------------------------

    def action_refresh(self):
        """Read the zone and its record sets from Azure again."""
        self._check_can_change()
        for zone in self.sudo():
            zone._call(zone._sync)
        return self.account_id._notify("success", _("The records were read from Azure."))

    def action_check_delegation(self):
        """Resolve the zone's NS records and compare them with Azure's name servers."""
        self._check_can_change()
        for zone in self.sudo():
            zone._check_delegation()
        states = dict(self._fields["delegation_state"]._description_selection(self.env))
        kind = "success" if set(self.mapped("delegation_state")) == {"ok"} else "warning"
        return self.account_id._notify(
            kind,
            "\n".join("%s: %s" % (z.name, z.delegation_details or states[z.delegation_state]) for z in self),
        )

    def action_new_a_record(self):
        self._check_can_change()
        self.ensure_one()
        return self.env["cloud.dns.record.edit"]._open(self)

    # -- private API for the code that manages servers (after its own access check, on sudo records)

    @api.model
    def _zone_for_host(self, host_name):
        """(managed zone whose name is the longest suffix of ``host_name``,
        relative record name, ``@`` for the apex) among the zones of the current
        company, or (empty recordset, None)."""
        host = (host_name or "").strip().lower().rstrip(".")
        if not host:
            return self.browse(), None
        zones = self.search([("company_id", "=", self.env.company.id)])
        matching = [z for z in zones if host == z.name or host.endswith("." + z.name)]
        if not matching:
            return self.browse(), None
        zone = max(matching, key=lambda z: len(z.name))
        return zone, "@" if host == zone.name else host[: -len(zone.name) - 1]

    def _sync_servers(self):
        """The A records of the servers that already exist (running or stopped, with a public IP)
        whose host name falls in this zone, as each server's Refresh would make them; the zone's
        chatter lists the outcome. A DNS failure is shown on its server, as in _sync_dns."""
        self.ensure_one()
        servers = (
            self.env["cloud.server"]
            .sudo()
            .search(
                [
                    ("company_id", "=", self.company_id.id),
                    ("state", "in", ("running", "stopped")),
                    ("host_name", "!=", False),
                    ("public_ip", "!=", False),
                ],
                order="host_name, id",
            )
        )
        zones = self.with_company(self.company_id)
        servers = servers.filtered(lambda s: zones._zone_for_host(s.host_name)[0] == self)
        if not servers:
            return servers
        lines = []
        for server in servers:
            server._sync_dns()
            if server.dns_state == "managed":
                lines.append("%s: %s" % (server.host_name, server.public_ip))
            else:
                lines.append(
                    _("%(name)s: not set (%(error)s)", name=server.host_name, error=server.dns_message)
                )
        self.message_post(
            body=_("A records of the servers in this zone: %s.", "; ".join(lines)),
        )
        return servers

    def _upsert_owned_a_record(self, relative_name, ipv4, owner):
        """Point ``relative_name`` at ``ipv4`` for ``owner`` ({"db_uuid", "server_id"}).

        Creates the A record set (If-None-Match: *) marked with the owner in its
        metadata, or updates one of the same owner (If-Match its etag). A record
        set of anyone else raises AzureError ``ForeignRecord`` and is never
        overwritten. Returns "created", "updated" or "unchanged".
        """
        self.ensure_one()
        name = normalize_record_name(relative_name, self.name)
        addresses = normalize_ipv4([ipv4])
        client = self._dns_client()
        where = (self.subscription_id, self.resource_group, self.name, name)
        for attempt in range(2):
            current = client.get_record_set(*where, "A")
            try:
                if current is None:
                    result = client.create_a_record(*where, addresses, 3600, owner_metadata(owner))
                    outcome = "created"
                elif not is_owned_by(current, owner):
                    raise self._foreign(current)
                elif current["values"] == addresses:
                    result, outcome = current, "unchanged"
                else:
                    result = client.update_a_record(
                        *where, addresses, current["ttl"], current["etag"], current["metadata"]
                    )
                    outcome = "updated"
            except AzureError as error:
                # created or changed by someone meanwhile: look again once, then give up
                if error.status == 412 and not attempt:
                    continue
                raise
            self.env["cloud.dns.record"]._store(self, result)
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    def _delete_owned_a_record(self, relative_name, owner):
        """Delete (If-Match its etag) the A record set of ``relative_name`` if its
        metadata names ``owner``; True if deleted, False if absent or foreign."""
        self.ensure_one()
        name = normalize_record_name(relative_name, self.name)
        client = self._dns_client()
        where = (self.subscription_id, self.resource_group, self.name, name, "A")
        for attempt in range(2):
            current = client.get_record_set(*where)
            if current is None:
                self.record_ids.filtered(lambda r: r.record_type == "A" and r.name == name).unlink()
                return False
            if not is_owned_by(current, owner):
                self.env["cloud.dns.record"]._store(self, current)
                return False
            try:
                client.delete_record_set(*where, current["etag"])
            except AzureError as error:
                if error.status == 412 and not attempt:
                    continue
                raise
            self.record_ids.filtered(lambda r: r.record_type == "A" and r.name == name).unlink()
            return True
        return False  # pragma: no cover

    # -- private helpers ---------------------------------------------------------------------------

    def _owned_fields_hint(self):
        return _("Use DNS Quick Setup on the account, or Refresh on the zone.")

    def _acting_accounts(self):
        return self.sudo().account_id

    def _dns_client(self):
        self.ensure_one()
        return self.account_id._dns_client()

    def _call(self, method, *args):
        """Run a remote step; an AzureError becomes a UserError with its message."""
        with self.account_id._azure_errors():
            return method(*args)

    def _sync(self):
        """Read the zone and all its record sets from Azure into Odoo."""
        self.ensure_one()
        client = self._dns_client()
        zone = client.get_zone(self.subscription_id, self.resource_group, self.name)
        record_sets = client.list_record_sets(self.subscription_id, self.resource_group, self.name)
        self.write(
            {
                "name_servers": "\n".join(zone["name_servers"]),
                "azure_id": zone["id"],
                "last_sync_at": fields.Datetime.now(),
            }
        )
        self.env["cloud.dns.record"]._replace(self, record_sets)

    def _foreign(self, record_set):
        return AzureError(
            DNS_FOREIGN_RECORD[1],
            code="ForeignRecord",
            kind=DNS_FOREIGN_RECORD[0],
            params={"fqdn": (record_set.get("fqdn") or "").rstrip(".")},
        )

    def _check_delegation(self):
        self.ensure_one()
        expected = {
            n.strip().lower().rstrip(".") + "." for n in (self.name_servers or "").split() if n.strip()
        }
        timeout = float(config.get(DNS_TIMEOUT_OPTION) or TIMEOUT / 4)
        found, problem = resolve_ns(self.name, _nameservers(), timeout=timeout)
        found = set(found)
        if problem == "timeout":
            state = "error"
            details = _("No DNS server answered for %s: try again later.", self.name)
        elif found and found == expected:
            state = "ok"
            details = _("The domain is delegated to Azure DNS.")
        elif found & expected:
            state = "partial"
            details = _(
                "Only some Azure name servers are set at the registrar; missing: %(missing)s; others: "
                "%(others)s.",
                missing=", ".join(sorted(expected - found)) or "-",
                others=", ".join(sorted(found - expected)) or "-",
            )
        else:
            state = "missing"
            details = _(
                "The domain is not delegated to Azure DNS (its name servers: %(found)s). Set these name "
                "servers at your registrar: %(expected)s.",
                found=", ".join(sorted(found)) or _("none"),
                expected=", ".join(sorted(expected)),
            )
        self.write(
            {
                "delegation_state": state,
                "delegation_details": details,
                "delegation_checked_at": fields.Datetime.now(),
            }
        )


def _nameservers():
    """[(ip, port)] of the NAMESERVERS_OPTION, or None for the system's resolvers."""
    value = config.get(NAMESERVERS_OPTION)
    if not value:
        return None
    servers = []
    for item in str(value).replace(";", ",").split(","):
        item = item.strip()
        if item:
            host, _sep, port = item.rpartition(":") if item.count(":") == 1 else (item, "", "")
            servers.append((host or item, int(port) if port else 53))
    return servers or None
