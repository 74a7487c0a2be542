"""Entra ID through the real MSAL client over HTTPS."""

import hashlib
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from azure_emulator import defaults as d
from conftest import contract_fixture, make_msal_app

REDIRECT = "http://localhost:8069/auth_oauth/signin"


def _url(base, params):
    return base + "?" + urlencode(params)


def _authorize(http, flow_or_url):
    url = flow_or_url["auth_uri"] if isinstance(flow_or_url, dict) else flow_or_url
    response = http.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    parts = urlsplit(location)
    params = parse_qs(parts.fragment or parts.query)
    return {k: v[0] for k, v in params.items()}


def test_discovery_and_jwks(emu, http):
    base = emu.endpoints["authority_host"]
    config = http.get("%s/%s/v2.0/.well-known/openid-configuration" % (base, d.TENANT_ID), timeout=5).json()
    assert config["issuer"] == "%s/%s/v2.0" % (base, d.TENANT_ID)
    assert config["authorization_endpoint"].startswith(emu.endpoints["interactive_authority_host"])
    common = http.get(base + "/common/v2.0/.well-known/openid-configuration", timeout=5).json()
    assert common["issuer"] == base + "/{tenantid}/v2.0"
    by_domain = http.get(
        "%s/%s/v2.0/.well-known/openid-configuration" % (base, d.TENANT_DOMAIN), timeout=5
    ).json()
    assert by_domain["issuer"] == config["issuer"]
    keys = http.get(config["jwks_uri"], timeout=5).json()["keys"]
    assert len(keys) == 2 and all(k["kty"] == "RSA" and k["x5c"] for k in keys)


def test_auth_code_pkce_refresh_revoke_cycle(emu, http):
    started = time.monotonic()
    app = make_msal_app(emu, http)
    flow = app.initiate_auth_code_flow(
        [d.ARM_USER_IMPERSONATION], redirect_uri=REDIRECT, login_hint=d.USER_EMAIL
    )
    assert "code_challenge=" in flow["auth_uri"]
    emu.control.set_auto_consent(d.USER_EMAIL)
    result = app.acquire_token_by_auth_code_flow(flow, _authorize(http, flow))
    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == d.ARM_RESOURCE and claims["tid"] == d.TENANT_ID and claims["oid"] == d.USER_OID
    assert result["id_token_claims"]["preferred_username"] == d.USER_EMAIL
    # MSAL sends the SHA-256 of its nonce and checks the id_token against it.
    assert result["id_token_claims"]["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    first_rt = result["refresh_token"]

    refreshed = app.acquire_token_by_refresh_token(first_rt, [d.ARM_USER_IMPERSONATION])
    assert "access_token" in refreshed, refreshed
    assert refreshed["refresh_token"] != first_rt  # rotated

    emu.control.revoke_refresh_tokens(user=d.USER_EMAIL)
    revoked = make_msal_app(emu, http).acquire_token_by_refresh_token(
        refreshed["refresh_token"], [d.ARM_USER_IMPERSONATION]
    )
    assert revoked["error"] == "invalid_grant"
    assert revoked["error_codes"] == [50173]
    assert revoked["error_description"].startswith("AADSTS50173:")
    assert time.monotonic() - started < 3


def test_code_is_single_use_and_expires(emu, http):
    app = make_msal_app(emu, http)
    emu.control.set_auto_consent(d.USER_EMAIL)
    flow = app.initiate_auth_code_flow([d.ARM_USER_IMPERSONATION], redirect_uri=REDIRECT)
    params = _authorize(http, flow)
    token_url = "%s/%s/oauth2/v2.0/token" % (emu.endpoints["authority_host"], d.TENANT_ID)
    form = {
        "grant_type": "authorization_code",
        "client_id": d.CLOUD_CLIENT_ID,
        "client_secret": d.CLOUD_CLIENT_SECRET,
        "code": params["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": flow["code_verifier"],
        "scope": d.ARM_USER_IMPERSONATION,
    }
    assert http.post(token_url, data=form, timeout=5).status_code == 200
    again = http.post(token_url, data=form, timeout=5).json()
    assert again["error"] == "invalid_grant" and again["error_codes"] == [54005]

    params = _authorize(http, app.initiate_auth_code_flow([d.ARM_USER_IMPERSONATION], redirect_uri=REDIRECT))
    emu.control.expire_codes()
    expired = http.post(token_url, data=dict(form, code=params["code"]), timeout=5).json()
    assert expired["error_codes"] == [70008]


def test_token_endpoint_errors(emu, http):
    emu.control.set_auto_consent(d.USER_EMAIL)
    app = make_msal_app(emu, http)
    flow = app.initiate_auth_code_flow([d.ARM_USER_IMPERSONATION], redirect_uri=REDIRECT)
    params = _authorize(http, flow)
    token_url = "%s/%s/oauth2/v2.0/token" % (emu.endpoints["authority_host"], d.TENANT_ID)
    base = {
        "grant_type": "authorization_code",
        "client_id": d.CLOUD_CLIENT_ID,
        "code": params["code"],
        "redirect_uri": REDIRECT,
        "scope": d.ARM_USER_IMPERSONATION,
    }
    bad_secret = http.post(token_url, data=dict(base, client_secret="nope"), timeout=5)
    assert bad_secret.status_code == 401 and bad_secret.json()["error_codes"] == [7000215]
    bad_pkce = http.post(
        token_url, data=dict(base, client_secret=d.CLOUD_CLIENT_SECRET, code_verifier="x" * 43), timeout=5
    ).json()
    assert bad_pkce["error"] == "invalid_grant" and bad_pkce["error_codes"] == [501481]
    # Expired refresh token.
    emu.control.set_auto_consent(d.USER_EMAIL)
    flow = app.initiate_auth_code_flow([d.ARM_USER_IMPERSONATION], redirect_uri=REDIRECT)
    result = app.acquire_token_by_auth_code_flow(flow, _authorize(http, flow))
    emu.control.expire_refresh_tokens(user=d.USER_EMAIL)
    expired = make_msal_app(emu, http).acquire_token_by_refresh_token(
        result["refresh_token"], [d.ARM_USER_IMPERSONATION]
    )
    assert expired["error_codes"] == [700082]


@pytest.mark.parametrize("action,error,code", [("cancel", "access_denied", "65004")])
def test_user_cancel(emu, http, action, error, code):
    emu.control.set_auto_consent(d.USER_EMAIL, action=action)
    flow = make_msal_app(emu, http).initiate_auth_code_flow([d.ARM_USER_IMPERSONATION], redirect_uri=REDIRECT)
    params = _authorize(http, flow)
    assert params["error"] == error and params["error_description"].startswith("AADSTS%s:" % code)
    assert params["state"] == flow["state"]


def test_consent_page_interactive(emu, http):
    flow = make_msal_app(emu, http).initiate_auth_code_flow(
        [d.ARM_USER_IMPERSONATION], redirect_uri=REDIRECT, login_hint=d.SECOND_USER_EMAIL
    )
    page = http.get(flow["auth_uri"], timeout=5)
    assert page.status_code == 200
    for marker in ('id="emu-accept"', 'id="emu-cancel"', 'id="emu-user"', "selected>" + d.SECOND_USER_NAME):
        assert marker in page.text
    txn = page.text.split('name="txn" value="')[1].split('"')[0]
    action = urlsplit(flow["auth_uri"])
    decision = http.post(
        "%s://%s/%s/oauth2/v2.0/authorize/decision" % (action.scheme, action.netloc, d.TENANT_ID),
        data={"txn": txn, "user": d.SECOND_USER_EMAIL, "action": "accept"},
        allow_redirects=False,
        timeout=5,
    )
    assert decision.status_code == 302 and "code=" in decision.headers["Location"]


def test_authorize_errors(emu, http):
    emu.control.update_app(d.SIGNIN_CLIENT_ID, redirect_uris=["https://odoo.example.test/auth_oauth/signin"])
    base = "%s/%s/oauth2/v2.0/authorize" % (emu.endpoints["interactive_authority_host"], d.TENANT_ID)
    common = {
        "client_id": d.SIGNIN_CLIENT_ID,
        "response_type": "id_token token",
        "scope": "openid profile email",
        "nonce": "n0nce",
        "state": "s1",
        "emu_user": d.USER_EMAIL,
    }
    mismatch = http.get(base, params=dict(common, redirect_uri=REDIRECT), allow_redirects=False, timeout=5)
    assert mismatch.status_code == 400 and "AADSTS50011" in mismatch.text
    good = dict(common, redirect_uri="https://odoo.example.test/auth_oauth/signin")
    ok = _authorize(http, _url(base, good))
    assert ok["state"] == "s1" and ok["id_token"] and ok["access_token"]
    emu.control.update_app(d.SIGNIN_CLIENT_ID, implicit_id_token=False)
    refused = _authorize(http, _url(base, good))
    assert refused["error"] == "unsupported_response_type" and refused["error_description"].startswith(
        "AADSTS700054"
    )
    emu.control.update_app(d.SIGNIN_CLIENT_ID, implicit_id_token=True, consent="required")
    consent = _authorize(http, _url(base, good))
    assert consent["error"] == "consent_required" and "AADSTS65001" in consent["error_description"]
    emu.control.update_app(d.SIGNIN_CLIENT_ID, consent="admin_required")
    admin = _authorize(http, _url(base, good))
    assert "AADSTS90094" in admin["error_description"]
    emu.control.update_app(d.SIGNIN_CLIENT_ID, consent="granted")
    outsider = _authorize(http, _url(base, dict(good, emu_user=d.OTHER_USER_EMAIL)))
    assert outsider["error"] == "access_denied" and "AADSTS50020" in outsider["error_description"]


def test_form_post_and_userinfo(emu, http):
    base = "%s/%s/oauth2/v2.0/authorize" % (emu.endpoints["interactive_authority_host"], d.TENANT_ID)
    params = {
        "client_id": d.SIGNIN_CLIENT_ID,
        "response_type": "id_token token",
        "scope": "openid profile email",
        "nonce": "n",
        "redirect_uri": REDIRECT,
        "response_mode": "form_post",
        "emu_user": d.USER_EMAIL,
    }
    page = http.get(base, params=params, timeout=5)
    assert page.status_code == 200 and 'method="POST"' in page.text
    token = page.text.split('name="access_token" value="')[1].split('"')[0]
    info = http.get(emu.endpoints["userinfo"], headers={"Authorization": "Bearer " + token}, timeout=5)
    assert info.status_code == 200 and info.json()["email"] == d.USER_EMAIL
    # the OpenID Connect scopes give UserInfo, not the profile of /me (User.Read)
    me = http.get(
        emu.endpoints["graph"] + "/v1.0/me", headers={"Authorization": "Bearer " + token}, timeout=5
    )
    assert me.status_code == 403 and me.json()["error"]["code"] == "Authorization_RequestDenied"
    assert http.get(emu.endpoints["userinfo"], timeout=5).status_code == 401
    token = http.get(base, params=dict(params, scope="openid profile email User.Read"), timeout=5).text
    token = token.split('name="access_token" value="')[1].split('"')[0]
    me = http.get(
        emu.endpoints["graph"] + "/v1.0/me", headers={"Authorization": "Bearer " + token}, timeout=5
    )
    assert me.json()["id"] == d.USER_OID


def test_graph_token_has_exactly_the_scopes_asked(emu, http):
    """A code redeemed for the OpenID Connect scopes gives a Graph token with
    those only, as the contract's recorded answer says (no User.Read added)."""
    recorded = contract_fixture("entra/token_oidc_scopes")
    (answer,) = recorded["exchanges"]
    emu.control.set_auto_consent(d.USER_EMAIL)
    app = make_msal_app(emu, http, d.SIGNIN_CLIENT_ID, d.SIGNIN_CLIENT_SECRET)
    # MSAL adds openid, profile and offline_access itself
    flow = app.initiate_auth_code_flow(["email"], redirect_uri=REDIRECT)
    result = app.acquire_token_by_auth_code_flow(flow, _authorize(http, flow))
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    # in the order asked for
    assert set(claims["scp"].split()) == set(recorded["access_token_claims"]["scp"].split())
    assert claims["aud"] == recorded["access_token_claims"]["aud"]
    assert sorted(result["scope"].split()) == sorted(answer["body"]["scope"].split())
    # asked for, it is there; .default stands for the registration's Graph permissions
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    result = app.acquire_token_by_auth_code_flow(flow, _authorize(http, flow))
    scp = jwt.decode(result["access_token"], options={"verify_signature": False})["scp"]
    assert set(scp.split()) == {"User.Read", "openid", "profile"}
    emu.control.update_app(d.SIGNIN_CLIENT_ID, graph_permissions=["User.Read", "GroupMember.Read.All"])
    flow = app.initiate_auth_code_flow(["https://graph.microsoft.com/.default"], redirect_uri=REDIRECT)
    result = app.acquire_token_by_auth_code_flow(flow, _authorize(http, flow))
    scp = jwt.decode(result["access_token"], options={"verify_signature": False})["scp"].split()
    assert {"User.Read", "GroupMember.Read.All"} <= set(scp) and "offline_access" not in scp


@pytest.mark.parametrize(
    "preset", ["wrong_aud", "wrong_iss", "wrong_tid", "expired", "bad_signature", "unknown_kid"]
)
def test_id_token_corruption(emu, http, preset):
    emu.control.next_id_token_claims(preset=preset)
    base = "%s/%s/oauth2/v2.0/authorize" % (emu.endpoints["interactive_authority_host"], d.TENANT_ID)
    params = {
        "client_id": d.SIGNIN_CLIENT_ID,
        "response_type": "id_token",
        "scope": "openid email",
        "nonce": "n",
        "redirect_uri": REDIRECT,
        "emu_user": d.USER_EMAIL,
    }
    bad = _authorize(http, _url(base, params))["id_token"]
    good = _authorize(http, _url(base, params))["id_token"]
    jwks = jwt.PyJWKSet.from_dict(
        http.get(
            "%s/%s/discovery/v2.0/keys" % (emu.endpoints["authority_host"], d.TENANT_ID), timeout=5
        ).json()
    )
    issuer = "%s/%s/v2.0" % (emu.endpoints["authority_host"], d.TENANT_ID)

    def validate(token):
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in jwks.keys if k.key_id == kid)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=d.SIGNIN_CLIENT_ID, issuer=issuer)
        assert claims["tid"] == d.TENANT_ID
        return claims

    assert validate(good)["email"] == d.USER_EMAIL
    with pytest.raises((jwt.InvalidTokenError, StopIteration, AssertionError)):
        validate(bad)


def test_key_rotation(emu, http):
    keys_url = "%s/%s/discovery/v2.0/keys" % (emu.endpoints["authority_host"], d.TENANT_ID)
    before = [k["kid"] for k in http.get(keys_url, timeout=5).json()["keys"]]
    swapped = emu.control.rotate_keys()
    assert swapped["active"] == before[1]
    fresh = emu.control.rotate_keys(mode="new")
    after = [k["kid"] for k in http.get(keys_url, timeout=5).json()["keys"]]
    assert fresh["active"] not in before and fresh["active"] in after


@pytest.mark.parametrize("key", [d.USER_EMAIL, d.USER_EMAIL.upper(), d.USER_OID])
def test_update_user_by_email_or_object_id(emu, http, key):
    """The control client percent-encodes the "@" of an email: the emulator
    finds the user by email (any case) as well as by object id."""
    app = make_msal_app(emu, http)
    flow = app.initiate_auth_code_flow([d.ARM_USER_IMPERSONATION], redirect_uri=REDIRECT)
    emu.control.set_auto_consent(d.USER_EMAIL)
    result = app.acquire_token_by_auth_code_flow(flow, _authorize(http, flow))
    user = emu.control.update_user(key, password_changed=True)
    assert user["oid"] == d.USER_OID
    refused = make_msal_app(emu, http).acquire_token_by_refresh_token(
        result["refresh_token"], [d.ARM_USER_IMPERSONATION]
    )
    assert refused["error"] == "invalid_grant", refused


def test_update_unknown_user_is_404(emu):
    from azure_emulator.client import ControlError

    with pytest.raises(ControlError, match="404"):
        emu.control.update_user("nobody@example.test", password_changed=True)


def test_admin_consent_requires_scope(emu, http):
    """The v2.0 adminconsent endpoint takes the permissions asked for in ``scope``
    (Microsoft Learn, 'Admin consent on the Microsoft identity platform': required)."""
    emu.control.update_app(d.SIGNIN_CLIENT_ID, redirect_uris=[REDIRECT], consent="admin_required")
    base = "%s/%s/v2.0/adminconsent" % (emu.endpoints["interactive_authority_host"], d.TENANT_ID)
    common = {"client_id": d.SIGNIN_CLIENT_ID, "redirect_uri": REDIRECT, "state": "s2"}
    missing = http.get(base, params=common, allow_redirects=False, timeout=5)
    assert missing.status_code == 400 and "AADSTS900144" in missing.text
    granted = _authorize(http, _url(base, dict(common, scope="https://graph.microsoft.com/.default")))
    assert granted == {
        "admin_consent": "True",
        "tenant": d.TENANT_ID,
        "state": "s2",
        "scope": "https://graph.microsoft.com/.default",
    }


def _admin_consent(http, emu, **params):
    base = "%s/%s/v2.0/adminconsent" % (emu.endpoints["interactive_authority_host"], d.TENANT_ID)
    query = dict(
        {
            "client_id": d.CLOUD_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "scope": d.ARM_RESOURCE + ".default",
            "state": "oec_admin_consent:1",
        },
        **params,
    )
    return _authorize(http, _url(base, query))


def test_admin_consent_answers_like_the_recorded_ones(emu, http):
    """Who signs in on the admin-consent page (emu_user) and what they do
    (emu_action): the redirect has the parameters of the contract's answers."""

    def shape(answer):
        # which parameters, and the AADSTS code and first line of the description
        description = answer.get("error_description", "")
        return sorted(answer), description.split("\r\n")[0]

    granted = _admin_consent(http, emu, emu_user=d.USER_EMAIL)
    assert shape(granted) == shape(contract_fixture("entra/admin_consent_granted")["redirect"])
    assert granted["tenant"] == d.TENANT_ID and granted["state"] == "oec_admin_consent:1"
    cancelled = _admin_consent(http, emu, emu_user=d.USER_EMAIL, emu_action="cancel")
    assert shape(cancelled) == shape(contract_fixture("entra/admin_consent_cancelled")["redirect"])
    # a user who may not consent for the organisation: "Need admin approval", left without consent
    not_admin = _admin_consent(http, emu, emu_user=d.SECOND_USER_EMAIL)
    assert not_admin == contract_fixture("entra/admin_consent_not_admin")["redirect"]
    outsider = _admin_consent(http, emu, emu_user=d.OTHER_USER_EMAIL)
    recorded = contract_fixture("entra/admin_consent_other_tenant")["redirect"]
    assert sorted(outsider) == sorted(recorded)
    assert outsider["error_description"].startswith("AADSTS50020: User account '{EmailHidden}'")
    # nothing was granted by the refusals: the app still asks for consent
    emu.control.update_app(d.CLOUD_CLIENT_ID, consent="admin_required")
    emu.control.update_user(d.SECOND_USER_EMAIL, consent_admin=True)
    assert "error" not in _admin_consent(http, emu, emu_user=d.SECOND_USER_EMAIL)
    assert emu.control.state()["apps"][d.CLOUD_CLIENT_ID]["consent"] == "granted"
