"""A VM's instance view (provisioning and power state) and its other actions (restart, power off)."""

import pytest
from test_lro import _asked, _quick

from odoo.addons.oec_cloud_accounts.services.compute import ComputeClient

SUB = "00000000-0000-0000-0000-000000000001"


def test_instance_view_gives_the_vm_own_states(replay, arm):
    replay.serve("compute/vm_instance_view")
    client = ComputeClient(**arm)
    running = client.get_vm_state(SUB, "rg", "vm")
    assert running == {"provisioning_state": "succeeded", "power_state": "running"}
    assert client.get_vm_state(SUB, "rg", "stopped") == {
        "provisioning_state": "succeeded",
        "power_state": "deallocated",
    }
    # a VM that is gone is no failure: None
    assert client.get_vm_state(SUB, "rg", "gone") is None
    assert {r["query"]["api-version"] for r in replay.requests} == {"2024-07-01"}


@pytest.mark.parametrize("action, verb", [("restart", "restart"), ("power_off", "powerOff")])
def test_restart_and_power_off_are_202_with_location(replay, arm, action, verb):
    replay.serve("compute/vm_restart_power_off")
    token = _quick(lambda: ComputeClient(**arm).begin_vm_action(SUB, "rg", "vm", action))
    assert token
    assert _asked(replay) == [("POST", ["vm", verb])]
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, action, token)) is False
    assert _quick(lambda: ComputeClient(**arm).poll(SUB, action, token)) is True
