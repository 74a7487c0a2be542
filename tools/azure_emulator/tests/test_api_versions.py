"""The emulator answers the API versions of the contract's fixtures (Azure's answers for the
product's versions), refuses any other as Azure does, and shapes subscriptions by the version."""

import re

from azure_emulator import arm_authorization, arm_compute, arm_core, arm_dns, arm_network, arm_storage
from azure_emulator import defaults as d
from azure_emulator.arm_versions import IMPLEMENTED
from azure_emulator.http import Router
from conftest import CONTRACT_FIXTURES, contract_fixture

ARM_AREAS = ("arm", "compute", "network", "storage", "dns", "authorization")
# operations the product never calls (no fixture can hold them)
EMULATOR_ONLY = {"compute.disks"}


def _router():
    router = Router()
    for module in (arm_core, arm_compute, arm_network, arm_storage, arm_dns, arm_authorization):
        module.register(router)
    return router


def _fixture_versions():
    """{emulator operation: {api-versions of the fixtures' requests}}, every ARM exchange that
    names an api-version (an operation's status URL, Azure's own, names none)."""
    router = _router()
    found = {}
    for path in sorted(p for area in ARM_AREAS for p in (CONTRACT_FIXTURES / area).glob("*.json")):
        for exchange in contract_fixture("%s/%s" % (path.parent.name, path.stem))["exchanges"]:
            if "api_version" not in exchange:
                continue
            concrete = re.sub(r"\{[^}/]+\}", "x1", exchange["path"])
            handler, _groups, api = router.lookup(exchange["method"], concrete)
            assert handler is not None and api, (path.name, exchange["path"])
            found.setdefault(api, set()).add(exchange["api_version"])
    return found


def test_the_emulator_answers_exactly_the_fixtures_versions():
    found = _fixture_versions()
    for operation, versions in found.items():
        assert set(IMPLEMENTED[operation]) == versions, operation
    # each route names an operation of the table, every operation has its version(s)
    routed = {route[3] for route in _router().routes}
    assert routed - {None} == set(IMPLEMENTED)
    # operations no fixture holds yet still answer one version, the product's (services/api_versions.py)
    for operation in set(IMPLEMENTED) - set(found) - EMULATOR_ONLY:
        assert len(IMPLEMENTED[operation]) == 1, operation


def _pattern(message):
    """A regex of Azure's recorded message, its quoted values (versions, locations) left free."""
    return "^" + re.sub(r"'[^']*'", "'[^']*'", re.escape(message).replace("\\'", "'")) + "$"


def test_another_version_is_refused_as_azure_refuses_it(emu, http, credential):
    headers = {"Authorization": "Bearer " + credential.get_token().token}
    base = emu.endpoints["arm"]
    vm = "%s/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm" % (
        base,
        d.SUBSCRIPTION_ID,
    )
    http.put(
        "%s/subscriptions/%s/resourcegroups/rg" % (base, d.SUBSCRIPTION_ID),
        params={"api-version": IMPLEMENTED["resources.resource_groups"][0]},
        json={"location": "westeurope"},
        headers=headers,
        timeout=5,
    ).raise_for_status()
    for fixture, method, url, body, operation in (
        ("arm/api_version_invalid", "GET", base + "/subscriptions", None, "subscriptions.subscriptions"),
        (
            "compute/api_version_no_provider",
            "PUT",
            vm,
            {"location": "westeurope", "properties": {}},
            "compute.virtual_machines",
        ),
        (
            "compute/api_version_invalid_resource_type",
            "GET",
            vm + "/instanceView",
            None,
            "compute.virtual_machines",
        ),
    ):
        (recorded,) = contract_fixture(fixture)["exchanges"]
        answer = http.request(
            method, url, params={"api-version": "2099-01-01"}, json=body, headers=headers, timeout=5
        )
        error = answer.json()["error"]
        assert (answer.status_code, error["code"]) == (recorded["status"], recorded["body"]["error"]["code"])
        assert re.match(_pattern(recorded["body"]["error"]["message"]), error["message"]), error["message"]
        assert "'2099-01-01'" in error["message"]
        # the versions it has, for the cloud's override to name
        assert IMPLEMENTED[operation][0] in error["message"]
    missing = http.get(base + "/subscriptions", headers=headers, timeout=5)
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "MissingApiVersionParameter")


def test_subscriptions_and_tenants_follow_the_version_asked(http, credential, emu):
    headers = {"Authorization": "Bearer " + credential.get_token().token}
    base = emu.endpoints["arm"]
    for fixture, version in (
        ("arm/subscriptions", "2022-12-01"),
        ("arm/subscriptions_2016_06_01", "2016-06-01"),
    ):
        recorded_subs, recorded_tenants = (
            e["body"]["value"][0] for e in contract_fixture(fixture)["exchanges"]
        )
        subs = http.get(base + "/subscriptions", params={"api-version": version}, headers=headers, timeout=5)
        sub = next(s for s in subs.json()["value"] if s["subscriptionId"] == d.SUBSCRIPTION_ID)
        assert set(sub) - {"tags"} == set(recorded_subs) - {"tags"}, version
        tenants = http.get(base + "/tenants", params={"api-version": version}, headers=headers, timeout=5)
        (tenant,) = tenants.json()["value"]
        assert set(tenant) == set(recorded_tenants) - {"tenantBrandingLogoUrl"}, version
    assert "tenantId" not in sub and "displayName" not in tenant  # 2016-06-01, the last one read
