"""services/prices.py against the emulator: a throttled or failing price service is a
transient failure with its Retry-After, and its answer's text is never kept."""

import pytest

from odoo.addons.oec_cloud_accounts.services import AzureError
from odoo.addons.oec_cloud_accounts.services.errors import KIND_TRANSIENT
from odoo.addons.oec_cloud_accounts.services.prices import RetailPrices


def test_prices_read(emu):
    prices = RetailPrices(emu.endpoints["prices"], ca_bundle=emu.ca_path).region_prices("westeurope")
    assert {price["kind"] for price in prices} == {"vm", "disk", "ip"}


@pytest.mark.parametrize(("status", "retry_after"), [(429, 120), (503, None), (500, None)])
def test_throttled_and_failing_service_is_transient(emu, status, retry_after):
    headers = {"Retry-After": str(retry_after)} if retry_after else {"Retry-After": "x"}
    emu.control.inject_fault(
        service="prices", path="/api/retail", status=status, message="secret-looking text", headers=headers
    )
    with pytest.raises(AzureError) as caught:
        RetailPrices(emu.endpoints["prices"], ca_bundle=emu.ca_path).region_prices("westeurope")
    error = caught.value
    assert (error.key, error.kind, error.status, error.retry_after) == (
        "prices.unavailable",
        KIND_TRANSIENT,
        status,
        retry_after,
    )
    assert "secret-looking" not in str(error) and error.params == {"status": status}
