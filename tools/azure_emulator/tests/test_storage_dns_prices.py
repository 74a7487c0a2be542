"""Storage (ARM + Azurite data plane), DNS record sets and retail prices."""

import json
import threading
import time

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns.models import ARecord, RecordSet, Zone
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage.models import (
    BlobContainer,
    Sku,
    StorageAccountCheckNameAvailabilityParameters,
    StorageAccountCreateParameters,
)
from azure.storage.blob import BlobServiceClient
from azure_emulator import defaults as d
from conftest import contract_fixture, version

RG = "oec-data"
LOC = "westeurope"


@pytest.fixture
def resources(credential, mgmt_kwargs):
    client = ResourceManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("resources.resource_groups"), **mgmt_kwargs
    )
    client.resource_groups.create_or_update(RG, {"location": LOC})
    return client


def _account(storage, name="oecbackups1"):
    check = storage.storage_accounts.check_name_availability(
        StorageAccountCheckNameAvailabilityParameters(name=name)
    )
    assert check.name_available
    account = storage.storage_accounts.begin_create(
        RG, name, StorageAccountCreateParameters(sku=Sku(name="Standard_LRS"), kind="StorageV2", location=LOC)
    ).result()
    assert account.provisioning_state == "Succeeded"
    key = storage.storage_accounts.list_keys(RG, name)["keys"][0]["value"]
    return account, key


def test_storage_account_and_blobs(emu, resources, credential, mgmt_kwargs):
    storage = StorageManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("storage.storage_accounts"), **mgmt_kwargs
    )
    account, key = _account(storage)
    assert account.primary_endpoints.blob.startswith(emu.endpoints["blob"])
    taken = storage.storage_accounts.check_name_availability(
        StorageAccountCheckNameAvailabilityParameters(name="oecbackups1")
    )
    assert not taken.name_available and taken.reason == "AlreadyExists"
    storage.blob_containers.create(RG, "oecbackups1", "backups", BlobContainer())
    storage.management_policies.create_or_update(
        RG,
        "oecbackups1",
        "default",
        {
            "properties": {
                "policy": {
                    "rules": [
                        {
                            "name": "expire",
                            "enabled": True,
                            "type": "Lifecycle",
                            "definition": {
                                "filters": {"blobTypes": ["blockBlob"], "prefixMatch": ["backups/"]},
                                "actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 30}}},
                            },
                        }
                    ]
                }
            }
        },
    )
    assert storage.management_policies.get(RG, "oecbackups1", "default").policy.rules[0].name == "expire"

    blobs = BlobServiceClient(account.primary_endpoints.blob, credential=key, connection_verify=emu.ca_path)
    blob = blobs.get_blob_client("backups", "db/2024-01-01.zip")
    # metadata names may hold "_": the proxy forwards headers as sent (the key signs them)
    blob.upload_blob(b"x" * 70000, overwrite=True, metadata={"oec_sha256": "abc"})
    assert blob.download_blob().readall() == b"x" * 70000
    assert blob.get_blob_properties().size == 70000
    assert blob.get_blob_properties().metadata == {"oec_sha256": "abc"}
    assert [b.name for b in blobs.get_container_client("backups").list_blobs()] == ["db/2024-01-01.zip"]
    assert [c.name for c in storage.blob_containers.list(RG, "oecbackups1")] == ["backups"]

    wrong = BlobServiceClient(
        account.primary_endpoints.blob, credential=key[:-8] + "AAAAAAA=", connection_verify=emu.ca_path
    )
    with pytest.raises(HttpResponseError) as exc:
        wrong.get_blob_client("backups", "db/2024-01-01.zip").download_blob()
    assert exc.value.error_code == "AuthorizationFailure"

    emu.control.inject_fault(
        service="blob",
        path="/backups/",
        status=403,
        code="AuthorizationFailure",
        message="This request is not authorized to perform this operation.",
    )
    with pytest.raises(HttpResponseError) as exc:
        blob.download_blob()
    assert exc.value.error_code == "AuthorizationFailure"

    storage.storage_accounts.update(RG, "oecbackups1", {"properties": {"allowSharedKeyAccess": False}})
    with pytest.raises(HttpResponseError) as exc:
        blob.download_blob()
    assert exc.value.error_code == "KeyBasedAuthenticationNotPermitted"

    new_key = storage.storage_accounts.regenerate_key(RG, "oecbackups1", {"keyName": "key1"})["keys"][0][
        "value"
    ]
    assert new_key != key


def test_storage_lro_failure_and_recreate(emu, resources, credential, mgmt_kwargs):
    storage = StorageManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("storage.storage_accounts"), **mgmt_kwargs
    )
    emu.control.lro_fail(path="storageAccounts/oecfails", code="StorageAccountOperationInProgress")
    with pytest.raises(HttpResponseError) as exc:
        storage.storage_accounts.begin_create(
            RG,
            "oecfails",
            StorageAccountCreateParameters(sku=Sku(name="Standard_LRS"), kind="StorageV2", location=LOC),
        ).result()
    assert exc.value.error.code == "StorageAccountOperationInProgress"
    account, key = _account(storage, "oecfails")
    blobs = BlobServiceClient(account.primary_endpoints.blob, credential=key, connection_verify=emu.ca_path)
    blobs.create_container("cont1")
    storage.storage_accounts.delete(RG, "oecfails")
    account, key = _account(storage, "oecfails")
    blobs = BlobServiceClient(account.primary_endpoints.blob, credential=key, connection_verify=emu.ca_path)
    assert list(blobs.list_containers()) == []


def test_dns_records_with_etags(emu, resources, credential, mgmt_kwargs):
    dns = DnsManagementClient(credential, d.SUBSCRIPTION_ID, api_version=version("dns.zones"), **mgmt_kwargs)
    zone = dns.zones.create_or_update(RG, "example.test", Zone(location="global"))
    assert zone.name_servers
    created = dns.record_sets.create_or_update(
        RG,
        "example.test",
        "odoo",
        "A",
        RecordSet(ttl=300, a_records=[ARecord(ipv4_address="20.1.2.3")]),
        if_none_match="*",
    )
    assert created.fqdn == "odoo.example.test." and created.etag
    with pytest.raises(HttpResponseError) as exc:
        dns.record_sets.create_or_update(
            RG,
            "example.test",
            "odoo",
            "A",
            RecordSet(ttl=300, a_records=[ARecord(ipv4_address="20.1.2.4")]),
            if_none_match="*",
        )
    assert exc.value.status_code == 412 and exc.value.error.code == "PreconditionFailed"
    updated = dns.record_sets.create_or_update(
        RG,
        "example.test",
        "odoo",
        "A",
        RecordSet(ttl=300, a_records=[ARecord(ipv4_address="20.1.2.4")]),
        if_match=created.etag,
    )
    assert updated.etag != created.etag
    with pytest.raises(HttpResponseError):
        dns.record_sets.delete(RG, "example.test", "odoo", "A", if_match=created.etag)
    got = dns.record_sets.get(RG, "example.test", "odoo", "A")
    assert got.a_records[0].ipv4_address == "20.1.2.4"
    names = sorted(r.name for r in dns.record_sets.list_by_dns_zone(RG, "example.test"))
    assert names == ["@", "@", "odoo"]
    dns.record_sets.delete(RG, "example.test", "odoo", "A", if_match=got.etag)
    assert [r.name for r in dns.record_sets.list_by_type(RG, "example.test", "A")] == []


def test_dns_not_found_answers_like_azure(emu, credential, mgmt_kwargs, http):
    """A missing record set is 404 NotFound not wrapped in "error", a missing zone ARM's wrapped
    ResourceNotFound, as the contract's recorded answers (same resource group, same names)."""
    recorded = contract_fixture("dns/record_not_found_unwrapped")
    record_answer, zone_answer = (exchange for exchange in recorded["exchanges"])
    recorded_sub = "00000000-0000-0000-0000-000000000001"
    ResourceManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("resources.resource_groups"), **mgmt_kwargs
    ).resource_groups.create_or_update("rg", {"location": LOC})
    dns = DnsManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("dns.record_sets"), **mgmt_kwargs
    )
    dns.zones.create_or_update("rg", "example.test", Zone(location="global"))
    headers = {"Authorization": "Bearer " + credential.get_token().token}
    base = "%s/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network/dnsZones" % (
        emu.endpoints["arm"],
        d.SUBSCRIPTION_ID,
    )
    for url, answer in (
        (base + "/example.test/A/missing", record_answer),
        (base + "/gone.example/A/odoo", zone_answer),
    ):
        raw = http.get(url, params={"api-version": "2018-05-01"}, headers=headers, timeout=5)
        assert raw.status_code == answer["status"] == 404
        expected = json.loads(json.dumps(answer["body"]).replace(recorded_sub, d.SUBSCRIPTION_ID))
        body = raw.json()
        assert set(body) == set(expected), "wrapped in 'error' or not, as Azure"
        error, want = body.get("error", body), expected.get("error", expected)
        assert (error["code"], error["message"]) == (want["code"], want["message"])
    # the SDK reads both shapes
    with pytest.raises(HttpResponseError) as exc:
        dns.record_sets.get("rg", "example.test", "missing", "A")
    assert (exc.value.status_code, exc.value.error.code) == (404, "NotFound")


def test_retail_prices(emu, http):
    emu.control.configure(prices_page_size=5)
    flt = (
        "serviceName eq 'Virtual Machines' and armRegionName eq 'westeurope' and priceType eq 'Consumption' "
        "and (armSkuName eq 'Standard_B2s' or armSkuName eq 'Standard_D2s_v5')"
    )
    url, items = emu.endpoints["prices"], []
    params = {"$filter": flt.replace("priceType", "type")}
    while url:
        page = http.get(url, params=params, timeout=5).json()
        items += page["Items"]
        url, params = page["NextPageLink"], None
    assert len(items) == 8 and {i["armSkuName"] for i in items} == {"Standard_B2s", "Standard_D2s_v5"}
    bad = http.get(emu.endpoints["prices"], params={"$filter": "serviceName eq"}, timeout=5)
    assert bad.status_code == 400


def test_retail_prices_pages_of_100_like_azure(emu, http):
    """Unconfigured, pages hold 100 items linked by NextPageLink ($skip=100), shaped like the
    contract's recorded page and item."""
    recorded = contract_fixture("prices/pages")
    url, params, pages = emu.endpoints["prices"], {"$filter": "serviceName eq 'Virtual Machines'"}, []
    while url:
        pages.append(http.get(url, params=params, timeout=5).json())
        url, params = pages[-1]["NextPageLink"], None
    assert len(pages) > 2
    assert [p["Count"] for p in pages[:-1]] == [100] * (len(pages) - 1)
    assert 0 < pages[-1]["Count"] <= 100 and pages[-1]["NextPageLink"] is None
    assert "$skip=100" in pages[0]["NextPageLink"].replace("%24", "$")
    assert set(pages[0]) == set(recorded["page"])
    assert set(pages[0]["Items"][0]) == set(recorded["item"])
    items = [i for p in pages for i in p["Items"]]
    assert len({i["meterId"] for i in items}) == len(items), "no item twice, none skipped"


def test_faults_throttle_delay_drop(emu, http, resources):
    headers = {"Authorization": "Bearer " + emu.control.issue_token()["access_token"]}
    url = "%s/subscriptions/%s/resourcegroups/%s?api-version=%s" % (
        emu.endpoints["arm"],
        d.SUBSCRIPTION_ID,
        RG,
        version("resources.resource_groups"),
    )
    emu.control.inject_fault(
        path="/resourcegroups/", status=429, code="TooManyRequests", headers={"Retry-After": "0"}, count=1
    )
    throttled = http.get(url, headers=headers, timeout=5)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "0"
    assert http.get(url, headers=headers, timeout=5).status_code == 200
    emu.control.inject_fault(path="/resourcegroups/", status=500, code="InternalServerError")
    assert http.get(url, headers=headers, timeout=5).json()["error"]["code"] == "InternalServerError"
    emu.control.inject_fault(path="/resourcegroups/", delay=0.3)
    assert http.get(url, headers=headers, timeout=5).elapsed.total_seconds() >= 0.3
    emu.control.inject_fault(path="/resourcegroups/", drop=True)
    import requests

    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(url, headers=headers, timeout=5)
    emu.control.inject_fault(
        service="entra", path="/oauth2/v2.0/token", status=503, code="temporarily_unavailable"
    )
    token = http.post(
        "%s/%s/oauth2/v2.0/token" % (emu.endpoints["authority_host"], d.TENANT_ID),
        data={"grant_type": "refresh_token"},
        timeout=5,
    )
    assert token.status_code == 503 and token.json()["error"] == "temporarily_unavailable"


def test_fault_with_a_raw_page(emu, http):
    """A proxy's error page instead of the service's answer: raw body, HTML by default."""
    page = "<html><body>Proxy error: upstream unreachable</body></html>"
    emu.control.inject_fault(service="entra", path="/oauth2/v2.0/token", status=200, body=page)
    answer = http.post("%s/%s/oauth2/v2.0/token" % (emu.url, d.TENANT_ID), data={}, timeout=5)
    assert (answer.status_code, answer.text) == (200, page)
    assert answer.headers["Content-Type"].startswith("text/html")
    # single use, as every fault: the next call reaches the real endpoint
    again = http.post("%s/%s/oauth2/v2.0/token" % (emu.url, d.TENANT_ID), data={}, timeout=5)
    assert again.headers["Content-Type"].startswith("application/json")


def test_prices_of_a_server_region(emu):
    """priceType filters the items' type; disks and public IPs are priced too."""
    session = requests.Session()
    session.trust_env = False
    flt = (
        "armRegionName eq 'southeastasia' and priceType eq 'Consumption' and "
        "(serviceName eq 'Virtual Machines' or productName eq 'Standard SSD Managed Disks' "
        "or productName eq 'IP Addresses')"
    )
    answer = session.get(emu.endpoints["prices"], params={"$filter": flt}, verify=emu.ca_path, timeout=10)
    items = answer.json()["Items"]
    products = {item["productName"] for item in items}
    assert {"Standard SSD Managed Disks", "IP Addresses"} <= products
    assert all(item["type"] == "Consumption" for item in items)
    assert not [i for i in items if i["armRegionName"] != "southeastasia"]


def test_dns_record_names_and_conditions_logged(emu, resources, credential, mgmt_kwargs):
    dns = DnsManagementClient(credential, d.SUBSCRIPTION_ID, api_version=version("dns.zones"), **mgmt_kwargs)
    dns.zones.create_or_update(RG, "names.test", Zone(location="global"))
    params = RecordSet(ttl=300, a_records=[ARecord(ipv4_address="20.1.2.3")])
    wildcard = dns.record_sets.create_or_update(RG, "names.test", "*.app", "A", params, if_none_match="*")
    assert wildcard.name == "*.app" and wildcard.fqdn == "*.app.names.test."
    assert dns.record_sets.get(RG, "names.test", "*.app", "A").etag == wildcard.etag
    log = [r for r in emu.control.requests() if r["method"] == "PUT" and "/A/" in r["path"]]
    assert log[-1]["conditions"] == {"If-None-Match": "*"}
    for bad in ("a..b", "-x", "x" * 64, "a b", "*x"):
        with pytest.raises(HttpResponseError) as exc:
            dns.record_sets.create_or_update(RG, "names.test", bad, "A", params)
        assert exc.value.status_code == 400 and exc.value.error.code == "BadRequest"
    dns.record_sets.delete(RG, "names.test", "*.app", "A", if_match=wildcard.etag)
    assert emu.control.requests()[-1]["conditions"] == {"If-Match": wildcard.etag}


def test_a_request_answered_after_a_reset_is_not_logged(emu, http):
    """A request delayed by a fault that ends after reset() belongs to the state
    before it: the next test's request log does not show it."""
    url = "%s/subscriptions/%s?api-version=2022-12-01" % (emu.endpoints["arm"], d.SUBSCRIPTION_ID)
    headers = {"Authorization": "Bearer " + emu.control.issue_token()["access_token"]}
    emu.control.inject_fault(path="/subscriptions/", delay=1)
    answered = []
    slow = threading.Thread(target=lambda: answered.append(http.get(url, headers=headers, timeout=10)))
    slow.start()
    time.sleep(0.3)
    emu.control.reset()
    slow.join()
    assert answered[0].status_code == 200
    assert [r for r in emu.control.requests() if r["service"] != "control"] == []
    assert http.get(url, headers=headers, timeout=5).status_code == 200
    assert [r["path"] for r in emu.control.requests() if r["service"] != "control"] == [
        "/subscriptions/%s" % d.SUBSCRIPTION_ID
    ]
