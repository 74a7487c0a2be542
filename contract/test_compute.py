"""Compute: what ARM answers about sizes, through azure-mgmt-compute's pipeline."""

from odoo.addons.oec_cloud_accounts.services.compute import ComputeClient

SUB = "00000000-0000-0000-0000-000000000001"


def test_sizes_offered_are_those_the_images_boot(replay, arm):
    # Gen1-only (A0, A1) and Arm64 (D2ps_v5) sizes cannot boot the Gen2 x64 Ubuntu images
    replay.serve("compute/skus_region")
    sizes = ComputeClient(**arm).list_vm_sizes(SUB, "westus")
    assert [s["name"] for s in sizes] == ["Standard_D2s_v3"]
    assert sizes[0] == {
        "name": "Standard_D2s_v3",
        "family": "standardDSv3Family",
        "vcpus": 2,
        "memory_gb": 8.0,
    }
    (asked,) = replay.requests
    assert asked["query"] == {"api-version": "2021-07-01", "$filter": "location eq 'westus'"}
    assert asked["headers"]["Authorization"] == "Bearer recorded"
