"""Azure DNS: zones (every page), a zone, its record sets, and an A record created, updated and
deleted with the etags that keep a change made meanwhile in the portal from being overwritten."""

import json

from odoo.addons.oec_cloud_accounts.services.dns import DnsClient, is_owned_by

SUB = "00000000-0000-0000-0000-000000000001"


def test_zones_of_every_page_as_public_zones(replay, arm):
    replay.serve("dns/zones_pages")
    zones = DnsClient(**arm).list_zones(SUB)
    assert [(z["name"], z["resource_group"], z["record_count"], z["zone_type"]) for z in zones] == [
        ("zone1", "rg1", 2, "Public"),
        ("zone2", "rg2", 300, "Public"),
    ]
    assert zones[0]["name_servers"] == [
        "ns1-01.azure-dns.com",
        "ns2-01.azure-dns.net",
        "ns3-01.azure-dns.org",
        "ns4-01.azure-dns.info",
    ]
    first, second = replay.requests
    assert first["path"].endswith("/providers/Microsoft.Network/dnszones")
    assert second["query"]["$skipToken"] == "skipToken"


def test_one_zone(replay, arm):
    replay.serve("dns/zones_pages")
    zone = DnsClient(**arm).get_zone(SUB, "rg1", "zone1")
    assert (zone["name"], zone["resource_group"], zone["etag"]) == (
        "zone1",
        "rg1",
        "00000000-0000-0000-0000-000000000000",
    )
    assert len(zone["name_servers"]) == 4


def test_record_sets_of_a_zone_with_their_values_and_metadata(replay, arm):
    replay.serve("dns/record_sets")
    record_sets = DnsClient(**arm).list_record_sets(SUB, "rg", "zone1")
    assert [(r["name"], r["type"], r["values"]) for r in record_sets] == [
        ("@", "SOA", ["ns1.contoso.com hostmaster.contoso.com"]),
        ("record1", "A", ["127.0.0.1"]),
    ]
    record = record_sets[1]
    assert (record["ttl"], record["fqdn"], record["etag"]) == (
        3600,
        "record1.zone1",
        "00000000-0000-0000-0000-000000000000",
    )
    assert record["metadata"] == {"key1": "value1"}
    assert not is_owned_by(record, {"db_uuid": "x", "server_id": 1})
    (asked,) = replay.requests
    assert asked["path"].endswith("/dnsZones/zone1/recordsets")
    assert asked["query"]["api-version"] == "2018-05-01"


def test_a_record_created_updated_and_deleted_with_etags(replay, arm):
    replay.serve("dns/record_sets")
    client = DnsClient(**arm)
    owner = {"oec_db_uuid": "db", "oec_server_id": "7"}
    created = client.create_a_record(SUB, "rg", "zone1", "record1", ["127.0.0.1"], 3600, owner)
    assert (created["values"], created["etag"]) == (["127.0.0.1"], "00000000-0000-0000-0000-000000000000")
    updated = client.update_a_record(
        SUB, "rg", "zone1", "record1", ["127.0.0.2"], 3600, created["etag"], owner
    )
    # the new version's etag, for the next change
    assert (updated["values"], updated["etag"]) == (["127.0.0.2"], "11111111-1111-1111-1111-111111111111")
    assert client.delete_record_set(SUB, "rg", "zone1", "record1", "A", updated["etag"]) is None
    create, update, delete = replay.requests
    assert create["headers"]["If-None-Match"] == "*" and "If-Match" not in create["headers"]
    assert update["headers"]["If-Match"] == "00000000-0000-0000-0000-000000000000"
    assert delete["headers"]["If-Match"] == "11111111-1111-1111-1111-111111111111"
    sent = json.loads(create["body"])
    assert sent["properties"] == {"TTL": 3600, "ARecords": [{"ipv4Address": "127.0.0.1"}], "metadata": owner}


def test_one_record_set_with_its_etag(replay, arm):
    replay.serve("dns/record_sets")
    record = DnsClient(**arm).get_record_set(SUB, "rg", "zone1", "record1", "A")
    assert (record["name"], record["type"], record["values"], record["etag"]) == (
        "record1",
        "A",
        ["127.0.0.1"],
        "00000000-0000-0000-0000-000000000000",
    )
