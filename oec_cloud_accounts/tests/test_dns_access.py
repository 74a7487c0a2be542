"""DNS access through the RPC layer: Cloud Users read zones and records, only
Cloud Managers of the zone's company change them, and a refused call never
reaches Azure (the emulator's request log is the witness). Plus the browser
tour of DNS Quick Setup."""

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .common import refused_users
from .dns_common import DnsMixin

AZURE_NS = [
    "ns1-01.azure-dns.com.",
    "ns2-01.azure-dns.net.",
    "ns3-01.azure-dns.org.",
    "ns4-01.azure-dns.info.",
]

# (label, model, method, args after the ids): every public DNS method that
# reaches Azure or the resolver, and writes of fields owned by the code
CALLS = (
    ("quick setup", "cloud.account", "action_dns_quick_setup", []),
    ("refresh zone", "cloud.dns.zone", "action_refresh", []),
    ("check delegation", "cloud.dns.zone", "action_check_delegation", []),
    ("new A record", "cloud.dns.zone", "action_new_a_record", []),
    ("write zone", "cloud.dns.zone", "write", [{"resource_group": "elsewhere"}]),
    ("upsert (private)", "cloud.dns.zone", "_upsert_owned_a_record", ["x", "20.1.2.3", {}]),
    ("edit record", "cloud.dns.record", "action_edit", []),
    ("delete record", "cloud.dns.record", "action_delete_in_azure", []),
    ("reload record", "cloud.dns.record", "action_reload", []),
    ("write record", "cloud.dns.record", "write", [{"etag": "*"}]),
)


@tagged("post_install", "-at_install")
class TestDnsAccess(DnsMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = refused_users(cls.env, "dns")
        cls.manager = new_test_user(cls.env, "dns_manager", groups="oec_cloud_accounts.group_cloud_manager")

    def setUp(self):
        super().setUp()
        self.account = self.connect()
        self.seed_zone("example.test", records={"www": ["20.1.2.3"]})
        self.zone = self.quick_setup(self.account, "example.test")
        self.record = self.zone.record_ids.filtered(lambda r: r.name == "www" and r.record_type == "A")

    def rpc(self, login, model, method, args):
        self.login_as(login)
        record = {
            "cloud.account": self.account,
            "cloud.dns.zone": self.zone,
            "cloud.dns.record": self.record,
        }[model]
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": [record.ids, *args], "kwargs": {}},
        )

    def test_refused_before_any_remote_call(self):
        for kind, user in self.users.items():
            for label, model, method, args in CALLS:
                with self.subTest(user=kind, call=label):
                    before = len(self.emu.control.requests())
                    queries = len(self.dns_server.queries)
                    with self.assertRaises(JsonRpcException) as refusal:
                        self.rpc(user.login, model, method, args)
                    self.assertIn(
                        refusal.exception.args[0],
                        ("odoo.exceptions.AccessError", "odoo.exceptions.UserError"),
                    )
                    self.assertEqual(self.remote_calls(since=before), [], "a refused call reached Azure")
                    self.assertEqual(len(self.dns_server.queries), queries, "a refused call resolved")
        # the witness sees calls: the same RPCs by a manager of the company reach Azure
        for label, model, method in (
            ("refresh zone", "cloud.dns.zone", "action_refresh"),
            ("quick setup", "cloud.account", "action_dns_quick_setup"),
            ("reload record", "cloud.dns.record", "action_reload"),
        ):
            before = len(self.emu.control.requests())
            self.rpc(self.manager.login, model, method, [])
            self.assertTrue(self.remote_calls(since=before), "the manager's %s reached Azure" % label)

    def test_cloud_user_reads(self):
        viewer = self.users["cloud user"]
        self.authenticate(viewer.login, viewer.login)
        zones = self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {
                "model": "cloud.dns.zone",
                "method": "search_read",
                "args": [[], ["name", "name_servers", "record_count"]],
                "kwargs": {},
            },
        )
        self.assertEqual([z["name"] for z in zones], ["example.test"])
        records = self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {
                "model": "cloud.dns.record",
                "method": "search_read",
                "args": [[], ["name", "value_text"]],
                "kwargs": {},
            },
        )
        self.assertIn({"id": self.record.id, "name": "www", "value_text": "20.1.2.3"}, records)
        # another company's manager sees none of them
        outsider = self.users["manager of another company"]
        self.authenticate(outsider.login, outsider.login)
        self.assertEqual(
            self.make_jsonrpc_request(
                "/web/dataset/call_kw",
                {"model": "cloud.dns.zone", "method": "search_read", "args": [[], ["name"]], "kwargs": {}},
            ),
            [],
        )

    def test_quick_setup_tour(self):
        self.seed_zone("tour.test", records={"www": ["20.1.2.3"]})
        self.dns_server.zones["tour.test"] = list(AZURE_NS)
        server = self.existing_server(self.account, "erp.tour.test", "20.30.40.50")
        self.start_tour(
            "/web#id=%d&model=cloud.account&view_type=form" % self.account.id,
            "oec_cloud_accounts_dns_quick_setup",
            login="admin",
        )
        zone = self.env["cloud.dns.zone"].search([("name", "=", "tour.test")])
        self.assertEqual(zone.account_id, self.account)
        self.assertEqual(zone.delegation_state, "ok")
        self.assertTrue(zone.record_ids.filtered(lambda r: r.name == "www" and r.value_text == "20.1.2.3"))
        self.assertEqual((server.dns_state, server.dns_zone_id), ("managed", zone))
