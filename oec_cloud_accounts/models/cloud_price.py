import logging
import time
from functools import partial

from odoo import _, api, fields, models

from ..services.prices import HOURS_PER_MONTH, RetailPrices
from .cloud_job_mixin import job_deadline
from .cloud_server import REGIONS, region_label

REGION_MARGIN = 60  # seconds left needed to start reading a region's prices

_logger = logging.getLogger(__name__)

# Standard SSD tiers: a disk is billed at the smallest tier that holds it
DISK_TIERS = [
    (32, "E4"),
    (64, "E6"),
    (128, "E10"),
    (256, "E15"),
    (512, "E20"),
    (1024, "E30"),
    (2048, "E40"),
    (4096, "E50"),
]


class CloudPrice(models.Model):
    """A pay-as-you-go list price of Azure (USD), for the servers' cost estimates.

    The module ships a dated table (source: fallback) for the six regions
    offered first (East US, West US 2, West Europe, North Europe, Southeast
    Asia, Australia East: cloud_server.REGIONS);
    a scheduled action replaces it with the retail prices API's current prices
    (source: Azure)."""

    _name = "cloud.price"
    _description = "Azure Price"
    _order = "location, kind, sku"

    location = fields.Char(string="Region Code", required=True, index=True)
    location_label = fields.Char(compute="_compute_location_label", string="Region")
    kind = fields.Selection(
        [("vm", "Virtual machine (Linux)"), ("disk", "Standard SSD disk"), ("ip", "Standard public IP")],
        required=True,
    )
    sku = fields.Char(string="SKU", required=True, help="VM size, disk tier (E4, E6...) or Standard.")
    unit_price = fields.Float(digits=(12, 5), required=True)
    unit = fields.Selection([("hour", "per hour"), ("month", "per month")], required=True)
    currency = fields.Char(default="USD", required=True)
    source = fields.Selection(
        [("fallback", "Shipped table"), ("api", "Azure retail prices")], required=True, default="fallback"
    )
    price_date = fields.Date(
        required=True, default=fields.Date.context_today, help="When the price was read."
    )

    _sql_constraints = (
        ("price_unique", "unique(location, kind, sku)", "One price per region, kind and SKU."),
    )

    @api.depends("location")
    def _compute_location_label(self):
        for price in self:
            price.location_label = region_label(price.location)

    @api.model
    def _estimate(self, location, vm_size, disk_gb):
        """{"hour", "month", "month_stopped", "currency", "source", "date"} or None without a VM price.

        ``month_stopped``: what a deallocated VM still costs (its disk and public IP)."""
        return self._estimates([(location, vm_size, disk_gb)])[(location, vm_size, disk_gb)]

    @api.model
    def _estimates(self, keys):
        """{(location, vm_size, disk_gb): _estimate()} for each key of ``keys``: the prices of all
        their regions are read in one query (a page of servers, the sizes of a region), never one
        query per server."""
        keys = set(keys)
        fields_ = ["location", "kind", "sku", "unit_price", "currency", "source", "price_date"]
        found = self.search_fetch([("location", "in", list({key[0] for key in keys}))], fields_)
        prices = {(p.location, p.kind, p.sku): p for p in found}
        return {key: self._estimate_from(prices, *key) for key in keys}

    @api.model
    def _estimate_from(self, prices, location, vm_size, disk_gb):
        """_estimate() from ``prices``, {(location, kind, sku): cloud.price}."""
        vm = prices.get((location, "vm", vm_size))
        if not vm:
            return None
        tier = next((name for size, name in DISK_TIERS if disk_gb <= size), DISK_TIERS[-1][1])
        disk = prices.get((location, "disk", tier))
        address = prices.get((location, "ip", "Standard"))
        disk_month = disk.unit_price if disk else 0.0
        ip_hour = address.unit_price if address else 0.0
        used = [price for price in (vm, disk, address) if price]
        return {
            "hour": vm.unit_price + ip_hour + disk_month / HOURS_PER_MONTH,
            "month": (vm.unit_price + ip_hour) * HOURS_PER_MONTH + disk_month,
            "month_stopped": ip_hour * HOURS_PER_MONTH + disk_month,
            "currency": vm.currency,
            "source": "fallback" if any(price.source == "fallback" for price in used) else "api",
            "date": min(price.price_date for price in used),
        }

    @api.model
    def _cron_refresh_prices(self):
        """Read the current prices of the regions offered first (REGIONS) and of the servers' regions.

        One region failing (the service down, a proxy) keeps its previous prices
        and does not stop the others."""
        environment = self.env["cloud.azure.environment"]._settings_environment()
        if not environment or not environment.prices_endpoint:
            return 0
        client = RetailPrices(environment.prices_endpoint, ca_bundle=environment._ca_bundle())
        regions = [code for code, _label in REGIONS]
        # the servers' regions, grouped by the database: not a read of every server
        in_use = self.env["cloud.server"]._read_group([], ["location"])
        regions += [loc for (loc,) in in_use if loc not in regions]
        # the least recently read first: a pass cut short by its deadline leaves the freshest for later
        last_read = dict(self._read_group([("location", "in", regions)], ["location"], ["price_date:max"]))
        regions.sort(key=lambda loc: last_read.get(loc) or fields.Date.to_date("1970-01-01"))
        # a region's pages take seconds each: none is started with less than a minute left
        until = job_deadline() - REGION_MARGIN
        jobs = self.env["cloud.job.mixin"]
        updated = 0
        for location in regions:
            if time.time() >= until:
                break
            # each region in a transaction of its own (cloud.job.mixin)
            updated += jobs._job_isolated(
                self, "prices of %s" % location, partial(self._refresh_region, client, location)
            )
            self.env.cr.commit()  # pylint: disable=invalid-commit
        return updated

    @api.model
    def _refresh_region(self, client, location):
        return self._store(location, client.region_prices(location))

    def _job_record_failure(self, error, what):
        """A region whose prices could not be read keeps its previous ones (logged by
        cloud.job.mixin); the next pass tries again."""

    def _store(self, location, items):
        existing = {(p.kind, p.sku): p for p in self.search([("location", "=", location)])}
        today = fields.Date.context_today(self)
        for item in items:
            values = {
                "unit_price": item["unit_price"],
                "unit": item["unit"],
                "currency": item["currency"] or "USD",
                "source": "api",
                "price_date": today,
            }
            price = existing.get((item["kind"], item["sku"]))
            if price:
                price.write(values)
            else:
                self.create(dict(values, location=location, kind=item["kind"], sku=item["sku"]))
        return len(items)

    @api.model
    def _currency(self, code):
        """The res.currency of a price's currency code (USD), archived or not; none if unknown."""
        return self.env["res.currency"].with_context(active_test=False).search([("name", "=", code)], limit=1)

    @api.model
    def _source_label(self, estimate):
        if estimate["source"] == "fallback":
            return _("estimate from the shipped price table of %s", estimate["date"])
        return _("Azure retail prices of %s", estimate["date"])
