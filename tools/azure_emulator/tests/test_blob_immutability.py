"""Version-level immutability through the real SDKs: a container with support (ARM), a policy set at
Put Block List and by Set Blob Immutability Policy, Delete Blob refused until the policy's end,
whoever asks, then allowed (the emulator's clock moved, no waiting); an overwrite keeps the
protected bytes as a previous version (test_blob_versions.py)."""

from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.storage.blob import BlobServiceClient, ImmutabilityPolicy
from azure_emulator import defaults as d
from conftest import StaticCredential, version

RG = "oec-worm"
NAME = "oecworm1"
LOCKED = "locked"
PLAIN = "plain"


@pytest.fixture
def blobs(emu, credential, mgmt_kwargs):
    """A container with version-level immutability support and one without; a client of the
    subscription's Owner who is also Storage Blob Data Owner of the account."""
    ResourceManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("resources.resource_groups"), **mgmt_kwargs
    ).resource_groups.create_or_update(RG, {"location": "westeurope"})
    storage = StorageManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("storage.storage_accounts"), **mgmt_kwargs
    )
    created = storage.storage_accounts.begin_create(
        RG,
        NAME,
        {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westeurope"},
    ).result()
    containers = StorageManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("storage.blob_containers"), **mgmt_kwargs
    ).blob_containers
    worm = {"properties": {"immutableStorageWithVersioning": {"enabled": True}}}
    made = containers.create(RG, NAME, LOCKED, worm)
    assert made.immutable_storage_with_versioning.enabled is True
    containers.create(RG, NAME, PLAIN, {})
    assert containers.get(RG, NAME, LOCKED).immutable_storage_with_versioning.enabled is True
    assert containers.get(RG, NAME, PLAIN).immutable_storage_with_versioning is None
    emu.control.assign_role(d.USER_OID, d.ROLE_BLOB_DATA_OWNER, created.id)
    minted = emu.control.issue_token(scope=d.STORAGE_SCOPE)
    return BlobServiceClient(
        created.primary_endpoints.blob,
        credential=StaticCredential(minted["access_token"], minted["expires_on"]),
        connection_verify=emu.ca_path,
        retry_total=0,
    )


def _code(call):
    with pytest.raises(HttpResponseError) as exc:
        call()
    return exc.value.status_code, exc.value.response.headers.get("x-ms-error-code")


def test_a_blob_under_a_policy_cannot_be_deleted_before_its_end(emu, blobs):
    until = (datetime.now(timezone.utc) + timedelta(days=7)).replace(microsecond=0)
    blob = blobs.get_blob_client(LOCKED, "db/one.zip")
    blob.stage_block("0" * 32, b"backup")
    blob.commit_block_list(
        ["0" * 32], immutability_policy=ImmutabilityPolicy(expiry_time=until, policy_mode="Locked")
    )
    props = blob.get_blob_properties()
    assert props.immutability_policy.expiry_time == until
    assert props.immutability_policy.policy_mode == "locked"
    refused = (409, "BlobImmutableDueToPolicy")
    assert _code(blob.delete_blob) == refused
    assert _code(lambda: blob.set_blob_metadata({"x": "y"})) == refused
    # a Locked policy is never shortened
    shorter = ImmutabilityPolicy(expiry_time=until - timedelta(days=1), policy_mode="Locked")
    assert _code(lambda: blob.set_immutability_policy(shorter)) == refused
    assert blob.download_blob().readall() == b"backup"
    # extended: allowed
    longer = ImmutabilityPolicy(expiry_time=until + timedelta(days=1), policy_mode="Locked")
    blob.set_immutability_policy(longer)
    # after its end, nothing stops the delete
    emu.control.configure(clock_offset=9 * 86400)
    blob.delete_blob()
    assert not blob.exists()


def test_only_the_storage_owner_sets_a_policy(emu, blobs):
    """Storage Blob Data Contributor writes blobs, but not their immutability policy."""
    scope = blobs.url.rstrip("/")
    account_id = next(r["id"] for r in emu.control.state()["resources"].values() if r["name"] == NAME)
    emu.control.assign_role(d.SECOND_USER_OID, d.ROLE_BLOB_DATA_CONTRIBUTOR, account_id)
    minted = emu.control.issue_token(user=d.SECOND_USER_EMAIL, scope=d.STORAGE_SCOPE)
    contributor = BlobServiceClient(
        scope,
        credential=StaticCredential(minted["access_token"], minted["expires_on"]),
        connection_verify=emu.ca_path,
        retry_total=0,
    ).get_blob_client(LOCKED, "contributor.zip")
    soon = ImmutabilityPolicy(
        expiry_time=datetime.now(timezone.utc) + timedelta(days=1), policy_mode="Unlocked"
    )
    assert _code(lambda: contributor.upload_blob(b"x", immutability_policy=soon)) == (
        403,
        "AuthorizationPermissionMismatch",
    )
    contributor.upload_blob(b"x")
    assert _code(lambda: contributor.set_immutability_policy(soon)) == (
        403,
        "AuthorizationPermissionMismatch",
    )
    # the owner sets it, and removes an Unlocked one
    owned = blobs.get_blob_client(LOCKED, "contributor.zip")
    owned.set_immutability_policy(soon)
    assert _code(contributor.delete_blob) == (409, "BlobImmutableDueToPolicy")
    owned.delete_immutability_policy()
    contributor.delete_blob()


def test_a_policy_needs_a_container_with_support_and_a_future_date(blobs):
    soon = datetime.now(timezone.utc) + timedelta(days=1)
    plain = blobs.get_blob_client(PLAIN, "x")
    status, code = _code(
        lambda: plain.upload_blob(
            b"x", immutability_policy=ImmutabilityPolicy(expiry_time=soon, policy_mode="Unlocked")
        )
    )
    assert (status, code) == (400, "InvalidHeaderValue")
    assert not plain.exists()
    past = blobs.get_blob_client(LOCKED, "past")
    status, code = _code(
        lambda: past.upload_blob(
            b"x",
            immutability_policy=ImmutabilityPolicy(
                expiry_time=datetime.now(timezone.utc) - timedelta(hours=1), policy_mode="Unlocked"
            ),
        )
    )
    assert status == 400
    # without a policy, a blob of the container is deleted as usual
    free = blobs.get_blob_client(LOCKED, "free")
    free.upload_blob(b"x")
    free.delete_blob()
