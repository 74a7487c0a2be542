"""Resource Manager's own answers the product reads: providers (what a subscription can do),
resource groups (a server's, Quick Setup's) and the regions of a subscription."""

from odoo.addons.oec_cloud_accounts.services.arm import ArmClient
from odoo.addons.oec_cloud_accounts.services.compute import ComputeClient
from odoo.addons.oec_cloud_accounts.services.storage import StorageClient

SUB = "00000000-0000-0000-0000-000000000001"


def test_capabilities_from_the_providers_states_and_types(replay, arm):
    replay.serve("arm/providers")
    found = ArmClient(**arm).capabilities(SUB)
    assert found == {
        "providers": {
            "Microsoft.Compute": "Registered",
            "Microsoft.Storage": "Registered",
            "Microsoft.Network": "NotRegistered",
        },
        # DNS needs Microsoft.Network registered (it lists dnszones, but is not registered)
        "capabilities": {"compute": True, "storage": True, "dns": False},
    }
    assert {r["query"]["api-version"] for r in replay.requests} == {"2022-09-01"}


def test_register_answers_registering_at_once(replay, arm):
    replay.serve("arm/providers")
    provider = ArmClient(**arm).register_provider(SUB, "Microsoft.Network")
    assert provider["state"] == "Registering"
    assert "dnszones" in provider["resource_types"]
    (post,) = replay.requests
    assert (post["method"], post["path"].rsplit("/", 2)[-2:]) == ("POST", ["Microsoft.Network", "register"])


def test_resource_group_created_when_missing_and_read_when_there(replay, arm):
    replay.serve("arm/resource_groups")
    compute = ComputeClient(**arm)
    assert compute.get_resource_group(SUB, "my-resource-group") is None  # HEAD 404
    created = compute.create_resource_group(SUB, "my-resource-group", "eastus", {"created-by": "odoo"})
    assert created == {
        "id": "/subscriptions/%s/resourceGroups/my-resource-group" % SUB,
        "tags": {"created-by": "odoo"},
    }
    existing = compute.get_resource_group(SUB, "existing")  # HEAD 204, then GET
    assert existing == {
        "id": "/subscriptions/%s/resourceGroups/existing" % SUB,
        "tags": {"owner": "someone"},
        "state": "Succeeded",
    }
    assert [r["method"] for r in replay.requests] == ["HEAD", "PUT", "HEAD", "GET"]


def test_quick_setup_keeps_an_existing_group_as_it_is(replay, arm):
    replay.serve("arm/resource_groups")
    storage = StorageClient(**arm)
    assert storage.create_resource_group(SUB, "existing", "eastus", {}) == {
        "name": "existing",
        "created": False,
    }
    assert storage.create_resource_group(SUB, "my-resource-group", "eastus", {}) == {
        "name": "my-resource-group",
        "created": True,
    }
    assert [r["method"] for r in replay.requests] == ["HEAD", "HEAD", "PUT"]
    assert storage.list_resource_groups(SUB) == [
        {"name": "alpha", "location": "eastus"},
        {"name": "existing", "location": "westeurope"},
        {"name": "Zeta-rg", "location": "westeurope"},
    ]


def test_regions_offered_are_the_physical_ones(replay, arm):
    replay.serve("arm/locations")
    assert ComputeClient(**arm).list_locations(SUB) == [
        {"name": "eastus", "display_name": "East US"},
        {"name": "eastus2", "display_name": "East US 2"},
    ]
    (asked,) = replay.requests
    assert asked["query"] == {"api-version": "2022-12-01"}
