"""Compute usages (quota) of a region, as the pre-flight check before a VM reads them."""

from odoo.addons.oec_cloud_accounts.services.compute import ComputeClient

SUB = "00000000-0000-0000-0000-000000000001"


def test_usages_of_every_page_by_name_with_azure_labels(replay, arm):
    replay.serve("compute/usages")
    usages = ComputeClient(**arm).get_usages(SUB, "westus")
    assert usages == {
        "cores": {"current": 4, "limit": 10, "label": "Total Regional vCPUs"},
        "virtualMachines": {"current": 1, "limit": 25000, "label": "Virtual Machines"},
        # the family's name is the resource SKU's family (compute/skus_region: standardDSv3Family)
        "standardDSv3Family": {"current": 2, "limit": 4, "label": "Standard DSv3 Family vCPUs"},
    }
    first, second = replay.requests
    assert first["query"] == {"api-version": "2024-07-01"}
    assert second["query"]["$skiptoken"] == "page2"
