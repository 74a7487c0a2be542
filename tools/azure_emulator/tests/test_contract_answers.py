"""The emulator answers as the contract suite's recorded answers (contract/fixtures) say Azure does:
regions, blob containers, the lifecycle policy, DNS record sets, a VM's NIC made with it."""

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns.models import ARecord, RecordSet, Zone
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage.models import Sku, StorageAccountCreateParameters
from azure_emulator import defaults as d
from conftest import contract_fixture, version

RG = "rg"
LOC = "westeurope"


@pytest.fixture
def group(credential, mgmt_kwargs):
    ResourceManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("resources.resource_groups"), **mgmt_kwargs
    ).resource_groups.create_or_update(RG, {"location": LOC})
    return RG


def _statuses(fixture, method):
    return [e["status"] for e in contract_fixture(fixture)["exchanges"] if e["method"] == method]


def test_regions_physical_and_logical(credential, mgmt_kwargs, group):
    recorded = contract_fixture("arm/locations")["exchanges"][0]["body"]["value"]
    client = SubscriptionClient(credential, api_version=version("subscriptions.subscriptions"), **mgmt_kwargs)
    kinds = {loc.metadata.region_type for loc in client.subscriptions.list_locations(d.SUBSCRIPTION_ID)}
    assert kinds == {loc["metadata"]["regionType"] for loc in recorded} == {"Physical", "Logical"}


def test_container_put_twice_and_lifecycle_policy_absent(credential, mgmt_kwargs, group):
    storage = StorageManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("storage.storage_accounts"), **mgmt_kwargs
    )
    storage.storage_accounts.begin_create(
        RG,
        "sto1",
        StorageAccountCreateParameters(sku=Sku(name="Standard_LRS"), kind="StorageV2", location=LOC),
    ).result()
    statuses = []

    def hook(response):
        statuses.append(response.http_response.status_code)

    for _index in range(2):
        storage.blob_containers.create(RG, "sto1", "backups", {}, raw_response_hook=hook)
    assert statuses == _statuses("storage/containers", "PUT") == [201, 200]
    (missing,) = contract_fixture("storage/management_policy_none")["exchanges"][:1]
    with pytest.raises(ResourceNotFoundError) as raised:
        storage.management_policies.get(RG, "sto1", "default")
    assert raised.value.error.code == missing["body"]["error"]["code"]


def test_record_set_created_201_updated_200_with_a_new_etag(credential, mgmt_kwargs, group):
    dns = DnsManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("dns.record_sets"), **mgmt_kwargs
    )
    dns.zones.create_or_update(RG, "zone1", Zone(location="global"))
    statuses = []

    def hook(response):
        statuses.append(response.http_response.status_code)

    params = RecordSet(ttl=3600, a_records=[ARecord(ipv4_address="127.0.0.1")])
    created = dns.record_sets.create_or_update(
        RG, "zone1", "record1", "A", params, if_none_match="*", raw_response_hook=hook
    )
    updated = dns.record_sets.create_or_update(
        RG, "zone1", "record1", "A", params, if_match=created.etag, raw_response_hook=hook
    )
    assert statuses == _statuses("dns/record_sets", "PUT") == [201, 200]
    assert updated.etag and updated.etag != created.etag
