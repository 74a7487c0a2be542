"""Microsoft.Authorization: role assignments at any scope (2022-04-01), the built-in roles they
name (defaults.ROLES), and the checks made with them: who may assign a role, and what the blob
proxy lets a token or a user delegation SAS do (Azure RBAC on data: Storage Blob Data roles).

Azure applies a new role assignment after a delay (Microsoft Learn, "Troubleshoot Azure RBAC":
up to about 10 minutes); ``config["role_propagation_seconds"]`` models it (0: at once).
"""

import re
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import unquote

from . import arm_core as core
from . import defaults as d
from .http import Response

NS = "Microsoft.Authorization"
ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
GUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def seed_assignments(subscription_ids, owner_oid):
    """The sandbox's first user is Owner of its subscriptions (as whoever created them is)."""
    assignments = {}
    for sub_id in subscription_ids:
        name = str(uuid.uuid5(uuid.NAMESPACE_URL, "owner/%s" % sub_id))
        scope = "/subscriptions/%s" % sub_id
        assignments[name] = _assignment(scope, name, sub_id, d.ROLE_OWNER, owner_oid, "User", 0, None)
    return assignments


def _norm(scope):
    return "/" + (scope or "").strip("/").lower()


def covers(assignment_scope, scope):
    """Whether an assignment at ``assignment_scope`` applies at ``scope`` (the same or below)."""
    above, below = _norm(assignment_scope), _norm(scope)
    return below == above or below.startswith(above + "/") or above == "/"


def role_id(definition_id):
    return (definition_id or "").rstrip("/").rsplit("/", 1)[-1].lower()


def roles_of(emu, oid, scope, now=None):
    """The built-in role ids assigned to ``oid`` at ``scope`` or above that Azure applies by now."""
    now = time.time() if now is None else now
    found = set()
    for assignment in emu.state["role_assignments"].values():
        props = assignment["properties"]
        if props["principalId"] == oid and covers(props["scope"], scope) and assignment["_effective"] <= now:
            found.add(role_id(props["roleDefinitionId"]))
    return found


def may_assign(emu, oid, scope):
    return any(d.ROLES.get(role, (None, False))[1] for role in roles_of(emu, oid, scope))


def data_access(emu, oid, scope):
    """ "write", "read" or None: what the Storage Blob Data roles of ``oid`` allow at ``scope``."""
    levels = {d.ROLES[role][2] for role in roles_of(emu, oid, scope) if role in d.ROLES}
    return "write" if "write" in levels else "read" if "read" in levels else None


def may_set_immutability(emu, oid, scope):
    """Setting or removing a blob's immutability policy is the storage owner's right (Learn, "Set Blob
    Immutability Policy", Authorization): of the data roles, Storage Blob Data Owner only (its data
    actions ``blobs/*`` include ``immutableStorage/runAsSuperUser/action``; Contributor's do not)."""
    return d.ROLE_BLOB_DATA_OWNER in roles_of(emu, oid, scope)


def may_delete_version(emu, oid, scope):
    """Deleting a previous blob version: ``blobs/deleteBlobVersion/action``, of the data roles
    Storage Blob Data Owner's only (Learn, "Blob versioning", Azure RBAC action to delete a blob
    version; Contributor deletes the current version only)."""
    return d.ROLE_BLOB_DATA_OWNER in roles_of(emu, oid, scope)


def may_delegate(emu, oid, account_scope):
    """Get User Delegation Key acts on the account: its role must be at the account or above."""
    return any(d.ROLES.get(role, (None, None, None, False))[3] for role in roles_of(emu, oid, account_scope))


def _iso(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _definition_id(sub_id, role):
    return "/subscriptions/%s/providers/%s/roleDefinitions/%s" % (sub_id, NS, role)


def _assignment(scope, name, sub_id, role, principal, principal_type, now, created_by):
    return {
        "id": "%s/providers/%s/roleAssignments/%s" % (scope, NS, name),
        "name": name,
        "type": ASSIGNMENT_TYPE,
        "properties": {
            "roleDefinitionId": _definition_id(sub_id, role),
            "principalId": principal,
            "principalType": principal_type,
            "scope": scope,
            "condition": None,
            "conditionVersion": None,
            "createdOn": _iso(now),
            "updatedOn": _iso(now),
            "createdBy": created_by,
            "updatedBy": created_by,
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
        "_effective": now,
    }


def _public(assignment):
    return {k: v for k, v in assignment.items() if not k.startswith("_")}


def _scope_sub(req, scope):
    match = re.match(r"/subscriptions/([^/]+)", scope, re.IGNORECASE)
    if not match:
        core.fail(400, "InvalidScope", "The scope '%s' is not valid." % scope)
    return core.subscription(req, match.group(1)), match.group(1)


def _denied(req, action, scope):
    claims = req.claims
    core.fail(
        403,
        "AuthorizationFailed",
        "The client '%s' with object id '%s' does not have authorization to perform action '%s' over "
        "scope '%s' or the scope is invalid. If access was recently granted, please refresh your "
        "credentials." % (claims.get("upn", claims.get("appid")), claims.get("oid"), action, scope),
    )


def put_assignment(req, scope, name):
    scope = unquote(scope)
    _sub, sub_id = _scope_sub(req, scope)
    emu = req.emu
    target = "%s/providers/%s/roleAssignments/%s" % (scope, NS, name)
    if not may_assign(emu, req.claims.get("oid"), scope):
        _denied(req, "Microsoft.Authorization/roleAssignments/write", target)
    if not GUID_RE.match(name.lower()):
        core.fail(400, "InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid." % name)
    props = req.json().get("properties") or {}
    role = role_id(props.get("roleDefinitionId"))
    if role not in d.ROLES:
        core.fail(
            400,
            "RoleDefinitionDoesNotExist",
            "The specified role definition with ID '%s' does not exist." % role,
        )
    principal = props.get("principalId")
    if not principal:
        core.fail(400, "InvalidPrincipalId", "A valid principal ID must be provided for role assignment.")
    assignments = emu.state["role_assignments"]
    for other in assignments.values():
        p = other["properties"]
        same = (p["principalId"], role_id(p["roleDefinitionId"]), _norm(p["scope"]))
        if same == (principal, role, _norm(scope)) and other["name"] != name.lower():
            core.fail(409, "RoleAssignmentExists", "The role assignment already exists.")
    existing = assignments.get(name.lower())
    if existing is not None:
        return Response.json(201, _public(existing))
    now = time.time()
    assignment = _assignment(
        scope,
        name.lower(),
        sub_id,
        role,
        principal,
        props.get("principalType") or "User",
        now,
        req.claims.get("oid"),
    )
    assignment["_effective"] = now + float(emu.state.config.get("role_propagation_seconds") or 0)
    assignments[name.lower()] = assignment
    return Response.json(201, _public(assignment))


def get_assignment(req, scope, name):
    scope = unquote(scope)
    _scope_sub(req, scope)
    assignment = req.emu.state["role_assignments"].get(name.lower())
    if assignment is None or _norm(assignment["properties"]["scope"]) != _norm(scope):
        core.fail(404, "RoleAssignmentNotFound", "The role assignment '%s' is not found." % name)
    if req.method == "DELETE":
        if not may_assign(req.emu, req.claims.get("oid"), scope):
            _denied(req, "Microsoft.Authorization/roleAssignments/delete", assignment["id"])
        req.emu.state["role_assignments"].pop(name.lower())
    return Response.json(200, _public(assignment))


FILTER_PRINCIPAL = re.compile(r"principalId\s+eq\s+'([^']+)'", re.IGNORECASE)
FILTER_ASSIGNED = re.compile(r"assignedTo\('([^']+)'\)", re.IGNORECASE)


def list_assignments(req, scope):
    """At, above and below ``scope``; ``$filter``: atScope() (at or above), principalId eq '{id}',
    assignedTo('{id}') (what Azure's list supports, joined with "and")."""
    scope = unquote(scope)
    _scope_sub(req, scope)
    text = req.query.get("$filter") or ""
    at_scope = "atscope()" in text.lower()
    principal = FILTER_PRINCIPAL.search(text) or FILTER_ASSIGNED.search(text)
    value = []
    for assignment in req.emu.state["role_assignments"].values():
        props = assignment["properties"]
        if principal and props["principalId"] != principal.group(1):
            continue
        above = covers(props["scope"], scope)
        if not above and (at_scope or not covers(scope, props["scope"])):
            continue
        value.append(_public(assignment))
    return Response.json(200, {"value": value})


def register(router):
    scope = r"(/subscriptions/[^/]+(?:/.+?)?)/providers/Microsoft\.Authorization"
    api = "authorization.role_assignments"
    router.add("PUT", scope + r"/roleAssignments/([^/]+)", put_assignment, api=api)
    router.add("GET DELETE", scope + r"/roleAssignments/([^/]+)", get_assignment, api=api)
    router.add("GET", scope + r"/roleAssignments", list_assignments, api=api)
