"""Azure retail prices (https://prices.azure.com/api/retail/prices): anonymous,
OData ``$filter``, paged by ``NextPageLink``; a next page is read only from the
configured host (scheme, host and port of the endpoint)."""

from .errors import KIND_TRANSIENT, TRANSIENT_STATUS, AzureError
from .hosts import check_same_origin
from .http import DEFAULT_TIMEOUT, TimeoutSession, UnexpectedResponse, retry_after

# pages hold 100 items; a region's Linux VM, disk and IP meters take a few dozen pages
MAX_PAGES = 500
HOURS_PER_MONTH = 730  # Azure's own convention for monthly estimates


class RetailPrices:
    """Linux pay-as-you-go prices of VM sizes, Standard SSD disks and Standard public IPs."""

    def __init__(self, endpoint, ca_bundle=None, timeout=DEFAULT_TIMEOUT, max_pages=MAX_PAGES):
        self.endpoint = endpoint
        self.session = TimeoutSession(ca_bundle, timeout)
        self.max_pages = max_pages

    def region_prices(self, location):
        """[{"kind": "vm" | "disk" | "ip", "sku", "unit_price", "unit": "hour" | "month",
        "currency"}] for one region (the first page's currency: USD by default)."""
        flt = (
            "armRegionName eq '%s' and priceType eq 'Consumption' and (serviceName eq 'Virtual Machines' "
            "or productName eq 'Standard SSD Managed Disks' or productName eq 'IP Addresses')"
        ) % location.replace("'", "")
        prices = []
        for item in self._items({"$filter": flt}):
            price = _price(item)
            if price:
                prices.append(price)
        return prices

    def _items(self, params):
        url = self.endpoint
        for _page in range(self.max_pages):
            try:
                response = self.session.get(url, params=params)
            except UnexpectedResponse as exc:
                raise _unavailable(exc.response) from exc
            except OSError as exc:  # requests' connection errors and timeouts included
                raise AzureError.network(exc) from exc
            if response.status_code in TRANSIENT_STATUS:
                # throttled (429, with a JSON body): tried again once the Retry-After has passed
                raise _unavailable(response)
            answer = response.json()
            if not response.ok:
                raise AzureError(
                    "prices.refused",
                    code="PricesRequestRefused",
                    status=response.status_code,
                    params={"detail": str(answer.get("Error") or answer)[:200]},
                )
            yield from answer.get("Items") or []
            url, params = answer.get("NextPageLink"), None
            if not url:
                return
            check_same_origin(url, self.endpoint)
        # never a silent cut: a partial price list would make estimates look cheaper than they are
        raise AzureError("prices.too_many_pages", code="PricesTooManyPages", params={"pages": self.max_pages})


def _unavailable(response):
    """A transient failure of the service: its status and Retry-After only, never its text."""
    return AzureError(
        "prices.unavailable",
        code="PricesUnavailable",
        kind=KIND_TRANSIENT,
        status=response.status_code,
        params={"status": response.status_code},
        retry_after=retry_after(response),
    )


def _price(item):
    """Our reading of one price item, or None when it is not one we use."""
    service, product = item.get("serviceName"), item.get("productName") or ""
    meter = item.get("meterName") or ""
    common = {"unit_price": float(item.get("retailPrice") or 0.0), "currency": item.get("currencyCode")}
    if service == "Virtual Machines":
        # Linux pay-as-you-go only: Windows, Spot and Low Priority meters are other prices
        if "Windows" in product or "Spot" in meter or "Low Priority" in meter:
            return None
        if item.get("unitOfMeasure") != "1 Hour" or not item.get("armSkuName"):
            return None
        return dict(common, kind="vm", sku=item["armSkuName"], unit="hour")
    if product == "Standard SSD Managed Disks" and meter.endswith("LRS Disk"):
        return dict(common, kind="disk", sku=meter.split()[0], unit="month")
    if product == "IP Addresses" and item.get("skuName") == "Standard" and "Static" in meter:
        return dict(common, kind="ip", sku="Standard", unit="hour")
    return None
