"""Servers: the Provision button never waits for Azure, and a cron step's SQL does not grow per server.

`make bench` runs it. It installs oec_cloud_accounts in a scratch database
(dropped at the end), starts the local Azure emulator in this process, connects
the sandbox account through the real sign-in, then prints:

* the wall time of the Provision button (the wizard's last step, the server's
  pre-flight reads included) with the emulator's VM operations made to last 1 s
  and then 10 s: the ratio must stay near 1, since the request only queues the
  work for the scheduled action;
* the SQL queries of one cron step (one server advanced) when 1 and when 50
  servers are in progress, and of a whole pass over 1 and over 50 servers per
  server: the selection must not grow with the queue.
"""

import statistics
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

# the project's own helpers: Odoo source, PostgreSQL, configuration
import devtool

DB = "oec_bench_servers"
RUNS = 5
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE6StTmp6A2Qe2//mNhI43TZcNC/JV27eZffqEwx0i9N bench@laptop"


def prepare(db=DB):
    src = devtool.bootstrap()
    env = devtool.ensure_postgres()
    out = devtool.CACHE / "bench-servers" / db
    out.mkdir(parents=True, exist_ok=True)
    conf = devtool.odoo_config(src, out / "odoo.conf", db_name=db)
    devtool.drop_db(env, db)
    devtool.template_db(src, conf, env, ["oec_cloud_accounts"], db)
    devtool.run(
        [
            *devtool.odoo_cmd(src, conf, "-d", db, "-i", "oec_cloud_accounts", "--stop-after-init"),
            "--log-level=warn",
        ],
        env=env,
    )
    return env, conf


def connect(env, emu, defaults):
    endpoints = emu.endpoints
    cloud = env["cloud.azure.environment"].create(
        {
            "name": "Bench emulator",
            "is_sandbox": True,
            "authority_host": endpoints["authority_host"],
            "interactive_authority_host": endpoints["interactive_authority_host"],
            "arm_endpoint": endpoints["arm"],
            "arm_audience": defaults.ARM_RESOURCE,
            "prices_endpoint": endpoints["prices"],
            "client_id": defaults.CLOUD_CLIENT_ID,
        }
    )
    cloud.set_client_secret(defaults.CLOUD_CLIENT_SECRET)
    identity = cloud._identity()
    flow = identity.start_flow(cloud._delegated_scopes(), cloud._redirect_uri(), "bench")
    session = requests.Session()
    session.trust_env = False
    answer = session.get(
        flow["auth_uri"], params={"emu_user": defaults.USER_EMAIL}, allow_redirects=False, timeout=10
    )
    parts = urlsplit(answer.headers["Location"])
    params = dict(parse_qsl(parts.query), **dict(parse_qsl(parts.fragment)))
    result = identity.redeem(flow, params, cloud._delegated_scopes())
    return env["cloud.account"]._connect(cloud, result)


def provision_times(env, account, count):
    times = []
    for index in range(count):
        wizard = env["cloud.server.provision"].create({"account_id": account.id})
        wizard._onchange_account_id()
        wizard.action_load_regions()
        wizard.region_option_id = wizard.option_ids.filtered(lambda o: o.name == "westeurope")
        wizard.action_load_sizes()
        wizard.write({"name": "bench-%d-%d" % (index, time.monotonic_ns()), "ssh_public_key": KEY})
        env.cr.commit()
        started = time.perf_counter()
        wizard.action_provision()
        env.cr.commit()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def queries(env, func):
    env.cr.commit()
    before = env.cr.sql_log_count
    func()
    return env.cr.sql_log_count - before


def queue(env, account, count):
    """``count`` servers waiting at their first step (resource group: a read and a PUT)."""
    servers = env["cloud.server"].create(
        [
            {
                "name": "queued-%d-%d" % (index, time.monotonic_ns()),
                "account_id": account.id,
                "subscription_line_id": account.subscription_ids[:1].id,
                "location": "westeurope",
                "vm_size": "Standard_B1s",
                "ssh_public_key": KEY,
            }
            for index in range(count)
        ]
    )
    servers.sudo().write({"state": "provisioning", "operation": "provision", "step": "resource_group"})
    env.cr.commit()
    return servers


def main():
    env_vars, conf = prepare()
    from azure_emulator import defaults
    from azure_emulator.testing import start_emulator

    import odoo
    from odoo.tools import config

    config.parse_config(["-c", str(conf), "-d", DB, "--log-level=warn"])
    emu = start_emulator(azurite=False)
    config["oec_azure_ca_bundle"] = emu.ca_path
    try:
        registry = odoo.registry(DB)
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            account = connect(env, emu, defaults)
            env["ir.config_parameter"].set_param("oec_cloud_accounts.server_poll_seconds", 0)
            cr.commit()

            figures = {}
            for seconds in (1, 10):
                emu.control.configure(lro_seconds=seconds)
                provision_times(env, account, 1)  # first-use costs out of the figures
                figures[seconds] = provision_times(env, account, RUNS)
            env["cloud.server"].search([]).sudo().write({"operation": False})
            cr.commit()
            emu.control.configure(lro_seconds=0)

            Server = env["cloud.server"]
            queue(env, account, 1)
            step_1 = queries(env, lambda: Server._cron_advance(batch_size=1))
            Server.search([]).sudo().write({"operation": False})
            queue(env, account, 50)
            step_50 = queries(env, lambda: Server._cron_advance(batch_size=1))
            pass_50 = queries(env, lambda: Server._cron_advance(batch_size=100))
            Server.search([]).sudo().write({"operation": False})
            queue(env, account, 1)
            pass_1 = queries(env, lambda: Server._cron_advance(batch_size=100))
    finally:
        emu.stop()
        odoo.sql_db.close_all()
        devtool.drop_db(env_vars, DB)

    print("Provision button, median of %d (VM operations of 1 s / 10 s in the emulator):" % RUNS)
    print(
        "  1 s: %.0f ms   10 s: %.0f ms   ratio 10 s / 1 s: %.2f"
        % (figures[1] * 1000, figures[10] * 1000, figures[10] / figures[1])
    )
    print("SQL queries of one cron step (one server advanced):")
    print(
        "  1 server in progress: %d   50 in progress: %d   ratio: %.2f" % (step_1, step_50, step_50 / step_1)
    )
    print("SQL queries of a whole pass, per server:")
    print(
        "  over 1 server: %d   over 49 more: %.1f each   ratio: %.2f"
        % (pass_1, pass_50 / 49, (pass_50 / 49) / pass_1)
    )


if __name__ == "__main__":
    main()
