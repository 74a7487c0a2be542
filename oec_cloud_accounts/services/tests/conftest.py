"""Plain pytest for ``oec_cloud_accounts/services``: no database, no registry.

Run: ``.venv/bin/python -m pytest oec_cloud_accounts/services/tests`` (``make test``
runs it as its third plain-pytest suite). The addon is imported the way Odoo
imports it, as ``odoo.addons.oec_cloud_accounts`` with this repository on the
addons path; ``services/`` itself has no ``odoo`` import. The calls go through the
real msal / azure-core pipelines over HTTPS to the emulator, which runs in this
process (started once, reset before each test), as in tools/azure_emulator/tests.
"""

import select
import socket
import socketserver
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from azure_emulator import defaults as d
from azure_emulator.testing import shared_emulator

import odoo.modules.module
from odoo.tools import config

ADDONS_DIR = str(Path(__file__).resolve().parents[3])
if ADDONS_DIR not in config["addons_path"].split(","):
    config["addons_path"] = ",".join(filter(None, [config["addons_path"], ADDONS_DIR]))
odoo.modules.module.initialize_sys_path()

# pylint: disable=wrong-import-position
from odoo.addons.oec_cloud_accounts.services import AzureIdentity

REDIRECT_URI = "http://localhost:8069/cloud_accounts/azure/callback"
SCOPES = [d.ARM_RESOURCE.rstrip("/") + "/user_impersonation"]


@pytest.fixture(scope="session")
def emu():
    return shared_emulator()


@pytest.fixture(autouse=True)
def _reset(emu):
    emu.control.reset()


@pytest.fixture
def browser(emu):
    # trust_env=False: this machine's REQUESTS_CA_BUNDLE would override verify.
    session = requests.Session()
    session.trust_env = False
    session.verify = emu.ca_path
    yield session
    session.close()


def make_identity(emu, secret=d.CLOUD_CLIENT_SECRET):
    """The cloud application, as cloud.azure.environment._identity() builds it."""
    return AzureIdentity(
        emu.endpoints["authority_host"],
        d.CLOUD_CLIENT_ID,
        secret,
        interactive_authority_host=emu.endpoints["interactive_authority_host"],
        ca_bundle=emu.ca_path,
    )


@pytest.fixture
def identity(emu):
    return make_identity(emu)


def answer_consent(browser, auth_uri, user=d.USER_EMAIL):
    """The browser's part: the emulator's answer (the fragment of its redirect) as a dict."""
    response = browser.get(auth_uri, params={"emu_user": user}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    parts = urlsplit(response.headers["Location"])
    return dict(parse_qsl(parts.query), **dict(parse_qsl(parts.fragment)))


@pytest.fixture
def signed_in(identity, browser):
    """The TokenResult of a user's sign-in (auth code + PKCE), as Add Account gets it."""
    flow = identity.start_flow(SCOPES, REDIRECT_URI, "test-state")
    return identity.redeem(flow, answer_consent(browser, flow["auth_uri"]), SCOPES)


class ConnectProxy:
    """A real HTTPS proxy on loopback (HTTP CONNECT tunnels), counting the
    tunnels it opened: proof that a client honoured HTTPS_PROXY."""

    def __init__(self):
        self.tunnels = []
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                target = head.split(b" ")[1].decode()
                proxy.tunnels.append(target)
                host, port = target.rsplit(":", 1)
                with socket.create_connection((host, int(port)), timeout=10) as upstream:
                    self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    pipe([self.request, upstream])

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def pipe(sockets):
    """Copy bytes both ways until one side closes."""
    while True:
        readable, _w, _x = select.select(sockets, [], [], 10)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (sockets[1] if sock is sockets[0] else sockets[0]).sendall(data)


@pytest.fixture
def connect_proxy():
    proxy = ConnectProxy()
    yield proxy
    proxy.close()
