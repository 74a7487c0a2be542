"""Azure DNS (Microsoft.Network/dnszones): zones and record sets with etags
and If-Match / If-None-Match preconditions (412 PreconditionFailed)."""

import ipaddress
import re
import uuid
from urllib.parse import unquote

from . import arm_core as core
from .http import HttpError, Response

NS = "Microsoft.Network"
RECORD_TYPES = ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT")
RECORD_KEYS = {
    "A": "ARecords",
    "AAAA": "AAAARecords",
    "CAA": "caaRecords",
    "CNAME": "CNAMERecord",
    "MX": "MXRecords",
    "NS": "NSRecords",
    "PTR": "PTRRecords",
    "SOA": "SOARecord",
    "SRV": "SRVRecords",
    "TXT": "TXTRecords",
}
NAME_SERVERS = [
    "ns1-01.azure-dns.com.",
    "ns2-01.azure-dns.net.",
    "ns3-01.azure-dns.org.",
    "ns4-01.azure-dns.info.",
]


def _zone_id(sub_id, rg, zone):
    return "%s/providers/%s/dnszones/%s" % (core.group_id(sub_id, rg), NS, zone.lower())


def _check_preconditions(req, current_etag, what):
    if_match = req.header("If-Match")
    if_none_match = req.header("If-None-Match")
    if if_match is not None and (
        current_etag is None or (if_match != "*" and if_match.strip('"') != current_etag.strip('"'))
    ):
        core.fail(
            412,
            "PreconditionFailed",
            "The condition '%s' in the If-Match header was not satisfied. The "
            "current was '%s'." % (if_match, current_etag or "n/a"),
            target=what,
        )
    if (
        if_none_match is not None
        and current_etag is not None
        and (if_none_match == "*" or if_none_match.strip('"') == current_etag.strip('"'))
    ):
        core.fail(412, "PreconditionFailed", "The Resource '%s' already exists." % what, target=what)


def _record(zone_res, rtype, name, properties, etag=None):
    zone = zone_res["name"]
    fqdn = (zone + ".") if name == "@" else "%s.%s." % (name, zone)
    props = dict(properties)
    props["TTL"] = int(props.get("TTL", props.get("ttl", 3600)))
    props.pop("ttl", None)
    props.update(fqdn=fqdn, provisioningState="Succeeded", targetResource=props.get("targetResource") or {})
    props.setdefault("metadata", None)
    return {
        "id": "%s/%s/%s" % (zone_res["id"], rtype, name),
        "name": name,
        "type": "Microsoft.Network/dnszones/%s" % rtype,
        "etag": etag or str(uuid.uuid4()),
        "properties": props,
    }


def put_zone(req, sub_id, rg, zone):
    core.scope_for(req, sub_id, rg, NS)
    emu = req.emu
    rid = _zone_id(sub_id, rg, zone)
    existing = core.get_res(emu, rid)
    _check_preconditions(req, existing and existing["etag"], zone)
    body = req.json()
    if existing is not None:
        existing["tags"] = body.get("tags", existing.get("tags", {}))
        existing["etag"] = str(uuid.uuid4())
        return Response.json(200, _zone_json(emu, existing))
    res = {
        "id": rid,
        "name": zone.lower(),
        "type": "Microsoft.Network/dnszones",
        "location": "global",
        "tags": body.get("tags") or {},
        "etag": str(uuid.uuid4()),
        "properties": {
            "maxNumberOfRecordSets": 10000,
            "maxNumberOfRecordsPerRecordSet": None,
            "nameServers": NAME_SERVERS,
            "zoneType": "Public",
        },
        "_records": {},
    }
    res["_records"]["SOA/@"] = _record(
        res,
        "SOA",
        "@",
        {
            "TTL": 3600,
            "SOARecord": {
                "email": "azuredns-hostmaster.microsoft.com",
                "expireTime": 2419200,
                "host": NAME_SERVERS[0],
                "minimumTTL": 300,
                "refreshTime": 3600,
                "retryTime": 300,
                "serialNumber": 1,
            },
        },
    )
    res["_records"]["NS/@"] = _record(
        res, "NS", "@", {"TTL": 172800, "NSRecords": [{"nsdname": n} for n in NAME_SERVERS]}
    )
    core.put_res(emu, res)
    return Response.json(201, _zone_json(emu, res))


def _zone_json(emu, res):
    out = core.public(res)
    out["properties"]["numberOfRecordSets"] = len(res["_records"])
    return out


def _zone(req, sub_id, rg, zone):
    core.scope_for(req, sub_id, rg, NS)
    res = core.get_res(req.emu, _zone_id(sub_id, rg, zone))
    if res is None:
        core.not_found("Microsoft.Network/dnszones", zone, rg)
    return res


def _record_not_found(name, rg, sub_id):
    """Azure DNS answers a missing record set with its error not wrapped in "error" (a missing
    zone is ARM's wrapped ResourceNotFound): contract/fixtures/dns/record_not_found_unwrapped.json."""
    body = {
        "code": "NotFound",
        "message": "The resource record '%s' does not exist in resource group '%s' of subscription '%s'."
        % (name, rg, sub_id),
    }
    raise HttpError(Response.json(404, body))


def get_zone(req, sub_id, rg, zone):
    return Response.json(200, _zone_json(req.emu, _zone(req, sub_id, rg, zone)))


def delete_zone(req, sub_id, rg, zone):
    core.scope_for(req, sub_id, rg, NS)
    res = core.get_res(req.emu, _zone_id(sub_id, rg, zone))
    if res is None:
        return Response(204)
    _check_preconditions(req, res["etag"], zone)
    return core.lro_delete(req, sub_id, NS, res["id"])


def list_zones(req, sub_id, rg=None):
    core.scope_for(req, sub_id, rg, NS)
    prefix = core.group_id(sub_id, rg) if rg else "/subscriptions/%s" % sub_id
    return Response.json(
        200,
        {
            "value": [
                _zone_json(req.emu, r)
                for r in core.children(req.emu, prefix)
                if r["type"] == "Microsoft.Network/dnszones"
            ]
        },
    )


def _rtype(rtype):
    upper = rtype.upper()
    if upper not in RECORD_TYPES:
        core.fail(400, "BadRequest", "The record type '%s' is not supported." % rtype)
    return upper


# a relative record-set name: "@", or labels of letters, digits, "-" and "_"
# (not starting or ending with "-"), the first one may be "*"
_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def _check_record_name(name, zone):
    labels = name.split(".")
    valid = name == "@" or all(
        _LABEL_RE.match(label) or (index == 0 and label == "*") for index, label in enumerate(labels)
    )
    if not valid or len(name) + len(zone) + 1 > 253:
        core.fail(
            400,
            "BadRequest",
            "The record set name '%s' is invalid: it must be a relative name of labels of at most 63 "
            "letters, digits, hyphens or underscores." % name,
        )


def put_record(req, sub_id, rg, zone, rtype, name):
    name = unquote(name)  # the SDK quotes * and @
    res = _zone(req, sub_id, rg, zone)
    rtype = _rtype(rtype)
    _check_record_name(name, res["name"])
    key = "%s/%s" % (rtype, name.lower())
    current = res["_records"].get(key)
    _check_preconditions(req, current and current["etag"], name)
    props = dict(req.json().get("properties") or {})
    if req.method == "PATCH":
        if current is None:
            _record_not_found(name, rg, sub_id)
        props = dict(current["properties"], **props)
    if rtype == "A":
        for record in props.get("ARecords") or props.get("aRecords") or []:
            try:
                ipaddress.IPv4Address(str(record.get("ipv4Address", "")))
            except ValueError:
                core.fail(
                    400, "BadRequest", "The IPv4 address '%s' is not valid." % record.get("ipv4Address")
                )
    record = _record(res, rtype, name.lower(), props)
    res["_records"][key] = record
    res["etag"] = str(uuid.uuid4())
    return Response.json(201 if current is None and req.method == "PUT" else 200, record)


def get_record(req, sub_id, rg, zone, rtype, name):
    name = unquote(name)  # the SDK quotes * and @
    res = _zone(req, sub_id, rg, zone)
    record = res["_records"].get("%s/%s" % (_rtype(rtype), name.lower()))
    if record is None:
        _record_not_found(name, rg, sub_id)
    return Response.json(200, record)


def delete_record(req, sub_id, rg, zone, rtype, name):
    name = unquote(name)  # the SDK quotes * and @
    res = _zone(req, sub_id, rg, zone)
    key = "%s/%s" % (_rtype(rtype), name.lower())
    current = res["_records"].get(key)
    if current is None:
        return Response(204)
    _check_preconditions(req, current["etag"], name)
    if name == "@" and rtype.upper() in ("SOA", "NS"):
        core.fail(400, "BadRequest", "The SOA and NS record sets at the zone apex cannot be deleted.")
    del res["_records"][key]
    return Response(200)


def list_records(req, sub_id, rg, zone, rtype=None):
    res = _zone(req, sub_id, rg, zone)
    wanted = _rtype(rtype) if rtype and rtype.lower() not in ("recordsets", "all") else None
    value = [r for k, r in sorted(res["_records"].items()) if wanted is None or k.split("/")[0] == wanted]
    suffix = req.query.get("$recordsetnamesuffix")
    if suffix:
        value = [r for r in value if r["name"].endswith(suffix.lower())]
    return Response.json(200, {"value": value})


def register(router):
    s = r"/subscriptions/([^/]+)"
    z = s + r"/resourceGroups/([^/]+)/providers/Microsoft\.Network/dnsZones/([^/]+)"
    zones, records = "dns.zones", "dns.record_sets"
    router.add("GET", s + r"/providers/Microsoft\.Network/dnszones", list_zones, api=zones)
    router.add(
        "GET", s + r"/resourceGroups/([^/]+)/providers/Microsoft\.Network/dnsZones", list_zones, api=zones
    )
    router.add("PUT PATCH", z, put_zone, api=zones)
    router.add("GET", z, get_zone, api=zones)
    router.add("DELETE", z, delete_zone, api=zones)
    router.add("GET", z + r"/(recordsets|all)", list_records, api=records)
    router.add("GET", z + r"/([A-Za-z]+)", list_records, api=records)
    router.add("PUT PATCH", z + r"/([A-Za-z]+)/([^/]+)", put_record, api=records)
    router.add("GET", z + r"/([A-Za-z]+)/([^/]+)", get_record, api=records)
    router.add("DELETE", z + r"/([A-Za-z]+)/([^/]+)", delete_record, api=records)
