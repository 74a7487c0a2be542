"""Storage accounts: which kinds hold backups, and which take an access tier."""

from odoo.addons.oec_cloud_accounts.services.storage import StorageClient, blob_problem, supports_tiers

SUB = "00000000-0000-0000-0000-000000000001"


def test_only_accounts_with_blobs_are_usable_and_tiers_only_where_supported(replay, arm):
    replay.serve("storage/accounts_of_every_kind")
    accounts = {a["name"]: a for a in StorageClient(**arm).list_accounts(SUB)}
    assert {name: a["kind"] for name, a in accounts.items()} == {
        "sto834": "Storage",
        "stov2": "StorageV2",
        "stopremblob": "BlockBlobStorage",
        "stofiles": "FileStorage",
    }
    assert {name: blob_problem(a) for name, a in accounts.items()} == {
        "sto834": None,
        "stov2": None,
        "stopremblob": None,
        "stofiles": "storage.kind_without_blobs",
    }
    assert accounts["stofiles"]["blob_endpoint"] is None
    assert {name: supports_tiers(a["kind"]) for name, a in accounts.items()} == {
        "sto834": False,
        "stov2": True,
        "stopremblob": False,
        "stofiles": False,
    }


def test_version_level_immutability_support_is_read_from_the_container(replay, arm):
    replay.serve("storage/container_immutability")
    client = StorageClient(**arm)
    assert client.container_immutability(SUB, "res3376", "sto328", "container6185") is True
    assert client.container_immutability(SUB, "res3376", "sto328", "plain") is False
