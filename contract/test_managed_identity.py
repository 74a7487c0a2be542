"""No stored secret: the host's managed identity (or a federated token file) proves to Entra ID
that Odoo is the app registration, through msal's ManagedIdentityClient and a jwt-bearer client
assertion; Entra ID's documented refusals of such an assertion."""

from urllib.parse import parse_qs

import pytest

from odoo.addons.oec_auth_azure.services import credentials
from odoo.addons.oec_cloud_accounts.services.errors import KIND_CLIENT, AzureError
from odoo.addons.oec_cloud_accounts.services.identity import AzureIdentity

CLIENT_ID = "00001111-aaaa-2222-bbbb-3333cccc4444"
ARM_SCOPE = "https://management.azure.com/user_impersonation"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
IDENTITY_HEADER = "recorded-identity-header"


@pytest.fixture
def host(monkeypatch):
    """A host without any managed-identity variable of its own (this machine's are not ours)."""
    for name in (
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "IDENTITY_SERVER_THUMBPRINT",
        "MSI_ENDPOINT",
        "MSI_SECRET",
        "IMDS_ENDPOINT",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        "AZURE_FEDERATED_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _identity(replay, options):
    assertion = credentials.client_assertion(options, ca_bundle=replay.ca_path, timeout=5)
    return AzureIdentity(
        replay.base, CLIENT_ID, None, ca_bundle=replay.ca_path, timeout=5, client_assertion=assertion
    )


def _refused(replay, options):
    with pytest.raises(AzureError) as caught:
        _identity(replay, options).refresh("recorded-refresh-token", ["openid", "offline_access", ARM_SCOPE])
    return caught.value


@pytest.mark.parametrize(
    "fixture, aadsts",
    [("federated_subject_mismatch", "700213"), ("federated_no_matching_record", "70021")],
)
def test_app_service_identity_is_the_client_assertion(replay, host, fixture, aadsts):
    host.setenv("IDENTITY_ENDPOINT", replay.base + "/msi/token")
    host.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    replay.serve("entra/openid_configuration")
    minted = replay.serve("entra/managed_identity_app_service")["exchanges"][0]["body"]
    recorded = replay.serve("entra/" + fixture)["exchanges"][0]
    error = _refused(replay, {"oec_azure_client_credential": "managed_identity"})
    assert (error.code, error.aadsts, error.kind, error.key) == (
        "invalid_client",
        aadsts,
        KIND_CLIENT,
        "aadsts." + aadsts,
    )
    assert error.detail == recorded["body"]["error_description"].split("\r\n")[0]
    discovery, identity, token = replay.requests
    assert discovery["path"] == "/organizations/v2.0/.well-known/openid-configuration"
    # msal's App Service call: the host's secret header, the token-exchange audience
    assert identity["path"] == "/msi/token"
    assert identity["headers"]["X-Identity-Header"] == IDENTITY_HEADER
    assert identity["query"] == {"api-version": "2019-08-01", "resource": "api://AzureADTokenExchange"}
    sent = parse_qs(token["body"])
    assert sent["client_assertion_type"] == [JWT_BEARER]
    assert sent["client_assertion"] == [minted["access_token"]]
    # no secret of any kind went out
    assert "client_secret" not in sent
    assert "Authorization" not in token["headers"]
    assert sent["grant_type"] == ["refresh_token"]


def test_user_assigned_identity_on_a_vm(replay, host):
    """IMDS (here at the replay's address, as AZURE_POD_IDENTITY_AUTHORITY_HOST lets msal reach it)
    with the client id of a user-assigned identity; the audience of another cloud."""
    host.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", replay.base)
    replay.serve(
        "entra/openid_configuration", "entra/managed_identity_imds", "entra/federated_subject_mismatch"
    )
    options = {
        "oec_azure_client_credential": "managed_identity",
        "oec_azure_managed_identity_client_id": "22223333-cccc-4444-dddd-5555eeee6666",
    }
    error = _refused(replay, options)
    assert error.aadsts == "700213"
    imds = replay.requests[1]
    assert imds["headers"]["Metadata"] == "true"
    assert imds["query"]["client_id"] == "22223333-cccc-4444-dddd-5555eeee6666"
    assert imds["query"]["resource"] == "api://AzureADTokenExchange"


def test_no_identity_on_the_vm_is_said_before_entra(replay, host):
    host.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", replay.base)
    replay.serve("entra/openid_configuration", "entra/managed_identity_imds_not_found")
    error = _refused(replay, {"oec_azure_client_credential": "managed_identity"})
    assert (error.key, error.kind) == ("credential.managed_identity_refused", KIND_CLIENT)
    assert error.params["detail"] == "Identity not found"
    # nothing was sent to the token endpoint
    assert [r["path"] for r in replay.requests] == [
        "/organizations/v2.0/.well-known/openid-configuration",
        "/metadata/identity/oauth2/token",
    ]


def test_federated_token_file_is_read_at_each_use(replay, host, tmp_path):
    token_file = tmp_path / "azure-identity-token"
    host.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    replay.serve("entra/openid_configuration", "entra/federated_no_matching_record")
    options = {"oec_azure_client_credential": "federated_token_file"}
    error = _refused(replay, options)
    assert (error.key, error.kind) == ("credential.token_file_unreadable", KIND_CLIENT)
    assert error.params["path"] == str(token_file)
    token_file.write_text(
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6b2RvbzpvZG9vIn0.sig\n"
    )
    error = _refused(replay, options)
    assert error.aadsts == "70021"
    sent = parse_qs(replay.requests[-1]["body"])
    assert sent["client_assertion"] == [token_file.read_text().strip()]
    assert "client_secret" not in sent


def test_unknown_kind_is_refused_at_once():
    with pytest.raises(credentials.CredentialError) as caught:
        credentials.client_assertion({"oec_azure_client_credential": "certificate"})
    assert caught.value.code == "unknown_kind"
    assert credentials.client_assertion({}) is None
    assert credentials.client_assertion({}, environ={"OEC_AZURE_CLIENT_CREDENTIAL": "managed_identity"})
