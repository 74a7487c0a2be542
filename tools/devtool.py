#!/usr/bin/env python3
"""Set up, serve and test the project: the engine behind `make run` / `make test`.

Standard library only, so it runs with any Python 3.10+ before the virtual
environment exists. Every step is idempotent and skips work already done
(stamps hold a hash of the inputs they were made from).
"""

import argparse
import ast
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
ADDONS = ("oec_auth_azure", "oec_cloud_accounts")
EMULATOR_DIR = ROOT / "tools" / "azure_emulator"
ODOO_GIT = "https://github.com/odoo/odoo.git"
# Odoo's requirements.txt also lists python-ldap (auth_ldap only), which needs
# the OpenLDAP headers to build; none of our addons uses it.
SKIPPED_ODOO_REQUIREMENTS = ("python-ldap",)
# setuptools<70 (below) keeps pkg_resources, whose require() does not know the normalized
# dist-info names (zope_interface-8.x): gevent's event plugins then fail, and with them Odoo's
# gevent process (--workers). These releases still carry the dotted names.
PKG_RESOURCES_PINS = ("zope.interface<8", "zope.event<5")
RUN_DB = os.environ.get("OEC_DB", "oec_azure")
PORT = int(os.environ.get("OEC_PORT", "8069"))
# the sandbox database logs in as admin / admin: serve it on this machine only
# unless told otherwise (OEC_HOST=0.0.0.0 for every interface)
HOST = os.environ.get("OEC_HOST", "127.0.0.1")


def say(msg):
    print(f"[oec] {msg}", flush=True)


def die(msg):
    print(f"[oec] ERROR: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def run(cmd, **kw):
    check = kw.pop("check", True)
    return subprocess.run([str(c) for c in cmd], check=check, **kw)


def digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            part = part.read_bytes() if part.is_file() else str(part).encode()
        h.update(part if isinstance(part, bytes) else str(part).encode())
    return h.hexdigest()


# --------------------------------------------------------------------------
# Odoo source
# --------------------------------------------------------------------------
def _is_odoo_src(path):
    return path and (Path(path) / "odoo-bin").is_file() and (Path(path) / "odoo" / "release.py").is_file()


def find_odoo_src():
    """ODOO_SRC, else an importable `odoo` (found without importing it), else a
    checkout of the official 17.0 branch in .cache/odoo when the network allows."""
    env_src = os.environ.get("ODOO_SRC")
    if env_src:
        if not _is_odoo_src(env_src):
            die(f"ODOO_SRC={env_src} is not an Odoo source checkout (no odoo-bin / odoo/release.py).")
        return Path(env_src).resolve()
    candidates = [sys.executable]
    if PY.exists():
        candidates.insert(0, str(PY))
    probe = (
        "import importlib.util as u; s = u.find_spec('odoo'); "
        "print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')"
    )
    for python in dict.fromkeys(candidates):
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False)
        pkg = out.stdout.strip()
        if pkg and _is_odoo_src(Path(pkg).parent):
            return Path(pkg).parent.resolve()
    cached = CACHE / "odoo"
    if _is_odoo_src(cached):
        return cached
    if shutil.which("git"):
        say("Odoo 17 not found: cloning the official 17.0 branch into .cache/odoo ...")
        res = run(["git", "clone", "--depth", "1", "--branch", "17.0", ODOO_GIT, cached], check=False)
        if res.returncode == 0 and _is_odoo_src(cached):
            return cached
        shutil.rmtree(cached, ignore_errors=True)
    die(
        "Odoo 17 was not found and could not be downloaded.\n"
        "  Provide it in one of these ways, then re-run the command:\n"
        "  * export ODOO_SRC=/path/to/odoo-17.0   (a source checkout with odoo-bin)\n"
        "  * make `import odoo` work for python3 (e.g. pip install -e /path/to/odoo-17.0)\n"
        f"  * git clone --depth 1 -b 17.0 {ODOO_GIT} {cached}"
    )


def odoo_version(src):
    text = (src / "odoo" / "release.py").read_text()
    match = re.search(r"version_info\s*=\s*\((\d+),", text)
    return int(match.group(1)) if match else 0


# --------------------------------------------------------------------------
# Virtual environment
# --------------------------------------------------------------------------
def bootstrap():
    """Create .venv with Odoo's and our requirements; link the Odoo source."""
    src = find_odoo_src()
    if odoo_version(src) != 17:
        die(f"{src} is not Odoo 17 (release.py says {odoo_version(src)}).")
    reqs = [ROOT / "requirements.txt", ROOT / "test-requirements.txt", src / "requirements.txt"]
    emulator_inputs = [EMULATOR_DIR / "pyproject.toml", EMULATOR_DIR / "package-lock.json"]
    stamp = VENV / ".oec-stamp"
    want = digest(str(src), sys.version, *PKG_RESOURCES_PINS, *reqs, *emulator_inputs)
    if stamp.is_file() and stamp.read_text() == want and PY.exists():
        return src
    say(f"preparing the virtual environment .venv (Odoo from {src}) ...")
    if not PY.exists():
        run([sys.executable, "-m", "venv", VENV])
    CACHE.mkdir(exist_ok=True)
    odoo_reqs = CACHE / "odoo-requirements.txt"
    lines = (src / "requirements.txt").read_text().splitlines()
    odoo_reqs.write_text(
        "\n".join(line for line in lines if not line.strip().startswith(SKIPPED_ODOO_REQUIREMENTS)) + "\n"
    )
    pip = [PY, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    # Odoo 17 imports pkg_resources, which setuptools 70+ no longer guarantees.
    run([*pip, "setuptools<70", "wheel"])
    run([*pip, "-r", odoo_reqs, "-r", ROOT / "requirements.txt", "-r", ROOT / "test-requirements.txt"])
    run([*pip, *PKG_RESOURCES_PINS])
    run([*pip, "--no-deps", "-e", EMULATOR_DIR])
    site = subprocess.run(
        [PY, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "oec-odoo-src.pth").write_text(f"{src}\n")
    if not shutil.which("npm"):
        die("npm is needed to install Azurite (the local Blob Storage): apt-get install npm")
    run(["npm", "ci", "--silent", "--no-audit", "--no-fund", "--prefix", EMULATOR_DIR])
    stamp.write_text(want)
    return src


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------
def _pg_answers(env):
    res = subprocess.run(
        [PY, "-c", "import psycopg2; psycopg2.connect(dbname='postgres').close()"],
        env=env,
        capture_output=True,
        check=False,
    )
    return res.returncode == 0


def _pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (bindir / name).is_file():
            return str(bindir / name)
    return None


def ensure_postgres():
    """Return the environment in which libpq reaches a server: the standard
    PG* variables / local socket, else a private cluster in .cache/pg."""
    env = dict(os.environ)
    if _pg_answers(env):
        return env
    pgdata, sock = CACHE / "pg" / "data", CACHE / "pg" / "run"
    env.update(PGHOST=str(sock), PGPORT=env.get("OEC_PGPORT", "54329"))
    if _pg_answers(env):
        return env
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        die(
            "No PostgreSQL server answers (PGHOST/PGPORT/PGUSER or the local socket) and no\n"
            "  PostgreSQL binaries were found to start a private one. Install PostgreSQL\n"
            "  (apt-get install postgresql) or point PG* variables at a server."
        )
    sock.mkdir(parents=True, exist_ok=True)
    as_user = []
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: run the private cluster as nobody.
        shutil.chown(sock, "nobody")
        shutil.chown(pgdata.parent, "nobody")
        as_user = ["runuser", "-u", "nobody", "--"]
    if not (pgdata / "PG_VERSION").is_file():
        say("starting a private PostgreSQL cluster in .cache/pg ...")
        user = env.get("PGUSER") or ("root" if os.geteuid() == 0 else os.environ.get("USER", "odoo"))
        run(
            [*as_user, initdb, "-D", pgdata, "-U", user, "--auth=trust", "-E", "UTF8"],
            stdout=subprocess.DEVNULL,
        )
        env["PGUSER"] = user
    opts = f"-k {sock} -p {env['PGPORT']} -c listen_addresses=''"
    run([*as_user, pg_ctl, "-D", pgdata, "-l", pgdata.parent / "server.log", "-o", opts, "-w", "start"])
    if not _pg_answers(env):
        die(f"the private PostgreSQL cluster did not answer; see {pgdata.parent / 'server.log'}")
    return env


_DB_SCRIPT = """
import sys, psycopg2
from psycopg2 import sql
conn = psycopg2.connect(dbname="postgres")
conn.autocommit = True
cr = conn.cursor()
if sys.argv[1] == "exists":
    cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (sys.argv[2],))
    sys.exit(0 if cr.fetchone() else 1)
if sys.argv[1] == "copy":
    cr.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(sys.argv[3]), sql.Identifier(sys.argv[2])))
    sys.exit(0)
if sys.argv[1] == "rename":
    cr.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
        sql.Identifier(sys.argv[2]), sql.Identifier(sys.argv[3])))
    sys.exit(0)
cr.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(sys.argv[2])))
"""


def db_exists(env, name):
    return subprocess.run([PY, "-c", _DB_SCRIPT, "exists", name], env=env, check=False).returncode == 0


def drop_db(env, name):
    run([PY, "-c", _DB_SCRIPT, "drop", name], env=env)


def filestore(name):
    return Path(os.path.expanduser("~/.local/share/Odoo/filestore")) / name


def odoo_depends(addons):
    """The Odoo modules the addons need, followed through each other
    (oec_cloud_accounts depends on oec_auth_azure), without the addons."""
    todo, seen, depends = list(addons), set(), set()
    while todo:
        addon = todo.pop()
        if addon in seen:
            continue
        seen.add(addon)
        for dep in eval_manifest(ROOT / addon / "__manifest__.py").get("depends", []):
            if dep in ADDONS:
                todo.append(dep)
            else:
                depends.add(dep)
    return depends


def template_db(src, conf, env, addons, db):
    """Create `db` as a copy of a cached database holding the addons' Odoo
    dependencies (not the addons), made once per Odoo source and dependency
    list: installing mail & co. is most of the time of a test run."""
    depends = sorted(odoo_depends(addons))
    tpl = "oec_tpl_" + digest(str(src), (src / "odoo" / "release.py"), ",".join(depends))[:12]
    # the template is shared by every checkout of this machine (worktrees included), so is its lock
    lock = Path(tempfile.gettempdir()) / f"{tpl}.lock"
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not db_exists(env, tpl):
            say(f"caching a template database {tpl} with {', '.join(depends)} (once) ...")
            drop_db(env, tpl + "_tmp")
            shutil.rmtree(filestore(tpl + "_tmp"), ignore_errors=True)
            cmd = odoo_cmd(src, conf, "-d", tpl + "_tmp", "-i", ",".join(depends), "--stop-after-init")
            run([*cmd, "--log-level=warn", "--db-filter=.*"], env=env)
            run([PY, "-c", _DB_SCRIPT, "rename", tpl + "_tmp", tpl], env=env)
            shutil.rmtree(filestore(tpl), ignore_errors=True)
            if filestore(tpl + "_tmp").is_dir():
                filestore(tpl + "_tmp").rename(filestore(tpl))
        run([PY, "-c", _DB_SCRIPT, "copy", tpl, db], env=env)
    shutil.rmtree(filestore(db), ignore_errors=True)
    if filestore(tpl).is_dir():
        shutil.copytree(filestore(tpl), filestore(db))


def eval_manifest(path):
    return ast.literal_eval(path.read_text())


# --------------------------------------------------------------------------
# Odoo configuration
# --------------------------------------------------------------------------
def odoo_config(src, path, **extra):
    lines = [
        "[options]",
        f"addons_path = {src / 'odoo' / 'addons'},{ROOT}",
        "admin_passwd = admin",
        "without_demo = all",
        "max_cron_threads = 1",
        # key for the encryption of refresh tokens / client secrets at rest
        # (read from the server configuration, never from the database)
        f"oec_cloud_secret_key = {local_secret_key()}",
    ]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def local_secret_key():
    """A random key for this checkout's local use, made once and kept in .cache."""
    key_file = CACHE / "secret_key"
    if not key_file.is_file():
        CACHE.mkdir(exist_ok=True)
        key_file.write_text(os.urandom(32).hex())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def odoo_cmd(src, conf, *args, command=None):
    return [PY, src / "odoo-bin", *([command] if command else []), "-c", conf, *args]


def venv_env(env):
    """``env`` with the virtual environment's bin first on PATH, as its `activate` does.

    Odoo reloads itself (SIGHUP, "Initiating server reload") with
    os.execve(sys.executable, [basename(sys.executable), *sys.argv]): the new
    interpreter gets argv[0] "python" without a directory, so CPython looks it up
    on PATH to find its prefix. Without the venv there, that is the system Python,
    which has none of the dependencies (No module named 'PyPDF2')."""
    path = env.get("PATH", os.defpath)
    return dict(env, PATH=os.pathsep.join([str(VENV / "bin"), path]), VIRTUAL_ENV=str(VENV))


# --------------------------------------------------------------------------
# make run
# --------------------------------------------------------------------------
class Stop(Exception):
    """SIGTERM / SIGHUP / SIGINT reached devtool: stop everything it started."""


def _raise_stop(signum, _frame):
    raise Stop(signal.Signals(signum).name)


def _own_group():
    """In a child, before exec: its own process group (devtool stops the whole
    group, grandchildren included, e.g. the emulator's Azurite), and SIGTERM
    when devtool itself dies, even by SIGKILL (Linux)."""
    os.setsid()
    try:
        import ctypes  # pylint: disable=import-outside-toplevel

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_child(cmd, **kw):
    return subprocess.Popen([str(c) for c in cmd], preexec_fn=_own_group, **kw)  # noqa: PLW1509


def stop_child(proc, timeout=20):
    """SIGTERM to the child's whole process group, SIGKILL after ``timeout``."""
    if proc is None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone: make sure nothing else of its group stays
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


def port_owner(port):
    """(pid, command line) of the process listening on TCP ``port``, from /proc
    (Linux); (None, None) when unknown."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(fields[9])
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            for fd in (proc_dir / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    cmdline = (
                        (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    )
                    return int(proc_dir.name), cmdline.strip()
        except OSError:
            continue
    return None, None


def check_port_free(port):
    """Refuse to start when another process listens on ``port``: saying which and how to stop it."""
    import socket  # pylint: disable=import-outside-toplevel

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
            return
        except OSError:
            pass
    pid, cmdline = port_owner(port)
    who = f"process {pid} ({cmdline[:200]})" if pid else "another process (not visible to this user)"
    how = f"stop it with `kill {pid}`" if pid else "stop it"
    die(
        f"port {port} is already in use by {who}.\n"
        f"  Perhaps an earlier `make run` still runs: {how},\n"
        f"  or use another port: OEC_PORT={port + 1} make run"
    )


def wait_http(url, proc, timeout=180):
    """True once ``url`` answers HTTP (any status); False if ``proc`` ended first or time ran out."""
    import urllib.error  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with opener.open(url, timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.5)
    return False


def cmd_run(args):
    # a SIGTERM (`kill`, make forwards it), SIGHUP (terminal closed) or Ctrl+C
    # unwinds through the `finally` below, which stops every child it started
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _raise_stop)
    children = []
    try:
        return _run(children)
    except Stop as stop:
        say(f"{stop}: stopping Odoo and the sandbox ...")
        return 0
    finally:
        # later children first: Odoo before the services it uses
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        for proc in reversed(children):
            stop_child(proc)


def _run(children):
    check_port_free(PORT)
    src = bootstrap()
    env = venv_env(ensure_postgres())
    if os.environ.get("OEC_FRESH") == "1":
        start_fresh(env)
    extra = {"http_port": PORT, "http_interface": HOST, "db_name": RUN_DB, "dbfilter": f"^{RUN_DB}$"}
    emulator = mail = None
    if os.environ.get("OEC_SANDBOX", "1") == "0":
        say("the local Azure sandbox is off (OEC_SANDBOX=0).")
    else:
        emulator = start_sandbox(env)
        children.append(emulator)
        # the sandbox's TLS certificates come from a CA it makes at start
        extra["oec_azure_ca_bundle"] = emulator.info["ca_path"]
        mail = start_mail_catcher(env)
        children.append(mail)
    # one per database: the tools tests run `make run` beside a newcomer's own
    conf = odoo_config(src, CACHE / f"odoo-run-{RUN_DB}.conf", **extra)
    stamp = CACHE / f"db-{RUN_DB}.stamp"
    want = digest(str(src), *(ROOT / a / "__manifest__.py" for a in ADDONS))
    exists = db_exists(env, RUN_DB)
    if not (exists and stamp.is_file() and stamp.read_text() == want):
        say(f"creating database {RUN_DB} with {', '.join(ADDONS)} installed ...")
        if not exists:
            # the addons' Odoo dependencies come from the cached template (make test's)
            template_db(src, conf, env, ADDONS, RUN_DB)
        run(
            odoo_cmd(
                src,
                conf,
                "-d",
                RUN_DB,
                "-u" if exists else "-i",
                ",".join(ADDONS),
                "--stop-after-init",
                "--log-level=warn",
            ),
            env=env,
        )
        shell(src, conf, env, b"env['res.users'].browse(2).password = 'admin'\nenv.cr.commit()\n")
        stamp.write_text(want)
    if emulator:
        # each addon registers the sandbox in the database its own way
        info = dict(emulator.info, smtp_port=mail.info["port"], odoo_url=f"http://localhost:{PORT}")
        sandbox_env = dict(env, OEC_SANDBOX_INFO=json.dumps(info))
        for script in sorted((ROOT / "tools" / "sandbox").glob("*.py")):
            shell(src, conf, sandbox_env, script.read_bytes())
    check_port_free(PORT)  # taken meanwhile?
    say(f"Odoo is starting on port {PORT} (database {RUN_DB}) ...")
    odoo = start_child(odoo_cmd(src, conf, "-d", RUN_DB), env=env)
    children.append(odoo)
    probe = "127.0.0.1" if HOST in ("", "0.0.0.0", "::") else HOST
    if not wait_http(f"http://{probe}:{PORT}/web/login", odoo):
        if odoo.poll() is None:
            die(f"Odoo did not answer on http://localhost:{PORT} within 3 minutes: see its log above.")
        die(f"Odoo stopped (exit code {odoo.returncode}): see its log above.")
    say(f"open http://localhost:{PORT} and log in as admin / admin")
    if mail:
        say(f"mails Odoo sends land in {mail.info['directory']}: list them with `make mail`")
    say("stop with Ctrl+C (or kill this process: everything it started stops with it)")
    return odoo.wait()


def shell(src, conf, env, code):
    run(
        odoo_cmd(src, conf, "-d", RUN_DB, "--log-level=warn", command="shell"),
        env=env,
        input=code,
        stdout=subprocess.DEVNULL,
    )


def _started(proc, what):
    line = proc.stdout.readline()
    try:
        proc.info = json.loads(line)
    except ValueError:
        stop_child(proc)
        die(f"{what} did not start: {line!r}")
    return proc


def sandbox_dir():
    """Where the sandbox of the database RUN_DB keeps its state between two `make run`
    (its resources, tokens and blobs: tools/azure_emulator/azure_emulator/persist.py)."""
    return CACHE / "sandbox" / RUN_DB


def sandbox_cmd():
    # --lro-seconds: slow enough for a person to watch long operations progress
    return [
        PY,
        "-m",
        "azure_emulator",
        "--host",
        "127.0.0.1",
        "--lro-seconds",
        "5",
        "--state-dir",
        sandbox_dir(),
    ]


def start_fresh(env):
    """OEC_FRESH=1: forget the database RUN_DB (and its files) and its sandbox's state."""
    say(f"OEC_FRESH=1: dropping the database {RUN_DB} and forgetting its sandbox ({sandbox_dir()}) ...")
    if db_exists(env, RUN_DB):
        drop_db(env, RUN_DB)
    shutil.rmtree(filestore(RUN_DB), ignore_errors=True)
    shutil.rmtree(sandbox_dir(), ignore_errors=True)
    (CACHE / f"db-{RUN_DB}.stamp").unlink(missing_ok=True)


def start_sandbox(env):
    """Start the local Azure emulator beside Odoo (see tools/azure_emulator)."""
    kept = (sandbox_dir() / "emulator.json").is_file()
    say("starting the local Azure sandbox (turn it off with OEC_SANDBOX=0) ...")
    cmd = sandbox_cmd()
    proc = _started(start_child(cmd, env=env, stdout=subprocess.PIPE, text=True), "the local Azure sandbox")
    say(f"local Azure sandbox: {proc.info['http_url']}")
    if kept:
        say(f"it is as it was when it stopped (kept in {sandbox_dir()}; OEC_FRESH=1 starts over)")
    say(
        f"its HTTPS (e.g. a backup's Download link) is signed by its own authority {proc.info['ca_path']}: "
        "the browser warns once, or import that file"
    )
    return proc


def start_mail_catcher(env):
    """A local SMTP server (aiosmtpd) on loopback: the sandbox's outgoing mail
    server, which keeps every message as a .eml file in .cache/mail."""
    cmd = [PY, ROOT / "tools" / "mailcatcher.py", "serve", "--dir", CACHE / "mail"]
    proc = _started(start_child(cmd, env=env, stdout=subprocess.PIPE, text=True), "the local mail catcher")
    say(f"local mail catcher: smtp://127.0.0.1:{proc.info['port']}")
    return proc


# --------------------------------------------------------------------------
# make test
# --------------------------------------------------------------------------
def check_browser():
    """Tours must run, never be skipped: make sure Chromium and websocket-client exist."""
    if not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")):
        if os.geteuid() == 0 and shutil.which("apt-get"):
            say("installing Debian's chromium for the browser tours ...")
            run(["apt-get", "update", "-qq"], check=False)
            run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, stdout=subprocess.DEVNULL)
        if not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")):
            die(
                "Chromium is needed for the browser tests: install it (Debian: apt-get install chromium)\n"
                "  and re-run `make test`."
            )
    res = subprocess.run([PY, "-c", "import websocket"], capture_output=True, check=False)
    if res.returncode:
        die(
            "the Python package websocket-client is missing from .venv: run "
            "`.venv/bin/pip install -r test-requirements.txt`."
        )


def check_cloud_init():
    """The servers' tests validate every generated cloud-config with cloud-init's own schema check."""
    if not shutil.which("cloud-init"):
        if os.geteuid() == 0 and shutil.which("apt-get"):
            say("installing Debian's cloud-init for the cloud-config schema checks ...")
            run(["apt-get", "update", "-qq"], check=False)
            run(["apt-get", "install", "-y", "-qq", "cloud-init"], check=False, stdout=subprocess.DEVNULL)
        if not shutil.which("cloud-init"):
            die(
                "cloud-init is needed for the servers' tests (cloud-init schema): install it\n"
                "  (Debian: apt-get install cloud-init) and re-run `make test`."
            )


def pytest_counts(junit):
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


REPORT_RE = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
SKIP_RE = re.compile(r" INFO \S+ \S+: skipped (.*)")
LOG_ERROR_RE = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) ")


def odoo_counts(log_path):
    """Read Odoo's closing report; a skipped test and an ERROR log line count as failures."""
    text = log_path.read_text(errors="replace")
    reports = REPORT_RE.findall(text)
    skips = SKIP_RE.findall(text)
    errors = [line for line in text.splitlines() if LOG_ERROR_RE.match(line)]
    if not reports:
        return 0, 1, skips, errors
    failed, errored, total = (int(x) for x in reports[-1])
    bad = failed + errored
    return total - bad - len(skips), bad, skips, errors


_DUMP_SCRIPT = """
import sys, psycopg2
from psycopg2 import sql
conn = psycopg2.connect(dbname=sys.argv[1])
cr = conn.cursor()
cr.execute("SELECT table_name FROM information_schema.tables"
           " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1")
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for (table,) in cr.fetchall():
        out.write("-- %s\\n" % table)
        cr.copy_expert(sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table)), out)
"""


def check_secrets(env, db, issued, texts, out):
    """Search the run's texts and the test database's rows for every secret the emulator
    issued; print the count. Returns the hits, or None when the check could not run."""
    sys.path.insert(0, str(ROOT / "tools"))
    import secret_scan

    rows = out / "database-rows.txt"
    if run([PY, "-c", _DUMP_SCRIPT, db, rows], env=env, check=False).returncode:
        say("secrets check: the test database could not be read")
        return None
    secrets = secret_scan.load_secrets(issued)
    sources = {path.name: path.read_text(errors="replace") for path in [*texts, rows] if path.is_file()}
    hits = secret_scan.scan(secrets, sources)
    rows.unlink()
    print(f"[oec] secrets found in logs/messages: {len(hits)} of {len(secrets)} issued")
    for source, kind, offset in hits[:20]:
        print(f"    a {kind} in {source} at offset {offset}")
    return hits


def cmd_test(args):
    src = bootstrap()
    check_browser()
    check_cloud_init()
    env = ensure_postgres()
    out = CACHE / f"test-{args.db}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    passed = failed = 0
    problems = []
    started = time.time()

    # 1. plain pytest: the emulator's own tests (real SDK clients), the addon's
    # services/ (real SDK clients to the emulator, no database), the contract suite
    # (Azure's recorded answers through the same SDK clients, contract/README.md), and
    # tools/tests: `make run` started and stopped for real; tools/resilience: Odoo with
    # --workers under load, its database named after make test's (OEC_RESILIENCE_DB)
    if not args.test_tags:
        suites = (
            ("emulator", EMULATOR_DIR / "tests"),
            ("services", ROOT / "oec_cloud_accounts" / "services" / "tests"),
            ("contract", ROOT / "contract"),
            ("tools", ROOT / "tools" / "tests"),
            # Odoo started for real: prefork under load (and crashes), tools/resilience/README.md
            ("resilience", ROOT / "tools" / "resilience"),
        )
        for name, tests in suites:
            say(f"running the {name} tests ({tests.relative_to(ROOT)}) ...")
            junit = out / f"{name}.xml"
            # no:odoo: these suites need no database, even where pytest-odoo is installed
            cmd = [
                PY,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:odoo",
                f"--junitxml={junit}",
                tests,
            ]
            # PYTHONSAFEPATH: the suite's folder is not put first on sys.path (services/http.py
            # would hide the standard library's http module)
            suite_env = {**env, "PYTHONSAFEPATH": "1", "OEC_RESILIENCE_DB": args.db + "_res"}
            if name == "resilience":
                # what these tests did (counts, timings) is part of the output
                cmd.insert(cmd.index("-q"), "-s")
            run(cmd, env=suite_env, check=False, cwd=tests.parent)
            p, f, s = pytest_counts(junit) if junit.is_file() else (0, 1, 0)
            passed, failed = passed + p, failed + f + s
            if f or s or not junit.is_file():
                problems.append(f"{name} tests: {f} failed, {s} skipped")

    # 2. the addons' tests in a fresh database, under coverage
    db = args.db
    addons = [a for a in args.addons.split(",") if a] or list(ADDONS)
    # screenshots (of the browser tests' failures, and the views of test_views_layout.py) go with the output
    conf = odoo_config(
        src, out / "odoo-test.conf", http_port=args.port, db_name=db, screenshots=out / "screenshots"
    )
    drop_db(env, db)
    template_db(src, conf, env, addons, db)
    tags = args.test_tags or ",".join(f"/{a}" for a in addons)
    log = out / "odoo.log"
    say(f"installing {', '.join(addons)} in a fresh database {db!r} and running their tests ({tags}) ...")
    cov = [PY, "-m", "coverage", "run", "--rcfile", ROOT / ".coveragerc", "--data-file", out / ".coverage"]
    cmd = [
        *cov,
        src / "odoo-bin",
        "-c",
        conf,
        "-d",
        db,
        "-i",
        ",".join(addons),
        "--test-enable",
        "--test-tags",
        tags,
        "--stop-after-init",
        "--log-level=test",
        "--logfile",
        log,
    ]
    # the emulators of the Odoo process write there every secret they issued (at exit)
    issued = out / "issued-secrets.jsonl"
    captured = out / "captured-texts.txt"
    env = {**env, "OEC_EMULATOR_SECRETS_FILE": str(issued), "OEC_CAPTURED_TEXTS_FILE": str(captured)}
    rc = run(cmd, env=env, check=False, cwd=ROOT).returncode
    p, f, skips, errors = odoo_counts(log) if log.is_file() else (0, 1, [], [])
    passed, failed = passed + p, failed + f + len(skips)
    if rc or f or skips or errors:
        problems.append(
            f"odoo tests: exit code {rc}, {f} failed/errored, {len(skips)} skipped, "
            f"{len(errors)} ERROR log lines (see {log.relative_to(ROOT)})"
        )
        for line in (errors + [f"skipped {s}" for s in skips])[:20]:
            print("   ", line[:300])
        if not (f or skips):
            failed += 1  # a failure outside any test: the install, or an ERROR logged

    # 2b. no secret the emulator issued is in the log, the texts the tests captured (chatter,
    # mails, activities, errors shown) or any row of the test database (before the uninstall)
    leaks = check_secrets(env, db, issued, [log, captured], out)
    if leaks is None or leaks:
        failed += 1
        problems.append(f"secrets check: {'not run' if leaks is None else len(leaks)} (see above)")
    else:
        passed += 1

    shots = out / "screenshots"
    if any(shots.rglob("*.png")):
        say(f"screenshots (the views at two sizes, failed tours): {shots.relative_to(ROOT)}")

    # 3. both addons uninstall cleanly, then install again
    if not args.test_tags:
        say("checking that both addons uninstall and reinstall cleanly ...")
        res = run(
            odoo_cmd(src, conf, "-d", db, "--log-level=warn", command="shell"),
            env=env,
            check=False,
            stdin=(ROOT / "tools" / "check_uninstall.py").open("rb"),
            capture_output=True,
            text=True,
        )
        if res.returncode == 0 and "UNINSTALL-OK" in res.stdout:
            passed += 1
        else:
            failed += 1
            problems.append("uninstall/reinstall check failed:\n" + res.stdout[-2000:] + res.stderr[-3000:])

    run(
        [*cov[:3], "combine", "--rcfile", ROOT / ".coveragerc", "--data-file", out / ".coverage"],
        env=env,
        check=False,
        capture_output=True,
    )
    run(
        [*cov[:3], "report", "--rcfile", ROOT / ".coveragerc", "--data-file", out / ".coverage"],
        env=env,
        check=False,
    )
    say(f"tests took {time.time() - started:.0f} s")
    for problem in problems:
        print(f"[oec] FAILED: {problem}")
    print(f"{passed} passed, {failed} failed")
    return 1 if (failed or problems) else 0


# --------------------------------------------------------------------------
# make lint
# --------------------------------------------------------------------------
def cmd_lint(args):
    bootstrap()
    bin_dir = VENV / "bin"
    paths = [*ADDONS, "tools", "setup", "contract"]
    rc = run([bin_dir / "ruff", "check", *paths], cwd=ROOT, check=False).returncode
    rc |= run([bin_dir / "ruff", "format", "--check", *paths], cwd=ROOT, check=False).returncode
    rc |= run([bin_dir / "pylint", "--rcfile", ROOT / ".pylintrc", *ADDONS], cwd=ROOT, check=False).returncode
    print("lint: OK" if rc == 0 else "lint: FAILED")
    return 1 if rc else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("bootstrap", help="prepare .venv (Odoo, dependencies, Azurite)")
    sub.add_parser("run", help="prepare everything and serve Odoo on :8069")
    test = sub.add_parser("test", help="fresh database, install both addons, run every test")
    test.add_argument(
        "--test-tags",
        default=os.environ.get("TEST_TAGS", ""),
        help="Odoo --test-tags to run only some tests (skips the emulator and uninstall checks)",
    )
    test.add_argument("--db", default=os.environ.get("OEC_TEST_DB", "oec_azure_test"))
    test.add_argument(
        "--addons",
        default=os.environ.get("OEC_TEST_ADDONS", ""),
        help="comma-separated addons to install (default: both)",
    )
    test.add_argument("--port", type=int, default=int(os.environ.get("OEC_TEST_PORT", "8169")))
    sub.add_parser("lint", help="ruff and pylint-odoo")
    args = parser.parse_args(argv)
    if args.command == "bootstrap":
        bootstrap()
        return 0
    try:
        return {"run": cmd_run, "test": cmd_test, "lint": cmd_lint}[args.command](args)
    except subprocess.CalledProcessError as exc:
        die(f"this step failed (exit code {exc.returncode}): {' '.join(map(str, exc.cmd))}")


if __name__ == "__main__":
    sys.exit(main())
