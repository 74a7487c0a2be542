# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""How Odoo proves to Microsoft Entra ID that it is the app registration:
a client secret (stored encrypted in the database), or no stored secret at
all, where Azure allows it.

The credential kind is a choice of the server (odoo.conf or the environment),
never of a record: whoever may change it decides which identity Odoo speaks
for. Kinds:

* ``secret`` (the default): the app registration's client secret, entered in
  Settings and stored encrypted.
* ``managed_identity``: the managed identity of the Azure host Odoo runs on
  (VM, App Service, Container Apps...) is a federated identity credential of
  the app registration. Odoo asks the host's managed-identity endpoint a token
  for the audience ``api://AzureADTokenExchange`` and sends it to Entra ID as
  a ``client_assertion`` (jwt-bearer) instead of the secret; the delegated
  flows (sign-in, connecting and refreshing an account) stay as they are.
  msal's own ``ManagedIdentityClient`` finds the endpoint from what Azure sets
  on the host (``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER`` on App Service and
  Container Apps, else the instance metadata service 169.254.169.254).
* ``federated_token_file``: the same with a token another issuer writes to a
  file (Kubernetes workload identity: ``AZURE_FEDERATED_TOKEN_FILE``), read at
  each use (it is rotated).
"""

import os

import msal
import requests

# server options (odoo.conf), each also read from the environment variable of the same name in
# upper case (OEC_AZURE_CLIENT_CREDENTIAL...) when the option is not set
CREDENTIAL_OPTION = "oec_azure_client_credential"
MANAGED_IDENTITY_OPTION = "oec_azure_managed_identity_client_id"
TOKEN_FILE_OPTION = "oec_azure_federated_token_file"
AUDIENCE_OPTION = "oec_azure_token_exchange_audience"

SECRET = "secret"
MANAGED_IDENTITY = "managed_identity"
TOKEN_FILE = "federated_token_file"
KINDS = (SECRET, MANAGED_IDENTITY, TOKEN_FILE)
# Microsoft Learn, "Configure an application to trust a managed identity": the audience of the
# token the managed identity presents (US Government: api://AzureADTokenExchangeUSGov, China:
# api://AzureADTokenExchangeChina; set AUDIENCE_OPTION there)
DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
# RFC 7523: a JWT as client authentication
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# what Kubernetes workload identity sets (azure-workload-identity's webhook)
TOKEN_FILE_VARIABLE = "AZURE_FEDERATED_TOKEN_FILE"
# a token file larger than this is no token
MAX_TOKEN_BYTES = 16 * 1024
TIMEOUT = 10


class CredentialError(Exception):
    """No credential could be presented: ``code`` says why (``unknown_kind``,
    ``managed_identity_unavailable``, ``managed_identity_refused``,
    ``token_file_unreadable``), ``params`` holds what its message quotes."""

    def __init__(self, code, **params):
        super().__init__(code, params)
        self.code = code
        self.params = params


def _option(options, name, environ):
    value = options.get(name)
    if value in (None, "", False):
        value = environ.get(name.upper())
    return (value or "").strip() if isinstance(value, str) else value


def credential_kind(options, environ=None):
    """The server's credential kind (see the module's doc).

    :raise CredentialError: ``unknown_kind`` for a value that is none of KINDS
    """
    environ = os.environ if environ is None else environ
    kind = (_option(options, CREDENTIAL_OPTION, environ) or SECRET).lower()
    if kind not in KINDS:
        raise CredentialError("unknown_kind", value=kind[:64], kinds=", ".join(KINDS))
    return kind


def uses_secret(options, environ=None):
    """True when the app registrations authenticate with their stored client secret."""
    return credential_kind(options, environ) == SECRET


def client_assertion(options, ca_bundle=None, timeout=TIMEOUT, environ=None):
    """A callable giving a fresh client assertion at each call (what msal's
    ``client_credential={"client_assertion": ...}`` takes), or None when the
    server uses client secrets.

    :raise CredentialError: the kind is unknown (at once); the callable raises
        it when no assertion can be had
    """
    environ = os.environ if environ is None else environ
    kind = credential_kind(options, environ)
    if kind == SECRET:
        return None
    if kind == TOKEN_FILE:
        path = _option(options, TOKEN_FILE_OPTION, environ) or environ.get(TOKEN_FILE_VARIABLE) or ""
        return lambda: read_token_file(path)
    audience = _option(options, AUDIENCE_OPTION, environ) or DEFAULT_AUDIENCE
    client_id = _option(options, MANAGED_IDENTITY_OPTION, environ) or None
    return lambda: managed_identity_token(audience, client_id, ca_bundle, timeout)


def managed_identity_token(resource, client_id=None, ca_bundle=None, timeout=TIMEOUT):
    """A token of the host's managed identity for ``resource`` (system-assigned,
    or the user-assigned one whose client id is ``client_id``), through msal.

    :raise CredentialError: the endpoint cannot be reached or refuses
    """
    identity = (
        msal.UserAssignedManagedIdentity(client_id=client_id)
        if client_id
        else msal.SystemAssignedManagedIdentity()
    )
    session = _Session(ca_bundle, timeout)
    try:
        client = msal.ManagedIdentityClient(identity, http_client=session, token_cache=msal.TokenCache())
        result = client.acquire_token_for_client(resource=resource)
    except (requests.RequestException, ValueError) as exc:
        # no endpoint on this host (not on Azure, or no identity assigned), or not JSON
        raise CredentialError("managed_identity_unavailable", detail=type(exc).__name__) from exc
    finally:
        session.close()
    if not isinstance(result, dict) or not result.get("access_token"):
        result = result if isinstance(result, dict) else {}
        detail = str(result.get("error_description") or result.get("error") or "")
        raise CredentialError(
            "managed_identity_refused", detail=detail.splitlines()[0][:300] if detail else ""
        )
    return result["access_token"]


def read_token_file(path):
    """The token in the file at ``path`` (read at each use: the issuer rotates it).

    :raise CredentialError: no such readable file, or no token in it
    """
    if not path:
        raise CredentialError("token_file_unreadable", path="", detail="no path set")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_TOKEN_BYTES + 1)
    except OSError as exc:
        raise CredentialError(
            "token_file_unreadable", path=path, detail=exc.strerror or type(exc).__name__
        ) from exc
    token = data.decode("ascii", "replace").strip()
    if not token or len(data) > MAX_TOKEN_BYTES or token.count(".") != 2:
        raise CredentialError("token_file_unreadable", path=path, detail="not a JWT")
    return token


class _Session(requests.Session):
    """Never waits forever; trusts only the CA bundle given (REQUESTS_CA_BUNDLE
    would override ``verify``) and uses no proxy: the managed-identity endpoint
    is on the host itself (169.254.169.254 or a local IDENTITY_ENDPOINT)."""

    def __init__(self, ca_bundle, timeout):
        super().__init__()
        self.trust_env = False
        self.verify = ca_bundle or True
        self.default_timeout = timeout

    def request(self, method, url, **kwargs):  # pylint: disable=arguments-differ
        kwargs["timeout"] = kwargs.get("timeout") or self.default_timeout
        return super().request(method, url, **kwargs)
