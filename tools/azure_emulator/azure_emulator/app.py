"""The emulator process: listeners, routing, fault injection, lifecycle."""

import collections
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid

from . import (
    arm_authorization,
    arm_compute,
    arm_core,
    arm_dns,
    arm_network,
    arm_storage,
    arm_versions,
    control,
    entra,
    graph,
    managed_identity,
    persist,
    prices,
)
from .blob import BlobService
from .certs import write_tls_material
from .http import HttpError, Listener, Response, Router, server_ssl_context
from .state import State
from .tokens import KeyRing

_logger = logging.getLogger(__name__)


def classify(req):
    if req.listener == "blob":
        return "blob"
    path = req.path.lower()
    if path.startswith("/_emulator"):
        return "control"
    if path.startswith(("/subscriptions", "/tenants", "/providers")):
        return "arm"
    if path.startswith("/api/retail"):
        return "prices"
    if path.startswith(("/oidc/", "/v1.0/")):
        return "graph"
    return "entra"


class Emulator:
    """One emulator instance. ``options`` seed the sandbox (see state.seed):
    signin/cloud client ids and secrets, redirect_uris, config overrides.
    ``state_dir``: keep the state there across restarts (persist.py; the
    sandbox of `make run`), else it lives in memory only (tests)."""

    def __init__(
        self, host="127.0.0.1", port=0, http_port=0, blob_port=0, azurite=True, options=None, state_dir=None
    ):
        self.host = host
        self.state_dir = os.path.abspath(state_dir) if state_dir else None
        self.saver = None
        self.ports = {"https": port, "http": http_port, "blob": blob_port}
        self.use_azurite = azurite
        self.instance_id = str(uuid.uuid4())
        self.state = State(options)
        self.lock = threading.RLock()
        self.op_callbacks = {}
        # Resource type -> callable(resource) run when a resource group delete
        # removes it (e.g. unregister a storage account from Azurite).
        self.delete_hooks = {}
        self.request_log = collections.deque(maxlen=2000)
        # "METHOD /path" of every ARM request that may start or change something -> how many
        # (control API /counters; the request log is bounded, these are not)
        self.operation_counts = collections.Counter()
        # hold faults: fault id -> control.Hold (requests kept waiting until released)
        self.holds = {}
        # every secret handed out since start (value -> kind), kept across reset(): what a
        # test run checks its logs and messages against (issued_secrets())
        self.issued = {}
        # suspend(): gone, even for a connection kept alive from before
        self.suspended = False
        # a request still answering (a delay fault) when reset() runs is not logged after it
        self.generation = 0
        self.router = Router()
        for module in (
            entra,
            graph,
            arm_core,
            arm_authorization,
            arm_compute,
            arm_network,
            arm_storage,
            arm_dns,
            prices,
            managed_identity,
        ):
            module.register(self.router)
        arm_storage.setup(self)
        self.control_router = Router()
        control.register(self.control_router)
        self.listeners = {}
        self.keys = None
        self.blob = None
        self.workdir = None
        self.ca_path = None
        self.started = False

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self):
        t0 = time.monotonic()
        self.workdir = tempfile.mkdtemp(prefix="azure-emulator-")
        saved = None
        try:
            if self.state_dir:
                os.makedirs(os.path.join(self.state_dir, "azurite"), exist_ok=True)
                saved = persist.read(self.state_dir)
            if self.use_azurite:
                # Node needs ~1.3 s to load Azurite: start it first and make
                # our keys meanwhile (the proxy, not Azurite, speaks TLS).
                location = os.path.join(self.state_dir, "azurite") if self.state_dir else None
                self.blob = BlobService(self, self.workdir, location)
                self.blob.spawn()
            tls = os.path.join(self.state_dir, "tls") if self.state_dir else self.workdir
            self.ca_path, cert, key = write_tls_material(tls, reuse=bool(self.state_dir))
            context = server_ssl_context(cert, key)
            self.keys = KeyRing(saved and saved.get("keys"))
            self.keys.on_sign = lambda token: self.remember("jwt", token)
            self.listeners["https"] = Listener(self, "https", self.host, self.ports["https"], context)
            self.listeners["http"] = Listener(self, "http", self.host, self.ports["http"])
            if self.blob:
                self.listeners["blob"] = Listener(self, "blob", self.host, self.ports["blob"], context)
            for listener in self.listeners.values():
                listener.start()
            if self.blob:
                self.blob.wait_ready()
            if saved:
                persist.restore(self, saved)
            if self.state_dir:
                self.saver = persist.Saver(self).start()
        except BaseException:
            self.stop()
            raise
        self.started = True
        _logger.info("Azure emulator started in %.2fs at %s", time.monotonic() - t0, self.url)
        return self

    def stop(self):
        if self.saver:
            # the last word: what is in progress ends, everything is written (persist.py)
            self.saver.stop()
            self.saver = None
            try:
                with self.lock:
                    persist.finish_operations(self)
                persist.save(self)
            except Exception:  # pylint: disable=broad-except
                _logger.exception("The sandbox state could not be saved in %s", self.state_dir)
        for listener in self.listeners.values():
            listener.stop()
        self.listeners = {}
        if self.blob:
            self.blob.stop()
            self.blob = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        self.started = False

    def suspend(self):
        """The emulator gone: its listeners stop (connections are refused) and keep their
        ports for resume(), as a restarted service comes back at the same address."""
        self.suspended = True
        for listener in self.listeners.values():
            listener.stop()

    def resume(self):
        """Back after suspend(), on the same ports, with the same state."""
        for name, listener in list(self.listeners.items()):
            if listener.thread is not None and listener.thread.is_alive():
                continue
            fresh = Listener(self, name, self.host, listener.port, listener.ssl_context)
            self.listeners[name] = fresh
            fresh.start()
        self.suspended = False

    def reset(self):
        with self.lock:
            self.state.reset()
            self.op_callbacks.clear()
            self.keys.reset()
            self.request_log.clear()
            self.operation_counts.clear()
            self.generation += 1
            held = list(self.holds.values())
            self.holds = {}
            if self.blob:
                self.blob.set_accounts({})
        for hold in held:
            hold.event.set()
        if self.saver:
            self.saver.changed()

    # -- secrets handed out ------------------------------------------------------------------------

    def remember(self, kind, value):
        """Note a secret this emulator handed out (a token, a code, a key, a client secret, a
        SAS signature it was shown): ``issued_secrets()`` lists them all."""
        if value:
            self.issued.setdefault(value, kind)

    def issued_secrets(self):
        """[{"kind", "value"}] of every secret handed out since start, resets included,
        plus the client secrets of the applications registered now."""
        with self.lock:
            for app in self.state["apps"].values():
                for secret in app.get("secrets") or ():
                    self.remember("client_secret", secret)
            return [{"kind": kind, "value": value} for value, kind in self.issued.items()]

    # -- addresses ---------------------------------------------------------------------------------

    def _base(self, name, scheme):
        return "%s://%s:%s" % (scheme, self.host, self.listeners[name].port)

    @property
    def url(self):
        return self._base("https", "https")

    @property
    def http_url(self):
        return self._base("http", "http")

    @property
    def blob_url(self):
        return self._base("blob", "https") if "blob" in self.listeners else None

    def endpoints(self):
        from . import defaults as d

        return {
            "authority_host": self.url,
            "interactive_authority_host": self.http_url,
            "arm": self.url,
            "arm_scope": d.ARM_SCOPE,
            "arm_user_impersonation": d.ARM_USER_IMPERSONATION,
            "graph": self.url,
            "userinfo": self.url + "/oidc/userinfo",
            "userinfo_http": self.http_url + "/oidc/userinfo",
            "blob": self.blob_url,
            "blob_endpoint_template": (self.blob_url + "/{account}/") if self.blob_url else None,
            # Path-style blob URLs: no DNS suffix exists; use primaryEndpoints.blob.
            "storage_suffix": None,
            "prices": self.url + "/api/retail/prices",
            "control": self.url + "/_emulator",
            # the host's managed identity: App Service's IDENTITY_ENDPOINT, and the instance
            # metadata service of a VM (msal: AZURE_POD_IDENTITY_AUTHORITY_HOST)
            "identity_endpoint": self.url + "/msi/token",
            "imds": self.http_url,
        }

    def describe(self):
        from . import defaults as d

        return {
            "url": self.url,
            "http_url": self.http_url,
            "blob_url": self.blob_url,
            "ca_path": self.ca_path,
            "endpoints": self.endpoints(),
            "tenant_id": d.TENANT_ID,
            "subscription_id": d.SUBSCRIPTION_ID,
            "signin_client_id": self._app_id("signin"),
            "cloud_client_id": self._app_id("cloud"),
        }

    def _app_id(self, kind):
        from . import defaults as d

        name = d.SIGNIN_APP_NAME if kind == "signin" else d.CLOUD_APP_NAME
        for app in self.state["apps"].values():
            if app["name"] == name:
                return app["client_id"]
        return None

    # -- request handling --------------------------------------------------------------------------

    def handle(self, req):
        if self.suspended:
            response = Response()
            response.drop = True
            return response
        service = classify(req)
        started = time.monotonic()
        generation = self.generation
        try:
            response = self._respond(req, service)
        except HttpError as exc:
            response = exc.response
        except Exception:
            _logger.exception("Azure emulator failed on %s %s", req.method, req.target)
            response = Response.arm_error(500, "InternalServerError", "The emulator failed; see its log.")
        if service == "arm" and req.method in ("PUT", "POST", "PATCH", "DELETE"):
            with self.lock:
                self.operation_counts["%s %s" % (req.method, req.path.lower())] += 1
        hold = getattr(req, "hold_after", None)
        if hold is not None:
            # answered (the state changed), the answer not sent yet: the client may die meanwhile
            hold.wait()
        reads = service in ("blob", "control") and req.method in ("GET", "HEAD")
        if self.saver and not reads:
            # a read of blobs or of the control API changes nothing; anything else may have changed
            # the state (a blob write: its immutability policy, its versions)
            self.saver.changed()
        # a request that began before the last reset is not part of what came after it
        if generation == self.generation:
            self.request_log.append(
                {
                    "time": time.time(),
                    "listener": req.listener,
                    "service": service,
                    "method": req.method,
                    "path": req.path,
                    "query": req.query_string,
                    "status": None if response.drop else response.status,
                    "duration": round(time.monotonic() - started, 4),
                    # preconditions sent (DNS record sets, zones): tests check clients send them
                    # how a client proved who it is at the token endpoint: "secret", "assertion"
                    # or None (entra.token): tests check no secret is sent where none should be
                    "client_auth": getattr(req, "client_auth", None),
                    "conditions": {
                        h: req.header(h) for h in ("If-Match", "If-None-Match") if req.header(h) is not None
                    },
                }
            )
        return response

    def _respond(self, req, service):
        if service == "control":
            handler, groups = self.control_router.match(req.method, req.path)
            if handler is None:
                return Response.json(404, {"error": "no such control endpoint"})
            return handler(req, *groups)
        with self.lock:
            fault = control.take_fault(self, req, service)
        if fault is not None and fault.get("hold"):
            hold = control.hold_for(self, fault, req)
            if fault["hold"] == "after":
                req.hold_after = hold
                fault = None
            else:
                # the request waits before the service sees it; released, it is served as usual
                hold.wait()
                fault = None
        if fault is not None:
            if fault.get("delay"):
                time.sleep(float(fault["delay"]))
            if fault.get("drop"):
                response = Response()
                response.drop = True
                return response
            if fault.get("status"):
                return control.fault_response(fault, service, req.path)
        if service == "blob":
            return self.blob.proxy(req)
        with self.lock:
            handler, groups, api = self.router.lookup(req.method, req.path)
            if handler is None:
                return self._no_route(req, service, groups)
            if service == "arm":
                req.claims = arm_core.authenticate(req)
                arm_versions.check(req, api)
            return handler(req, *groups)

    def _no_route(self, req, service, allowed):
        if service == "arm":
            if allowed:
                return Response.arm_error(
                    405,
                    "MethodNotAllowed",
                    "The requested resource does not support http method '%s'." % req.method,
                )
            if "/providers/" in req.path.lower():
                return Response.arm_error(
                    404,
                    "InvalidResourceType",
                    "The resource type could not be found in the "
                    "namespace for api version '%s'." % req.query.get("api-version"),
                )
            return Response.arm_error(
                404, "NotFound", "The requested resource '%s' was not found." % req.path
            )
        return Response.html(404, "<html><body><h1>404</h1><p>Not found: %s</p></body></html>" % req.path)
