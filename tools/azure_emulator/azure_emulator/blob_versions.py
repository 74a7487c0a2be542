"""Blob versioning, which Azurite does not implement: kept by the proxy beside Azurite.

What Azure does (Microsoft Learn, "Blob versioning", "Version-level WORM policies for immutable blob
data", "Delete Blob", "List Blobs"; the contract fixtures ``blob/versions_*``):

* in an account with blob versioning (blob service ``isVersioningEnabled``; a container with
  version-level immutability support implies it), every write of a block blob (Put Blob, Put Block
  List, Copy Blob) gives the blob a new *current version* whose id (``x-ms-version-id``, a
  timestamp such as ``2026-12-06T16:51:01.9321234Z``) is answered by the write;
* an overwrite keeps the former current version as a *previous version*; Delete Blob without
  ``versionid`` does too, and leaves no current version; a previous version stays, and is billed,
  until it is deleted by its id (``DELETE ...?versionid=<id>``, which needs Storage Blob Data
  Owner: ``deleteBlobVersion/action``);
* a previous version keeps the immutability policy the current version had when it became
  previous: until its end, deleting it is refused (409 ``BlobImmutableDueToPolicy``); an overwrite
  of a protected current version is accepted (the protected bytes stay, as a previous version);
* Get Blob / Get Blob Properties with ``versionid`` read that version; List Blobs with
  ``include=versions`` lists every version, each blob's previous versions oldest first before its
  current one (``VersionId``; ``IsCurrentVersion`` true on the current one), names with previous
  versions only included.

Here: previous versions' bytes are files of the emulator (beside Azurite's data in the sandbox),
their properties in the state (``blob_versions``). Simplifications, said here: Set Blob Metadata
makes no version; a deleted version is gone at once (with blob soft delete on, Azure keeps it the
soft-delete days); Set Blob Immutability Policy acts on the current version only; a previous
version is reached with a bearer token, a user delegation SAS or a shared key, not with an
account-key SAS; a page of List
Blobs with versions may hold more entries than ``maxresults``; with a delimiter, names having only
previous versions are not listed.
"""

import os
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from email.utils import format_datetime, formatdate
from pathlib import Path

from . import blob_auth, blob_immutability
from .http import Response

VERSION_HEADER = "x-ms-version-id"


def _records(emu):
    return emu.state.data.setdefault("blob_versions", {})


def _key(account, container, blob):
    return "%s/%s/%s" % (account, container, blob)


def applies(settings, container):
    """Whether blobs of ``container`` are versioned."""
    if settings is None or not container:
        return False
    return bool(settings.get("versioning")) or container in settings.get("immutable_containers", ())


def new_id(emu, record=None):
    """A version id: the moment, with Azure's seven decimals, after every id the blob had."""
    moment = blob_immutability.now(emu)
    ids = [v["id"] for v in (record or {}).get("previous", [])] + [(record or {}).get("current") or ""]
    vid = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    while any(vid <= other for other in ids if other):
        moment += timedelta(microseconds=1)
        vid = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    return vid


def current_id(emu, account, container, blob):
    with emu.lock:
        return (_records(emu).get(_key(account, container, blob)) or {}).get("current")


def _previous(emu, account, container, blob, vid):
    with emu.lock:
        record = _records(emu).get(_key(account, container, blob)) or {}
        return next((v for v in record.get("previous", []) if v["id"] == vid), None)


def _active(policy, emu):
    return bool(policy) and datetime.fromisoformat(policy["until"]) > blob_immutability.now(emu)


def _not_found():
    return blob_auth.storage_error(404, "BlobNotFound", "The specified blob does not exist.")


def _version_headers(version):
    headers = {
        "Content-Type": version.get("content_type") or "application/octet-stream",
        "ETag": version.get("etag") or '"0x0"',
        "Last-Modified": version.get("last_modified") or formatdate(usegmt=True),
        "x-ms-creation-time": version.get("creation_time") or version.get("last_modified") or "",
        "x-ms-blob-type": "BlockBlob",
        VERSION_HEADER: version["id"],
        "Accept-Ranges": "bytes",
    }
    for name, value in (version.get("metadata") or {}).items():
        headers["x-ms-meta-" + name] = value
    policy = version.get("policy")
    if policy:
        headers[blob_immutability.UNTIL] = format_datetime(
            datetime.fromisoformat(policy["until"]), usegmt=True
        )
        headers[blob_immutability.MODE] = policy["mode"].lower()
    return headers


def _range(req, size):
    value = req.header("x-ms-range") or req.header("Range")
    if not value or not value.startswith("bytes="):
        return None
    start, _sep, end = value[len("bytes=") :].partition("-")
    start = int(start or 0)
    end = min(int(end), size - 1) if end else size - 1
    return start, end


def answer(emu, blobs, req, account, settings, container, blob, query, checked):
    """What the proxy answers itself: a request naming a previous version (read or delete), or the
    delete of a version its policy protects; None: forward to Azurite (which ignores ``versionid``,
    so a request naming the current version acts on it). ``checked``: the proxy authorized the
    request (a bearer token, a user delegation SAS), else its shared key signature is checked."""
    vid = query.get("versionid")
    if not blob or not vid or query.get("comp"):
        return None
    if vid == current_id(emu, account, container, blob):
        if req.method == "DELETE":
            with emu.lock:
                policy = blob_immutability._policies(emu).get(
                    blob_immutability._key(account, container, blob)
                )
            if _active(policy, emu):
                return blob_immutability._immutable()
        return None
    if not checked and not blob_auth.shared_key_valid(req, account, settings["key"]):
        # Azurite never sees this request: its signature is checked here (a key-signed SAS of a
        # version is not supported, said in the module's docstring)
        return blob_auth.storage_error(
            403,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header "
            "is formed correctly including the signature.",
        )
    version = _previous(emu, account, container, blob, vid)
    if version is None or req.method not in ("GET", "HEAD", "DELETE"):
        return _not_found()
    version_headers = {"x-ms-version": req.header("x-ms-version") or blob_auth.API_VERSION}
    if req.method == "DELETE":
        if _active(version.get("policy"), emu):
            return blob_immutability._immutable()
        with emu.lock:
            record = _records(emu).get(_key(account, container, blob)) or {}
            record["previous"] = [v for v in record.get("previous", []) if v["id"] != vid]
            if not record["previous"] and not record.get("current"):
                _records(emu).pop(_key(account, container, blob), None)
        _remove(blobs, version)
        return Response(202, b"", version_headers)
    headers = {**version_headers, **_version_headers(version)}
    size = version["size"]
    if req.method == "HEAD":
        return Response(200, b"", {**headers, "Content-Length": str(size)})
    data = Path(blobs.versions_dir, version["file"]).read_bytes()
    wanted = _range(req, size)
    if wanted is None:
        return Response(200, data, headers)
    start, end = wanted
    headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
    return Response(206, data[start : end + 1], headers)


def _remove(blobs, version):
    try:
        os.remove(os.path.join(blobs.versions_dir, version["file"]))
    except FileNotFoundError:
        pass  # already gone


class Pending:
    """A version made before a write or delete is forwarded: kept when Azurite accepts it."""

    def __init__(self, key, version, policy):
        self.key = key
        self.version = version
        self.policy = policy


def _writes(req, query):
    return (req.method == "PUT" and query.get("comp") in (None, "blocklist")) or (
        req.method == "DELETE" and not query.get("comp") and not query.get("versionid")
    )


def before(emu, blobs, req, account, container, blob, query):
    """Before an overwrite or a delete of the current version: its bytes and properties become a
    previous version (with the policy it had), or None when the blob has no current version."""
    if not blob or not _writes(req, query):
        return None
    if (
        req.method == "PUT"
        and query.get("comp") is None
        and not (req.header("x-ms-blob-type") or req.header("x-ms-copy-source"))
    ):
        return None
    name = "%s.bin" % uuid.uuid4().hex
    os.makedirs(blobs.versions_dir, exist_ok=True)
    path = os.path.join(blobs.versions_dir, name)
    with open(path, "wb") as sink:
        status, headers = blobs.fetch(account, "/%s/%s" % (container, blob), sink)
    if status != 200:
        os.remove(path)
        return None
    key = _key(account, container, blob)
    with emu.lock:
        record = _records(emu).setdefault(key, {"current": None, "previous": []})
        vid = record.get("current") or new_id(emu, record)  # a blob written before versioning
        policy = blob_immutability._policies(emu).pop(blob_immutability._key(account, container, blob), None)
    version = {
        "id": vid,
        "file": name,
        "size": os.path.getsize(path),
        "content_type": headers.get("content-type"),
        "etag": headers.get("etag"),
        "last_modified": headers.get("last-modified"),
        "creation_time": headers.get("x-ms-creation-time"),
        "metadata": {k[len("x-ms-meta-") :]: v for k, v in headers.items() if k.startswith("x-ms-meta-")},
        "policy": policy,
    }
    return Pending(key, version, policy)


def after(emu, blobs, req, account, container, blob, query, response, pending):
    """After Azurite answered: keep the previous version (or give it up), number the new current
    version (``x-ms-version-id``), answer the current's id on reads, and list versions."""
    accepted = response.status < 300
    if pending is not None:
        if accepted:
            with emu.lock:
                record = _records(emu).setdefault(pending.key, {"current": None, "previous": []})
                record["previous"].append(pending.version)
                record["current"] = None
        else:
            _remove(blobs, pending.version)
            if pending.policy is not None:
                with emu.lock:
                    blob_immutability._policies(emu)[blob_immutability._key(account, container, blob)] = (
                        pending.policy
                    )
    if not accepted:
        return
    if blob and req.method == "PUT" and _writes(req, query):
        with emu.lock:
            record = _records(emu).setdefault(
                _key(account, container, blob), {"current": None, "previous": []}
            )
            record["current"] = new_id(emu, record)
            response.headers[VERSION_HEADER] = record["current"]
    elif blob and req.method in ("GET", "HEAD") and not query.get("comp"):
        vid = current_id(emu, account, container, blob)
        if vid:
            response.headers[VERSION_HEADER] = vid
    elif not blob and req.method == "DELETE" and query.get("restype") == "container":
        forget(emu, blobs, _key(account, container, ""))
    elif not blob and req.method == "GET" and query.get("comp") == "list":
        includes = set((query.get("include") or "").lower().split(","))
        if "versions" in includes:
            response.body = _list_versions(emu, account, container, query, includes, response.body)
            response.headers.pop("Content-Length", None)


def _element(parent, tag, text):
    child = ET.SubElement(parent, tag)
    child.text = text
    return child


def _policy_elements(properties, policy):
    if policy:
        until = format_datetime(datetime.fromisoformat(policy["until"]), usegmt=True)
        _element(properties, "ImmutabilityPolicyUntilDate", until)
        _element(properties, "ImmutabilityPolicyMode", policy["mode"].lower())


def _version_element(name, version, includes):
    node = ET.Element("Blob")
    _element(node, "Name", name)
    _element(node, "VersionId", version["id"])
    properties = ET.SubElement(node, "Properties")
    _element(properties, "Creation-Time", version.get("creation_time") or "")
    _element(properties, "Last-Modified", version.get("last_modified") or "")
    _element(properties, "Etag", (version.get("etag") or "").strip('"'))
    _element(properties, "Content-Length", str(version["size"]))
    _element(properties, "Content-Type", version.get("content_type") or "application/octet-stream")
    _element(properties, "BlobType", "BlockBlob")
    if "immutabilitypolicy" in includes:
        _policy_elements(properties, version.get("policy"))
    if "metadata" in includes:
        metadata = ET.SubElement(node, "Metadata")
        for key, value in (version.get("metadata") or {}).items():
            _element(metadata, key, value)
    return node


def _list_versions(emu, account, container, query, includes, body):
    """Azurite's page (it ignores ``include=versions``) with the versions of its names, and the
    names with previous versions only, in name order."""
    root = ET.fromstring(body)
    blobs_node = root.find("Blobs")
    if blobs_node is None:
        return body
    prefix = query.get("prefix") or ""
    delimiter = query.get("delimiter")
    low = query.get("marker") or ""
    next_marker = (root.findtext("NextMarker") or "").strip()
    prefix_key = _key(account, container, "")
    with emu.lock:
        records = {
            key[len(prefix_key) :]: {"current": rec.get("current"), "previous": list(rec.get("previous", []))}
            for key, rec in _records(emu).items()
            if key.startswith(prefix_key)
        }
        policies = dict(blob_immutability._policies(emu))
    entries = []  # (name, order, element)
    listed = set()
    for node in list(blobs_node):
        blobs_node.remove(node)
        name = node.findtext("Name") or ""
        record = records.get(name)
        if node.tag == "Blob" and record and record.get("current"):
            listed.add(name)
            node.insert(1, ET.Element("VersionId"))
            node[1].text = record["current"]
            flag = ET.Element("IsCurrentVersion")
            flag.text = "true"
            node.insert(2, flag)
            properties = node.find("Properties")
            if "immutabilitypolicy" in includes and properties is not None:
                _policy_elements(properties, policies.get(_key(account, container, name)))
        entries.append((name, 1, node))
    for name, record in records.items():
        if not record["previous"] or not name.startswith(prefix) or name <= low:
            continue
        if next_marker and name > next_marker:
            continue
        if name not in listed and delimiter and delimiter in name[len(prefix) :]:
            continue
        for version in sorted(record["previous"], key=lambda v: v["id"]):
            entries.append((name, 0, _version_element(name, version, includes)))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    for _name, _order, node in entries:
        blobs_node.append(node)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def forget_account(emu, blobs, account):
    """A storage account re-created empty: its versions go with its data."""
    forget(emu, blobs, account + "/")


def forget(emu, blobs, prefix):
    """The versions of the blobs whose key starts with ``prefix`` (a deleted container's)."""
    with emu.lock:
        gone = [key for key in _records(emu) if key.startswith(prefix)]
        records = [_records(emu).pop(key) for key in gone]
    for record in records:
        for version in record.get("previous", []):
            _remove(blobs, version)
