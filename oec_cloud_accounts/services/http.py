"""The HTTP session used for Entra ID: explicit CA bundle, timeout, proxies from the environment."""

import requests
from requests.utils import get_environ_proxies

DEFAULT_TIMEOUT = 20  # seconds, connect + read


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

    def request(self, method, url, **kwargs):  # pylint: disable=arguments-differ
        kwargs["timeout"] = kwargs.get("timeout") or self.default_timeout
        if kwargs.get("proxies") is None:
            kwargs["proxies"] = get_environ_proxies(url)
        response = super().request(method, url, **kwargs)
        self.retry_after = retry_after(response)
        if response.status_code >= 500 or not _is_json(response):
            raise UnexpectedResponse("HTTP %s from %s" % (response.status_code, url), response=response)
        return response


def retry_after(response):
    """The seconds of an answer's Retry-After header (delta-seconds), or None."""
    value = response.headers.get("Retry-After")
    try:
        return max(int(value), 0) if value else None
    except ValueError:  # an HTTP date: Azure sends seconds
        return None


def _is_json(response):
    try:
        response.json()
    except ValueError:
        return False
    return True
