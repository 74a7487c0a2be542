import logging

from odoo import _, api, fields, models

from ..services import AzureError

_logger = logging.getLogger(__name__)

DNS_STATES = [
    ("none", "No managed zone"),
    ("managed", "A record managed"),
    ("conflict", "Conflict with a foreign record"),
    ("error", "Error"),
]


class CloudServer(models.Model):
    """A server whose host name falls in a zone of Cloud > DNS Zones gets its
    A record there: created once its public IP is known, updated when the IP
    changes, removed when the server is deleted. Only records that carry this
    server's mark (database uuid + server id, in the record set's metadata) are
    ever changed; a foreign one is reported on the server, never overwritten."""

    # a concern file of cloud.server, named in ARCHITECTURE.md
    _inherit = "cloud.server"  # pylint: disable=consider-merging-classes-inherited

    dns_zone_id = fields.Many2one(
        "cloud.dns.zone", string="DNS Zone", readonly=True, ondelete="set null", check_company=True
    )
    dns_record_name = fields.Char(
        string="DNS Record", readonly=True, help="Relative to the zone; @ is its apex."
    )
    dns_state = fields.Selection(DNS_STATES, string="DNS", readonly=True, default="none")
    dns_message = fields.Char(string="DNS Status", readonly=True)
    url = fields.Char(
        string="URL", compute="_compute_url", help="The server's site, once its A record exists."
    )

    @api.depends("host_name", "dns_state", "https")
    def _compute_url(self):
        for server in self:
            managed = server.host_name and server.dns_state == "managed"
            scheme = "https" if server.https else "http"
            server.url = "%s://%s" % (scheme, server.host_name.rstrip(".").lower()) if managed else False

    def _dns_owner(self):
        uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid", "")
        return {"db_uuid": uuid, "server_id": self.id}

    def _sync_dns(self):
        """Point the host name's A record at the public IP (when a managed zone holds the name).

        A DNS failure never fails the server: it is shown on it and retried at
        its next refresh."""
        self.ensure_one()
        if not self.host_name or not self.public_ip:
            return
        zones = self.env["cloud.dns.zone"].sudo().with_company(self.company_id)
        zone, name = zones._zone_for_host(self.host_name)
        if not zone:
            self.write(
                {"dns_state": "none", "dns_zone_id": False, "dns_record_name": False, "dns_message": False}
            )
            return
        try:
            with self.env.cr.savepoint():
                outcome = zone._upsert_owned_a_record(name, self.public_ip, self._dns_owner())
        except AzureError as error:
            # the zone's account's sign-in or rights: that account's state too (it may not be the server's)
            zone.account_id._record_account_failure(error)
            message = self.account_id._azure_error_message(error, reference=True)
            state = "conflict" if error.code == "ForeignRecord" else "error"
            if (self.dns_state, self.dns_message) != (state, message):
                self._message_log(
                    body=_("DNS record %(name)s not set: %(error)s", name=self.host_name, error=message)
                )
            self.write(
                {"dns_state": state, "dns_zone_id": zone.id, "dns_record_name": name, "dns_message": message}
            )
            return
        self.write(
            {"dns_state": "managed", "dns_zone_id": zone.id, "dns_record_name": name, "dns_message": False}
        )
        if outcome != "unchanged":
            self._message_log(
                body=_(
                    "DNS: A record %(name)s %(outcome)s, pointing at %(ip)s.",
                    name=self.host_name,
                    outcome=_("created") if outcome == "created" else _("updated"),
                    ip=self.public_ip,
                )
            )

    def _remove_dns(self):
        """Remove the A record this server made, if it is still its own."""
        self.ensure_one()
        if not (self.dns_zone_id and self.dns_record_name):
            return
        zone = self.dns_zone_id.sudo()
        try:
            with self.env.cr.savepoint():
                removed = zone._delete_owned_a_record(self.dns_record_name, self._dns_owner())
        except AzureError as error:
            zone.account_id._record_account_failure(error)
            message = self.account_id._azure_error_message(error, reference=True)
            self._message_log(
                body=_("DNS record %(name)s not removed: %(error)s", name=self.host_name, error=message)
            )
            self.write({"dns_state": "error", "dns_message": message})
            return
        if removed:
            self._message_log(body=_("DNS: A record %s removed.", self.host_name))
        self.write(
            {"dns_state": "none", "dns_zone_id": False, "dns_record_name": False, "dns_message": False}
        )
