"""Virtual machines and their network, one method per remote call.

Long-running operations (LROs) never wait here: ``begin_*`` sends the first
request and returns the operation's continuation token (or ``None`` when Azure
finished at once); :meth:`ComputeClient.poll` asks Azure once where a token's
operation stands. The token is kept on the record, so a later cron step, in
another process after a restart, goes on where the last one stopped. After
either, :attr:`ComputeClient.retry_after` holds the seconds Azure asked to
wait before the next look (its ``Retry-After``), for the caller to schedule it.
"""

from contextlib import contextmanager

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.network import NetworkManagementClient

from odoo.addons.oec_auth_azure.services import entra

from .arm import ArmClient, _arm_errors, is_missing
from .errors import KIND_REQUEST, AzureError

# Names of the resources inside a server's own resource group: the group is
# unique per server, so these can be fixed (deterministic names make every
# step a PUT that can be repeated).
VNET = "vnet"
SUBNET = "default"
NSG = "nsg"
PUBLIC_IP = "ip"
NIC = "nic"
# the IP configuration of the NIC the VM is created with, and the public IP it is given
IP_CONFIG = "ipconfig1"
# the version of Microsoft.Network that Compute uses to create the VM's NIC and public IP
# (networkProfile.networkApiVersion): the one of our own network calls (api_versions.py)
NETWORK_API_VERSION = "2024-05-01"
VNET_PREFIX = "10.20.0.0/16"
SUBNET_PREFIX = "10.20.1.0/24"

IMAGES = {
    "ubuntu2404": {
        "publisher": "Canonical",
        "offer": "ubuntu-24_04-lts",
        "sku": "server",
        "version": "latest",
    },
    "ubuntu2204": {
        "publisher": "Canonical",
        "offer": "0001-com-ubuntu-server-jammy",
        "sku": "22_04-lts-gen2",
        "version": "latest",
    },
}

# kind of operation -> (client, operations group, begin method, positional arguments
# the SDK requires even when it only resumes from a token)
OPERATIONS = {
    "resource_group_delete": ("resources", "resource_groups", "begin_delete", 1),
    "nsg": ("network", "network_security_groups", "begin_create_or_update", 3),
    "vnet": ("network", "virtual_networks", "begin_create_or_update", 3),
    "public_ip": ("network", "public_ip_addresses", "begin_create_or_update", 3),
    "nic": ("network", "network_interfaces", "begin_create_or_update", 3),
    "vm": ("compute", "virtual_machines", "begin_create_or_update", 3),
    "start": ("compute", "virtual_machines", "begin_start", 2),
    "stop": ("compute", "virtual_machines", "begin_deallocate", 2),
    "restart": ("compute", "virtual_machines", "begin_restart", 2),
    "power_off": ("compute", "virtual_machines", "begin_power_off", 2),
}


class _SendOnly(ARMPolling):
    """Send the first request and return: the caller keeps the continuation token."""

    def run(self):
        pass

    def retry_after(self):
        """Seconds Azure's last answer asked to wait before the next look (None: it did not say)."""
        return entra.retry_after(self._pipeline_response.http_response.headers.get("Retry-After"))


class _PollOnce(_SendOnly):
    """Ask once where the operation stands (no sleeping); when it has ended,
    azure-core's own logic raises its failure or reads the final resource."""

    def run(self):
        ARMPolling.run(self)

    def _delay(self):
        pass

    def _poll(self):
        if not self.finished():
            self.update_status()
        if self.finished():
            return super()._poll()
        return None


class ComputeClient(ArmClient):
    """Compute and network calls for one signed-in account (see ArmClient)."""

    # seconds Azure asked to wait before looking at the operation begun or polled last (None: not said)
    retry_after = None

    # -- what a subscription offers (the wizard and the pre-flight checks) ------------------------

    def list_locations(self, subscription_id):
        """[{"name", "display_name"}] of the regions of the subscription."""
        with _arm_errors(), self._subscriptions("subscriptions") as client:
            return [
                {"name": loc.name, "display_name": loc.display_name}
                for loc in client.subscriptions.list_locations(subscription_id)
                if getattr(loc, "metadata", None) is None or _physical(loc)
            ]

    def list_vm_sizes(self, subscription_id, location, skipped=None):
        """VM sizes the subscription may create in ``location``: resource SKUs
        of type virtualMachines with no restriction there for it, that boot
        the images of ``IMAGES`` (see ``boot_problem``). ``skipped``: a list that
        receives {"name", "problem"} of the sizes left out for that reason.
        [{"name", "family", "vcpus", "memory_gb"}]"""
        location = location.lower()
        with _arm_errors(), self._compute(subscription_id) as client:
            skus = client.resource_skus.list(
                filter="location eq '%s'" % location, api_version=self._version("compute.resource_skus")
            )
            sizes = []
            for sku in skus:
                if sku.resource_type != "virtualMachines" or _restricted(sku, location):
                    continue
                if location not in [loc.lower() for loc in sku.locations or []]:
                    continue
                caps = {cap.name: cap.value for cap in sku.capabilities or []}
                problem = boot_problem(caps)
                if problem:
                    if skipped is not None:
                        skipped.append({"name": sku.name, "problem": problem})
                    continue
                sizes.append(
                    {
                        "name": sku.name,
                        "family": sku.family,
                        "vcpus": int(float(caps.get("vCPUs", 0))),
                        "memory_gb": float(caps.get("MemoryGB", 0)),
                    }
                )
            return sorted(sizes, key=lambda s: (s["vcpus"], s["memory_gb"], s["name"]))

    def get_usages(self, subscription_id, location):
        """{usage name: {"current", "limit", "label"}}: "cores" is the regional
        vCPU quota, families are named like "standardBSFamily"."""
        with _arm_errors(), self._compute(subscription_id) as client:
            return {
                usage.name.value: {
                    "current": usage.current_value,
                    "limit": usage.limit,
                    "label": usage.name.localized_value or usage.name.value,
                }
                for usage in client.usage.list(location, api_version=self._version("compute.usage"))
            }

    # -- the server's resources -------------------------------------------------------------------

    def create_resource_group(self, subscription_id, name, location, tags):
        """PUT the resource group (synchronous in Azure)."""
        with _arm_errors(), self._resources(subscription_id, "resource_groups") as client:
            group = client.resource_groups.create_or_update(name, {"location": location, "tags": tags})
            return {"id": group.id, "tags": dict(group.tags or {})}

    def get_resource_group(self, subscription_id, name):
        """{"id", "tags", "state"}, or None when it does not exist."""
        with _arm_errors(), self._resources(subscription_id, "resource_groups") as client:
            if not client.resource_groups.check_existence(name):
                return None
            group = client.resource_groups.get(name)
            return {
                "id": group.id,
                "tags": dict(group.tags or {}),
                "state": group.properties and group.properties.provisioning_state,
            }

    def begin_delete_resource_group(self, subscription_id, name):
        with _arm_errors(), self._resources(subscription_id, "resource_groups") as client:
            return self._begin(client.resource_groups.begin_delete(name, polling=_SendOnly()))

    def begin_create_nsg(self, subscription_id, group, location, ssh_sources, tags, https=False):
        """SSH (22) only from ``ssh_sources`` (CIDRs; none: closed), HTTP from anywhere, HTTPS from
        anywhere when ``https`` (the VM gets a certificate), else closed."""
        rules = [_rule("allow-http", 100, "80", ["*"])]
        if https:
            rules.append(_rule("allow-https", 110, "443", ["*"]))
        if ssh_sources:
            rules.append(_rule("allow-ssh", 120, "22", list(ssh_sources)))
        body = {"location": location, "tags": tags, "properties": {"securityRules": rules}}
        with _arm_errors(), self._network(subscription_id) as client:
            return self._begin(
                client.network_security_groups.begin_create_or_update(
                    group,
                    NSG,
                    body,
                    polling=_SendOnly(),
                    api_version=self._version("network.network_security_groups"),
                )
            )

    def begin_create_vnet(self, subscription_id, group, location, nsg_id, tags):
        """``nsg_id``: the NSG of the subnet, or None (servers put theirs on the VM's NIC, so that
        the virtual network does not wait for the NSG)."""
        subnet = {"addressPrefix": SUBNET_PREFIX}
        if nsg_id:
            subnet["networkSecurityGroup"] = {"id": nsg_id}
        body = {
            "location": location,
            "tags": tags,
            "properties": {
                "addressSpace": {"addressPrefixes": [VNET_PREFIX]},
                "subnets": [{"name": SUBNET, "properties": subnet}],
            },
        }
        with _arm_errors(), self._network(subscription_id) as client:
            return self._begin(
                client.virtual_networks.begin_create_or_update(
                    group,
                    VNET,
                    body,
                    polling=_SendOnly(),
                    api_version=self._version("network.virtual_networks"),
                )
            )

    def begin_create_public_ip(self, subscription_id, group, location, tags):
        """A Standard static IP (Basic SKU public IPs are retired); it also gives the VM outbound access."""
        body = {
            "location": location,
            "tags": tags,
            "sku": {"name": "Standard", "tier": "Regional"},
            "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"},
        }
        with _arm_errors(), self._network(subscription_id) as client:
            return self._begin(
                client.public_ip_addresses.begin_create_or_update(
                    group,
                    PUBLIC_IP,
                    body,
                    polling=_SendOnly(),
                    api_version=self._version("network.public_ip_addresses"),
                )
            )

    def begin_create_nic(self, subscription_id, group, location, subnet_id, public_ip_id, tags, nsg_id=None):
        body = {
            "location": location,
            "tags": tags,
            "properties": {
                "ipConfigurations": [
                    {
                        "name": "ipconfig1",
                        "properties": {
                            "subnet": {"id": subnet_id},
                            "publicIPAddress": {"id": public_ip_id},
                            "privateIPAllocationMethod": "Dynamic",
                        },
                    }
                ]
            },
        }
        if nsg_id:
            body["properties"]["networkSecurityGroup"] = {"id": nsg_id}
        with _arm_errors(), self._network(subscription_id) as client:
            return self._begin(
                client.network_interfaces.begin_create_or_update(
                    group,
                    NIC,
                    body,
                    polling=_SendOnly(),
                    api_version=self._version("network.network_interfaces"),
                )
            )

    def begin_create_vm(self, subscription_id, group, name, spec, tags):
        """``spec``: location, size, image (a key of IMAGES), admin_username,
        ssh_public_key, os_disk_gb, computer_name, custom_data (base64), and either
        ``nic_id`` (an existing NIC) or ``subnet_id`` and ``nsg_id``: Compute then creates
        the VM's NIC (with that NSG) and its Standard static public IP in the same request
        (``networkInterfaceConfigurations``, Compute 2024-07-01), all deleted with the VM."""
        if spec.get("nic_id"):
            network = {
                "networkInterfaces": [{"id": spec["nic_id"], "properties": {"deleteOption": "Delete"}}]
            }
        else:
            network = _inline_network(spec["subnet_id"], spec["nsg_id"])
        body = {
            "location": spec["location"],
            "tags": tags,
            "properties": {
                "hardwareProfile": {"vmSize": spec["size"]},
                "storageProfile": {
                    "imageReference": IMAGES[spec["image"]],
                    "osDisk": {
                        "name": name + "-osdisk",
                        "createOption": "FromImage",
                        "deleteOption": "Delete",
                        "diskSizeGB": spec["os_disk_gb"],
                        "managedDisk": {"storageAccountType": "StandardSSD_LRS"},
                    },
                },
                "osProfile": {
                    "computerName": spec["computer_name"],
                    "adminUsername": spec["admin_username"],
                    "customData": spec["custom_data"],
                    "linuxConfiguration": {
                        "disablePasswordAuthentication": True,
                        "ssh": {
                            "publicKeys": [
                                {
                                    "path": "/home/%s/.ssh/authorized_keys" % spec["admin_username"],
                                    "keyData": spec["ssh_public_key"],
                                }
                            ]
                        },
                        "patchSettings": {"patchMode": "ImageDefault"},
                    },
                },
                "networkProfile": network,
            },
        }
        with _arm_errors(), self._compute(subscription_id) as client:
            return self._begin(
                client.virtual_machines.begin_create_or_update(
                    group,
                    name,
                    body,
                    polling=_SendOnly(),
                    api_version=self._version("compute.virtual_machines"),
                )
            )

    def begin_vm_action(self, subscription_id, group, name, action):
        """``action``: start, stop (deallocate), restart or power_off."""
        _client, _ops, method, _nargs = OPERATIONS[action]
        with _arm_errors(), self._compute(subscription_id) as client:
            begin = getattr(client.virtual_machines, method)
            return self._begin(
                begin(group, name, polling=_SendOnly(), api_version=self._version("compute.virtual_machines"))
            )

    def poll(self, subscription_id, kind, token):
        """Ask once about the operation of ``token``: True when it succeeded,
        False while it runs; raises AzureError (with Azure's code) when it failed."""
        client_name, group, method, nargs = OPERATIONS[kind]
        factory = {
            "resources": lambda sub: self._resources(sub, "resource_groups"),
            "network": self._network,
            "compute": self._compute,
        }
        # no api_version here: the token holds the first request, and Azure's status URLs their own
        with _arm_errors(), factory[client_name](subscription_id) as client, _token_errors():
            poller = getattr(getattr(client, group), method)(
                *([None] * nargs), continuation_token=token, polling=_PollOnce()
            )
            # the SDK runs the (single) poll in a thread of its own: wait for it
            # (this re-raises the operation's failure)
            poller.wait()
            self.retry_after = poller.polling_method().retry_after()
            return poller.polling_method().finished()

    def get_vm_state(self, subscription_id, group, name):
        """{"provisioning_state", "power_state"} (power_state like "running",
        "deallocated"), or None when the VM does not exist."""
        with _arm_errors(), self._compute(subscription_id) as client:
            try:
                view = client.virtual_machines.instance_view(
                    group, name, api_version=self._version("compute.virtual_machines")
                )
            except ResourceNotFoundError as exc:
                if not is_missing(exc):
                    raise
                return None
            codes = [status.code or "" for status in view.statuses or []]
            return {
                "provisioning_state": next(
                    (c.split("/", 1)[1] for c in codes if c.startswith("ProvisioningState/")), None
                ),
                "power_state": next((c.split("/", 1)[1] for c in codes if c.startswith("PowerState/")), None),
            }

    def get_public_ip(self, subscription_id, group):
        """The address of the server's public IP (None until allocated): the one public IP of
        its resource group, whether made on its own (servers provisioned before) or by Compute
        with the VM (its name is Compute's choice)."""
        with _arm_errors(), self._network(subscription_id) as client:
            addresses = client.public_ip_addresses.list(
                group, api_version=self._version("network.public_ip_addresses")
            )
            return next((address.ip_address for address in addresses if address.ip_address), None)

    def nic_exists(self, subscription_id, group, name=NIC):
        """Whether the NIC ``name`` exists (made on its own by servers provisioned before)."""
        with _arm_errors(), self._network(subscription_id) as client:
            try:
                client.network_interfaces.get(
                    group, name, api_version=self._version("network.network_interfaces")
                )
            except ResourceNotFoundError as exc:
                if not is_missing(exc):
                    raise
                return False
            return True

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def resource_id(subscription_id, group, kind, name, child=None):
        """The ARM id of a resource of the server's group (children: subnets)."""
        path = "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (subscription_id, group, kind, name)
        return path + ("/subnets/%s" % child if child else "")

    def _begin(self, poller):
        """The token to resume from, or None when Azure already finished."""
        self.retry_after = poller.polling_method().retry_after()
        if poller.polling_method().finished():
            return None
        return poller.continuation_token()

    # compute and network clients take no api_version: each call passes its own (see ArmClient)
    def _compute(self, subscription_id):
        return ComputeManagementClient(self.credential, subscription_id, **self.options)

    def _network(self, subscription_id):
        return NetworkManagementClient(self.credential, subscription_id, **self.options)


def _inline_network(subnet_id, nsg_id):
    """The VM's NIC and public IP, created by Compute with the VM (shape of azure-rest-api-specs
    Compute 2024-07-01 VirtualMachine_Create_WithNetworkInterfaceConfigurationDnsSettings.json):
    one request instead of two more operations waited for one after the other."""
    return {
        "networkApiVersion": NETWORK_API_VERSION,
        "networkInterfaceConfigurations": [
            {
                "name": NIC,
                "properties": {
                    "primary": True,
                    "deleteOption": "Delete",
                    "networkSecurityGroup": {"id": nsg_id},
                    "ipConfigurations": [
                        {
                            "name": IP_CONFIG,
                            "properties": {
                                "primary": True,
                                "subnet": {"id": subnet_id},
                                # Standard and static: Basic SKU public IPs are retired
                                "publicIPAddressConfiguration": {
                                    "name": PUBLIC_IP,
                                    "sku": {"name": "Standard", "tier": "Regional"},
                                    "properties": {
                                        "deleteOption": "Delete",
                                        "publicIPAllocationMethod": "Static",
                                        "publicIPAddressVersion": "IPv4",
                                    },
                                },
                            },
                        }
                    ],
                },
            }
        ],
    }


def _rule(name, priority, port, sources):
    properties = {
        "priority": priority,
        "direction": "Inbound",
        "access": "Allow",
        "protocol": "Tcp",
        "sourcePortRange": "*",
        "destinationPortRange": port,
        "destinationAddressPrefix": "*",
    }
    if len(sources) == 1:
        properties["sourceAddressPrefix"] = sources[0]
    else:
        properties["sourceAddressPrefixes"] = sources
    return {"name": name, "properties": properties}


@contextmanager
def _token_errors():
    """A continuation token azure-core cannot read (one written by azure-core before 1.38,
    a pickle, or a damaged one) raises ValueError before any request: it can never be
    followed again, so it is an AzureError for the caller to start afresh, not a defect
    retried forever."""
    try:
        yield
    except ValueError as exc:
        raise AzureError(
            "operation.token_unreadable",
            code="ContinuationTokenUnreadable",
            kind=KIND_REQUEST,
            detail=str(exc),
        ) from exc


def boot_problem(capabilities):
    """Why a size cannot boot the images of ``IMAGES`` (Generation 2, x64), or None.

    ``capabilities``: the resource SKU's ``{name: value}``. ARM lists sizes that
    only run Generation 1 images (``HyperVGenerations`` "V1") and Arm64 sizes
    (``CpuArchitectureType`` "Arm64"); a VM of such a size fails at its last
    step, after its network exists. A SKU without these capabilities is taken
    as able to (older answers omit them)."""
    generations = [g.strip().upper() for g in (capabilities.get("HyperVGenerations") or "V2").split(",")]
    if "V2" not in generations:
        return "generation"
    architecture = (capabilities.get("CpuArchitectureType") or "x64").strip().lower()
    if architecture != "x64":
        return "architecture"
    return None


def _restricted(sku, location):
    """A SKU restriction that forbids the whole region for this subscription."""
    for restriction in sku.restrictions or []:
        # hybrid models: ``.values`` is the Mapping method, the restriction's values are ["values"]
        where = (restriction.restriction_info and restriction.restriction_info.locations) or restriction[
            "values"
        ]
        if restriction.type == "Location" and location in [v.lower() for v in where or []]:
            return True
    return False


def _physical(location):
    return getattr(location.metadata, "region_type", "Physical") in ("Physical", None)
