"""Checks of the hosts Odoo's server sends requests to, before any request.

An endpoint handed to a client here carries a key or a token: it must come
from Azure's answer and lie where the cloud says that kind of service lives.
Everything refused raises AzureError (code ``EndpointRefused``) quoting at
most ``inputs.QUOTE_LIMIT`` characters of the value.
"""

import re

from odoo.addons.oec_auth_azure.services.urls import LOOPBACK_HOSTS, split_url

from .errors import KIND_REQUEST, AzureError
from .inputs import shorten

# Azure's storage account names: the first label of the blob host
STORAGE_ACCOUNT_RE = re.compile(r"[a-z0-9]{3,24}")
STORAGE_ID_RE = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.Storage/storageAccounts/(?P<name>[^/]+)",
    re.IGNORECASE,
)


def _refused(reason, value):
    return AzureError(reason, code="EndpointRefused", kind=KIND_REQUEST, params={"value": shorten(value)})


def check_blob_endpoint(endpoint, account_name, storage_suffix=None, path_style_host=None):
    """``endpoint`` (ARM's ``primaryEndpoints.blob``) when it is the blob service of
    ``account_name`` in this cloud, else AzureError ``EndpointRefused``.

    With a ``storage_suffix`` (core.windows.net, core.usgovcloudapi.net,
    core.chinacloudapi.cn...): ``https://<account_name>.blob.<suffix>/``, port 443.
    Without one, only for a local sandbox (``path_style_host``, a loopback host):
    ``https://<path_style_host>:<port>/<account_name>/``, as Azurite serves it.
    No user name, query or fragment in either.
    """
    name = account_name or ""
    if not STORAGE_ACCOUNT_RE.fullmatch(name):
        raise _refused("endpoint.account_name", name)
    parts = split_url(endpoint)
    if parts is None or parts.scheme != "https" or not parts.hostname:
        raise _refused("endpoint.not_https", endpoint)
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise _refused(
            "endpoint.extra_parts",
            endpoint,
        )
    host = parts.hostname.lower()
    suffix = (storage_suffix or "").strip().strip(".").lower()
    if suffix:
        if (
            host != "%s.blob.%s" % (name, suffix)
            or parts.port not in (None, 443)
            or parts.path not in ("", "/")
        ):
            raise AzureError(
                "endpoint.not_the_account",
                code="EndpointRefused",
                kind=KIND_REQUEST,
                params={"value": shorten(endpoint), "account": name, "suffix": shorten(suffix)},
            )
        return endpoint
    sandbox = (path_style_host or "").lower().strip("[]")
    if (
        sandbox not in LOOPBACK_HOSTS
        or host != sandbox
        or parts.path.rstrip("/") != "/" + name
        or parts.path.count("/") > 2
    ):
        raise _refused(
            "endpoint.no_suffix",
            endpoint,
        )
    return endpoint


def check_storage_id(resource_id, subscription_id, resource_group, account_name, answer_name=None):
    """``resource_id`` when it names the storage account ``account_name`` of this
    subscription and resource group (case-insensitive, as Azure compares them),
    and so does ``answer_name`` (the answer's ``name``) when given; else
    AzureError ``EndpointRefused``."""
    match = STORAGE_ID_RE.fullmatch(resource_id if isinstance(resource_id, str) else "")
    expected = (subscription_id, resource_group, account_name)
    if (
        not match
        or (answer_name is not None and answer_name != account_name)
        or tuple(v.lower() for v in match.group("sub", "group", "name"))
        != tuple((v or "").lower() for v in expected)
    ):
        raise _refused(
            "endpoint.other_account",
            resource_id,
        )
    return resource_id


def check_same_origin(url, base):
    """``url`` when it has the scheme, host and port of ``base`` (a page link
    of a paged API), else AzureError ``EndpointRefused``."""
    parts, origin = split_url(url), split_url(base)
    if parts is None or origin is None or parts.username is not None or parts.password is not None:
        raise _refused("endpoint.link_not_plain", url)

    def key(split):
        port = split.port or {"https": 443, "http": 80}.get(split.scheme)
        return split.scheme.lower(), (split.hostname or "").lower(), port

    if key(parts) != key(origin):
        raise _refused("endpoint.link_other_host", url)
    return url
