"""Long-running operations: the three shapes ARM answers, through ``ComputeClient``.

``begin_*`` sends the first request only and returns the continuation token
(None when Azure finished at once); ``poll`` asks once. Neither waits, even
where Azure's answers carry a ``Retry-After``.
"""

import json
import time

from test_arm import _in_thread

from odoo.addons.oec_cloud_accounts.services.compute import ComputeClient

SUB = "00000000-0000-0000-0000-000000000001"
# every answer here asks for 10 s or more between polls: a call that honoured it would take longer
NO_WAIT = 5

VM_SPEC = {
    "location": "westus",
    "size": "Standard_D2s_v3",
    "image": "ubuntu2404",
    "admin_username": "odoo",
    "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAb odoo",
    "os_disk_gb": 30,
    "nic_id": "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic" % SUB,
    "computer_name": "vm",
    "custom_data": "",
}


def _quick(call):
    started = time.monotonic()
    outcome = _in_thread(call, NO_WAIT)
    assert time.monotonic() - started < NO_WAIT
    assert "error" not in outcome, outcome.get("error")
    return outcome["value"]


def _asked(replay):
    return [(r["method"], r["path"].rsplit("/", 2)[-2:]) for r in replay.requests]


def test_201_with_azure_async_operation_is_polled_once_per_call(replay, arm):
    replay.serve("compute/vm_create_async")
    client = ComputeClient(**arm)
    token = _quick(lambda: client.begin_create_vm(SUB, "rg", "vm", VM_SPEC, {}))
    assert token
    assert _asked(replay) == [("PUT", ["virtualMachines", "vm"])]
    # a later pass (another process) resumes from the token: InProgress, one GET, no sleep
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, "vm", token)) is False
    assert _asked(replay)[1:] == [("GET", ["operations", "5b4b0e9c-6d2f-4d2b-9d2c-1f1c1c0e0a01"])]
    # Succeeded: azure-core reads the VM once more, and the operation is over
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, "vm", token)) is True
    assert _asked(replay)[2:] == [
        ("GET", ["operations", "5b4b0e9c-6d2f-4d2b-9d2c-1f1c1c0e0a01"]),
        ("GET", ["virtualMachines", "vm"]),
    ]


def test_network_201_with_azure_async_operation(replay, arm):
    replay.serve("network/nsg_create_async")
    token = _quick(lambda: ComputeClient(**arm).begin_create_nsg(SUB, "rg", "westus", ["203.0.113.0/24"], {}))
    assert token
    (put,) = replay.requests
    assert put["method"] == "PUT" and put["path"].endswith("/networkSecurityGroups/nsg")
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, "nsg", token)) is False
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, "nsg", token)) is True
    assert _asked(replay)[-1] == ("GET", ["networkSecurityGroups", "nsg"])


def test_200_with_the_resource_is_finished_at_once(replay, arm):
    replay.serve("network/nsg_create_done")
    assert _quick(lambda: ComputeClient(**arm).begin_create_nsg(SUB, "rg", "westus", [], {})) is None
    assert len(replay.requests) == 1


def test_202_with_location_then_200(replay, arm):
    replay.serve("compute/vm_deallocate_location")
    client = ComputeClient(**arm)
    token = _quick(lambda: client.begin_vm_action(SUB, "rg", "vm", "stop"))
    assert token
    assert _asked(replay) == [("POST", ["vm", "deallocate"])]
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, "stop", token)) is False
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, "stop", token)) is True
    assert [r["query"].get("monitor") for r in replay.requests[1:]] == ["true", "true"]


def test_202_with_location_then_204(replay, arm):
    replay.serve("arm/resource_group_delete_location")
    token = _quick(lambda: ComputeClient(**arm).begin_delete_resource_group(SUB, "rg"))
    assert token
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, "resource_group_delete", token)) is False
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, "resource_group_delete", token)) is True
    assert [r["method"] for r in replay.requests] == ["DELETE", "GET", "GET"]


def test_vm_created_with_its_nic_and_public_ip_in_one_request(replay, arm):
    """The VM PUT carries the NIC (with the NSG) and the public IP to create
    (``networkInterfaceConfigurations``, ``networkApiVersion``): one operation instead of
    three one after the other. Azure's Retry-After is kept for the caller to schedule its
    next look, never slept."""
    replay.serve("compute/vm_create_inline_network")
    spec = dict(VM_SPEC, nic_id=None)
    group = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network" % SUB
    spec.update(
        subnet_id=group + "/virtualNetworks/vnet/subnets/default", nsg_id=group + "/networkSecurityGroups/nsg"
    )
    client = ComputeClient(**arm)
    token = _quick(lambda: client.begin_create_vm(SUB, "rg", "vm", spec, {"created-by": "odoo"}))
    assert token and client.retry_after == 10
    (put,) = replay.requests
    network = json.loads(put["body"])["properties"]["networkProfile"]
    assert network["networkApiVersion"] == "2024-05-01"
    assert "networkInterfaces" not in network
    (nic,) = network["networkInterfaceConfigurations"]
    assert nic["properties"]["networkSecurityGroup"] == {"id": spec["nsg_id"]}
    assert nic["properties"]["deleteOption"] == "Delete"
    (ip_config,) = nic["properties"]["ipConfigurations"]
    assert ip_config["properties"]["subnet"] == {"id": spec["subnet_id"]}
    public_ip = ip_config["properties"]["publicIPAddressConfiguration"]
    assert public_ip["sku"]["name"] == "Standard"
    assert public_ip["properties"]["publicIPAllocationMethod"] == "Static"
    assert public_ip["properties"]["deleteOption"] == "Delete"
    poller = ComputeClient(**arm)
    assert _quick(lambda: poller.poll(SUB, "vm", token)) is False
    assert poller.retry_after == 10
