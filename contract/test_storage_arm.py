"""Storage through Resource Manager: blob containers, the lifecycle management policy and the blob
service's soft delete, as StorageClient reads and writes them."""

import json

from odoo.addons.oec_cloud_accounts.services.storage import StorageClient, lifecycle_rule_name

SUB = "00000000-0000-0000-0000-000000000001"


def test_containers_of_every_page(replay, arm):
    replay.serve("storage/containers")
    names = StorageClient(**arm).list_containers(SUB, "rg", "sto1")
    assert names == ["container1644", "container4052", "container5103"]
    first, second = replay.requests
    assert first["query"] == {"api-version": "2023-05-01"}
    assert second["query"]["$skipToken"] == "/sto1/container5103"


def test_container_created_and_created_again_private(replay, arm):
    """201 when made, 200 when it was there: either way the container is the one chosen."""
    replay.serve("storage/containers")
    client = StorageClient(**arm)
    assert client.create_container(SUB, "rg", "sto1", "backups") == "backups"
    assert client.create_container(SUB, "rg", "sto1", "backups") == "backups"
    for put in replay.requests:
        assert put["method"] == "PUT" and put["path"].endswith("/blobServices/default/containers/backups")
        assert json.loads(put["body"]) == {"properties": {"publicAccess": "None"}}


def test_lifecycle_rule_added_beside_the_rules_of_others_as_azure_gave_them(replay, arm):
    fixture = replay.serve("storage/management_policy")
    theirs = fixture["exchanges"][0]["body"]["properties"]["policy"]["rules"][0]
    client = StorageClient(**arm)
    assert client.get_lifecycle_rules(SUB, "rg", "sto1") == [theirs]
    name = client.set_lifecycle_rule(SUB, "rg", "sto1", "backups", "db1", 30, 365)
    assert name == lifecycle_rule_name("backups", "db1")
    put = replay.requests[-1]
    assert put["method"] == "PUT" and put["path"].endswith("/managementPolicies/default")
    rules = json.loads(put["body"])["properties"]["policy"]["rules"]
    # the other rule goes back whole: tierToArchive and the snapshot action the product never writes
    assert rules[0] == theirs
    assert rules[1] == {
        "enabled": True,
        "name": name,
        "type": "Lifecycle",
        "definition": {
            "filters": {"blobTypes": ["blockBlob"], "prefixMatch": ["backups/db1"]},
            "actions": {
                "baseBlob": {
                    "tierToCool": {"daysAfterModificationGreaterThan": 30},
                    "delete": {"daysAfterModificationGreaterThan": 365},
                }
            },
        },
    }


def test_no_policy_is_no_rule_and_the_first_rule_creates_it(replay, arm):
    replay.serve("storage/management_policy_none")
    client = StorageClient(**arm)
    assert client.get_lifecycle_rules(SUB, "rg", "sto1") == []
    assert client.delete_lifecycle_rule(SUB, "rg", "sto1", "backups") is False  # nothing of ours
    client.set_lifecycle_rule(SUB, "rg", "sto1", "backups", "", None, 30)
    methods = [r["method"] for r in replay.requests]
    assert methods == ["GET", "GET", "GET", "PUT"]
    (rule,) = json.loads(replay.requests[-1]["body"])["properties"]["policy"]["rules"]
    assert rule["definition"]["actions"] == {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 30}}}


def test_our_last_rule_removed_deletes_the_policy(replay, arm):
    fixture = json.loads(json.dumps(replay.serve("storage/management_policy")))
    replay.reset()
    ours = fixture["exchanges"][0]["body"]["properties"]["policy"]["rules"][0]
    ours["name"] = lifecycle_rule_name("backups", "db1")
    replay.serve(fixture)
    assert StorageClient(**arm).delete_lifecycle_rule(SUB, "rg", "sto1", "backups", "db1") is True
    # Azure refuses a policy without rules: the policy itself is deleted
    assert [r["method"] for r in replay.requests] == ["GET", "DELETE"]


def test_soft_delete_of_blobs_and_containers(replay, arm):
    replay.serve("storage/blob_service_soft_delete")
    assert StorageClient(**arm).set_soft_delete(SUB, "rg", "sto1") is True
    (put,) = replay.requests
    assert put["path"].endswith("/storageAccounts/sto1/blobServices/default")
    assert json.loads(put["body"]) == {
        "properties": {
            "deleteRetentionPolicy": {"enabled": True, "days": 7},
            "containerDeleteRetentionPolicy": {"enabled": True, "days": 7},
        }
    }
