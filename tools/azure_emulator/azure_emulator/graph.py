"""The two Microsoft Graph calls sign-in needs: OIDC userinfo and /v1.0/me."""

from . import defaults as d
from .http import Response
from .tokens import TokenError, pairwise_sub

GRAPH_AUDIENCES = (d.GRAPH_APP_ID, d.GRAPH_RESOURCE, d.GRAPH_RESOURCE.rstrip("/"))


def _user_from_bearer(req):
    auth = req.header("Authorization", "")
    if not auth.lower().startswith("bearer "):
        # Graph never reads tokens from the query string or body.
        raise TokenError("InvalidAuthenticationToken", "Access token is empty.")
    claims = req.emu.keys.verify(auth[7:].strip(), GRAPH_AUDIENCES)
    user = req.emu.state["users"].get(claims.get("oid"))
    if user is None:
        raise TokenError("InvalidAuthenticationToken", "Access token validation failure. Invalid user.")
    return claims, user


def _unauthorized(exc):
    return Response.json(
        401,
        {
            "error": {
                "code": exc.code,
                "message": exc.message,
                "innerError": {"date": "", "request-id": "", "client-request-id": ""},
            }
        },
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
        _claims, user = _user_from_bearer(req)
    except TokenError as exc:
        return _unauthorized(exc)
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


def register(router):
    router.add("GET POST", r"/oidc/userinfo", userinfo)
    router.add("GET", r"/v1\.0/me", me)
