"""Resource Manager basics: token check, subscriptions, tenants, providers,
resource groups, and the long-running-operation engine every RP shares."""

import copy
import math
import re
import time
import uuid
from datetime import datetime, timezone

from . import defaults as d
from .http import HttpError, Response
from .tokens import TokenError

PROVIDER_TYPES = {
    "Microsoft.Compute": [
        "virtualMachines",
        "disks",
        "skus",
        "locations",
        "locations/usages",
        "locations/vmSizes",
    ],
    "Microsoft.Network": [
        "virtualNetworks",
        "networkSecurityGroups",
        "publicIPAddresses",
        "networkInterfaces",
        "dnszones",
        "dnszones/A",
        "dnszones/recordsets",
    ],
    "Microsoft.Storage": ["storageAccounts", "storageAccounts/blobServices", "checkNameAvailability"],
    "Microsoft.Resources": ["resourceGroups", "deployments", "subscriptions", "tenants"],
}


def now_iso(ts=None):
    return datetime.fromtimestamp(ts if ts is not None else time.time(), timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f0Z"
    )


def fail(status, code, message, details=None, headers=None, target=None):
    raise HttpError(Response.arm_error(status, code, message, details, headers, target))


def authenticate(req):
    """Check the bearer token like ARM does; returns its claims."""
    auth = req.header("Authorization", "")
    if not auth:
        fail(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            headers={
                "WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/", '
                'error="invalid_token", error_description="The authentication failed '
                "because of missing 'Authorization' header.\""
            },
        )
    if not auth.lower().startswith("bearer "):
        fail(
            401,
            "AuthenticationFailedInvalidHeader",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        )
    try:
        return req.emu.keys.verify(auth[7:].strip(), d.ARM_AUDIENCES)
    except TokenError as exc:
        fail(
            401,
            exc.code,
            exc.message,
            headers={
                "WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/", '
                'error="invalid_token", error_description="%s"' % exc.message.replace('"', "'")
            },
        )


def subscription(req, sub_id, write=False):
    sub = req.emu.state["subscriptions"].get(sub_id.lower())
    if sub is None:
        fail(404, "SubscriptionNotFound", "The subscription '%s' could not be found." % sub_id)
    tid = req.claims.get("tid")
    if tid != sub["tenant"]:
        fail(
            401,
            "InvalidAuthenticationTokenTenant",
            "The access token is from the wrong issuer 'https://sts.windows.net/%s/'. It must "
            "match the tenant "
            "'https://sts.windows.net/%s/' associated with this subscription. Please use the authority (URL) "
            "'https://login.windows.net/%s' to get the token." % (tid, sub["tenant"], sub["tenant"]),
        )
    allowed = sub.get("users")
    if allowed is not None and req.claims.get("oid") not in allowed:
        fail(
            403,
            "AuthorizationFailed",
            "The client '%s' with object id '%s' does not have authorization to perform "
            "action '%s' over scope '/subscriptions/%s' or the scope is invalid. If access was "
            "recently granted, "
            "please refresh your credentials."
            % (req.claims.get("upn", req.claims.get("appid")), req.claims.get("oid"), req.method, sub_id),
        )
    if write and sub["state"] != "Enabled" and req.method != "GET":
        fail(
            409,
            "ReadOnlyDisabledSubscription",
            "The subscription '%s' is disabled and therefore marked as read "
            "only. You cannot perform any write actions on this subscription until it is re-enabled."
            % sub_id,
        )
    return sub


def require_provider(req, sub, namespace):
    state = _provider_state(sub, namespace)
    if state != "Registered":
        fail(
            409,
            "MissingSubscriptionRegistration",
            "The subscription is not registered to use namespace '%s'. See "
            "https://aka.ms/rps-not-found for how "
            "to register subscriptions." % namespace,
            details=[
                {
                    "code": "MissingSubscriptionRegistration",
                    "target": namespace,
                    "message": "The subscription is not registered to use namespace '%s'. See "
                    "https://aka.ms/rps-not-found for how to register subscriptions." % namespace,
                }
            ],
            target=namespace,
        )


def _canonical_ns(sub, namespace):
    for ns in list(sub["providers"]) + list(PROVIDER_TYPES):
        if ns.lower() == namespace.lower():
            return ns
    return namespace


def _provider_state(sub, namespace):
    ns = _canonical_ns(sub, namespace)
    return sub["providers"].get(ns, "NotRegistered")


def scope_for(req, sub_id, rg=None, namespace=None, write=None):
    """Authorize + subscription + resource group + provider, in ARM's order."""
    write = req.method in ("PUT", "PATCH", "POST", "DELETE") if write is None else write
    sub = subscription(req, sub_id, write)
    if rg is not None:
        require_group(req, sub_id, rg)
    if namespace is not None:
        require_provider(req, sub, namespace)
    return sub


# -- resource store -------------------------------------------------------------------------------


def get_res(emu, rid):
    return emu.state["resources"].get(rid.lower())


def put_res(emu, res):
    emu.state["resources"][res["id"].lower()] = res
    return res


def del_res(emu, rid):
    return emu.state["resources"].pop(rid.lower(), None)


def children(emu, prefix):
    prefix = prefix.lower().rstrip("/") + "/"
    return [r for k, r in emu.state["resources"].items() if k.startswith(prefix)]


def public(res):
    """A resource as returned to clients: without emulator-private fields."""
    return {k: copy.deepcopy(v) for k, v in res.items() if not k.startswith("_")}


def group_id(sub_id, rg):
    return "/subscriptions/%s/resourceGroups/%s" % (sub_id, rg)


def require_group(req, sub_id, rg):
    res = get_res(req.emu, group_id(sub_id, rg))
    if res is None:
        fail(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % rg)
    return res


def not_found(rtype, name, rg):
    fail(
        404,
        "ResourceNotFound",
        "The Resource '%s/%s' under resource group '%s' was not found. For more details "
        "please go to https://aka.ms/ARMResourceNotFoundFix" % (rtype, name, rg),
    )


def require_res(req, rid, rtype, name, rg):
    res = get_res(req.emu, rid)
    if res is None:
        not_found(rtype, name, rg)
    settle(req.emu, rid)
    return get_res(req.emu, rid) or not_found(rtype, name, rg)


def location_of(body, default=None):
    loc = (body.get("location") or default or "").replace(" ", "").lower()
    if loc not in d.REGIONS and loc != "global":
        fail(
            400,
            "LocationNotAvailableForResourceType",
            "The provided location '%s' is not available for resource "
            "type. List of available regions is '%s'." % (body.get("location"), ",".join(d.REGIONS)),
        )
    return loc


# -- long-running operations ---------------------------------------------------------------------


def take_lro_failure(emu, req):
    for rule in list(emu.state["lro_failures"]):
        if rule["method"] not in ("*", req.method):
            continue
        if not re.search(rule["path"], req.path, re.IGNORECASE):
            continue
        rule["count"] -= 1
        if rule["count"] <= 0:
            emu.state["lro_failures"].remove(rule)
        return {"code": rule["code"], "message": rule["message"]}
    return None


def start_op(req, sub_id, namespace, location, target, on_success, on_failure=None, result=None):
    """Register an LRO; ``on_success``/``on_failure`` run when it ends.
    ``result`` (callable) gives the body the Location URL returns at the end."""
    emu = req.emu
    op_id = str(uuid.uuid4())
    op = {
        "id": op_id,
        "subscription": sub_id,
        "namespace": namespace,
        "location": location or "westeurope",
        "target": target.lower(),
        "method": req.method,
        "path": req.path,
        "status": "InProgress",
        "polls": 0,
        "start": time.time(),
        "end": None,
        "error": None,
        "failure": take_lro_failure(emu, req),
        "api_version": req.query.get("api-version", "2024-01-01"),
    }
    emu.state["operations"][op_id] = op
    emu.op_callbacks[op_id] = (on_success, on_failure, result)
    return op


def op_headers(req, op, async_header=True, location_header=True):
    emu = req.emu
    base = "%s/subscriptions/%s/providers/%s/locations/%s" % (
        emu.url,
        op["subscription"],
        op["namespace"],
        op["location"],
    )
    headers = {"Retry-After": retry_after(emu, op)}
    if async_header:
        headers["Azure-AsyncOperation"] = "%s/operations/%s?api-version=%s" % (
            base,
            op["id"],
            op["api_version"],
        )
    if location_header:
        headers["Location"] = "%s/operationResults/%s?api-version=%s" % (base, op["id"], op["api_version"])
    return headers


def retry_after(emu, op):
    """Azure's Retry-After for a running operation: whole seconds, at least the configured
    ``retry_after`` and at least what is left of ``lro_seconds`` (Azure's own estimate of when
    to look again; 0 by default, since azure-core's pollers sleep what it says)."""
    left = emu.state.config["lro_seconds"] - (time.time() - op["start"])
    return str(max(int(emu.state.config["retry_after"]), math.ceil(left) if left > 0 else 0))


def advance(emu, op):
    """Count a poll of ``op``; it ends once polled and aged enough."""
    if op["status"] != "InProgress":
        return op
    op["polls"] += 1
    cfg = emu.state.config
    if op["polls"] <= cfg["lro_polls"] or time.time() - op["start"] < cfg["lro_seconds"]:
        return op
    on_success, on_failure, _result = emu.op_callbacks.get(op["id"], (None, None, None))
    op["end"] = time.time()
    if op["failure"]:
        op["status"] = "Failed"
        op["error"] = op["failure"]
        if on_failure:
            on_failure(op)
    else:
        op["status"] = "Succeeded"
        if on_success:
            on_success()
    return op


def settle(emu, rid):
    """A GET of a resource counts as a poll of its pending operations, so a
    caller that only re-reads the resource also sees it finish."""
    for op in list(emu.state["operations"].values()):
        if op["target"] == rid.lower() and op["status"] == "InProgress":
            advance(emu, op)


def _op(req, sub_id, op_id):
    subscription(req, sub_id)
    op = req.emu.state["operations"].get(op_id)
    if op is None or op["subscription"].lower() != sub_id.lower():
        fail(404, "NotFound", "The operation '%s' was not found." % op_id)
    return op


def op_status(req, sub_id, _ns, _loc, op_id):
    op = advance(req.emu, _op(req, sub_id, op_id))
    body = {"name": op_id, "status": op["status"], "startTime": now_iso(op["start"])}
    if op["end"]:
        body["endTime"] = now_iso(op["end"])
    if op["error"]:
        body["error"] = {"code": op["error"]["code"], "message": op["error"]["message"], "details": []}
    headers = {"Retry-After": retry_after(req.emu, op)} if op["status"] == "InProgress" else {}
    return Response.json(200, body, headers)


def op_result(req, sub_id, _ns, _loc, op_id):
    emu = req.emu
    op = advance(emu, _op(req, sub_id, op_id))
    if op["status"] == "InProgress":
        return Response(202, b"", {"Location": emu.url + req.target, "Retry-After": retry_after(emu, op)})
    if op["status"] == "Failed":
        return Response.arm_error(
            400 if op["error"]["code"] != "InternalServerError" else 500,
            op["error"]["code"],
            op["error"]["message"],
        )
    result = emu.op_callbacks.get(op_id, (None, None, None))[2]
    body = result() if result else None
    return Response.json(200, body) if body is not None else Response(204)


# -- subscriptions, tenants, providers, groups ----------------------------------------------------


# the API version before subscriptions carried tenantId and tenants their names (azure-rest-api-specs
# Microsoft.Resources stable/2016-06-01 subscriptions.json: Subscription, TenantIdDescription)
OLD_SUBSCRIPTIONS_API = "2016-06-01"


def _sub_json(sub, version=None):
    body = {
        "id": "/subscriptions/" + sub["id"],
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub["id"],
        "tenantId": sub["tenant"],
        "displayName": sub["name"],
        "state": sub["state"],
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }
    if version == OLD_SUBSCRIPTIONS_API:
        del body["tenantId"], body["managedByTenants"]
    return body


def list_subscriptions(req):
    version = req.query.get("api-version")
    subs = [
        _sub_json(s, version)
        for s in req.emu.state["subscriptions"].values()
        if s["tenant"] == req.claims.get("tid")
        and (s.get("users") is None or req.claims.get("oid") in s["users"])
    ]
    body = {"value": subs, "count": {"type": "Total", "value": len(subs)}}
    if version == OLD_SUBSCRIPTIONS_API:
        del body["count"]
    return Response.json(200, body)


def get_subscription(req, sub_id):
    return Response.json(200, _sub_json(subscription(req, sub_id), req.query.get("api-version")))


def list_locations(req, sub_id):
    subscription(req, sub_id)
    value = [
        {
            "id": "/subscriptions/%s/locations/%s" % (sub_id, name),
            "name": name,
            "displayName": label,
            "regionalDisplayName": label,
            "type": "Region",
            "metadata": {"regionType": "Physical"},
        }
        for name, label in d.REGIONS.items()
    ]
    # Azure lists Logical regions too (no datacenter: no VM goes there), contract/fixtures/arm/locations.json
    value.append(
        {
            "id": "/subscriptions/%s/locations/unitedstates" % sub_id,
            "name": "unitedstates",
            "displayName": "United States",
            "regionalDisplayName": "United States",
            "type": "Region",
            "metadata": {"regionType": "Logical", "regionCategory": "Other", "geographyGroup": "US"},
        }
    )
    return Response.json(200, {"value": value})


def list_tenants(req):
    tenant = req.emu.state["tenants"].get(req.claims.get("tid"))
    value = []
    if tenant and req.query.get("api-version") == OLD_SUBSCRIPTIONS_API:
        value.append({"id": "/tenants/" + tenant["id"], "tenantId": tenant["id"]})
    elif tenant:
        value.append(
            {
                "id": "/tenants/" + tenant["id"],
                "tenantId": tenant["id"],
                "tenantCategory": "Home",
                "countryCode": "FR",
                "displayName": tenant["name"],
                "domains": tenant["domains"],
                "defaultDomain": tenant["domain"],
                "tenantType": "AAD",
            }
        )
    return Response.json(200, {"value": value})


def _provider_json(sub, namespace):
    ns = _canonical_ns(sub, namespace)
    state = sub["providers"].get(ns, "NotRegistered")
    return {
        "id": "/subscriptions/%s/providers/%s" % (sub["id"], ns),
        "namespace": ns,
        "registrationState": state,
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [
            {
                "resourceType": t,
                "locations": list(d.REGIONS.values()),
                "apiVersions": ["2024-07-01", "2023-09-01"],
            }
            for t in PROVIDER_TYPES.get(ns, [])
        ],
    }


def _tick_registrations(emu, sub, namespace=None):
    """A read of a provider (``namespace``; None: the list, all of them) counts as a
    poll: a provider answers Registering to ``registration_polls`` reads, then Registered. Real
    registration takes minutes; azure-mgmt-core's auto-registration would sleep
    10 s per Registering answer."""
    pending = sub.setdefault("_registering", {})
    for ns, state in sub["providers"].items():
        if state != "Registering" or (namespace and ns.lower() != namespace.lower()):
            continue
        pending[ns] = pending.get(ns, 0) + 1
        if pending[ns] > emu.state.config["registration_polls"]:
            sub["providers"][ns] = "Registered"
            pending.pop(ns)


def list_providers(req, sub_id):
    sub = subscription(req, sub_id)
    _tick_registrations(req.emu, sub)
    names = sorted(set(PROVIDER_TYPES) | set(sub["providers"]))
    return Response.json(200, {"value": [_provider_json(sub, ns) for ns in names]})


def get_provider(req, sub_id, namespace):
    sub = subscription(req, sub_id)
    _tick_registrations(req.emu, sub, namespace)
    return Response.json(200, _provider_json(sub, namespace))


def register_provider(req, sub_id, namespace, action):
    sub = subscription(req, sub_id)
    ns = _canonical_ns(sub, namespace)
    if action.lower() == "register":
        if sub["providers"].get(ns) not in ("Registered", "Registering"):
            sub["providers"][ns] = (
                "Registering" if req.emu.state.config["registration_polls"] else "Registered"
            )
            sub.setdefault("_registering", {}).pop(ns, None)
    else:
        sub["providers"][ns] = "Unregistered"
    body = _provider_json(sub, ns)
    return Response.json(200, body)


def put_group(req, sub_id, rg):
    subscription(req, sub_id, write=True)
    body = req.json()
    rid = group_id(sub_id, rg)
    existing = get_res(req.emu, rid)
    if existing is not None:
        existing["tags"] = body.get("tags", existing.get("tags", {}))
        return Response.json(200, public(existing))
    if not re.match(r"^[-\w._()]{1,90}$", rg) or rg.endswith("."):
        fail(400, "InvalidResourceGroupName", "The resource group name '%s' is invalid." % rg)
    res = put_res(
        req.emu,
        {
            "id": rid,
            "name": rg,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location_of(body),
            "tags": body.get("tags") or {},
            "properties": {"provisioningState": "Succeeded"},
        },
    )
    return Response.json(201, public(res))


def get_group(req, sub_id, rg):
    subscription(req, sub_id)
    res = get_res(req.emu, group_id(sub_id, rg))
    if req.method == "HEAD":
        return Response(204 if res else 404)
    if res is None:
        require_group(req, sub_id, rg)
    return Response.json(200, public(res))


def patch_group(req, sub_id, rg):
    subscription(req, sub_id, write=True)
    res = require_group(req, sub_id, rg)
    body = req.json()
    if "tags" in body:
        res["tags"] = body["tags"] or {}
    return Response.json(200, public(res))


def delete_group(req, sub_id, rg):
    subscription(req, sub_id, write=True)
    emu = req.emu
    rid = group_id(sub_id, rg)
    res = require_group(req, sub_id, rg)
    res["properties"]["provisioningState"] = "Deleting"

    def done():
        for child in children(emu, rid):
            hook = emu.delete_hooks.get(child.get("type", "").lower())
            if hook:
                hook(child)
            del_res(emu, child["id"])
        del_res(emu, rid)

    op = start_op(req, sub_id, "Microsoft.Resources", res["location"], rid, done)
    return Response(202, b"", op_headers(req, op, async_header=False))


def list_groups(req, sub_id):
    subscription(req, sub_id)
    prefix = "/subscriptions/%s/resourcegroups/" % sub_id.lower()
    value = [
        public(r) for k, r in req.emu.state["resources"].items() if k.startswith(prefix) and k.count("/") == 4
    ]
    return Response.json(200, {"value": value})


def list_group_resources(req, sub_id, rg):
    subscription(req, sub_id)
    require_group(req, sub_id, rg)
    value = [
        {
            "id": r["id"],
            "name": r["name"],
            "type": r["type"],
            "location": r.get("location"),
            "tags": r.get("tags", {}),
        }
        for r in children(req.emu, group_id(sub_id, rg) + "/providers")
        if r["id"].count("/") == 8
    ]
    return Response.json(200, {"value": value})


def register(router):
    s = r"/subscriptions/([^/]+)"
    subs, tenants = "subscriptions.subscriptions", "subscriptions.tenants"
    providers, groups = "resources.providers", "resources.resource_groups"
    router.add("GET", r"/subscriptions", list_subscriptions, api=subs)
    router.add("GET", s, get_subscription, api=subs)
    router.add("GET", s + r"/locations", list_locations, api=subs)
    router.add("GET", r"/tenants", list_tenants, api=tenants)
    router.add("GET", s + r"/providers", list_providers, api=providers)
    router.add("GET", s + r"/providers/([^/]+)", get_provider, api=providers)
    router.add("POST", s + r"/providers/([^/]+)/(register|unregister)", register_provider, api=providers)
    # an operation's status and result: URLs the emulator gave, with the version of the request
    router.add(
        "GET", s + r"/providers/([^/]+)/locations/([^/]+)/(?:operations|asyncoperations)/([^/]+)", op_status
    )
    router.add("GET", s + r"/providers/([^/]+)/locations/([^/]+)/operationResults/([^/]+)", op_result)
    router.add("GET", s + r"/resourcegroups", list_groups, api=groups)
    router.add("PUT", s + r"/resourcegroups/([^/]+)", put_group, api=groups)
    router.add("GET HEAD", s + r"/resourcegroups/([^/]+)", get_group, api=groups)
    router.add("PATCH", s + r"/resourcegroups/([^/]+)", patch_group, api=groups)
    router.add("DELETE", s + r"/resourcegroups/([^/]+)", delete_group, api=groups)
    router.add("GET", s + r"/resourcegroups/([^/]+)/resources", list_group_resources, api=groups)


# -- shared write patterns ------------------------------------------------------------------------


def lro_write(req, sub_id, namespace, res, created, pending_state="Updating", on_done=None, on_failed=None):
    """Store ``res`` and answer 201/200 with an Azure-AsyncOperation to poll."""
    emu = req.emu
    put_res(emu, res)
    res.setdefault("properties", {})["provisioningState"] = pending_state
    rid = res["id"]

    def success():
        current = get_res(emu, rid)
        if current is not None:
            current["properties"]["provisioningState"] = "Succeeded"
            if on_done:
                on_done(current)

    def failure(op):
        current = get_res(emu, rid)
        if current is not None:
            current["properties"]["provisioningState"] = "Failed"
            if on_failed:
                on_failed(current, op)

    op = start_op(req, sub_id, namespace, res.get("location"), rid, success, failure)
    return Response.json(201 if created else 200, public(res), op_headers(req, op, location_header=False))


def lro_delete(req, sub_id, namespace, rid, on_done=None):
    """Mark Deleting and answer 202; the resource goes when the LRO ends."""
    emu = req.emu
    res = get_res(emu, rid)
    if res is None:
        return Response(204)
    previous = res.get("properties", {}).get("provisioningState", "Succeeded")
    res.setdefault("properties", {})["provisioningState"] = "Deleting"

    def success():
        gone = del_res(emu, rid)
        if gone is not None and on_done:
            on_done(gone)

    def failure(op):
        current = get_res(emu, rid)
        if current is not None:
            current["properties"]["provisioningState"] = previous

    op = start_op(req, sub_id, namespace, res.get("location"), rid, success, failure)
    return Response(202, b"", op_headers(req, op))


def referenced(req, ref, what):
    """The resource a body references by id, or ARM's 400 for a dangling one."""
    rid = (ref or {}).get("id")
    res = get_res(req.emu, rid) if rid else None
    if res is None:
        fail(
            400,
            "InvalidResourceReference",
            "Resource %s referenced by resource %s was not found. Please make sure "
            "that the referenced resource exists, and that both resources are in the same region."
            % (rid, what),
        )
    return res
