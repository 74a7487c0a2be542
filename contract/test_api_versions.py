"""API versions: every request asks the version of services/api_versions.py, the fixtures are
answers of exactly those versions, and a cloud that does not offer one says so in a way the
product turns into what to do (the cloud's API version overrides)."""

import json

import pytest
from replay import FIXTURES, load

from odoo.addons.oec_cloud_accounts.services.api_versions import API_VERSIONS, operation_of
from odoo.addons.oec_cloud_accounts.services.arm import ArmClient
from odoo.addons.oec_cloud_accounts.services.authorization import AuthorizationClient
from odoo.addons.oec_cloud_accounts.services.compute import ComputeClient
from odoo.addons.oec_cloud_accounts.services.dns import DnsClient
from odoo.addons.oec_cloud_accounts.services.errors import KIND_REQUEST, AzureError
from odoo.addons.oec_cloud_accounts.services.storage import StorageClient

SUB = "00000000-0000-0000-0000-000000000001"
TENANT = "83abe5cd-bcc3-441a-bd86-e6a75360cecc"
ARM_AREAS = ("arm", "compute", "network", "storage", "dns")


def _arm_fixtures():
    return sorted(p for area in ARM_AREAS for p in (FIXTURES / area).glob("*.json"))


def test_every_arm_fixture_is_an_answer_of_the_products_version():
    checked = set()
    for path in _arm_fixtures():
        fixture = json.loads(path.read_text())
        for exchange in fixture["exchanges"]:
            operation = operation_of(exchange["path"])
            where = "%s/%s %s %s" % (path.parent.name, path.stem, exchange["method"], exchange["path"])
            if operation is None:
                # an operation's status or result: a URL Azure gave, with Azure's api-version
                assert "api_version" not in exchange, where
                continue
            if fixture.get("api_version_override"):
                # the answer of a cloud's override: another version than the table's, said so
                assert exchange["api_version"] != API_VERSIONS[operation], where
                continue
            assert exchange.get("api_version") == API_VERSIONS[operation], where
            checked.add(operation)
    assert checked, "no ARM fixture checked"


def _calls():
    """One call of every remote method of the ARM clients, by the operation it asks."""
    vm = {
        "location": "westus",
        "size": "Standard_D2s_v3",
        "image": "ubuntu2404",
        "admin_username": "odoo",
        "ssh_public_key": "ssh-ed25519 AAAA odoo",
        "os_disk_gb": 30,
        "nic_id": "/nic",
        "computer_name": "vm",
        "custom_data": "",
    }
    return [
        (ArmClient, lambda c: c.list_subscriptions()),
        (ArmClient, lambda c: c.tenant_names()),
        (ArmClient, lambda c: c.get_providers(SUB, ["Microsoft.Compute"])),
        (ArmClient, lambda c: c.register_provider(SUB, "Microsoft.Compute")),
        (ComputeClient, lambda c: c.list_locations(SUB)),
        (ComputeClient, lambda c: c.list_vm_sizes(SUB, "westus")),
        (ComputeClient, lambda c: c.get_usages(SUB, "westus")),
        (ComputeClient, lambda c: c.create_resource_group(SUB, "rg", "westus", {})),
        (ComputeClient, lambda c: c.get_resource_group(SUB, "rg")),
        (ComputeClient, lambda c: c.begin_delete_resource_group(SUB, "rg")),
        (ComputeClient, lambda c: c.begin_create_nsg(SUB, "rg", "westus", [], {})),
        (ComputeClient, lambda c: c.begin_create_vnet(SUB, "rg", "westus", "/nsg", {})),
        (ComputeClient, lambda c: c.begin_create_public_ip(SUB, "rg", "westus", {})),
        (ComputeClient, lambda c: c.begin_create_nic(SUB, "rg", "westus", "/subnet", "/ip", {})),
        (ComputeClient, lambda c: c.begin_create_vm(SUB, "rg", "vm", vm, {})),
        (ComputeClient, lambda c: c.begin_vm_action(SUB, "rg", "vm", "start")),
        (ComputeClient, lambda c: c.begin_vm_action(SUB, "rg", "vm", "stop")),
        (ComputeClient, lambda c: c.get_vm_state(SUB, "rg", "vm")),
        (ComputeClient, lambda c: c.get_public_ip(SUB, "rg")),
        (StorageClient, lambda c: c.account_key(SUB, "rg", "sto1")),
        (StorageClient, lambda c: c.list_accounts(SUB)),
        (StorageClient, lambda c: c.get_account(SUB, "rg", "sto1")),
        (StorageClient, lambda c: c.check_name_availability(SUB, "sto1")),
        (StorageClient, lambda c: c.begin_create_account(SUB, "rg", "sto1", "westus", {})),
        (StorageClient, lambda c: c.list_resource_groups(SUB)),
        (StorageClient, lambda c: c.create_resource_group(SUB, "rg", "westus", {})),
        (StorageClient, lambda c: c.list_containers(SUB, "rg", "sto1")),
        (StorageClient, lambda c: c.create_container(SUB, "rg", "sto1", "backups")),
        (StorageClient, lambda c: c.get_lifecycle_rules(SUB, "rg", "sto1")),
        (StorageClient, lambda c: c.set_soft_delete(SUB, "rg", "sto1")),
        (AuthorizationClient, lambda c: c.role_assignments(SUB, "/subscriptions/%s" % SUB, "oid")),
        (AuthorizationClient, lambda c: c.assign_role(SUB, "/subscriptions/%s" % SUB, "role", "oid")),
        (DnsClient, lambda c: c.list_zones(SUB)),
        (DnsClient, lambda c: c.get_zone(SUB, "rg", "example.com")),
        (DnsClient, lambda c: c.list_record_sets(SUB, "rg", "example.com")),
        (DnsClient, lambda c: c.get_record_set(SUB, "rg", "example.com", "www", "A")),
        (DnsClient, lambda c: c.create_a_record(SUB, "rg", "example.com", "www", ["192.0.2.1"], 300)),
        (DnsClient, lambda c: c.update_a_record(SUB, "rg", "example.com", "www", ["192.0.2.1"], 300, "e")),
        (DnsClient, lambda c: c.delete_record_set(SUB, "rg", "example.com", "www", "A", "e")),
    ]


def _sweep(replay, arm, versions=None):
    """Every call against a replay with no recorded answer (each request answered 599 and
    recorded): {operation: {api-versions asked}}."""
    for client_class, call in _calls():
        with pytest.raises(AzureError):
            call(client_class(**arm, api_versions=versions))
    asked = {}
    for request in replay.requests:
        operation = operation_of(request["path"])
        assert operation, request["path"]
        asked.setdefault(operation, set()).add(request["query"].get("api-version"))
    return asked


def test_every_call_asks_the_version_of_its_operation(replay, arm):
    """The SDKs send the table's version, never their own default (compute 39: 2026-04-01,
    storage 25.3: 2026-09-01...), whichever way each takes it (per call or per client)."""
    asked = _sweep(replay, arm)
    assert asked == {operation: {version} for operation, version in API_VERSIONS.items()}


def test_a_clouds_overrides_reach_every_call(replay, arm):
    overrides = {operation: "2020-06-01" for operation in API_VERSIONS}
    asked = _sweep(replay, arm, overrides)
    assert asked == {operation: {"2020-06-01"} for operation in API_VERSIONS}


def test_subscriptions_name_their_tenant(replay, arm):
    """2022-12-01: tenantId on subscriptions (None with azure-mgmt-subscription's 2016-06-01), the
    tenant's name and domain."""
    replay.serve("arm/subscriptions")
    client = ArmClient(**arm)
    assert client.list_subscriptions() == [
        {"id": SUB, "name": "Pay-As-You-Go", "state": "Enabled", "tenant_id": TENANT}
    ]
    assert client.tenant_names() == {TENANT: "Contoso Corp. (auxteststagemanual.ccsctp.net)"}
    assert {r["query"]["api-version"] for r in replay.requests} == {"2022-12-01"}


def test_a_cloud_on_2016_06_01_lists_subscriptions_without_tenant(replay, arm):
    """A cloud whose override asks 2016-06-01: the same calls work, with what that version has."""
    replay.serve("arm/subscriptions_2016_06_01")
    old = {"subscriptions.subscriptions": "2016-06-01", "subscriptions.tenants": "2016-06-01"}
    client = ArmClient(**arm, api_versions=old)
    assert client.list_subscriptions() == [
        {"id": SUB, "name": "Pay-As-You-Go", "state": "Enabled", "tenant_id": None}
    ]
    assert client.tenant_names() == {TENANT: TENANT}


@pytest.mark.parametrize(
    "fixture, call, status, code, operation, version",
    [
        (
            "arm/api_version_invalid",
            lambda arm: ArmClient(**arm).list_subscriptions(),
            400,
            "InvalidApiVersionParameter",
            "subscriptions.subscriptions",
            "2022-12-01",
        ),
        (
            "compute/api_version_no_provider",
            lambda arm: ComputeClient(**arm).begin_create_vm(
                SUB,
                "rg",
                "vm",
                {
                    "location": "chinanorth3",
                    "size": "Standard_B2s",
                    "image": "ubuntu2404",
                    "admin_username": "odoo",
                    "ssh_public_key": "ssh-ed25519 AAAA odoo",
                    "os_disk_gb": 30,
                    "nic_id": "/nic",
                    "computer_name": "vm",
                    "custom_data": "",
                },
                {},
            ),
            400,
            "NoRegisteredProviderFound",
            "compute.virtual_machines",
            "2024-07-01",
        ),
        (
            # a 404 that is no missing VM: get_vm_state does not answer None
            "compute/api_version_invalid_resource_type",
            lambda arm: ComputeClient(**arm).get_vm_state(SUB, "rg", "vm"),
            404,
            "InvalidResourceType",
            "compute.virtual_machines",
            "2024-07-01",
        ),
    ],
)
def test_a_version_the_cloud_lacks_names_the_operation_and_version(
    replay, arm, fixture, call, status, code, operation, version
):
    replay.serve(fixture)
    with pytest.raises(AzureError) as caught:
        call(arm)
    error = caught.value
    assert (error.key, error.kind, error.status, error.code) == (
        "arm.api_version",
        KIND_REQUEST,
        status,
        code,
    )
    assert (error.params["operation"], error.params["api_version"]) == (operation, version)
    # Azure's own words, with the versions the cloud has: what the override may name
    assert error.params["detail"] == load(fixture)["exchanges"][0]["body"]["error"]["message"]
    assert len(replay.requests) == 1
