"""Microsoft.Network: the virtual network, public IP and NIC a server's steps create, and what
the product reads of them (its group's public address, whether the NIC of the old chain exists)."""

import json

import pytest
from replay import load
from test_lro import VM_SPEC, _asked, _quick

from odoo.addons.oec_cloud_accounts.services.compute import SUBNET_PREFIX, VNET_PREFIX, ComputeClient

SUB = "00000000-0000-0000-0000-000000000001"
GROUP = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network" % SUB


def _vnet(client):
    return client.begin_create_vnet(SUB, "rg", "westus", None, {"created-by": "odoo"})


def _public_ip(client):
    return client.begin_create_public_ip(SUB, "rg", "westus", {"created-by": "odoo"})


def _nic(client):
    return client.begin_create_nic(
        SUB,
        "rg",
        "westus",
        GROUP + "/virtualNetworks/vnet/subnets/default",
        GROUP + "/publicIPAddresses/ip",
        {"created-by": "odoo"},
        nsg_id=GROUP + "/networkSecurityGroups/nsg",
    )


@pytest.mark.parametrize(
    "fixture, begin, kind, resource",
    [
        ("network/vnet_create_async", _vnet, "vnet", ["virtualNetworks", "vnet"]),
        ("network/public_ip_create_async", _public_ip, "public_ip", ["publicIPAddresses", "ip"]),
        ("network/nic_create_async", _nic, "nic", ["networkInterfaces", "nic"]),
    ],
)
def test_network_resource_created_by_one_put_then_polled(replay, arm, fixture, begin, kind, resource):
    replay.serve(fixture)
    client = ComputeClient(**arm)
    token = _quick(lambda: begin(client))
    assert token and client.retry_after == 10  # Azure's Retry-After kept, not slept
    assert _asked(replay) == [("PUT", resource)]
    assert replay.requests[0]["query"] == {"api-version": "2024-05-01"}
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, kind, token)) is False
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, kind, token)) is True
    assert _asked(replay)[-1] == ("GET", resource)


def test_bodies_sent_for_the_network(replay, arm):
    replay.serve("network/vnet_create_async", "network/public_ip_create_async", "network/nic_create_async")
    client = ComputeClient(**arm)
    for begin in (_vnet, _public_ip, _nic):
        _quick(lambda begin=begin: begin(client))
    vnet, ip, nic = (json.loads(r["body"]) for r in replay.requests)
    assert vnet["properties"]["addressSpace"] == {"addressPrefixes": [VNET_PREFIX]}
    (subnet,) = vnet["properties"]["subnets"]
    assert subnet == {"name": "default", "properties": {"addressPrefix": SUBNET_PREFIX}}
    # Basic SKU public IPs are retired: Standard, static
    assert ip["sku"] == {"name": "Standard", "tier": "Regional"}
    assert ip["properties"]["publicIPAllocationMethod"] == "Static"
    assert nic["properties"]["networkSecurityGroup"] == {"id": GROUP + "/networkSecurityGroups/nsg"}
    (config,) = nic["properties"]["ipConfigurations"]
    assert config["properties"]["publicIPAddress"] == {"id": GROUP + "/publicIPAddresses/ip"}
    assert vnet["tags"] == ip["tags"] == nic["tags"] == {"created-by": "odoo"}


def test_public_address_is_the_first_allocated_of_the_group(replay, arm):
    """The answer's first address has no ipAddress yet (not allocated): skipped, whatever the names."""
    replay.serve("network/public_ip_list")
    assert ComputeClient(**arm).get_public_ip(SUB, "rg") == "40.85.154.247"
    (asked,) = replay.requests
    assert asked["path"].endswith("/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses")
    assert asked["query"] == {"api-version": "2024-05-01"}


def test_no_address_until_azure_allocates_one(replay, arm):
    fixture = json.loads(json.dumps(replay.serve("network/public_ip_list")))
    replay.reset()
    fixture["exchanges"][0]["body"]["value"] = fixture["exchanges"][0]["body"]["value"][:1]
    replay.serve(fixture)
    assert ComputeClient(**arm).get_public_ip(SUB, "rg") is None


def test_nic_exists_reads_200_and_404(replay, arm):
    replay.serve("network/nic_get")
    client = ComputeClient(**arm)
    assert client.nic_exists(SUB, "rg") is True
    assert client.nic_exists(SUB, "rg", "missing") is False
    assert [r["path"].rsplit("/", 1)[-1] for r in replay.requests] == ["nic", "missing"]


def test_vm_sent_again_with_its_inline_network_makes_nothing_twice(replay, arm):
    """Compute names the NIC it makes (toBeCreatedNetworkInterface in Azure's answer), not after the
    configuration: no NIC named ``nic`` exists after the first request, so the VM is sent again with
    the same configurations, and Azure answers 200 with the VM (nothing made twice)."""
    replay.serve("compute/vm_create_inline_network", "compute/vm_create_inline_network_again")
    spec = dict(
        VM_SPEC,
        nic_id=None,
        subnet_id=GROUP + "/virtualNetworks/vnet/subnets/default",
        nsg_id=GROUP + "/networkSecurityGroups/nsg",
    )
    client = ComputeClient(**arm)
    assert _quick(lambda: client.begin_create_vm(SUB, "rg", "vm", spec, {}))
    first = json.loads(replay.requests[0]["body"])
    answer = load("compute/vm_create_inline_network")["exchanges"][0]["body"]
    (made,) = answer["properties"]["networkProfile"]["networkInterfaces"]
    (config,) = first["properties"]["networkProfile"]["networkInterfaceConfigurations"]
    assert not made["id"].endswith("/networkInterfaces/" + config["name"])
    assert client.nic_exists(SUB, "rg") is False
    # the 200 answer (the VM exists) is followed like any: a token, the VM read when it is asked
    token = _quick(lambda: client.begin_create_vm(SUB, "rg", "vm", spec, {}))
    puts = [r for r in replay.requests if r["method"] == "PUT"]
    assert len(puts) == 2 and json.loads(puts[1]["body"]) == first
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, "vm", token)) is True
