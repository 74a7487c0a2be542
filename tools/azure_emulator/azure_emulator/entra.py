"""Entra ID (v2.0 endpoints): discovery, JWKS, authorize, token, adminconsent.

Error texts follow Microsoft's shape: ``error`` is the OAuth code and
``error_description`` starts with the AADSTS code.
"""

import base64
import hashlib
import html
import json
import secrets
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from urllib.parse import urlencode, urlsplit

from . import defaults, managed_identity, tokens
from .http import Response

AUTHORITY_ALIASES = ("common", "organizations", "consumers")
RESPONSE_TYPES = {
    frozenset(["code"]),
    frozenset(["id_token"]),
    frozenset(["token"]),
    frozenset(["id_token", "token"]),
    frozenset(["code", "id_token"]),
    frozenset(["code", "token"]),
    frozenset(["code", "id_token", "token"]),
}


def _trace():
    now = datetime.now(timezone.utc)
    return {
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
        "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
    }


def aad_description(aadsts, message, trace=None):
    trace = trace or _trace()
    return "AADSTS%s: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
        aadsts,
        message,
        trace["trace_id"],
        trace["correlation_id"],
        trace["timestamp"],
    )


def token_error(error, aadsts, message, status=400, **extra):
    trace = _trace()
    body = {
        "error": error,
        "error_description": aad_description(aadsts, message, trace),
        "error_codes": [int(aadsts)],
        "timestamp": trace["timestamp"],
        "trace_id": trace["trace_id"],
        "correlation_id": trace["correlation_id"],
        "error_uri": "https://login.microsoftonline.com/error?code=%s" % aadsts,
    }
    body.update(extra)
    return Response.json(status, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def error_page(aadsts, message, status=400):
    """Microsoft shows some errors on its own page instead of redirecting."""
    text = html.escape(aad_description(aadsts, message)).replace("\r\n", "<br/>")
    return Response.html(
        status,
        "<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>"
        '<div id="emu-error" class="emu-error" data-code="AADSTS%s"><h1>Sorry, but we\'re having trouble '
        "signing you in.</h1><p>%s</p></div></body></html>" % (aadsts, text),
    )


def _resolve_authority(emu, segment):
    """(tenant or None, alias or None); raises nothing, caller decides."""
    if segment.lower() in AUTHORITY_ALIASES:
        return None, segment.lower()
    return emu.state.find_tenant(segment), None


def discovery(req, segment):
    emu = req.emu
    tenant, alias = _resolve_authority(emu, segment)
    if tenant is None and alias is None:
        return token_error(
            "invalid_tenant",
            "90002",
            "Tenant '%s' not found. Check to make sure you have the correct "
            "tenant ID and are signing into the correct cloud." % segment,
        )
    tid = tenant["id"] if tenant else "{tenantid}"
    base = "%s/%s" % (emu.url, segment)
    config = {
        "token_endpoint": base + "/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": base + "/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": "%s/%s/v2.0" % (emu.url, tid),
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": emu.url + "/oidc/userinfo",
        # Browsers go to the plain-http twin so no certificate warning shows.
        "authorization_endpoint": "%s/%s/oauth2/v2.0/authorize" % (emu.http_url, segment),
        "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": "%s/%s/oauth2/v2.0/logout" % (emu.http_url, segment),
        "claims_supported": [
            "sub",
            "iss",
            "cloud_instance_name",
            "cloud_instance_host_name",
            "cloud_graph_host_name",
            "msgraph_host",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ],
        "kerberos_endpoint": base + "/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }
    return Response.json(200, config)


def jwks(req, segment):
    emu = req.emu
    tenant, _alias = _resolve_authority(emu, segment)
    issuer = "%s/%s/v2.0" % (emu.url, tenant["id"] if tenant else "{tenantid}")
    return Response.json(200, {"keys": [k.jwk(issuer) for k in emu.keys.published]})


def _redirect_allowed(emu, app, redirect_uri):
    if not redirect_uri:
        return False
    if app["redirect_uris"] is not None:
        return redirect_uri in app["redirect_uris"]
    if not emu.state.config["loopback_redirects"]:
        return False
    parts = urlsplit(redirect_uri)
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost", "::1")


def deliver(params, redirect_uri, response_mode):
    """Send authorize results the way response_mode asks."""
    params = {k: v for k, v in params.items() if v is not None}
    if response_mode == "form_post":
        fields = "".join(
            '<input type="hidden" name="%s" value="%s"/>' % (html.escape(k), html.escape(str(v)))
            for k, v in params.items()
        )
        return Response.html(
            200,
            "<!DOCTYPE html><html><head><title>Working...</title></head><body "
            'onload="document.forms[0].submit()">'
            '<form method="POST" name="hiddenform" action="%s">%s<noscript><p>Script is disabled. '
            "Click Submit "
            'to continue.</p><input type="submit" value="Submit"/></noscript></form></body></html>'
            % (html.escape(redirect_uri), fields),
        )
    separator = "#" if response_mode == "fragment" else ("&" if "?" in redirect_uri else "?")
    return Response.redirect(redirect_uri + separator + urlencode(params))


def _auth_error(ctx, error, aadsts, message):
    return deliver(
        {
            "error": error,
            "error_description": aad_description(aadsts, message),
            "state": ctx.get("state"),
            "error_uri": "https://login.microsoftonline.com/error?code=%s" % aadsts,
        },
        ctx["redirect_uri"],
        ctx["response_mode"],
    )


def _request_problem(ctx, app, types, implicit):
    """The first redirectable error in an authorize request, or None."""
    p = ctx
    if not types:
        return _auth_error(
            ctx,
            "invalid_request",
            "900144",
            "The request body must contain the following parameter: 'response_type'.",
        )
    if types not in RESPONSE_TYPES:
        return _auth_error(
            ctx,
            "unsupported_response_type",
            "70005",
            "response_type '%s' is not supported." % p["response_type"],
        )
    if ctx["response_mode"] not in ("query", "fragment", "form_post"):
        return _auth_error(
            ctx, "invalid_request", "900144", "Invalid response_mode '%s'." % ctx["response_mode"]
        )
    if implicit and ctx["response_mode"] == "query":
        return _auth_error(
            ctx, "invalid_request", "900144", "response_mode 'query' is not allowed when requesting tokens."
        )
    if "id_token" in types and not app["implicit_id_token"]:
        return _auth_error(
            ctx,
            "unsupported_response_type",
            "700054",
            "response_type 'id_token' is not enabled for the application.",
        )
    if "token" in types and not app["implicit_access_token"]:
        return _auth_error(
            ctx,
            "unsupported_response_type",
            "700051",
            "response_type 'token' is not enabled for the application.",
        )
    scopes, resources = tokens.split_scopes(p["scope"])
    if not scopes:
        return _auth_error(
            ctx,
            "invalid_request",
            "900144",
            "The request body must contain the following parameter: 'scope'.",
        )
    if len(resources) > 1:
        return _auth_error(
            ctx,
            "invalid_scope",
            "28000",
            "Provided value for the input parameter scope '%s' is not "
            "valid because it contains more than one resource." % p["scope"],
        )
    if "id_token" in types and "openid" not in scopes:
        return _auth_error(
            ctx, "invalid_request", "900144", "An id_token was requested without the 'openid' scope."
        )
    if "id_token" in types and not p["nonce"]:
        return _auth_error(
            ctx,
            "invalid_request",
            "900144",
            "The request body must contain the following parameter: 'nonce'.",
        )
    if p["code_challenge"]:
        if (p["code_challenge_method"] or "plain") not in ("S256", "plain"):
            return _auth_error(ctx, "invalid_request", "501491", "Invalid code_challenge_method.")
        if not 43 <= len(p["code_challenge"]) <= 128:
            return _auth_error(ctx, "invalid_request", "501491", "Invalid size of Code_Challenge parameter.")
    return None


def authorize(req, segment):
    emu = req.emu
    state = emu.state
    tenant, alias = _resolve_authority(emu, segment)
    if tenant is None and alias is None:
        return error_page("90002", "Tenant '%s' not found." % html.escape(segment))
    p = {
        k: req.param(k)
        for k in (
            "client_id",
            "redirect_uri",
            "response_type",
            "response_mode",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
            "prompt",
            "login_hint",
            "domain_hint",
            "emu_user",
            "emu_action",
        )
    }
    if not p["client_id"]:
        return error_page("900144", "The request body must contain the following parameter: 'client_id'.")
    app = state["apps"].get(p["client_id"])
    if app is None:
        return error_page(
            "700016",
            "Application with identifier '%s' was not found in the directory '%s'."
            % (html.escape(p["client_id"]), html.escape(segment)),
        )
    if not _redirect_allowed(emu, app, p["redirect_uri"]):
        return error_page(
            "50011",
            "The redirect URI '%s' specified in the request does not match the redirect "
            "URIs configured for the application '%s'."
            % (html.escape(p["redirect_uri"] or ""), app["client_id"]),
        )
    types = frozenset((p["response_type"] or "").split())
    implicit = bool(types & {"id_token", "token"})
    ctx = dict(
        p, tenant_segment=segment, response_mode=p["response_mode"] or ("fragment" if implicit else "query")
    )
    problem = _request_problem(ctx, app, types, implicit)
    if problem is not None:
        return problem
    auto = state["auto_consent"]
    if p["emu_user"] or p["emu_action"] == "cancel":
        auto = {"user": p["emu_user"] or p["login_hint"], "action": p["emu_action"] or "accept"}
    if auto:
        return decide(
            req, ctx, auto.get("user") or p["login_hint"], auto.get("action", "accept"), interactive=False
        )
    if p["prompt"] == "none":
        return _auth_error(
            ctx, "login_required", "50058", "A silent sign-in request was sent but no user is signed in."
        )
    txn = secrets.token_urlsafe(18)
    state["pending_authorizations"][txn] = ctx
    return consent_page(emu, app, tenant, ctx, txn)


def consent_page(emu, app, tenant, ctx, txn):
    hint = (ctx.get("login_hint") or "").lower()
    # The page's default choice: the tenant's own users first, the seeded
    # sandbox administrator first of all (a multi-tenant segment has no tenant).
    home = tenant["id"] if tenant is not None else defaults.TENANT_ID
    users = sorted(
        emu.state["users"].values(),
        key=lambda u: (u["tenant"] != home, u["email"] != defaults.USER_EMAIL, u["email"]),
    )
    options = []
    for u in users:
        selected = " selected" if hint and hint in (u["email"].lower(), u["upn"].lower()) else ""
        options.append(
            '<option value="%s"%s>%s (%s)</option>'
            % (html.escape(u["email"]), selected, html.escape(u["name"]), html.escape(u["email"]))
        )
    scopes = "".join("<li>%s</li>" % html.escape(s) for s in (ctx.get("scope") or "").split())
    return Response.html(
        200,
        '<!DOCTYPE html><html><head><meta charset="utf-8"/><title>Permissions requested - Azure '
        "Emulator</title>"
        "<style>body{font-family:sans-serif;max-width:32em;margin:3em "
        "auto}button{margin:.5em;padding:.5em 2em}"
        "</style></head><body>"
        '<form id="emu-consent-form" class="emu-consent" method="POST" '
        'action="/%s/oauth2/v2.0/authorize/decision">'
        "<h1>Permissions requested</h1>"
        '<p id="emu-app-name" class="emu-app-name">%s</p><p>This application would like to:</p>'
        '<ul id="emu-scopes">%s</ul>'
        '<label for="emu-user">Sign in as</label> <select id="emu-user" name="user" '
        'class="emu-user">%s</select>'
        '<input type="hidden" name="txn" value="%s"/>'
        '<div><button type="submit" id="emu-accept" class="emu-accept btn btn-primary" name="action" '
        'value="accept">Accept</button>'
        '<button type="submit" id="emu-cancel" class="emu-cancel btn btn-secondary" name="action" '
        'value="cancel">Cancel</button></div></form></body></html>'
        % (html.escape(ctx["tenant_segment"]), html.escape(app["name"]), scopes, "".join(options), txn),
    )


def decision(req, segment):
    emu = req.emu
    form = req.form()
    ctx = emu.state["pending_authorizations"].pop(form.get("txn", ""), None)
    if ctx is None:
        return error_page("90015", "The authorization request has expired or was already answered.")
    return decide(req, ctx, form.get("user"), form.get("action", "cancel"), interactive=True)


def decide(req, ctx, user_key, action, interactive):
    emu = req.emu
    state = emu.state
    app = state["apps"].get(ctx["client_id"])
    if action == "cancel":
        return _auth_error(ctx, "access_denied", "65004", "User declined to consent to access the app.")
    user = state.find_user(user_key)
    if user is None:
        if not interactive and not user_key:
            return _auth_error(
                ctx, "login_required", "50058", "A silent sign-in request was sent but no user is signed in."
            )
        return _auth_error(
            ctx, "invalid_request", "50034", "The user account {EUII Hidden} does not exist in the directory."
        )
    tenant, _alias = _resolve_authority(emu, ctx["tenant_segment"])
    home = state["tenants"][user["tenant"]]
    if (tenant is not None and tenant["id"] != home["id"]) or (
        tenant is None and not app["multi_tenant"] and home["id"] != app["home_tenant"]
    ):
        target = tenant["id"] if tenant else app["home_tenant"]
        return _auth_error(
            ctx,
            "access_denied",
            "50020",
            "User account '%s' from identity provider "
            "'https://sts.windows.net/%s/' does not exist in tenant '%s' and cannot access the "
            "application '%s'(%s) in that tenant."
            % (user["email"], home["id"], state["tenants"][target]["name"], app["client_id"], app["name"]),
        )
    if app["consent"] == "admin_required":
        return _auth_error(ctx, "access_denied", "90094", "The grant requires admin permission.")
    consented = app.setdefault("consented_users", [])
    if app["consent"] == "required" and user["oid"] not in consented:
        if not interactive:
            return _auth_error(
                ctx,
                "consent_required",
                "65001",
                "The user or administrator has not consented to use the application with ID '%s' "
                "named '%s'. Send an interactive authorization request for this user and resource."
                % (app["client_id"], app["name"]),
            )
        consented.append(user["oid"])
    return _auth_success(emu, ctx, app, user)


def _auth_success(emu, ctx, app, user):
    now = int(time.time())
    types = set(ctx["response_type"].split())
    scopes, resources = tokens.split_scopes(ctx["scope"])
    sid = start_session(emu, user, app)
    out = {"state": ctx.get("state"), "session_state": sid}
    if "code" in types:
        code = "1.emu." + secrets.token_urlsafe(32)
        emu.remember("code", code)
        emu.state["codes"][code] = {
            "client_id": app["client_id"],
            "redirect_uri": ctx["redirect_uri"],
            "scope": ctx["scope"],
            "user": user["oid"],
            "tenant": user["tenant"],
            "nonce": ctx.get("nonce"),
            "sid": sid,
            "challenge": ctx.get("code_challenge"),
            "method": ctx.get("code_challenge_method") or "plain",
            "expires": now + emu.state.config["code_ttl"],
            "used": False,
        }
        out["code"] = code
    if "token" in types:
        resource = next(iter(resources), None)
        claims, ttl = tokens.access_token_claims(emu, user, app, user["tenant"], resource, scopes, now)
        out.update(
            access_token=emu.keys.sign(claims),
            token_type="Bearer",
            expires_in=str(ttl),
            scope=_granted_scope(app, scopes, resource),
        )
    if "id_token" in types:
        claims = tokens.id_token_claims(
            emu, user, app, user["tenant"], scopes, ctx.get("nonce"), now, implicit=True, sid=sid
        )
        out["id_token"] = tokens.sign_id_token(emu, claims)
    return deliver(out, ctx["redirect_uri"], ctx["response_mode"])


def _granted_scope(app, scopes, resource):
    if resource and not tokens.is_graph(resource):
        perms = [s for s in scopes if tokens.resource_of(s)]
        if any(s.endswith("/.default") for s in perms):
            return resource + "user_impersonation"
        return " ".join(perms)
    # Graph: what was asked for, nothing added
    return " ".join(tokens.graph_permissions(app, scopes))


def admin_consent(req, segment):
    emu = req.emu
    tenant, _alias = _resolve_authority(emu, segment)
    app = emu.state["apps"].get(req.query.get("client_id", ""))
    if app is None:
        return error_page(
            "700016",
            "Application with identifier '%s' was not found." % html.escape(req.query.get("client_id", "")),
        )
    redirect_uri = req.query.get("redirect_uri")
    if not _redirect_allowed(emu, app, redirect_uri):
        return error_page(
            "50011",
            "The redirect URI '%s' specified in the request does not match the redirect "
            "URIs configured for the application '%s'." % (html.escape(redirect_uri or ""), app["client_id"]),
        )
    if not req.query.get("scope"):
        # the v2.0 endpoint requires the permissions asked for (e.g. https://management.azure.com/.default)
        return error_page("900144", "The request body must contain the following parameter: 'scope'.")
    state = req.query.get("state")
    # who signs in (emu_user, the auto-consent user, else the sandbox administrator) and what they do
    auto = emu.state["auto_consent"] or {}
    action = req.query.get("emu_action") or auto.get("action") or "accept"
    user = emu.state.find_user(req.query.get("emu_user") or auto.get("user") or defaults.USER_EMAIL)
    if user is None:
        return error_page("50034", "The user account {EUII Hidden} does not exist in the directory.")
    ctx = {"redirect_uri": redirect_uri, "response_mode": "query", "state": state}
    if tenant is not None and tenant["id"] != user["tenant"]:
        # recorded (MicrosoftDocs/azure-docs#114009): access_denied, AADSTS50020, admin_consent=True
        return _admin_consent_error(
            ctx,
            "access_denied",
            "50020",
            "User account '{EmailHidden}' from identity provider 'https://sts.windows.net/%s/' does not "
            "exist in tenant '%s' and cannot access the application '%s'(%s) in that tenant."
            % (user["tenant"], tenant["name"], app["client_id"], app["name"]),
        )
    if not user.get("consent_admin"):
        # "Need admin approval": a person who may not consent for the organisation can only
        # leave by "Return to the application without granting consent" (recorded,
        # MicrosoftDocs/azure-docs#41053): access_denied, error_subcode=cancel, no description
        return deliver(
            {"error": "access_denied", "error_subcode": "cancel", "state": state}, redirect_uri, "query"
        )
    if action == "cancel":
        # the administrator cancels "Permissions requested" (recorded, MicrosoftDocs/azure-docs#114009)
        return _admin_consent_error(
            ctx, "access_denied", "65004", "User declined to consent to access the app."
        )
    app["consent"] = "granted"
    return deliver(
        {
            "admin_consent": "True",
            # organizations: the home tenant of the administrator who signed in
            "tenant": user["tenant"],
            "state": state,
            "scope": req.query.get("scope"),
        },
        redirect_uri,
        "query",
    )


def _admin_consent_error(ctx, error, aadsts, message):
    """The admin-consent endpoint's error redirect: the authorize endpoint's
    parameters plus ``admin_consent=True`` (Microsoft Learn, "Admin consent on
    the Microsoft identity platform", error response)."""
    return deliver(
        {
            "error": error,
            "error_description": aad_description(aadsts, message),
            "error_uri": "https://login.microsoftonline.com/error?code=%s" % aadsts,
            "admin_consent": "True",
            "state": ctx.get("state"),
        },
        ctx["redirect_uri"],
        ctx["response_mode"],
    )


# -- token endpoint ---------------------------------------------------------


def _client_credentials(req):
    form = req.form()
    client_id, secret = form.get("client_id"), form.get("client_secret")
    auth = req.header("Authorization", "")
    if auth.lower().startswith("basic "):
        try:
            raw = base64.b64decode(auth[6:]).decode()
        except ValueError:
            raw = ":"
        basic_id, _, basic_secret = raw.partition(":")
        client_id = client_id or basic_id
        secret = secret or basic_secret
    return client_id, secret


def token(req, segment):
    emu = req.emu
    state = emu.state
    tenant, alias = _resolve_authority(emu, segment)
    if tenant is None and alias is None:
        return token_error("invalid_request", "90002", "Tenant '%s' not found." % segment)
    form = req.form()
    client_id, secret = _client_credentials(req)
    app = state["apps"].get(client_id or "")
    if app is None:
        return token_error(
            "unauthorized_client",
            "700016",
            "Application with identifier '%s' was not found in the directory '%s'." % (client_id, segment),
        )
    assertion_type, assertion = form.get("client_assertion_type"), form.get("client_assertion")
    # both at once is logged as such: a client configured for assertions must never send its secret
    req.client_auth = (
        "+".join(name for name, given in (("secret", secret), ("assertion", assertion)) if given) or None
    )
    if assertion:
        if assertion_type != managed_identity.JWT_BEARER:
            return token_error(
                "invalid_request",
                "50027",
                "Invalid client_assertion_type '%s'." % assertion_type,
            )
        refusal = managed_identity.check_assertion(emu, app, assertion)
        if refusal is not None:
            return token_error("invalid_client", refusal[0], refusal[1], status=401)
    elif app["secrets"] or app.get("federated_credentials"):
        if not secret:
            return token_error(
                "invalid_client",
                "7000218",
                "The request body must contain the following parameter: "
                "'client_assertion' or 'client_secret'.",
                status=401,
            )
        if secret not in app["secrets"]:
            return token_error(
                "invalid_client",
                "7000215",
                "Invalid client secret provided. Ensure the secret being "
                "sent in the request is the client secret value, not the client secret ID, for a "
                "secret added to app '%s'." % app["client_id"],
                status=401,
            )
    grant = form.get("grant_type")
    if grant == "authorization_code":
        return _redeem_code(emu, app, form)
    if grant == "refresh_token":
        return _redeem_refresh(emu, app, form)
    if grant == "client_credentials":
        return _app_token(emu, app, tenant, form)
    return token_error(
        "unsupported_grant_type", "70003", "The app requested an unsupported grant type '%s'." % grant
    )


def _redeem_code(emu, app, form):
    now = int(time.time())
    entry = emu.state["codes"].get(form.get("code", ""))
    if entry is None:
        return token_error("invalid_grant", "70000", "Provided grant is invalid or malformed.")
    if entry["used"]:
        return token_error(
            "invalid_grant",
            "54005",
            "OAuth2 Authorization code was already redeemed, please retry "
            "with a new valid code or use an existing refresh token.",
        )
    if entry["expires"] < now:
        return token_error(
            "invalid_grant",
            "70008",
            "The provided authorization code or refresh token has expired "
            "due to inactivity. Send a new interactive authorization request for this user and "
            "resource.",
        )
    if entry["client_id"] != app["client_id"]:
        return token_error(
            "invalid_grant",
            "700005",
            "Provided Authorization Code is intended to use against other tenant/client.",
        )
    if form.get("redirect_uri") != entry["redirect_uri"]:
        return token_error(
            "invalid_grant",
            "500117",
            "The reply uri specified in the request does not match the "
            "reply uri used in the authorization request.",
        )
    if entry["challenge"]:
        verifier = form.get("code_verifier")
        if not verifier:
            return token_error(
                "invalid_request",
                "900144",
                "The request body must contain the following parameter: 'code_verifier'.",
            )
        computed = (
            verifier
            if entry["method"] == "plain"
            else tokens.b64url(hashlib.sha256(verifier.encode()).digest())
        )
        if computed != entry["challenge"]:
            return token_error(
                "invalid_grant",
                "501481",
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            )
    # Single use, even when the redemption fails later on.
    entry["used"] = True
    user = emu.state["users"][entry["user"]]
    scope = form.get("scope") or entry["scope"]
    return _issue(emu, app, user, entry["tenant"], scope, entry["nonce"], form, sid=entry.get("sid"))


def _redeem_refresh(emu, app, form):
    now = time.time()
    rt = emu.state["refresh_tokens"].get(form.get("refresh_token", ""))
    if rt is None or rt["client_id"] != app["client_id"]:
        return token_error("invalid_grant", "9002313", "Invalid request. Request is malformed or invalid.")
    user = emu.state["users"].get(rt["user"])
    changed = user and user.get("password_changed")
    if rt["revoked"] or user is None or (changed and changed > rt["issued"]):
        return token_error(
            "invalid_grant",
            "50173",
            "The provided grant has expired due to it being revoked, a fresh auth token is "
            "needed. The user might have changed or reset their password. The grant was issued on "
            "'%s' and the "
            "TokensValidFrom date (before which tokens are not valid) for this user is '%s'."
            % (_iso(rt["issued"]), _iso(rt.get("revoked_at") or changed or now)),
            suberror="bad_token",
        )
    if rt["expires"] < now:
        return token_error(
            "invalid_grant",
            "700082",
            "The refresh token has expired due to inactivity. The token "
            "was issued on '%s' and was inactive for 90.00:00:00." % _iso(rt["issued"]),
        )
    if emu.state.config.get("refresh_token_single_use"):
        rt["revoked"] = True
        rt["revoked_at"] = now
    # counted (control API /counters): a client that loses an answer, or two that redeem the same
    # token at once, show up as a token redeemed twice
    rt["redeemed"] = rt.get("redeemed", 0) + 1
    return _issue(
        emu,
        app,
        user,
        rt["tenant"],
        form.get("scope") or rt["scope"],
        None,
        form,
        parent=form["refresh_token"],
    )


def _app_token(emu, app, tenant, form):
    scopes, resources = tokens.split_scopes(form.get("scope"))
    if len(resources) != 1 or not scopes[0].endswith("/.default"):
        return token_error(
            "invalid_scope",
            "1002012",
            "The provided value for scope %s is not valid. Client "
            "credential flows must have a scope value with /.default suffixed to the resource "
            "identifier (application ID URI)." % form.get("scope"),
        )
    tid = tenant["id"] if tenant else app["home_tenant"]
    claims, ttl = tokens.access_token_claims(
        emu, None, app, tid, next(iter(resources)), scopes, int(time.time())
    )
    return Response.json(
        200,
        {
            "token_type": "Bearer",
            "expires_in": ttl,
            "ext_expires_in": ttl,
            "access_token": emu.keys.sign(claims),
        },
        {"Cache-Control": "no-store"},
    )


def _issue(emu, app, user, tenant_id, scope, nonce, form, sid=None, parent=None):
    now = int(time.time())
    scopes, resources = tokens.split_scopes(scope)
    if len(resources) > 1:
        return token_error(
            "invalid_scope",
            "28000",
            "Provided value for the input parameter scope '%s' is not "
            "valid because it contains more than one resource." % scope,
        )
    resource = next(iter(resources), None)
    claims, ttl = tokens.access_token_claims(emu, user, app, tenant_id, resource, scopes, now)
    body = {
        "token_type": "Bearer",
        "scope": _granted_scope(app, scopes, resource),
        "expires_in": ttl,
        "ext_expires_in": ttl,
        "access_token": emu.keys.sign(claims),
    }
    if "offline_access" in scopes:
        rt = new_refresh_token(emu, app, user, tenant_id, scope, now, parent)
        body["refresh_token"] = rt
        body["refresh_token_expires_in"] = emu.state.config["refresh_token_ttl"]
    if "openid" in scopes:
        id_claims = tokens.id_token_claims(emu, user, app, tenant_id, scopes, nonce, now, sid=sid)
        body["id_token"] = tokens.sign_id_token(emu, id_claims)
    if form.get("client_info") == "1":
        body["client_info"] = tokens.b64url(json.dumps({"uid": user["oid"], "utid": tenant_id}).encode())
    return Response.json(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def new_refresh_token(emu, app, user, tenant_id, scope, now, parent=None):
    """A refresh token of ``user`` for ``app``; ``parent``: the refresh token redeemed for it."""
    rt = "1.emu.rt." + secrets.token_urlsafe(48)
    emu.remember("refresh_token", rt)
    emu.state["refresh_tokens"][rt] = {
        "client_id": app["client_id"],
        "user": user["oid"],
        "tenant": tenant_id,
        "scope": scope,
        "issued": now,
        "expires": now + emu.state.config["refresh_token_ttl"],
        "revoked": False,
        "redeemed": 0,
        "parent": parent,
    }
    return rt


def _iso(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def start_session(emu, user, app):
    """A new Entra sign-in session (the `sid` claim): each authorization is
    treated as a browser of its own, so tests can end one and keep another."""
    sid = str(uuid.uuid4())
    with emu.lock:
        emu.state["sessions"][sid] = {
            "user": user["oid"],
            "tenant": user["tenant"],
            "apps": [app["client_id"]],
        }
    return sid


def end_sessions(emu, user_key=None, sid=None):
    """End the matching sessions and make the front-channel logout calls a
    browser would make (one GET per app of the session with a front-channel
    logout URL, with `iss` and `sid`). Returns [{"url", "status"}]."""
    with emu.lock:
        user = emu.state.find_user(user_key) if user_key else None
        ended = {
            key: value
            for key, value in emu.state["sessions"].items()
            if (sid and key == sid) or (user is not None and value["user"] == user["oid"])
        }
        for key in ended:
            del emu.state["sessions"][key]
        calls = []
        for key, session in ended.items():
            for client_id in session["apps"]:
                url = (emu.state["apps"].get(client_id) or {}).get("frontchannel_logout_url")
                if url:
                    query = urlencode({"iss": "%s/%s/v2.0" % (emu.url, session["tenant"]), "sid": key})
                    calls.append(url + ("&" if "?" in url else "?") + query)
    results = []
    for url in calls:  # outside the lock: the app may call the emulator back
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = None
        results.append({"url": url, "status": status})
    return results


def logout(req, segment):
    """end_session_endpoint: ends the session named by `logout_hint` (the
    id_token's login_hint claim, a UPN, object id or sid), calls the
    front-channel logout URLs, then redirects to `post_logout_redirect_uri`
    (which must be a redirect URI of the app)."""
    emu = req.emu
    target = req.param("post_logout_redirect_uri")
    client_id = req.param("client_id")
    app = emu.state["apps"].get(client_id) if client_id else None
    if target and app is not None and not _redirect_allowed(emu, app, target):
        return error_page(
            "50011",
            "The post logout redirect URI '%s' specified in the request does not match the redirect "
            "URIs configured for the application '%s'." % (html.escape(target), app["client_id"]),
        )
    hint = req.param("logout_hint")
    if hint and hint.startswith(tokens.LOGIN_HINT_PREFIX):
        end_sessions(emu, sid=hint[len(tokens.LOGIN_HINT_PREFIX) :])
    elif hint:
        end_sessions(emu, user_key=hint, sid=hint)
    if target:
        return Response.redirect(target)
    return Response.html(
        200, '<html><body><p id="emu-signed-out">You signed out of your account.</p></body></html>'
    )


def register(router):
    t = r"/([^/]+)"
    router.add("GET", t + r"/v2\.0/\.well-known/openid-configuration", discovery)
    router.add("GET", t + r"/discovery/v2\.0/keys", jwks)
    router.add("GET", t + r"/discovery/keys", jwks)
    router.add("GET POST", t + r"/oauth2/v2\.0/authorize", authorize)
    router.add("POST", t + r"/oauth2/v2\.0/authorize/decision", decision)
    router.add("POST", t + r"/oauth2/v2\.0/token", token)
    router.add("GET", t + r"/v2\.0/adminconsent", admin_consent)
    router.add("GET POST", t + r"/oauth2/v2\.0/logout", logout)
