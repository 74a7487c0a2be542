"""Scale: with 1,000 cloud accounts, 5,000 servers, 20,000 backup runs and 2,000 DNS records in the
database, the views and the scheduled actions run a number of SQL queries that does not grow with the
records of a page or of a batch, nor with the records in the database.

The records are made once for the class: one of each through the ORM, as the product makes them, then
copied by SQL (``clone()``), each copy with its own name and parent, which the ORM would take minutes
to do. The queries are counted with the cursor's ``sql_log_count``, each count after a first call that
fills the caches, so that what is compared is growth, not absolute numbers.
"""

import logging
from datetime import timedelta

from azure_emulator import defaults
from lxml import etree

from odoo import fields
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import SQL

from .common import EmulatorMixin

_logger = logging.getLogger(__name__)

ACCOUNTS = 1000
SERVERS = 5000
BACKUPS = 20000
DNS_RECORDS = 2000
ZONES = 100
POLICIES = 10
# the servers' regions: the six of the shipped price table and four more priced here
REGIONS = [
    "eastus",
    "westus2",
    "westeurope",
    "northeurope",
    "southeastasia",
    "australiaeast",
    "francecentral",
    "germanywestcentral",
    "japaneast",
    "canadacentral",
]
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE6StTmp6A2Qe2//mNhI43TZcNC/JV27eZffqEwx0i9N scale@laptop"
QUIET = {"tracking_disable": True, "mail_create_nolog": True, "mail_create_nosubscribe": True}


class QueryCount(int):
    """A number of queries, with their text for the failure's message."""

    def __new__(cls, count, queries):
        self = super().__new__(cls, count)
        self.queries = queries
        return self

    def __repr__(self):
        return "%d queries:\n  %s" % (self, "\n  ".join(self.queries))


def clone(template, count, **columns):
    """``count`` copies of ``template``'s row, inserted by one SQL statement: every column of the
    table but ``id`` and the encrypted secrets (bound to their row: oec.secret.mixin) is copied, but
    ``columns``, {column: SQL of the copy's value}, where ``n`` is the copy's number from 1. Returns
    the copies, in order."""
    env = template.env
    env.flush_all()
    env.cr.execute(
        SQL(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name != 'id'"
            " ORDER BY ordinal_position",
            template._table,
        )
    )
    secrets = set(getattr(template, "_secret_columns", ()))
    names = [name for (name,) in env.cr.fetchall() if name not in secrets]
    env.cr.execute(
        SQL(
            "INSERT INTO %s (%s) SELECT %s FROM %s t, generate_series(1, %s) n WHERE t.id = %s"
            " ORDER BY n RETURNING id",
            SQL.identifier(template._table),
            SQL(", ").join(SQL.identifier(name) for name in names),
            SQL(", ").join(columns.get(name) or SQL("t.%s", SQL.identifier(name)) for name in names),
            SQL.identifier(template._table),
            count,
            template.id,
        )
    )
    ids = [row[0] for row in env.cr.fetchall()]
    env.invalidate_all()
    return template.browse(ids)


def nth(records):
    """SQL: the (n-1 modulo len)-th id of ``records``, for the copy number ``n`` of clone()."""
    return SQL("(%s::int[])[1 + mod(n - 1, %s)]", records.ids, len(records))


def view_spec(model, view_type):
    """The specification the web client sends to web_search_read / web_read for ``model``'s
    default view of ``view_type``: the view's fields, a many2one with its display name, an
    x2many with its subview's fields (40 rows, as a form's list), else the display names."""
    views = model.get_views([(False, view_type)])
    arch = etree.fromstring(views["views"][view_type]["arch"])
    return _arch_spec(arch, views["models"], model._name)


def _arch_spec(node, models, model_name):
    spec = {}
    level = node.xpath("count(ancestor::field)")
    # the chatter's fields are read by the mail module's own routes, not by the view (form_arch_parser.js)
    chatter = "ancestor::div[contains(concat(' ', @class, ' '), ' oe_chatter ')]"
    for field in node.xpath(".//field[count(ancestor::field) = %d][not(%s)]" % (level, chatter)):
        name = field.get("name")
        info = models[model_name].get(name) or {}
        kind = info.get("type")
        if kind == "many2one":
            spec[name] = {"fields": {"display_name": {}}}
        elif kind in ("one2many", "many2many"):
            subview = field.find("tree") if field.find("tree") is not None else field.find("kanban")
            if subview is not None:
                spec[name] = {"fields": _arch_spec(subview, models, info["relation"]), "limit": 40}
            else:
                spec[name] = {"fields": {"display_name": {}}}
        else:
            spec[name] = {}
    return spec


@tagged("post_install", "-at_install")
class TestScale(EmulatorMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env(context=dict(cls.env.context, **QUIET))
        # only ours: the database may hold other accounts
        env["cloud.account"].search([]).write({"active": False})
        later = fields.Datetime.now() + timedelta(days=1)
        Account = env["cloud.account"].sudo()
        account = Account.create(
            {
                "name": "Scale 0",
                "environment_id": cls.cloud.id,
                "state": "active",
                "tenant_id": defaults.TENANT_ID,
                "ms_username": defaults.USER_EMAIL,
                "next_run_at": later,
            }
        )
        line = (
            env["cloud.account.subscription"]
            .sudo()
            .create(
                {
                    "account_id": account.id,
                    "name": "Sandbox",
                    "subscription_id": defaults.SUBSCRIPTION_ID,
                    "state": "Enabled",
                    "is_default": True,
                    "compute_state": "Registered",
                    "storage_state": "Registered",
                    "network_state": "Registered",
                    "can_compute": True,
                    "can_storage": True,
                    "can_dns": True,
                }
            )
        )
        cls.accounts = account | clone(account, ACCOUNTS - 1, name=SQL("'Scale ' || n"))
        others = cls.accounts[1:]
        cls.lines = line | clone(line, len(others), account_id=nth(others))
        cls.account = account

        # prices of the four regions the shipped table lacks, from those of West Europe
        Price = env["cloud.price"].sudo()
        for price in Price.search([("location", "=", "westeurope")]):
            for region in REGIONS[6:]:
                price.copy({"location": region, "unit_price": price.unit_price * 1.1})

        server = (
            env["cloud.server"]
            .sudo()
            .create(
                {
                    "name": "scale-0",
                    "account_id": account.id,
                    "subscription_line_id": line.id,
                    "location": REGIONS[0],
                    "vm_size": "Standard_B2s",
                    "ssh_public_key": SSH_KEY,
                }
            )
        )
        server.write({"state": "running", "power_state": "running", "vm_name": "scale-0-vm"})
        cls.servers = server | clone(
            server,
            SERVERS - 1,
            name=SQL("'scale-' || n"),
            vm_name=SQL("'scale-' || n || '-vm'"),
            account_id=nth(cls.accounts),
            subscription_line_id=nth(cls.lines),
            location=SQL("(%s::varchar[])[1 + mod(n, %s)]", REGIONS, len(REGIONS)),
        )

        zone = (
            env["cloud.dns.zone"]
            .sudo()
            .create(
                {
                    "name": "scale0.example.com",
                    "account_id": account.id,
                    "subscription_id": defaults.SUBSCRIPTION_ID,
                    "subscription_name": "Sandbox",
                    "resource_group": "oec-dns",
                    "azure_id": "/subscriptions/%s/resourceGroups/oec-dns/providers/Microsoft.Network"
                    "/dnszones/scale0.example.com" % defaults.SUBSCRIPTION_ID,
                    "name_servers": "ns1-01.azure-dns.com.\nns2-01.azure-dns.net.",
                }
            )
        )
        cls.zones = zone | clone(
            zone,
            ZONES - 1,
            name=SQL("'scale' || n || '.example.com'"),
            azure_id=SQL("t.azure_id || n"),
            account_id=nth(cls.accounts[1:ZONES]),
        )
        record = (
            env["cloud.dns.record"]
            .sudo()
            .create(
                {
                    "zone_id": zone.id,
                    "name": "www",
                    "fqdn": "www.scale0.example.com",
                    "record_type": "A",
                    "ttl": 3600,
                    "value_text": "203.0.113.10",
                }
            )
        )
        # half of the records in the first zone, the rest spread over the others
        half = DNS_RECORDS // 2
        cls.records = record | clone(
            record, half - 1, name=SQL("'host' || n"), fqdn=SQL("'host' || n || '.scale0.example.com'")
        )
        others = cls.zones[1:]
        cls.records |= clone(
            record,
            DNS_RECORDS - half,
            name=SQL("'host' || n"),
            zone_id=nth(others),
            fqdn=SQL("'host' || n || '.' || (SELECT name FROM cloud_dns_zone WHERE id = %s)", nth(others)),
        )

        storage = (
            env["cloud.storage"]
            .sudo()
            .create(
                {
                    "account_id": account.id,
                    "subscription_id": defaults.SUBSCRIPTION_ID,
                    "subscription_name": "Sandbox",
                    "resource_group": "oec-backups",
                    "storage_account": "oecscale0",
                    "container": "odoo-backups",
                    "location": "westeurope",
                    "blob_endpoint": "https://oecscale0.blob.core.windows.net/",
                    "state": "ready",
                }
            )
        )
        # the storage locations' accounts need Reconnect: the backup cron's passes select among the
        # 20,000 runs and find none to run (the runs themselves are the backup tests' and benches')
        storing = cls.accounts[-POLICIES:]
        cls.storages = storage | clone(
            storage,
            POLICIES - 1,
            storage_account=SQL("'oecscale' || n"),
            account_id=nth(storing[1:]),
        )
        storage.account_id = storing[0]
        storing.write({"state": "expired", "next_run_at": False})
        policies = env["cloud.backup.policy"]
        for index, location in enumerate(cls.storages):
            policies |= policies.create(
                {"name": "Nightly %d" % index, "storage_id": location.id, "schedule_tz": "Europe/Paris"}
            )
        cls.policies = policies
        started = fields.Datetime.now() - timedelta(days=1)
        backup = (
            env["cloud.backup"]
            .sudo()
            .create(
                {
                    "policy_id": policies[0].id,
                    "database": env.cr.dbname,
                    "backup_format": "zip",
                    "trigger": "scheduled",
                    "state": "done",
                    "started_at": started,
                    "finished_at": started + timedelta(minutes=2),
                    "duration": 120.0,
                    "size": 5e7,
                    "blob_name": "%s/scale-0.zip" % env.cr.dbname,
                    "sha256": "0" * 64,
                }
            )
        )
        cls.backups = backup | cls._more_backups(backup, BACKUPS - 1)
        cls.manager = new_test_user(
            env,
            "scale_manager",
            groups="oec_cloud_accounts.group_cloud_manager,base.group_system",
        )

    @classmethod
    def _more_backups(cls, backup, count):
        """``count`` runs of the policies, one an hour back from ``backup``'s (their names follow)."""
        moment = SQL("t.started_at - n * interval '1 hour'")
        return clone(
            backup,
            count,
            policy_id=nth(cls.policies),
            storage_id=SQL(
                "(SELECT storage_id FROM cloud_backup_policy WHERE id = (%s::int[])[1 + mod(n - 1, %s)])",
                cls.policies.ids,
                len(cls.policies),
            ),
            started_at=moment,
            finished_at=SQL("t.finished_at - n * interval '1 hour'"),
            blob_name=SQL("t.database || '/scale-' || n || '.zip'"),
            name=SQL("t.database || ' ' || to_char(%s, 'YYYY-MM-DD HH24:MI')", moment),
        )

    # -- helpers -------------------------------------------------------------------------------------

    def count_queries(self, func, warm=True):
        """The SQL queries ``func()`` runs, with every record out of the cache first (after a
        first call that fills the other caches: access rules, views): a QueryCount, an int that
        keeps the queries' text (shown when two counts differ)."""
        self.env.flush_all()
        self.env.invalidate_all()
        if warm:
            func()
            self.env.flush_all()
            self.env.invalidate_all()
        queries = []
        handler = logging.Handler()
        handler.emit = lambda record: queries.append(record.getMessage()[:300])
        sql_logger = logging.getLogger("odoo.sql_db")
        level = sql_logger.level
        sql_logger.addHandler(handler)
        sql_logger.setLevel(logging.DEBUG)
        before = self.cr.sql_log_count
        try:
            func()
        finally:
            count = self.cr.sql_log_count - before
            sql_logger.removeHandler(handler)
            sql_logger.setLevel(level)
        return QueryCount(count, queries)

    def page_queries(self, model_name, view_type, limit):
        """Queries of one page of ``limit`` records of ``model_name``'s ``view_type`` view, as the web
        client asks for it (a first call fills the caches)."""
        model = self.env[model_name].with_user(self.manager)
        spec = view_spec(model, view_type)
        return self.count_queries(lambda: model.web_search_read([], spec, limit=limit))

    def form_queries(self, record):
        model = record.with_user(self.manager)
        spec = view_spec(model, "form")
        return self.count_queries(lambda: model.web_read(spec))

    def assertSameCount(self, first, second, label):
        """``first`` == ``second`` (QueryCount), else a message with both lists of queries."""
        _logger.info("%s: %d then %d queries", label, first, second)
        if first != second:
            self.fail("%s: %r\nthen %r" % (label, first, second))

    # -- tests ---------------------------------------------------------------------------------------

    def test_data(self):
        """What the other tests count on: the records and their spread."""
        self.assertEqual(self.env["cloud.account"].search_count([("id", "in", self.accounts.ids)]), ACCOUNTS)
        self.assertEqual(len(self.servers), SERVERS)
        self.assertEqual(len(self.backups), BACKUPS)
        self.assertEqual(len(self.records), DNS_RECORDS)
        self.assertEqual(set(self.servers.mapped("location")), set(REGIONS))
        for server in self.servers[:3] | self.servers[-3:]:
            self.assertEqual(server.subscription_line_id.account_id, server.account_id)
        self.assertEqual(set(self.servers.account_id), set(self.accounts))
        self.assertEqual(self.backups[1].storage_id, self.backups[1].policy_id.storage_id)
        self.assertEqual(self.zones[0].record_count, DNS_RECORDS // 2)

    def test_list_and_kanban_pages(self):
        """A page of 80 runs the queries of a page of 10."""
        cases = [
            ("cloud.account", "kanban"),
            ("cloud.account", "tree"),
            ("cloud.server", "kanban"),
            ("cloud.server", "tree"),
            ("cloud.backup", "tree"),
            ("cloud.dns.zone", "kanban"),
            ("cloud.dns.zone", "tree"),
            ("cloud.dns.record", "tree"),
        ]
        for model_name, view_type in cases:
            with self.subTest(model=model_name, view=view_type):
                small = self.page_queries(model_name, view_type, 10)
                large = self.page_queries(model_name, view_type, 80)
                self.assertSameCount(small, large, "%s %s, 10 then 80 rows" % (model_name, view_type))

    def test_forms(self):
        """A form with many related rows runs the queries of one with few."""
        many = self.account
        many_storage = self.storages[0]
        few = self.accounts[-POLICIES - 1]
        self.assertFalse(few.dns_zone_ids)
        cases = [
            ("account", many, few),
            ("server", self.servers[0], self.servers[-1]),
            ("zone", self.zones[0], self.zones[-1]),
            ("backup", self.backups[0], self.backups[-1]),
            ("storage", many_storage, self.storages[-1]),
            ("policy", self.policies[0], self.policies[-1]),
        ]
        for label, big, small in cases:
            with self.subTest(form=label):
                self.assertSameCount(self.form_queries(big), self.form_queries(small), label)

    def test_cost_estimate_per_region(self):
        """The cost of 80 servers in 10 regions is read in the queries of 10 servers in one."""
        one_region = self.servers.filtered(lambda server: server.location == REGIONS[0])[:10]
        ten_regions = self.servers[:80]
        self.assertEqual(len(set(ten_regions.mapped("location"))), 10)
        fields_ = ["cost_hour", "cost_month", "cost_month_stopped", "cost_currency_id", "cost_source"]
        small = self.count_queries(lambda: one_region.read(fields_))
        large = self.count_queries(lambda: ten_regions.read(fields_))
        self.assertSameCount(small, large, "10 servers in one region, then 80 in ten")
        self.assertTrue(all(ten_regions.mapped("cost_month")), "every region is priced")

    def test_cron_passes_do_not_grow_with_the_records(self):
        """A pass of each scheduled action with nothing due runs the same queries with 1,000 more
        accounts, 2,000 more servers, 5,000 more backup runs and 500 more DNS records: the due rows
        are selected by SQL, nothing reads every record."""
        crons = [
            ("cloud.account", "_cron_refresh_tokens", {}),
            ("cloud.account.subscription", "_cron_check_registrations", {}),
            ("cloud.server", "_cron_advance", {}),
            ("cloud.server", "_cron_schedule", {}),
            ("cloud.storage", "_cron_check_creating", {}),
            ("cloud.backup", "_cron_run", {}),
            ("cloud.price", "_cron_refresh_prices", {}),
        ]

        def passes():
            return {
                (model, method): self.count_queries(lambda m=model, f=method, k=kw: self.run_job(m, f, **k))
                for model, method, kw in crons
            }

        before = passes()
        accounts = clone(self.account, ACCOUNTS, name=SQL("'Scale more ' || n"))
        lines = clone(self.lines[0], ACCOUNTS, account_id=nth(accounts))
        clone(
            self.servers[0],
            2000,
            name=SQL("'scale-more-' || n"),
            account_id=nth(accounts),
            subscription_line_id=nth(lines),
            location=SQL("(%s::varchar[])[1 + mod(n, %s)]", REGIONS, len(REGIONS)),
        )
        self._more_backups(self.backups[-1], 5000)
        clone(self.records[-1], 500, name=SQL("'more' || n"), zone_id=nth(self.zones))
        after = passes()
        for key, count in before.items():
            with self.subTest(cron="%s.%s" % key):
                self.assertSameCount(count, after[key], "%s.%s, then with more records" % key)

    def test_token_refresh_queries_per_account(self):
        """A token refresh pass runs a fixed number of queries per account refreshed, among 1,000
        accounts that are not due."""
        self.emu.control.add_user(email="scale.third@sandbox.onmicrosoft.test", name="Scale Third")
        connected = (
            self.connect()
            | self.connect(user=defaults.SECOND_USER_EMAIL)
            | self.connect(user="scale.third@sandbox.onmicrosoft.test")
        )
        self.assertEqual(len(connected), 3)
        past = fields.Datetime.now() - timedelta(minutes=1)

        def refresh(count):
            connected[:count].write({"next_run_at": past})
            return self.count_queries(
                lambda: self.run_job("cloud.account", "_cron_refresh_tokens"), warm=False
            )

        refresh(3)  # first-use costs (the sign-in's clients, the caches) out of the counts
        one, two, three = refresh(1), refresh(2), refresh(3)
        self.assertEqual(self.emu.control.requests()[-1]["service"], "entra", "the tokens were refreshed")
        self.assertGreater(two, one)
        self.assertSameCount(QueryCount(two - one, []), QueryCount(three - two, []), "queries per account")
