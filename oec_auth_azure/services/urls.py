# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What Microsoft identifiers and endpoints may look like, checked before use.

Shared by the sign-in provider and the cloud accounts' clouds: GUIDs, tenants,
host names, the URLs Odoo's server sends tokens and secrets to, and the CA
bundle those requests trust.
"""

import ipaddress
import re
from urllib.parse import urlsplit

GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)
TENANT_ALIASES = ("organizations", "common", "consumers")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# a DNS name: dot-separated labels of letters, digits and inner hyphens (no trailing dot)
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
HOST_RE = re.compile(r"%s(?:\.%s)*" % (_LABEL, _LABEL), re.IGNORECASE)
# Server option: a PEM bundle trusted instead of the default store (private
# clouds, Azure Stack, the local sandbox).
CA_BUNDLE_OPTION = "oec_azure_ca_bundle"
# Server option: seconds every call to Microsoft waits to connect and for an answer (shared
# with oec_cloud_accounts); unset: each client's own default.
TIMEOUT_OPTION = "oec_azure_timeout"


def is_guid(value):
    return bool(isinstance(value, str) and GUID_RE.match(value))


def is_tenant(value):
    """A directory (tenant) id, a verified domain, or organizations / common / consumers."""
    if not isinstance(value, str) or not value:
        return False
    return value.lower() in TENANT_ALIASES or bool(GUID_RE.match(value) or DOMAIN_RE.match(value))


def is_host_name(value):
    """A DNS host name (letters, digits, hyphens, dots) or an IP address."""
    if not value or len(value) > 253:
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(HOST_RE.fullmatch(value))


def split_url(url):
    """urlsplit that never raises, or None: white space and control characters
    anywhere (urlsplit strips some, the libraries using the URL may not), an
    unclosed IPv6 bracket or a port that is not a number are refused."""
    if not isinstance(url, str) or not url or any(char.isspace() or ord(char) < 32 for char in url):
        return None
    try:
        parts = urlsplit(url)
        if parts.port is not None and not 0 < parts.port < 65536:  # .port raises on a non-number
            return None
    except ValueError:
        return None
    return parts


def is_secure_url(url, loopback=True):
    """https, or (``loopback``) http on the loopback interface as Azure itself
    allows, to a plain host: no user name ("https://graph.microsoft.com@evil.example"
    sends the bearer token to evil.example), no white space, a host DNS can have."""
    parts = split_url(url)
    if parts is None or not parts.netloc or "@" in parts.netloc:
        return False
    hostname = parts.hostname
    if not hostname or not is_host_name(hostname):
        return False
    return parts.scheme == "https" or (loopback and parts.scheme == "http" and hostname in LOOPBACK_HOSTS)


def origin(url):
    """``scheme://host[:port]`` of a URL, or None when it is not a secure one."""
    if not is_secure_url(url):
        return None
    parts = urlsplit(url)
    return "%s://%s" % (parts.scheme, parts.netloc)


def ca_bundle(options):
    """The CA bundle of the server ``options`` (Odoo's config), or None for the
    default trust store. Callers pass it per request (``verify=bundle or True``):
    REQUESTS_CA_BUNDLE in the environment would override a session's setting."""
    return options.get(CA_BUNDLE_OPTION) or None


def timeout(options, default):
    """The seconds of the server ``options``' oec_azure_timeout, else ``default``."""
    value = options.get(TIMEOUT_OPTION)
    return default if value in (None, "") else float(value)
