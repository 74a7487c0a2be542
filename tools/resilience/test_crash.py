"""Crash at any point: Odoo (``--workers=2 --max-cron-threads=1``, its scheduled actions doing
the work) is killed with SIGKILL while the emulator holds a request at a precise point (hold
faults: Azure answered, or the request waits), then started again on the same database. Each
crash point says what it did and what it found; the test asserts that:

* the state machine resumes, or fails cleanly with a way to try again (which is then taken);
* no refresh token is lost: a rotation whose answer died with Odoo is redone with the token
  Odoo still holds (Entra keeps a refresh token valid after it issued the next one), and the
  account holds the newest token of its chain;
* no Azure resource is left untracked: what Azure made before Odoo could record it is found
  again (same name, this database's tags) and adopted, never made a second time;
* no half-made thing is kept: no committed blob for a backup whose block list was never sent,
  no half-restored database (nor its temporary one) after a restore killed mid-download.

One database, one emulator, Odoo started thirteen times: about two minutes."""

import os
import re
import shutil
import signal
import time
from pathlib import Path

import devtool
from azure_portal import blob_exists, seed_storage, seed_zone
from harness import BASE_PORT, KEY, Odoo, query, say, wait_until

ZONE = "crash.example.test"
HOST = "erp." + ZONE
WITHIN = 90  # seconds for any one resumed step to end


class Run:
    """The database, the emulator, and the Odoo started (and killed) on them."""

    def __init__(self, setup, emulator, conf):
        self.setup = setup
        self.emulator = emulator
        self.control = emulator.control
        self.conf = conf
        self.conn = setup.connect()
        self.odoo = None
        self.started = 0
        self.logs = []

    def start(self):
        self.started += 1
        name = "odoo-%02d.log" % self.started
        self.odoo = Odoo(
            self.setup, self.conf, BASE_PORT, "--workers=2", "--max-cron-threads=1", log_name=name
        )
        self.logs.append(self.odoo)
        # what each scheduled action's interval would do, sooner: a pass of each (the one
        # running when Odoo was killed never scheduled its next)
        for (xmlid,) in query(
            self.conn,
            "SELECT module || '.' || name FROM ir_model_data WHERE model = 'ir.cron'"
            " AND module = 'oec_cloud_accounts' ORDER BY id",
        ):
            self.trigger(xmlid, notify=False)
        # a cron worker sleeps (a minute) until a notification: sent until it took a job (the
        # first ones may come before it listens)
        wait_until("a scheduled action started", self.notify_until_started, 90, interval=0.5)
        return self.odoo

    def notify_until_started(self):
        if "odoo.addons.base.models.ir_cron: Starting job" in self.odoo.log_text():
            return True
        self.notify()
        return False

    def notify(self):
        with self.setup.connect("postgres") as conn:
            query_none(conn, "NOTIFY cron_trigger, %s", (self.setup.db,))

    def hold(self, what, path, method, service):
        """A hold fault on the next matching request: Azure serves it, its answer waits."""
        return {"what": what, **self.control.inject_fault(path, method=method, service=service, hold="after")}

    def wait_held(self, hold, timeout=WITHIN):
        """Until the held request arrived; the request (method, path)."""

        def arrived():
            for entry in self.control.holds():
                if entry["id"] == hold["id"] and entry["arrived"]:
                    return entry["arrived"][0]
            return None

        return wait_until("the request held at %s" % hold["what"], arrived, timeout, interval=0.2)

    def kill(self, hold=None):
        """SIGKILL to Odoo (every worker); then the held answer goes to nobody."""
        self.odoo.kill()
        self.odoo = None
        if hold:
            self.control.release(hold["id"])

    def trigger(self, xmlid, notify=True):
        """What cron._trigger() does: a trigger row, and the NOTIFY that wakes the cron workers."""
        module, name = xmlid.split(".")
        ((cron_id,),) = query(
            self.conn,
            "SELECT res_id FROM ir_model_data WHERE module = %s AND name = %s",
            (module, name),
        )
        query_none(
            self.conn,
            "INSERT INTO ir_cron_trigger (cron_id, call_at) VALUES (%s, now() at time zone 'UTC')",
            (cron_id,),
        )
        if notify:
            self.notify()

    def one(self, sql, params=()):
        rows = query(self.conn, sql, params)
        assert len(rows) == 1, rows
        return rows[0]

    def wait(self, what, sql, params=(), timeout=WITHIN):
        return wait_until(what, lambda: query(self.conn, sql, params), timeout, interval=0.3)

    def puts(self, pattern):
        """How many PUTs the emulator served on ARM paths matching ``pattern`` (lower case)."""
        operations = self.control.counters()["operations"]
        return sum(count for key, count in operations.items() if re.fullmatch("PUT " + pattern, key))


def query_none(conn, sql, params=()):
    with conn.cursor() as cr:
        cr.execute(sql, params)


def token_tree(counters, root):
    """Every refresh token issued from ``root`` on: {token: entry}."""
    tokens = counters["refresh_tokens"]
    tree, todo = {}, [root]
    while todo:
        token = todo.pop()
        tree[token] = tokens[token]
        todo.extend(t for t, e in tokens.items() if e["parent"] == token)
    return tree


def restore_processes(workdir):
    """The pids of the restore processes working in ``workdir`` (their current directory)."""
    workdir = os.path.realpath(workdir)
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.path.realpath(os.readlink(proc / "cwd")) == workdir:
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def started_restore(odoo_pid, timeout=60):
    """The pid of a restore process (its current directory: oec-restore-*) started by a process
    of this Odoo (its parent in Odoo's process group), looked for every few milliseconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if not os.path.basename(os.readlink(proc / "cwd")).startswith("oec-restore-"):
                    continue
                parent = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
                group = Path("/proc", parent, "stat").read_text().rsplit(")", 1)[1].split()[2]
            except (OSError, IndexError):
                continue
            if int(group) == odoo_pid:
                return int(proc.name)
        time.sleep(0.005)
    raise AssertionError("no restore process started within %s s" % timeout)


def test_crash_at_any_point(setup, emulator):
    started = time.monotonic()
    control = emulator.control
    user = control.add_user(email="crash@sandbox.onmicrosoft.test")
    minted = dict(control.mint_refresh_token(user=user["oid"]), email=user["email"])
    storage = seed_storage(emulator, user["oid"])
    zone = seed_zone(emulator, ZONE)
    # list_db: restoring is one of the database manager's functions
    conf = setup.config(emulator, BASE_PORT, list_db="True")
    made = setup.shell(
        conf,
        "setup_records.py",
        emulator=emulator.info,
        users=[minted],
        storage=storage,
        done_backups=1,
        zones=[zone],
        block_kib=64,
    )
    (account,) = made["accounts"]
    (done_backup,) = made["done_backups"]
    run = Run(setup, emulator, conf)
    restored = "%s_restored" % setup.db
    # what a failure half-way would leave: restore processes, temporary databases and folders
    leftover = {"pids": [], "temps": []}

    def report(point, text):
        say("crash %-22s %s" % (point + ":", text))

    try:
        # -- 1. token refresh: Entra answered (a new refresh token issued), Odoo killed before its commit
        held_token = token_tree(control.counters(), minted["refresh_token"])
        (before,) = [t for t, e in held_token.items() if e["redeemed"] == 0]
        query_none(
            run.conn,
            "UPDATE cloud_account SET next_run_at = now() at time zone 'UTC' - interval '1 hour',"
            " access_expires_at = now() at time zone 'UTC' - interval '1 minute' WHERE id = %s",
            (account,),
        )
        ((refreshed_at,),) = query(
            run.conn, "SELECT last_refresh_at FROM cloud_account WHERE id = %s", (account,)
        )
        hold = run.hold("token refresh", r"/oauth2/v2\.0/token", "POST", "entra")
        run.start()
        run.wait_held(hold)
        run.kill(hold)
        tree = token_tree(control.counters(), minted["refresh_token"])
        lost = [t for t, e in tree.items() if e["parent"] == before]
        assert len(lost) == 1 and tree[before]["redeemed"] == 1, tree
        assert (
            run.one("SELECT last_refresh_at FROM cloud_account WHERE id = %s", (account,))[0] == refreshed_at
        )
        run.start()
        run.wait(
            "the account's tokens renewed after the restart",
            "SELECT 1 FROM cloud_account WHERE id = %s AND state = 'active' AND last_refresh_at > %s",
            (account, refreshed_at),
        )
        tree = token_tree(control.counters(), minted["refresh_token"])
        children = [t for t, e in tree.items() if e["parent"] == before]
        # Entra keeps a refresh token valid after it issued the next one ("The Microsoft identity
        # platform doesn't revoke old refresh tokens when used to fetch new access tokens",
        # Microsoft Learn, Refresh tokens in the Microsoft identity platform, learn.microsoft.com/
        # entra/identity-platform/refresh-tokens): the one Odoo still held is redeemed again, and
        # the account goes on with what that gave
        assert tree[before]["redeemed"] == 2 and len(children) == 2, tree
        report(
            "token refresh",
            "killed after Entra issued a new refresh token, before the commit: that token never reached "
            "the database; after the restart the token still held was redeemed again (Entra keeps it "
            "valid) and the account is Active with the new one",
        )

        # -- 2. provisioning, each step: Azure's PUT answered, Odoo killed before the step's commit
        odoo = run.odoo
        (line,) = query(
            run.conn,
            "SELECT id FROM cloud_account_subscription WHERE account_id = %s AND can_compute"
            " ORDER BY id LIMIT 1",
            (account,),
        )
        hold = run.hold("resource group", r"/resourcegroups/oec-erp-[^/?]*\?", "PUT", "arm")
        wizard = odoo.rpc(
            "cloud.server.provision", "create", {"account_id": account, "subscription_line_id": line[0]}
        )
        odoo.rpc("cloud.server.provision", "action_load_regions", [wizard])
        odoo.rpc("cloud.server.provision", "action_load_sizes", [wizard])
        odoo.rpc(
            "cloud.server.provision",
            "write",
            [wizard],
            {"name": "crash", "ssh_public_key": KEY, "host_name": HOST},
        )
        odoo.rpc("cloud.server.provision", "action_provision", [wizard])
        (server,) = run.one("SELECT id FROM cloud_server WHERE name = 'crash'")
        # each step: its request held, what the database says at the kill (the step not yet
        # committed), then a restart with the next step's request held
        steps = [("resource_group", hold)]
        following = [
            ("network", "network security group", r"/networksecuritygroups/[^/?]*\?", "PUT"),
            ("vm", "virtual machine", r"/virtualmachines/[^/?]*\?", "PUT"),
            ("dns", "DNS A record", r"/dnszones/%s/a/erp\?" % re.escape(ZONE), "PUT"),
            ("finalize", "VM instance view", r"/virtualmachines/[^/?]*/instanceview", "GET"),
        ]
        # the step the server is at when the held request is sent (the A record: while the VM is
        # made, once its address exists, or at finalize)
        at = {"resource_group": ("resource_group",), "network": ("network",), "vm": ("vm",)}
        at.update(dns=("vm", "finalize"), finalize=("finalize",))
        for index in range(len(following) + 1):
            step, hold = steps[-1]
            request = run.wait_held(hold)
            row = run.one(
                "SELECT step, resource_group, state, dns_state FROM cloud_server WHERE id = %s", (server,)
            )
            run.kill(hold)
            assert row[0] in at[step] and row[2] == "provisioning", (step, row)
            if step == "resource_group":
                # made in Azure, unknown to the database: what the restart must find and adopt
                made_group = request["path"].rsplit("/", 1)[-1]
                assert row[1] is None and any(
                    rid.endswith("/resourcegroups/" + made_group.lower())
                    for rid in control.state()["resources"]
                ), row
            if step == "dns":
                assert row[3] != "managed", row
            if index < len(following):
                name, what, path, method = following[index]
                steps.append((name, run.hold(what, path, method, "arm")))
            run.start()
            target = request["path"]
            target = target.split("/providers/")[-1] if "/providers/" in target else target.split("/", 3)[-1]
            report(
                "provision " + step,
                "killed with %s %s answered by Azure, the database at step %s (resource group %s); "
                "restarted" % (request["method"], target[:70], row[0], row[1] or "not recorded yet"),
            )
        run.wait(
            "the server provisioned after five crashes",
            "SELECT 1 FROM cloud_server WHERE id = %s AND state = 'running' AND operation IS NULL",
            (server,),
            timeout=120,
        )
        group, public_ip, dns_state = run.one(
            "SELECT resource_group, public_ip, dns_state FROM cloud_server WHERE id = %s", (server,)
        )
        state = control.state()
        prefix = ("/subscriptions/%s/resourcegroups/%s" % (emulator.info["subscription_id"], group)).lower()
        tagged = [
            rid
            for rid, res in state["resources"].items()
            if (res.get("tags") or {}).get("odoo-server-id") == str(server)
        ]
        in_group = sorted(rid for rid in state["resources"] if rid == prefix or rid.startswith(prefix + "/"))
        kinds = [
            "/".join(rid.split("/providers/")[-1].split("/")[1::2])
            if "/providers/" in rid
            else "resourcegroups"
            for rid in in_group
        ]
        # one resource group for the server, the one it records; everything Azure holds with the
        # server's tags is in it; in it, one resource of each kind (nothing made twice under
        # another name, nothing outside what the database knows)
        groups = [
            rid for rid in state["resources"] if "/resourcegroups/oec-erp-" in rid and rid.count("/") == 4
        ]
        assert groups == [prefix], groups
        assert tagged and set(tagged) <= set(in_group), (tagged, in_group)
        assert len(set(kinds)) == len(kinds), kinds
        assert {"resourcegroups", "networksecuritygroups", "virtualnetworks", "virtualmachines"} <= set(
            kinds
        ), kinds
        # the A record: the one Azure holds is marked as this server's, points at its address,
        # and the database shows that version (etag)
        assert dns_state == "managed" and public_ip, (dns_state, public_ip)
        ((values, etag),) = query(
            run.conn,
            "SELECT r.value_text, r.etag FROM cloud_dns_record r JOIN cloud_dns_zone z ON z.id = r.zone_id"
            " WHERE z.name = %s AND r.record_type = 'A' AND r.name = 'erp'",
            (ZONE,),
        )
        zone_res = state["resources"][zone["azure_id"].lower()]
        record = zone_res["_records"]["A/erp"]
        props = {key.lower(): value for key, value in record["properties"].items()}
        metadata = {key.lower(): value for key, value in (props.get("metadata") or {}).items()}
        assert [a["ipv4Address"] for a in props["arecords"]] == [public_ip] and values == public_ip, props
        assert record["etag"] == etag and str(server) in metadata.values(), (record, etag)
        report(
            "provision result",
            "server Running; its group %s holds %d resources (%s), one of each kind, and is the only one "
            "made for it (its PUT sent %d times, the VM's %d: sent again after each crash, adopted); the "
            "A record erp.%s -> %s is this server's, in Azure and in the database (same etag)"
            % (
                group,
                len(in_group),
                ", ".join(kinds),
                run.puts(r"\S*/resourcegroups/" + re.escape(group.lower())),
                run.puts(r"\S*/virtualmachines/[^/]*"),
                ZONE,
                public_ip,
            ),
        )

        # -- the server deleted: its A record's DELETE answered, then the resource group's, each
        # followed by a kill before the step's commit
        hold = run.hold("A record delete", r"/dnszones/%s/a/erp\?" % re.escape(ZONE), "DELETE", "arm")
        run.odoo.rpc("cloud.server", "action_delete_in_azure", [server])
        request = run.wait_held(hold)
        row = run.one("SELECT state, dns_state FROM cloud_server WHERE id = %s", (server,))
        run.kill(hold)
        assert row == ("deleting", "managed"), row
        assert "A/erp" not in control.state()["resources"][zone["azure_id"].lower()]["_records"]
        hold = run.hold("group delete", r"/resourcegroups/%s\?" % re.escape(group), "DELETE", "arm")
        run.start()
        run.wait_held(hold)
        row2 = run.one("SELECT state, dns_state, lro_token FROM cloud_server WHERE id = %s", (server,))
        run.kill(hold)
        # nothing of the step committed: the A record's removal, found done, is part of it
        assert row2 == ("deleting", "managed", None), row2
        run.start()
        run.wait(
            "the server deleted after two crashes",
            "SELECT 1 FROM cloud_server WHERE id = %s AND state = 'deleted' AND operation IS NULL"
            " AND dns_state = 'none' AND dns_zone_id IS NULL",
            (server,),
        )
        state = control.state()
        assert not [rid for rid in state["resources"] if rid == prefix or rid.startswith(prefix + "/")]
        assert "A/erp" not in state["resources"][zone["azure_id"].lower()]["_records"]
        assert not query(
            run.conn,
            "SELECT r.id FROM cloud_dns_record r JOIN cloud_dns_zone z ON z.id = r.zone_id"
            " WHERE z.name = %s AND r.record_type = 'A'",
            (ZONE,),
        )
        report(
            "delete (DNS, group)",
            "killed with %s of the A record answered (the database still said managed), then with the "
            "group's DELETE answered (no operation recorded): after the restarts the server is Deleted, "
            "nothing of it in Azure, the A record gone from Azure and the database" % request["method"],
        )

        # -- 3. backup upload: blocks staged, block list never sent
        odoo = run.odoo
        hold = run.hold("backup block", r"comp=block(&|$)", "PUT", "blob")
        odoo.rpc("cloud.backup.policy", "action_backup_now", [made["policy"]])
        run.wait_held(hold)
        ((backup, blob_name, state_before),) = query(
            run.conn,
            "SELECT id, blob_name, state FROM cloud_backup WHERE policy_id = %s ORDER BY id DESC LIMIT 1",
            (made["policy"],),
        )
        run.kill(hold)
        assert state_before == "running" and blob_name, (state_before, blob_name)
        assert not blob_exists(emulator, user["oid"], storage, blob_name)
        # the next hold: the verification's download
        ((verify_blob,),) = query(
            run.conn, "SELECT blob_name FROM cloud_backup WHERE id = %s", (done_backup,)
        )
        run.start()
        failed = run.wait(
            "the killed backup failed",
            "SELECT error FROM cloud_backup WHERE id = %s AND state = 'failed'",
            (backup,),
        )
        assert not blob_exists(emulator, user["oid"], storage, blob_name)
        run.odoo.rpc("cloud.backup.policy", "action_backup_now", [made["policy"]])
        run.wait(
            "the backup made again",
            "SELECT 1 FROM cloud_backup WHERE policy_id = %s AND id > %s AND state = 'done'",
            (made["policy"], backup),
        )
        report(
            "backup upload",
            "killed with blocks staged and the block list not sent: no blob committed; after the restart "
            "the backup is Failed (%r) and Back up now made a new one, Done" % failed[0][0][:70],
        )

        # -- 4. verification: the blob being read back
        hold = run.hold("verify download", "/" + re.escape(verify_blob) + r"($|\?)", "GET", "blob")
        run.odoo.rpc("cloud.backup", "action_verify", [done_backup])
        run.wait_held(hold)
        verify_state = run.one("SELECT verify_state FROM cloud_backup WHERE id = %s", (done_backup,))[0]
        run.kill(hold)
        assert verify_state == "running", verify_state
        run.start()
        run.wait(
            "the killed verification failed",
            "SELECT 1 FROM cloud_backup WHERE id = %s AND verify_state = 'failed'",
            (done_backup,),
        )
        run.odoo.rpc("cloud.backup", "action_verify", [done_backup])
        run.wait(
            "verified again",
            "SELECT 1 FROM cloud_backup WHERE id = %s AND verify_state = 'done'",
            (done_backup,),
        )
        report(
            "verify",
            "killed while the blob was read back (%s): after the restart the verification is Failed "
            "(ask again), and Verify again ended Done" % verify_state,
        )

        # -- 5. restore started: Odoo killed as soon as its restore process exists
        first = restored + "_a"
        wizard = run.odoo.rpc("cloud.backup.restore", "create", {"backup_id": done_backup, "db_name": first})
        run.odoo.rpc("cloud.backup.restore", "action_confirm", [wizard])
        child = started_restore(run.odoo.proc.pid)
        leftover["pids"].append(child)
        run.kill()
        seen = run.one("SELECT restore_state, restore_job FROM cloud_backup WHERE id = %s", (done_backup,))
        # what Odoo committed before it started the process: the process is known (its folder)
        assert seen[0] == "running" and seen[1], seen
        run.start()
        run.wait(
            "the restore the surviving process made, collected",
            "SELECT 1 FROM cloud_backup WHERE id = %s AND restore_state = 'done' AND restore_job IS NULL",
            (done_backup,),
        )
        with setup.connect("postgres") as pg:
            made_dbs = [
                r[0]
                for r in query(
                    pg,
                    "SELECT datname FROM pg_database WHERE datname = %s OR datname = %s",
                    (first, os.path.basename(seen[1])),
                )
            ]
        assert made_dbs == [first] and not Path(seen[1]).exists(), made_dbs
        report(
            "restore start",
            "killed as soon as the restore process (pid %d) started, the restore Running with its folder "
            "recorded: the process went on alone; after the restart the restore is Done, %s made, "
            "nothing left behind" % (child, first),
        )

        # -- 6. restore: Odoo and the restore process killed mid-download
        hold = run.hold("restore download", "/" + re.escape(verify_blob) + r"\?.*sig=", "GET", "blob")
        wizard = run.odoo.rpc(
            "cloud.backup.restore", "create", {"backup_id": done_backup, "db_name": restored}
        )
        run.odoo.rpc("cloud.backup.restore", "action_confirm", [wizard])
        run.wait_held(hold)
        ((workdir,),) = run.wait(
            "the restore process recorded",
            "SELECT restore_job FROM cloud_backup WHERE id = %s AND restore_job IS NOT NULL",
            (done_backup,),
        )
        temp = os.path.basename(workdir)
        leftover["temps"].append(workdir)
        pids = restore_processes(workdir)
        leftover["pids"].extend(pids)
        assert pids, "no restore process in %s" % workdir

        def databases():
            with setup.connect("postgres") as pg:
                return [
                    r[0]
                    for r in query(
                        pg, "SELECT datname FROM pg_database WHERE datname IN (%s, %s)", (temp, restored)
                    )
                ]

        # its temporary database made (while its first read waits)
        wait_until("the restore's temporary database", databases, 30, interval=0.2)
        run.kill()
        for pid in pids:
            # the restore process and its pg_restore (a session of their own)
            os.killpg(pid, signal.SIGKILL)
        control.release(hold["id"])
        assert databases() == [temp], databases()
        run.start()
        run.wait(
            "the killed restore failed",
            "SELECT 1 FROM cloud_backup WHERE id = %s AND restore_state = 'failed'",
            (done_backup,),
        )

        wait_until("the temporary database dropped", lambda: not databases(), 30)

        assert not devtool.filestore(temp).exists() and not Path(workdir).exists()
        wizard = run.odoo.rpc(
            "cloud.backup.restore", "create", {"backup_id": done_backup, "db_name": restored}
        )
        run.odoo.rpc("cloud.backup.restore", "action_confirm", [wizard])
        run.wait(
            "restored again",
            "SELECT 1 FROM cloud_backup WHERE id = %s AND restore_state = 'done'",
            (done_backup,),
            timeout=120,
        )
        with setup.connect("postgres") as pg:
            assert query(pg, "SELECT 1 FROM pg_database WHERE datname = %s", (restored,))
        report(
            "restore",
            "Odoo and the restore process killed mid-download (temporary database %s made): after the "
            "restart it was dropped with its folder, nothing named %s exists, the restore is Failed; "
            "Restore again made the database" % (temp, restored),
        )

        # no refresh token lost over all of it: the account holds the newest token of its chain
        run.odoo.stop()
        run.odoo = None
        held = setup.shell(conf, "report.py")[str(account)]
        tree = token_tree(control.counters(), minted["refresh_token"])
        leaves = [t for t, e in tree.items() if e["redeemed"] == 0]
        assert held["state"] == "active" and held["refresh_token"] in leaves, held["state"]
        # the only token issued and never used is the one whose answer died with Odoo
        assert len(leaves) == 2 and set(leaves) - {held["refresh_token"]} <= set(lost), leaves
        problems = [line for odoo in run.logs for line in odoo.problems()]
        assert not problems, "\n".join(problems[:20])
        report(
            "summary",
            "%d refresh tokens issued to the account, the one it holds the newest; Odoo started %d times; "
            "no ERROR in any log; total %.0f s" % (len(tree), run.started, time.monotonic() - started),
        )
    finally:
        if run.odoo:
            run.odoo.stop()
        for pid in leftover["pids"]:
            # still a restore process (the pid not reused): its session ends
            try:
                if os.path.basename(os.readlink("/proc/%d/cwd" % pid)).startswith("oec-restore-"):
                    os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        for workdir in leftover["temps"]:
            shutil.rmtree(workdir, ignore_errors=True)
        for name in (restored, restored + "_a", *map(os.path.basename, leftover["temps"])):
            setup.drop(name)
            shutil.rmtree(devtool.filestore(name), ignore_errors=True)
