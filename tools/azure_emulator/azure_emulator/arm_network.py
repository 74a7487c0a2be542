"""Microsoft.Network: virtual networks and subnets, NSGs and rules, Standard
public IPs (Basic is retired), network interfaces. DNS lives in arm_dns."""

import ipaddress
import uuid

from . import arm_core as core
from .http import Response

NS = "Microsoft.Network"
DEFAULT_RULES = [
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*"),
]


def _rid(sub_id, rg, kind, name):
    return "%s/providers/%s/%s/%s" % (core.group_id(sub_id, rg), NS, kind, name)


def _etag():
    return 'W/"%s"' % uuid.uuid4()


def _base(req, sub_id, rg, kind, name, body, existing):
    res = existing or {"id": _rid(sub_id, rg, kind, name), "name": name, "type": "%s/%s" % (NS, kind)}
    res["location"] = core.location_of(body, existing and existing["location"])
    res["tags"] = body.get("tags", res.get("tags") or {})
    res["etag"] = _etag()
    props = res.setdefault("properties", {})
    props["resourceGuid"] = props.get("resourceGuid") or str(uuid.uuid4())
    return res


def _child(parent, collection, name, props, etag=None):
    """A sub-resource (subnet, security rule, IP configuration) of ``parent``."""
    return {
        "id": "%s/%s/%s" % (parent["id"], collection, name),
        "name": name,
        "etag": etag or _etag(),
        "type": "%s/%s" % (parent["type"], collection),
        "properties": dict(props or {}, provisioningState="Succeeded"),
    }


def _subnet(vnet, name, props):
    subnet = _child(vnet, "subnets", name, props)
    # New VNets get private subnets by default (no default outbound access).
    subnet["properties"].setdefault("defaultOutboundAccess", False)
    return subnet


def _put_child(req, sub_id, parent, collection, child):
    """Add or replace ``child`` (by name) in the parent's list; ARM answers 201/200 + an LRO."""
    items = parent["properties"][collection]
    name = child["name"].lower()
    created = not any(i["name"].lower() == name for i in items)
    parent["properties"][collection] = [i for i in items if i["name"].lower() != name] + [child]
    op = core.start_op(req, sub_id, NS, parent["location"], child["id"], None)
    return Response.json(201 if created else 200, child, core.op_headers(req, op, location_header=False))


def put_vnet(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    body = req.json()
    rid = _rid(sub_id, rg, "virtualNetworks", name)
    existing = core.get_res(req.emu, rid)
    res = _base(req, sub_id, rg, "virtualNetworks", name, body, existing)
    props = body.get("properties") or {}
    prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or []
    if not prefixes:
        core.fail(
            400, "InvalidAddressSpace", "Address space of virtual network %s is invalid or empty." % rid
        )
    res["properties"]["addressSpace"] = {"addressPrefixes": prefixes}
    res["properties"]["subnets"] = [
        _subnet(res, s["name"], s.get("properties")) for s in props.get("subnets") or []
    ]
    res["properties"]["enableDdosProtection"] = props.get("enableDdosProtection", False)
    return core.lro_write(req, sub_id, NS, res, existing is None)


def _get(req, sub_id, rg, kind, name):
    core.scope_for(req, sub_id, rg, NS)
    res = core.require_res(req, _rid(sub_id, rg, kind, name), "%s/%s" % (NS, kind), name, rg)
    return Response.json(200, core.public(res))


def _delete(req, sub_id, rg, kind, name):
    core.scope_for(req, sub_id, rg, NS)
    rid = _rid(sub_id, rg, kind, name)
    res = core.get_res(req.emu, rid)
    if res is not None and kind in ("publicIPAddresses", "networkSecurityGroups"):
        users = res["properties"].get("ipConfiguration") or res["properties"].get("networkInterfaces")
        if users:
            core.fail(
                400,
                "InUseResource" if kind == "networkSecurityGroups" else "PublicIPAddressInUse",
                "Resource %s is in use and cannot be deleted." % rid,
            )
    if res is not None and kind == "networkInterfaces" and res["properties"].get("virtualMachine"):
        core.fail(
            400,
            "NicInUse",
            "Network Interface %s is used by existing resource %s. In order to delete the "
            "network interface, it must be dissociated from the resource."
            % (rid, res["properties"]["virtualMachine"]["id"]),
        )

    def released(gone):
        _release_nic(req.emu, gone)

    return core.lro_delete(req, sub_id, NS, rid, released if kind == "networkInterfaces" else None)


def _list(req, sub_id, rg, kind):
    core.scope_for(req, sub_id, rg, NS)
    prefix = core.group_id(sub_id, rg) if rg else "/subscriptions/%s" % sub_id
    rtype = ("%s/%s" % (NS, kind)).lower()
    return Response.json(
        200, {"value": [core.public(r) for r in core.children(req.emu, prefix) if r["type"].lower() == rtype]}
    )


def _vnet_or_404(req, sub_id, rg, vnet):
    return core.require_res(req, _rid(sub_id, rg, "virtualNetworks", vnet), NS + "/virtualNetworks", vnet, rg)


def put_subnet(req, sub_id, rg, vnet, name):
    core.scope_for(req, sub_id, rg, NS)
    res = _vnet_or_404(req, sub_id, rg, vnet)
    return _put_child(req, sub_id, res, "subnets", _subnet(res, name, req.json().get("properties")))


def _get_child(req, sub_id, rg, kind, parent, collection, name):
    core.scope_for(req, sub_id, rg, NS)
    res = core.require_res(req, _rid(sub_id, rg, kind, parent), "%s/%s" % (NS, kind), parent, rg)
    for child in res["properties"][collection]:
        if child["name"].lower() == name.lower():
            return Response.json(200, child)
    return core.not_found("%s/%s/%s" % (NS, kind, collection), "%s/%s" % (parent, name), rg)


def get_subnet(req, sub_id, rg, vnet, name):
    return _get_child(req, sub_id, rg, "virtualNetworks", vnet, "subnets", name)


def get_rule(req, sub_id, rg, nsg, name):
    # The SDK's poller ends a rule PUT with this GET.
    return _get_child(req, sub_id, rg, "networkSecurityGroups", nsg, "securityRules", name)


def put_nsg(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    body = req.json()
    rid = _rid(sub_id, rg, "networkSecurityGroups", name)
    existing = core.get_res(req.emu, rid)
    res = _base(req, sub_id, rg, "networkSecurityGroups", name, body, existing)
    res["properties"]["securityRules"] = [
        _child(res, "securityRules", rule["name"], rule.get("properties"), res["etag"])
        for rule in (body.get("properties") or {}).get("securityRules") or []
    ]
    res["properties"]["defaultSecurityRules"] = [
        {
            "id": "%s/defaultSecurityRules/%s" % (rid, n),
            "name": n,
            "properties": {
                "priority": p,
                "direction": di,
                "access": a,
                "protocol": "*",
                "sourcePortRange": "*",
                "destinationPortRange": "*",
                "sourceAddressPrefix": src,
                "destinationAddressPrefix": dst,
                "provisioningState": "Succeeded",
            },
        }
        for n, p, di, a, src, dst in DEFAULT_RULES
    ]
    return core.lro_write(req, sub_id, NS, res, existing is None)


def put_rule(req, sub_id, rg, nsg, name):
    core.scope_for(req, sub_id, rg, NS)
    res = core.require_res(
        req, _rid(sub_id, rg, "networkSecurityGroups", nsg), NS + "/networkSecurityGroups", nsg, rg
    )
    rule = _child(res, "securityRules", name, req.json().get("properties"))
    return _put_child(req, sub_id, res, "securityRules", rule)


def put_public_ip(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    emu = req.emu
    body = req.json()
    rid = _rid(sub_id, rg, "publicIPAddresses", name)
    existing = core.get_res(emu, rid)
    sku = (body.get("sku") or {}).get("name") or "Standard"
    props = body.get("properties") or {}
    method = props.get("publicIPAllocationMethod") or "Static"
    if sku.lower() == "basic":
        core.fail(
            400,
            "BasicSkuPublicIpCreationNotAllowed",
            "Basic SKU public IP addresses have been retired and "
            "can no longer be created. Use a Standard SKU public IP address.",
        )
    if method.lower() != "static":
        core.fail(
            400,
            "StandardSkuPublicIPAddressesMustBeStatic",
            "Standard sku publicIp %s must have AllocationMethod set to Static." % rid,
        )
    res = _base(req, sub_id, rg, "publicIPAddresses", name, body, existing)
    res["sku"] = {"name": "Standard", "tier": (body.get("sku") or {}).get("tier") or "Regional"}
    if body.get("zones"):
        res["zones"] = body["zones"]
    _allocate(emu, res)
    res["properties"].update(
        publicIPAllocationMethod="Static",
        publicIPAddressVersion="IPv4",
        idleTimeoutInMinutes=props.get("idleTimeoutInMinutes", 4),
    )
    if props.get("dnsSettings"):
        label = props["dnsSettings"].get("domainNameLabel")
        res["properties"]["dnsSettings"] = dict(
            props["dnsSettings"], fqdn="%s.%s.cloudapp.azure.com" % (label, res["location"])
        )
    return core.lro_write(req, sub_id, NS, res, existing is None)


def _allocate(emu, ip):
    if "ipAddress" not in ip["properties"]:
        emu.state["ip_counter"] += 1
        n = emu.state["ip_counter"]
        # 20.0.0.0/8 is Azure-owned space: addresses look real but never route here.
        ip["properties"]["ipAddress"] = "20.%d.%d.%d" % (100 + n // 65536 % 100, n // 256 % 256, n % 256)


def _subnet_of(req, ref, what):
    """(vnet, subnet) a body references, or ARM's 400 InvalidResourceReference."""
    subnet_ref = (ref or {}).get("id", "")
    vnet_id, _, subnet_name = subnet_ref.rpartition("/subnets/")
    vnet = core.get_res(req.emu, vnet_id) if vnet_id else None
    subnet = next(
        (
            s
            for s in (vnet or {}).get("properties", {}).get("subnets", [])
            if s["name"].lower() == subnet_name.lower()
        ),
        None,
    )
    if subnet is None:
        core.fail(
            400,
            "InvalidResourceReference",
            "Resource %s referenced by resource %s was not found." % (subnet_ref, what),
        )
    return vnet, subnet


def check_vm_configurations(req, configs, vm_id):
    """What Compute checks before creating a VM's NICs from ``networkInterfaceConfigurations``:
    every subnet and NSG they reference exists (InvalidResourceReference otherwise)."""
    for config in configs:
        props = config.get("properties") or {}
        if props.get("networkSecurityGroup"):
            core.referenced(req, props["networkSecurityGroup"], vm_id)
        for ip_config in props.get("ipConfigurations") or []:
            _subnet_of(req, (ip_config.get("properties") or {}).get("subnet"), vm_id)


def create_vm_nics(req, sub_id, rg, vm_id, location, configs):
    """The NICs, and their public IPs, Compute creates for a VM's ``networkInterfaceConfigurations``
    (networkProfile.networkApiVersion): the VM's ``networkInterfaces`` references. Their names are
    Compute's, not the configurations' (contract/fixtures/compute/vm_create_inline_network.json:
    the configuration's NIC is answered as toBeCreatedNetworkInterface): here the VM's name, then
    the configuration's, so that a NIC made on its own with the configuration's name (the
    product's older chain) is never taken for the VM's. A NIC or IP that exists already (the same
    VM's PUT sent again) is kept."""
    emu = req.emu
    refs = []
    vm_name = vm_id.rsplit("/", 1)[1]
    for config in configs:
        props = config.get("properties") or {}
        nic_name = _compute_name(vm_name, config["name"])
        nic_id = _rid(sub_id, rg, "networkInterfaces", nic_name)
        nic = core.get_res(emu, nic_id)
        if nic is None:
            nic = _base(req, sub_id, rg, "networkInterfaces", nic_name, {"location": location}, None)
            ip_configs = []
            for index, ip_config in enumerate(props.get("ipConfigurations") or []):
                cprops = ip_config.get("properties") or {}
                vnet, subnet = _subnet_of(req, cprops.get("subnet"), vm_id)
                network = ipaddress.ip_network(subnet["properties"].get("addressPrefix"), strict=False)
                out = {
                    "subnet": {"id": subnet["id"]},
                    "privateIPAddress": str(
                        network.network_address + 4 + index + len(core.children(emu, vnet["id"]))
                    ),
                    "privateIPAllocationMethod": "Dynamic",
                    "primary": index == 0,
                }
                pip_config = cprops.get("publicIPAddressConfiguration")
                if pip_config:
                    out["publicIPAddress"] = {
                        "id": _vm_public_ip(req, sub_id, rg, location, pip_config, vm_name)["id"]
                    }
                    pip = core.get_res(emu, out["publicIPAddress"]["id"])
                    pip["properties"]["ipConfiguration"] = {
                        "id": "%s/ipConfigurations/%s" % (nic_id, ip_config["name"])
                    }
                ip_configs.append(_child(nic, "ipConfigurations", ip_config["name"], out, nic["etag"]))
            nic["properties"].update(
                ipConfigurations=ip_configs,
                enableAcceleratedNetworking=props.get("enableAcceleratedNetworking", False),
                enableIPForwarding=False,
                nicType="Standard",
                macAddress="00-0D-3A-%02X-%02X-%02X" % tuple(uuid.uuid4().bytes[:3]),
                provisioningState="Succeeded",
            )
            if props.get("networkSecurityGroup"):
                nsg = core.referenced(req, props["networkSecurityGroup"], vm_id)
                nic["properties"]["networkSecurityGroup"] = {"id": nsg["id"]}
                nsg["properties"].setdefault("networkInterfaces", []).append({"id": nic_id})
            core.put_res(emu, nic)
        refs.append(
            {
                "id": nic["id"],
                "properties": {
                    "primary": bool(props.get("primary")),
                    "deleteOption": props.get("deleteOption", "Detach"),
                },
            }
        )
    return refs


def _compute_name(vm_name, config_name):
    """The name of a resource Compute makes for a VM from one of its configurations."""
    return "%s-%s" % (vm_name, config_name)


def _vm_public_ip(req, sub_id, rg, location, config, vm_name):
    props = config.get("properties") or {}
    sku = config.get("sku") or {"name": "Basic"}
    if sku.get("name", "").lower() == "basic":
        core.fail(
            400,
            "BasicSkuPublicIpCreationNotAllowed",
            "Basic SKU public IP addresses have been retired and "
            "can no longer be created. Use a Standard SKU public IP address.",
        )
    name = _compute_name(vm_name, config["name"])
    ip = _base(req, sub_id, rg, "publicIPAddresses", name, {"location": location}, None)
    ip["sku"] = {"name": "Standard", "tier": sku.get("tier") or "Regional"}
    _allocate(req.emu, ip)
    ip["properties"].update(
        publicIPAllocationMethod="Static",
        publicIPAddressVersion=props.get("publicIPAddressVersion", "IPv4"),
        idleTimeoutInMinutes=props.get("idleTimeoutInMinutes", 4),
        deleteOption=props.get("deleteOption", "Detach"),
        provisioningState="Succeeded",
    )
    core.put_res(req.emu, ip)
    return ip


def delete_vm_nics(emu, vm):
    """A deleted VM's NICs of deleteOption Delete go with it, and their public IPs of deleteOption
    Delete (Learn, "Delete a VM and its attached resources")."""
    for ref in vm["properties"]["networkProfile"].get("networkInterfaces", []):
        if (ref.get("properties") or {}).get("deleteOption") != "Delete":
            continue
        nic = core.get_res(emu, ref["id"])
        if nic is None:
            continue
        _release_nic(emu, nic)
        core.del_res(emu, nic["id"])
        for config in nic["properties"].get("ipConfigurations", []):
            pip = core.get_res(emu, (config["properties"].get("publicIPAddress") or {}).get("id", ""))
            if pip is not None and pip["properties"].get("deleteOption") == "Delete":
                core.del_res(emu, pip["id"])


def put_nic(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    emu = req.emu
    body = req.json()
    rid = _rid(sub_id, rg, "networkInterfaces", name)
    existing = core.get_res(emu, rid)
    props = body.get("properties") or {}
    configs = props.get("ipConfigurations") or []
    if not configs:
        core.fail(
            400, "InvalidRequestFormat", "Network interface %s must have at least one IP configuration." % rid
        )
    res = _base(req, sub_id, rg, "networkInterfaces", name, body, existing)
    out = []
    for index, config in enumerate(configs):
        cprops = dict(config.get("properties") or {})
        subnet_ref = (cprops.get("subnet") or {}).get("id", "")
        vnet_id, _, subnet_name = subnet_ref.rpartition("/subnets/")
        vnet = core.get_res(emu, vnet_id) if vnet_id else None
        subnet = next(
            (
                s
                for s in (vnet or {}).get("properties", {}).get("subnets", [])
                if s["name"].lower() == subnet_name.lower()
            ),
            None,
        )
        if subnet is None:
            core.fail(
                400,
                "InvalidResourceReference",
                "Resource %s referenced by resource %s was not found." % (subnet_ref, rid),
            )
        network = ipaddress.ip_network(subnet["properties"].get("addressPrefix", "10.0.0.0/24"), strict=False)
        cprops["privateIPAddress"] = cprops.get("privateIPAddress") or str(
            network.network_address + 4 + index + len(core.children(emu, vnet_id))
        )
        cprops.setdefault("privateIPAllocationMethod", "Dynamic")
        cprops["primary"] = index == 0
        if cprops.get("publicIPAddress"):
            pip = core.referenced(req, cprops["publicIPAddress"], rid)
            pip["properties"]["ipConfiguration"] = {"id": "%s/ipConfigurations/%s" % (rid, config["name"])}
        out.append(_child(res, "ipConfigurations", config["name"], cprops, res["etag"]))
    res["properties"]["ipConfigurations"] = out
    if props.get("networkSecurityGroup"):
        nsg = core.referenced(req, props["networkSecurityGroup"], rid)
        res["properties"]["networkSecurityGroup"] = {"id": nsg["id"]}
        nsg["properties"].setdefault("networkInterfaces", []).append({"id": rid})
    res["properties"].update(
        enableAcceleratedNetworking=props.get("enableAcceleratedNetworking", False),
        enableIPForwarding=False,
        nicType="Standard",
        macAddress="00-0D-3A-%02X-%02X-%02X" % tuple(uuid.uuid4().bytes[:3]),
    )
    return core.lro_write(req, sub_id, NS, res, existing is None)


def _release_nic(emu, nic):
    for config in nic["properties"].get("ipConfigurations", []):
        pip = core.get_res(emu, (config["properties"].get("publicIPAddress") or {}).get("id", ""))
        if pip is not None:
            pip["properties"].pop("ipConfiguration", None)
    nsg = core.get_res(emu, (nic["properties"].get("networkSecurityGroup") or {}).get("id", ""))
    if nsg is not None:
        nsg["properties"]["networkInterfaces"] = [
            n for n in nsg["properties"].get("networkInterfaces", []) if n["id"].lower() != nic["id"].lower()
        ]


def link_vm(emu, vm):
    """Called by compute: NICs know the VM they serve (NicInUse on delete)."""
    for ref in vm["properties"]["networkProfile"].get("networkInterfaces", []):
        nic = core.get_res(emu, ref["id"])
        if nic is not None:
            nic["properties"]["virtualMachine"] = {"id": vm["id"]}


def unlink_vm(emu, vm):
    for ref in vm["properties"]["networkProfile"].get("networkInterfaces", []):
        nic = core.get_res(emu, ref["id"])
        if nic is not None:
            nic["properties"].pop("virtualMachine", None)


def register(router):
    s = r"/subscriptions/([^/]+)"
    g = s + r"/resourceGroups/([^/]+)/providers/Microsoft\.Network"
    for kind, put, api in (
        ("virtualNetworks", put_vnet, "network.virtual_networks"),
        ("networkSecurityGroups", put_nsg, "network.network_security_groups"),
        ("publicIPAddresses", put_public_ip, "network.public_ip_addresses"),
        ("networkInterfaces", put_nic, "network.network_interfaces"),
    ):
        router.add("PUT", g + r"/%s/([^/]+)" % kind, put, api=api)
        router.add(
            "GET",
            g + r"/%s/([^/]+)" % kind,
            lambda req, sub_id, rg, name, kind=kind: _get(req, sub_id, rg, kind, name),
            api=api,
        )
        router.add(
            "DELETE",
            g + r"/%s/([^/]+)" % kind,
            lambda req, sub_id, rg, name, kind=kind: _delete(req, sub_id, rg, kind, name),
            api=api,
        )
        router.add(
            "GET", g + r"/%s" % kind, lambda req, sub_id, rg, kind=kind: _list(req, sub_id, rg, kind), api=api
        )
        router.add(
            "GET",
            s + r"/providers/Microsoft\.Network/%s" % kind,
            lambda req, sub_id, kind=kind: _list(req, sub_id, None, kind),
            api=api,
        )
    vnets, nsgs = "network.virtual_networks", "network.network_security_groups"
    router.add("PUT", g + r"/virtualNetworks/([^/]+)/subnets/([^/]+)", put_subnet, api=vnets)
    router.add("GET", g + r"/virtualNetworks/([^/]+)/subnets/([^/]+)", get_subnet, api=vnets)
    router.add("PUT", g + r"/networkSecurityGroups/([^/]+)/securityRules/([^/]+)", put_rule, api=nsgs)
    router.add("GET", g + r"/networkSecurityGroups/([^/]+)/securityRules/([^/]+)", get_rule, api=nsgs)
