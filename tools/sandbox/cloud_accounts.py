"""Register the local Azure sandbox for oec_cloud_accounts (run by `make run`).

Executed through `odoo-bin shell` (``env`` is given) with OEC_SANDBOX_INFO =
the emulator's describe() as JSON. Idempotent: creates or updates the
"Local sandbox" cloud (the emulator's ports change at every start), stores the
sandbox application's client id and secret (encrypted), selects it in
Settings > Cloud Accounts, then commits.
"""

import json
import os

info = json.loads(os.environ["OEC_SANDBOX_INFO"])
endpoints = info["endpoints"]
if "cloud.azure.environment" in env:  # noqa: F821 (the addon may be uninstalled)
    Cloud = env["cloud.azure.environment"].with_context(active_test=False)  # noqa: F821
    values = {
        "name": "Local sandbox",
        "is_sandbox": True,
        "active": True,
        "sequence": 0,
        "authority_host": endpoints["authority_host"],
        "interactive_authority_host": endpoints["interactive_authority_host"],
        "arm_endpoint": endpoints["arm"],
        "arm_audience": endpoints["arm_scope"].removesuffix(".default"),
        "graph_endpoint": endpoints["graph"],
        "prices_endpoint": endpoints["prices"],
        "storage_suffix": endpoints["storage_suffix"],
        "portal_url": info["http_url"],
        "client_id": info["cloud_client_id"],
        "tenant": "organizations",
    }
    cloud = Cloud.search([("is_sandbox", "=", True), ("name", "=", "Local sandbox")], limit=1)
    if cloud:
        cloud.write(values)
    else:
        cloud = Cloud.create(values)
    cloud.set_client_secret(info["cloud_client_secret"])
    env["ir.config_parameter"].set_param("oec_cloud_accounts.environment_id", cloud.id)  # noqa: F821
    # the sandbox's operations are short: look at them often, so the servers move on quickly
    env["ir.config_parameter"].set_param("oec_cloud_accounts.server_poll_seconds", 2)  # noqa: F821
    env.cr.commit()  # noqa: F821
