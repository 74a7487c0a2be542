"""How the blob proxy authorizes a data-plane request before Azurite sees it, as Azure does:

* ``SharedKey`` and key-signed SAS: refused with KeyBasedAuthenticationNotPermitted when the
  account has allowSharedKeyAccess false, else Azurite checks them itself;
* ``Bearer`` tokens (Microsoft Entra ID): a token this emulator issued, for Azure Storage
  (https://storage.azure.com) or the account's URL, of the account's tenant; then Azure RBAC:
  Storage Blob Data Reader for reads, Contributor or Owner for writes, at the container, the
  account or above (Microsoft Learn, "Authorize access to blobs using Microsoft Entra ID"),
  else 403 AuthorizationPermissionMismatch;
* a blob's immutability policy (set with Put Blob / Put Block List headers, or Set / Delete Blob
  Immutability Policy): Storage Blob Data Owner only ("can only be called by the storage account
  owner", Learn, "Set Blob Immutability Policy"; a Contributor gets 403
  AuthorizationPermissionMismatch, Azure/azure-sdk-for-net#27243);
* deleting a previous blob version (``DELETE ?versionid=``): Storage Blob Data Owner only
  (``deleteBlobVersion/action``, Learn "Blob versioning");
* Get User Delegation Key (``POST ?restype=service&comp=userdelegationkey``): bearer only, a role
  with generateUserDelegationKey at the account or above; answered here;
* user delegation SAS (``skoid`` ... ``sig``): signed with such a key, checked here (the string to
  sign azure-storage-blob 12.31 computes, Learn "Create a user delegation SAS"), with the RBAC of
  the key's principal at use time; allowed when shared keys are off (they are no key).

What passes is forwarded to Azurite with an account SAS made here with the account key (Azurite
then needs no OAuth mode); the SAS's response header overrides (rscd...) are applied here.
"""

import base64
import hashlib
import hmac
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from . import arm_authorization as rbac
from . import blob_versions
from . import defaults as d
from .http import Response
from .tokens import TokenError

API_VERSION = "2021-08-06"
# the query parameters of a SAS (dropped before forwarding)
SAS_PARAMS = {
    "sv",
    "ss",
    "srt",
    "sp",
    "se",
    "st",
    "spr",
    "sip",
    "sig",
    "sr",
    "si",
    "skoid",
    "sktid",
    "skt",
    "ske",
    "sks",
    "skv",
    "skdutid",
    "sduoid",
    "saoid",
    "suoid",
    "scid",
    "srh",
    "srq",
    "sdd",
    "ses",
    "snapshot_time",
    "rscc",
    "rscd",
    "rsce",
    "rscl",
    "rsct",
}
OVERRIDES = {
    "rscc": "Cache-Control",
    "rscd": "Content-Disposition",
    "rsce": "Content-Encoding",
    "rscl": "Content-Language",
    "rsct": "Content-Type",
}
# the versions from which the string to sign of a user delegation SAS has these lines
DELEGATED_USER_VERSION = "2025-07-05"
REQUEST_BINDING_VERSION = "2026-04-06"
MAX_KEY_DAYS = 7


def storage_error(status, code, message, headers=None):
    body = '<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>' % (
        code,
        message,
    )
    return Response(status, body, dict(headers or {}, **{"x-ms-error-code": code}), "application/xml")


def _mismatch():
    return storage_error(
        403,
        "AuthorizationPermissionMismatch",
        "This request is not authorized to perform this operation using this permission.",
    )


def _auth_failed(message):
    return storage_error(
        403,
        "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of Authorization header is "
        "formed correctly including the signature. %s" % message,
    )


def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value):
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
        except (TypeError, ValueError):
            continue
    return None


def delegation_key(settings, account, oid, tid, start, expiry, version):
    """The value of a user delegation key: derived, so that nothing is kept to check its SAS."""
    message = f"{account}|{oid}|{tid}|{start}|{expiry}|{version}".encode()
    return base64.b64encode(hmac.new(base64.b64decode(settings["key"]), message, hashlib.sha256).digest())


def split_path(path):
    """(account, container, blob) of a path-style blob URL path."""
    parts = unquote(path).lstrip("/").split("/", 2)
    parts += [""] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def scope_of(settings, container):
    if not container:
        return settings["id"]
    return "%s/blobServices/default/containers/%s" % (settings["id"], container)


class Authorization:
    """The outcome for one request: ``refusal`` (a Response), or what to forward."""

    def __init__(self, refusal=None, answer=None, forward_query=None, overrides=None):
        self.refusal = refusal
        self.answer = answer
        self.forward_query = forward_query  # None: forward as it came
        self.overrides = overrides or {}


def authorize(emu, req, account, settings):
    query = dict(parse_qsl(req.query_string, keep_blank_values=True))
    auth = req.header("Authorization", "")
    if auth.lower().startswith("bearer "):
        return _bearer(emu, req, account, settings, auth[7:].strip(), query)
    if "sig" in query and "skoid" in query:
        return _delegation_sas(emu, req, account, settings, query)
    if _is_delegation_key_request(req, query):
        return Authorization(
            _auth_failed("Only authentication scheme Bearer is supported for Get User Delegation Key.")
        )
    uses_key = auth.startswith("SharedKey") or "sig" in query
    if uses_key and not settings["allow_shared_key"]:
        return Authorization(
            storage_error(
                403,
                "KeyBasedAuthenticationNotPermitted",
                "Key based authentication is not permitted on this storage account.",
            )
        )
    return Authorization()


SIGNED_HEADERS = (
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-MD5",
    "Content-Type",
    "Date",
    "If-Modified-Since",
    "If-Match",
    "If-None-Match",
    "If-Unmodified-Since",
    "Range",
)


def shared_key_valid(req, account, key):
    """Whether the request's ``SharedKey`` signature is the account key's (Learn, "Authorize with
    Shared Key", Blob service string to sign): for what the proxy answers itself (a previous blob
    version, blob_versions.py), which Azurite never checks."""
    auth = req.header("Authorization", "")
    if not auth.startswith("SharedKey ") or ":" not in auth:
        return False
    name, _sep, signature = auth[len("SharedKey ") :].strip().partition(":")
    if name != account:
        return False
    values = []
    for header in SIGNED_HEADERS:
        value = req.header(header) or ""
        values.append("" if header == "Content-Length" and value == "0" else value)
    canonical_headers = "".join(
        "%s:%s\n" % (k.lower(), " ".join(v.split()))
        for k, v in sorted(req.headers.items(), key=lambda kv: kv[0].lower())
        if k.lower().startswith("x-ms-")
    )
    parts = urlsplit(req.target)
    resource = "/%s%s" % (account, parts.path) + "".join(
        "\n%s:%s" % (k.lower(), v)
        for k, v in sorted(parse_qsl(req.query_string or parts.query, keep_blank_values=True))
    )
    to_sign = "\n".join([req.method, *values]) + "\n" + canonical_headers + resource
    expected = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest())
    return hmac.compare_digest(expected.decode(), signature)


def _is_delegation_key_request(req, query):
    return (
        req.method == "POST"
        and query.get("restype") == "service"
        and query.get("comp") == "userdelegationkey"
    )


def _audiences(settings):
    endpoint = (settings.get("blob_endpoint") or "").rstrip("/")
    return tuple(d.STORAGE_AUDIENCES) + ((endpoint, endpoint + "/") if endpoint else ())


def _bearer(emu, req, account, settings, token, query):
    try:
        claims = emu.keys.verify(token, _audiences(settings))
    except TokenError as exc:
        return Authorization(
            storage_error(
                401,
                "InvalidAuthenticationInfo",
                "Server failed to authenticate the request. Please refer to the information in the "
                "www-authenticate header. %s" % exc.message,
                {
                    "WWW-Authenticate": "Bearer authorization_uri=https://login.microsoftonline.com/%s/"
                    "oauth2/authorize resource_id=%s"
                    % (settings.get("tenant"), d.STORAGE_RESOURCE.rstrip("/"))
                },
            )
        )
    if claims.get("tid") != settings.get("tenant"):
        return Authorization(
            storage_error(401, "InvalidAuthenticationInfo", "Issuer validation failed. Issuer did not match.")
        )
    oid = claims.get("oid")
    _account, container, _blob = split_path(urlsplit(req.target).path)
    with emu.lock:
        if _is_delegation_key_request(req, query):
            if not rbac.may_delegate(emu, oid, settings["id"]):
                return Authorization(_mismatch())
            return Authorization(answer=_delegation_key_answer(emu, req, account, settings, claims))
        level = rbac.data_access(emu, oid, scope_of(settings, container))
        sets_policy = req.header("x-ms-immutability-policy-until-date") is not None or (
            query.get("comp") == "immutabilityPolicies"
        )
        if sets_policy and not rbac.may_set_immutability(emu, oid, scope_of(settings, container)):
            return Authorization(_mismatch())
        # deleting a previous version: deleteBlobVersion/action, Storage Blob Data Owner's only
        # (Learn, "Blob versioning", Authorize operations on blob versions)
        vid = query.get("versionid")
        if (
            req.method == "DELETE"
            and vid
            and vid != blob_versions.current_id(emu, account, container, _blob)
            and not rbac.may_delete_version(emu, oid, scope_of(settings, container))
        ):
            return Authorization(_mismatch())
    needed = "read" if req.method in ("GET", "HEAD") else "write"
    if level is None or (needed == "write" and level != "write"):
        return Authorization(_mismatch())
    return Authorization(forward_query=_forward_query(query, account, settings))


def _delegation_key_answer(emu, req, account, settings, claims):
    try:
        info = ET.fromstring(req.body or b"<KeyInfo/>")
    except ET.ParseError:
        return storage_error(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
    now = datetime.now(timezone.utc)
    start = _parse_time(info.findtext("Start")) if info.findtext("Start") else now
    expiry = _parse_time(info.findtext("Expiry") or "")
    if start is None or expiry is None or expiry <= start or expiry > now + timedelta(days=MAX_KEY_DAYS):
        return storage_error(
            400, "InvalidXmlNodeValue", "The value for one of the XML nodes is not in the correct format."
        )
    version = req.header("x-ms-version") or API_VERSION
    values = {
        "SignedOid": claims["oid"],
        "SignedTid": claims["tid"],
        "SignedStart": _iso(start),
        "SignedExpiry": _iso(expiry),
        "SignedService": "b",
        "SignedVersion": version,
    }
    values["Value"] = delegation_key(
        settings,
        account,
        claims["oid"],
        claims["tid"],
        values["SignedStart"],
        values["SignedExpiry"],
        version,
    ).decode()
    # a key that signs SAS: a secret the test run's logs must never show
    emu.remember("user_delegation_key", values["Value"])
    body = '<?xml version="1.0" encoding="utf-8"?><UserDelegationKey>%s</UserDelegationKey>' % "".join(
        "<%s>%s</%s>" % (name, value, name) for name, value in values.items()
    )
    return Response(200, body, {"x-ms-version": version}, "application/xml")


def delegation_string_to_sign(query, canonical_resource):
    """What a user delegation SAS signs (azure-storage-blob 12.31, sv 2026-10-06 and older)."""
    get = query.get
    version = get("sv", "")
    lines = [get("sp", ""), get("st", ""), get("se", ""), canonical_resource]
    lines += [get(k, "") for k in ("skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid")]
    if version >= DELEGATED_USER_VERSION:
        lines += [get("skdutid", ""), get("sduoid", "")]
    lines += [get(k, "") for k in ("sip", "spr", "sv", "sr", "snapshot_time", "ses")]
    if version >= REQUEST_BINDING_VERSION:
        lines += ["", ""]  # srh, srq: refused below, so empty
    lines += [get(k, "") for k in ("rscc", "rscd", "rsce", "rscl", "rsct")]
    return "\n".join(lines)


def _delegation_sas(emu, req, account, settings, query):
    now = datetime.now(timezone.utc)
    if query.get("srh") or query.get("srq") or query.get("sks") != "b" or query.get("sr") not in ("b", "c"):
        return Authorization(_auth_failed("This user delegation SAS is not supported here."))
    _account, container, blob = split_path(urlsplit(req.target).path)
    resource = "/blob/%s/%s" % (account, container) + ("/" + blob if query.get("sr") == "b" else "")
    key = delegation_key(
        settings,
        account,
        query.get("skoid", ""),
        query.get("sktid", ""),
        query.get("skt", ""),
        query.get("ske", ""),
        query.get("skv", ""),
    )
    expected = base64.b64encode(
        hmac.new(
            base64.b64decode(key), delegation_string_to_sign(query, resource).encode(), hashlib.sha256
        ).digest()
    ).decode()
    if not hmac.compare_digest(expected, query.get("sig", "")):
        return Authorization(_auth_failed("Signature did not match."))
    start, expiry, key_expiry = (_parse_time(query.get(k, "")) for k in ("st", "se", "ske"))
    if expiry is None or expiry < now or key_expiry is None or key_expiry < now or (start and start > now):
        return Authorization(_auth_failed("Signed expiry time has passed or start time is in the future."))
    if query.get("spr") not in (None, "https", "https,http"):
        return Authorization(_auth_failed("Protocol not allowed."))
    needed = {"GET": "r", "HEAD": "r", "DELETE": "d"}.get(req.method, "w")
    if needed not in query.get("sp", ""):
        return Authorization(_mismatch())
    with emu.lock:
        level = rbac.data_access(emu, query["skoid"], scope_of(settings, container))
    if level is None or (needed != "r" and level != "write"):
        return Authorization(_mismatch())
    overrides = {header: query[param] for param, header in OVERRIDES.items() if query.get(param)}
    return Authorization(forward_query=_forward_query(query, account, settings), overrides=overrides)


def account_sas(account, key, minutes=60):
    """An account SAS for Azurite (blob service, all resource types, what the product's calls need)."""
    values = {
        "sv": API_VERSION,
        "ss": "b",
        "srt": "sco",
        "sp": "rwdlac",
        "se": _iso(datetime.now(timezone.utc) + timedelta(minutes=minutes)),
    }
    to_sign = "\n".join(
        [account, values["sp"], values["ss"], values["srt"], "", values["se"], "", "", values["sv"], "", ""]
    )
    values["sig"] = base64.b64encode(
        hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    return values


def _forward_query(query, account, settings):
    kept = [(k, v) for k, v in query.items() if k not in SAS_PARAMS]
    return urlencode(kept + list(account_sas(account, settings["key"]).items()))
