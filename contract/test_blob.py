"""Blob Storage's data plane (azure-storage-blob, Microsoft Entra ID or shared key): what
services/blob.py makes of Azure's answers, through the SDK's real pipeline to a path-style account URL
(https://127.0.0.1:<port>/<account>, as Azurite and the sandbox serve it)."""

import functools
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from blob_common import ACCOUNT, CONTAINER, KEY, OWNER, make_store

from odoo.addons.oec_cloud_accounts.models.azure_messages import MESSAGES
from odoo.addons.oec_cloud_accounts.services import AzureError
from odoo.addons.oec_cloud_accounts.services.arm import StaticTokenCredential
from odoo.addons.oec_cloud_accounts.services.errors import KIND_ACCESS, KIND_REQUEST, KIND_TRANSIENT


@pytest.fixture
def store(replay):
    return functools.partial(make_store, replay)


def _raised(call):
    with pytest.raises(AzureError) as raised:
        call()
    return raised.value


def _blocks(out):
    out.write(b"x" * 40)


def test_permission_mismatch_names_the_role_and_a_firewall_is_told_apart(replay, store):
    replay.serve("blob/forbidden")
    error = _raised(lambda: store(credential=KEY).check_access("mismatch"))
    assert (error.key, error.kind, error.code, error.status) == (
        "storage.AuthorizationPermissionMismatch",
        KIND_ACCESS,
        "AuthorizationPermissionMismatch",
        403,
    )
    assert "Storage Blob Data Contributor" in MESSAGES[error.key]._source
    # Azure's own words, without the request id and time lines the body appends
    assert error.detail == "This request is not authorized to perform this operation using this permission."
    error = _raised(lambda: store(credential=KEY).check_access("firewalled"))
    assert (error.key, error.kind) == ("storage.AuthorizationFailure", KIND_ACCESS)
    assert "Networking" in MESSAGES[error.key]._source
    # the shared key was sent on the path-style URL, to the account named there
    put = replay.requests[0]
    assert put["path"] == "/%s/%s/.oec-access-test/mismatch" % (ACCOUNT, CONTAINER)
    assert put["headers"]["Authorization"].startswith("SharedKey %s:" % ACCOUNT)


def test_missing_blob_and_missing_container(replay, store):
    replay.serve("blob/not_found")
    error = _raised(lambda: store().download("gone.zip"))
    assert (error.key, error.kind, error.status) == ("storage.BlobNotFound", KIND_REQUEST, 404)
    assert error.detail == "The specified blob does not exist."
    # Get Blob Properties (HEAD, no body): the code comes from x-ms-error-code; a blob gone is no failure
    assert store().properties("gone.zip") is None
    assert store().delete("gone.zip", OWNER) is False
    error = _raised(lambda: store().upload("new.zip", _blocks, block_size=16))
    assert (error.key, error.kind, error.code) == (
        "storage.ContainerNotFound",
        KIND_REQUEST,
        "ContainerNotFound",
    )
    assert error.params["container"] == CONTAINER
    assert not [r for r in replay.requests if r["query"].get("comp") == "blocklist"], "nothing committed"


def test_server_busy_is_transient_with_its_retry_after(replay, store):
    replay.serve("blob/server_busy")
    error = _raised(lambda: store(retries=1).upload("busy.zip", _blocks, block_size=64))
    assert (error.key, error.kind, error.code, error.status) == (
        "storage.ServerBusy",
        KIND_TRANSIENT,
        "ServerBusy",
        503,
    )
    # the job is scheduled after Azure's Retry-After (cloud.job.mixin backoff()), not slept here
    assert error.retry_after == 30
    assert error.detail == "Ingress is over the account limit."
    # (a block of an earlier test's aborted upload may still arrive: abort() does not wait for it)
    sent = [r for r in replay.requests if r["path"].endswith("/busy.zip")]
    assert len(sent) == 2, "the SDK's one retry, then the error"
    assert not [r for r in sent if r["query"].get("comp") == "blocklist"]


def test_a_tier_the_account_does_not_offer(replay, store):
    replay.serve("blob/invalid_tier")
    error = _raised(lambda: store().upload("tiered.zip", _blocks, tier="Cool", block_size=64))
    assert (error.key, error.kind, error.code, error.status) == (
        "storage.InvalidBlobTier",
        KIND_REQUEST,
        "InvalidBlobTier",
        400,
    )
    assert error.params["account"] == ACCOUNT
    commit = [r for r in replay.requests if r["query"].get("comp") == "blocklist"]
    assert commit[0]["headers"]["X-Ms-Access-Tier"] == "Cool"


def test_a_blob_written_again_while_it_is_read(replay, store):
    replay.serve("blob/download_changed")
    error = _raised(lambda: store(download_chunk=16, download_first=16).download("changing.zip"))
    assert (error.key, error.kind, error.code, error.status) == (
        "storage.ConditionNotMet",
        KIND_REQUEST,
        "ConditionNotMet",
        412,
    )
    first, second = replay.requests
    assert first["headers"]["X-Ms-Range"] == "bytes=0-15"
    assert (second["headers"]["X-Ms-Range"], second["headers"]["If-Match"]) == (
        "bytes=16-31",
        '"0x8DD5B1E4C2A7F10"',
    )


def test_a_blob_azure_keeps_is_refused_with_why(replay, store):
    replay.serve("blob/delete_refused")
    for name, key, status in (
        ("immutable.zip", "storage.BlobImmutableDueToPolicy", 409),
        ("held.zip", "storage.BlobImmutableDueToLegalHold", 409),
        ("leased.zip", "storage.LeaseIdMissing", 412),
    ):
        error = _raised(lambda name=name: store().delete(name, OWNER))
        assert (error.key, error.kind, error.status) == (key, KIND_REQUEST, status)


def test_download_link_is_a_user_delegation_sas(replay):
    """With a Microsoft Entra token: one Get User Delegation Key, then a read-only SAS of one blob,
    HTTPS only, signed with that key (no account key anywhere)."""
    replay.serve("blob/user_delegation_key")
    store = make_store(replay, StaticTokenCredential("recorded-storage-token", 4102444800))
    url = store.read_url("db/2025-03-04.zip", minutes=15)
    (request,) = replay.requests
    assert request["method"] == "POST"
    assert request["headers"]["Authorization"] == "Bearer recorded-storage-token"
    assert "<KeyInfo><Start>" in request["body"] and "<Expiry>" in request["body"]
    parts = urlsplit(url)
    assert parts.path == "/%s/%s/db/2025-03-04.zip" % (ACCOUNT, CONTAINER)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["skoid"] == "ce2ce14e-85d7-4629-bdbc-454d0519d987"
    assert query["sktid"] == "72f988bf-86f1-41af-91ab-2d7cd011db47"
    assert (query["skt"], query["ske"], query["sks"]) == ("2025-03-04T10:10:00Z", "2025-03-04T10:40:00Z", "b")
    assert (query["sp"], query["sr"], query["spr"]) == ("r", "b", "https")
    assert query["sig"] and "KEY" not in url


def test_shared_key_refused_when_the_account_disallows_it(replay, store):
    replay.serve("blob/key_based_not_permitted")
    error = _raised(lambda: store(credential=KEY).check_access("marker"))
    assert (error.key, error.kind, error.code) == (
        "storage.KeyBasedAuthenticationNotPermitted",
        KIND_ACCESS,
        "KeyBasedAuthenticationNotPermitted",
    )
    assert error.detail == "Key based authentication is not permitted on this storage account."


def test_a_backup_committed_with_a_retention_policy_is_kept_until_its_end(replay, store):
    replay.serve("blob/immutability_policy")
    result = store().upload("locked.zip", _blocks, block_size=64, immutability=(7, "Locked"))
    commit = next(r for r in replay.requests if r["query"].get("comp") == "blocklist")
    until = parsedate_to_datetime(commit["headers"]["X-Ms-Immutability-Policy-Until-Date"])
    assert until == result["immutable_until"]
    assert timedelta(days=7) - timedelta(seconds=5) < until - datetime.now(timezone.utc) <= timedelta(days=7)
    assert commit["headers"]["X-Ms-Immutability-Policy-Mode"] == "Locked"
    props = store().properties("locked.zip")
    assert props["immutable_until"] == datetime(2025, 3, 11, 10, 14, 58, tzinfo=timezone.utc)
    assert props["immutability_mode"].lower() == "locked"
    error = _raised(lambda: store().delete("locked.zip", OWNER))
    assert (error.key, error.code, error.status) == (
        "storage.BlobImmutableDueToPolicy",
        "BlobImmutableDueToPolicy",
        409,
    )
    assert error.params["until"] == props["immutable_until"]


def test_an_ended_backup_leaves_no_version_behind(replay, store):
    """With blob versioning (which immutable backups need), Delete Blob leaves the blob as a previous
    version, billed until deleted by its id: ours go, a protected one is kept with its end, another
    database's is left alone."""
    replay.serve("blob/versions_purge")
    assert store().delete("old.zip", OWNER) is True
    left = store().delete_versions("old.zip", OWNER)
    assert left == {
        "deleted": 1,
        "kept_until": datetime(2025, 3, 20, 2, 0, 11, tzinfo=timezone.utc),
        "foreign": 1,
    }
    deletes = [r["query"].get("versionid") for r in replay.requests if r["method"] == "DELETE"]
    # oldest first: the protected one is refused, the ended one deleted
    assert deletes == [None, "2025-03-01T02:00:11.4419871Z", "2025-03-04T10:14:58.1234567Z"]
    listing = next(r for r in replay.requests if r["query"].get("comp") == "list")
    assert listing["query"]["prefix"] == "old.zip"
    assert set(listing["query"]["include"].split(",")) == {"versions", "metadata", "immutabilitypolicy"}
