"""DNS zones and A records through the emulator (real azure-mgmt-dns over HTTPS)
and "Check delegation" through a real DNS server on loopback."""

import socket
from unittest.mock import patch

from azure_emulator import defaults

from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import config

from ..models.cloud_dns_zone import DNS_TIMEOUT_OPTION, NAMESERVERS_OPTION
from ..services import AzureError
from .dns_common import RG, DnsMixin
from .test_i18n import FrenchMixin

AZURE_NS = [
    "ns1-01.azure-dns.com.",
    "ns2-01.azure-dns.net.",
    "ns3-01.azure-dns.org.",
    "ns4-01.azure-dns.info.",
]
OWNER = {"db_uuid": "db-1", "server_id": 7}


@tagged("post_install", "-at_install")
class TestDnsZone(DnsMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        self.account = self.connect()

    # -- quick setup -------------------------------------------------------------------------------

    def test_quick_setup_lists_zones_of_all_groups_and_picks_one(self):
        self.seed_zone("example.test", records={"www": ["20.1.2.3"]})
        self.seed_zone("other.test", resource_group="oec-dns-2")
        action = self.account.action_dns_quick_setup()
        wizard = self.env["cloud.dns.zone.setup"].browse(action["res_id"])
        self.assertEqual(
            sorted(wizard.line_ids.mapped(lambda line: (line.name, line.resource_group))),
            [("example.test", RG), ("other.test", "oec-dns-2")],
        )
        # the subscription without Microsoft.Network is said, not called (azure-mgmt-core would
        # try to register the provider and sleep)
        self.assertIn("Microsoft.Network is not registered", wizard.notes)
        line = wizard.line_ids.filtered(lambda line: line.name == "example.test")
        self.assertEqual(line.record_count, 4)  # SOA, NS, www A, @ TXT
        zone = self.env["cloud.dns.zone"].browse(line.action_select()["res_id"])
        self.assertEqual(zone.name, "example.test")
        self.assertEqual(zone.resource_group, RG)
        self.assertEqual(zone.subscription_id, defaults.SUBSCRIPTION_ID)
        self.assertEqual(zone.account_id, self.account)
        self.assertEqual(zone.record_count, 4)
        self.assertEqual(zone.name_servers.split(), [n.rstrip(".") + "." for n in AZURE_NS])
        rows = {(r.record_type, r.name): r for r in zone.record_ids}
        self.assertEqual(set(rows), {("SOA", "@"), ("NS", "@"), ("A", "www"), ("TXT", "@")})
        self.assertEqual(rows[("A", "www")].value_text, "20.1.2.3")
        self.assertEqual(rows[("A", "www")].fqdn, "www.example.test")
        self.assertTrue(rows[("A", "www")].is_editable)
        self.assertEqual(rows[("TXT", "@")].value_text, "v=spf1 -all")
        self.assertFalse(rows[("TXT", "@")].is_editable)
        with self.assertRaises(UserError):
            rows[("TXT", "@")].action_edit()
        # picking it again reuses the record
        again = self.quick_setup(self.account, "example.test")
        self.assertEqual(again, zone)
        self.assertTrue(
            self.env["cloud.dns.zone.setup"]
            .browse(self.account.action_dns_quick_setup()["res_id"])
            .line_ids.filtered(lambda line: line.name == "example.test")
            .already_managed
        )

    def test_quick_setup_without_zones_says_what_to_do(self):
        action = self.account.action_dns_quick_setup()
        wizard = self.env["cloud.dns.zone.setup"].browse(action["res_id"])
        self.assertFalse(wizard.line_ids)
        self.assertIn("No public DNS zone was found", wizard.notes)

    def test_quick_setup_error_says_what_to_do(self):
        self.emu.control.inject_fault(
            path=r"/providers/Microsoft\.Network/dnszones\?",
            status=403,
            code="AuthorizationFailed",
            service="arm",
        )
        with self.assertRaisesRegex(UserError, "DNS Zone Contributor"):
            self.account.action_dns_quick_setup()

    def test_owned_fields_refused(self):
        self.seed_zone("example.test")
        manager = new_test_user(
            self.env, "dns_owner_manager", groups="oec_cloud_accounts.group_cloud_manager"
        )
        zone = self.quick_setup(self.account, "example.test").with_user(manager)
        with self.assertRaises(AccessError):
            zone.write({"resource_group": "elsewhere"})
        with self.assertRaises(AccessError):
            self.env["cloud.dns.record.edit"].with_user(manager).create(
                {"zone_id": zone.id, "etag": "*", "ipv4_addresses": "1.2.3.4"}
            )
        zone.write({"active": False})
        self.assertFalse(zone.active)

    # -- records -----------------------------------------------------------------------------------

    def _wizard(self, action):
        return self.env["cloud.dns.record.edit"].browse(action["res_id"])

    def test_a_record_create_update_delete(self):
        self.seed_zone("example.test")
        zone = self.quick_setup(self.account, "example.test")
        wizard = self._wizard(zone.action_new_a_record())
        wizard.write({"name": "App", "ipv4_addresses": "20.1.2.3, 20.1.2.4", "ttl": 300})
        before = len(self.emu.control.requests())
        wizard.action_apply()
        put = [r for r in self.dns_calls(before) if r["method"] == "PUT"]
        self.assertEqual([r["conditions"] for r in put], [{"If-None-Match": "*"}])
        in_azure = self.portal_get_a("example.test", "app")
        self.assertEqual(sorted(a.ipv4_address for a in in_azure.a_records), ["20.1.2.3", "20.1.2.4"])
        self.assertEqual(in_azure.ttl, 300)
        record = zone.record_ids.filtered(lambda r: r.name == "app")
        self.assertEqual(record.value_text, "20.1.2.3\n20.1.2.4")
        self.assertEqual(record.etag, in_azure.etag)
        self.assertIn("app.example.test", zone.message_ids[0].body)
        # update: sent with the etag Odoo read
        wizard = self._wizard(record.action_edit())
        self.assertEqual(wizard.ipv4_addresses, "20.1.2.3, 20.1.2.4")
        wizard.write({"ipv4_addresses": "20.9.9.9", "ttl": 600})
        before = len(self.emu.control.requests())
        wizard.action_apply()
        put = [r for r in self.dns_calls(before) if r["method"] == "PUT"]
        self.assertEqual([r["conditions"] for r in put], [{"If-Match": in_azure.etag}])
        in_azure = self.portal_get_a("example.test", "app")
        self.assertEqual([a.ipv4_address for a in in_azure.a_records], ["20.9.9.9"])
        self.assertEqual(record.value_text, "20.9.9.9")
        self.assertEqual(record.ttl, 600)
        # apex and wildcard names
        for name in ("@", "*", "*.eu"):
            wizard = self._wizard(zone.action_new_a_record())
            wizard.write({"name": name, "ipv4_addresses": "20.1.1.1"})
            wizard.action_apply()
            self.assertTrue(self.portal_get_a("example.test", name), name)
        # delete: If-Match too
        before = len(self.emu.control.requests())
        record.action_delete_in_azure()
        deletes = [r for r in self.dns_calls(before) if r["method"] == "DELETE"]
        self.assertEqual([r["conditions"] for r in deletes], [{"If-Match": in_azure.etag}])
        self.assertIsNone(self.portal_get_a("example.test", "app"))
        self.assertFalse(record.exists())

    def test_invalid_input_refused_before_any_call(self):
        self.seed_zone("example.test")
        zone = self.quick_setup(self.account, "example.test")
        for values, expected in (
            ({"name": "a..b"}, "Invalid record name"),
            ({"name": "-www"}, "Invalid record name"),
            ({"name": "x" * 64}, "Invalid record name"),
            ({"name": "my host"}, "Invalid record name"),
            ({"name": "w*"}, "Invalid record name"),
            ({"ipv4_addresses": "300.1.1.1"}, "Invalid IPv4 address 300.1.1.1"),
            ({"ipv4_addresses": "2001:db8::1"}, "Invalid IPv4 address"),
            ({"ttl": 5}, "TTL must be between 60 and 86400"),
            ({"ttl": 10**7}, "TTL must be between 60 and 86400"),
        ):
            wizard = self._wizard(zone.action_new_a_record())
            wizard.write(dict({"name": "www", "ipv4_addresses": "20.1.2.3", "ttl": 3600}, **values))
            before = len(self.emu.control.requests())
            with self.assertRaisesRegex(UserError, expected):
                wizard.action_apply()
            self.assertEqual(self.remote_calls(before), [], values)

    def test_addresses_unfit_for_a_public_name_refused_before_any_call(self):
        self.seed_zone("example.test")
        zone = self.quick_setup(self.account, "example.test")
        for address, expected in (
            ("127.0.0.1", "loopback"),
            ("0.0.0.0", "unspecified"),
            ("255.255.255.255", "broadcast"),
            ("169.254.169.254", "link-local"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "reserved"),
            ("20.1.2.3, 127.0.0.2", "loopback"),
        ):
            with self.subTest(address=address):
                wizard = self._wizard(zone.action_new_a_record())
                wizard.write({"name": "www", "ipv4_addresses": address})
                before = len(self.emu.control.requests())
                with self.assertRaisesRegex(UserError, expected):
                    wizard.action_apply()
                self.assertEqual(self.remote_calls(before), [], address)
        self.assertIsNone(self.portal_get_a("example.test", "www"))

    def test_messages_quote_at_most_a_hundred_characters(self):
        self.seed_zone("example.test")
        zone = self.quick_setup(self.account, "example.test")
        huge = "x" * (10 * 1024 * 1024)
        for values in (
            {"name": huge},
            {"name": "www", "ipv4_addresses": huge},
            {"name": "www", "ipv4_addresses": "20.1.2.3, 20.1.2.%s" % huge},
        ):
            wizard = self._wizard(zone.action_new_a_record())
            wizard.write(dict({"ipv4_addresses": "20.1.2.3"}, **values))
            before = len(self.emu.control.requests())
            for action in (wizard.action_apply, wizard.action_reload):
                if action == wizard.action_reload and values["name"] == "www":
                    continue
                with self.subTest(values=list(values), action=action.__name__):
                    with self.assertRaisesRegex(UserError, "Invalid") as refusal:
                        action()
                    message = str(refusal.exception)
                    self.assertLess(len(message), 500, message[:300])
                    self.assertIn("xxxxxxxxxx", message, "the start of the input is quoted")
            self.assertEqual(self.remote_calls(before), [])

    def test_update_conflict_offers_reload(self):
        self.seed_zone("example.test", records={"www": ["20.1.2.3"]})
        zone = self.quick_setup(self.account, "example.test")
        record = zone.record_ids.filtered(lambda r: r.name == "www" and r.record_type == "A")
        wizard = self._wizard(record.action_edit())
        wizard.ipv4_addresses = "20.5.5.5"
        # meanwhile, in the Azure portal
        self.portal_set_a("example.test", "www", ["20.7.7.7"])
        action = wizard.action_apply()
        self.assertEqual(action["res_id"], wizard.id)
        self.assertIn("changed in Azure", wizard.conflict_message)
        self.assertIn("Reload the record", wizard.conflict_message)
        self.assertEqual(
            [a.ipv4_address for a in self.portal_get_a("example.test", "www").a_records], ["20.7.7.7"]
        )
        # Reload shows Azure's version, then the user's change goes with the new etag
        wizard.action_reload()
        self.assertFalse(wizard.conflict_message)
        self.assertEqual(wizard.ipv4_addresses, "20.7.7.7")
        self.assertEqual(record.value_text, "20.7.7.7")
        wizard.ipv4_addresses = "20.5.5.5"
        wizard.action_apply()
        self.assertEqual(
            [a.ipv4_address for a in self.portal_get_a("example.test", "www").a_records], ["20.5.5.5"]
        )

    def test_create_conflict_never_clobbers(self):
        self.seed_zone("example.test")
        zone = self.quick_setup(self.account, "example.test")
        wizard = self._wizard(zone.action_new_a_record())
        wizard.write({"name": "www", "ipv4_addresses": "20.5.5.5"})
        self.portal_set_a("example.test", "www", ["20.7.7.7"])  # made by someone else meanwhile
        wizard.action_apply()
        self.assertIn("already exists in Azure", wizard.conflict_message)
        self.assertEqual(
            [a.ipv4_address for a in self.portal_get_a("example.test", "www").a_records], ["20.7.7.7"]
        )
        wizard.action_reload()  # becomes an edit of the existing record
        self.assertTrue(wizard.record_id)
        self.assertEqual(wizard.ipv4_addresses, "20.7.7.7")

    def test_delete_conflict_reloads_instead(self):
        self.seed_zone("example.test", records={"www": ["20.1.2.3"]})
        zone = self.quick_setup(self.account, "example.test")
        record = zone.record_ids.filtered(lambda r: r.name == "www" and r.record_type == "A")
        self.portal_set_a("example.test", "www", ["20.7.7.7"])
        action = record.action_delete_in_azure()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("changed in Azure", action["params"]["message"])
        self.assertTrue(self.portal_get_a("example.test", "www"))
        self.assertEqual(record.value_text, "20.7.7.7")

    # -- errors --------------------------------------------------------------------------------------

    def _refresh_error(self, zone):
        with self.assertRaises(UserError) as error:
            zone.action_refresh()
        return str(error.exception)

    def test_errors_mapped(self):
        self.seed_zone("example.test")
        zone = self.quick_setup(self.account, "example.test")
        zones_path = r".*/dnszones/example\.test.*"
        cases = (
            ({"status": 403, "code": "AuthorizationFailed"}, "DNS Zone Contributor"),
            ({"status": 409, "code": "MissingSubscriptionRegistration"}, "Register Microsoft.Network"),
            (
                {"status": 429, "code": "TooManyRequests", "count": 5, "headers": {"Retry-After": "0"}},
                "throttling",
            ),
            (
                {"status": 400, "code": "BadRequest", "message": "The record set name is invalid."},
                "record set name",
            ),
        )
        # azure-mgmt-core registers a missing provider by itself: refuse it as a real tenant could
        self.emu.control.inject_fault(
            path="/providers/Microsoft.Network/register", status=403, code="AuthorizationFailed", count=10
        )
        for fault, expected in cases:
            with self.subTest(code=fault["code"]):
                self.emu.control.clear_faults()
                self.emu.control.inject_fault(
                    path="/providers/Microsoft.Network/register",
                    status=403,
                    code="AuthorizationFailed",
                    count=10,
                )
                self.emu.control.inject_fault(path=zones_path, service="arm", **fault)
                self.assertIn(expected, self._refresh_error(zone))
        self.emu.control.clear_faults()
        # zone deleted in Azure
        dns_client, _resources = self.portal()
        dns_client.zones.begin_delete(RG, "example.test").result()
        self.assertIn("DNS zone was not found", self._refresh_error(zone))

    def test_throttling_retried(self):
        self.seed_zone("example.test")
        zone = self.quick_setup(self.account, "example.test")
        self.emu.control.inject_fault(
            path=r"/dnszones/example\.test\?", status=429, code="TooManyRequests", count=1, service="arm"
        )
        before = len(self.emu.control.requests())
        zone.action_refresh()
        statuses = [r["status"] for r in self.dns_calls(before)]
        self.assertEqual(statuses[:2], [429, 200], "the throttled call was retried after Retry-After")

    def test_invalid_name_from_azure_mapped(self):
        """Names that pass no local check still get Azure's answer in clear."""
        self.seed_zone("example.test")
        zone = self.quick_setup(self.account, "example.test")
        client = zone._dns_client()
        with self.assertRaises(AzureError) as error:
            client.create_a_record(defaults.SUBSCRIPTION_ID, RG, "example.test", "a..b", ["20.1.2.3"], 300)
        self.assertEqual(error.exception.code, "BadRequest")
        self.assertEqual(error.exception.key, "dns.BadRequest")
        self.assertIn("is invalid", error.exception.params["detail"])
        message = self.env["cloud.account"]._azure_error_message(error.exception)
        self.assertTrue(message.startswith("Azure DNS refused the record: "), message)
        self.assertIn("is invalid", message)

    # -- delegation ----------------------------------------------------------------------------------

    def test_check_delegation(self):
        self.seed_zone("example.test")
        zone = self.quick_setup(self.account, "example.test")
        self.assertEqual(zone.delegation_state, "unknown")
        # not in the DNS at all
        zone.action_check_delegation()
        self.assertEqual(zone.delegation_state, "missing")
        self.assertIn("Set these name servers at your registrar", zone.delegation_details)
        # delegated elsewhere, then partly, then fully
        self.dns_server.zones["example.test"] = ["ns1.registrar.test."]
        zone.action_check_delegation()
        self.assertEqual(zone.delegation_state, "missing")
        self.assertIn("ns1.registrar.test.", zone.delegation_details)
        self.dns_server.zones["example.test"] = AZURE_NS[:2] + ["ns1.registrar.test."]
        zone.action_check_delegation()
        self.assertEqual(zone.delegation_state, "partial")
        self.dns_server.zones["example.test"] = list(AZURE_NS)
        action = zone.action_check_delegation()
        self.assertEqual(zone.delegation_state, "ok")
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("example.test.", self.dns_server.queries)

    def test_check_delegation_without_answer(self):
        self.seed_zone("example.test")
        zone = self.quick_setup(self.account, "example.test")
        # a resolver that receives the query and never answers
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.settimeout(1)
        options = {NAMESERVERS_OPTION: "127.0.0.1:%d" % silent.getsockname()[1], DNS_TIMEOUT_OPTION: "0.5"}
        with patch.dict(config.options, options):
            zone.action_check_delegation()
        self.assertEqual(zone.delegation_state, "error")
        self.assertEqual(zone.delegation_details, "No DNS server answered for example.test: try again later.")
        self.assertTrue(silent.recv(512), "the query reached the resolver")


@tagged("post_install", "-at_install")
class TestDnsServerRecords(DnsMixin, TransactionCase):
    """The private API the servers' code calls (after its own access check, on sudo records)."""

    def setUp(self):
        super().setUp()
        self.account = self.connect()
        self.seed_zone("example.test")
        self.seed_zone("eu.example.test")
        self.zone = self.quick_setup(self.account, "example.test").sudo()
        self.eu_zone = self.quick_setup(self.account, "eu.example.test").sudo()

    def test_zone_for_host_longest_suffix(self):
        zones = self.env["cloud.dns.zone"].sudo()
        self.assertEqual(zones._zone_for_host("odoo.example.test"), (self.zone, "odoo"))
        self.assertEqual(zones._zone_for_host("A.B.Example.Test."), (self.zone, "a.b"))
        self.assertEqual(zones._zone_for_host("erp.eu.example.test"), (self.eu_zone, "erp"))
        self.assertEqual(zones._zone_for_host("eu.example.test"), (self.eu_zone, "@"))
        self.assertEqual(zones._zone_for_host("example.test"), (self.zone, "@"))
        for host in ("notexample.test", "example.org", "", None):
            zone, name = zones._zone_for_host(host)
            self.assertFalse(zone)
            self.assertIsNone(name)
        # zones of another company are not the current company's
        other = self.env["res.company"].create({"name": "Other DNS Co"})
        zone, _name = zones.with_company(other)._zone_for_host("odoo.example.test")
        self.assertFalse(zone)

    def test_owned_record_cycle(self):
        self.assertEqual(self.zone._upsert_owned_a_record("odoo", "20.1.2.3", OWNER), "created")
        in_azure = self.portal_get_a("example.test", "odoo")
        self.assertEqual(in_azure.metadata, {"oec_db_uuid": "db-1", "oec_server_id": "7"})
        self.assertEqual([a.ipv4_address for a in in_azure.a_records], ["20.1.2.3"])
        self.assertEqual(self.zone._upsert_owned_a_record("odoo", "20.1.2.3", OWNER), "unchanged")
        before = len(self.emu.control.requests())
        self.assertEqual(self.zone._upsert_owned_a_record("odoo", "20.4.4.4", OWNER), "updated")
        put = [r for r in self.dns_calls(before) if r["method"] == "PUT"]
        self.assertEqual([r["conditions"] for r in put], [{"If-Match": in_azure.etag}])
        updated = self.portal_get_a("example.test", "odoo")
        self.assertEqual([a.ipv4_address for a in updated.a_records], ["20.4.4.4"])
        self.assertEqual(updated.metadata, in_azure.metadata)
        row = self.zone.record_ids.filtered(lambda r: r.name == "odoo")
        self.assertEqual(row.value_text, "20.4.4.4")
        # another owner (another server, another database) never deletes it
        self.assertFalse(self.zone._delete_owned_a_record("odoo", dict(OWNER, server_id=8)))
        self.assertFalse(self.zone._delete_owned_a_record("odoo", dict(OWNER, db_uuid="db-2")))
        self.assertTrue(self.portal_get_a("example.test", "odoo"))
        self.assertTrue(self.zone._delete_owned_a_record("odoo", OWNER))
        self.assertIsNone(self.portal_get_a("example.test", "odoo"))
        self.assertFalse(self.zone.record_ids.filtered(lambda r: r.name == "odoo"))
        self.assertFalse(self.zone._delete_owned_a_record("odoo", OWNER))  # absent

    def test_foreign_record_left_untouched(self):
        self.portal_set_a("example.test", "odoo", ["20.7.7.7"])
        self.portal_set_a(
            "example.test", "shop", ["20.8.8.8"], metadata={"oec_db_uuid": "db-1", "oec_server_id": "9"}
        )
        for name in ("odoo", "shop"):
            before = len(self.emu.control.requests())
            with self.assertRaises(AzureError) as error:
                self.zone._upsert_owned_a_record(name, "20.1.2.3", OWNER)
            self.assertEqual(error.exception.code, "ForeignRecord")
            self.assertEqual(error.exception.params, {"fqdn": "%s.example.test" % name})
            self.assertIn(
                "%s.example.test already has an A record" % name,
                self.env["cloud.account"]._azure_error_message(error.exception),
            )
            self.assertEqual([r["method"] for r in self.dns_calls(before)], ["GET"], "only read")
            self.assertFalse(self.zone._delete_owned_a_record(name, OWNER))
        self.assertEqual(
            [a.ipv4_address for a in self.portal_get_a("example.test", "odoo").a_records], ["20.7.7.7"]
        )
        self.assertEqual(
            [a.ipv4_address for a in self.portal_get_a("example.test", "shop").a_records], ["20.8.8.8"]
        )

    def test_apex_and_race(self):
        self.assertEqual(self.eu_zone._upsert_owned_a_record("@", "20.1.2.3", OWNER), "created")
        self.assertTrue(self.portal_get_a("eu.example.test", "@"))
        # Azure answers 412 to the creation (someone created it meanwhile): Odoo looks again
        self.emu.control.inject_fault(
            path=r"/dnszones/example\.test/A/race\?",
            method="PUT",
            status=412,
            code="PreconditionFailed",
            service="arm",
        )
        before = len(self.emu.control.requests())
        self.assertEqual(self.zone._upsert_owned_a_record("race", "20.1.2.3", OWNER), "created")
        self.assertEqual(
            [(r["method"], r["status"]) for r in self.dns_calls(before)],
            [("GET", 404), ("PUT", 412), ("GET", 404), ("PUT", 201)],
        )
        with self.assertRaises(AzureError) as error:
            self.zone._upsert_owned_a_record("bad..name", "20.1.2.3", OWNER)
        self.assertEqual(error.exception.code, "InvalidRecordName")


@tagged("post_install", "-at_install")
class TestDnsQuickSetupServers(DnsMixin, TransactionCase):
    """Picking a zone makes the A records of the servers that already exist in it; the zone's
    record count is the count of the records it lists."""

    def setUp(self):
        super().setUp()
        self.account = self.connect()
        self.seed_zone("later.test")
        self.seed_zone("eu.later.test")

    def test_picking_a_zone_makes_the_records_of_existing_servers(self):
        erp = self.existing_server(self.account, "erp.later.test", "20.30.40.50")
        shop = self.existing_server(self.account, "Shop.Later.Test", "20.30.40.51", state="stopped")
        eu = self.existing_server(self.account, "erp.eu.later.test", "20.30.40.52")
        draft = self.existing_server(self.account, "new.later.test", False, state="draft")
        gone = self.existing_server(self.account, "gone.later.test", "20.30.40.53", state="deleted")
        self.portal_set_a("later.test", "taken", ["20.9.9.9"])
        taken = self.existing_server(self.account, "taken.later.test", "20.30.40.54")
        eu_zone = self.quick_setup(self.account, "eu.later.test")
        self.assertEqual((eu.dns_state, eu.dns_zone_id, eu.dns_record_name), ("managed", eu_zone, "erp"))
        self.assertEqual(erp.dns_state, "none", "not in that zone")
        zone = self.quick_setup(self.account, "later.test")
        for server, name in ((erp, "erp"), (shop, "shop")):
            in_azure = self.portal_get_a("later.test", name)
            self.assertEqual([a.ipv4_address for a in in_azure.a_records], [server.public_ip])
            self.assertEqual(in_azure.metadata["oec_server_id"], str(server.id))
            self.assertEqual(
                (server.dns_state, server.dns_zone_id, server.dns_record_name), ("managed", zone, name)
            )
        # a foreign record is reported on its server, never overwritten
        self.assertEqual(taken.dns_state, "conflict")
        self.assertEqual(
            [a.ipv4_address for a in self.portal_get_a("later.test", "taken").a_records], ["20.9.9.9"]
        )
        # a name in a longer managed zone stays there; no IP, or deleted: nothing
        self.assertIsNone(self.portal_get_a("later.test", "erp.eu"))
        self.assertEqual(eu.dns_zone_id, eu_zone)
        for server, name in ((draft, "new"), (gone, "gone")):
            self.assertIsNone(self.portal_get_a("later.test", name))
            self.assertEqual(server.dns_state, "none")
        self.assertEqual(
            sorted((r.record_type, r.name) for r in zone.record_ids),
            [("A", "erp"), ("A", "shop"), ("A", "taken"), ("NS", "@"), ("SOA", "@"), ("TXT", "@")],
        )
        self.assertEqual(zone.record_count, 6)
        summary = zone.message_ids.filtered(lambda m: "A records of the servers" in (m.body or ""))
        self.assertEqual(len(summary), 1)
        self.assertIn("erp.later.test: 20.30.40.50", summary.body)
        self.assertIn("taken.later.test: not set", summary.body)

    def test_record_count_is_the_records_listed(self):
        zone = self.quick_setup(self.account, "later.test")
        self.assertEqual(zone.record_count, 3)  # SOA, NS, @ TXT
        # a server's Refresh adds its A record after the zone was read: the count follows
        server = self.existing_server(self.account, "erp.later.test", "20.30.40.50")
        server._sync_dns()
        self.assertEqual(len(zone.record_ids), 4)
        self.assertEqual(zone.record_count, 4)
        server._remove_dns()
        self.assertEqual(zone.record_count, 3)


@tagged("post_install", "-at_install")
class TestDnsFrench(FrenchMixin, DnsMixin, TransactionCase):
    def test_dns_error_in_french(self):
        account = self.connect()
        self.seed_zone("example.test")
        zone = self.quick_setup(account, "example.test").with_context(lang="fr_FR")
        self.emu.control.inject_fault(
            path=r"/dnszones/example\.test\?", status=403, code="AuthorizationFailed"
        )
        with self.assertRaisesRegex(UserError, "Contributeur de zone DNS .*AuthorizationFailed"):
            zone.action_refresh()
