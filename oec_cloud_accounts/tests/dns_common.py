"""DNS test helpers: zones seeded in the emulator through the real SDK (as the
Azure portal would make them) and a real DNS server on loopback."""

import socketserver
import threading
from unittest.mock import patch

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns.models import ARecord, RecordSet, TxtRecord, Zone
from azure.mgmt.resource.resources import ResourceManagementClient
from azure_emulator import defaults

from odoo.tools import config

from ..models.cloud_dns_zone import NAMESERVERS_OPTION
from .common import EmulatorMixin

RG = "oec-dns"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE6StTmp6A2Qe2//mNhI43TZcNC/JV27eZffqEwx0i9N dns@laptop"


class DnsServer:
    """A real DNS server (UDP, loopback) answering NS queries from ``zones``:
    {zone name: [name servers]}; other names get NXDOMAIN."""

    def __init__(self):
        self.zones = {}
        self.queries = []
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                query = dns.message.from_wire(data)
                question = query.question[0]
                server.queries.append(question.name.to_text())
                response = dns.message.make_response(query)
                response.flags |= dns.flags.RA
                names = server.zones.get(question.name.to_text().lower().rstrip("."))
                if names is None:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                elif question.rdtype == dns.rdatatype.NS:
                    response.answer.append(
                        dns.rrset.from_text_list(question.name, 300, "IN", "NS", list(names))
                    )
                sock.sendto(response.to_wire(), self.client_address)

        self.server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class DnsMixin(EmulatorMixin):
    """EmulatorMixin + zones in the emulator and the local DNS server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dns_server = DnsServer()
        cls.addClassCleanup(cls.dns_server.close)
        cls.startClassPatcher(
            patch.dict(config.options, {NAMESERVERS_OPTION: "127.0.0.1:%d" % cls.dns_server.port})
        )

    def portal(self, subscription_id=defaults.SUBSCRIPTION_ID):
        return self.portal_clients(
            DnsManagementClient, ResourceManagementClient, subscription_id=subscription_id
        )

    def seed_zone(self, name, resource_group=RG, records=None):
        """A zone made in Azure, with ``records``: {relative name: [ipv4]} (A)
        and a TXT record, as someone would in the portal."""
        dns_client, resources = self.portal()
        resources.resource_groups.create_or_update(resource_group, {"location": "westeurope"})
        zone = dns_client.zones.create_or_update(resource_group, name, Zone(location="global"))
        for relative, addresses in (records or {}).items():
            self.portal_set_a(name, relative, addresses, resource_group)
        dns_client.record_sets.create_or_update(
            resource_group,
            name,
            "@",
            "TXT",
            RecordSet(ttl=300, txt_records=[TxtRecord(value=["v=spf1 -all"])]),
        )
        return zone

    def portal_set_a(self, zone, relative, addresses, resource_group=RG, metadata=None):
        dns_client, _resources = self.portal()
        return dns_client.record_sets.create_or_update(
            resource_group,
            zone,
            relative,
            "A",
            RecordSet(ttl=300, a_records=[ARecord(ipv4_address=a) for a in addresses], metadata=metadata),
        )

    def portal_get_a(self, zone, relative, resource_group=RG):
        dns_client, _resources = self.portal()
        found = [
            r for r in dns_client.record_sets.list_by_type(resource_group, zone, "A") if r.name == relative
        ]
        return found[0] if found else None

    def quick_setup(self, account, zone_name):
        """DNS Quick Setup through the model layer: the zone picked from the wizard."""
        action = account.action_dns_quick_setup()
        wizard = self.env["cloud.dns.zone.setup"].browse(action["res_id"])
        line = wizard.line_ids.filtered(lambda line: line.name == zone_name)
        self.assertEqual(len(line), 1, wizard.line_ids.mapped("name"))
        result = line.action_select()
        return self.env["cloud.dns.zone"].browse(result["res_id"])

    def dns_calls(self, since=0):
        return [r for r in self.remote_calls(since) if "/dnszones" in r["path"].lower()]

    def existing_server(self, account, host_name, public_ip, state="running"):
        """A server of ``account`` as provisioning leaves it (Running or Stopped with its public IP),
        made before any zone holds its host name."""
        sub = account.subscription_ids.filtered(lambda s: s.subscription_id == defaults.SUBSCRIPTION_ID)
        server = self.env["cloud.server"].create(
            {
                "name": host_name,
                "account_id": account.id,
                "subscription_line_id": sub.id,
                "location": "westeurope",
                "vm_size": "Standard_B2s",
                "ssh_public_key": SSH_KEY,
                "host_name": host_name,
            }
        )
        server.sudo().write({"state": state, "public_ip": public_ip})
        return server
