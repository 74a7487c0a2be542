"""A backup's way through Blob Storage when Azure accepts it: blocks, the block list with its
metadata and tier, the blob's properties read back, its deletion (only a blob of this database)."""

import hashlib

import pytest
from blob_common import ACCOUNT, OWNER, TOKEN, make_store

from odoo.addons.oec_cloud_accounts.services import AzureError
from odoo.addons.oec_cloud_accounts.services.blob import META_SHA256


@pytest.fixture
def store(replay):
    return make_store(replay)


def test_backup_committed_with_its_hash_and_tier_then_read_and_deleted(replay, store):
    replay.serve("blob/round_trip")
    written = store.upload(
        "db1.zip", lambda out: out.write(b"x" * 40), metadata=OWNER, tier="Cool", block_size=16
    )
    sha = hashlib.sha256(b"x" * 40).hexdigest()
    assert written == {
        "size": 40,
        "sha256": sha,
        "blocks": 3,
        "immutable_until": None,
        "immutability_mode": None,
    }
    blocks = [r for r in replay.requests if r["query"].get("comp") == "block"]
    (commit,) = [r for r in replay.requests if r["query"].get("comp") == "blocklist"]
    assert len(blocks) == 3
    # (WSGI gives the replay header names with '-' for '_': x-ms-meta-oec_sha256 reads so)
    headers = {k.lower(): v for k, v in commit["headers"].items()}
    assert headers["x-ms-access-tier"] == "Cool"
    assert headers["x-ms-meta-" + META_SHA256.replace("_", "-")] == sha
    assert headers["x-ms-meta-oec-db-uuid"] == "this-database"
    found = store.properties("db1.zip")
    assert (found["size"], found["tier"]) == (40, "Cool")
    assert found["metadata"] == {META_SHA256: sha, "oec_db_uuid": "this-database"}
    assert store.delete("db1.zip", OWNER) is True
    assert replay.requests[-1]["method"] == "DELETE"
    # every request with the Microsoft Entra token, as the product reaches blobs
    assert {r["headers"]["Authorization"] for r in replay.requests} == {"Bearer " + TOKEN}


def test_a_blob_of_another_database_is_never_deleted(replay, store):
    replay.serve("blob/round_trip")
    with pytest.raises(AzureError) as raised:
        store.delete("other.zip", OWNER)
    assert raised.value.code == "ForeignBlob"
    assert [r["method"] for r in replay.requests] == ["HEAD"]


def test_backup_read_back_in_ranges_with_its_hash_and_metadata(replay):
    replay.serve("blob/round_trip")
    store = make_store(replay, download_first=16, download_chunk=16)
    read = store.download("db1.zip")
    assert read == {
        "size": 40,
        "sha256": hashlib.sha256(b"x" * 40).hexdigest(),
        "metadata": {META_SHA256: read["sha256"], "oec_db_uuid": "this-database"},
    }
    ranges = [r["headers"].get("X-Ms-Range") for r in replay.requests]
    assert ranges == ["bytes=0-15", "bytes=16-31", "bytes=32-39"]


def test_access_test_writes_reads_and_deletes_its_marker(replay, store):
    replay.serve("blob/round_trip")
    assert store.check_access("ok") is True
    assert [r["method"] for r in replay.requests] == ["PUT", "GET", "DELETE"]
    assert {r["path"] for r in replay.requests} == {"/%s/backups/.oec-access-test/ok" % ACCOUNT}
