"""Give the local Azure sandbox a public DNS zone to pick (run by `make run`).

Executed through `odoo-bin shell` like cloud_accounts.py, with OEC_SANDBOX_INFO.
`sandbox.test` in the resource group `sandbox-dns` of the sandbox subscription,
with an A record `www`, made through the emulator's ARM API (as the Azure portal
would) when the sandbox does not have it yet: the sandbox keeps its state across
restarts (.cache/sandbox/), and what was done to the zone since stays.
Cloud > Accounts > (the sandbox account) > DNS Quick Setup then lists it.
"""

import json
import os

import requests
from azure_emulator.arm_versions import IMPLEMENTED
from azure_emulator.client import ControlClient

info = json.loads(os.environ["OEC_SANDBOX_INFO"])
arm = info["endpoints"]["arm"].rstrip("/")
token = ControlClient(info["url"], ca_path=info["ca_path"]).issue_token()["access_token"]
session = requests.Session()
session.trust_env = False  # loopback: no proxy, and this CA only
session.verify = info["ca_path"]
session.headers["Authorization"] = "Bearer " + token
group = "%s/subscriptions/%s/resourceGroups/sandbox-dns" % (arm, info["subscription_id"])
zone = group + "/providers/Microsoft.Network/dnsZones/sandbox.test"
steps = (
    (group, "resources.resource_groups", {"location": "westeurope"}),
    (zone, "dns.zones", {"location": "global"}),
    (
        zone + "/A/www",
        "dns.record_sets",
        {"properties": {"TTL": 3600, "ARecords": [{"ipv4Address": "192.0.2.10"}]}},
    ),
)
if session.get(zone, params={"api-version": IMPLEMENTED["dns.zones"][0]}, timeout=10).status_code == 200:
    steps = ()  # made at an earlier start, and kept by the sandbox as it is now
for url, operation, body in steps:
    # the API versions the emulator answers (the product's)
    params = {"api-version": IMPLEMENTED[operation][0]}
    session.put(url, params=params, json=body, timeout=10).raise_for_status()
