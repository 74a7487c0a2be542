# Run by harness.Setup.shell() in `odoo-bin shell` (env is Odoo's environment): the records the
# resilience suites drive, made through the addon's own code. Prints "RESULT <json>".
# ruff: noqa: F821
import json
import os
import sys

params = json.loads(os.environ["OEC_RES_PARAMS"])
info = params["emulator"]
endpoints = info["endpoints"]
env = env(context=dict(env.context, tracking_disable=True))
env["res.users"].browse(2).password = "admin"
ICP = env["ir.config_parameter"].sudo()
ICP.set_param("oec_cloud_accounts.server_poll_seconds", params.get("poll_seconds", 1))
ICP.set_param("oec_cloud_accounts.backup_block_kib", params.get("block_kib", 1024))
cloud = env["cloud.azure.environment"].create(
    {
        "name": "Resilience emulator",
        "is_sandbox": True,
        "authority_host": endpoints["authority_host"],
        "interactive_authority_host": endpoints["interactive_authority_host"],
        "arm_endpoint": endpoints["arm"],
        "arm_audience": "https://management.azure.com/",
        "graph_endpoint": endpoints["graph"],
        "prices_endpoint": endpoints["prices"],
        "client_id": info["cloud_client_id"],
    }
)
cloud.set_client_secret(info["cloud_client_secret"])
env.cr.commit()

accounts = []
for index, user in enumerate(params["users"]):
    account = (
        env["cloud.account"]
        .sudo()
        .create(
            {
                "name": "Account %02d" % index,
                "environment_id": cloud.id,
                "tenant_id": user["tenant"],
                "ms_object_id": user["user"],
                "ms_username": user["email"],
            }
        )
    )
    account._set_secret("refresh_token_enc", user["refresh_token"])
    # the first refresh and discovery as the scheduled action does them: subscriptions read from Azure
    error = account._refresh_account(discover=True)
    assert not error, error and error.reference
    env.cr.commit()
    accounts.append(account.id)

result = {"accounts": accounts, "cloud": cloud.id}
storage = params.get("storage")
if storage:
    location = (
        env["cloud.storage"]
        .sudo()
        .create(
            {
                "account_id": accounts[0],
                "subscription_id": storage["subscription_id"],
                "subscription_name": "Sandbox",
                "resource_group": storage["resource_group"],
                "storage_account": storage["name"],
                "container": storage["container"],
                "location": "westeurope",
                "blob_endpoint": storage["blob_endpoint"],
                "azure_id": storage["id"],
                "state": "ready",
            }
        )
    )
    Policy = env["cloud.backup.policy"]
    policy = Policy.create(
        {"name": "Resilience", "storage_id": location.id, "schedule_tz": "Europe/Paris", "scheduled": False}
    )
    env.cr.commit()
    done = []
    for index in range(params.get("done_backups", 0)):
        # a policy each: retention keeps the newest backup of each day, of each policy
        other = Policy.create(
            {"name": "Kept %d" % index, "storage_id": location.id, "schedule_tz": "UTC", "scheduled": False}
        )
        backup = other._queue_backup(trigger="manual")
        env.cr.commit()
        env["cloud.backup"]._cron_run()
        env.cr.commit()
        backup.invalidate_recordset()
        assert backup.state == "done", (backup.state, backup.error)
        done.append(backup.id)
    result.update(storage=location.id, policy=policy.id, done_backups=done)

for zone in params.get("zones", ()):
    # a zone of Cloud > DNS Zones: the A records of servers whose host name falls in it
    env["cloud.dns.zone"].sudo().create(
        {
            "name": zone["name"],
            "account_id": accounts[0],
            "subscription_id": zone["subscription_id"],
            "resource_group": zone["resource_group"],
            "azure_id": zone["azure_id"],
        }
    )
    env.cr.commit()

if params.get("expire"):
    # every account due for its refresh, and its access token spent: whatever acts through it
    # first (the token refresh, a server's step, a backup) renews its tokens
    env.cr.execute(
        "UPDATE cloud_account SET next_run_at = now() at time zone 'UTC' - interval '1 hour',"
        " access_expires_at = now() at time zone 'UTC' - interval '1 minute' WHERE id = ANY(%s)",
        (accounts,),
    )
    env.ref("oec_cloud_accounts.ir_cron_refresh_tokens")._trigger()
env.cr.commit()
sys.stdout.write("RESULT %s\n" % json.dumps(result))
