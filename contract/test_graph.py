"""Microsoft Graph's answers to the group-overage path of the sign-in
(oec_auth_azure services/entra.py), and the scopes of a token asked for the
OpenID Connect scopes only."""

import pytest
from replay import load

from odoo.addons.oec_auth_azure.services import entra

PAGES = "/v1.0/me/transitiveMemberOf"


def _client(replay):
    return entra.EntraClient(replay.base, "organizations", ca_bundle=replay.ca_path, timeout=5)


def test_groups_follow_next_links_to_the_last_page(replay):
    recorded = replay.serve("graph/transitive_member_of_pages")["exchanges"]
    groups = _client(replay).graph_groups(replay.base, "recorded-access-token")
    members = [item for exchange in recorded for item in exchange["body"]["value"]]
    expected = [item["id"].lower() for item in members if item["@odata.type"] == "#microsoft.graph.group"]
    # the directory role and the administrative unit are no groups
    assert groups == expected and len(groups) == 3 and len(members) == 5
    first, second = replay.requests
    assert (first["path"], first["query"]) == (PAGES, {"$select": "id", "$top": "999"})
    # no OData cast: no advanced query (ConsistencyLevel: eventual), whose index may lag
    assert "ConsistencyLevel" not in first["headers"]
    # the next link as Graph wrote it, token included
    assert second["path"] == PAGES
    assert second["query"]["$skiptoken"] == recorded[1]["query"]["$skiptoken"]
    assert {r["headers"]["Authorization"] for r in replay.requests} == {"Bearer recorded-access-token"}


def test_next_link_to_another_host_is_not_followed(replay):
    fixture = load("graph/transitive_member_of_pages")
    page = fixture["exchanges"][0]
    page["body"]["@odata.nextLink"] = "https://graph.example.test/v1.0/me/transitiveMemberOf?$skiptoken=x"
    replay.serve(dict(fixture, exchanges=[page]))
    with pytest.raises(entra.EntraError) as caught:
        _client(replay).graph_groups(replay.base, "recorded-access-token")
    assert caught.value.code == "graph_unexpected"
    assert len(replay.requests) == 1  # the token went to Graph only


@pytest.mark.parametrize(
    "fixture, status, code",
    [
        # the token lacks User.Read (and every other permission that allows it)
        ("transitive_member_of_forbidden", 403, "graph_refused"),
        # Graph does not take the token at all
        ("transitive_member_of_expired_token", 401, "graph_unauthorized"),
    ],
)
def test_graph_refusals(replay, fixture, status, code):
    recorded = replay.serve("graph/" + fixture)["exchanges"][0]
    assert recorded["status"] == status
    with pytest.raises(entra.EntraError) as caught:
        _client(replay).graph_groups(replay.base, "recorded-access-token")
    assert caught.value.code == code
    assert len(replay.requests) == 1


def test_oidc_scopes_give_no_user_read(replay):
    """A code redeemed for `openid profile email` gives a token with those
    permissions only: Graph refuses it the user's groups. A sign-in that may
    need them asks for User.Read too."""
    granted = replay.serve("entra/token_oidc_scopes")["access_token_claims"]
    replay.serve("graph/transitive_member_of_forbidden")
    client = _client(replay)
    answer = client.redeem({"grant_type": "authorization_code", "code": "c", "scope": "openid profile email"})
    assert answer["scope"] == granted["scp"] == "openid profile email"
    with pytest.raises(entra.EntraError) as caught:
        client.graph_groups(replay.base, answer["access_token"])
    assert caught.value.code == "graph_refused"
    token, graph = replay.requests
    assert token["path"] == "/organizations/oauth2/v2.0/token"
    assert graph["headers"]["Authorization"] == "Bearer recorded-graph-access-token"
    # what the sign-in asks for when it may read groups
    assert entra.groups_scope("openid profile email") == "openid profile email User.Read"


@pytest.mark.parametrize(
    "scope",
    [
        "openid profile email user.read",
        "openid profile email GroupMember.Read.All",
        "openid profile email https://graph.microsoft.com/User.Read",
        # static consent cannot be mixed with named permissions
        "openid profile email https://graph.microsoft.com/.default",
        # a token for one resource only: another API's scope is left alone
        "openid profile email api://00001111-aaaa-2222-bbbb-3333cccc4444/read",
    ],
)
def test_groups_scope_leaves_alone(scope):
    assert entra.groups_scope(scope) == scope
