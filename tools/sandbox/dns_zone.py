"""Give the local Azure sandbox a public DNS zone to pick (run by `make run`).

Executed through `odoo-bin shell` like cloud_accounts.py, with OEC_SANDBOX_INFO.
The emulator keeps its state in memory, so the zone is made again at every
start: `sandbox.test` in the resource group `sandbox-dns` of the sandbox
subscription, with an A record `www`, through the emulator's ARM API (as the
Azure portal would). Cloud > Accounts > (the sandbox account) > DNS Quick Setup
then lists it.
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
for url, operation, body in (
    (group, "resources.resource_groups", {"location": "westeurope"}),
    (zone, "dns.zones", {"location": "global"}),
    (
        zone + "/A/www",
        "dns.record_sets",
        {"properties": {"TTL": 3600, "ARecords": [{"ipv4Address": "192.0.2.10"}]}},
    ),
):
    # the API versions the emulator answers (the product's)
    params = {"api-version": IMPLEMENTED[operation][0]}
    session.put(url, params=params, json=body, timeout=10).raise_for_status()
