"""Microsoft.Compute: virtual machines (LRO create/actions/delete), disks,
resource SKUs, usages and VM sizes, with SkuNotAvailable and QuotaExceeded."""

import uuid

from . import arm_core as core
from . import arm_network
from . import defaults as d
from .http import Response

NS = "Microsoft.Compute"
VM_TYPE = "Microsoft.Compute/virtualMachines"
ACTIONS = {  # action: (transient power state, final power state)
    "start": ("starting", "running"),
    "deallocate": ("deallocating", "deallocated"),
    "poweroff": ("stopping", "stopped"),
    "restart": ("starting", "running"),
}
POWER_LABELS = {
    "running": "VM running",
    "starting": "VM starting",
    "stopping": "VM stopping",
    "stopped": "VM stopped",
    "deallocating": "VM deallocating",
    "deallocated": "VM deallocated",
}


def _vm_id(sub_id, rg, name):
    return "%s/providers/%s/virtualMachines/%s" % (core.group_id(sub_id, rg), NS, name)


def _usage(emu, sub_id, location, exclude=None):
    """vCPUs in use per family and in total for a region (deallocated VMs free theirs)."""
    families, total, count = {}, 0, 0
    prefix = "/subscriptions/%s/" % sub_id.lower()
    for key, res in emu.state["resources"].items():
        if (
            not key.startswith(prefix)
            or res["type"] != VM_TYPE
            or res["location"] != location
            or key == exclude
        ):
            continue
        count += 1
        if res["_power"] in ("deallocated", "deallocating"):
            continue
        family, cores = d.VM_SKUS[res["properties"]["hardwareProfile"]["vmSize"]][:2]
        families[family] = families.get(family, 0) + cores
        total += cores
    return families, total, count


def _limits(sub, location):
    quotas = sub["quotas"].get(location, {})
    return quotas, quotas.get("cores", d.REGIONAL_QUOTA)


def _check_capacity(req, sub, location, size, rid):
    if size not in d.VM_SKUS:
        core.fail(
            400,
            "InvalidParameter",
            "The value %s provided for the VM size is not valid. The valid sizes in the "
            "current region are: %s." % (size, ", ".join(d.VM_SKUS)),
            target="vmSize",
        )
    if size in sub["sku_restrictions"].get(location, []):
        core.fail(
            409,
            "SkuNotAvailable",
            "The requested VM size for resource 'Following SKUs have failed for "
            "Capacity Restrictions: %s' is currently not available in location '%s'. Please try another size "
            "or deploy to a different location or different zone. See "
            "https://aka.ms/azureskunotavailable for "
            "details." % (size, location),
        )
    family, cores = d.VM_SKUS[size][:2]
    used_families, used_total, _count = _usage(req.emu, sub["id"], location, exclude=rid.lower())
    quotas, regional = _limits(sub, location)
    limit = quotas.get(family, d.FAMILY_QUOTA)
    for name, used, cap in ((family, used_families.get(family, 0), limit), ("cores", used_total, regional)):
        if used + cores > cap:
            core.fail(
                409,
                "QuotaExceeded",
                "Operation could not be completed as it results in exceeding approved %s "
                "Cores quota. Additional details - Deployment Model: Resource Manager, Location: %s, Current "
                "Limit: %d, Current Usage: %d, Additional Required: %d, (Minimum) New Limit "
                "Required: %d. Submit "
                "a request for Quota increase at https://aka.ms/ProdportalCRP/#blade/Microsoft_Azure_Capacity/"
                "UsageAndQuota.ReactView/Parameters/ for more details."
                % (name, location, cap, used, cores, used + cores),
            )


# (publisher, offer, sku) of Marketplace images: (Hyper-V generation, CPU architecture); the
# product's images are the Generation 2 x64 ones. Images not listed here are not checked.
IMAGES = {
    ("canonical", "ubuntu-24_04-lts", "server"): ("V2", "x64"),
    ("canonical", "ubuntu-24_04-lts", "server-gen1"): ("V1", "x64"),
    ("canonical", "ubuntu-24_04-lts", "server-arm64"): ("V2", "Arm64"),
    ("canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2"): ("V2", "x64"),
    ("canonical", "0001-com-ubuntu-server-jammy", "22_04-lts"): ("V1", "x64"),
    ("canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-arm64"): ("V2", "Arm64"),
}


def _check_boot(size, image):
    """Refuse a size that cannot boot the image, as Compute does on the VM's PUT: 400 BadRequest.
    The generation message is Azure's, as quoted in public reports of it (skypilot-org/skypilot
    issue 133, loft-sh/devpod issue 731, gardener/gardener-extension-provider-azure issue 972);
    of the architecture message only its start and end are quoted (microsoft/lisa pull request
    4560), the middle is ours."""
    image = image or {}
    key = tuple((image.get(k) or "").lower() for k in ("publisher", "offer", "sku"))
    if key not in IMAGES:
        return
    generation, architecture = IMAGES[key]
    caps = capabilities(size)
    if generation not in [g.strip().upper() for g in caps["HyperVGenerations"].split(",")]:
        number = generation[1:]
        core.fail(
            400,
            "BadRequest",
            "The selected VM size '%s' cannot boot Hypervisor Generation '%s'. If this was a Create "
            "operation please check that the Hypervisor Generation of the Image matches the Hypervisor "
            "Generation of the selected VM Size. If this was an Update operation please select a "
            "Hypervisor Generation '%s' VM Size. For more information, see https://aka.ms/azuregen2vm"
            % (size, number, number),
        )
    if caps["CpuArchitectureType"].lower() != architecture.lower():
        core.fail(
            400,
            "BadRequest",
            "Cannot create a VM of size '%s' because this VM size only supports a CPU Architecture of "
            "'%s', but an image or disk with CPU Architecture '%s' was given. Please check that the CPU "
            "Architecture of the image or disk is compatible with that of the VM size."
            % (size, caps["CpuArchitectureType"], architecture),
        )


def _instance_view(res):
    power = res["_power"]
    state = res["properties"]["provisioningState"]
    statuses = [
        {
            "code": "ProvisioningState/%s" % state.lower(),
            "level": "Error" if state == "Failed" else "Info",
            "displayStatus": "Provisioning %s" % state.lower(),
            "time": res["properties"]["timeCreated"],
        }
    ]
    if power:
        statuses.append(
            {"code": "PowerState/" + power, "level": "Info", "displayStatus": POWER_LABELS[power]}
        )
    return {
        "computerName": res["properties"].get("osProfile", {}).get("computerName"),
        "osName": "ubuntu",
        "osVersion": "22.04",
        "statuses": statuses,
        "vmAgent": {
            "vmAgentVersion": "2.9.1.1",
            "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready"}],
        },
    }


def _vm_json(res, expand=False):
    out = core.public(res)
    if expand:
        out["properties"]["instanceView"] = _instance_view(res)
    return out


def put_vm(req, sub_id, rg, name):
    sub = core.scope_for(req, sub_id, rg, NS)
    emu = req.emu
    body = req.json()
    rid = _vm_id(sub_id, rg, name)
    existing = emu.state["resources"].get(rid.lower())
    props = body.get("properties") or {}
    location = core.location_of(body, existing and existing["location"])
    size = (props.get("hardwareProfile") or {}).get("vmSize") or (
        existing and existing["properties"]["hardwareProfile"]["vmSize"]
    )
    if not size:
        core.fail(
            400,
            "InvalidParameter",
            "Required parameter 'hardwareProfile.vmSize' is missing (null).",
            target="vmSize",
        )
    _check_capacity(req, sub, location, size, rid)
    storage_profile = props.get("storageProfile") or (existing and existing["properties"]["storageProfile"])
    _check_boot(size, (storage_profile or {}).get("imageReference"))
    network_profile = dict(props.get("networkProfile") or {})
    configs = network_profile.get("networkInterfaceConfigurations") or []
    for nic in network_profile.get("networkInterfaces") or []:
        core.referenced(req, nic, rid)
    if configs and not network_profile.get("networkApiVersion"):
        core.fail(
            400,
            "InvalidParameter",
            "Required parameter 'networkProfile.networkApiVersion' is missing (null).",
            target="networkApiVersion",
        )
    arm_network.check_vm_configurations(req, configs, rid)
    if existing is None:
        if not (network_profile.get("networkInterfaces") or configs):
            core.fail(
                400,
                "InvalidParameter",
                "Required parameter 'networkProfile' is missing (null).",
                target="networkProfile",
            )
        os_profile = dict(props.get("osProfile") or {})
        if not os_profile.get("adminUsername"):
            core.fail(
                400,
                "InvalidParameter",
                "Required parameter 'osProfile.adminUsername' is missing (null).",
                target="adminUsername",
            )
        os_profile.pop("adminPassword", None)
        os_profile.update(allowExtensionOperations=True, requireGuestProvisionSignal=True)
        storage = dict(props.get("storageProfile") or {})
        os_disk = dict(storage.get("osDisk") or {})
        disk_name = os_disk.get("name") or "%s_OsDisk_1_%s" % (name, uuid.uuid4().hex)
        disk_id = "%s/providers/%s/disks/%s" % (core.group_id(sub_id, rg), NS, disk_name)
        os_disk.update(
            name=disk_name,
            osType="Linux",
            createOption=os_disk.get("createOption", "FromImage"),
            deleteOption=os_disk.get("deleteOption", "Detach"),
            diskSizeGB=os_disk.get("diskSizeGB", 30),
            managedDisk=dict(os_disk.get("managedDisk") or {}, id=disk_id),
        )
        storage["osDisk"] = os_disk
        storage.setdefault("dataDisks", [])
        res = {
            "id": rid,
            "name": name,
            "type": VM_TYPE,
            "location": location,
            "tags": body.get("tags") or {},
            "zones": body.get("zones"),
            "_power": "starting",
            "properties": {
                "vmId": str(uuid.uuid4()),
                "hardwareProfile": {"vmSize": size},
                "storageProfile": storage,
                "osProfile": os_profile,
                "networkProfile": network_profile,
                "timeCreated": core.now_iso(),
            },
        }
        if body.get("identity"):
            res["identity"] = body["identity"]
        if res["zones"] is None:
            res.pop("zones")
        core.put_res(
            emu,
            {
                "id": disk_id,
                "name": disk_name,
                "type": NS + "/disks",
                "location": location,
                "properties": {
                    "diskSizeGB": os_disk["diskSizeGB"],
                    "diskState": "Attached",
                    "provisioningState": "Succeeded",
                    "osType": "Linux",
                },
                "managedBy": rid,
            },
        )

        def created(current):
            current["_power"] = "running"

        def failed(current, op):
            current["_power"] = None

        if configs:
            # Compute makes the NICs (and public IPs) of the configurations with the VM
            network_profile["networkInterfaces"] = arm_network.create_vm_nics(
                req, sub_id, rg, rid, location, configs
            )
        arm_network.link_vm(emu, res)

        return core.lro_write(req, sub_id, NS, res, True, "Creating", created, failed)
    res = existing
    res["tags"] = body.get("tags", res.get("tags", {}))
    res["properties"]["hardwareProfile"]["vmSize"] = size

    def started(current):
        current["_power"] = "running"

    # a PUT again on a VM whose creation failed (AllocationFailed...) retries it: it runs once done
    retried = res["_power"] is None
    return core.lro_write(req, sub_id, NS, res, False, "Updating", started if retried else None)


def get_vm(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    res = core.require_res(req, _vm_id(sub_id, rg, name), VM_TYPE, name, rg)
    return Response.json(200, _vm_json(res, "instanceview" in req.query.get("$expand", "").lower()))


def vm_instance_view(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    res = core.require_res(req, _vm_id(sub_id, rg, name), VM_TYPE, name, rg)
    return Response.json(200, _instance_view(res))


def vm_action(req, sub_id, rg, name, action):
    core.scope_for(req, sub_id, rg, NS)
    emu = req.emu
    rid = _vm_id(sub_id, rg, name)
    res = core.require_res(req, rid, VM_TYPE, name, rg)
    if res["properties"]["provisioningState"] in ("Creating", "Deleting"):
        core.fail(
            409,
            "OperationNotAllowed",
            "Operation '%s' is not allowed on VM '%s' since the VM is %s."
            % (action, name, res["properties"]["provisioningState"].lower()),
        )
    transient, final = ACTIONS[action.lower()]
    if action.lower() == "start":
        # Starting a deallocated VM takes its cores back: quota applies again.
        sub = emu.state["subscriptions"][sub_id.lower()]
        if res["_power"] in ("deallocated", "deallocating"):
            _check_capacity(req, sub, res["location"], res["properties"]["hardwareProfile"]["vmSize"], rid)
    previous = res["_power"]
    res["_power"] = transient
    res["properties"]["provisioningState"] = "Updating"

    def done():
        current = core.get_res(emu, rid)
        if current is not None:
            current["_power"] = final
            current["properties"]["provisioningState"] = "Succeeded"

    def failed(op):
        current = core.get_res(emu, rid)
        if current is not None:
            current["_power"] = previous
            current["properties"]["provisioningState"] = "Failed"

    op = core.start_op(req, sub_id, NS, res["location"], rid, done, failed)
    return Response(202, b"", core.op_headers(req, op))


def delete_vm(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    emu = req.emu
    rid = _vm_id(sub_id, rg, name)

    def removed(vm):
        arm_network.unlink_vm(emu, vm)
        arm_network.delete_vm_nics(emu, vm)
        disk = vm["properties"]["storageProfile"]["osDisk"]
        disk_res = core.get_res(emu, disk["managedDisk"]["id"])
        if disk_res is None:
            return
        if disk.get("deleteOption") == "Delete":
            core.del_res(emu, disk_res["id"])
        else:
            disk_res["properties"]["diskState"] = "Unattached"
            disk_res.pop("managedBy", None)

    return core.lro_delete(req, sub_id, NS, rid, removed)


def list_vms(req, sub_id, rg=None):
    core.scope_for(req, sub_id, rg, NS)
    prefix = core.group_id(sub_id, rg) if rg else "/subscriptions/%s" % sub_id
    value = [_vm_json(r) for r in core.children(req.emu, prefix) if r["type"] == VM_TYPE]
    return Response.json(200, {"value": value})


def get_disk(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    rid = "%s/providers/%s/disks/%s" % (core.group_id(sub_id, rg), NS, name)
    return Response.json(200, core.public(core.require_res(req, rid, NS + "/disks", name, rg)))


def delete_disk(req, sub_id, rg, name):
    core.scope_for(req, sub_id, rg, NS)
    rid = "%s/providers/%s/disks/%s" % (core.group_id(sub_id, rg), NS, name)
    disk = core.get_res(req.emu, rid)
    if disk is not None and disk.get("managedBy"):
        core.fail(409, "OperationNotAllowed", "Disk %s is attached to VM %s." % (name, disk["managedBy"]))
    return core.lro_delete(req, sub_id, NS, rid)


def capabilities(name):
    """{name: value} of the size's resource SKU, strings as ARM lists them."""
    _family, cores, memory, _price = d.VM_SKUS[name]
    caps = {
        "vCPUs": str(cores),
        "MemoryGB": str(memory),
        "MaxDataDiskCount": str(max(2, cores * 2)),
        "MaxResourceVolumeMB": str(4096 * cores),
        "PremiumIO": "True",
        "HyperVGenerations": "V1,V2",
        "CpuArchitectureType": "x64",
        "vCPUsAvailable": str(cores),
    }
    caps.update(d.VM_SKU_CAPABILITIES.get(name, {}))
    return caps


def _sku_json(sub, name, location):
    family, _cores, _memory, _price = d.VM_SKUS[name]
    restricted = name in sub["sku_restrictions"].get(location, [])
    return {
        "resourceType": "virtualMachines",
        "name": name,
        "tier": "Standard",
        "size": name.split("_", 1)[1],
        "family": family,
        "locations": [location],
        "locationInfo": [{"location": location, "zones": ["1", "2", "3"], "zoneDetails": []}],
        "capabilities": [{"name": key, "value": value} for key, value in capabilities(name).items()],
        "restrictions": [
            {
                "type": "Location",
                "values": [location],
                "reasonCode": "NotAvailableForSubscription",
                "restrictionInfo": {"locations": [location]},
            }
        ]
        if restricted
        else [],
    }


def list_skus(req, sub_id):
    sub = core.scope_for(req, sub_id, None, NS)
    flt = req.query.get("$filter", "")
    locations = [loc for loc in d.REGIONS if "'%s'" % loc in flt.lower()] or list(d.REGIONS)
    value = [_sku_json(sub, name, loc) for loc in locations for name in d.VM_SKUS]
    return Response.json(200, {"value": value})


def list_usages(req, sub_id, location):
    sub = core.scope_for(req, sub_id, None, NS)
    location = location.lower()
    families, total, count = _usage(req.emu, sub_id, location)
    quotas, regional = _limits(sub, location)

    def usage(value, label, current, limit):
        return {
            "unit": "Count",
            "currentValue": current,
            "limit": limit,
            "name": {"value": value, "localizedValue": label},
        }

    value = [
        usage("cores", "Total Regional vCPUs", total, regional),
        usage("virtualMachines", "Virtual Machines", count, 25000),
    ]
    for family in sorted({f for f, *_ in d.VM_SKUS.values()}):
        value.append(
            usage(
                family,
                family.replace("standard", "Standard ").replace("Family", " Family vCPUs"),
                families.get(family, 0),
                quotas.get(family, d.FAMILY_QUOTA),
            )
        )
    return Response.json(200, {"value": value})


def list_sizes(req, sub_id, location):
    core.scope_for(req, sub_id, None, NS)
    value = [
        {
            "name": name,
            "numberOfCores": cores,
            "osDiskSizeInMB": 1047552,
            "resourceDiskSizeInMB": int(capabilities(name)["MaxResourceVolumeMB"]),
            "memoryInMB": int(memory * 1024),
            "maxDataDiskCount": max(2, cores * 2),
        }
        for name, (_f, cores, memory, _p) in d.VM_SKUS.items()
    ]
    return Response.json(200, {"value": value})


def register(router):
    s = r"/subscriptions/([^/]+)"
    g = s + r"/resourceGroups/([^/]+)/providers/Microsoft\.Compute"
    vms, disks = "compute.virtual_machines", "compute.disks"
    router.add("PUT PATCH", g + r"/virtualMachines/([^/]+)", put_vm, api=vms)
    router.add("GET", g + r"/virtualMachines/([^/]+)", get_vm, api=vms)
    router.add("DELETE", g + r"/virtualMachines/([^/]+)", delete_vm, api=vms)
    router.add("GET", g + r"/virtualMachines/([^/]+)/instanceView", vm_instance_view, api=vms)
    router.add(
        "POST", g + r"/virtualMachines/([^/]+)/(start|deallocate|powerOff|restart)", vm_action, api=vms
    )
    router.add("GET", g + r"/virtualMachines", list_vms, api=vms)
    router.add("GET", g + r"/disks/([^/]+)", get_disk, api=disks)
    router.add("DELETE", g + r"/disks/([^/]+)", delete_disk, api=disks)
    router.add("GET", s + r"/providers/Microsoft\.Compute/virtualMachines", list_vms, api=vms)
    router.add("GET", s + r"/providers/Microsoft\.Compute/skus", list_skus, api="compute.resource_skus")
    router.add(
        "GET", s + r"/providers/Microsoft\.Compute/locations/([^/]+)/usages", list_usages, api="compute.usage"
    )
    # virtual machine sizes: Compute's own version, as for the virtual machines
    router.add("GET", s + r"/providers/Microsoft\.Compute/locations/([^/]+)/vmSizes", list_sizes, api=vms)
