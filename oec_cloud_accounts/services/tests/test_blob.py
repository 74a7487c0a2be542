"""services/blob.py: backups streamed into block blobs in the emulator's Azurite,
through azure-storage-blob."""

import base64
import hashlib
import io
import time
import zipfile
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage.models import BlobContainer, Sku, StorageAccountCreateParameters
from azure.storage.blob import BlobClient
from azure_emulator import defaults as d

from odoo.addons.oec_cloud_accounts.services import AzureError
from odoo.addons.oec_cloud_accounts.services.api_versions import API_VERSIONS
from odoo.addons.oec_cloud_accounts.services.blob import (
    META_SHA256,
    BlobStore,
    Deadline,
    DeadlineReached,
    ScaledRetry,
)
from odoo.addons.oec_cloud_accounts.services.restore import BlobReader, ZipSource

RG = "oec-backups"
ACCOUNT = "oecservicestest"
CONTAINER = "backups"
OWNER = {"oec_db_uuid": "this-database"}


class _Credential:
    def __init__(self, minted):
        self._token = AccessToken(minted["access_token"], int(minted["expires_on"]))

    def get_token(self, *scopes, **kwargs):
        return self._token


@pytest.fixture
def account(emu):
    """A storage account and its container, made as in the Azure portal with shared key access off,
    the user given Storage Blob Data Contributor on the container and Storage Blob Delegator on the
    account: (blob endpoint, the user's token for Azure Storage, the account's id)."""
    credential = _Credential(emu.control.issue_token(user=d.USER_EMAIL, scope=d.ARM_SCOPE))
    options = {
        "base_url": emu.endpoints["arm"],
        "connection_verify": emu.ca_path,
        "credential_scopes": [emu.endpoints["arm_scope"]],
        "polling_interval": 0,
    }
    groups = ResourceManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=API_VERSIONS["resources.resource_groups"], **options
    )
    groups.resource_groups.create_or_update(RG, {"location": "westeurope"})
    # accounts and containers have one API version (services/api_versions.py)
    storage = StorageManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=API_VERSIONS["storage.storage_accounts"], **options
    )
    created = storage.storage_accounts.begin_create(
        RG,
        ACCOUNT,
        StorageAccountCreateParameters(
            sku=Sku(name="Standard_LRS"),
            kind="StorageV2",
            location="westeurope",
            allow_shared_key_access=False,
        ),
    ).result()
    storage.blob_containers.create(RG, ACCOUNT, CONTAINER, BlobContainer())
    container_id = "%s/blobServices/default/containers/%s" % (created.id, CONTAINER)
    emu.control.assign_role(d.USER_OID, d.ROLE_BLOB_DATA_CONTRIBUTOR, container_id)
    emu.control.assign_role(d.USER_OID, d.ROLE_BLOB_DELEGATOR, created.id)
    token = _Credential(emu.control.issue_token(user=d.USER_EMAIL, scope=d.STORAGE_SCOPE))
    return created.primary_endpoints.blob, token, storage


def make_store(emu, account, **options):
    endpoint, credential, _storage = account
    return BlobStore(endpoint, credential, CONTAINER, ca_bundle=emu.ca_path, account_name=ACCOUNT, **options)


def block_id_pattern(index):
    """The query of the Put Block request of block ``index`` (as BlockBlobWriter names blocks)."""
    return "comp=block&blockid=" + quote(base64.b64encode(b"%032d" % index).decode(), safe="")


def put_blocks(emu):
    return [r for r in emu.control.requests() if r["service"] == "blob" and "comp=block&" in r["query"] + "&"]


DATA = bytes(range(256)) * 10  # 2560 bytes: three blocks of 1 KiB


def test_upload_streams_blocks_then_reads_back(emu, account):
    store = make_store(emu, account, backoff=0)
    result = store.upload(
        "db/one.dump",
        lambda out: [out.write(DATA[i : i + 100]) for i in range(0, len(DATA), 100)],
        metadata=OWNER,
        tier="Cool",
        block_size=1024,
    )
    sha256 = hashlib.sha256(DATA).hexdigest()
    assert result == {
        "size": len(DATA),
        "sha256": sha256,
        "blocks": 3,
        "immutable_until": None,
        "immutability_mode": None,
    }
    assert len(put_blocks(emu)) == 3
    props = store.properties("db/one.dump")
    assert (props["size"], props["tier"]) == (len(DATA), "Cool")
    assert (props["immutable_until"], props["immutability_mode"]) == (None, None)
    assert props["metadata"] == dict(OWNER, **{META_SHA256: sha256})
    out = io.BytesIO()
    assert store.download("db/one.dump", out)["sha256"] == sha256
    assert out.getvalue() == DATA
    # a short read-only link, over HTTPS: a user delegation SAS (no key: shared keys are off)
    url = store.read_url("db/one.dump", minutes=5)
    query = parse_qs(urlsplit(url).query)
    assert query["skoid"] == [d.USER_OID] and query["sp"] == ["r"] and query["spr"] == ["https"]
    assert query["sr"] == ["b"]
    link = requests.get(url, verify=emu.ca_path, timeout=10)
    assert (link.status_code, link.content) == (200, DATA)
    assert link.headers["Content-Disposition"] == 'attachment; filename="one.dump"'
    # a plain client reads it too (the restore's child process does), and cannot write with it
    blob = BlobClient.from_blob_url(url, connection_verify=emu.ca_path)
    assert blob.download_blob().readall() == DATA
    with pytest.raises(HttpResponseError):
        blob.upload_blob(b"x", overwrite=True)
    # the key is asked once for the links of a store
    keys = lambda: [r for r in emu.control.requests() if "comp=userdelegationkey" in r["query"]]
    assert len(keys()) == 1
    store.read_url("db/one.dump", minutes=5)
    assert len(keys()) == 1
    # one blob only
    other = url.replace("/db/one.dump?", "/db/other.dump?")
    assert requests.get(other, verify=emu.ca_path, timeout=10).status_code == 403
    assert store.properties("db/missing.dump") is None


def test_shared_key_fallback(emu, account):
    """The administrator's fallback: the account key, refused while the account disallows it."""
    endpoint, _credential, storage = account
    key = storage.storage_accounts.list_keys(RG, ACCOUNT)["keys"][0]["value"]
    store = BlobStore(endpoint, key, CONTAINER, ca_bundle=emu.ca_path, account_name=ACCOUNT, backoff=0)
    with pytest.raises(AzureError) as caught:
        store.check_access("marker")
    assert caught.value.code == "KeyBasedAuthenticationNotPermitted"
    storage.storage_accounts.update(RG, ACCOUNT, {"properties": {"allowSharedKeyAccess": True}})
    assert store.check_access("marker")
    url = store.read_url(store.upload("db/k.dump", lambda out: out.write(b"k")) and "db/k.dump")
    assert "skoid" not in url
    assert requests.get(url, verify=emu.ca_path, timeout=10).content == b"k"


def test_missing_role_is_refused_before_any_blob(emu, account):
    endpoint, _credential, _storage = account
    stranger = _Credential(emu.control.issue_token(user=d.SECOND_USER_EMAIL, scope=d.STORAGE_SCOPE))
    store = BlobStore(endpoint, stranger, CONTAINER, ca_bundle=emu.ca_path, account_name=ACCOUNT, backoff=0)
    with pytest.raises(AzureError) as caught:
        store.check_access("marker")
    assert caught.value.code == "AuthorizationPermissionMismatch"
    assert caught.value.key == "storage.AuthorizationPermissionMismatch"


def test_delete_only_what_this_database_wrote(emu, account):
    store = make_store(emu, account, backoff=0)
    store.upload("db/ours.dump", lambda out: out.write(b"ours"), metadata=OWNER)
    store.upload("db/theirs.dump", lambda out: out.write(b"theirs"), metadata={"oec_db_uuid": "another"})
    assert store.delete("db/ours.dump", OWNER) is True
    assert store.delete("db/ours.dump", OWNER) is False, "already gone"
    with pytest.raises(AzureError) as caught:
        store.delete("db/theirs.dump", OWNER)
    assert caught.value.code == "ForeignBlob"
    assert store.properties("db/theirs.dump") is not None


def test_failure_mid_upload_leaves_no_blob(emu, account):
    """The third block always fails, the SDK's retries included: nothing is committed."""
    emu.control.inject_fault(
        path=block_id_pattern(2), method="PUT", service="blob", status=500, code="InternalError", count=None
    )
    store = make_store(emu, account, retries=2, backoff=0)
    with pytest.raises(AzureError) as caught:
        store.upload("db/broken.dump", lambda out: out.write(DATA), block_size=1024, concurrency=1)
    assert caught.value.code == "InternalError"
    third = [r for r in put_blocks(emu) if block_id_pattern(2) in r["query"]]
    assert [r["status"] for r in third] == [500, 500, 500], "sent, then retried twice"
    assert store.properties("db/broken.dump") is None
    emu.control.clear_faults()
    assert store.upload("db/broken.dump", lambda out: out.write(DATA), block_size=1024)["blocks"] == 3


def test_blob_retry_backoff_is_a_parameter(emu, account):
    """Storage's waits (about 3 s, then 5 s) are multiplied by ``backoff``: 0 retries at once."""
    assert (
        ScaledRetry(1, initial_backoff=1, increment_base=2, random_jitter_range=1).get_backoff_time(
            {"count": 1}
        )
        >= 2
    )
    assert (
        ScaledRetry(0, initial_backoff=1, increment_base=2, random_jitter_range=1).get_backoff_time(
            {"count": 2}
        )
        == 0
    )
    emu.control.inject_fault(path="/db/blip", method="PUT", service="blob", status=503, count=2)
    started = time.monotonic()
    make_store(emu, account, retries=2, backoff=0).upload("db/blip.dump", lambda out: out.write(b"x"))
    assert time.monotonic() - started < 2


def blob_gets(emu, name):
    return [
        r
        for r in emu.control.requests()
        if r["service"] == "blob" and r["method"] == "GET" and name in r["path"]
    ]


def test_download_reads_ranges_ahead_and_checks(emu, account):
    """A first range, then the next ones, read by a thread ahead of the hash."""
    store = make_store(emu, account, backoff=0, download_first=1000, download_chunk=700)
    store.upload("db/ranges.dump", lambda out: out.write(DATA), metadata=OWNER)
    store.deadline = Deadline(time.time() + 60)
    out = io.BytesIO()
    result = store.download("db/ranges.dump", out)
    assert (result["size"], result["sha256"]) == (len(DATA), hashlib.sha256(DATA).hexdigest())
    assert result["metadata"][META_SHA256] == result["sha256"]
    assert out.getvalue() == DATA
    assert len(blob_gets(emu, "db/ranges.dump")) == 4, "1000 bytes, then 700, 700 and 160"


def test_download_waits_until_the_deadline_only(emu, account):
    """A range that hangs: the caller gets DeadlineReached at its deadline, not at the request's end."""
    store = make_store(emu, account, backoff=0, download_first=1000, download_chunk=700)
    store.upload("db/hangs.dump", lambda out: out.write(DATA))
    emu.control.inject_fault(path="/db/hangs.dump", method="GET", service="blob", delay=30, count=1)
    store.deadline = Deadline(time.time() + 2)
    started = time.monotonic()
    with pytest.raises(DeadlineReached):
        store.download("db/hangs.dump")
    assert time.monotonic() - started < 5


def test_restore_reads_a_zip_from_one_sequential_download(emu, account):
    """The restore process's zip source: the central directory read with ranged requests,
    the members in order from one download that hashes every byte of the blob."""
    members = {"manifest.json": b"{}", "dump.sql": DATA * 50, "filestore/ab/cd": bytes(range(256)) * 3}
    store = make_store(emu, account, backoff=0)

    def produce(out):  # written as backups are: to a non-seekable stream (data descriptors)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                with archive.open(name, "w") as entry:
                    entry.write(data)

    written = store.upload("db/restore.zip", produce)
    reader = BlobReader({"url": store.read_url("db/restore.zip"), "ca_bundle": emu.ca_path, "backoff": 0})
    source = ZipSource(reader)
    with zipfile.ZipFile(source) as archive:
        source.sequential()
        read = {}
        for member in sorted(archive.infolist(), key=lambda m: m.header_offset):
            with archive.open(member) as entry:
                read[member.filename] = entry.read()
    source.drain()
    assert read == members
    assert (reader.read, reader.sha256.hexdigest()) == (written["size"], written["sha256"])
    # the end (the central directory), then the whole blob once
    assert len(blob_gets(emu, "db/restore.zip")) == 2
