"""The emulator gone and back (suspend/resume), and the list of every secret it handed out."""

import socket

import pytest
import requests
from azure_emulator import defaults as d
from azure_emulator.testing import start_emulator
from conftest import make_msal_app
from test_entra import REDIRECT, _authorize


def test_suspended_emulator_refuses_connections_then_comes_back_with_its_state():
    emu = start_emulator(azurite=False)
    try:
        session = requests.Session()
        session.trust_env = False
        session.verify = emu.ca_path
        url = emu.url + "/common/discovery/instance"
        emu.control.add_user(email="kept@" + d.TENANT_DOMAIN)
        # a connection kept alive from before the outage
        assert session.get(emu.url + "/_emulator/state", timeout=5).status_code == 200
        port = int(emu.url.rsplit(":", 1)[1])
        emu.suspend()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(url, timeout=5)
        emu.resume()
        assert emu.url.endswith(":%d" % port), "the same address"
        users = session.get(emu.url + "/_emulator/state", timeout=5).json()["users"]
        assert any(u["email"] == "kept@" + d.TENANT_DOMAIN for u in users.values())
    finally:
        emu.stop()


def test_issued_secrets_lists_codes_tokens_keys_and_client_secrets_across_resets(emu, http):
    app = make_msal_app(emu, http)
    flow = app.initiate_auth_code_flow([d.ARM_USER_IMPERSONATION], redirect_uri=REDIRECT)
    emu.control.set_auto_consent(d.USER_EMAIL)
    answer = _authorize(http, flow)
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    minted = emu.control.issue_token()["access_token"]
    emu.control.reset()
    issued = {(s["kind"], s["value"]) for s in emu.control.issued_secrets()}
    assert ("code", answer["code"]) in issued
    assert ("refresh_token", result["refresh_token"]) in issued
    assert ("jwt", result["access_token"]) in issued
    assert ("jwt", result["id_token"]) in issued
    assert ("jwt", minted) in issued
    assert ("client_secret", d.CLOUD_CLIENT_SECRET) in issued
    assert ("client_secret", d.SIGNIN_CLIENT_SECRET) in issued
