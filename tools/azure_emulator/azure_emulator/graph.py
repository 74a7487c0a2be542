"""The Microsoft Graph calls sign-in needs: OIDC userinfo, /v1.0/me and the
user's transitive group memberships (group overage)."""

import uuid
from datetime import datetime, timezone
from urllib.parse import urlencode

from . import defaults as d
from .http import Response
from .tokens import TokenError, pairwise_sub, transitive_groups

# Delegated permissions that allow /me/transitiveMemberOf (Microsoft Graph
# reference, "List a user's memberships (direct and transitive)", from least to
# most privileged), compared without case.
MEMBERSHIP_SCOPES = (
    "user.read",
    "user.read.all",
    "groupmember.read.all",
    "group.read.all",
    "directory.read.all",
    "directory.readwrite.all",
)
# ... and /me (reference, "Get user": the signed-in user's profile)
PROFILE_SCOPES = (
    "user.read",
    "user.readwrite",
    "user.readbasic.all",
    "user.read.all",
    "user.readwrite.all",
    "directory.read.all",
    "directory.readwrite.all",
)
PAGE_SIZE = 100

GRAPH_AUDIENCES = (d.GRAPH_APP_ID, d.GRAPH_RESOURCE, d.GRAPH_RESOURCE.rstrip("/"))


def _user_from_bearer(req):
    auth = req.header("Authorization", "")
    if not auth.lower().startswith("bearer "):
        # Graph never reads tokens from the query string or body.
        raise TokenError("InvalidAuthenticationToken", "Access token is empty.")
    try:
        claims = req.emu.keys.verify(auth[7:].strip(), GRAPH_AUDIENCES)
    except TokenError as exc:
        # Graph has one code for every token it refuses (ARM has several)
        message = {
            "ExpiredAuthenticationToken": "Access token has expired or is not yet valid.",
            "InvalidAuthenticationTokenAudience": "Access token validation failure. Invalid audience.",
        }.get(exc.code, exc.message)
        raise TokenError("InvalidAuthenticationToken", message) from exc
    user = req.emu.state["users"].get(claims.get("oid"))
    if user is None:
        raise TokenError("InvalidAuthenticationToken", "Access token validation failure. Invalid user.")
    return claims, user


def _error(status, code, message, headers=None):
    """Graph's error body (Microsoft Learn, "Microsoft Graph error responses and resource types")."""
    request_id = str(uuid.uuid4())
    inner = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": request_id,
    }
    return Response.json(status, {"error": {"code": code, "message": message, "innerError": inner}}, headers)


def _forbidden(claims, permissions):
    """Graph's 403 when the token carries none of ``permissions`` (its ``scp``
    holds exactly what was asked for), else None."""
    if set((claims.get("scp") or "").lower().split()) & set(permissions):
        return None
    return _error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def _unauthorized(exc):
    return _error(
        401,
        exc.code,
        exc.message,
        {
            "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
            'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
        },
    )


def userinfo(req):
    try:
        claims, user = _user_from_bearer(req)
    except TokenError as exc:
        return _unauthorized(exc)
    info = {
        "sub": user.get("sub") or pairwise_sub(user["oid"], claims["appid"]),
        "name": user["name"],
        "family_name": user["family_name"],
        "given_name": user["given_name"],
        "picture": req.emu.url + "/v1.0/me/photo/$value",
    }
    if user.get("email"):
        info["email"] = user["email"]
    return Response.json(200, info)


def me(req):
    try:
        claims, user = _user_from_bearer(req)
    except TokenError as exc:
        return _unauthorized(exc)
    refused = _forbidden(claims, PROFILE_SCOPES)
    if refused is not None:
        return refused
    return Response.json(
        200,
        {
            "@odata.context": req.emu.url + "/v1.0/$metadata#users/$entity",
            "id": user["oid"],
            "displayName": user["name"],
            "givenName": user["given_name"],
            "surname": user["family_name"],
            "mail": user.get("email"),
            "userPrincipalName": user["upn"],
            "businessPhones": [],
            "jobTitle": None,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": "en-US",
        },
    )


def transitive_member_of(req, cast=None):
    """GET /v1.0/me/transitiveMemberOf[/microsoft.graph.group]: paged by
    $top / @odata.nextLink ($skiptoken is an offset here). The OData cast is an
    advanced query (reference, request headers: "ConsistencyLevel: eventual. This
    header and $count are required when using the $search, $filter, $orderby, or
    OData cast query parameters"): refused without them (the message is ours, no
    recorded answer shows Graph's words)."""
    try:
        claims, user = _user_from_bearer(req)
    except TokenError as exc:
        return _unauthorized(exc)
    refused = _forbidden(claims, MEMBERSHIP_SCOPES)
    if refused is not None:
        return refused
    advanced = req.header("ConsistencyLevel", "").lower() == "eventual" and req.query.get("$count") == "true"
    if cast and not advanced:
        return _error(
            400,
            "Request_UnsupportedQuery",
            "An OData cast needs the ConsistencyLevel: eventual header and $count=true.",
        )
    groups = req.emu.state["groups"]
    ids = transitive_groups(req.emu.state, user)
    try:
        top = max(1, min(999, int(req.query.get("$top") or PAGE_SIZE)))
        skip = max(0, int(req.query.get("$skiptoken") or 0))
    except ValueError:
        return Response.json(400, {"error": {"code": "BadRequest", "message": "Invalid paging value."}})
    page = ids[skip : skip + top]
    body = {
        "@odata.context": req.emu.url + "/v1.0/$metadata#directoryObjects",
        "value": [
            {
                "@odata.type": "#microsoft.graph.group",
                "id": gid,
                "displayName": (groups.get(gid) or {}).get("displayName") or gid,
            }
            for gid in page
        ],
    }
    if skip + top < len(ids):
        body["@odata.nextLink"] = "%s%s?%s" % (
            req.emu.url,
            req.path,
            urlencode({"$top": top, "$skiptoken": skip + top}),
        )
    return Response.json(200, body)


def register(router):
    router.add("GET", r"/v1\.0/me/transitiveMemberOf(/microsoft\.graph\.group)?", transitive_member_of)
    router.add("GET POST", r"/oidc/userinfo", userinfo)
    router.add("GET", r"/v1\.0/me", me)
