#!/usr/bin/env python3
"""Record Azure's answers from a real subscription, as fixtures of the contract suite.

For people with a subscription (never run in CI): it runs the read-only calls
the product makes (subscriptions, regions, VM sizes and usages of one region,
resource providers, storage accounts, DNS zones) and, with ``--create-group``,
creates, reads and deletes an empty resource group (a long-running deletion).
Each call's requests and answers are written as one fixture in the format of
``contract/fixtures`` (see contract/README.md), sanitized: subscription,
tenant and other ids, resource names, e-mail addresses, tag values and
anything that looks like a key, token or secret are replaced by stand-ins
that keep equal values equal; only the headers the product reads are kept.
Nothing is sent anywhere but to Azure.

    az login   # or any way to get an ARM access token
    .venv/bin/python tools/azure_record.py --subscription <id> --location westeurope \\
        --token-command "az account get-access-token --query accessToken -o tsv" \\
        --out contract/fixtures/recorded [--create-group]

Read the files before committing them: the sanitizer replaces what it knows,
and a fixture must hold nothing of yours.
"""

import argparse
import datetime
import importlib.util
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.storage import StorageManagementClient

# the product's API versions (the fixtures are answers of exactly these): the addon's table,
# read from its file (plain Python, no odoo import)
_SPEC = importlib.util.spec_from_file_location(
    "api_versions",
    Path(__file__).resolve().parent.parent / "oec_cloud_accounts" / "services" / "api_versions.py",
)
api_versions = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(api_versions)
V = api_versions.API_VERSIONS

KEPT_HEADERS = ("retry-after", "location", "azure-asyncoperation", "content-type", "etag")
SECRET_KEYS = re.compile(r"(key|secret|token|password|connectionstring|sas|signature)", re.IGNORECASE)
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
ARM_ID = re.compile(r"/resourceGroups/([^/]+)(?:/providers/[^/]+/[^/]+/([^/?]+))?", re.IGNORECASE)


class Sanitizer:
    """Replace what identifies a person or a subscription, the same way everywhere."""

    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.guids = {}
        self.names = {}

    def guid(self, match):
        value = match.group(0).lower()
        if value not in self.guids:
            self.guids[value] = "00000000-0000-0000-0000-%012d" % (len(self.guids) + 1)
        return self.guids[value]

    def learn_names(self, text):
        for group, name in ARM_ID.findall(text):
            for value, kind in ((group, "group"), (name, "name")):
                if value and value.lower() not in self.names:
                    self.names[value.lower()] = "%s%d" % (kind, len(self.names) + 1)

    def text(self, value):
        value = value.replace(self.base_url, "{base}")
        value = GUID.sub(self.guid, value)
        value = EMAIL.sub("user@example.com", value)
        for real in sorted(self.names, key=len, reverse=True):
            if len(real) >= 3:
                value = re.sub(re.escape(real), self.names[real], value, flags=re.IGNORECASE)
        return value

    def body(self, value, key=""):
        if isinstance(value, dict):
            return {k: self.body(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.body(v, key) for v in value]
        if isinstance(value, str):
            if SECRET_KEYS.search(key) and key.lower() not in ("keytype", "keysource"):
                return "REDACTED"
            return self.text(value)
        return value

    def tags(self, value):
        """Tag values may name people or projects: keep the keys only."""
        if isinstance(value, dict):
            return {
                k: ("tag" if k.lower() == "tags" and isinstance(v, dict) else self.tags(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.tags(v) for v in value]
        return value


class Recorder:
    """A requests session whose answers are kept, one list per call."""

    def __init__(self):
        self.session = requests.Session()
        self.session.hooks["response"].append(self._keep)
        self.exchanges = []

    def _keep(self, response, *args, **kwargs):  # pylint: disable=unused-argument
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        self.exchanges.append((response.request, response, body))

    def take(self):
        taken, self.exchanges = self.exchanges, []
        return taken


def _fixture(sanitizer, name, taken, when):
    for request, _response, body in taken:
        sanitizer.learn_names(urlsplit(request.url).path)
        sanitizer.learn_names(json.dumps(body))
    exchanges = []
    for request, response, body in taken:
        url = urlsplit(request.url)
        query = dict(parse_qsl(url.query))
        exchange = {
            "method": request.method,
            "path": sanitizer.text(url.path),
            "status": response.status_code,
            "headers": {
                k: sanitizer.text(v) for k, v in response.headers.items() if k.lower() in KEPT_HEADERS
            },
            "body": sanitizer.tags(sanitizer.body(body)),
        }
        if "api-version" in query:
            exchange["api_version"] = query["api-version"]
        exchanges.append(exchange)
    return {
        "source": "recorded from a real subscription by tools/azure_record.py on %s (sanitized)" % when,
        "notes": name,
        "exchanges": exchanges,
    }


class _Token:
    def __init__(self, token):
        self._token = AccessToken(token, 4102444800)

    def get_token(self, *scopes, **kwargs):  # pylint: disable=unused-argument
        return self._token


def record(
    token, subscription, location, out, arm="https://management.azure.com", create_group=False, ca=None
):
    """Run the calls, write one fixture per call in ``out``; returns the written paths."""
    recorder = Recorder()
    options = {
        "base_url": arm,
        "credential_scopes": [arm.rstrip("/") + "/.default"],
        "transport": RequestsTransport(
            session=recorder.session, session_owner=False, connection_verify=ca or True
        ),
        "polling_interval": 1,
        "retry_total": 0,
    }
    credential = _Token(token)
    # as services/arm.py: compute takes the version per call, the other clients per operations group
    compute = ComputeManagementClient(credential, subscription, **options)
    subscriptions = SubscriptionClient(credential, api_version=V["subscriptions.subscriptions"], **options)
    providers = ResourceManagementClient(
        credential, subscription, api_version=V["resources.providers"], **options
    )
    resources = ResourceManagementClient(
        credential, subscription, api_version=V["resources.resource_groups"], **options
    )
    calls = {
        "subscriptions": lambda: list(subscriptions.subscriptions.list()),
        "locations": lambda: list(subscriptions.subscriptions.list_locations(subscription)),
        "skus_region": lambda: list(
            compute.resource_skus.list(
                filter="location eq '%s'" % location, api_version=V["compute.resource_skus"]
            )
        ),
        "usages": lambda: list(compute.usage.list(location, api_version=V["compute.usage"])),
        "providers": lambda: [
            providers.providers.get(ns)
            for ns in ("Microsoft.Compute", "Microsoft.Storage", "Microsoft.Network")
        ],
        "storage_accounts": lambda: list(
            StorageManagementClient(
                credential, subscription, api_version=V["storage.storage_accounts"], **options
            ).storage_accounts.list()
        ),
        "dns_zones": lambda: list(
            DnsManagementClient(credential, subscription, api_version=V["dns.zones"], **options).zones.list()
        ),
    }
    if create_group:
        group = "oec-record-%s" % uuid.uuid4().hex[:8]

        def group_lifecycle():
            resources.resource_groups.create_or_update(
                group, {"location": location, "tags": {"purpose": "oec-record"}}
            )
            resources.resource_groups.get(group)
            resources.resource_groups.begin_delete(group).result()

        calls["resource_group_lifecycle"] = group_lifecycle
    sanitizer = Sanitizer(arm)
    when = datetime.date.today().isoformat()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, call in calls.items():
        try:
            call()
        except Exception as exc:  # noqa: BLE001 (an error answer is a fixture too)
            print(
                "%s: %s" % (name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__),
                file=sys.stderr,
            )
        path = out / ("%s.json" % name)
        path.write_text(json.dumps(_fixture(sanitizer, name, recorder.take(), when), indent=1) + "\n")
        written.append(path)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscription", required=True)
    parser.add_argument("--location", required=True, help="a region name, e.g. westeurope")
    parser.add_argument("--out", required=True, help="the folder to write the fixtures to")
    parser.add_argument("--token-command", help="a command printing an ARM access token (else: stdin)")
    parser.add_argument("--arm", default="https://management.azure.com", help="the cloud's ARM endpoint")
    parser.add_argument(
        "--create-group", action="store_true", help="also create and delete an empty resource group"
    )
    args = parser.parse_args(argv)
    if args.token_command:
        token = subprocess.run(
            args.token_command, shell=True, check=True, capture_output=True, text=True
        ).stdout
    else:
        token = sys.stdin.readline()
    for path in record(
        token.strip(), args.subscription, args.location, args.out, args.arm, args.create_group
    ):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
