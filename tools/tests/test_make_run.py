"""`make run` starts, answers HTTP, and a SIGTERM (`kill` of the make
process, as after `make run &`) leaves no process and no bound port behind.

Real processes: make, tools/devtool.py, odoo-bin, the Azure emulator with
Azurite, the mail catcher and PostgreSQL. The database ``oec_make_run_test``
is kept between runs (devtool's stamp skips the install the second time).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import devtool

DB = os.environ.get("OEC_MAKE_RUN_TEST_DB", "oec_make_run_test")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid):
    """Every living process below ``pid`` (from /proc)."""
    children = {}
    for proc_dir in Path("/proc").iterdir():
        if proc_dir.name.isdigit():
            try:
                ppid = int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc_dir.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid):
    try:
        state = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def listening_ports(pids):
    return {port for pid in pids for _address, port in _sockets_of(pid)}


def listening_addresses(pids, port):
    """The addresses the processes listen on for ``port`` ("127.0.0.1", "0.0.0.0", ...)."""
    found = set()
    for pid in pids:
        for address, bound in _sockets_of(pid):
            if bound == port:
                # /proc/net/tcp holds IPv4 addresses as little-endian hex
                found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


def _sockets_of(pid):
    inodes = set()
    try:
        for fd in Path("/proc/%d/fd" % pid).iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                address, port = fields[1].rsplit(":", 1)
                yield address, int(port, 16)


def port_is_free(port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def run_env(port):
    return dict(os.environ, OEC_PORT=str(port), OEC_DB=DB)


def test_make_run_stops_everything_on_sigterm():
    port = free_port()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=run_env(port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "open http://localhost:%d" % port in line:
                break
        output = "".join(lines)
        assert "open http://localhost:%d and log in as admin / admin" % port in output, output[-3000:]
        # announced only once Odoo answers
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            "http://127.0.0.1:%d/web/login" % port, timeout=30
        ) as page:
            assert page.status == 200
        started = descendants(proc.pid)
        ports = listening_ports(started)
        assert port in ports, ports
        # admin / admin is served on this machine only (OEC_HOST to change it)
        assert listening_addresses(started, port) == {"127.0.0.1"}
        assert len(ports) >= 3, "Odoo, the emulator and the mail catcher listen: %s" % ports
        proc.send_signal(signal.SIGTERM)  # `kill $!` after `make run &`
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        rest = proc.stdout.read() if proc.stdout else ""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in started):
        time.sleep(0.2)
    left = [pid for pid in started if alive(pid)]
    assert not left, "still running after SIGTERM: %s\n%s" % (left, rest[-2000:])
    assert all(port_is_free(p) for p in ports), "a port is still bound: %s" % ports
    assert "stopping Odoo and the sandbox" in rest
    # the sandbox wrote its state on its way out: the next `make run` finds it as it was
    state = json.loads((ROOT / ".cache" / "sandbox" / DB / "emulator.json").read_text())
    assert state["state"]["subscriptions"] and state["keys"]["known"]


def answers(port, timeout=5):
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            "http://127.0.0.1:%d/web/login" % port, timeout=timeout
        ) as page:
            return page.status == 200
    except OSError:
        return False


def test_make_run_comes_back_after_a_reload():
    """Odoo reloads itself on SIGHUP (and on "Initiating server reload" after a time
    limit) by re-executing sys.executable: it must come back in the virtual environment."""
    port = free_port()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=run_env(port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    # everything it prints is read (a full pipe would stop Odoo's logging, and Odoo)
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    try:
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            lines.append(line)
            if "open http://localhost:%d" % port in line:
                break
        reader.start()
        assert answers(port, 30), "".join(lines)[-3000:]
        odoo = [
            pid for pid in descendants(proc.pid) if b"odoo-bin" in Path("/proc/%d/cmdline" % pid).read_bytes()
        ]
        assert len(odoo) == 1, odoo
        os.kill(odoo[0], signal.SIGHUP)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("Initiating server reload" in line for line in lines):
            time.sleep(0.5)
        assert any("Initiating server reload" in line for line in lines), "".join(lines)[-3000:]
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and alive(odoo[0]) and not answers(port):
            time.sleep(1)
        output = "".join(lines)
        assert alive(odoo[0]), "Odoo did not come back after its reload:\n" + output[-3000:]
        assert answers(port), output[-3000:]
        assert "ModuleNotFoundError" not in output
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_make_run_refuses_a_taken_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        started = time.monotonic()
        res = subprocess.run(
            [sys.executable, ROOT / "tools" / "devtool.py", "run"],
            env=run_env(port),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert res.returncode == 2
    assert "port %d is already in use by process %d" % (port, os.getpid()) in res.stderr, res.stderr
    assert "kill %d" % os.getpid() in res.stderr
    assert "OEC_PORT=%d" % (port + 1) in res.stderr
    assert time.monotonic() - started < 30, "refused before preparing anything"


@pytest.mark.parametrize("taken", [False, True])
def test_port_owner(taken):
    if not taken:
        assert devtool.port_owner(free_port()) == (None, None)
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        pid, cmdline = devtool.port_owner(sock.getsockname()[1])
    assert pid == os.getpid()
    assert "python" in cmdline or "pytest" in cmdline
