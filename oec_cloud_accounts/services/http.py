"""The HTTP session used for Entra ID: explicit CA bundle, timeout, no proxy env."""

import requests

DEFAULT_TIMEOUT = 20  # seconds, connect + read


class TimeoutSession(requests.Session):
    """A session that never waits forever and trusts only the CA bundle given.

    ``trust_env`` is off because ``REQUESTS_CA_BUNDLE`` (set on some hosts)
    would otherwise override ``verify`` and proxy variables could leak tokens.
    """

    def __init__(self, ca_bundle=None, timeout=DEFAULT_TIMEOUT):
        super().__init__()
        self.trust_env = False
        self.verify = ca_bundle or True
        self.default_timeout = timeout

    def request(self, method, url, **kwargs):  # pylint: disable=arguments-differ
        kwargs["timeout"] = kwargs.get("timeout") or self.default_timeout
        return super().request(method, url, **kwargs)
