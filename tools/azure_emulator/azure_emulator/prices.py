"""Retail prices shaped like https://prices.azure.com/api/retail/prices:
OData ``$filter`` (eq / ne / contains, and / or, parentheses), Items and
NextPageLink with ``$skip``. Anonymous, like the real API."""

import functools
import re
import uuid
from urllib.parse import urlencode

from . import defaults as d
from .http import Response

TOKEN_RE = re.compile(r"\s*(\(|\)|'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_]*|,|-?\d+(?:\.\d+)?)")


@functools.cache
def catalog():
    """Built on first use, then shared (read-only)."""
    items = []
    for region, label in d.REGIONS.items():
        factor = 1.0 if region.startswith(("east", "west")) and region != "westeurope" else 1.12
        for sku, (_family, _cores, _mem, price) in d.VM_SKUS.items():
            series = sku.split("_")[1]
            for os_name, mult, suffix in (("Linux", 1.0, ""), ("Windows", 1.45, " Windows")):
                for price_type, pmult, meter_suffix in (
                    ("Consumption", 1.0, ""),
                    ("Consumption", 0.2, " Spot"),
                ):
                    unit = round(price * factor * mult * pmult, 4)
                    items.append(
                        {
                            "currencyCode": "USD",
                            "tierMinimumUnits": 0.0,
                            "retailPrice": unit,
                            "unitPrice": unit,
                            "armRegionName": region,
                            "location": label,
                            "effectiveStartDate": "2024-01-01T00:00:00Z",
                            "meterId": str(
                                uuid.uuid5(uuid.NAMESPACE_URL, sku + region + os_name + meter_suffix)
                            ),
                            "meterName": series + meter_suffix,
                            "productId": "DZH318Z0BQ4L",
                            "skuId": "DZH318Z0BQ4L/%s" % sku,
                            "productName": "Virtual Machines %s Series%s" % (series[0], suffix),
                            "skuName": series + meter_suffix,
                            "serviceName": "Virtual Machines",
                            "serviceId": "DZH313Z7MMC8",
                            "serviceFamily": "Compute",
                            "unitOfMeasure": "1 Hour",
                            "type": price_type,
                            "isPrimaryMeterRegion": True,
                            "armSkuName": sku,
                        }
                    )
        for redundancy, price in (("LRS", 0.0184), ("ZRS", 0.023), ("GRS", 0.0368)):
            items.append(
                {
                    "currencyCode": "USD",
                    "tierMinimumUnits": 0.0,
                    "retailPrice": round(price * factor, 4),
                    "unitPrice": round(price * factor, 4),
                    "armRegionName": region,
                    "location": label,
                    "effectiveStartDate": "2024-01-01T00:00:00Z",
                    "meterId": str(uuid.uuid5(uuid.NAMESPACE_URL, "blob" + redundancy + region)),
                    "meterName": "Hot %s Data Stored" % redundancy,
                    "productId": "DZH317F1HKN0",
                    "skuId": "DZH317F1HKN0/Hot_" + redundancy,
                    "productName": "General Block Blob v2",
                    "skuName": "Hot " + redundancy,
                    "serviceName": "Storage",
                    "serviceId": "DZH317F1HKN0",
                    "serviceFamily": "Storage",
                    "unitOfMeasure": "1 GB/Month",
                    "type": "Consumption",
                    "isPrimaryMeterRegion": True,
                    "armSkuName": "",
                }
            )
        for tier, (_size, price) in d.DISK_TIERS.items():
            items.append(
                _item(
                    region,
                    label,
                    "Storage",
                    "Standard SSD Managed Disks",
                    tier + " LRS",
                    tier + " LRS Disk",
                    round(price * factor, 4),
                    "1/Month",
                    "StandardSSD_" + tier + "_LRS",
                )
            )
        items.append(
            _item(
                region,
                label,
                "Virtual Network",
                "IP Addresses",
                "Standard",
                "Static Public IP",
                round(d.PUBLIC_IP_HOURLY * factor, 4),
                "1 Hour",
                "Standard",
            )
        )
    return items


def _item(region, label, service, product, sku, meter, price, unit, arm_sku):
    # pylint: disable=too-many-arguments
    return {
        "currencyCode": "USD",
        "tierMinimumUnits": 0.0,
        "retailPrice": price,
        "unitPrice": price,
        "armRegionName": region,
        "location": label,
        "effectiveStartDate": "2024-01-01T00:00:00Z",
        "meterId": str(uuid.uuid5(uuid.NAMESPACE_URL, product + meter + region)),
        "meterName": meter,
        "productId": "DZH318Z0BP04",
        "skuId": "DZH318Z0BP04/" + sku,
        "productName": product,
        "skuName": sku,
        "serviceName": service,
        "serviceId": "DZH317F1HKN0",
        "serviceFamily": "Networking" if service == "Virtual Network" else "Storage",
        "unitOfMeasure": unit,
        "type": "Consumption",
        "isPrimaryMeterRegion": True,
        "armSkuName": arm_sku,
    }


class FilterError(ValueError):
    pass


def _tokens(text):
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise FilterError("Invalid $filter near %r" % text[pos : pos + 20])
        out.append(m.group(1))
        pos = m.end()
    return out


OPERATORS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and a > b,
    "ge": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "le": lambda a, b: a is not None and a <= b,
}


def _value(tok):
    if tok.startswith("'"):
        return tok[1:-1].replace("''", "'")
    try:
        return float(tok)
    except ValueError:
        return {"true": True, "false": False, "null": None}.get(tok.lower(), tok)


# filter names that differ from the item's field (the real API filters on priceType, answers type)
FILTER_FIELDS = {"priceType": "type"}


def _comparison(field, operator, expected):
    field = FILTER_FIELDS.get(field, field)

    def compare(item):
        actual = item.get(field)
        if isinstance(actual, str) and isinstance(expected, str):
            # The real API matches string values case-insensitively.
            return operator(actual.lower(), expected.lower())
        return operator(actual, expected)

    return compare


def compile_filter(text):
    """A predicate for an OData $filter subset."""
    tokens = _tokens(text)
    pos = [0]

    def peek():
        return tokens[pos[0]] if pos[0] < len(tokens) else None

    def take():
        pos[0] += 1
        return tokens[pos[0] - 1]

    def primary():
        tok = take()
        if tok == "(":
            pred = disjunction()
            if take() != ")":
                raise FilterError("Missing ')'")
            return pred
        if tok.lower() in ("contains", "startswith", "endswith") and peek() == "(":
            take()
            field = take()
            take()  # ,
            needle = _value(take())
            take()  # )
            fn = {
                "contains": lambda a, b: b.lower() in a.lower(),
                "startswith": lambda a, b: a.lower().startswith(b.lower()),
                "endswith": lambda a, b: a.lower().endswith(b.lower()),
            }[tok.lower()]
            return lambda item: fn(str(item.get(field) or ""), str(needle))
        op = (take() or "").lower()
        if op not in OPERATORS:
            raise FilterError("Unsupported operator %r" % op)
        return _comparison(tok, OPERATORS[op], _value(take()))

    def conjunction():
        preds = [primary()]
        while (peek() or "").lower() == "and":
            take()
            preds.append(primary())
        return lambda item: all(p(item) for p in preds)

    def disjunction():
        preds = [conjunction()]
        while (peek() or "").lower() == "or":
            take()
            preds.append(conjunction())
        return lambda item: any(p(item) for p in preds)

    pred = disjunction()
    if peek() is not None:
        raise FilterError("Unexpected %r in $filter" % peek())
    return pred


def retail_prices(req):
    flt = req.query.get("$filter")
    try:
        pred = compile_filter(flt) if flt else (lambda item: True)
        items = [i for i in catalog() if pred(i)]
    except (FilterError, IndexError, KeyError) as exc:
        return Response.json(
            400, {"Error": {"Code": "BadRequest", "Message": "Invalid OData parameters supplied: %s" % exc}}
        )
    skip = int(req.query.get("$skip", 0) or 0)
    size = int(req.emu.state.config["prices_page_size"])
    page = items[skip : skip + size]
    next_link = None
    if skip + size < len(items):
        params = {k: v for k, v in req.query.items() if k != "$skip"}
        params["$skip"] = skip + size
        next_link = "%s/api/retail/prices?%s" % (req.emu.url, urlencode(params))
    return Response.json(
        200,
        {
            "BillingCurrency": req.query.get("currencyCode", "USD"),
            "CustomerEntityId": "Default",
            "CustomerEntityType": "Retail",
            "Items": page,
            "NextPageLink": next_link,
            "Count": len(page),
        },
    )


def register(router):
    router.add("GET", r"/api/retail/prices", retail_prices)
