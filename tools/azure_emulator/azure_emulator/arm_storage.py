"""Microsoft.Storage: accounts (checkNameAvailability, LRO create with a
Location header, listKeys/regenerateKey), blob services, containers (created
in Azurite) and management policies."""

import base64
import re
import secrets

from . import arm_core as core
from .http import Response

NS = "Microsoft.Storage"
ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
NAME_RE = re.compile(r"^[a-z0-9]{3,24}$")


def setup(emu):
    emu.delete_hooks[ACCOUNT_TYPE.lower()] = lambda res: _unregister(emu, res)


def _rid(sub_id, rg, name):
    return "%s/providers/%s/storageAccounts/%s" % (core.group_id(sub_id, rg), NS, name)


def _find(emu, name):
    for res in emu.state["resources"].values():
        if res["type"] == ACCOUNT_TYPE and res["name"] == name:
            return res
    return None


def data_plane_settings(emu, name):
    """What the blob proxy enforces for ``name`` (None: not an ARM account)."""
    res = _find(emu, name)
    if res is None:
        return None
    props = res["properties"]
    acls = props.get("networkAcls") or {}
    allowed_ips = [r.get("value") for r in acls.get("ipRules") or []]
    deny = acls.get("defaultAction") == "Deny" and "127.0.0.1" not in allowed_ips
    deny = deny or props.get("publicNetworkAccess") == "Disabled"
    sub = emu.state["subscriptions"].get(res["id"].split("/")[2].lower()) or {}
    return {
        "allow_shared_key": props.get("allowSharedKeyAccess") is not False,
        "deny_network": deny,
        "id": res["id"],
        "tenant": sub.get("tenant"),
        "blob_endpoint": (props.get("primaryEndpoints") or {}).get("blob"),
        "key": res["_keys"][0],
        # blob versioning on the account (blob_versions.py; such containers imply it)
        "versioning": bool((res.get("_blob_service") or {}).get("isVersioningEnabled")),
        # containers with version-level immutability support (blob_immutability.py)
        "immutable_containers": {
            name
            for name, container in (res.get("_containers") or {}).items()
            if (container.get("immutableStorageWithVersioning") or {}).get("enabled")
        },
    }


def _new_key():
    return base64.b64encode(secrets.token_bytes(64)).decode()


def _register(emu, res):
    if emu.blob:
        emu.blob.register(res["name"], res["_keys"])


def _unregister(emu, res):
    if emu.blob:
        emu.blob.unregister(res["name"])


def _availability(emu, name):
    if not NAME_RE.match(name or ""):
        return {
            "nameAvailable": False,
            "reason": "AccountNameInvalid",
            "message": "%s is not a valid storage account name. "
            "Storage account name must be between 3 and 24 "
            "characters in length and use numbers and lower-case letters only." % name,
        }
    if _find(emu, name) is not None:
        return {
            "nameAvailable": False,
            "reason": "AlreadyExists",
            "message": "The storage account named %s is already taken." % name,
        }
    return {"nameAvailable": True}


def check_name(req, sub_id):
    core.scope_for(req, sub_id, None, NS, write=False)
    return Response.json(200, _availability(req.emu, req.json().get("name")))


def put_account(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    emu = req.emu
    body = req.json()
    rid = _rid(sub_id, rg, name)
    existing = core.get_res(emu, rid)
    if existing is not None:
        existing["tags"] = body.get("tags", existing.get("tags", {}))
        existing["properties"].update(body.get("properties") or {})
        return Response.json(200, core.public(existing))
    check = _availability(emu, name)
    if not check["nameAvailable"]:
        if check["reason"] == "AlreadyExists":
            core.fail(409, "StorageAccountAlreadyTaken", check["message"])
        core.fail(400, "AccountNameInvalid", check["message"])
    location = core.location_of(body)
    props = dict(body.get("properties") or {})
    blob = (emu.blob_url + "/%s/" % name) if emu.blob_url else "https://%s.blob.core.windows.net/" % name
    props.update(
        provisioningState="Creating",
        creationTime=core.now_iso(),
        primaryLocation=location,
        statusOfPrimary="available",
        primaryEndpoints={"blob": blob, "dfs": blob, "web": blob},
    )
    props.setdefault("minimumTlsVersion", "TLS1_2")
    props.setdefault("allowBlobPublicAccess", False)
    props.setdefault("supportsHttpsTrafficOnly", True)
    props.setdefault("accessTier", "Hot")
    props.setdefault(
        "encryption",
        {"keySource": "Microsoft.Storage", "services": {"blob": {"enabled": True, "keyType": "Account"}}},
    )
    res = {
        "id": rid,
        "name": name,
        "type": ACCOUNT_TYPE,
        "location": location,
        "tags": body.get("tags") or {},
        "sku": {"name": (body.get("sku") or {}).get("name", "Standard_LRS"), "tier": "Standard"},
        "kind": body.get("kind") or "StorageV2",
        "properties": props,
        "_keys": [_new_key(), _new_key()],
        "_containers": {},
        "_policy": None,
        "_blob_service": {},
    }
    core.put_res(emu, res)

    def done():
        current = core.get_res(emu, rid)
        if current is not None:
            _register(emu, current)
            current["properties"]["provisioningState"] = "Succeeded"

    def failed(op):
        core.del_res(emu, rid)

    op = core.start_op(
        req,
        sub_id,
        NS,
        location,
        rid,
        done,
        failed,
        result=lambda: core.public(core.get_res(emu, rid)) if core.get_res(emu, rid) else None,
    )
    # Storage answers 202 with only a Location header to poll.
    return Response(202, b"", core.op_headers(req, op, async_header=False))


def _account(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    return core.require_res(req, _rid(sub_id, rg, name), ACCOUNT_TYPE, name, rg)


def get_account(req, sub_id, rg, name):
    return Response.json(200, core.public(_account(req, sub_id, rg, name)))


def patch_account(req, sub_id, rg, name):
    res = _account(req, sub_id, rg, name)
    body = req.json()
    if "tags" in body:
        res["tags"] = body["tags"] or {}
    res["properties"].update(body.get("properties") or {})
    return Response.json(200, core.public(res))


def delete_account(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    res = core.del_res(req.emu, _rid(sub_id, rg, name))
    if res is None:
        return Response(204)
    _unregister(req.emu, res)
    return Response(200)


def list_accounts(req, sub_id, rg=None):
    core.scope_for(req, sub_id, rg, NS)
    prefix = core.group_id(sub_id, rg) if rg else "/subscriptions/%s" % sub_id
    return Response.json(
        200,
        {"value": [core.public(r) for r in core.children(req.emu, prefix) if r["type"] == ACCOUNT_TYPE]},
    )


def _keys_json(res):
    return {
        "keys": [
            {
                "keyName": "key%d" % (i + 1),
                "value": k,
                "permissions": "FULL",
                "creationTime": res["properties"]["creationTime"],
            }
            for i, k in enumerate(res["_keys"])
        ]
    }


def list_keys(req, sub_id, rg, name):
    res = _account(req, sub_id, rg, name)
    for key in res["_keys"]:
        req.emu.remember("storage_key", key)
    return Response.json(200, _keys_json(res))


def regenerate_key(req, sub_id, rg, name):
    res = _account(req, sub_id, rg, name)
    which = req.json().get("keyName", "key1")
    index = 1 if which.lower() == "key2" else 0
    res["_keys"][index] = _new_key()
    _register(req.emu, res)
    for key in res["_keys"]:
        req.emu.remember("storage_key", key)
    return Response.json(200, _keys_json(res))


def _container_json(res, name, props):
    return {
        "id": "%s/blobServices/default/containers/%s" % (res["id"], name),
        "name": name,
        "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
        "etag": '"0x8D%X"' % hash(name),
        "properties": props,
    }


def put_container(req, sub_id, rg, name, container):
    res = _account(req, sub_id, rg, name)
    emu = req.emu
    if not re.match(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", container):
        core.fail(
            400, "ContainerOperationFailure", "The specified resource name contains invalid characters."
        )
    props = dict(req.json().get("properties") or {})
    props.setdefault("publicAccess", "None")
    previous = res["_containers"].get(container) or {}
    if (previous.get("immutableStorageWithVersioning") or {}).get("enabled"):
        # once enabled, version-level immutability support cannot be removed (Learn, "Version-level
        # WORM policies": Migration)
        props["immutableStorageWithVersioning"] = {"enabled": True}
    props.update(
        lastModifiedTime=core.now_iso(),
        leaseStatus="Unlocked",
        leaseState="Available",
        hasImmutabilityPolicy=False,
        hasLegalHold=False,
        deleted=False,
    )
    created = container not in res["_containers"]
    if created and emu.blob:
        status, body = emu.blob.request(name, "PUT", "/" + container, {"restype": "container"})
        if status not in (201, 409):
            core.fail(500, "InternalServerError", "Azurite refused the container: %s" % body[:200])
    res["_containers"][container] = props
    return Response.json(201 if created else 200, _container_json(res, container, props))


def get_container(req, sub_id, rg, name, container):
    res = _account(req, sub_id, rg, name)
    props = res["_containers"].get(container)
    if props is None:
        core.fail(404, "ContainerNotFound", "The specified container does not exist.")
    return Response.json(200, _container_json(res, container, props))


def delete_container(req, sub_id, rg, name, container):
    res = _account(req, sub_id, rg, name)
    if res["_containers"].pop(container, None) is None:
        return Response(204)
    if req.emu.blob:
        req.emu.blob.request(name, "DELETE", "/" + container, {"restype": "container"})
    return Response(200)


def list_containers(req, sub_id, rg, name):
    res = _account(req, sub_id, rg, name)
    # Containers made through the data plane exist too: ask Azurite.
    names = set(res["_containers"])
    if req.emu.blob:
        names |= set(req.emu.blob.list_containers(name))
    value = [
        _container_json(res, c, res["_containers"].get(c, {"publicAccess": "None"})) for c in sorted(names)
    ]
    return Response.json(200, {"value": value})


def blob_service(req, sub_id, rg, name):
    res = _account(req, sub_id, rg, name)
    if req.method == "PUT":
        res["_blob_service"] = dict(req.json().get("properties") or {})
    return Response.json(
        200,
        {
            "id": res["id"] + "/blobServices/default",
            "name": "default",
            "type": "Microsoft.Storage/storageAccounts/blobServices",
            "sku": res["sku"],
            "properties": res["_blob_service"],
        },
    )


def management_policy(req, sub_id, rg, name):
    res = _account(req, sub_id, rg, name)
    if req.method == "PUT":
        policy = (req.json().get("properties") or {}).get("policy")
        if not policy or not policy.get("rules"):
            core.fail(
                400, "InvalidManagementPolicyRules", "The management policy must contain at least one rule."
            )
        res["_policy"] = {"policy": policy, "lastModifiedTime": core.now_iso()}
    elif req.method == "DELETE":
        res["_policy"] = None
        return Response(200)
    if res["_policy"] is None:
        core.fail(404, "ManagementPolicyNotFound", "No ManagementPolicy found for account %s" % name)
    return Response.json(
        200,
        {
            "id": res["id"] + "/managementPolicies/default",
            "name": "DefaultManagementPolicy",
            "type": "Microsoft.Storage/storageAccounts/managementPolicies",
            "properties": res["_policy"],
        },
    )


def register(router):
    s = r"/subscriptions/([^/]+)"
    a = s + r"/resourceGroups/([^/]+)/providers/Microsoft\.Storage/storageAccounts/([^/]+)"
    accounts, containers = "storage.storage_accounts", "storage.blob_containers"
    router.add("POST", s + r"/providers/Microsoft\.Storage/checkNameAvailability", check_name, api=accounts)
    router.add("GET", s + r"/providers/Microsoft\.Storage/storageAccounts", list_accounts, api=accounts)
    router.add(
        "GET",
        s + r"/resourceGroups/([^/]+)/providers/Microsoft\.Storage/storageAccounts",
        list_accounts,
        api=accounts,
    )
    router.add("PUT", a, put_account, api=accounts)
    router.add("GET", a, get_account, api=accounts)
    router.add("PATCH", a, patch_account, api=accounts)
    router.add("DELETE", a, delete_account, api=accounts)
    router.add("POST", a + r"/listKeys", list_keys, api=accounts)
    router.add("POST", a + r"/regenerateKey", regenerate_key, api=accounts)
    router.add("GET PUT", a + r"/blobServices/default", blob_service, api="storage.blob_services")
    router.add("PUT PATCH", a + r"/blobServices/default/containers/([^/]+)", put_container, api=containers)
    router.add("GET", a + r"/blobServices/default/containers/([^/]+)", get_container, api=containers)
    router.add("DELETE", a + r"/blobServices/default/containers/([^/]+)", delete_container, api=containers)
    router.add("GET", a + r"/blobServices/default/containers", list_containers, api=containers)
    router.add(
        "GET PUT DELETE",
        a + r"/managementPolicies/default",
        management_policy,
        api="storage.management_policies",
    )
