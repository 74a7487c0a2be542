"""Token refresh at scale: the scheduled action's throughput with one and with two cron worker
processes, against the emulator's own round-trip limit measured in the same run.

`make bench` runs it. It installs oec_cloud_accounts in a scratch database (dropped at the end),
starts the local Azure emulator in this process, connects the sandbox account through the real
sign-in, gives 1,000 accounts a refresh token of that user (each encrypted for its own row, as
Odoo stores them) and makes them all due. Then:

* the emulator's limit: a plain loop of refresh_token requests to its token endpoint (the same
  form MSAL sends), by one client and by two clients at once;
* one cron worker: one process (odoo's registry, as a cron worker has it) runs one pass of
  ``cloud.account._cron_refresh_tokens(batch_size=1000)`` over the 1,000 due accounts: the time
  of the pass, and its accounts per second against the one-client limit;
* two cron workers: the accounts made due again, two such processes run a pass each at the same
  moment (FOR UPDATE SKIP LOCKED shares the rows): accounts per second against the two-client
  limit, and against one worker.

Targets, printed beside each figure (the machine has 2 cores, shared by PostgreSQL, the emulator
and the workers): one worker >= 0.5 x the emulator's one-client limit (a refresh's own work,
decrypting, encrypting, writing and committing, costs at most as much as its round trip); two
workers >= 1.3 x one worker (the workers share no lock: what is left is the cores they share
with the emulator and PostgreSQL); a pass over 1,000 due accounts <= 300 s (the refresh cron
runs hourly; cron workers are stopped after limit_time_real_cron, 120 s by default in prefork,
so a pass that long is retriggered in batches of 50, see _cron_refresh_tokens).
A missed target is printed as such; the exit code is non-zero when a variant fails (an error,
or accounts left not refreshed).
"""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

# the project's own helpers: Odoo source, PostgreSQL, configuration
import devtool

DB = "oec_bench_tokens"
ACCOUNTS = 1000
LIMIT_REQUESTS = 400  # refresh requests of the emulator's own limit, per measure
TARGET_ONE = 0.5
TARGET_TWO = 1.3
TARGET_PASS = 300.0


def prepare():
    src = devtool.bootstrap()
    env = devtool.ensure_postgres()
    out = devtool.CACHE / "bench-tokens"
    out.mkdir(parents=True, exist_ok=True)
    conf = devtool.odoo_config(src, out / "odoo.conf", db_name=DB)
    devtool.drop_db(env, DB)
    devtool.template_db(src, conf, env, ["oec_cloud_accounts"], DB)
    devtool.run(
        [
            *devtool.odoo_cmd(src, conf, "-d", DB, "-i", "oec_cloud_accounts", "--stop-after-init"),
            "--log-level=warn",
        ],
        env=env,
    )
    return env, conf


def connect(env, emu, defaults):
    """The sandbox user's account, connected through the real sign-in; the refresh token."""
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
    account = env["cloud.account"]._connect(cloud, result)
    return cloud, account, result.refresh_token


def make_accounts(env, account, refresh_token):
    """ACCOUNTS accounts with the user's refresh token, each encrypted for its own row."""
    quiet = env["cloud.account"].sudo().with_context(tracking_disable=True, mail_create_nolog=True)
    values = account.copy_data()[0]
    values.update(state="active", tenant_id=account.tenant_id, ms_username=account.ms_username)
    others = quiet.create([dict(values, name="Bench %d" % index) for index in range(ACCOUNTS - 1)])
    accounts = account.sudo() | others
    for record in others:
        record._set_secret("refresh_token_enc", refresh_token)
    return accounts


def make_due(env, accounts):
    accounts.write({"next_run_at": False, "retry_count": 0, "last_refresh_at": False})
    env.cr.commit()


def emulator_limit(emu, defaults, cloud, refresh_token, clients):
    """Refresh requests per second the emulator answers, to ``clients`` plain loops at once."""
    url = emu.authority() + "/oauth2/v2.0/token"
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": defaults.CLOUD_CLIENT_ID,
        "client_secret": defaults.CLOUD_CLIENT_SECRET,
        "scope": " ".join(cloud._delegated_scopes() + ["offline_access", "openid", "profile"]),
        "client_info": "1",
    }
    errors = []

    def loop(count):
        session = requests.Session()
        session.trust_env = False
        for _ in range(count):
            answer = session.post(url, data=form, verify=emu.ca_path, timeout=20)
            if answer.status_code != 200 or "access_token" not in answer.json():
                errors.append(answer.text[:200])

    loop(20)  # first-use costs out of the figure
    threads = [threading.Thread(target=loop, args=(LIMIT_REQUESTS // clients,)) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError("the emulator refused a refresh: %s" % errors[0])
    return LIMIT_REQUESTS / elapsed


def run_workers(conf, ca_path, count):
    """``count`` worker processes, each one pass of the token cron, started at the same moment.
    Returns (seconds from the start to the last one's end, accounts refreshed, per worker)."""
    command = [sys.executable, __file__, "--worker", str(conf), ca_path]
    workers = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        for _ in range(count)
    ]
    for worker in workers:
        if worker.stdout.readline().strip() != "READY":
            raise RuntimeError("a worker did not start")
    started = time.time()
    for worker in workers:
        worker.stdin.write("GO\n")
        worker.stdin.flush()
    results = []
    for worker in workers:
        out, _err = worker.communicate(timeout=1800)
        if worker.returncode:
            raise RuntimeError("a worker failed (exit code %d)" % worker.returncode)
        results.append(json.loads(out.strip().splitlines()[-1]))
    return max(result["end"] for result in results) - started, [result["count"] for result in results]


def worker(conf, ca_path):
    """One cron worker process: Odoo's registry, then one pass of the token cron on "GO"."""
    import odoo
    from odoo.tools import config

    config.parse_config(["-c", conf, "-d", DB, "--log-level=warn"])
    config["oec_azure_ca_bundle"] = ca_path
    registry = odoo.registry(DB)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env["cloud.account"].search_count([])  # the registry's first-use costs out of the figure
        print("READY", flush=True)
        sys.stdin.readline()
        count = env["cloud.account"]._cron_refresh_tokens(batch_size=ACCOUNTS)
        cr.commit()
    print(json.dumps({"count": count, "end": time.time()}), flush=True)


def verdict(ok):
    return "ok" if ok else "BELOW TARGET"


def main():
    env_vars, conf = prepare()
    from azure_emulator import defaults
    from azure_emulator.testing import start_emulator

    import odoo
    from odoo.tools import config

    config.parse_config(["-c", str(conf), "-d", DB, "--log-level=warn"])
    emu = start_emulator(azurite=False)
    config["oec_azure_ca_bundle"] = emu.ca_path
    failures = []
    try:
        registry = odoo.registry(DB)
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            cloud, account, refresh_token = connect(env, emu, defaults)
            accounts = make_accounts(env, account, refresh_token)
            cr.commit()

            limit_one = emulator_limit(emu, defaults, cloud, refresh_token, 1)
            limit_two = emulator_limit(emu, defaults, cloud, refresh_token, 2)

            figures = {}
            for workers in (1, 2):
                make_due(env, accounts)
                before = len(emu.control.requests())
                try:
                    elapsed, counts = run_workers(conf, emu.ca_path, workers)
                except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
                    failures.append("%d worker(s): %s" % (workers, error))
                    continue
                requests_made = len(emu.control.requests()) - before
                env.invalidate_all()
                left = accounts.filtered(lambda a: not a.last_refresh_at or a.state != "active")
                if sum(counts) != ACCOUNTS or left:
                    failures.append(
                        "%d worker(s): %s accounts refreshed, %d left" % (workers, counts, len(left))
                    )
                figures[workers] = (elapsed, counts, requests_made)
    finally:
        emu.stop()
        odoo.sql_db.close_all()
        devtool.drop_db(env_vars, DB)

    print("Token refresh of %d due accounts (emulator on this machine):" % ACCOUNTS)
    print("  emulator's limit: %.0f refreshes/s (1 client), %.0f/s (2 clients)" % (limit_one, limit_two))
    if 1 in figures:
        elapsed, _counts, requests_made = figures[1]
        rate = ACCOUNTS / elapsed
        print(
            "  1 cron worker: one pass %.1f s (target <= %.0f s: %s), %.0f accounts/s = %.2f x the limit"
            " (target >= %.1f: %s), %.1f requests per account"
            % (
                elapsed,
                TARGET_PASS,
                verdict(elapsed <= TARGET_PASS),
                rate,
                rate / limit_one,
                TARGET_ONE,
                verdict(rate / limit_one >= TARGET_ONE),
                requests_made / ACCOUNTS,
            )
        )
    if 2 in figures and 1 in figures:
        elapsed, counts, _requests = figures[2]
        rate = ACCOUNTS / elapsed
        print(
            "  2 cron workers: %.1f s (%s accounts each), %.0f accounts/s = %.2f x the 2-client limit,"
            " %.2f x 1 worker (target >= %.1f: %s)"
            % (
                elapsed,
                " + ".join(str(count) for count in counts),
                rate,
                rate / limit_two,
                rate / (ACCOUNTS / figures[1][0]),
                TARGET_TWO,
                verdict(rate / (ACCOUNTS / figures[1][0]) >= TARGET_TWO),
            )
        )
    for failure in failures:
        print("  FAILED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(*sys.argv[2:4])
    else:
        sys.exit(main())
