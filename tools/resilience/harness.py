"""What the resilience suites share: a database with both addons installed, the Azure
emulator and Odoo started as real processes, Odoo shell scripts, JSON-RPC, and
waiting (bounded) on the database.

The database is copied from a template made once per version of the addons' files
(installing them takes minutes; a copy takes a second): ``oec_res_<digest>``.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import devtool

OUT = devtool.CACHE / "resilience"
SCRIPTS = Path(__file__).resolve().parent / "scripts"
# HTTP ports of the Odoo servers these suites start (OEC_RESILIENCE_PORT: the first of five)
BASE_PORT = int(os.environ.get("OEC_RESILIENCE_PORT", "8185"))
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE6StTmp6A2Qe2//mNhI43TZcNC/JV27eZffqEwx0i9N res@laptop"


def say(message):
    sys.stdout.write("[resilience] %s\n" % message)
    sys.stdout.flush()


def addons_digest(src):
    """What the installed template depends on: Odoo's source and every file of both addons."""
    files = []
    for addon in devtool.ADDONS:
        for path in sorted((ROOT / addon).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and "tests" not in path.parts:
                files.append(path)
    return devtool.digest(str(src), *[str(p.relative_to(ROOT)) for p in files], *files)[:12]


class Setup:
    """Odoo's source, PostgreSQL and a configuration for one database."""

    def __init__(self, db):
        self.src = devtool.bootstrap()
        self.env = devtool.ensure_postgres()
        self.db = db
        OUT.mkdir(parents=True, exist_ok=True)
        self.out = OUT / db
        self.out.mkdir(exist_ok=True)
        for old in self.out.glob("*.log"):
            old.unlink()

    def config(self, emulator, port, **extra):
        options = {
            "db_name": self.db,
            "http_port": port,
            "oec_azure_ca_bundle": emulator.info["ca_path"],
            "oec_azure_retry_backoff": 0,
            "list_db": "False",
        }
        options.update(extra)
        return devtool.odoo_config(self.src, self.out / "odoo.conf", **options)

    def fresh_database(self):
        """``self.db`` with both addons installed, as a copy of the cached template."""
        conf = devtool.odoo_config(self.src, self.out / "install.conf")
        tpl = "oec_res_" + addons_digest(self.src)
        if not devtool.db_exists(self.env, tpl):
            say("installing both addons in a template database %s (once per version of the addons) ..." % tpl)
            started = time.monotonic()
            devtool.drop_db(self.env, tpl + "_tmp")
            devtool.template_db(self.src, conf, self.env, devtool.ADDONS, tpl + "_tmp")
            devtool.run(
                devtool.odoo_cmd(
                    self.src,
                    conf,
                    "-d",
                    tpl + "_tmp",
                    "-i",
                    ",".join(devtool.ADDONS),
                    "--stop-after-init",
                    "--log-level=warn",
                ),
                env=self.env,
            )
            devtool.run([devtool.PY, "-c", devtool._DB_SCRIPT, "rename", tpl + "_tmp", tpl], env=self.env)
            store = devtool.filestore(tpl + "_tmp")
            if store.is_dir():
                # a template of the same digest dropped earlier may have left its filestore
                shutil.rmtree(devtool.filestore(tpl), ignore_errors=True)
                store.rename(devtool.filestore(tpl))
            say("template ready in %.0f s" % (time.monotonic() - started))
            for old in self.templates():
                if old != tpl:
                    devtool.drop_db(self.env, old)
        devtool.drop_db(self.env, self.db)
        devtool.run([devtool.PY, "-c", devtool._DB_SCRIPT, "copy", tpl, self.db], env=self.env)
        return self.db

    def templates(self):
        with self.connect("postgres") as conn, conn.cursor() as cr:
            cr.execute("SELECT datname FROM pg_database WHERE datname LIKE 'oec\\_res\\_%%'")
            # oec_res_<12 hex digits> only: a suite's own database may start with oec_res_ as well
            # (OEC_RESILIENCE_DB), and is not a template to drop
            return [row[0] for row in cr.fetchall() if re.fullmatch(r"oec_res_[0-9a-f]{12}", row[0])]

    def connect(self, dbname=None):
        keys = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD")
        params = {key[2:].lower(): self.env[key] for key in keys if self.env.get(key)}
        conn = psycopg2.connect(dbname=dbname or self.db, **params)
        conn.autocommit = True
        return conn

    def drop(self, name=None):
        devtool.drop_db(self.env, name or self.db)

    def shell(self, conf, script, **params):
        """Run ``scripts/<script>`` in ``odoo-bin shell``; its result is the JSON it prints last."""
        code = (SCRIPTS / script).read_bytes()
        res = subprocess.run(
            [
                str(c)
                for c in devtool.odoo_cmd(self.src, conf, "-d", self.db, "--log-level=warn", command="shell")
            ],
            input=code,
            env=dict(self.env, OEC_RES_PARAMS=json.dumps(params)),
            capture_output=True,
            check=False,
            timeout=600,
        )
        out = res.stdout.decode(errors="replace")
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        if res.returncode or not lines:
            raise AssertionError(
                "shell script %s failed (%s):\n%s\n%s"
                % (script, res.returncode, out[-3000:], res.stderr.decode(errors="replace")[-5000:])
            )
        return json.loads(lines[-1][len("RESULT ") :])


class Emulator:
    """``python -m azure_emulator`` as a process of its own (this checkout's code)."""

    def __init__(self, env, *args):
        path = str(ROOT / "tools" / "azure_emulator")
        child_env = dict(env, PYTHONPATH=os.pathsep.join(filter(None, [path, env.get("PYTHONPATH")])))
        cmd = [devtool.PY, "-m", "azure_emulator", "--host", "127.0.0.1", "--lro-polls", "1", *args]
        self.proc = devtool.start_child(cmd, env=child_env, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        try:
            self.info = json.loads(line)
        except ValueError as exc:
            devtool.stop_child(self.proc)
            raise AssertionError("the emulator did not start: %r" % line) from exc
        sys.path.insert(0, path)
        from azure_emulator.client import ControlClient  # pylint: disable=import-outside-toplevel

        self.control = ControlClient(self.info["url"], self.info["ca_path"], timeout=30)

    def stop(self):
        devtool.stop_child(self.proc)


class Odoo:
    """odoo-bin started for real; ``kill()`` is SIGKILL to its whole process group."""

    def __init__(self, setup, conf, port, *args, log_name="odoo.log"):
        self.setup = setup
        self.port = port
        self.log = setup.out / log_name
        cmd = devtool.odoo_cmd(setup.src, conf, "-d", setup.db, "--logfile", self.log, *args)
        self.proc = devtool.start_child(cmd, env=devtool.venv_env(setup.env))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("Odoo stopped at start:\n" + self.log_text()[-3000:])
            if self.answers():
                return
            time.sleep(0.5)
        raise AssertionError("Odoo did not answer in 120 s:\n" + self.log_text()[-3000:])

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def rpc(self, model, method, *args, **kwargs):
        """JSON-RPC as the administrator (uid 2, password admin), as a web client's call does."""
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": [self.setup.db, 2, "admin", model, method, list(args), kwargs],
            },
        }
        request = urllib.request.Request(
            "http://127.0.0.1:%d/jsonrpc" % self.port,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=120) as answer:
            body = json.loads(answer.read())
        if body.get("error"):
            raise RpcError(body["error"]["data"].get("message") or body["error"]["message"])
        return body["result"]

    def kill(self):
        """SIGKILL to Odoo and every process it started (workers, cron workers)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)

    def stop(self):
        devtool.stop_child(self.proc, timeout=30)

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.is_file() else ""

    def problems(self):
        """ERROR / CRITICAL lines of the log. Odoo logs a failed query at ERROR ("bad query")
        before its own RPC layer retries a serialization failure (odoo/service/model.py
        retrying(): "SERIALIZATION_FAILURE, 4 tries left"): such a line followed by that retry
        of the same process is handled, and counted in ``self.retried``, not a problem."""
        lines = self.log_text().splitlines()
        bad = []
        self.retried = 0
        for index, line in enumerate(lines):
            if not devtool.LOG_ERROR_RE.match(line):
                continue
            pid = line.split()[2]
            if " odoo.sql_db: bad query: " in line and any(
                later.split()[2:3] == [pid] and " odoo.service.model: " in later and "tries left" in later
                for later in lines[index + 1 : index + 40]
            ):
                self.retried += 1
                continue
            bad.append(line)
        return bad


class RpcError(Exception):
    pass


def wait_until(what, check, timeout, interval=0.5):
    """``check()`` until it is true (returns its value) or ``timeout`` seconds: AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %s s (last: %r)" % (what, timeout, value))
        time.sleep(interval)


def query(conn, sql, params=()):
    with conn.cursor() as cr:
        cr.execute(sql, params)
        return cr.fetchall()
