"""Version-level immutability (time-based retention of a blob), which Azurite does not implement.

What Azure does (Microsoft Learn, "Version-level WORM policies for immutable blob data", "Set Blob
Immutability Policy", "Put Block List", "Azure Blob Storage error codes"; the contract fixtures
``blob/immutability_*``):

* a blob gets a policy when it is written with ``x-ms-immutability-policy-until-date`` (RFC 1123)
  and ``x-ms-immutability-policy-mode`` (``Unlocked`` or ``Locked``) on Put Blob / Put Block List,
  or by Set Blob Immutability Policy (``PUT ?comp=immutabilityPolicies``); only in a container with
  version-level immutability support (ARM ``immutableStorageWithVersioning.enabled``);
* Get Blob Properties / Get Blob answer the two headers;
* until that date, Delete Blob and Set Blob Metadata of the blob are refused, whoever asks (the
  Owner's token included): 409 ``BlobImmutableDueToPolicy``; an overwrite is accepted and keeps
  the protected version as a previous version ("Version-level WORM policies", Scenarios);
* a Locked policy can be extended, never shortened nor removed; an Unlocked one is removed with
  ``DELETE ?comp=immutabilityPolicies``;
* only the storage owner sets or removes a policy: Storage Blob Data Owner (blob_auth.py).

An overwrite of a protected blob is accepted: versioning is on in such a container, and the
protected bytes stay as a previous version with their policy (blob_versions.py, which also refuses
the delete of a protected previous version). A simplification, said here: the code Azure gives for
a policy asked in a container without version-level support is not in the pages found: 400
``InvalidHeaderValue`` here (the product reads the container's support first and never sends it
there).

The clock: ``config["clock_offset"]`` seconds are added to the real time when a policy's end is
compared (tests move past a policy's end without waiting).
"""

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit

from . import blob_auth
from .http import Response

UNTIL = "x-ms-immutability-policy-until-date"
MODE = "x-ms-immutability-policy-mode"
MODES = ("Unlocked", "Locked")
IMMUTABLE_MESSAGE = "This operation is not permitted as the blob is immutable due to a policy."


def now(emu):
    offset = float(emu.state.config.get("clock_offset") or 0)
    return datetime.now(timezone.utc) + timedelta(seconds=offset)


def _policies(emu):
    return emu.state.data.setdefault("blob_immutability", {})


def _key(account, container, blob):
    return "%s/%s/%s" % (account, container, blob)


def _immutable():
    return blob_auth.storage_error(409, "BlobImmutableDueToPolicy", IMMUTABLE_MESSAGE)


def _bad_header(name):
    return blob_auth.storage_error(
        400,
        "InvalidHeaderValue",
        "The value for one of the HTTP headers is not in the correct format.",
        {"x-ms-invalid-header-name": name} if name else None,
    )


def _parse(req):
    parts = urlsplit(req.target)
    account, container, blob = blob_auth.split_path(parts.path)
    query = dict(parse_qsl(req.query_string or parts.query, keep_blank_values=True))
    return account, container, blob, query


def _asked(req):
    """(until datetime, mode) asked by the request's headers, None when none, or a Response."""
    until = req.header(UNTIL)
    if until is None:
        return None
    try:
        moment = parsedate_to_datetime(until)
    except (TypeError, ValueError):
        return _bad_header(UNTIL)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    mode = req.header(MODE) or "Unlocked"
    if mode not in MODES:
        return _bad_header(MODE)
    return moment, mode


def answer(emu, req, account, settings):
    """What the proxy answers itself: a refusal, or Set Blob Immutability Policy (Azurite has no
    such operation); None: forward to Azurite."""
    refusal = check(emu, req, account, settings)
    if refusal is not None:
        return refusal
    if _parse(req)[3].get("comp") == "immutabilityPolicies":
        return set_policy_answer(emu, req, account)
    return None


def check(emu, req, account, settings):
    """A refusal (Response) for a request the policies forbid, else None (then forwarded)."""
    _account, container, blob, query = _parse(req)
    if not blob or settings is None:
        return None
    comp = query.get("comp")
    with emu.lock:
        current = _policies(emu).get(_key(account, container, blob))
        supported = container in settings.get("immutable_containers", ())
        moment = now(emu)
    active = current is not None and datetime.fromisoformat(current["until"]) > moment
    if req.method == "DELETE" and comp == "immutabilityPolicies":
        # Delete Blob Immutability Policy: an Unlocked policy only
        return _immutable() if active and current["mode"] == "Locked" else None
    if req.method == "DELETE" and not query.get("versionid") and active:
        return _immutable()
    # an overwrite is no refusal: the protected version stays as a previous one (blob_versions.py)
    if active and req.method == "PUT" and comp == "metadata":
        return _immutable()
    if req.method == "PUT" and comp in (None, "blocklist", "immutabilityPolicies"):
        asked = _asked(req)
        if asked is None:
            return _bad_header(UNTIL) if comp == "immutabilityPolicies" else None
        if not isinstance(asked, tuple):
            return asked
        if not supported:
            return _bad_header(UNTIL)
        until, mode = asked
        if until <= moment:
            return _bad_header(UNTIL)  # "Past times are not valid."
        if (
            comp == "immutabilityPolicies"
            and active
            and current["mode"] == "Locked"
            and (until < datetime.fromisoformat(current["until"]) or mode != "Locked")
        ):
            return _immutable()
    return None


def record(emu, req, account, response):
    """After Azurite accepted a write: keep the policy asked; answer Set Blob Immutability Policy's
    and the properties' headers."""
    _account, container, blob, query = _parse(req)
    if not blob:
        return
    comp = query.get("comp")
    key = _key(account, container, blob)
    if req.method == "PUT" and comp in (None, "blocklist", "immutabilityPolicies"):
        asked = _asked(req)
        if isinstance(asked, tuple):
            with emu.lock:
                _policies(emu)[key] = {"until": asked[0].isoformat(), "mode": asked[1]}
    elif req.method == "DELETE" and (comp == "immutabilityPolicies" or not (comp or query.get("versionid"))):
        with emu.lock:
            _policies(emu).pop(key, None)
    if req.method in ("GET", "HEAD") or comp == "immutabilityPolicies":
        with emu.lock:
            current = _policies(emu).get(key)
        if current is not None:
            response.headers[UNTIL] = format_datetime(datetime.fromisoformat(current["until"]), usegmt=True)
            response.headers[MODE] = current["mode"].lower()


def set_policy_answer(emu, req, account):
    """Set / Delete Blob Immutability Policy: Azurite has no such operation, answered here (200)."""
    response = Response(200, b"", {"x-ms-version": req.header("x-ms-version") or blob_auth.API_VERSION})
    record(emu, req, account, response)
    return response
