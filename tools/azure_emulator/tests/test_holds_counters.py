"""Hold faults (a request kept waiting until the test releases it) and the counters
(refresh-token redemptions, ARM operations) that the resilience suites read."""

import threading

from azure.mgmt.resource.resources import ResourceManagementClient
from azure_emulator import defaults as d
from conftest import make_msal_app, version


def test_minted_refresh_token_is_counted_with_its_parent(emu, http):
    token = emu.control.mint_refresh_token()["refresh_token"]
    result = make_msal_app(emu, http).acquire_token_by_refresh_token(token, [d.ARM_USER_IMPERSONATION])
    assert "access_token" in result, result
    counters = emu.control.counters()["refresh_tokens"]
    assert counters[token]["redeemed"] == 1
    assert counters[result["refresh_token"]] == dict(
        counters[result["refresh_token"]], redeemed=0, parent=token
    )


def test_hold_after_serves_and_keeps_the_answer(emu, credential):
    client = ResourceManagementClient(
        credential,
        d.SUBSCRIPTION_ID,
        base_url=emu.endpoints["arm"],
        connection_verify=emu.ca_path,
        credential_scopes=[emu.endpoints["arm_scope"]],
        api_version=version("resources.resource_groups"),
    )
    fault = emu.control.inject_fault(path="/resourcegroups/held-rg", method="PUT", hold="after")
    done = threading.Event()
    worker = threading.Thread(
        target=lambda: (
            client.resource_groups.create_or_update("held-rg", {"location": "westeurope"}),
            done.set(),
        )
    )
    worker.start()
    try:
        for _ in range(100):
            if emu.control.holds()[0]["arrived"]:
                break
            done.wait(0.05)
        (hold,) = emu.control.holds()
        assert hold["arrived"][0]["method"] == "PUT" and not hold["released"]
        # served already: the resource group exists while the client still waits
        assert any(r.endswith("/resourcegroups/held-rg") for r in emu.control.state()["resources"])
        assert not done.is_set()
        emu.control.release(fault["id"])
        worker.join(10)
        assert done.is_set()
    finally:
        emu.control.clear_faults()
        worker.join(10)
    operations = emu.control.counters()["operations"]
    key = "PUT /subscriptions/%s/resourcegroups/held-rg" % d.SUBSCRIPTION_ID
    assert operations[key] == 1


def test_hold_before_serves_nothing_until_released(emu, credential):
    client = ResourceManagementClient(
        credential,
        d.SUBSCRIPTION_ID,
        base_url=emu.endpoints["arm"],
        connection_verify=emu.ca_path,
        credential_scopes=[emu.endpoints["arm_scope"]],
        api_version=version("resources.resource_groups"),
    )
    fault = emu.control.inject_fault(path="/resourcegroups/later-rg", method="PUT", hold="before")
    worker = threading.Thread(
        target=lambda: client.resource_groups.create_or_update("later-rg", {"location": "westeurope"})
    )
    worker.start()
    try:
        for _ in range(100):
            if emu.control.holds()[0]["arrived"]:
                break
            worker.join(0.05)
        assert emu.control.holds()[0]["arrived"]
        assert not any(r.endswith("/resourcegroups/later-rg") for r in emu.control.state()["resources"])
        emu.control.release(fault["id"])
        worker.join(10)
        assert any(r.endswith("/resourcegroups/later-rg") for r in emu.control.state()["resources"])
    finally:
        emu.control.clear_faults()
        worker.join(10)
