"""Test helpers: an emulator running in this process, shared or independent.

from azure_emulator.testing import shared_emulator
emu = shared_emulator()          # started once per process
emu.control.reset()              # back to the seeded sandbox
emu.endpoints["authority_host"]  # f"{...}/{tenant}" is the MSAL authority
"""

import atexit
import json
import os
import threading

from . import defaults
from .app import Emulator
from .client import ControlClient

_shared = None
_shared_lock = threading.Lock()


class EmulatorHandle:
    """What tests use: URLs, the CA path, the control client, stop()."""

    defaults = defaults

    def __init__(self, emulator):
        self._emulator = emulator
        self.url = emulator.url
        self.http_url = emulator.http_url
        self.blob_url = emulator.blob_url
        self.ca_path = emulator.ca_path
        self.endpoints = emulator.endpoints()
        self.control = ControlClient(self.url, self.ca_path)
        self.tenant_id = defaults.TENANT_ID
        self.subscription_id = defaults.SUBSCRIPTION_ID

    def authority(self, tenant=defaults.TENANT_ID, interactive=False):
        host = self.endpoints["interactive_authority_host" if interactive else "authority_host"]
        return "%s/%s" % (host, tenant)

    def describe(self):
        return self._emulator.describe()

    @property
    def running(self):
        return self._emulator.started

    def stop(self):
        self._emulator.stop()

    def suspend(self):
        """The emulator gone: connections refused (or dropped, if kept alive) until resume()."""
        self._emulator.suspend()

    def resume(self):
        """Back on the same ports with the same state."""
        self._emulator.resume()


def start_emulator(
    azurite=True, host="127.0.0.1", port=0, http_port=0, blob_port=0, state_dir=None, **options
):
    """Start an independent emulator; ``options`` as in ``state.seed`` (e.g.
    ``redirect_uris=[...]``, ``signin_client_id=...``, ``config={"lro_polls": 0}``);
    ``state_dir``: keep its state there across restarts (persist.py).
    The caller stops it; it is also stopped at interpreter exit."""
    emulator = Emulator(
        host=host,
        port=port,
        http_port=http_port,
        blob_port=blob_port,
        azurite=azurite,
        options=options,
        state_dir=state_dir,
    ).start()
    handle = EmulatorHandle(emulator)
    atexit.register(emulator.stop)
    if os.environ.get(SECRETS_FILE_VARIABLE):
        atexit.register(write_issued_secrets, emulator, os.environ[SECRETS_FILE_VARIABLE])
    return handle


# make test sets it: each emulator of the test process adds what it issued to this file at exit
# (one JSON object a line), and the run's logs and messages are searched for them
SECRETS_FILE_VARIABLE = "OEC_EMULATOR_SECRETS_FILE"


def write_issued_secrets(emulator, path):
    lines = "".join(json.dumps(secret) + "\n" for secret in emulator.issued_secrets())
    with open(path, "a", encoding="utf-8") as out:
        out.write(lines)


def shared_emulator():
    """The process-wide emulator, started on first use (Azurite included)."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = start_emulator()
        return _shared
