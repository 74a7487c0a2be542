"""Blob access by Microsoft Entra ID: bearer tokens with Azure RBAC, role assignments through ARM,
user delegation keys and SAS, all with shared-key access off on the account."""

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas
from azure_emulator import defaults as d
from conftest import StaticCredential, version

RG = "oec-entra"
LOC = "westeurope"
NAME = "oecentra1"
CONTAINER = "backups"
ROLE_API = "2022-04-01"


@pytest.fixture
def account(emu, credential, mgmt_kwargs):
    """A storage account with shared-key access off and a container: (blob endpoint, id)."""
    ResourceManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("resources.resource_groups"), **mgmt_kwargs
    ).resource_groups.create_or_update(RG, {"location": LOC})
    storage = StorageManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("storage.storage_accounts"), **mgmt_kwargs
    )
    created = storage.storage_accounts.begin_create(
        RG,
        NAME,
        {
            "sku": {"name": "Standard_LRS"},
            "kind": "StorageV2",
            "location": LOC,
            "properties": {"allowSharedKeyAccess": False},
        },
    ).result()
    storage.blob_containers.create(RG, NAME, CONTAINER, {})
    return created.primary_endpoints.blob, created.id


def _blobs(emu, endpoint, user=d.USER_EMAIL, scope=d.STORAGE_SCOPE):
    minted = emu.control.issue_token(user=user, scope=scope)
    return BlobServiceClient(
        endpoint,
        credential=StaticCredential(minted["access_token"], minted["expires_on"]),
        connection_verify=emu.ca_path,
        retry_total=0,
    )


def _arm(emu, http, method, path, user=d.USER_EMAIL, body=None):
    token = emu.control.issue_token(user=user, scope=d.ARM_SCOPE)["access_token"]
    return http.request(
        method,
        emu.endpoints["arm"] + path,
        params={"api-version": ROLE_API},
        json=body,
        headers={"Authorization": "Bearer " + token},
        timeout=10,
    )


def _assignment_body(role, principal, sub=d.SUBSCRIPTION_ID):
    return {
        "properties": {
            "roleDefinitionId": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s"
            % (sub, role),
            "principalId": principal,
            "principalType": "User",
        }
    }


def _error_code(call):
    with pytest.raises(HttpResponseError) as exc:
        call()
    return exc.value.error_code


def test_bearer_needs_a_data_role(emu, http, account):
    endpoint, account_id = account
    container_scope = account_id + "/blobServices/default/containers/" + CONTAINER
    blob = _blobs(emu, endpoint).get_blob_client(CONTAINER, "db/one.zip")
    # Owner of the subscription is no data role: Azure refuses, Azurite never sees the request
    before = len([r for r in emu.control.requests() if r["service"] == "blob"])
    assert _error_code(lambda: blob.upload_blob(b"data")) == "AuthorizationPermissionMismatch"
    assert len([r for r in emu.control.requests() if r["service"] == "blob"]) == before + 1

    put = _arm(
        emu,
        http,
        "PUT",
        container_scope + "/providers/Microsoft.Authorization/roleAssignments/" + str(uuid.uuid4()),
        body=_assignment_body(d.ROLE_BLOB_DATA_CONTRIBUTOR, d.USER_OID),
    )
    assert put.status_code == 201, put.text
    assert put.json()["properties"]["scope"] == container_scope
    blob.upload_blob(b"data", overwrite=True, metadata={"oec_sha256": "x"})
    assert blob.download_blob().readall() == b"data"
    assert blob.get_blob_properties().metadata == {"oec_sha256": "x"}
    # another container of the account is out of the assignment's scope
    other = _blobs(emu, endpoint).get_blob_client("other", "x")
    assert _error_code(lambda: other.upload_blob(b"x")) == "AuthorizationPermissionMismatch"
    blob.delete_blob()

    # the same assignment again (another name) is refused as Azure does
    again = _arm(
        emu,
        http,
        "PUT",
        container_scope + "/providers/Microsoft.Authorization/roleAssignments/" + str(uuid.uuid4()),
        body=_assignment_body(d.ROLE_BLOB_DATA_CONTRIBUTOR, d.USER_OID),
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "RoleAssignmentExists"
    listed = _arm(
        emu,
        http,
        "GET",
        container_scope + "/providers/Microsoft.Authorization/roleAssignments"
        "?$filter=principalId eq '%s'" % d.USER_OID,
    ).json()["value"]
    roles = {a["properties"]["roleDefinitionId"].rsplit("/", 1)[1] for a in listed}
    assert roles == {d.ROLE_OWNER, d.ROLE_BLOB_DATA_CONTRIBUTOR}  # the subscription's Owner is above


def test_reader_reads_only_and_tokens_are_checked(emu, account):
    endpoint, account_id = account
    emu.control.assign_role(d.SECOND_USER_OID, d.ROLE_BLOB_DATA_CONTRIBUTOR, account_id)
    _blobs(emu, endpoint, d.SECOND_USER_EMAIL).get_blob_client(CONTAINER, "a").upload_blob(b"a")
    emu.control.assign_role(d.USER_OID, d.ROLE_BLOB_DATA_READER, account_id)
    reader = _blobs(emu, endpoint).get_blob_client(CONTAINER, "a")
    assert reader.download_blob().readall() == b"a"
    assert _error_code(lambda: reader.upload_blob(b"b", overwrite=True)) == "AuthorizationPermissionMismatch"
    # a token for Resource Manager is no token for storage
    arm_token = _blobs(emu, endpoint, scope=d.ARM_SCOPE).get_blob_client(CONTAINER, "a")
    assert _error_code(arm_token.download_blob) == "InvalidAuthenticationInfo"


def test_role_assignment_needs_owner_and_takes_effect_later(emu, http, account):
    endpoint, account_id = account
    path = account_id + "/providers/Microsoft.Authorization/roleAssignments/" + str(uuid.uuid4())
    refused = _arm(
        emu,
        http,
        "PUT",
        path,
        user=d.SECOND_USER_EMAIL,
        body=_assignment_body(d.ROLE_BLOB_DATA_CONTRIBUTOR, d.SECOND_USER_OID),
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "AuthorizationFailed"
    assert "Microsoft.Authorization/roleAssignments/write" in refused.json()["error"]["message"]

    emu.control.configure(role_propagation_seconds=600)
    done = _arm(
        emu, http, "PUT", path, body=_assignment_body(d.ROLE_BLOB_DATA_CONTRIBUTOR, d.SECOND_USER_OID)
    )
    assert done.status_code == 201
    blob = _blobs(emu, endpoint, d.SECOND_USER_EMAIL).get_blob_client(CONTAINER, "b")
    # assigned, not yet applied (Azure: up to about 10 minutes)
    assert _error_code(lambda: blob.upload_blob(b"b")) == "AuthorizationPermissionMismatch"


def test_user_delegation_sas_works_without_shared_keys(emu, http, account):
    endpoint, account_id = account
    container_scope = account_id + "/blobServices/default/containers/" + CONTAINER
    name = str(uuid.uuid4())
    emu.control.assign_role(d.USER_OID, d.ROLE_BLOB_DATA_CONTRIBUTOR, container_scope, name=name)
    service = _blobs(emu, endpoint)
    service.get_blob_client(CONTAINER, "db/2024.zip").upload_blob(b"backup")
    now = datetime.now(timezone.utc)
    # a key acts on the account: a role on the container alone does not give one (Learn, "Create a
    # user delegation SAS": the role must be at the account or above)
    refused = lambda: service.get_user_delegation_key(now, now + timedelta(hours=1))
    assert _error_code(refused) == "AuthorizationPermissionMismatch"
    emu.control.assign_role(d.USER_OID, d.ROLE_BLOB_DELEGATOR, account_id)
    key = service.get_user_delegation_key(now - timedelta(minutes=1), now + timedelta(minutes=30))
    assert key.signed_oid == d.USER_OID and key.signed_tid == d.TENANT_ID and key.value

    def sas(**options):
        values = {
            "account_name": NAME,
            "container_name": CONTAINER,
            "blob_name": "db/2024.zip",
            "user_delegation_key": key,
            "permission": BlobSasPermissions(read=True),
            "expiry": now + timedelta(minutes=15),
            "protocol": "https",
            "content_disposition": 'attachment; filename="2024.zip"',
        }
        values.update(options)
        return "%s%s/db/2024.zip?%s" % (endpoint, CONTAINER, generate_blob_sas(**values))

    answer = http.get(sas(), timeout=10)
    assert answer.status_code == 200 and answer.content == b"backup"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="2024.zip"'
    # expired, tampered with, or used to write: refused
    assert http.get(sas(expiry=now - timedelta(minutes=1)), timeout=10).status_code == 403
    assert http.get(sas().replace("sig=", "sig=A"), timeout=10).status_code == 403
    written = http.put(sas(), data=b"x", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10)
    assert written.status_code == 403
    assert written.headers["x-ms-error-code"] == "AuthorizationPermissionMismatch"
    # the SAS is only as good as its signer's roles now
    removed = _arm(
        emu, http, "DELETE", container_scope + "/providers/Microsoft.Authorization/roleAssignments/" + name
    )
    assert removed.status_code == 200
    assert http.get(sas(), timeout=10).status_code == 403
    # a shared key request for a delegation key is refused (bearer only)
    answer = requests.post(
        endpoint + "?restype=service&comp=userdelegationkey",
        headers={"Authorization": "SharedKey %s:abc" % NAME},
        verify=emu.ca_path,
        timeout=10,
    )
    assert answer.status_code == 403
