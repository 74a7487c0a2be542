"""Retail prices: pages of 100 items, followed to the end."""

import copy

import pytest
from replay import load

from odoo.addons.oec_cloud_accounts.services.errors import AzureError
from odoo.addons.oec_cloud_accounts.services.prices import RetailPrices

PAGE_SIZE = 100  # what the service puts on a page


def _pages(count):
    """The recorded page and item shapes, ``count`` pages of 100 items, linked by $skip."""
    recorded = load("prices/pages")
    exchanges = []
    for number in range(count):
        page = copy.deepcopy(recorded["page"])
        page["Items"] = [dict(recorded["item"], meterId="m-%d-%d" % (number, i)) for i in range(PAGE_SIZE)]
        page["Count"] = PAGE_SIZE
        if number + 1 < count:
            page["NextPageLink"] = "{base}/api/retail/prices?$skip=%d" % ((number + 1) * PAGE_SIZE)
        query = {"$skip": str(number * PAGE_SIZE)} if number else {}
        exchanges.append({"method": "GET", "path": "/api/retail/prices", "query": query, "body": page})
    # the first page is asked with $filter and no $skip: serve it for any query of the path
    return {"source": recorded["source"], "exchanges": list(reversed(exchanges))}


def test_every_page_is_read(replay):
    replay.serve(_pages(60))  # 6,000 items: a large region
    prices = RetailPrices(replay.base + "/api/retail/prices", ca_bundle=replay.ca_path).region_prices(
        "westeurope"
    )
    assert len(prices) == 60 * PAGE_SIZE
    assert prices[0] == {
        "kind": "vm",
        "sku": "Standard_D2s_v3",
        "unit": "hour",
        "unit_price": 0.096,
        "currency": "USD",
    }
    assert len(replay.requests) == 60


def test_a_reached_page_cap_is_an_error_not_a_silent_cut(replay):
    replay.serve(_pages(4))
    client = RetailPrices(replay.base + "/api/retail/prices", ca_bundle=replay.ca_path, max_pages=3)
    with pytest.raises(AzureError) as caught:
        client.region_prices("westeurope")
    assert caught.value.code == "PricesTooManyPages"
    assert len(replay.requests) == 3
