"""services/identity.py (msal) and services/arm.py against the emulator: every
failure is one typed AzureError."""

import logging
import os
import time
from unittest.mock import patch

import pytest
from azure_emulator import defaults as d
from conftest import REDIRECT_URI, SCOPES, answer_consent, make_identity

from odoo.addons.oec_cloud_accounts.services import ArmClient, AzureError
from odoo.addons.oec_cloud_accounts.services.errors import (
    KIND_ACCESS,
    KIND_CLIENT,
    KIND_GRANT,
    KIND_TRANSIENT,
)


def make_arm(emu, token, **options):
    """An ARM client, as cloud.azure.environment._arm() builds it."""
    return ArmClient(
        emu.endpoints["arm"],
        d.ARM_RESOURCE.rstrip("/") + "/.default",
        token.access_token,
        token.expires_at,
        ca_bundle=emu.ca_path,
        **options,
    )


def test_refresh_errors_are_typed(emu, identity, signed_in):
    refresh_token = signed_in.refresh_token
    assert identity.refresh(refresh_token, SCOPES).access_token

    emu.control.inject_fault(service="entra", path="/token", status=503, code="temporarily_unavailable")
    with pytest.raises(AzureError) as caught:
        identity.refresh(refresh_token, SCOPES)
    assert caught.value.kind == KIND_TRANSIENT

    with pytest.raises(AzureError) as caught:
        make_identity(emu, secret="not-the-secret").refresh(refresh_token, SCOPES)
    assert (caught.value.kind, caught.value.aadsts) == (KIND_CLIENT, "7000215")
    assert caught.value.key == "aadsts.7000215"

    emu.control.expire_refresh_tokens()
    with pytest.raises(AzureError) as caught:
        identity.refresh(refresh_token, SCOPES)
    assert (caught.value.kind, caught.value.aadsts) == (KIND_GRANT, "700082")


def test_throttled_token_answers_keep_their_retry_after(emu, identity, signed_in):
    """MSAL returns a throttled answer's body without its headers: the Retry-After is read from
    our session, for a JSON answer (429) as for a server error (503)."""
    for status in (429, 503):
        emu.control.inject_fault(
            service="entra", path="/token", status=status, headers={"Retry-After": "120"}
        )
        with pytest.raises(AzureError) as caught:
            identity.refresh(signed_in.refresh_token, SCOPES)
        emu.control.clear_faults()
        assert (caught.value.kind, caught.value.retry_after) == (KIND_TRANSIENT, 120), status
    emu.control.inject_fault(service="entra", path="/token", status=500)
    with pytest.raises(AzureError) as caught:
        identity.refresh(signed_in.refresh_token, SCOPES)
    assert caught.value.retry_after is None


def test_account_errors_are_told_apart(emu, identity, signed_in):
    """AzureError.of_account: the account's sign-in or rights failed (its state, Reconnect),
    not the resource worked on, and never a transient failure."""
    arm = make_arm(emu, signed_in, retries=0)
    cases = [
        ({"status": 401, "code": "InvalidAuthenticationToken"}, True),
        ({"status": 403, "code": "AuthorizationFailed"}, True),
        ({"status": 401, "code": "ExpiredAuthenticationToken"}, False),
        ({"status": 409, "code": "MissingSubscriptionRegistration"}, False),
        ({"status": 400, "code": "RequestDisallowedByPolicy"}, False),
        ({"status": 404, "code": "ResourceGroupNotFound"}, False),
        ({"status": 503, "code": "ServiceUnavailable"}, False),
    ]
    for fault, of_account in cases:
        emu.control.clear_faults()
        emu.control.inject_fault(service="arm", path="/subscriptions", count=5, **fault)
        with pytest.raises(AzureError) as caught:
            arm.list_subscriptions()
        assert caught.value.of_account is of_account, fault
    emu.control.clear_faults()
    emu.control.revoke_refresh_tokens()
    with pytest.raises(AzureError) as caught:
        identity.refresh(signed_in.refresh_token, SCOPES)
    assert caught.value.of_account
    emu.control.inject_fault(service="entra", path="/token", status=503, code="temporarily_unavailable")
    with pytest.raises(AzureError) as caught:
        identity.refresh(signed_in.refresh_token, SCOPES)
    assert not caught.value.of_account


def test_arm_errors_are_typed(emu, signed_in):
    # no retry: azure-core would honour the Retry-After (7 s) before giving up
    arm = make_arm(emu, signed_in, retries=0)
    emu.control.inject_fault(
        service="arm", path="/subscriptions", status=429, count=5, headers={"Retry-After": "7"}
    )
    with pytest.raises(AzureError) as caught:
        arm.list_subscriptions()
    assert caught.value.kind == KIND_TRANSIENT
    assert caught.value.retry_after == 7
    emu.control.clear_faults()
    emu.control.inject_fault(service="arm", path="/subscriptions", status=403, code="AuthorizationFailed")
    with pytest.raises(AzureError) as caught:
        arm.list_subscriptions()
    error = caught.value
    assert (error.key, error.kind) == ("arm.AuthorizationFailed", KIND_ACCESS)
    assert error.code == "AuthorizationFailed"


@pytest.mark.parametrize("status", [200, 400, 502])
def test_unexpected_answers_are_typed(emu, identity, signed_in, status, caplog):
    """A proxy's page or a server error: a transient AzureError with the real
    HTTP status, never MSAL's JSONDecodeError."""
    emu.control.inject_fault(
        service="entra", path="/token", status=status, body="<html><body>Proxy says no</body></html>"
    )
    with caplog.at_level(logging.ERROR, logger="msal"), pytest.raises(AzureError) as caught:
        identity.refresh(signed_in.refresh_token, SCOPES)
    assert not [r for r in caplog.records if r.name.startswith("msal")]
    error = caught.value
    assert (error.kind, error.code, error.status) == (KIND_TRANSIENT, "unexpected_response", status)
    assert (error.key, error.params) == ("oauth.unexpected_answer", {"status": status})


def test_server_error_keeps_its_aadsts_and_redemption_errors(emu, identity, signed_in, browser):
    # a server error in Entra ID's own words keeps its AADSTS code
    emu.control.inject_fault(service="entra", path="/token", status=500, aadsts="90033")
    with pytest.raises(AzureError) as caught:
        identity.refresh(signed_in.refresh_token, SCOPES)
    assert (caught.value.kind, caught.value.aadsts) == (KIND_TRANSIENT, "90033")
    # the code redemption: an HTML page is not reported as a state mismatch
    flow = identity.start_flow(SCOPES, REDIRECT_URI, "test-state")
    params = answer_consent(browser, flow["auth_uri"])
    emu.control.inject_fault(service="entra", path="/token", status=200, body="<html>proxy</html>")
    with pytest.raises(AzureError) as caught:
        identity.redeem(flow, params, SCOPES)
    assert caught.value.code == "unexpected_response"
    # while an answer to another sign-in still is one
    flow = identity.start_flow(SCOPES, REDIRECT_URI, "test-state")
    params = answer_consent(browser, flow["auth_uri"])
    with pytest.raises(AzureError) as caught:
        identity.redeem(flow, dict(params, state="another-state"), SCOPES)
    assert caught.value.code == "state_mismatch"


def test_proxy_variables_are_honoured(emu, identity, signed_in, connect_proxy):
    """Token calls go through HTTPS_PROXY like the Azure SDK's, with the CA
    bundle still the configured one; NO_PROXY is honoured too."""
    proxy = connect_proxy
    port = emu.url.rsplit(":", 1)[1]
    environ = {"HTTPS_PROXY": proxy.url, "https_proxy": proxy.url, "NO_PROXY": "", "no_proxy": ""}
    with patch.dict(os.environ, environ):
        token = identity.refresh(signed_in.refresh_token, SCOPES)
        assert "127.0.0.1:%s" % port in proxy.tunnels, "the token call used the proxy"
        tunnels = len(proxy.tunnels)
        make_arm(emu, token).list_subscriptions()
        assert len(proxy.tunnels) > tunnels, "ARM calls used the proxy"
    tunnels = len(proxy.tunnels)
    with patch.dict(os.environ, dict(environ, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")):
        identity.refresh(token.refresh_token, SCOPES)
    assert len(proxy.tunnels) == tunnels, "NO_PROXY is honoured"


def test_sdk_request_headers_stay_out_of_the_log(emu, signed_in, caplog):
    """A server logging at INFO: azure-core's request and response headers stay out."""
    caplog.set_level(logging.INFO)
    make_arm(emu, signed_in).list_subscriptions()
    assert [r for r in caplog.records if r.name.startswith("msal") or r.name.startswith("azure")] == []


def _timed_list(emu, arm):
    """list_subscriptions() after two server errors: (seconds, subscriptions)."""
    emu.control.inject_fault(service="arm", path=r"/subscriptions\?", status=500, count=2)
    started = time.monotonic()
    subscriptions = arm.list_subscriptions()
    return time.monotonic() - started, subscriptions


def test_arm_retry_backoff_is_a_parameter(emu, signed_in):
    """azure-core retries at once, then waits 0.5 s * 2 (backoff=1); backoff=0 never waits."""
    waited, subscriptions = _timed_list(emu, make_arm(emu, signed_in, retries=2))
    assert subscriptions and waited >= 1.0
    waited, subscriptions = _timed_list(emu, make_arm(emu, signed_in, retries=2, backoff=0))
    assert subscriptions and waited < 0.9
    # one retry less than errors: the second one is the answer
    with pytest.raises(AzureError) as caught:
        _timed_list(emu, make_arm(emu, signed_in, retries=1, backoff=0))
    assert caught.value.status == 500
