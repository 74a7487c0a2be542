"""A storage account through Resource Manager: its properties and blob endpoint, its keys, whether
a name is free, and its creation (202 with Location, polled without waiting)."""

import json

import pytest
from test_lro import _quick

from odoo.addons.oec_cloud_accounts.services.errors import KIND_ACCESS, KIND_REQUEST, AzureError
from odoo.addons.oec_cloud_accounts.services.storage import StorageClient

SUB = "00000000-0000-0000-0000-000000000001"


def test_account_properties_and_blob_endpoint_checked(replay, arm):
    replay.serve("storage/account")
    client = StorageClient(**arm)
    account = client.get_account(SUB, "rg", "sto1")
    assert (account["kind"], account["sku"], account["resource_group"]) == ("StorageV2", "Standard_LRS", "rg")
    assert account["allow_shared_key_access"] is False
    assert (account["public_network_access"], account["network_default_action"]) == ("Enabled", "Allow")
    endpoint = client.blob_endpoint(SUB, "rg", "sto1", storage_suffix="core.windows.net")
    assert endpoint == "https://sto1.blob.core.windows.net/"


def test_first_key_of_list_keys(replay, arm):
    replay.serve("storage/account")
    assert (
        StorageClient(**arm).account_key(SUB, "rg", "sto1") == "cmVjb3JkZWQga2V5IDEsIG5ldmVyIGEgcmVhbCBvbmU="
    )
    (post,) = replay.requests
    assert (post["method"], post["path"].rsplit("/", 1)[-1]) == ("POST", "listKeys")


def test_name_free_and_name_taken(replay, arm):
    replay.serve("storage/account")
    client = StorageClient(**arm)
    assert client.check_name_availability(SUB, "sto3363") == {
        "available": True,
        "reason": None,
        "message": None,
    }
    assert client.check_name_availability(SUB, "taken") == {
        "available": False,
        "reason": "AlreadyExists",
        "message": "The storage account named taken is already taken.",
    }
    sent = [json.loads(r["body"]) for r in replay.requests]
    assert sent == [
        {"name": "sto3363", "type": "Microsoft.Storage/storageAccounts"},
        {"name": "taken", "type": "Microsoft.Storage/storageAccounts"},
    ]


def test_creation_is_202_with_location_polled_once_per_call(replay, arm):
    replay.serve("storage/account")
    token = _quick(lambda: StorageClient(**arm).begin_create_account(SUB, "rg", "sto1", "eastus", {}))
    assert token
    (put,) = replay.requests
    body = json.loads(put["body"])
    assert (body["kind"], body["sku"]) == ("StorageV2", {"name": "Standard_LRS"})
    assert body["properties"]["allowSharedKeyAccess"] is False
    assert _quick(lambda: StorageClient(**arm).poll_create(SUB, token)) is False
    assert _quick(lambda: StorageClient(**arm).poll_create(SUB, token)) is True
    assert [r["method"] for r in replay.requests] == ["PUT", "GET", "GET"]


def test_account_gone_and_keys_refused(replay, arm):
    replay.serve("storage/account_refused")
    client = StorageClient(**arm)
    with pytest.raises(AzureError) as gone:
        client.get_account(SUB, "rg", "gone")
    assert (gone.value.key, gone.value.kind, gone.value.status) == (
        "storage.account_not_found",
        KIND_REQUEST,
        404,
    )
    assert gone.value.params["account"] == "gone"
    with pytest.raises(AzureError) as refused:
        client.account_key(SUB, "rg", "sto1")
    assert (refused.value.key, refused.value.kind, refused.value.code) == (
        "storage.AuthorizationFailed",
        KIND_ACCESS,
        "AuthorizationFailed",
    )
    assert "listKeys/action" in refused.value.detail
