"""Entra ID's token endpoint: its documented error answers to a refresh, through MSAL."""

from urllib.parse import parse_qs

import pytest
from replay import load

from odoo.addons.oec_cloud_accounts.services.errors import (
    KIND_CLIENT,
    KIND_CONSENT,
    KIND_DENIED,
    KIND_GRANT,
    AzureError,
)
from odoo.addons.oec_cloud_accounts.services.identity import AzureIdentity

CLIENT_ID = "00001111-aaaa-2222-bbbb-3333cccc4444"
ARM_SCOPE = "https://management.azure.com/user_impersonation"


def _identity(replay):
    # the replay is no Microsoft host: MSAL reads the authority's OpenID configuration first
    return AzureIdentity(replay.base, CLIENT_ID, "secret-value", ca_bundle=replay.ca_path, timeout=5)


@pytest.mark.parametrize(
    "fixture, status, code, aadsts, kind, key",
    [
        ("refresh_expired_inactive", 400, "invalid_grant", "700082", KIND_GRANT, "aadsts.700082"),
        ("refresh_expired", 400, "invalid_grant", "70008", KIND_GRANT, "aadsts.70008"),
        ("mfa_required", 400, "invalid_grant", "50076", KIND_GRANT, "aadsts.50076"),
        ("interaction_required", 400, "interaction_required", "50076", KIND_GRANT, "aadsts.50076"),
        ("consent_required", 400, "consent_required", "65001", KIND_CONSENT, "aadsts.65001"),
        ("admin_consent_required", 400, "invalid_grant", "90094", KIND_CONSENT, "aadsts.90094"),
        ("invalid_client_secret", 401, "invalid_client", "7000215", KIND_CLIENT, "aadsts.7000215"),
        ("application_not_found", 400, "unauthorized_client", "700016", KIND_CLIENT, "aadsts.700016"),
    ],
)
def test_refresh_refused(replay, fixture, status, code, aadsts, kind, key):
    replay.serve("entra/openid_configuration")
    recorded = replay.serve("entra/" + fixture)["exchanges"][0]
    assert recorded["status"] == status
    with pytest.raises(AzureError) as caught:
        _identity(replay).refresh("recorded-refresh-token", ["openid", "offline_access", ARM_SCOPE])
    error = caught.value
    assert (error.code, error.aadsts, error.kind, error.key) == (code, aadsts, kind, key)
    assert error.reference == "AADSTS" + aadsts
    # Azure's first line, without the trace lines that follow it
    assert error.detail == recorded["body"]["error_description"].split("\r\n")[0]
    assert "Trace ID" not in error.detail
    discovery, token = replay.requests
    assert (discovery["method"], discovery["path"]) == (
        "GET",
        "/organizations/v2.0/.well-known/openid-configuration",
    )
    assert (token["method"], token["path"]) == ("POST", "/organizations/oauth2/v2.0/token")
    sent = parse_qs(token["body"])
    assert sent["grant_type"] == ["refresh_token"]
    assert sent["refresh_token"] == ["recorded-refresh-token"]
    assert sent["client_id"] == [CLIENT_ID]
    assert ARM_SCOPE in sent["scope"][0].split()


def test_consent_declined_or_left_is_denied(replay):
    """The authorize redirect of a person who cancelled (or could only leave "Need admin approval")."""
    answer = dict(load("entra/authorize_cancelled")["redirect"])
    with pytest.raises(AzureError) as caught:
        _identity(replay).redeem({"state": answer["state"]}, answer, [ARM_SCOPE])
    error = caught.value
    assert (error.code, error.aadsts, error.kind, error.key) == (
        "access_denied",
        "65004",
        KIND_DENIED,
        "aadsts.65004",
    )
    assert error.detail == "AADSTS65004: User declined to consent to access the app."
    assert replay.requests == []  # nothing is redeemed
