"""Control API under /_emulator/: inspect, reset, seed, and inject faults.

Loopback only and unauthenticated: it exists for tests and the sandbox.
"""

import copy
import datetime
import json
import logging
import re
import threading
import time
import uuid
from urllib.parse import unquote
from xml.sax.saxutils import escape

from . import defaults as d
from . import entra, managed_identity, tokens
from . import state as st
from .http import Response

_logger = logging.getLogger(__name__)

DEFAULT_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "AuthorizationFailed",
    404: "NotFound",
    409: "Conflict",
    412: "PreconditionFailed",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


class Hold:
    """Requests matched by a hold fault wait here until the test releases them (or HOLD_MAX)."""

    def __init__(self, fault):
        self.fault_id = fault["id"]
        self.path = fault["path"]
        self.stage = fault["hold"]
        self.arrived = []
        self.event = threading.Event()

    def wait(self):
        if not self.event.wait(HOLD_MAX):
            _logger.warning("hold %s released after %s s: nobody released it", self.fault_id, HOLD_MAX)

    def describe(self):
        return {
            "id": self.fault_id,
            "path": self.path,
            "stage": self.stage,
            "arrived": list(self.arrived),
            "released": self.event.is_set(),
        }


# seconds a held request waits at most (a test that forgot to release it does not hang the emulator)
HOLD_MAX = 600


def hold_for(emu, fault, req):
    with emu.lock:
        hold = emu.holds.setdefault(fault["id"], Hold(fault))
        hold.arrived.append({"method": req.method, "path": req.path, "time": time.time()})
    return hold


def release_holds(emu, fault_id=None):
    with emu.lock:
        holds = [h for key, h in emu.holds.items() if fault_id in (None, key)]
    for hold in holds:
        hold.event.set()
    return len(holds)


def take_fault(emu, req, service):
    for fault in list(emu.state["faults"]):
        if fault["service"] not in ("any", service):
            continue
        if not re.fullmatch(fault["method"], req.method, re.IGNORECASE):
            continue
        target = req.path + ("?" + req.query_string if req.query_string else "")
        if not re.search(fault["path"], target, re.IGNORECASE):
            continue
        fault["hits"] += 1
        if fault["count"] is not None:
            fault["count"] -= 1
            if fault["count"] <= 0:
                emu.state["faults"].remove(fault)
        return fault
    return None


COMPUTE_THROTTLED_MESSAGE = (
    "The server rejected the request because too many requests have been received for this subscription."
)


def compute_throttled(fault, headers):
    """Compute's own throttling answer (Microsoft Learn, "Troubleshooting API throttling errors"
    for virtual machines): 429 with code OperationNotAllowed, the same code as a quota refusal,
    one detail TooManyRequests naming the exhausted operation group, and a body that is not
    wrapped in "error". Azure's Retry-After goes up to 1200 s; here it is 1 unless given."""
    now = datetime.datetime.now(datetime.timezone.utc)
    window = {
        "operationGroup": "HighCostGet30Min",
        "startTime": now.isoformat(),
        "endTime": (now + datetime.timedelta(minutes=20)).isoformat(),
        "allowedRequestCount": 800,
        "measuredRequestCount": 1238,
    }
    headers.setdefault(
        "x-ms-ratelimit-remaining-resource",
        "Microsoft.Compute/HighCostGet3Min;159,Microsoft.Compute/HighCostGet30Min;0",
    )
    body = {
        "code": "OperationNotAllowed",
        "message": fault.get("message") or COMPUTE_THROTTLED_MESSAGE,
        "details": fault.get("details")
        or [{"code": "TooManyRequests", "target": "HighCostGet30Min", "message": json.dumps(window)}],
    }
    return Response.json(429, body, headers)


def fault_response(fault, service, path=""):
    status = int(fault["status"])
    code = fault.get("code") or DEFAULT_CODES.get(status, "Error")
    message = fault.get("message") or "Injected fault %s." % code
    headers = dict(fault.get("headers") or {})
    if status in (429, 503) and not any(h.lower() == "retry-after" for h in headers):
        headers["Retry-After"] = "1"
    compute = "/providers/microsoft.compute/" in path.lower()
    if status == 429 and service == "arm" and compute and not fault.get("code") and fault.get("body") is None:
        return compute_throttled(fault, headers)
    if fault.get("body") is not None:
        # a page that is not the service's own answer: a proxy's or firewall's error page
        return Response(
            status, fault["body"], headers, fault.get("content_type") or "text/html; charset=utf-8"
        )
    if service == "blob":
        headers["x-ms-error-code"] = code
        headers["x-ms-request-id"] = str(uuid.uuid4())
        body = (
            '<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s\nRequestId:%s\nTime:%s'
            "</Message></Error>"
            % (
                escape(code),
                escape(message),
                headers["x-ms-request-id"],
                time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime()),
            )
        )
        return Response(status, body, headers, "application/xml")
    if service == "entra":
        aadsts = str(fault.get("aadsts") or "90033")
        response = entra.token_error(code, aadsts, message, status=status)
        response.headers.update(headers)
        return response
    return Response.arm_error(status, code, message, fault.get("details"), headers)


def _ok(payload=None):
    return Response.json(200, payload if payload is not None else {"ok": True})


def get_state(req):
    emu = req.emu
    with emu.lock:
        data = copy.deepcopy(emu.state.data)
    data["keys"] = {"active": emu.keys.active.kid, "published": [k.kid for k in emu.keys.published]}
    data["azurite_accounts"] = sorted(emu.blob.accounts) if emu.blob else []
    return _ok(data)


def get_requests(req):
    return _ok({"requests": list(req.emu.request_log)})


def get_secrets(req):
    return _ok({"secrets": req.emu.issued_secrets()})


def reset(req):
    req.emu.reset()
    return _ok()


def add_user(req):
    body = dict(req.json())
    tenant = req.emu.state.find_tenant(body.pop("tenant", None) or d.TENANT_ID)
    if tenant is None:
        return Response.json(400, {"error": "unknown tenant"})
    email = body.pop("email", None) or "user-%s@%s" % (uuid.uuid4().hex[:6], tenant["domain"])
    name = body.pop("name", None) or email.split("@")[0]
    user = st.user(tenant["id"], email, name, body.pop("oid", None), **body)
    with req.emu.lock:
        req.emu.state["users"][user["oid"]] = user
    return _ok(user)


def update_user(req, key):
    # the route matches the raw path: the client percent-encodes "@" (and any
    # other reserved character) of an email or UPN
    key = unquote(key)
    with req.emu.lock:
        user = req.emu.state.find_user(key)
        if user is None:
            return Response.json(404, {"error": "unknown user"})
        body = req.json()
        if body.pop("password_changed", False):
            user["password_changed"] = time.time()
        user.update(body)
        return _ok(user)


def add_group(req):
    """A directory group: ``member_of`` nests it in other groups; members are
    set on the users (``groups``) or here (``members``: user emails/oids)."""
    body = dict(req.json())
    gid = (body.get("id") or str(uuid.uuid4())).lower()
    tenant = req.emu.state.find_tenant(body.get("tenant") or d.TENANT_ID)
    if tenant is None:
        return Response.json(400, {"error": "unknown tenant"})
    group = {
        "id": gid,
        "displayName": body.get("name") or "Group " + gid[:8],
        "tenant": tenant["id"],
        "member_of": [g.lower() for g in body.get("member_of") or ()],
    }
    with req.emu.lock:
        req.emu.state["groups"][gid] = group
        for key in body.get("members") or ():
            user = req.emu.state.find_user(key)
            if user is None:
                return Response.json(404, {"error": "unknown user %s" % key})
            if gid not in user["groups"]:
                user["groups"].append(gid)
    return _ok(group)


def frontchannel_logout(req):
    """What Entra does when a user signs out of Microsoft 365 in a browser:
    the front-channel logout URL of each app of the session is called."""
    body = req.json()
    if not body.get("user") and not body.get("sid"):
        return Response.json(400, {"error": "give user or sid"})
    calls = entra.end_sessions(req.emu, user_key=body.get("user"), sid=body.get("sid"))
    return _ok({"calls": calls})


def update_app(req, client_id):
    client_id = unquote(client_id)
    with req.emu.lock:
        app = req.emu.state["apps"].get(client_id)
        if app is None:
            return Response.json(404, {"error": "unknown app"})
        body = dict(req.json())
        if "secret" in body:
            app["secrets"] = [body.pop("secret")] if body.get("secret") is not None else []
        app.update(body)
        return _ok(app)


def add_subscription(req):
    body = req.json()
    sid = (body.get("id") or str(uuid.uuid4())).lower()
    sub = st.subscription(
        sid,
        body.get("tenant") or d.TENANT_ID,
        body.get("name") or "Subscription " + sid[:8],
        body.get("providers"),
        body.get("state", "Enabled"),
    )
    if "users" in body:
        sub["users"] = body["users"]
    with req.emu.lock:
        req.emu.state["subscriptions"][sid] = sub
    return _ok(sub)


def update_subscription(req, sid):
    sid = unquote(sid)
    with req.emu.lock:
        sub = req.emu.state["subscriptions"].get(sid.lower())
        if sub is None:
            return Response.json(404, {"error": "unknown subscription"})
        body = req.json()
        for key in ("name", "state", "users"):
            if key in body:
                sub[key] = body[key]
        for key in ("providers", "quotas", "sku_restrictions"):
            sub[key].update(body.get(key) or {})
        return _ok(sub)


def set_provider(req):
    body = req.json()
    with req.emu.lock:
        sub = req.emu.state["subscriptions"][(body.get("subscription") or d.SUBSCRIPTION_ID).lower()]
        sub["providers"][body["namespace"]] = body.get("state", "Registered")
        return _ok(sub["providers"])


def _matching_tokens(req):
    body = req.json()
    user = req.emu.state.find_user(body.get("user")) if body.get("user") else None
    for token, rt in req.emu.state["refresh_tokens"].items():
        if user is not None and rt["user"] != user["oid"]:
            continue
        if body.get("client_id") and rt["client_id"] != body["client_id"]:
            continue
        if body.get("token") and token != body["token"]:
            continue
        yield rt


def revoke_refresh_tokens(req):
    with req.emu.lock:
        count = 0
        for rt in _matching_tokens(req):
            rt["revoked"] = True
            rt["revoked_at"] = time.time()
            count += 1
    return _ok({"count": count})


def expire_refresh_tokens(req):
    with req.emu.lock:
        count = 0
        for rt in _matching_tokens(req):
            rt["expires"] = time.time() - 1
            count += 1
    return _ok({"count": count})


def expire_codes(req):
    with req.emu.lock:
        for code in req.emu.state["codes"].values():
            code["expires"] = time.time() - 1
    return _ok()


def add_fault(req):
    body = req.json()
    fault = {
        "id": str(uuid.uuid4()),
        "service": body.get("service", "any"),
        "method": body.get("method") or ".*",
        "path": body.get("path") or ".*",
        "status": body.get("status"),
        "code": body.get("code"),
        "message": body.get("message"),
        "aadsts": body.get("aadsts"),
        "details": body.get("details"),
        "body": body.get("body"),
        "content_type": body.get("content_type"),
        "headers": body.get("headers") or {},
        "delay": body.get("delay"),
        "drop": bool(body.get("drop")),
        # "before": the request waits before it is served; "after": it is served (the state
        # changes) and its answer waits; both until POST /holds/<id>/release
        "hold": body.get("hold") or None,
        "count": body.get("count", 1),
        "hits": 0,
    }
    if fault["method"] == "*":
        fault["method"] = ".*"
    if fault["hold"] not in (None, "before", "after"):
        return Response.json(400, {"error": "hold is 'before' or 'after'"})
    with req.emu.lock:
        req.emu.state["faults"].append(fault)
        if fault["hold"]:
            req.emu.holds[fault["id"]] = Hold(fault)
    return _ok(fault)


def clear_faults(req):
    with req.emu.lock:
        req.emu.state["faults"] = []
        req.emu.state["lro_failures"] = []
    release_holds(req.emu)
    return _ok()


def get_holds(req):
    with req.emu.lock:
        return _ok({"holds": [hold.describe() for hold in req.emu.holds.values()]})


def release_hold(req, fault_id):
    return _ok({"released": release_holds(req.emu, unquote(fault_id))})


def get_counters(req):
    """What tests count across a whole run: each refresh token's redemptions and the token it
    was issued for (``parent``), and the ARM requests that may start or change something."""
    with req.emu.lock:
        tokens_ = {
            token: {
                "redeemed": rt.get("redeemed", 0),
                "parent": rt.get("parent"),
                "user": rt["user"],
                "issued": rt["issued"],
            }
            for token, rt in req.emu.state["refresh_tokens"].items()
        }
        operations = dict(req.emu.operation_counts)
    return _ok({"refresh_tokens": tokens_, "operations": operations})


def mint_refresh_token(req):
    """A refresh token issued without the browser dance (as the code redemption of a sign-in
    would issue it): many connected accounts for a load test."""
    body = req.json()
    emu = req.emu
    with emu.lock:
        user = emu.state.find_user(body.get("user") or d.USER_EMAIL)
        if user is None:
            return Response.json(404, {"error": "unknown user"})
        app = emu.state["apps"].get(body.get("client_id") or emu._app_id("cloud"))
        scope = body.get("scope") or "%s offline_access openid profile" % d.ARM_USER_IMPERSONATION
        token = entra.new_refresh_token(emu, app, user, user["tenant"], scope, int(time.time()))
    return _ok({"refresh_token": token, "user": user["oid"], "tenant": user["tenant"]})


def add_lro_failure(req):
    body = req.json()
    rule = {
        "method": (body.get("method") or "*").upper(),
        "path": body.get("path") or ".*",
        "code": body.get("code") or "InternalServerError",
        "message": body.get("message") or "The operation failed (injected).",
        "count": body.get("count", 1),
    }
    with req.emu.lock:
        req.emu.state["lro_failures"].append(rule)
    return _ok(rule)


def set_config(req):
    body = req.json()
    with req.emu.lock:
        req.emu.state.config.update(body)
        return _ok(dict(req.emu.state.config))


def set_auto_consent(req):
    body = req.json()
    with req.emu.lock:
        if body.get("user") is None and body.get("action", "accept") == "accept":
            req.emu.state["auto_consent"] = None
        else:
            req.emu.state["auto_consent"] = {"user": body.get("user"), "action": body.get("action", "accept")}
    return _ok({"auto_consent": req.emu.state["auto_consent"]})


def id_token_override(req):
    body = req.json()
    preset = body.get("preset")
    if preset and preset not in tokens.ID_TOKEN_PRESETS:
        return Response.json(400, {"error": "unknown preset", "presets": list(tokens.ID_TOKEN_PRESETS)})
    with req.emu.lock:
        req.emu.state["id_token_overrides"].append(
            {
                "preset": preset,
                "claims": body.get("claims") or {},
                "remove": body.get("remove") or [],
                "count": int(body.get("count", 1)),
            }
        )
    return _ok()


def rotate_keys(req):
    with req.emu.lock:
        kid = req.emu.keys.rotate(req.json().get("mode", "swap"))
    return _ok({"active": kid, "published": [k.kid for k in req.emu.keys.published]})


def assign_role(req):
    """A role assignment made as an administrator would in the portal (no propagation delay unless
    ``delay`` seconds are given): {"principal", "role" (a defaults.ROLES id), "scope"}."""
    body = req.json()
    from . import arm_authorization  # pylint: disable=import-outside-toplevel

    scope = body["scope"].rstrip("/")
    sub_id = scope.split("/")[2]
    name = body.get("name") or str(uuid.uuid4())
    now = time.time()
    assignment = arm_authorization._assignment(  # pylint: disable=protected-access
        scope, name, sub_id, body["role"], body["principal"], "User", now, None
    )
    assignment["_effective"] = now + float(body.get("delay") or 0)
    with req.emu.lock:
        req.emu.state["role_assignments"][name] = assignment
    return _ok({k: v for k, v in assignment.items() if not k.startswith("_")})


def apply_role_assignments(req):
    """Azure has applied every role assignment made so far (the end of their propagation delay)."""
    now = time.time()
    with req.emu.lock:
        for assignment in req.emu.state["role_assignments"].values():
            assignment["_effective"] = min(assignment["_effective"], now)
    return _ok()


def issue_token(req):
    """Mint an access token without the browser dance (for ARM-only tests)."""
    body = req.json()
    emu = req.emu
    with emu.lock:
        user = emu.state.find_user(body.get("user") or d.USER_EMAIL)
        app = emu.state["apps"].get(body.get("client_id") or emu._app_id("cloud"))
        scope = body.get("scope") or d.ARM_SCOPE
        scopes, resources = tokens.split_scopes(scope)
        now = int(time.time()) + int(body.get("offset", 0))
        claims, _ttl = tokens.access_token_claims(
            emu, user, app, user["tenant"], next(iter(resources), None), scopes, now
        )
        claims.update(body.get("claims") or {})
        return _ok({"access_token": emu.keys.sign(claims), "expires_on": claims["exp"], "claims": claims})


def add_managed_identity(req):
    """A managed identity of the host (user-assigned unless ``system_assigned``), or the host's
    ``identity_header`` (what App Service puts in IDENTITY_HEADER)."""
    body = dict(req.json())
    with req.emu.lock:
        if "identity_header" in body:
            req.emu.state["managed_identities_header"] = body.pop("identity_header")
        if not body:
            return _ok({"identity_header": req.emu.state["managed_identities_header"]})
        identity = managed_identity.seed_identity(body.pop("tenant", None) or d.TENANT_ID)
        identity.update(
            client_id=(body.pop("client_id", None) or str(uuid.uuid4())).lower(),
            principal_id=(body.pop("principal_id", None) or str(uuid.uuid4())).lower(),
            system_assigned=bool(body.pop("system_assigned", False)),
        )
        identity.update(body)
        if identity["system_assigned"]:
            for other in req.emu.state["managed_identities"].values():
                other["system_assigned"] = False
        req.emu.state["managed_identities"][identity["client_id"]] = identity
    return _ok(identity)


def remove_managed_identity(req, client_id):
    with req.emu.lock:
        if req.emu.state["managed_identities"].pop(unquote(client_id).lower(), None) is None:
            return Response.json(404, {"error": "unknown managed identity"})
    return _ok()


def add_federated_token(req):
    """A token of another issuer (what Kubernetes writes to AZURE_FEDERATED_TOKEN_FILE)."""
    body = req.json()
    with req.emu.lock:
        token = managed_identity.federated_token(
            req.emu,
            body["issuer"],
            body["subject"],
            body.get("audience") or d.TOKEN_EXCHANGE_AUDIENCE,
            int(body.get("ttl", 3600)),
        )
    return _ok({"token": token})


def register(router):
    c = r"/_emulator"
    router.add("POST", c + r"/managed_identities", add_managed_identity)
    router.add("DELETE", c + r"/managed_identities/([^/]+)", remove_managed_identity)
    router.add("POST", c + r"/federated_tokens", add_federated_token)
    router.add("GET", c + r"/state", get_state)
    router.add("GET", c + r"/requests", get_requests)
    router.add("GET", c + r"/secrets", get_secrets)
    router.add("POST", c + r"/reset", reset)
    router.add("POST", c + r"/users", add_user)
    router.add("PATCH", c + r"/users/([^/]+)", update_user)
    router.add("POST", c + r"/groups", add_group)
    router.add("POST", c + r"/frontchannel_logout", frontchannel_logout)
    router.add("PATCH", c + r"/apps/([^/]+)", update_app)
    router.add("POST", c + r"/subscriptions", add_subscription)
    router.add("PATCH", c + r"/subscriptions/([^/]+)", update_subscription)
    router.add("POST", c + r"/providers", set_provider)
    router.add("POST", c + r"/refresh_tokens/revoke", revoke_refresh_tokens)
    router.add("POST", c + r"/refresh_tokens/expire", expire_refresh_tokens)
    router.add("POST", c + r"/codes/expire", expire_codes)
    router.add("POST", c + r"/faults", add_fault)
    router.add("DELETE", c + r"/faults", clear_faults)
    router.add("POST", c + r"/lro_failures", add_lro_failure)
    router.add("POST", c + r"/config", set_config)
    router.add("POST", c + r"/auto_consent", set_auto_consent)
    router.add("POST", c + r"/id_token_overrides", id_token_override)
    router.add("POST", c + r"/keys/rotate", rotate_keys)
    router.add("POST", c + r"/tokens", issue_token)
    router.add("GET", c + r"/holds", get_holds)
    router.add("POST", c + r"/holds/([^/]+)/release", release_hold)
    router.add("GET", c + r"/counters", get_counters)
    router.add("POST", c + r"/refresh_tokens", mint_refresh_token)
    router.add("POST", c + r"/role_assignments", assign_role)
    router.add("POST", c + r"/role_assignments/apply", apply_role_assignments)
