"""Azure Resource Manager through the official SDK clients.

The SDK gets a static credential built from an access token we refreshed
ourselves: the clients never see refresh tokens or client secrets, and no
background thread of theirs can trigger a token request.
"""

import logging
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    HttpResponseError,
    ResponseNotReadError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from odoo.addons.oec_auth_azure.services import entra

from .api_versions import API_VERSIONS, operation_of
from .errors import API_VERSION_CODES, AzureError
from .http import DEFAULT_TIMEOUT

# azure-core logs every request's and response's headers at INFO: most of a
# server's log. Quiet unless the administrator set a level for it (e.g.
# --log-handler=azure.core.pipeline.policies.http_logging_policy:INFO).
_HTTP_LOGGER = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
if _HTTP_LOGGER.level == logging.NOTSET:
    _HTTP_LOGGER.setLevel(logging.WARNING)

# What each capability needs registered on the subscription.
CAPABILITY_PROVIDERS = {
    "compute": ("Microsoft.Compute", None),
    "storage": ("Microsoft.Storage", None),
    "dns": ("Microsoft.Network", "dnszones"),
}
PROVIDER_NAMESPACES = ("Microsoft.Compute", "Microsoft.Storage", "Microsoft.Network")
# azure-core's waits between retries: RETRY_BACKOFF_FACTOR * 2 ** (n - 1) seconds, at most RETRY_BACKOFF_MAX
RETRY_BACKOFF_FACTOR = 0.5
RETRY_BACKOFF_MAX = 5

# The longest Retry-After the SDK may wait for inside a call; a longer one (a throttled call
# asks for up to 1200 s) ends the call, and the caller's job is scheduled after it instead.
MAX_IN_CALL_WAIT = 5  # seconds


class StaticTokenCredential:
    """An azure-core ``TokenCredential`` answering with one known access token."""

    def __init__(self, access_token, expires_on):
        self._token = AccessToken(access_token, int(expires_on))

    def get_token(self, *scopes, **kwargs):  # pylint: disable=unused-argument
        return self._token


class ArmClient:
    """ARM calls for one signed-in account in one cloud.

    ``endpoint``: e.g. ``https://management.azure.com``; ``scope``: the ARM
    audience + ``/.default``; ``ca_bundle``: a PEM bundle for private clouds.
    ``retries``: azure-core's own retries (our cron retries with backoff, so
    keep it low to keep transactions short); ``backoff``: a multiplier of the
    waits between them (1: 0.5 s, 1 s, 2 s... at most 5 s; 0: at once, for tests).
    A ``Retry-After`` Azure sends is still honoured.
    ``api_versions``: {operation: API version} of the cloud (``api_versions.resolve``); every
    request asks its operation's version of this table, never the SDK's default. The SDKs take it
    in two ways (the contract suite checks the requests): the clients of resources, subscriptions,
    storage and DNS are built for one operations group with its version (their operations send
    the client's); compute and network clients have none, so each of their calls passes
    ``api_version=`` (their operations send the call's, else the SDK's newest, or for resource
    SKUs their own default).
    """

    def __init__(
        self,
        endpoint,
        scope,
        access_token,
        expires_on,
        ca_bundle=None,
        timeout=DEFAULT_TIMEOUT,
        retries=1,
        backoff=1.0,
        api_versions=None,
    ):
        self.credential = StaticTokenCredential(access_token, expires_on)
        self.api_versions = {**API_VERSIONS, **(api_versions or {})}
        self.options = {
            "base_url": endpoint.rstrip("/"),
            "credential_scopes": [scope],
            "connection_timeout": timeout,
            "read_timeout": timeout,
            "retry_total": retries,
            "retry_backoff_factor": RETRY_BACKOFF_FACTOR * backoff,
            "retry_backoff_max": RETRY_BACKOFF_MAX * backoff,
            "raw_response_hook": _stop_waits,
        }
        if ca_bundle:
            self.options["connection_verify"] = ca_bundle

    # -- remote calls, one method each ----------------------------------------------------------

    def list_subscriptions(self):
        """[{"id", "name", "state", "tenant_id"}] the account can see."""
        with _arm_errors(), self._subscriptions("subscriptions") as client:
            return [
                {
                    "id": sub.subscription_id,
                    "name": sub.display_name,
                    "state": str(sub.state.value if hasattr(sub.state, "value") else sub.state),
                    "tenant_id": sub.tenant_id,
                }
                for sub in client.subscriptions.list()
            ]

    def tenant_names(self):
        """{tenant id: "display name (default domain)"} of the tenants the account can see."""
        with _arm_errors(), self._subscriptions("tenants") as client:
            names = {}
            for tenant in client.tenants.list():
                # an older API version (a cloud's override) gives no names: the id stands for them
                name, domain = tenant.display_name, tenant.default_domain
                label = " ".join(part for part in (name, domain and "(%s)" % domain) if part)
                names[tenant.tenant_id] = label or tenant.tenant_id
            return names

    def get_providers(self, subscription_id, namespaces):
        """{namespace: {"namespace", "state", "resource_types"}}, through one client
        (one connection) for the whole subscription."""
        with _arm_errors(), self._resources(subscription_id, "providers") as client:
            return {ns: self._provider(client.providers.get(ns)) for ns in namespaces}

    def register_provider(self, subscription_id, namespace):
        """Ask Azure to register a provider; returns its new state (often Registering)."""
        with _arm_errors(), self._resources(subscription_id, "providers") as client:
            return self._provider(client.providers.register(namespace))

    # -- helpers ---------------------------------------------------------------------------------

    def capabilities(self, subscription_id):
        """Provider states and the capabilities they allow, for one subscription."""
        providers = self.get_providers(subscription_id, PROVIDER_NAMESPACES)
        caps = {}
        for cap, (namespace, resource_type) in CAPABILITY_PROVIDERS.items():
            provider = providers[namespace]
            caps[cap] = provider["state"] == "Registered" and (
                resource_type is None or resource_type in provider["resource_types"]
            )
        return {"providers": {ns: p["state"] for ns, p in providers.items()}, "capabilities": caps}

    def _version(self, operation):
        """The API version of ``operation`` (a key of api_versions.API_VERSIONS) in this cloud."""
        return self.api_versions[operation]

    def _subscriptions(self, group):
        """A subscriptions client for one operations group (``subscriptions`` or ``tenants``)."""
        version = self._version("subscriptions." + group)
        return SubscriptionClient(self.credential, api_version=version, **self.options)

    def _resources(self, subscription_id, group):
        """A resources client for one operations group (``resource_groups`` or ``providers``)."""
        version = self._version("resources." + group)
        return ResourceManagementClient(self.credential, subscription_id, api_version=version, **self.options)

    @staticmethod
    def _provider(provider):
        return {
            "namespace": provider.namespace,
            "state": provider.registration_state,
            "resource_types": [(t.resource_type or "").lower() for t in provider.resource_types or []],
        }


class _Stopped(Exception):
    """An answer the SDK must not act on by itself (see ``_stop_waits``)."""

    def __init__(self, response):
        super().__init__(response.status_code)
        self.response = response


def _stop_waits(pipeline_response):
    """azure-core's ``raw_response_hook``, run on every answer inside the SDK's policies.

    Two answers would make the SDK wait on Azure's behalf: a Retry-After
    longer than ``MAX_IN_CALL_WAIT`` (the retry policy sleeps it, 1200 s when
    Compute throttles), and 409 MissingSubscriptionRegistration (azure-mgmt-core
    registers the provider and polls it every 10 s with no bound). An exception
    that is not azure-core's passes every policy, so the call ends at once;
    ``_arm_errors`` turns it into the AzureError the answer stands for.
    Registration stays the account's explicit action."""
    response = pipeline_response.http_response
    if response.status_code < 400:
        return
    wait = entra.retry_after(response.headers.get("Retry-After"))
    if wait is not None and wait > MAX_IN_CALL_WAIT:
        raise _Stopped(response)
    if response.status_code == 409:
        try:
            text = response.text()
        except ResponseNotReadError:  # the first request of a long-running operation is streamed
            response.read()
            text = response.text()
        if "MissingSubscriptionRegistration" in (text or ""):
            raise _Stopped(response)


@contextmanager
def _arm_errors(codes=None, statuses=None, values=None):
    """Turns azure-core exceptions into AzureError; ``codes`` / ``statuses``:
    a service's own kinds and keys, ``values``: the values their messages name
    (see AzureError.from_arm)."""
    try:
        try:
            yield
        except _Stopped as stopped:
            raise HttpResponseError(response=stopped.response) from stopped
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise AzureError.network(exc) from exc
    except HttpResponseError as exc:  # ClientAuthenticationError (401) included
        status = exc.status_code or (exc.response.status_code if exc.response is not None else None)
        # storage's data plane gives its code as error_code (x-ms-error-code), ARM as error.code
        code = getattr(exc, "error_code", None) or (getattr(exc.error, "code", None) if exc.error else None)
        code = getattr(code, "value", code)  # StorageErrorCode is an enum of the wire codes
        detail = getattr(exc.error, "message", None) if exc.error else None
        if not detail and exc.message:
            # storage's data plane (no JSON error): Azure's message is the first line, then the
            # SDK's RequestId, Time, ErrorCode and Content lines
            detail = exc.message.splitlines()[0]
        retry_after = (
            entra.retry_after(exc.response.headers.get("Retry-After")) if exc.response is not None else None
        )
        if code in API_VERSION_CODES:
            values = {**(values or {}), **_asked_version(exc.response)}
        raise AzureError.from_arm(
            status, code or "HttpError", detail, codes, statuses, retry_after, values
        ) from exc


def is_missing(exc):
    """Whether a ResourceNotFoundError says the resource is missing: a 404 InvalidResourceType says
    the cloud has no such API version (see errors.API_VERSION_CODES), which a caller treating 404 as
    "none" must not take for an absent resource."""
    code = getattr(exc.error, "code", None) if exc.error else None
    return code not in API_VERSION_CODES


def _asked_version(response):
    """{"operation", "api_version"} of the request an answer is for (what the API version
    overrides of the cloud name), as far as they can be read."""
    request = getattr(response, "request", None)
    if request is None:
        return {}
    parts = urlsplit(request.url)
    asked = {"operation": operation_of(parts.path) or "?"}
    version = parse_qs(parts.query).get("api-version")
    if version:
        asked["api_version"] = version[0]
    return asked
