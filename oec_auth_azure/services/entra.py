# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Microsoft Entra ID and Graph for the sign-in: OpenID discovery, signing
keys (JWKS, with key rotation), id_token verification, code redemption and
Graph paging, over ``requests`` with a timeout and the CA bundle given.

Failures a person must hear about raise :class:`EntraError` with a code (and
values in ``params``); the Odoo layer turns the code into a translated message.
"""

import hashlib
import hmac
import logging
import re
import threading
import time
from urllib.parse import urlencode

import jwt
import requests
from jwt.utils import base64url_encode

from .urls import GUID_RE, TENANT_ALIASES, origin, split_url

_logger = logging.getLogger(__name__)

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_GRAPH = "https://graph.microsoft.com"
# The tenant of personal Microsoft accounts (what /consumers signs in to).
MSA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
TIMEOUT = 10
# Clock skew tolerated on exp/iat/nbf, in seconds.
LEEWAY = 120
JWKS_TTL = 24 * 3600
# At most this many JWKS downloads per key set and minute: an unknown `kid`
# triggers one, and the id_token of the implicit flow comes from the browser.
JWKS_REFRESH_BUDGET = 6
# Group overage: at most this many Graph pages (999 groups each) are read.
GRAPH_MAX_PAGES = 20
GRAPH_GROUP_TYPE = "#microsoft.graph.group"
# Delegated Graph permissions that let the signed-in user list their own
# memberships (Graph reference, "List a user's memberships (direct and
# transitive)", least privileged first), compared without case. A token asked
# for the OpenID Connect scopes only carries those (``scp: openid profile
# email``): Entra adds no User.Read.
MEMBERSHIP_PERMISSIONS = (
    "user.read",
    "user.read.all",
    "groupmember.read.all",
    "group.read.all",
    "directory.read.all",
    "directory.readwrite.all",
)
# The ``state`` our admin-consent links send (and Microsoft sends back), then
# ":" and the id of the record the link is for: the redirect's only sure mark
# (a refusal may come back without ``admin_consent``).
ADMIN_CONSENT_STATE = "oec_admin_consent"
AADSTS_RE = re.compile(r"AADSTS(\d+)")

# Process-wide caches: signing keys and domain -> tenant id are public data
# that every worker may share; nothing here is per user.
_jwks_cache = {}
_tenant_cache = {}
_cache_lock = threading.Lock()


class EntraError(Exception):
    """A refused or failed step of the sign-in: ``code`` says which, ``params``
    holds the values its message quotes."""

    def __init__(self, code, **params):
        super().__init__(code, params)
        self.code = code
        self.params = params


def clear_caches():
    """Forget the signing keys and resolved domains of this process."""
    with _cache_lock:
        _jwks_cache.clear()
        _tenant_cache.clear()


def _browser_origin(url):
    parts = split_url(url or DEFAULT_AUTHORITY)
    if parts is None or not parts.netloc:
        parts = split_url(DEFAULT_AUTHORITY)
    return "%s://%s" % (parts.scheme, parts.netloc)


def authorize_url(current, tenant):
    """The authorize endpoint of ``tenant`` on the browser host of ``current``
    (Azure public cloud, a sovereign cloud or the sandbox)."""
    return "%s/%s/oauth2/v2.0/authorize" % (_browser_origin(current), (tenant or "organizations").strip())


def end_session_url(auth_endpoint, tenant, params):
    """Microsoft's end_session_endpoint on the browser host of the authorization URL."""
    return "%s/%s/oauth2/v2.0/logout?%s" % (_browser_origin(auth_endpoint), tenant, urlencode(params))


def admin_consent_url(auth_endpoint, tenant, params):
    """Microsoft's admin-consent page (opened in the browser)."""
    if tenant.lower() in ("common", "consumers"):
        tenant = "organizations"
    return "%s/%s/v2.0/adminconsent?%s" % (_browser_origin(auth_endpoint), tenant, urlencode(params))


def retry_after(value):
    """Seconds of a ``Retry-After`` header in its delta-seconds form, else None."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def graph_only_scope(scope, graph):
    """Whether ``scope`` names Microsoft Graph permissions only (short names,
    or URIs of the Graph host ``graph``): a token for another API is what
    Graph refuses with 401 whatever the user does."""
    prefix = graph.rstrip("/").lower() + "/"
    return all("/" not in name or name.lower().startswith(prefix) for name in scope.split())


def groups_scope(scope):
    """``scope`` with User.Read added, for a sign-in that may have to read the
    user's groups from Graph (group overage): unchanged when it already names
    a permission that allows it, or names a resource (another API, or Graph's
    ``.default``, which cannot be mixed with named permissions)."""
    names = scope.split()
    if any("/" in name for name in names) or {n.lower() for n in names} & set(MEMBERSHIP_PERMISSIONS):
        return scope
    return " ".join(names + ["User.Read"])


def admin_consent_state(record_id):
    """The ``state`` of an admin-consent link for the record ``record_id``."""
    return "%s:%s" % (ADMIN_CONSENT_STATE, record_id)


def admin_consent_answer(params):
    """What the redirect of Microsoft's admin-consent endpoint says, or None
    when ``params`` are not such a redirect (of one of our links).

    :return: ``(record_id, error)``: the id the link's state names (None if
        none), and None when consent was granted, else an EntraError:
        ``admin_consent_declined`` (the consent page was cancelled, or the
        account that signed in may not consent for the organisation: "Need
        admin approval"), ``admin_consent_other_tenant`` (AADSTS50020) or
        ``admin_consent_refused``; its params hold ``reference`` (the AADSTS
        number, else the error code) and ``detail`` (Microsoft's first line).
    """
    state = params.get("state")
    state = state if isinstance(state, str) else ""
    ours = state == ADMIN_CONSENT_STATE or state.startswith(ADMIN_CONSENT_STATE + ":")
    if not ours and not params.get("admin_consent"):
        return None
    record = state.partition(":")[2]
    record_id = int(record) if record.isascii() and record.isdigit() and len(record) < 10 else None
    error = str(params.get("error") or "")[:64]
    if not error:
        return record_id, None
    # it comes through the browser: anybody can send 60 KB there
    description = str(params.get("error_description") or "")[:1000]
    match = AADSTS_RE.search(description[:200])
    aadsts = match.group(1) if match else None
    if aadsts == "50020":
        code = "admin_consent_other_tenant"
    elif aadsts in ("65004", "90093", "90094", "90095") or error in ("access_denied", "consent_required"):
        code = "admin_consent_declined"
    else:
        code = "admin_consent_refused"
    detail = description.splitlines()[0].strip() if description.strip() else error
    return record_id, EntraError(
        code, reference="AADSTS%s" % aadsts if aadsts else error, aadsts=aadsts, error=error, detail=detail
    )


def graph_host(userinfo_url):
    """Microsoft Graph of a cloud: the origin of its UserInfo URL
    (graph.microsoft.com, graph.microsoft.us, microsoftgraph.chinacloudapi.cn,
    or the sandbox)."""
    return origin(userinfo_url) or DEFAULT_GRAPH


def check_at_hash(claims, access_token):
    """An access token that came with the id_token (implicit flow) must be
    the one the id_token names, when it names one (at_hash)."""
    if "at_hash" not in claims or not access_token:
        return
    expected = base64url_encode(hashlib.sha256(access_token.encode()).digest()[:16]).decode()
    if not hmac.compare_digest(str(claims["at_hash"]).encode(), expected.encode()):
        raise EntraError("at_hash")


class EntraClient:
    """Entra ID of one login host and tenant (a GUID, a verified domain or
    organizations / common / consumers)."""

    def __init__(self, authority, tenant, ca_bundle=None, timeout=TIMEOUT):
        self.authority = (authority or DEFAULT_AUTHORITY).rstrip("/")
        self.tenant = (tenant or "organizations").strip()
        self.verify = ca_bundle or True
        self.timeout = timeout

    @property
    def token_endpoint(self):
        return "%s/%s/oauth2/v2.0/token" % (self.authority, self.tenant)

    @property
    def jwks_uri(self):
        return "%s/%s/discovery/v2.0/keys" % (self.authority, self.tenant)

    # -- HTTP ------------------------------------------------------------------------------------

    def redeem(self, data):
        """POST to the token endpoint: its JSON answer, errors included.

        :raise requests.RequestException: the endpoint could not be reached
        """
        response = requests.post(self.token_endpoint, data=data, timeout=self.timeout, verify=self.verify)
        try:
            payload = response.json()
        except ValueError:
            payload = {"error": "invalid_response", "error_description": response.text[:200]}
        if response.status_code == 429 or response.status_code >= 500:
            # busy or failing (OAuth 2.0's temporarily_unavailable, whatever the body names):
            # the person waits and signs in again; Retry-After says how long
            described = payload.get("error_description") if isinstance(payload, dict) else None
            payload = {
                "error": "temporarily_unavailable",
                "error_description": str(described or ""),
                "retry_after": retry_after(response.headers.get("Retry-After")),
            }
        return payload

    def get_json(self, url, access_token=None):
        """GET ``url`` (with a bearer token): its JSON body.

        :raise requests.RequestException, ValueError: unreachable, an error status or not JSON
        """
        headers = {"Authorization": "Bearer %s" % access_token} if access_token else {}
        response = requests.get(url, headers=headers, timeout=self.timeout, verify=self.verify)
        response.raise_for_status()
        return response.json()

    # -- tenants and signing keys ----------------------------------------------------------------

    def tenant_ids(self, allowed=()):
        """The tenant ids an id_token may come from; None means any tenant."""
        tenant = self.tenant.lower()
        if allowed:
            return set(allowed)
        if tenant == "consumers":
            return {MSA_TENANT_ID}
        if tenant in TENANT_ALIASES:
            return None
        if GUID_RE.match(tenant):
            return {tenant}
        return {self.resolve_domain(tenant)}

    def resolve_domain(self, domain):
        """A verified domain's tenant id, from the issuer of its OpenID configuration."""
        key = (self.authority, domain)
        with _cache_lock:
            if key in _tenant_cache:
                return _tenant_cache[key]
        url = "%s/%s/v2.0/.well-known/openid-configuration" % key
        try:
            issuer = self.get_json(url).get("issuer", "")
        except (requests.RequestException, ValueError, AttributeError) as exc:
            _logger.warning("Microsoft Entra ID: cannot resolve tenant %s: %s", domain, exc)
            raise EntraError("directory_unreachable") from exc
        tid = issuer.rstrip("/").split("/")[-2].lower() if issuer.count("/") >= 4 else ""
        if not GUID_RE.match(tid):
            raise EntraError("unknown_tenant", tenant=domain)
        with _cache_lock:
            _tenant_cache[key] = tid
        return tid

    def signing_key(self, kid):
        """The public key for ``kid`` from the tenant's JWKS, downloaded again
        when the kid is unknown (Microsoft rotates its keys) or the cache is old."""
        url = self.jwks_uri
        now = time.monotonic()
        with _cache_lock:
            entry = _jwks_cache.setdefault(url, {"keys": {}, "fetched": 0.0, "refreshes": []})
            key = entry["keys"].get(kid)
            if key is not None and now - entry["fetched"] < JWKS_TTL:
                return key
            entry["refreshes"] = [t for t in entry["refreshes"] if now - t < 60]
            if len(entry["refreshes"]) >= JWKS_REFRESH_BUDGET:
                return key
            entry["refreshes"].append(now)
        try:
            keys = {
                jwk["kid"]: jwt.PyJWK(jwk, algorithm="RS256").key
                for jwk in self.get_json(url).get("keys", [])
                if jwk.get("kid") and jwk.get("kty") == "RSA"
            }
        except (requests.RequestException, ValueError, AttributeError, jwt.PyJWTError) as exc:
            _logger.warning("Microsoft Entra ID: cannot download the signing keys from %s: %s", url, exc)
            return key
        with _cache_lock:
            entry.update(keys=keys, fetched=now)
        return keys.get(kid)

    def verify_id_token(self, id_token, nonce, client_id, allowed_tenants=()):
        """The claims of a valid id_token for ``client_id`` that answers ``nonce``.

        :raise EntraError: what is wrong with it
        """
        if not id_token:
            raise EntraError("no_id_token")
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise EntraError("malformed") from exc
        if header.get("alg") != "RS256":
            raise EntraError("not_rs256")
        key = self.signing_key(header.get("kid"))
        if key is None:
            raise EntraError("unknown_key")
        try:
            claims = jwt.decode(
                id_token,
                key,
                algorithms=["RS256"],
                audience=client_id,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "aud", "iss", "sub", "tid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise EntraError("expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise EntraError("wrong_audience") from exc
        except jwt.PyJWTError as exc:
            raise EntraError("invalid", reason=str(exc)) from exc
        tid = str(claims["tid"]).lower()
        allowed = self.tenant_ids(allowed_tenants)
        if allowed is not None and tid not in allowed:
            raise EntraError("wrong_tenant")
        if self.tenant.lower() == "organizations" and tid == MSA_TENANT_ID:
            raise EntraError("personal_account")
        if claims["iss"] != "%s/%s/v2.0" % (self.authority, claims["tid"]):
            raise EntraError("wrong_issuer")
        if not nonce or not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
            raise EntraError("nonce")
        return claims

    # -- Microsoft Graph -------------------------------------------------------------------------

    def graph_groups(self, graph, access_token):
        """Object ids of the signed-in user's groups, direct and transitive,
        from ``graph``'s /me/transitiveMemberOf (delegated permission User.Read,
        the least privileged one Microsoft documents for the signed-in user),
        following its next links on ``graph`` only.

        :raise EntraError: Graph unreachable, refusing, answering oddly, or too many pages
        """
        # no OData cast to microsoft.graph.group: Graph takes a cast only as an advanced query
        # (ConsistencyLevel: eventual and $count), answered from an index that may lag behind
        # recent changes, and a sign-in must see a membership given a minute ago; the other
        # members (directory roles, administrative units) are left out here instead
        url = graph + "/v1.0/me/transitiveMemberOf?$select=id&$top=999"
        groups = []
        for _page in range(GRAPH_MAX_PAGES):
            try:
                response = requests.get(
                    url,
                    headers={"Authorization": "Bearer %s" % access_token},
                    timeout=self.timeout,
                    verify=self.verify,
                )
            except requests.RequestException as exc:
                _logger.warning("Microsoft Entra ID: Graph could not be reached: %s", type(exc).__name__)
                raise EntraError("graph_unreachable") from exc
            if response.status_code in (401, 403):
                _logger.warning(
                    "Microsoft Entra ID: Graph refused to list the groups of a user (HTTP %s, %s)",
                    response.status_code,
                    _graph_code(response),
                )
                # 403: the token lacks a permission that allows it (Authorization_RequestDenied);
                # 401: Graph does not take the token at all (InvalidAuthenticationToken)
                raise EntraError("graph_refused" if response.status_code == 403 else "graph_unauthorized")
            try:
                response.raise_for_status()
                body = response.json()
                groups += [item["id"].lower() for item in body.get("value", []) if _is_group(item)]
            except (requests.RequestException, ValueError, AttributeError, TypeError) as exc:
                _logger.warning("Microsoft Entra ID: unexpected Graph answer (HTTP %s)", response.status_code)
                raise EntraError("graph_unexpected", retry=True) from exc
            url = body.get("@odata.nextLink")
            if not url:
                return groups
            if not url.startswith(graph + "/"):
                # the token goes to Graph only, whatever a next link says
                raise EntraError("graph_unexpected")
        raise EntraError("graph_too_many")


def _is_group(item):
    """Whether a directoryObject of a membership list is a group (its ``@odata.type``; an
    object without one is kept: only group ids can match a mapping line)."""
    kind = str(item.get("@odata.type") or GRAPH_GROUP_TYPE).lower()
    return bool(item.get("id")) and kind == GRAPH_GROUP_TYPE


def _graph_code(response):
    """Graph's error code of an answer (for the log), or None."""
    try:
        return str(response.json()["error"]["code"])[:64]
    except (ValueError, KeyError, TypeError):
        return None
