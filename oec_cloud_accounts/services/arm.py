"""Azure Resource Manager through the official SDK clients.

The SDK gets a static credential built from an access token we refreshed
ourselves: the clients never see refresh tokens or client secrets, and no
background thread of theirs can trigger a token request.
"""

import logging
from contextlib import contextmanager

from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    HttpResponseError,
    ResponseNotReadError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.subscription import SubscriptionClient

from .errors import AzureError
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
    ):
        self.credential = StaticTokenCredential(access_token, expires_on)
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
        with _arm_errors(), SubscriptionClient(self.credential, **self.options) as client:
            return [
                {
                    "id": sub.subscription_id,
                    "name": sub.display_name,
                    "state": str(sub.state.value if hasattr(sub.state, "value") else sub.state),
                    "tenant_id": getattr(sub, "tenant_id", None),
                }
                for sub in client.subscriptions.list()
            ]

    def tenant_names(self):
        """{tenant id: "display name (default domain)"} of the tenants the account can see."""
        with _arm_errors(), SubscriptionClient(self.credential, **self.options) as client:
            names = {}
            for tenant in client.tenants.list():
                # older API versions of the SDK's model lack the names: they stay in additional_properties
                extra = getattr(tenant, "additional_properties", None) or {}
                name = getattr(tenant, "display_name", None) or extra.get("displayName")
                domain = getattr(tenant, "default_domain", None) or extra.get("defaultDomain")
                label = " ".join(part for part in (name, domain and "(%s)" % domain) if part)
                names[tenant.tenant_id] = label or tenant.tenant_id
            return names

    def get_providers(self, subscription_id, namespaces):
        """{namespace: {"namespace", "state", "resource_types"}}, through one client
        (one connection) for the whole subscription."""
        with _arm_errors(), self._resources(subscription_id) as client:
            return {ns: self._provider(client.providers.get(ns)) for ns in namespaces}

    def register_provider(self, subscription_id, namespace):
        """Ask Azure to register a provider; returns its new state (often Registering)."""
        with _arm_errors(), self._resources(subscription_id) as client:
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

    def _resources(self, subscription_id):
        return ResourceManagementClient(self.credential, subscription_id, **self.options)

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
    wait = _retry_after(response.headers.get("Retry-After"))
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
            _retry_after(exc.response.headers.get("Retry-After")) if exc.response is not None else None
        )
        raise AzureError.from_arm(
            status, code or "HttpError", detail, codes, statuses, retry_after, values
        ) from exc


def _retry_after(value):
    try:
        return int(value) if value else None
    except ValueError:
        return None
