"""tools/azure_record.py, recording from the emulator (a real subscription is never used in CI):
the fixtures it writes hold no identifier of the subscription and replay to the same answers."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import azure_record
from azure_emulator import defaults
from azure_emulator.testing import shared_emulator

from odoo.addons.oec_cloud_accounts.services.api_versions import API_VERSIONS, operation_of
from odoo.addons.oec_cloud_accounts.services.compute import ComputeClient


@pytest.fixture(scope="module")
def emu():
    handle = shared_emulator()
    handle.control.reset()
    return handle


def test_recorded_fixtures_are_sanitized_and_replay(emu, replay, tmp_path):
    minted = emu.control.issue_token(user=defaults.USER_EMAIL, scope=defaults.ARM_SCOPE)
    written = azure_record.record(
        minted["access_token"],
        defaults.SUBSCRIPTION_ID,
        "westeurope",
        tmp_path,
        arm=emu.endpoints["arm"],
        create_group=True,
        ca=emu.ca_path,
    )
    names = sorted(p.stem for p in written)
    assert names == [
        "dns_zones",
        "locations",
        "providers",
        "resource_group_lifecycle",
        "skus_region",
        "storage_accounts",
        "subscriptions",
        "usages",
    ]
    for path in written:
        text = path.read_text()
        for secret in (
            defaults.SUBSCRIPTION_ID,
            defaults.TENANT_ID,
            defaults.USER_EMAIL,
            minted["access_token"],
        ):
            assert secret.lower() not in text.lower(), (path.name, secret)
        assert emu.endpoints["arm"] not in text
        fixture = json.loads(text)
        assert fixture["source"].startswith("recorded from a real subscription by tools/azure_record.py")
        assert fixture["exchanges"], path.name
        assert all(e["status"] < 400 for e in fixture["exchanges"]), path.name
        # recorded at the product's API versions, as the suite's fixtures are
        for exchange in fixture["exchanges"]:
            operation = operation_of(exchange["path"])
            if operation:
                assert exchange["api_version"] == API_VERSIONS[operation], (path.name, exchange["path"])
    lifecycle = json.loads((tmp_path / "resource_group_lifecycle.json").read_text())
    assert [e["method"] for e in lifecycle["exchanges"]][:3] == ["PUT", "GET", "DELETE"]

    # the recorded sizes replay to what the emulator answered directly
    arm = {
        "scope": defaults.ARM_SCOPE,
        "access_token": minted["access_token"],
        "expires_on": minted["expires_on"],
    }
    direct = ComputeClient(emu.endpoints["arm"], ca_bundle=emu.ca_path, **arm).list_vm_sizes(
        defaults.SUBSCRIPTION_ID, "westeurope"
    )
    replay.serve(json.loads((tmp_path / "skus_region.json").read_text()))
    replayed = ComputeClient(replay.base, ca_bundle=replay.ca_path, **arm).list_vm_sizes(
        "00000000-0000-0000-0000-000000000001", "westeurope"
    )
    assert direct and replayed == direct
