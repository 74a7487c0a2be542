"""Register the local Azure sandbox for oec_cloud_accounts (run by `make run`).

Executed through `odoo-bin shell` (``env`` is given) with OEC_SANDBOX_INFO =
the emulator's describe() as JSON. Idempotent: creates or updates the
"Local sandbox" cloud, stores the sandbox application's client id and secret
(encrypted), selects it in Settings > Cloud Accounts, then commits.
"""

import json
import os

try:
    from azure_emulator import defaults
except ImportError:  # the emulator package is not installed in this Python
    defaults = None

info = json.loads(os.environ.get("OEC_SANDBOX_INFO") or "{}")
endpoints = info.get("endpoints") or {}
if "cloud.azure.environment" in env and endpoints.get("authority_host"):  # noqa: F821
    Cloud = env["cloud.azure.environment"].with_context(active_test=False)  # noqa: F821
    values = {
        "name": "Local sandbox",
        "is_sandbox": True,
        "active": True,
        "sequence": 0,
        "authority_host": endpoints["authority_host"],
        "interactive_authority_host": endpoints.get("interactive_authority_host"),
        "arm_endpoint": endpoints["arm"],
        "arm_audience": (endpoints.get("arm_scope") or defaults.ARM_SCOPE).removesuffix(".default"),
        "graph_endpoint": endpoints.get("graph"),
        "storage_suffix": endpoints.get("storage_suffix"),
        "portal_url": info.get("http_url"),
        "client_id": info.get("cloud_client_id") or (defaults and defaults.CLOUD_CLIENT_ID),
        "tenant": "organizations",
    }
    cloud = Cloud.search([("is_sandbox", "=", True), ("name", "=", "Local sandbox")], limit=1)
    if cloud:
        cloud.write(values)
    else:
        cloud = Cloud.create(values)
    secret = info.get("cloud_client_secret") or (defaults and defaults.CLOUD_CLIENT_SECRET)
    if secret:
        cloud.set_client_secret(secret)
    env["ir.config_parameter"].set_param("oec_cloud_accounts.environment_id", cloud.id)  # noqa: F821
    env.cr.commit()  # noqa: F821
