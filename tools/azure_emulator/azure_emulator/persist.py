"""The sandbox's state kept across restarts (``--state-dir``, what `make run` passes).

The emulator's state lives in memory; with a state directory it is also written
to ``emulator.json`` there, a second after it changes and when the emulator
stops, and read back at the next start: tenants, users, subscriptions, every
resource (VMs, networks, DNS zones, storage accounts and their keys), refresh
tokens and the signing keys (so tokens issued before a restart stay valid).
Azurite keeps its blobs in ``azurite/`` beside it (``--location``), and the TLS
authority stays in ``tls/`` (a browser told to trust it once keeps trusting it).

What does not survive: the request log, injected faults, pending id_token
overrides (test tools), and nothing is half-done: the long-running operations
still in progress when the emulator stops are finished first, as Azure would have
while the sandbox was off. After a crash (no orderly stop) an operation found in
progress ends Failed, its resource too, so the client sends its request again.

The ports are new at each start: URLs of the old ports in the saved state (a
storage account's blob endpoint, an operation's address) are rewritten to the
new ones. Tests use no state directory: their emulator stays in memory.
"""

import json
import logging
import os
import re
import threading
import time

from . import arm_core, arm_storage

_logger = logging.getLogger(__name__)

STATE_FILE = "emulator.json"
FORMAT = 1
SAVE_DELAY = 1.0  # seconds between a change and its save
# test tools: not kept across a restart
FORGOTTEN = ("faults", "lro_failures", "id_token_overrides")
# options of this start, not state: the command line's win over the saved ones
OPTIONS = ("config", "auto_consent")
INTERRUPTED = {
    "code": "OperationInterrupted",
    "message": "The sandbox stopped before this operation ended: send the request again.",
}


def read(state_dir):
    """The saved state (a dict), or None when there is none (or it cannot be read)."""
    path = os.path.join(state_dir, STATE_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        _logger.warning("The sandbox state %s cannot be read: starting from the seeded sandbox", path)
        return None
    return saved if saved.get("format") == FORMAT else None


def restore(emu, saved):
    """Put ``saved`` (read()) in place in ``emu``, whose listeners and Azurite run."""
    old = saved.get("urls") or {}
    new = urls(emu)
    moved = {old[name]: new[name] for name in new if old.get(name) and new[name] and old[name] != new[name]}
    text = json.dumps(saved["state"])
    if moved:
        # a URL ends where its port ends: https://127.0.0.1:4000 is no prefix of :40001
        pattern = re.compile("(%s)(?![0-9])" % "|".join(re.escape(url) for url in moved))
        text = pattern.sub(lambda match: moved[match.group(1)], text)
    data = json.loads(text)
    for key in OPTIONS:
        data[key] = emu.state.data[key]
    for key in FORGOTTEN:
        data[key] = []
    # a sandbox saved before role assignments existed: its first user owns its subscriptions
    data.setdefault("role_assignments", emu.state.data["role_assignments"])
    now = time.time()
    for op in data["operations"].values():
        if op["status"] == "InProgress":
            op.update(status="Failed", error=dict(INTERRUPTED), end=now)
            res = data["resources"].get(op["target"])
            if res and res.get("properties", {}).get("provisioningState") != "Succeeded":
                res["properties"]["provisioningState"] = "Failed"
    with emu.lock:
        emu.state.data = data
        if emu.blob:
            emu.blob.restore(
                {
                    res["name"]: res["_keys"]
                    for res in data["resources"].values()
                    if res.get("type") == arm_storage.ACCOUNT_TYPE
                    and res["properties"].get("provisioningState") == "Succeeded"
                },
                saved.get("blob_names") or [],
            )


def urls(emu):
    return {"https": emu.url, "http": emu.http_url, "blob": emu.blob_url}


def finish_operations(emu):
    """End the operations still in progress, as Azure would while the sandbox is off.
    Azurite is not told about a storage account made now: the next start registers
    every storage account there is."""
    blob, emu.blob = emu.blob, None
    try:
        for op in list(emu.state["operations"].values()):
            if op["status"] == "InProgress":
                op["polls"] = 10**9  # polled enough, and long ago
                op["start"] = 0
                try:
                    arm_core.advance(emu, op)
                except Exception:  # pylint: disable=broad-except
                    _logger.exception("The operation %s could not be finished", op["id"])
    finally:
        emu.blob = blob


def save(emu):
    """Write the state to the state directory (a new file, then renamed over the old one)."""
    with emu.lock:
        text = json.dumps(
            {
                "format": FORMAT,
                "saved_at": time.time(),
                "urls": urls(emu),
                "state": emu.state.data,
                "keys": emu.keys.dump(),
                "blob_names": sorted(emu.blob.ever_registered) if emu.blob else [],
            }
        )
    path = os.path.join(emu.state_dir, STATE_FILE)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


class Saver:
    """Saves the state SAVE_DELAY after a change (``changed()``), in a thread of its own."""

    def __init__(self, emu):
        self.emu = emu
        self.dirty = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="emu-state-saver", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def changed(self):
        self.dirty.set()

    def stop(self):
        self.stopping.set()
        self.dirty.set()
        self.thread.join(timeout=10)

    def _run(self):
        while True:
            self.dirty.wait()
            if self.stopping.is_set():
                return
            # changes come in bursts (a request, its LRO polls): one save for them
            if self.stopping.wait(SAVE_DELAY):
                return
            self.dirty.clear()
            try:
                save(self.emu)
            except Exception:  # pylint: disable=broad-except
                _logger.exception("The sandbox state could not be saved in %s", self.emu.state_dir)
