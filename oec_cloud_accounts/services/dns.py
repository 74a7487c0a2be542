"""Azure DNS (public zones and record sets) through azure-mgmt-dns, and the
delegation check through a DNS resolver (dnspython).

Record sets carry an ``etag``: updates and deletes send it as ``If-Match`` and
creations send ``If-None-Match: *``, so a change made in the Azure portal
meanwhile gives 412 PreconditionFailed instead of being overwritten.
"""

import ipaddress
import re

import dns.exception
import dns.resolver
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns.models import ARecord, RecordSet

from .arm import ArmClient, _arm_errors
from .errors import DNS, DNS_RECORD_EXISTS, KIND_REQUEST, AzureError

# the record types a zone lists, with the attribute holding their values
RECORD_TYPES = ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT")
TTL_MIN = 60
TTL_MAX = 86400
MAX_A_RECORDS = 20  # Azure allows more; more addresses in one name is a mistake here
# metadata keys marking a record set written for one server of one database
OWNER_DB_KEY = "oec_db_uuid"
OWNER_SERVER_KEY = "oec_server_id"

_LABEL_RE = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


# -- validation (where the input enters; also used by the models) ---------------------------------


def normalize_record_name(name, zone_name):
    """The relative record-set name (``@`` for the apex, ``*`` allowed as the
    first label), lowercase; raises AzureError ``InvalidRecordName``."""
    value = (name or "").strip().lower().rstrip(".")
    zone = (zone_name or "").lower().rstrip(".")
    if value in ("", "@", zone):
        return "@"
    if value.endswith("." + zone):
        value = value[: -len(zone) - 1]
    labels = value.split(".")
    valid = all(_LABEL_RE.match(label) or (index == 0 and label == "*") for index, label in enumerate(labels))
    if not valid or len(value) + len(zone) + 1 > 253:
        raise AzureError(
            "dns.invalid_record_name",
            code="InvalidRecordName",
            kind=KIND_REQUEST,
            params={"name": name or ""},
        )
    return value


def normalize_ipv4(addresses):
    """A list of IPv4 addresses from a list or a comma/space separated text;
    raises AzureError ``InvalidIPv4``."""
    if isinstance(addresses, str):
        addresses = re.split(r"[\s,;]+", addresses.strip())
    result = []
    for address in addresses or []:
        if not address:
            continue
        try:
            result.append(str(ipaddress.IPv4Address(address.strip())))
        except ValueError:
            raise AzureError(
                "dns.invalid_ipv4",
                code="InvalidIPv4",
                params={"address": address},
            ) from None
    if not result or len(result) > MAX_A_RECORDS:
        raise AzureError(
            "dns.a_record_count",
            code="InvalidIPv4",
            params={"max": MAX_A_RECORDS},
        )
    return sorted(set(result), key=result.index)


def check_ttl(ttl):
    if not isinstance(ttl, int) or not TTL_MIN <= ttl <= TTL_MAX:
        raise AzureError(
            "dns.invalid_ttl",
            code="InvalidTTL",
            params={"min": TTL_MIN, "max": TTL_MAX},
        )
    return ttl


def owner_metadata(owner):
    return {OWNER_DB_KEY: str(owner["db_uuid"]), OWNER_SERVER_KEY: str(owner["server_id"])}


def is_owned_by(record_set, owner):
    """Whether a record set's metadata names this owner (database + server)."""
    metadata = {k.lower(): v for k, v in (record_set.get("metadata") or {}).items()}
    return metadata.get(OWNER_DB_KEY) == str(owner["db_uuid"]) and metadata.get(OWNER_SERVER_KEY) == str(
        owner["server_id"]
    )


# -- Azure DNS --------------------------------------------------------------------------------------


class DnsClient(ArmClient):
    """Azure DNS calls of one signed-in account (same options as ArmClient)."""

    def _dns(self, subscription_id, group):
        """A DNS client for one operations group (``zones`` or ``record_sets``), built with its
        API version (its operations send the client's)."""
        version = self._version("dns." + group)
        return DnsManagementClient(self.credential, subscription_id, api_version=version, **self.options)

    # -- remote calls, one method each ----------------------------------------------------------

    def list_zones(self, subscription_id):
        """The public zones of a subscription, all resource groups."""
        with _arm_errors(DNS), self._dns(subscription_id, "zones") as client:
            return [
                zone
                for zone in (_zone(subscription_id, z) for z in client.zones.list())
                if zone["zone_type"] == "Public"
            ]

    def get_zone(self, subscription_id, resource_group, zone_name):
        with _arm_errors(DNS), self._dns(subscription_id, "zones") as client:
            return _zone(subscription_id, client.zones.get(resource_group, zone_name))

    def list_record_sets(self, subscription_id, resource_group, zone_name):
        with _arm_errors(DNS), self._dns(subscription_id, "record_sets") as client:
            return [_record_set(r) for r in client.record_sets.list_by_dns_zone(resource_group, zone_name)]

    def get_record_set(self, subscription_id, resource_group, zone_name, name, record_type):
        """The record set, or None when there is none of that name and type."""
        try:
            with _arm_errors(DNS), self._dns(subscription_id, "record_sets") as client:
                return _record_set(client.record_sets.get(resource_group, zone_name, name, record_type))
        except AzureError as error:
            if error.status == 404 and error.code == "NotFound":  # the zone missing is ResourceNotFound
                return None
            raise

    def create_a_record(
        self, subscription_id, resource_group, zone_name, name, addresses, ttl, metadata=None
    ):
        """Create only (If-None-Match: *): 412 RecordSetExists when the name is taken."""
        params = RecordSet(
            ttl=ttl, a_records=[ARecord(ipv4_address=a) for a in addresses], metadata=metadata or None
        )
        with _arm_errors(DNS, {412: DNS_RECORD_EXISTS}), self._dns(subscription_id, "record_sets") as client:
            return _record_set(
                client.record_sets.create_or_update(
                    resource_group, zone_name, name, "A", params, if_none_match="*"
                )
            )

    def update_a_record(
        self, subscription_id, resource_group, zone_name, name, addresses, ttl, etag, metadata=None
    ):
        """Replace the addresses and TTL of the version ``etag`` (If-Match)."""
        params = RecordSet(ttl=ttl, a_records=[ARecord(ipv4_address=a) for a in addresses], metadata=metadata)
        with _arm_errors(DNS), self._dns(subscription_id, "record_sets") as client:
            return _record_set(
                client.record_sets.create_or_update(
                    resource_group, zone_name, name, "A", params, if_match=etag
                )
            )

    def delete_record_set(self, subscription_id, resource_group, zone_name, name, record_type, etag):
        """Delete the version ``etag`` (If-Match) of a record set."""
        with _arm_errors(DNS), self._dns(subscription_id, "record_sets") as client:
            client.record_sets.delete(resource_group, zone_name, name, record_type, if_match=etag)


def resolve_ns(zone_name, nameservers=None, timeout=5.0):
    """The NS names (lowercase, with the final dot) the DNS gives for a zone.

    ``nameservers``: ``[(ip, port)]`` to ask instead of the system's resolvers
    (server option ``oec_dns_nameservers``; tests point it at a local server).
    Returns ``(names, problem)``: problem is None, ``"nxdomain"``, ``"noanswer"``
    or ``"timeout"``.
    """
    resolver = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        resolver.nameservers = [ip for ip, _port in nameservers]
        resolver.nameserver_ports = {ip: port for ip, port in nameservers}
    resolver.lifetime = timeout
    resolver.timeout = timeout
    try:
        answer = resolver.resolve(zone_name.rstrip(".") + ".", "NS", search=False)
    except dns.resolver.NXDOMAIN:
        return [], "nxdomain"
    except dns.resolver.NoAnswer:
        return [], "noanswer"
    except (dns.exception.Timeout, dns.resolver.NoNameservers):
        return [], "timeout"
    return sorted({r.target.to_text().lower() for r in answer}), None


def _zone(subscription_id, zone):
    zone_type = getattr(zone, "zone_type", None)
    return {
        "id": zone.id,
        "name": zone.name,
        "subscription_id": subscription_id,
        "resource_group": _resource_group(zone.id),
        "record_count": zone.number_of_record_sets or 0,
        "name_servers": [n.lower() for n in zone.name_servers or []],
        "zone_type": str(getattr(zone_type, "value", zone_type) or "Public"),
        "etag": zone.etag,
    }


def _resource_group(resource_id):
    parts = (resource_id or "").split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else None


def _record_set(record):
    record_type = (record.type or "").rsplit("/", 1)[-1].upper()
    return {
        "name": record.name,
        "type": record_type,
        "ttl": record.ttl,
        "fqdn": record.fqdn,
        "etag": record.etag,
        "metadata": dict(record.metadata or {}),
        "values": _values(record, record_type),
    }


def _values(record, record_type):
    """The record set's values as short texts, whatever its type."""
    if record_type == "A":
        return [r.ipv4_address for r in record.a_records or []]
    if record_type == "AAAA":
        return [r.ipv6_address for r in record.aaaa_records or []]
    if record_type == "CNAME":
        return [record.cname_record.cname] if record.cname_record else []
    if record_type == "MX":
        return ["%s %s" % (r.preference, r.exchange) for r in record.mx_records or []]
    if record_type == "NS":
        return [r.nsdname for r in record.ns_records or []]
    if record_type == "PTR":
        return [r.ptrdname for r in record.ptr_records or []]
    if record_type == "TXT":
        return ["".join(r.value or []) for r in record.txt_records or []]
    if record_type == "SRV":
        return ["%s %s %s %s" % (r.priority, r.weight, r.port, r.target) for r in record.srv_records or []]
    if record_type == "CAA":
        return ['%s %s "%s"' % (r.flags, r.tag, r.value) for r in record.caa_records or []]
    if record_type == "SOA" and record.soa_record:
        return ["%s %s" % (record.soa_record.host, record.soa_record.email)]
    return []
