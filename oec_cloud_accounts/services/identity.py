"""Microsoft Entra ID through MSAL: authorization code + PKCE, refresh tokens.

A fresh ``ConfidentialClientApplication`` is built for every operation: MSAL
caches HTTP 400 token answers for 60 s per instance (a retry after fixing the
configuration would see the old error) and its token cache must not outlive
the call (tokens live encrypted in the database, not in memory).
"""

import re
import time
import warnings
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import msal
import requests
from msal.exceptions import MsalServiceError

from odoo.addons.oec_auth_azure.services import credentials, entra

from .errors import KIND_CLIENT, KIND_CONSENT, KIND_TRANSIENT, AzureError
from .http import DEFAULT_TIMEOUT, TimeoutSession, UnexpectedResponse, retry_after

# Authorities MSAL knows: only these may use instance discovery / validation.
MICROSOFT_AUTHORITY_HOSTS = (
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
    "login.microsoft.com",
    "login.windows.net",
)
# MSAL adds these itself and refuses them in the scope list.
RESERVED_SCOPES = {"openid", "profile", "offline_access"}


@dataclass
class TokenResult:
    """What a token answer gives us; ``refresh_token`` may be None on refresh."""

    access_token: str
    expires_at: float
    refresh_token: str = None
    tenant_id: str = None
    object_id: str = None
    username: str = None
    display_name: str = None
    scope: str = None
    claims: dict = field(default_factory=dict)

    @classmethod
    def from_msal(cls, result):
        claims = result.get("id_token_claims") or {}
        return cls(
            access_token=result["access_token"],
            expires_at=time.time() + int(result.get("expires_in") or 0),
            refresh_token=result.get("refresh_token"),
            tenant_id=claims.get("tid"),
            object_id=claims.get("oid"),
            username=claims.get("preferred_username") or claims.get("email") or claims.get("upn"),
            display_name=claims.get("name"),
            scope=result.get("scope"),
            claims=claims,
        )


# what the admin-consent endpoint's refusals are (oec_auth_azure services.entra) -> message key
ADMIN_CONSENT_KEYS = {
    "admin_consent_declined": "admin_consent.declined",
    "admin_consent_other_tenant": "admin_consent.other_tenant",
    "admin_consent_refused": "admin_consent.refused",
}


def admin_consent_answer(params):
    """The answer of Microsoft's admin-consent endpoint in a redirect's
    ``params``, or None when they are no such answer (of our link).

    :return: ``(record_id, error)``: the id of the cloud record the link was
        for (None if unknown), and None when consent was granted, else an
        AzureError (kind admin_consent, keys ``admin_consent.declined``,
        ``admin_consent.other_tenant``, ``admin_consent.refused``)
    """
    answer = entra.admin_consent_answer(params)
    if answer is None:
        return None
    record_id, refusal = answer
    if refusal is None:
        return record_id, None
    values = refusal.params
    return record_id, AzureError(
        ADMIN_CONSENT_KEYS[refusal.code],
        code=values["error"],
        aadsts=values["aadsts"],
        kind=KIND_CONSENT,
        detail=values["detail"],
        params={"detail": values["detail"]} if refusal.code == "admin_consent_refused" else None,
    )


class AzureIdentity:
    """One Azure application (client id + secret, or client assertion) in one cloud and tenant.

    ``authority_host``: e.g. ``https://login.microsoftonline.com``;
    ``interactive_authority_host``: where browsers are sent (equal on real
    clouds; the sandbox serves its pages over plain http);
    ``tenant``: a tenant id/domain or ``organizations``;
    ``client_assertion``: instead of the secret, a callable giving a fresh
    client assertion (a managed identity's or a federated token, see
    oec_auth_azure services.credentials); it raises CredentialError when it
    has none, reported as the AzureError ``credential.<code>``.
    """

    def __init__(
        self,
        authority_host,
        client_id,
        client_secret,
        tenant="organizations",
        interactive_authority_host=None,
        ca_bundle=None,
        timeout=DEFAULT_TIMEOUT,
        client_assertion=None,
    ):
        self.authority_host = authority_host.rstrip("/")
        self.interactive_authority_host = (interactive_authority_host or authority_host).rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.client_assertion = client_assertion
        self.tenant = tenant or "organizations"
        self.ca_bundle = ca_bundle
        self.timeout = timeout

    @property
    def authority(self):
        return "%s/%s" % (self.authority_host, self.tenant)

    @property
    def is_microsoft(self):
        return urlsplit(self.authority_host).hostname in MICROSOFT_AUTHORITY_HOSTS

    # -- remote calls, one method each ----------------------------------------------------------

    def start_flow(
        self, scopes, redirect_uri, state, login_hint=None, prompt="select_account", response_mode="fragment"
    ):
        """The MSAL auth-code flow (PKCE S256, nonce, our ``state``): keep it
        server side and send the browser to ``flow["auth_uri"]``.

        ``response_mode``: how Microsoft hands the answer to ``redirect_uri``
        (see below why the fragment)."""
        app = self._app()
        with warnings.catch_warnings():
            # MSAL recommends response_mode=form_post, but a cross-site POST does
            # not carry Odoo's SameSite=Lax session cookie, to which the state is
            # bound; query would put the code in access logs and history. The
            # fragment reaches only the browser, whose page at the redirect URI
            # posts it back same-origin (the callback's fragment page).
            warnings.simplefilter("ignore", UserWarning)
            flow = app.initiate_auth_code_flow(
                self._scopes(scopes),
                redirect_uri=redirect_uri,
                state=state,
                prompt=prompt,
                login_hint=login_hint,
                response_mode=response_mode,
            )
        if "error" in flow:
            raise AzureError.from_oauth(flow.get("error"), flow.get("error_description"))
        return flow

    def redeem(self, flow, auth_response, scopes):
        """Exchange the authorization code; raises AzureError for every failure,
        including the error the browser came back with (e.g. access_denied)."""
        if auth_response.get("error"):
            raise AzureError.from_oauth(auth_response.get("error"), auth_response.get("error_description"))
        session = self._session()
        app = self._app(session)
        try:
            result = app.acquire_token_by_auth_code_flow(flow, auth_response, scopes=self._scopes(scopes))
        except (requests.RequestException, MsalServiceError) as exc:
            raise _transport_error(exc) from exc
        except credentials.CredentialError as exc:
            raise _credential_error(exc) from exc
        except ValueError as exc:
            # MSAL checks the answer's state against the flow before any call:
            # a ValueError here means the answer does not belong to the flow
            raise AzureError(
                "oauth.state_mismatch",
                code="state_mismatch",
                detail=str(exc)[:300],
            ) from exc
        return self._result(result, session)

    def refresh(self, refresh_token, scopes):
        """A new access token (and usually a new refresh token)."""
        session = self._session()
        app = self._app(session)
        try:
            result = app.acquire_token_by_refresh_token(refresh_token, scopes=self._scopes(scopes))
        except (requests.RequestException, MsalServiceError) as exc:
            raise _transport_error(exc) from exc
        except credentials.CredentialError as exc:
            raise _credential_error(exc) from exc
        return self._result(result, session)

    def admin_consent_url(self, redirect_uri, scopes, tenant=None, state=None):
        """Where an administrator grants consent for the whole tenant: Microsoft's
        v2.0 adminconsent endpoint, which requires ``scope`` (the resources'
        ``/.default``, e.g. ARM's: the app registration's permissions on it)."""
        params = {"client_id": self.client_id, "scope": " ".join(scopes), "redirect_uri": redirect_uri}
        if state:
            params["state"] = state
        return entra.admin_consent_url(self.interactive_authority_host, tenant or self.tenant, params)

    # -- helpers ---------------------------------------------------------------------------------

    def _session(self):
        return TimeoutSession(self.ca_bundle, self.timeout)

    def _app(self, session=None):
        custom = not self.is_microsoft
        try:
            return msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=(
                    {"client_assertion": self.client_assertion}
                    if self.client_assertion
                    else self.client_secret
                ),
                authority=self.authority,
                validate_authority=not custom,
                instance_discovery=False if custom else None,
                http_client=session or self._session(),
                timeout=self.timeout,
                token_cache=msal.TokenCache(),
            )
        except (requests.RequestException, MsalServiceError) as exc:
            raise _transport_error(exc) from exc
        except ValueError as exc:  # MSAL: the authority's metadata could not be read
            raise AzureError(
                "oauth.invalid_authority",
                code="invalid_authority",
                params={"authority": self.authority},
                kind=KIND_TRANSIENT if "status" not in str(exc).lower() else "client",
                detail=str(exc)[:300],
            ) from exc

    @staticmethod
    def _scopes(scopes):
        return [s for s in scopes if s not in RESERVED_SCOPES]

    @staticmethod
    def _result(result, session):
        if not result or "access_token" not in result:
            result = result or {}
            error = AzureError.from_oauth(
                result.get("error") or "unknown_error",
                result.get("error_description"),
                result.get("error_codes"),
            )
            # MSAL keeps a throttled answer's body, not its Retry-After: the session saw it
            error.retry_after = session.retry_after
            raise error
        return TokenResult.from_msal(result)


def _credential_error(exc):
    """The AzureError for a client assertion that could not be had (services.credentials):
    the host's managed identity or its token file, a matter of the server's configuration."""
    transient = exc.code == "managed_identity_unavailable"
    return AzureError(
        "credential.%s" % exc.code,
        code=exc.code,
        kind=KIND_TRANSIENT if transient else KIND_CLIENT,
        detail=str(exc.params.get("detail") or "")[:300],
        params={"detail": exc.params.get("detail") or "", "path": exc.params.get("path") or ""},
    )


def _transport_error(exc):
    """The AzureError for a call that gave no usable token answer."""
    if isinstance(exc, UnexpectedResponse):
        response = exc.response
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error"):
            # a server error in Entra ID's own words (e.g. AADSTS90033)
            error = AzureError.from_oauth(
                body["error"], body.get("error_description"), body.get("error_codes"), response.status_code
            )
        else:
            error = _unexpected_answer(response.status_code, response.headers.get("Content-Type"))
        error.retry_after = retry_after(response)
        return error
    if isinstance(exc, MsalServiceError):
        # MSAL's own "HTTP Error: <status>", for an error status it could not parse
        match = re.match(r"HTTP Error: (\d{3})$", str(exc.args[0]) if exc.args else "")
        return _unexpected_answer(int(match.group(1)) if match else None, str(exc)[:300])
    return AzureError.network(exc)


def _unexpected_answer(status, detail):
    """Not an OAuth answer (a proxy's error page, a server error): retried later."""
    return AzureError(
        "oauth.unexpected_answer",
        code="unexpected_response",
        kind=KIND_TRANSIENT,
        status=status,
        detail=(detail or "")[:300],
        params={"status": status or "?"},
    )
