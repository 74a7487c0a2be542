"""The command-line sandbox: ready line, startup time, clean stop."""

import json
import os
import signal
import subprocess
import sys
import time

import requests
from azure_emulator import defaults as d
from azure_emulator.testing import start_emulator


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as fh:
            return [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        return []


def test_cli_ready_line_and_sigterm():
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "azure_emulator", "--redirect-uri", "http://localhost:8069/cb"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        elapsed = time.monotonic() - started
        assert elapsed < 4, elapsed  # < 2 s for the emulator itself, plus interpreter start
        children = _children(proc.pid)
        assert children, "Azurite should run as a child"
        session = requests.Session()
        session.trust_env = False
        page = session.get(
            "%s/%s/oauth2/v2.0/authorize" % (info["endpoints"]["interactive_authority_host"], d.TENANT_ID),
            params={
                "client_id": info["cloud_client_id"],
                "redirect_uri": "http://localhost:9/x",
                "response_type": "code",
                "scope": "openid",
            },
            timeout=5,
        )
        assert "AADSTS50011" in page.text
        assert os.path.exists(info["ca_path"])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    for child in children:
        assert not os.path.exists("/proc/%d" % child)


def test_independent_instance_resets_and_stops_clean():
    # How fast it starts and resets is measured by tools/bench/bench_emulator.py
    # (`make bench`), not asserted here: a loaded machine would make it flaky.
    handle = start_emulator()
    child = handle._emulator.blob.process.pid
    email = "x@sandbox.onmicrosoft.test"
    handle.control.add_user(email=email)
    assert email in str(handle.control.state())
    handle.control.reset()
    assert email not in str(handle.control.state())
    handle.stop()
    assert not os.path.exists("/proc/%d" % child)
