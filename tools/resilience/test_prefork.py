"""Odoo in prefork mode, for real: ``--workers=2 --max-cron-threads=2`` against the emulator,
with 50 accounts due for their token refresh (and their access tokens spent), 20 servers
provisioned through the Provision wizard's JSON-RPC calls, 5 backups and 2 verifications, all
at once. Every refresh token is redeemed exactly once, every Azure resource is created once,
everything ends in a final state within a bounded time, and nothing is logged at ERROR."""

import collections
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from azure_portal import seed_storage
from harness import BASE_PORT, KEY, Odoo, query, say, wait_until

ACCOUNTS = 50
SERVERS = 20
BACKUPS = 5
VERIFICATIONS = 2
FINAL_WITHIN = 240  # seconds, from Odoo's start


def provision(odoo, conn, account_id, index):
    """The Provision wizard's calls, as the web client makes them."""
    (line,) = query(
        conn,
        "SELECT id FROM cloud_account_subscription WHERE account_id = %s AND can_compute ORDER BY id LIMIT 1",
        (account_id,),
    )
    wizard = odoo.rpc(
        "cloud.server.provision", "create", {"account_id": account_id, "subscription_line_id": line[0]}
    )
    odoo.rpc("cloud.server.provision", "action_load_regions", [wizard])
    odoo.rpc("cloud.server.provision", "action_load_sizes", [wizard])
    odoo.rpc(
        "cloud.server.provision", "write", [wizard], {"name": "load-%02d" % index, "ssh_public_key": KEY}
    )
    odoo.rpc("cloud.server.provision", "action_provision", [wizard])


def back_up(odoo, conn, policy, count, made):
    """Back up now, each once the previous one ended (one backup of a database at a time)."""
    for _index in range(count):
        odoo.rpc("cloud.backup.policy", "action_backup_now", [policy])
        (backup,) = query(conn, "SELECT max(id) FROM cloud_backup WHERE policy_id = %s", (policy,))[0]
        made.append(backup)
        wait_until(
            "backup %s ended" % backup,
            lambda backup=backup: query(
                conn,
                "SELECT 1 FROM cloud_backup WHERE id = %s AND state IN ('done', 'failed', 'deleted')",
                (backup,),
            ),
            FINAL_WITHIN,
        )


def chains(counters, start_tokens):
    """Each account's refresh tokens from the one it was given to the last issued."""
    children = collections.defaultdict(list)
    for token, entry in counters.items():
        if entry["parent"]:
            children[entry["parent"]].append(token)
    result = []
    for token in start_tokens:
        chain = [token]
        while children.get(chain[-1]):
            if len(children[chain[-1]]) > 1:
                chain.append(("FORK", children[chain[-1]]))
                break
            chain.append(children[chain[-1]][0])
        result.append(chain)
    return result


def test_prefork_under_load(setup, emulator):
    started = time.monotonic()
    control = emulator.control
    users = [control.add_user(email="load%02d@sandbox.onmicrosoft.test" % i) for i in range(ACCOUNTS)]
    minted = [dict(control.mint_refresh_token(user=u["oid"]), email=u["email"]) for u in users]
    # room for every server's vCPUs in the region the wizard offers first
    control.update_subscription(
        emulator.info["subscription_id"], quotas={"eastus": {"standardBSFamily": 1000, "cores": 1000}}
    )
    # the storage location is reached through the first account (setup_records.py)
    storage = seed_storage(emulator, users[0]["oid"])
    conf = setup.config(emulator, BASE_PORT)
    made = setup.shell(
        conf,
        "setup_records.py",
        emulator=emulator.info,
        users=minted,
        storage=storage,
        done_backups=VERIFICATIONS,
        expire=True,
    )
    prepared = time.monotonic()
    say(
        "prepared %d accounts (refresh due, access tokens spent), storage, %d backups in %.0f s"
        % (ACCOUNTS, VERIFICATIONS, prepared - started)
    )
    conn = setup.connect()
    odoo = Odoo(setup, conf, BASE_PORT, "--workers=2", "--max-cron-threads=2")
    try:
        backups = []
        backup_thread = threading.Thread(
            target=back_up, args=(odoo, conn_for(setup), made["policy"], BACKUPS, backups), daemon=True
        )
        backup_thread.start()
        odoo.rpc("cloud.backup", "action_verify", made["done_backups"])
        with ThreadPoolExecutor(4) as pool:
            list(
                pool.map(
                    lambda i: provision(odoo, conn_for(setup), made["accounts"][i % ACCOUNTS], i),
                    range(SERVERS),
                )
            )
        requested = time.monotonic()
        say(
            "%d servers provisioned, %d verifications asked through JSON-RPC in %.0f s"
            % (SERVERS, VERIFICATIONS, requested - prepared)
        )

        def final():
            accounts = query(
                conn,
                "SELECT count(*) FROM cloud_account WHERE state = 'active'"
                " AND next_run_at > now() at time zone 'UTC'",
            )[0][0]
            servers = query(
                conn,
                "SELECT count(*) FROM cloud_server"
                " WHERE operation IS NULL AND state IN ('running', 'failed')",
            )[0][0]
            verified = query(
                conn,
                "SELECT count(*) FROM cloud_backup WHERE id = ANY(%s) AND verify_state IN ('done', 'failed')",
                (made["done_backups"],),
            )[0][0]
            status = (accounts, servers, len(backups), verified)
            last["(accounts, servers, backups, verifications) final"] = status
            return (
                status
                if status == (ACCOUNTS, SERVERS, BACKUPS, VERIFICATIONS) and not backup_thread.is_alive()
                else None
            )

        last = {}
        try:
            wait_until("every record final", final, FINAL_WITHIN, interval=1)
        except AssertionError as error:
            raise AssertionError("%s %s" % (error, last)) from None
        finished = time.monotonic()
    finally:
        odoo.stop()
    report = setup.shell(conf, "report.py")
    counters = control.counters()

    # every record ended well
    assert {a["state"] for a in report.values()} == {"active"}, report
    assert query(conn, "SELECT state, count(*) FROM cloud_server GROUP BY state") == [("running", SERVERS)], (
        query(conn, "SELECT name, state, failed_step, last_error FROM cloud_server WHERE state != 'running'")
    )
    # each backup done (retention then keeps the newest of the day: the others are deleted)
    ended = query(
        conn,
        "SELECT id, state FROM cloud_backup WHERE id = ANY(%s) AND sha256 IS NOT NULL AND error IS NULL"
        " AND state IN ('done', 'deleted') ORDER BY id",
        (backups,),
    )
    assert len(ended) == BACKUPS and ended[-1][1] == "done", query(
        conn, "SELECT id, state, error FROM cloud_backup WHERE id = ANY(%s)", (backups,)
    )
    assert query(
        conn,
        "SELECT verify_state, count(*) FROM cloud_backup WHERE id = ANY(%s) GROUP BY 1",
        (made["done_backups"],),
    ) == [("done", VERIFICATIONS)]

    # each refresh token redeemed exactly once, none lost: each account holds the last of its chain
    tokens = counters["refresh_tokens"]
    twice = {t[:20]: e["redeemed"] for t, e in tokens.items() if e["redeemed"] > 1}
    assert not twice, "refresh tokens redeemed more than once: %s" % twice
    held = {str(account): report[str(account)]["refresh_token"] for account in made["accounts"]}
    redemptions = 0
    for account, chain in zip(
        made["accounts"], chains(tokens, [m["refresh_token"] for m in minted]), strict=True
    ):
        assert all(isinstance(token, str) for token in chain), chain
        assert held[str(account)] == chain[-1], "account %s does not hold the last token issued" % account
        assert tokens[chain[-1]]["redeemed"] == 0
        redemptions += len(chain) - 1

    # each Azure resource created once (a PUT per resource, none sent twice)
    puts = {key: count for key, count in counters["operations"].items() if key.startswith("PUT ")}
    again = {key: count for key, count in puts.items() if count > 1}
    assert not again, again
    assert len([k for k in puts if "/virtualmachines/" in k]) == SERVERS

    problems = odoo.problems()
    assert not problems, "\n".join(problems[:20])
    log = odoo.log_text()
    # the only serialization failures are the ones Odoo's RPC layer retried (problems())
    assert log.count("could not serialize access") + log.count("deadlock detected") == odoo.retried
    assert "maximum number of tries reached" not in log

    say(
        "prefork (--workers=2 --max-cron-threads=2): %d accounts refreshed (%d refresh tokens redeemed, "
        "each once), %d servers provisioned (%d PUTs, each once), %d backups and %d verifications done; "
        "all final %.0f s after Odoo started (requests took %.0f s); no ERROR in the log (%d serialization "
        "failures retried by Odoo's RPC layer); total %.0f s"
        % (
            ACCOUNTS,
            redemptions,
            SERVERS,
            len(puts),
            BACKUPS,
            VERIFICATIONS,
            finished - prepared,
            requested - prepared,
            odoo.retried,
            time.monotonic() - started,
        )
    )


_local = threading.local()


def conn_for(setup):
    """A connection per thread (psycopg2 connections are not shared between threads' queries)."""
    if getattr(_local, "conn", None) is None:
        _local.conn = setup.connect()
    return _local.conn
