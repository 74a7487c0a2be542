"""The HTTP session used for Entra ID: explicit CA bundle, timeout, proxies from the environment.

A session is made per operation (MSAL's state must not outlive it), but what is costly to make
again is shared: each thread keeps its connections open between operations (one TLS handshake,
not one per token refresh), and an authority's discovery documents (its OpenID configuration,
Microsoft's instance discovery) are kept for a few minutes, as MSAL's own http_cache would, but
without the token answers MSAL would keep with them."""

import threading
import time

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from odoo.addons.oec_auth_azure.services import entra

DEFAULT_TIMEOUT = 20  # seconds, connect + read
DISCOVERY_SECONDS = 600  # how long an authority's discovery documents are reused
DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/common/discovery/instance")
_local = threading.local()
# (url, params, verify) -> (time.monotonic() at which it expires, response)
_discovery = {}


def _thread_adapter():
    """This thread's connection pools (keep-alive between operations)."""
    adapter = getattr(_local, "adapter", None)
    if adapter is None:
        adapter = _local.adapter = HTTPAdapter()
    return adapter


def forget_discovery():
    """Read the authorities' discovery documents again at their next use."""
    _discovery.clear()


class UnexpectedResponse(requests.RequestException):
    """Entra ID answered something that is not its JSON: a proxy's or firewall's
    error page, or a server error. Raised before MSAL parses it, so the status
    is kept and MSAL does not log the page as an exception."""


class TimeoutSession(requests.Session):
    """A session that never waits forever, trusts only the CA bundle given and
    goes through the proxy the standard variables name.

    ``trust_env`` is off because ``REQUESTS_CA_BUNDLE`` (set on some hosts)
    would otherwise override ``verify``; the proxy variables (HTTPS_PROXY,
    NO_PROXY...) are read per request instead, as the Azure SDK clients do.
    """

    def __init__(self, ca_bundle=None, timeout=DEFAULT_TIMEOUT):
        super().__init__()
        self.trust_env = False
        self.verify = ca_bundle or True
        self.default_timeout = timeout
        # seconds the last answer's Retry-After asked to wait (None: none asked): MSAL returns a
        # throttled token answer as a dict without its headers, so its caller reads it here
        self.retry_after = None
        adapter = _thread_adapter()
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def close(self):
        """The connections are this thread's, kept for its next operation."""

    def request(self, method, url, **kwargs):  # pylint: disable=arguments-differ
        kwargs["timeout"] = kwargs.get("timeout") or self.default_timeout
        if kwargs.get("proxies") is None:
            kwargs["proxies"] = get_environ_proxies(url)
        key = None
        if method.upper() == "GET" and url.split("?", 1)[0].endswith(DISCOVERY_PATHS):
            key = (url, repr(sorted((kwargs.get("params") or {}).items())), str(self.verify))
            kept = _discovery.get(key)
            if kept and kept[0] > time.monotonic():
                self.retry_after = None
                return kept[1]
        response = super().request(method, url, **kwargs)
        self.retry_after = retry_after(response)
        if key and response.status_code == 200 and _is_json(response):
            _discovery[key] = (time.monotonic() + DISCOVERY_SECONDS, response)
        if response.status_code >= 500 or not _is_json(response):
            raise UnexpectedResponse("HTTP %s from %s" % (response.status_code, url), response=response)
        return response


def retry_after(response):
    """The seconds of an answer's Retry-After header (delta-seconds), or None."""
    return entra.retry_after(response.headers.get("Retry-After"))


def _is_json(response):
    try:
        response.json()
    except ValueError:
        return False
    return True
