"""App roles, groups (with overage), Graph transitive membership, sign-out
and front-channel logout, through the real MSAL client over HTTPS."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from azure_emulator import defaults as d
from conftest import contract_fixture, make_msal_app

REDIRECT = "http://localhost:8069/auth_oauth/signin"


def _claims(token):
    return jwt.decode(token, options={"verify_signature": False})


def _code_flow(emu, http, user=d.USER_EMAIL):
    app = make_msal_app(emu, http, d.SIGNIN_CLIENT_ID, d.SIGNIN_CLIENT_SECRET)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    response = http.get(flow["auth_uri"] + "&emu_user=" + user, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    answer = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    assert "id_token_claims" in result, result
    return result


def _implicit(emu, http, user=d.USER_EMAIL):
    query = urlencode(
        {
            "client_id": d.SIGNIN_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "response_type": "id_token token",
            "scope": "openid profile email",
            "nonce": "n-1",
            "emu_user": user,
        }
    )
    url = "%s/%s/oauth2/v2.0/authorize?%s" % (emu.endpoints["authority_host"], d.TENANT_ID, query)
    response = http.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).fragment).items()}


def _groups(emu, count):
    return [emu.control.add_group(name="Group %d" % i)["id"] for i in range(count)]


def test_roles_direct_and_through_a_group(emu, http):
    assert "roles" not in _code_flow(emu, http)["id_token_claims"]
    (sales,) = _groups(emu, 1)
    emu.control.update_user(d.USER_OID, app_roles={d.SIGNIN_CLIENT_ID: ["Odoo.User"]}, groups=[sales])
    emu.control.update_app(d.SIGNIN_CLIENT_ID, group_roles={sales: ["Odoo.Sales"]})
    claims = _code_flow(emu, http)["id_token_claims"]
    assert claims["roles"] == ["Odoo.User", "Odoo.Sales"]
    assert "groups" not in claims, "no groups claim unless the app asks for it"
    # roles belong to one application: the other app's tokens carry none
    other = make_msal_app(emu, http)
    flow = other.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    response = http.get(flow["auth_uri"] + "&emu_user=" + d.USER_EMAIL, allow_redirects=False, timeout=10)
    answer = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    assert "roles" not in other.acquire_token_by_auth_code_flow(flow, answer)["id_token_claims"]


def test_groups_claim_transitive_and_overage(emu, http):
    parent = emu.control.add_group(name="All staff")["id"]
    child = emu.control.add_group(name="Sales", member_of=[parent], members=[d.USER_EMAIL])["id"]
    emu.control.update_app(d.SIGNIN_CLIENT_ID, groups_claim=True, group_overage_limit=3)
    claims = _code_flow(emu, http)["id_token_claims"]
    assert claims["groups"] == [child, parent]
    assert "groups" not in _code_flow(emu, http, d.SECOND_USER_EMAIL)["id_token_claims"]
    # over the limit: the code flow's JWT names Graph instead of listing groups
    more = _groups(emu, 3)
    emu.control.update_user(d.USER_OID, groups=[child] + more)
    claims = _code_flow(emu, http)["id_token_claims"]
    assert "groups" not in claims
    assert claims["_claim_names"] == {"groups": "src1"}
    assert "getMemberObjects" in claims["_claim_sources"]["src1"]["endpoint"]
    # the implicit flow's limit is 6: 5 groups are listed, 7 give hasgroups
    emu.control.update_app(d.SIGNIN_CLIENT_ID, group_overage_limit=200)
    assert len(_claims(_implicit(emu, http)["id_token"])["groups"]) == 5
    emu.control.update_user(d.USER_OID, groups=[child] + more + _groups(emu, 2))
    implicit = _claims(_implicit(emu, http)["id_token"])
    assert implicit["hasgroups"] is True and "groups" not in implicit
    assert len(_code_flow(emu, http)["id_token_claims"]["groups"]) == 7


def test_graph_transitive_member_of_paged(emu, http):
    parent = emu.control.add_group(name="All staff")["id"]
    direct = [emu.control.add_group(name="G%d" % i, member_of=[parent])["id"] for i in range(4)]
    emu.control.update_user(d.USER_OID, groups=direct)
    token = _code_flow(emu, http)["access_token"]
    assert "User.Read" in _claims(token)["scp"].split()
    url = emu.endpoints["graph"] + "/v1.0/me/transitiveMemberOf?$top=2"
    seen = []
    while url:
        page = http.get(url, headers={"Authorization": "Bearer " + token}, timeout=10)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["value"]) <= 2
        seen += [item["id"] for item in body["value"]]
        url = body.get("@odata.nextLink")
    assert seen == direct + [parent]
    # no token, or a token without a permission that allows it
    assert http.get(emu.endpoints["graph"] + "/v1.0/me/transitiveMemberOf", timeout=10).status_code == 401
    arm = emu.control.issue_token(user=d.USER_EMAIL, scope=d.ARM_SCOPE)["access_token"]
    refused = http.get(
        emu.endpoints["graph"] + "/v1.0/me/transitiveMemberOf",
        headers={"Authorization": "Bearer " + arm},
        timeout=10,
    )
    assert refused.status_code == 401  # an ARM token is not for Graph
    # the OData cast is an advanced query: ConsistencyLevel: eventual and $count=true, or 400
    cast = emu.endpoints["graph"] + "/v1.0/me/transitiveMemberOf/microsoft.graph.group"
    bearer = {"Authorization": "Bearer " + token}
    plain = http.get(cast, headers=bearer, timeout=10)
    assert plain.status_code == 400 and plain.json()["error"]["code"] == "Request_UnsupportedQuery"
    advanced = http.get(cast + "?$count=true", headers=dict(bearer, ConsistencyLevel="eventual"), timeout=10)
    assert advanced.status_code == 200 and len(advanced.json()["value"]) == 5


def _graph_error(response):
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"], sorted(body["innerError"])


def _recorded_error(name):
    (recorded,) = contract_fixture("graph/" + name)["exchanges"]
    error = recorded["body"]["error"]
    return recorded["status"], error["code"], error["message"], sorted(error["innerError"])


def test_graph_answers_like_the_recorded_ones(emu, http):
    """Graph's paging, its 403 to a token without User.Read and its 401 to an
    expired token, as the contract's recorded answers."""
    url = emu.endpoints["graph"] + "/v1.0/me/transitiveMemberOf?$select=id&$top=999"
    emu.control.update_user(d.USER_OID, groups=_groups(emu, 3))
    # a token asked for the OpenID Connect scopes only: the real path to the 403
    oidc = _implicit(emu, http)["access_token"]
    assert _claims(oidc)["scp"] == "openid profile email"
    forbidden = http.get(url, headers={"Authorization": "Bearer " + oidc}, timeout=10)
    assert _graph_error(forbidden) == _recorded_error("transitive_member_of_forbidden")
    expired = emu.control.issue_token(user=d.USER_EMAIL, scope="User.Read", offset=-7200)["access_token"]
    refused = http.get(url, headers={"Authorization": "Bearer " + expired}, timeout=10)
    assert _graph_error(refused) == _recorded_error("transitive_member_of_expired_token")
    assert refused.headers["WWW-Authenticate"].startswith("Bearer ")
    # with User.Read: pages of the recorded shape
    token = _code_flow(emu, http)["access_token"]
    first = http.get(url.replace("999", "2"), headers={"Authorization": "Bearer " + token}, timeout=10)
    (page, last) = contract_fixture("graph/transitive_member_of_pages")["exchanges"]
    assert sorted(first.json()) == sorted(page["body"])
    assert set(first.json()["value"][0]) >= {"@odata.type", "id"}
    second = http.get(
        first.json()["@odata.nextLink"], headers={"Authorization": "Bearer " + token}, timeout=10
    )
    assert sorted(second.json()) == sorted(last["body"])


class _Recorder(BaseHTTPRequestHandler):
    calls: ClassVar[list] = []

    def do_GET(self):
        self.calls.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_sid_end_session_and_frontchannel_logout(emu, http):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Recorder.calls = []
    try:
        url = "http://127.0.0.1:%d/logout" % server.server_address[1]
        emu.control.update_app(d.SIGNIN_CLIENT_ID, frontchannel_logout_url=url)
        first_claims = _code_flow(emu, http)["id_token_claims"]
        first = first_claims["sid"]
        second = _code_flow(emu, http)["id_token_claims"]["sid"]
        other = _claims(_implicit(emu, http, d.SECOND_USER_EMAIL)["id_token"])["sid"]
        assert len({first, second, other}) == 3
        # one session by sid
        result = emu.control.frontchannel_logout(sid=first)
        assert [c["status"] for c in result["calls"]] == [200]
        query = parse_qs(urlsplit(_Recorder.calls[-1]).query)
        assert query["sid"] == [first] and query["iss"] == ["%s/%s/v2.0" % (emu.url, d.TENANT_ID)]
        assert emu.control.frontchannel_logout(sid=first)["calls"] == [], "already ended"
        assert first_claims["login_hint"].endswith(first)
        # the end_session_endpoint with a logout_hint ends that user's sessions only
        discovery = http.get(
            "%s/%s/v2.0/.well-known/openid-configuration" % (emu.url, d.TENANT_ID), timeout=10
        ).json()
        end = discovery["end_session_endpoint"]
        assert end.startswith(emu.endpoints["interactive_authority_host"])
        answer = http.get(
            end
            + "?"
            + urlencode(
                {
                    "client_id": d.SIGNIN_CLIENT_ID,
                    "post_logout_redirect_uri": "http://localhost:8069/web/login",
                    "logout_hint": d.USER_EMAIL,
                }
            ),
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302 and answer.headers["Location"] == "http://localhost:8069/web/login"
        assert parse_qs(urlsplit(_Recorder.calls[-1]).query)["sid"] == [second]
        assert set(emu.control.state()["sessions"]) == {other}
        # a post-logout URI the app does not know is refused, not followed
        emu.control.update_app(d.SIGNIN_CLIENT_ID, redirect_uris=[REDIRECT])
        bad = http.get(
            end
            + "?"
            + urlencode({"client_id": d.SIGNIN_CLIENT_ID, "post_logout_redirect_uri": "https://evil.test/"}),
            allow_redirects=False,
            timeout=10,
        )
        assert bad.status_code == 400 and "AADSTS50011" in bad.text
    finally:
        server.shutdown()
        server.server_close()
