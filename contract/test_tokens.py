"""Continuation tokens written by another azure-core: refused before any request, as an
error the caller can act on (azure-core 1.38 moved from base64 pickles to base64 JSON with a
version; azure/core/polling/_utils.py refuses the older ones with ValueError)."""

import base64

import pytest

from odoo.addons.oec_cloud_accounts.services.compute import ComputeClient
from odoo.addons.oec_cloud_accounts.services.errors import KIND_REQUEST, AzureError
from odoo.addons.oec_cloud_accounts.services.storage import StorageClient

SUB = "00000000-0000-0000-0000-000000000001"
# a pickle (protocol 4: 0x80 0x04) in base64, as azure-core < 1.38 stored it
OLD_TOKEN = base64.b64encode(b"\x80\x04\x95" + bytes(40)).decode()


@pytest.mark.parametrize("token", [OLD_TOKEN, "not a token"])
def test_unreadable_tokens_are_an_error_to_start_afresh(replay, arm, token):
    for poll in (
        lambda: ComputeClient(**arm).poll(SUB, "vm", token),
        lambda: StorageClient(**arm).poll_create(SUB, token),
    ):
        with pytest.raises(AzureError) as caught:
            poll()
        assert (caught.value.key, caught.value.code, caught.value.kind) == (
            "operation.token_unreadable",
            "ContinuationTokenUnreadable",
            KIND_REQUEST,
        )
    assert replay.requests == []
