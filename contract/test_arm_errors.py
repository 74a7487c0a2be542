"""ARM's documented refusals of the calls that build a server and its DNS
name, as ``services/`` reads them: code, kind, message key and status."""

import pytest
from test_arm import _in_thread
from test_lro import SUB, VM_SPEC

from odoo.addons.oec_cloud_accounts.services.compute import ComputeClient
from odoo.addons.oec_cloud_accounts.services.dns import DnsClient
from odoo.addons.oec_cloud_accounts.services.errors import KIND_REQUEST, KIND_TRANSIENT, AzureError


def _refusal(call):
    outcome = _in_thread(call, 10)
    error = outcome.get("error")
    assert isinstance(error, AzureError), outcome
    return error


def _create_vm(arm):
    return lambda: ComputeClient(**arm).begin_create_vm(SUB, "rg", "vm", VM_SPEC, {})


@pytest.mark.parametrize(
    "fixture, status, code",
    [
        # wrapped {"error": {...}}
        ("compute/vm_quota_operation_not_allowed", 409, "OperationNotAllowed"),
        # unwrapped {"code", "message"}
        ("compute/vm_quota_exceeded", 400, "QuotaExceeded"),
        ("compute/vm_sku_not_available", 409, "SkuNotAvailable"),
    ],
)
def test_vm_creation_refused_at_once(replay, arm, fixture, status, code):
    answer = replay.serve(fixture)["exchanges"][0]["body"]
    error = _refusal(_create_vm(arm))
    assert (error.code, error.status, error.kind, error.key) == (code, status, KIND_REQUEST, "arm.%s" % code)
    assert error.detail == answer.get("error", answer)["message"]
    assert error.params == {"detail": error.detail}
    assert len(replay.requests) == 1  # a refusal is not retried in the call


def test_zonal_allocation_failure_ends_the_vm_operation(replay, arm):
    replay.serve("compute/vm_create_zonal_allocation_failed")
    token = _in_thread(_create_vm(arm))["value"]
    assert token  # accepted (201): the failure comes with the operation's status
    error = _refusal(lambda: ComputeClient(**arm).poll(SUB, "vm", token))
    assert (error.code, error.kind, error.key) == (
        "ZonalAllocationFailed",
        KIND_REQUEST,
        "arm.ZonalAllocationFailed",
    )
    assert error.detail.startswith("Allocation failed. We do not have sufficient capacity")


def test_allocation_failure_ends_a_start(replay, arm):
    replay.serve("compute/vm_start_allocation_failed")
    token = _in_thread(lambda: ComputeClient(**arm).begin_vm_action(SUB, "rg", "vm", "start"))["value"]
    assert token
    error = _refusal(lambda: ComputeClient(**arm).poll(SUB, "start", token))
    assert (error.code, error.kind, error.key) == ("AllocationFailed", KIND_REQUEST, "arm.AllocationFailed")


def test_conflict_of_the_resource_state(replay, arm):
    replay.serve("network/nsg_conflict")
    error = _refusal(lambda: ComputeClient(**arm).begin_create_nsg(SUB, "rg", "westus", [], {}))
    assert (error.code, error.status, error.kind, error.key) == (
        "Conflict",
        409,
        KIND_REQUEST,
        "arm.Conflict",
    )
    assert error.params == {"detail": error.detail}


def test_another_operation_in_progress_is_retried_later(replay, arm):
    replay.serve("network/nsg_another_operation_in_progress")
    error = _refusal(lambda: ComputeClient(**arm).begin_create_nsg(SUB, "rg", "westus", [], {}))
    assert (error.code, error.status, error.kind, error.key) == (
        "AnotherOperationInProgress",
        409,
        KIND_TRANSIENT,
        "arm.AnotherOperationInProgress",
    )


def test_dns_update_of_a_changed_record_set_is_412(replay, arm):
    replay.serve("dns/record_update_precondition_failed")
    client = DnsClient(**arm)
    error = _refusal(
        lambda: client.update_a_record(SUB, "rg", "example.com", "erp", ["203.0.113.7"], 300, '"1111"')
    )
    assert (error.code, error.status, error.kind, error.key) == (
        "PreconditionFailed",
        412,
        KIND_REQUEST,
        "dns.PreconditionFailed",
    )
    (put,) = replay.requests
    assert put["headers"]["If-Match"] == '"1111"'


def test_dns_creation_of_a_taken_name_is_412(replay, arm):
    replay.serve("dns/record_create_exists")
    client = DnsClient(**arm)
    error = _refusal(lambda: client.create_a_record(SUB, "rg", "example.com", "erp", ["203.0.113.7"], 300))
    assert (error.code, error.status, error.kind, error.key) == (
        "PreconditionFailed",
        412,
        KIND_REQUEST,
        "dns.record_exists",
    )
    (put,) = replay.requests
    assert put["headers"]["If-None-Match"] == "*"


def test_dns_record_not_found_unwrapped_and_zone_not_found_wrapped(replay, arm):
    replay.serve("dns/record_not_found_unwrapped")
    client = DnsClient(**arm)
    assert client.get_record_set(SUB, "rg", "example.com", "missing", "A") is None
    error = _refusal(lambda: client.get_record_set(SUB, "rg", "gone.example", "erp", "A"))
    assert (error.code, error.status, error.kind, error.key) == (
        "ResourceNotFound",
        404,
        KIND_REQUEST,
        "dns.zone_not_found",
    )
