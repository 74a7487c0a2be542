"""Blob Storage's common error codes (Learn's table) that services/errors.py maps, on Put Blob:
what services/blob.py makes of each, through azure-storage-blob's real pipeline."""

import pytest
from blob_common import make_store

from odoo.addons.oec_cloud_accounts.services import AzureError
from odoo.addons.oec_cloud_accounts.services.errors import KIND_ACCESS, KIND_TRANSIENT


@pytest.fixture
def store(replay):
    return make_store(replay, retries=1)


@pytest.mark.parametrize(
    "marker, status, code, kind",
    [
        ("signature", 403, "AuthenticationFailed", KIND_ACCESS),
        ("header", 400, "InvalidAuthenticationInfo", KIND_ACCESS),
        ("internal", 500, "InternalError", KIND_TRANSIENT),
        ("timeout", 500, "OperationTimedOut", KIND_TRANSIENT),
    ],
)
def test_common_error_codes_of_put_blob(replay, store, marker, status, code, kind):
    fixture = replay.serve("blob/common_errors")
    (answer,) = [e for e in fixture["exchanges"] if e["path"].endswith("/" + marker)]
    with pytest.raises(AzureError) as raised:
        store.check_access(marker)
    error = raised.value
    assert (error.code, error.status, error.kind, error.key) == (code, status, kind, "storage." + code)
    # Azure's message alone, not the RequestId / Time lines the body appends
    assert error.detail == answer["body"].split("<Message>")[1].split("\n")[0]
    puts = [r for r in replay.requests if r["method"] == "PUT"]
    # Azure's failures are retried by the SDK (retries=1), refusals are not
    assert len(puts) == (2 if kind == KIND_TRANSIENT else 1)
