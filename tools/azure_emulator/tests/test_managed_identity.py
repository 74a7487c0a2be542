"""Managed identities: the host's token endpoints (App Service and IMDS) through msal's
ManagedIdentityClient, and their tokens as client assertions at the token endpoint, checked
against the app registration's federated credentials."""

import jwt
import msal
import pytest
from azure_emulator import defaults as d
from conftest import contract_fixture

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def host(monkeypatch):
    for name in (
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "IDENTITY_SERVER_THUMBPRINT",
        "MSI_ENDPOINT",
        "MSI_SECRET",
        "IMDS_ENDPOINT",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _issuer(emu):
    return "%s/%s/v2.0" % (emu.endpoints["authority_host"], d.TENANT_ID)


def _mi_token(http, identity=None):
    client = msal.ManagedIdentityClient(identity or msal.SystemAssignedManagedIdentity(), http_client=http)
    return client.acquire_token_for_client(resource=d.TOKEN_EXCHANGE_AUDIENCE)


def test_app_service_endpoint_answers_like_azure(emu, http, host):
    host.setenv("IDENTITY_ENDPOINT", emu.endpoints["identity_endpoint"])
    host.setenv("IDENTITY_HEADER", d.MANAGED_IDENTITY_HEADER)
    result = _mi_token(http)
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert (claims["iss"], claims["sub"], claims["aud"]) == (
        _issuer(emu),
        d.MANAGED_IDENTITY_PRINCIPAL_ID,
        d.TOKEN_EXCHANGE_AUDIENCE,
    )
    # the same fields as Azure's answer
    recorded = contract_fixture("entra/managed_identity_app_service")["exchanges"][0]
    raw = http.get(
        emu.endpoints["identity_endpoint"],
        params=recorded["query"],
        headers={"X-IDENTITY-HEADER": d.MANAGED_IDENTITY_HEADER},
        timeout=5,
    )
    assert raw.status_code == recorded["status"]
    assert set(raw.json()) == set(recorded["body"])
    # without the host's header: refused
    host.setenv("IDENTITY_HEADER", "another")
    assert "access_token" not in _mi_token(http)


def test_imds_answers_like_azure(emu, http, host):
    host.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.endpoints["imds"])
    user_assigned = emu.control.add_managed_identity()
    result = _mi_token(http, msal.UserAssignedManagedIdentity(client_id=user_assigned["client_id"]))
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["sub"] == user_assigned["principal_id"]
    recorded = contract_fixture("entra/managed_identity_imds")["exchanges"][0]
    raw = http.get(
        emu.endpoints["imds"] + recorded["path"],
        params=recorded["query"],
        headers={"Metadata": "true"},
        timeout=5,
    )
    assert set(raw.json()) - {"client_id", "ext_expires_in"} == set(recorded["body"]) - {"refresh_token"}
    missing = http.get(
        emu.endpoints["imds"] + recorded["path"],
        params=dict(recorded["query"], client_id="nobody"),
        headers={"Metadata": "true"},
        timeout=5,
    )
    assert (missing.status_code, missing.json()) == (
        400,
        contract_fixture("entra/managed_identity_imds_not_found")["exchanges"][0]["body"],
    )
    no_header = http.get(emu.endpoints["imds"] + recorded["path"], params=recorded["query"], timeout=5)
    assert no_header.status_code == 400


def _app(emu, http, assertion):
    return msal.ConfidentialClientApplication(
        d.CLOUD_CLIENT_ID,
        client_credential={"client_assertion": assertion},
        authority="%s/%s" % (emu.endpoints["authority_host"], d.TENANT_ID),
        instance_discovery=False,
        http_client=http,
    )


def test_client_assertion_checked_against_federated_credentials(emu, http, host):
    host.setenv("IDENTITY_ENDPOINT", emu.endpoints["identity_endpoint"])
    host.setenv("IDENTITY_HEADER", d.MANAGED_IDENTITY_HEADER)
    refresh = emu.control.mint_refresh_token()["refresh_token"]

    def redeem():
        app = _app(emu, http, lambda: _mi_token(http)["access_token"])
        return app.acquire_token_by_refresh_token(refresh, scopes=[d.ARM_USER_IMPERSONATION])

    # no federated credential: AADSTS70021, the body shaped as the recorded one
    recorded = contract_fixture("entra/federated_no_matching_record")["exchanges"][0]["body"]
    answer = redeem()
    assert answer["error"] == recorded["error"] and answer["error_codes"] == recorded["error_codes"]
    assert set(answer) >= set(recorded)
    # a federated credential for another subject: AADSTS700213
    emu.control.trust_managed_identity(
        d.CLOUD_CLIENT_ID, d.MANAGED_IDENTITY_PRINCIPAL_ID.upper(), _issuer(emu)
    )
    answer = redeem()
    assert answer["error_codes"] == [700213]
    assert "'%s'" % d.MANAGED_IDENTITY_PRINCIPAL_ID in answer["error_description"]
    # the right one: tokens, and the request log says an assertion was sent, no secret
    emu.control.trust_managed_identity(d.CLOUD_CLIENT_ID, d.MANAGED_IDENTITY_PRINCIPAL_ID, _issuer(emu))
    answer = redeem()
    assert answer.get("access_token"), answer
    token_calls = [r for r in emu.control.requests() if r["path"].endswith("/oauth2/v2.0/token")]
    assert [r["client_auth"] for r in token_calls] == ["assertion"] * 3


def test_expired_or_foreign_assertion(emu, http):
    emu.control.trust_managed_identity(
        d.CLOUD_CLIENT_ID, "system:serviceaccount:odoo:odoo", "https://oidc.example.test/"
    )
    refresh = emu.control.mint_refresh_token()["refresh_token"]
    expired = emu.control.federated_token(
        "https://oidc.example.test/", "system:serviceaccount:odoo:odoo", ttl=-60
    )
    answer = _app(emu, http, lambda: expired).acquire_token_by_refresh_token(
        refresh, scopes=[d.ARM_USER_IMPERSONATION]
    )
    assert answer["error_codes"] == [700024]
    good = emu.control.federated_token("https://oidc.example.test/", "system:serviceaccount:odoo:odoo")
    answer = _app(emu, http, lambda: good).acquire_token_by_refresh_token(
        refresh, scopes=[d.ARM_USER_IMPERSONATION]
    )
    assert answer.get("access_token"), answer
    # an assertion that is no token of a known key
    answer = _app(emu, http, lambda: "a.b.c").acquire_token_by_refresh_token(
        refresh, scopes=[d.ARM_USER_IMPERSONATION]
    )
    assert answer["error"] == "invalid_client"
