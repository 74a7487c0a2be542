"""The sandbox keeps its state across restarts (``--state-dir``, as `make run` starts it):
a newcomer's sign-in, resource groups, DNS zones, storage accounts and blobs are
still there the next day. Tests of the rest use no state directory."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.storage.blob import BlobServiceClient
from azure_emulator import defaults as d
from azure_emulator import persist
from azure_emulator.client import ControlClient
from azure_emulator.testing import start_emulator
from conftest import StaticCredential, make_msal_app, version
from test_entra import REDIRECT, _authorize

RG = "oec-kept"
ACCOUNT = "oeckept"
ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"


class Sandbox:
    """``python -m azure_emulator --state-dir DIR`` in a process group of its own, stopped
    as `make run` stops it: SIGTERM to the whole group (Azurite included)."""

    def __init__(self, state_dir):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "azure_emulator", "--state-dir", str(state_dir)],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.info = json.loads(self.proc.stdout.readline())
        self.endpoints = self.info["endpoints"]
        self.ca_path = self.info["ca_path"]
        self.control = ControlClient(self.info["url"], self.ca_path)
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = self.ca_path

    def clients(self, token, expires_on):
        options = {
            "base_url": self.endpoints["arm"],
            "connection_verify": self.ca_path,
            "credential_scopes": [self.endpoints["arm_scope"]],
            "polling_interval": 0,
        }
        credential = StaticCredential(token, expires_on)
        return tuple(
            client(credential, d.SUBSCRIPTION_ID, api_version=version(operation), **options)
            for client, operation in (
                (ResourceManagementClient, "resources.resource_groups"),
                (StorageManagementClient, "storage.storage_accounts"),
                (DnsManagementClient, "dns.zones"),
            )
        )

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.http.close()


def test_state_survives_a_restart(tmp_path):
    first = Sandbox(tmp_path)
    try:
        # a sign-in, as Add Account makes it: its refresh token is what Odoo keeps
        app = make_msal_app(first, first.http)
        flow = app.initiate_auth_code_flow(
            [d.ARM_USER_IMPERSONATION], redirect_uri=REDIRECT, login_hint=d.USER_EMAIL
        )
        first.control.set_auto_consent(d.USER_EMAIL)
        signed_in = app.acquire_token_by_auth_code_flow(flow, _authorize(first.http, flow))
        token, expires_on = signed_in["access_token"], time.time() + 3000
        resources, storage, dns = first.clients(token, expires_on)
        resources.resource_groups.create_or_update(RG, {"location": "westeurope"})
        dns.zones.create_or_update(RG, "kept.test", {"location": "global"})
        storage.storage_accounts.begin_create(
            RG, ACCOUNT, {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}
        ).result()
        storage.blob_containers.create(RG, ACCOUNT, "backups", {})
        key = storage.storage_accounts.list_keys(RG, ACCOUNT)["keys"][0]["value"]
        blob_url = storage.storage_accounts.get_properties(RG, ACCOUNT).primary_endpoints.blob
        BlobServiceClient(blob_url, credential=key, connection_verify=first.ca_path).get_blob_client(
            "backups", "db.dump"
        ).upload_blob(b"the database of yesterday")
        # a previous version (blob versioning): its bytes are the emulator's, kept beside Azurite's
        storage.blob_containers.create(
            RG, ACCOUNT, "worm", {"properties": {"immutableStorageWithVersioning": {"enabled": True}}}
        )
        versioned = BlobServiceClient(
            blob_url, credential=key, connection_verify=first.ca_path
        ).get_blob_client("worm", "db.dump")
        old_version = versioned.upload_blob(b"the day before")["version_id"]
        versioned.upload_blob(b"yesterday", overwrite=True)
        # an operation Azure is still on when the sandbox stops: it ends while it is off
        first.control.configure(lro_polls=1000)
        storage.storage_accounts.begin_create(
            RG,
            "oecpending",
            {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}},
            polling=False,
        )
        first.control.inject_fault(service="arm", path="/never", status=500)
        ca = Path(first.ca_path).read_bytes()
    finally:
        first.stop()

    second = Sandbox(tmp_path)
    try:
        assert Path(second.ca_path).read_bytes() == ca, "the same authority: a browser trusts it still"
        # yesterday's access token is still accepted (the same signing keys)
        resources, storage, dns = second.clients(token, expires_on)
        assert RG in [group.name for group in resources.resource_groups.list()]
        assert [zone.name for zone in dns.zones.list_by_resource_group(RG)] == ["kept.test"]
        kept = storage.storage_accounts.get_properties(RG, ACCOUNT)
        # the blob endpoint is today's port, the key yesterday's, the blob still there
        assert kept.primary_endpoints.blob.startswith(second.endpoints["blob"] + "/")
        assert storage.storage_accounts.list_keys(RG, ACCOUNT)["keys"][0]["value"] == key
        client = BlobServiceClient(
            kept.primary_endpoints.blob, credential=key, connection_verify=second.ca_path
        ).get_blob_client("backups", "db.dump")
        assert client.download_blob().readall() == b"the database of yesterday"
        kept_version = BlobServiceClient(
            kept.primary_endpoints.blob, credential=key, connection_verify=second.ca_path
        ).get_blob_client("worm", "db.dump", version_id=old_version)
        assert kept_version.download_blob().readall() == b"the day before"
        pending = storage.storage_accounts.get_properties(RG, "oecpending")
        assert pending.provisioning_state == "Succeeded"
        state = second.control.state()
        assert state["faults"] == [], "test tools are not kept"
        assert sorted(state["azurite_accounts"]) == [ACCOUNT, "oecpending"]
        # Odoo's refresh token too
        refreshed = make_msal_app(second, second.http).acquire_token_by_refresh_token(
            signed_in["refresh_token"], [d.ARM_USER_IMPERSONATION]
        )
        assert "access_token" in refreshed, refreshed
    finally:
        second.stop()


def test_an_operation_cut_short_by_a_crash_ends_failed(tmp_path):
    """No orderly stop (kill -9): an operation found in progress at the next start ends
    Failed, its resource too, and the client sends its request again."""
    first = start_emulator(azurite=False, state_dir=tmp_path)
    minted = first.control.issue_token()
    options = {
        "base_url": first.endpoints["arm"],
        "connection_verify": first.ca_path,
        "credential_scopes": [first.endpoints["arm_scope"]],
    }
    credential = StaticCredential(minted["access_token"], minted["expires_on"])
    ResourceManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("resources.resource_groups"), **options
    ).resource_groups.create_or_update(RG, {"location": "westeurope"})
    first.control.configure(lro_polls=1000)
    StorageManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("storage.storage_accounts"), **options
    ).storage_accounts.begin_create(
        RG,
        ACCOUNT,
        {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}},
        polling=False,
    )
    persist.save(first._emulator)  # what the autosave had written when the process died
    second = start_emulator(azurite=False, state_dir=tmp_path)
    try:
        options["base_url"] = second.endpoints["arm"]
        storage = StorageManagementClient(
            credential, d.SUBSCRIPTION_ID, api_version=version("storage.storage_accounts"), **options
        )
        assert storage.storage_accounts.get_properties(RG, ACCOUNT).provisioning_state == "Failed"
        operations = second.control.state()["operations"].values()
        assert [op["error"]["code"] for op in operations if op["status"] != "Succeeded"] == [
            "OperationInterrupted"
        ]
    finally:
        second.stop()
        first.stop()


def test_tests_keep_nothing(emu):
    """The shared emulator of tests has no state directory: it lives in memory."""
    assert emu._emulator.state_dir is None
    assert emu._emulator.blob.location is None
