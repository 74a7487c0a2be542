"""Blob Storage: an Azurite child process behind a TLS proxy of ours.

Why a proxy: it gives the blob endpoint our CA-signed HTTPS, lets fault
injection and account settings (allowSharedKeyAccess, network rules) apply to
data-plane calls, and keeps Azurite on a loopback port nobody else uses.
Accounts created through ARM are pushed to Azurite live through the wrapper
script (stdin), so the key ARM's listKeys returns is the key Azurite checks.
"""

import base64
import hashlib
import hmac
import http.client
import os
import shutil
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

from . import arm_storage, blob_auth, blob_immutability, blob_versions
from .http import HOP_HEADERS, Response

NPM_HINT = "npm ci --prefix tools/azure_emulator"
API_VERSION = "2021-08-06"


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def node_modules_dir():
    env = os.environ.get("AZURE_EMULATOR_NODE_MODULES")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "node_modules"


class BlobService:
    """``location``: the folder where Azurite keeps its data (the sandbox's state
    directory, see persist.py); None: in memory, gone when it stops (tests)."""

    def __init__(self, emu, workdir, location=None):
        self.emu = emu
        self.workdir = workdir
        self.location = location
        self.port = None
        self.process = None
        self.accounts = {}
        self.ever_registered = set()
        self._ready = threading.Event()
        self._acks = {}
        self._ack_cond = threading.Condition()
        self._seq = 0
        self._output = []
        self._local = threading.local()
        self._write_lock = threading.Lock()
        # previous versions' bytes (blob_versions.py): beside Azurite's data, else in the workdir
        self.versions_dir = os.path.join(
            os.path.dirname(str(location)) if location else workdir, "blob_versions"
        )

    # -- process ---------------------------------------------------------------------------------

    def spawn(self):
        node = shutil.which("node")
        modules = node_modules_dir()
        if node is None or not (modules / "azurite").is_dir():
            raise RuntimeError("Azurite is not installed (need node and %s): run `%s`" % (modules, NPM_HINT))
        self.port = free_port()
        env = dict(os.environ, NODE_PATH=str(modules), AZURITE_ACCOUNTS="")
        cmd = [
            node,
            str(Path(__file__).with_name("azurite_wrapper.js")),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
            *(("--location", str(self.location)) if self.location else ("--inMemoryPersistence",)),
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
            "--loose",
        ]
        self.process = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env=env,
        )
        threading.Thread(target=self._read_output, name="emu-azurite-out", daemon=True).start()

    def _read_output(self):
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self._output = (self._output + [line])[-50:]
            if "successfully listens on" in line:
                self._ready.set()
            elif line.startswith("EMU-ACK "):
                with self._ack_cond:
                    self._acks[int(line.split()[1])] = True
                    self._ack_cond.notify_all()
        self._ready.set()

    def wait_ready(self, timeout=20):
        self._ready.wait(timeout)
        if self.process.poll() is not None or not self._ready.is_set():
            raise RuntimeError("Azurite did not start: %s" % "\n".join(self._output))
        # The HTTP server may still be binding right after the log line.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("Azurite port %s never opened" % self.port)

    def stop(self):
        proc, self.process = self.process, None
        if proc is None:
            return
        try:
            proc.stdin.close()  # the wrapper exits on EOF
        except OSError:
            pass  # Already exited.
        try:
            # with data on disk Azurite first closes its stores (the wrapper then exits)
            proc.wait(timeout=8 if self.location else 3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=3)
        if proc.stdout:
            proc.stdout.close()

    # -- accounts --------------------------------------------------------------------------------

    def set_accounts(self, accounts):
        """Replace Azurite's account list with ``{name: [key1, key2]}``."""
        accounts = {name: list(keys) for name, keys in accounts.items()}
        if accounts == self.accounts:
            return  # Nothing changes (e.g. a reset with no account): skip the round trip.
        self.accounts = accounts
        value = ";".join("%s:%s" % (name, ":".join(keys)) for name, keys in self.accounts.items())
        with self._write_lock:
            self._seq += 1
            seq = self._seq
            self.process.stdin.write(("ACCOUNTS %d %s\n" % (seq, value)).encode())
            self.process.stdin.flush()
        with self._ack_cond:
            if not self._ack_cond.wait_for(lambda: seq in self._acks, timeout=10):
                raise RuntimeError("Azurite did not take the new account list")
            self._acks.pop(seq, None)

    def restore(self, accounts, names):
        """At a start from a saved state (persist.py): Azurite's accounts ``{name: keys}``
        (their data is in its location already), and the ``names`` it ever had."""
        self.ever_registered = set(names) | set(accounts)
        self.set_accounts(accounts)

    def register(self, name, keys):
        """Add account ``name`` or give it new keys (regenerateKey keeps its data)."""
        created = name not in self.accounts
        self.set_accounts({**self.accounts, name: keys})
        if created and name in self.ever_registered:
            # Azurite keeps data per account name: a re-created account starts empty.
            blob_versions.forget_account(self.emu, self, name)
            for container in self.list_containers(name):
                self.request(name, "DELETE", "/" + container, {"restype": "container"})
        self.ever_registered.add(name)

    def unregister(self, name):
        if name in self.accounts:
            accounts = dict(self.accounts)
            accounts.pop(name)
            self.set_accounts(accounts)

    # -- direct calls (ARM blob container operations) -------------------------------------------

    def request(self, account, method, path, query=None, headers=None, body=b""):
        """A SharedKey-signed call straight to Azurite (no proxy, no faults)."""
        status, _headers, body = self._direct(account, method, path, query, headers, body)
        return status, body

    def fetch(self, account, path, sink):
        """Get Blob straight from Azurite, its bytes copied to ``sink`` (a file) in chunks:
        (status, {lower-case header: value})."""
        status, headers, _body = self._direct(account, "GET", path, sink=sink)
        return status, headers

    def _direct(self, account, method, path, query=None, headers=None, body=b"", sink=None):
        key = self.accounts[account][0]
        query = dict(query or {})
        headers = dict(headers or {})
        headers.update({"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION})
        full_path = "/%s%s" % (account, quote(path))
        canonical_headers = "".join(
            "%s:%s\n" % (k.lower(), v.strip())
            for k, v in sorted(headers.items(), key=lambda kv: kv[0].lower())
            if k.lower().startswith("x-ms-")
        )
        canonical_resource = "/%s%s" % (account, full_path) + "".join(
            "\n%s:%s" % (k.lower(), v) for k, v in sorted(query.items(), key=lambda kv: kv[0].lower())
        )
        length = str(len(body)) if body else ""
        to_sign = (
            "\n".join([method, "", "", length, "", headers.get("Content-Type", ""), "", "", "", "", "", ""])
            + "\n"
            + canonical_headers
            + canonical_resource
        )
        signature = base64.b64encode(
            hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()
        )
        headers["Authorization"] = "SharedKey %s:%s" % (account, signature.decode())
        target = full_path + (
            "?" + "&".join("%s=%s" % (k, quote(str(v), safe="")) for k, v in query.items()) if query else ""
        )
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, target, body=body or None, headers=headers)
            resp = conn.getresponse()
            answered = {name.lower(): value for name, value in resp.getheaders()}
            if sink is None or resp.status != 200:
                return resp.status, answered, resp.read()
            shutil.copyfileobj(resp, sink, 1 << 20)
            return resp.status, answered, b""
        finally:
            conn.close()

    def list_containers(self, account):
        status, body = self.request(account, "GET", "/", {"comp": "list"})
        if status != 200:
            return []
        return [el.text for el in ET.fromstring(body).iter("Name") if el.text]

    # -- proxy -----------------------------------------------------------------------------------

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        return conn

    def _versions_before(self, req, parts, account, settings, checked):
        """Immutability policies and blob versioning (Azurite has neither, the proxy keeps them):
        (what ``blob_versions.after`` needs, a version made before the write, an answer)."""
        # version-level immutability: Azurite has none, the proxy keeps the policies
        answer = blob_immutability.answer(self.emu, req, account, settings)
        if answer is not None:
            return None, None, answer
        _account, container, blob = blob_auth.split_path(parts.path)
        if not blob_versions.applies(settings, container):
            return None, None, None
        query = dict(parse_qsl(req.query_string or parts.query, keep_blank_values=True))
        answer = blob_versions.answer(self.emu, self, req, account, settings, container, blob, query, checked)
        if answer is not None:
            return None, None, answer
        pending = blob_versions.before(self.emu, self, req, account, container, blob, query)
        return (container, blob, query), pending, None

    def proxy(self, req):
        parts = urlsplit(req.target)
        account = parts.path.lstrip("/").split("/", 1)[0]
        # a SAS someone made with a key we issued: its signature is a secret too
        sig = dict(parse_qsl(req.query_string)).get("sig")
        if sig:
            self.emu.remember("sas_signature", sig)
        with self.emu.lock:
            settings = arm_storage.data_plane_settings(self.emu, account)
        target, overrides = req.target, {}
        versioned = pending = None
        if settings is not None:
            if settings["deny_network"]:
                return blob_auth.storage_error(
                    403, "AuthorizationFailure", "This request is not authorized to perform this operation."
                )
            outcome = blob_auth.authorize(self.emu, req, account, settings)
            if outcome.refusal is not None:
                return outcome.refusal
            if outcome.answer is not None:
                return outcome.answer
            if outcome.forward_query is not None:
                # checked here: Azurite gets the request with an account SAS instead
                target = parts.path + "?" + outcome.forward_query
                overrides = outcome.overrides
            checked = outcome.forward_query is not None
            versioned, pending, answer = self._versions_before(req, parts, account, settings, checked)
            if answer is not None:
                return answer
        headers = {
            k: v
            for k, v in req.headers.items()
            if k.lower() not in HOP_HEADERS
            and k.lower() != "host"
            and not (target is not req.target and k.lower() == "authorization")
        }
        headers["Host"] = "127.0.0.1:%s" % self.port
        # what the client used (our TLS listener), for Azurite's SAS protocol check (spr=https)
        headers["X-Forwarded-Proto"] = "https"
        if req.body or req.method in ("PUT", "POST"):
            headers["Content-Length"] = str(len(req.body))
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(req.method, target, body=req.body or None, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                break
            except (http.client.HTTPException, OSError):
                # A pooled keep-alive connection Azurite closed: retry once fresh.
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        out = Response(resp.status, body)
        for name, value in resp.getheaders():
            if name.lower() not in HOP_HEADERS:
                out.headers[name] = value
        if resp.status < 300:
            out.headers.update(overrides)
        self._record(req, account, settings, out, versioned, pending)
        return out

    def _record(self, req, account, settings, out, versioned, pending):
        """After Azurite answered: the policies and versions it changed."""
        if settings is not None and out.status < 300:
            blob_immutability.record(self.emu, req, account, out)
        if versioned is not None:
            blob_versions.after(self.emu, self, req, account, *versioned, out, pending)
