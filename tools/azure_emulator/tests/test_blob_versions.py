"""Blob versioning through the real SDKs (blob_versions.py): an overwrite and a delete keep the
former current version as a previous version with its id and its immutability policy, listed with
``include=versions``, read and deleted by its id; a protected previous version is not deleted before
its end; deleting a previous version is Storage Blob Data Owner's right."""

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage.models import BlobServiceProperties
from azure.storage.blob import BlobServiceClient, ImmutabilityPolicy
from azure_emulator import defaults as d
from conftest import StaticCredential, contract_fixture, version
from test_blob_immutability import LOCKED, NAME, PLAIN, RG, _code, blobs  # noqa: F401 (a fixture)


def _versions(client, container, name):
    return [
        (item.version_id, bool(item.is_current_version), item.size, item.immutability_policy.expiry_time)
        for item in client.get_container_client(container).list_blobs(
            name_starts_with=name, include=["versions", "immutabilitypolicy"]
        )
        if item.name == name
    ]


def test_an_overwrite_of_a_protected_blob_keeps_it_as_a_previous_version(emu, blobs):  # noqa: F811
    until = (datetime.now(timezone.utc) + timedelta(days=7)).replace(microsecond=0)
    blob = blobs.get_blob_client(LOCKED, "db/one.zip")
    first = blob.upload_blob(
        b"backup", immutability_policy=ImmutabilityPolicy(expiry_time=until, policy_mode="Locked")
    )
    assert first["version_id"]
    second = blob.upload_blob(b"ransom", overwrite=True)
    assert second["version_id"] > first["version_id"]
    assert blob.download_blob().readall() == b"ransom"
    # the protected bytes stay, with their policy, as a previous version: oldest first
    assert _versions(blobs, LOCKED, "db/one.zip") == [
        (first["version_id"], False, 6, until),
        (second["version_id"], True, 6, None),
    ]
    old = blobs.get_blob_client(LOCKED, "db/one.zip", version_id=first["version_id"])
    assert old.download_blob().readall() == b"backup"
    assert old.get_blob_properties().immutability_policy.expiry_time == until
    assert _code(old.delete_blob) == (409, "BlobImmutableDueToPolicy")
    # the new current version has no policy: deleted, it becomes a previous version too
    blob.delete_blob()
    assert not blob.exists()
    assert [(vid, current) for vid, current, _size, _until in _versions(blobs, LOCKED, "db/one.zip")] == [
        (first["version_id"], False),
        (second["version_id"], False),
    ]
    blobs.get_blob_client(LOCKED, "db/one.zip", version_id=second["version_id"]).delete_blob()
    emu.control.configure(clock_offset=8 * 86400)
    old.delete_blob()
    assert _versions(blobs, LOCKED, "db/one.zip") == []
    assert _code(old.download_blob) == (404, "BlobNotFound")


def test_a_deleted_blob_stays_as_a_previous_version_until_deleted_by_its_id(emu, blobs):  # noqa: F811
    until = datetime.now(timezone.utc) + timedelta(days=1)
    blob = blobs.get_blob_client(LOCKED, "db/two.zip")
    written = blob.upload_blob(
        b"two", immutability_policy=ImmutabilityPolicy(expiry_time=until, policy_mode="Unlocked")
    )
    other = blobs.get_blob_client(LOCKED, "db/three.zip")
    other.upload_blob(b"three")
    assert _code(blob.delete_blob) == (409, "BlobImmutableDueToPolicy")
    emu.control.configure(clock_offset=2 * 86400)
    blob.delete_blob()
    # gone from a listing without versions, still billed as a previous version (its ended policy kept)
    names = [item.name for item in blobs.get_container_client(LOCKED).list_blobs()]
    assert names == ["db/three.zip"]
    listed = list(blobs.get_container_client(LOCKED).list_blobs(include=["versions"]))
    assert [
        (item.name, item.version_id == written["version_id"], bool(item.is_current_version))
        for item in listed
    ] == [
        ("db/three.zip", False, True),
        ("db/two.zip", True, False),
    ]
    # a Storage Blob Data Contributor deletes current versions, not previous ones
    account_id = next(r["id"] for r in emu.control.state()["resources"].values() if r["name"] == NAME)
    emu.control.assign_role(d.SECOND_USER_OID, d.ROLE_BLOB_DATA_CONTRIBUTOR, account_id)
    minted = emu.control.issue_token(user=d.SECOND_USER_EMAIL, scope=d.STORAGE_SCOPE)
    contributor = BlobServiceClient(
        blobs.url,
        credential=StaticCredential(minted["access_token"], minted["expires_on"]),
        connection_verify=emu.ca_path,
        retry_total=0,
    )
    kept = contributor.get_blob_client(LOCKED, "db/two.zip", version_id=written["version_id"])
    assert _code(kept.delete_blob) == (403, "AuthorizationPermissionMismatch")
    assert kept.download_blob().readall() == b"two"
    blobs.get_blob_client(LOCKED, "db/two.zip", version_id=written["version_id"]).delete_blob()
    assert _versions(blobs, LOCKED, "db/two.zip") == []


def test_account_versioning_versions_every_container(credential, mgmt_kwargs, blobs):  # noqa: F811
    """Without versioning a plain container keeps no version; with the blob service's
    isVersioningEnabled, an overwrite does."""
    plain = blobs.get_blob_client(PLAIN, "x.txt")
    plain.upload_blob(b"one")
    plain.upload_blob(b"two", overwrite=True)
    assert [vid for vid, _current, _s, _u in _versions(blobs, PLAIN, "x.txt")] == [None]
    StorageManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("storage.blob_services"), **mgmt_kwargs
    ).blob_services.set_service_properties(RG, NAME, BlobServiceProperties(is_versioning_enabled=True))
    plain.upload_blob(b"three", overwrite=True)
    assert [current for _vid, current, _s, _u in _versions(blobs, PLAIN, "x.txt")] == [False, True]


def test_a_previous_version_with_the_shared_key_is_checked_by_its_signature(
    credential,
    mgmt_kwargs,
    emu,
    blobs,  # noqa: F811
):
    """The proxy answers a previous version itself (Azurite never sees it): the shared key's
    signature is checked there."""
    keys = [
        key["value"]
        for key in StorageManagementClient(
            credential, d.SUBSCRIPTION_ID, api_version=version("storage.storage_accounts"), **mgmt_kwargs
        )
        .storage_accounts.list_keys(RG, NAME)
        .as_dict()["keys"]
    ]
    options = {"connection_verify": emu.ca_path, "retry_total": 0}
    keyed = BlobServiceClient(blobs.url, credential=keys[0], **options)
    blob = keyed.get_blob_client(LOCKED, "keyed.txt")
    first = blob.upload_blob(b"first")
    blob.upload_blob(b"second", overwrite=True)
    old = keyed.get_blob_client(LOCKED, "keyed.txt", version_id=first["version_id"])
    assert old.download_blob().readall() == b"first"
    wrong = BlobServiceClient(blobs.url, credential=keys[1], **options).get_blob_client(
        LOCKED, "keyed.txt", version_id=first["version_id"]
    )
    assert _code(wrong.delete_blob) == (403, "AuthenticationFailed")
    anonymous = BlobServiceClient(blobs.url, **options).get_blob_client(
        LOCKED, "keyed.txt", version_id=first["version_id"]
    )
    assert _code(anonymous.download_blob)[0] == 403
    old.delete_blob()
    assert [current for _vid, current, _s, _u in _versions(keyed, LOCKED, "keyed.txt")] == [True]


def test_the_listing_has_the_shape_of_the_contract_fixture(emu, http, blobs):  # noqa: F811
    """List Blobs with versions as contract/fixtures/blob/versions_purge.json records it: a previous
    version's elements in Azure's order, its policy's end in RFC 1123 and its mode lower-case."""
    recorded = next(
        e["body"] for e in contract_fixture("blob/versions_purge")["exchanges"] if e["method"] == "GET"
    )
    previous = next(
        b
        for b in ET.fromstring(recorded).iter("Blob")
        if b.find("IsCurrentVersion") is None
        and b.findtext("Properties/ImmutabilityPolicyMode") == "unlocked"
    )
    until = datetime.now(timezone.utc) + timedelta(days=1)
    blob = blobs.get_blob_client(LOCKED, "old.zip")
    blob.upload_blob(
        b"x",
        metadata={"oec_db_uuid": "this-database"},
        immutability_policy=ImmutabilityPolicy(expiry_time=until, policy_mode="Unlocked"),
    )
    emu.control.configure(clock_offset=2 * 86400)
    blob.delete_blob()
    minted = emu.control.issue_token(scope=d.STORAGE_SCOPE)
    answer = http.get(
        "%s/%s" % (blobs.url.rstrip("/"), LOCKED),
        params={
            "restype": "container",
            "comp": "list",
            "prefix": "old.zip",
            "include": "versions,metadata,immutabilitypolicy",
        },
        headers={"Authorization": "Bearer " + minted["access_token"], "x-ms-version": "2025-11-05"},
    )
    assert answer.status_code == 200, answer.text
    (listed,) = ET.fromstring(answer.content).iter("Blob")
    tags = [child.tag for child in listed]
    assert tags == [child.tag for child in previous if child.tag in tags]
    assert listed.find("Properties/ImmutabilityPolicyMode").text == "unlocked"
    parsedate_to_datetime(listed.find("Properties/ImmutabilityPolicyUntilDate").text)
    assert listed.find("Metadata/oec_db_uuid").text == "this-database"


def test_a_deleted_container_takes_its_versions_along(credential, mgmt_kwargs, blobs):  # noqa: F811
    StorageManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("storage.blob_services"), **mgmt_kwargs
    ).blob_services.set_service_properties(RG, NAME, BlobServiceProperties(is_versioning_enabled=True))
    blobs.create_container("scratch").upload_blob("gone.txt", b"one")
    blobs.get_blob_client("scratch", "gone.txt").upload_blob(b"two", overwrite=True)
    assert len(_versions(blobs, "scratch", "gone.txt")) == 2
    blobs.delete_container("scratch")
    blobs.create_container("scratch")
    assert _versions(blobs, "scratch", "gone.txt") == []
