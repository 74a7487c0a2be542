"""Answers every ARM client meets: throttling and unregistered providers."""

import threading

from odoo.addons.oec_cloud_accounts.services.compute import ComputeClient
from odoo.addons.oec_cloud_accounts.services.dns import DnsClient
from odoo.addons.oec_cloud_accounts.services.errors import KIND_ACCESS, KIND_TRANSIENT, AzureError

SUB = "00000000-0000-0000-0000-000000000001"


def _in_thread(call, seconds=30):
    """Run ``call``; fail (instead of hanging the suite) if the SDK waits on Azure's behalf."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except Exception as exc:  # noqa: BLE001 (handed to the test)
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "the call was still waiting after %d s" % seconds
    return outcome


def test_throttling_is_transient_with_its_retry_after_and_no_wait(replay, arm):
    replay.serve("compute/throttled_get")
    outcome = _in_thread(lambda: ComputeClient(**arm).get_vm_state(SUB, "rg", "vm"))
    error = outcome["error"]
    assert isinstance(error, AzureError)
    assert (error.code, error.status, error.kind, error.retry_after) == (
        "OperationNotAllowed",
        429,
        KIND_TRANSIENT,
        1200,
    )
    assert error.key == "arm.throttled" and error.params == {"retry_after": 1200}
    assert len(replay.requests) == 1  # not retried in the call: the job is scheduled after Retry-After


def test_missing_registration_is_reported_not_registered_by_the_sdk(replay, arm):
    replay.serve("arm/missing_registration")
    client = DnsClient(**arm)
    outcome = _in_thread(
        lambda: client.create_a_record(SUB, "rg", "example.com", "erp", ["203.0.113.7"], 300)
    )
    error = outcome["error"]
    assert isinstance(error, AzureError)
    assert (error.code, error.status, error.kind) == ("MissingSubscriptionRegistration", 409, KIND_ACCESS)
    # no POST .../register, no polling: registration is the account's explicit action
    assert [(r["method"], r["path"].rsplit("/", 2)[-2:]) for r in replay.requests] == [("PUT", ["A", "erp"])]
