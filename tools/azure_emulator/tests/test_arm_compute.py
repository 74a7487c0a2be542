"""VMs and their network through the real azure-mgmt clients."""

import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import (
    HardwareProfile,
    ImageReference,
    LinuxConfiguration,
    NetworkInterfaceReference,
    NetworkProfile,
    OSDisk,
    OSProfile,
    StorageProfile,
    VirtualMachine,
)
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import (
    AddressSpace,
    NetworkInterface,
    NetworkInterfaceIPConfiguration,
    PublicIPAddress,
    PublicIPAddressSku,
    Subnet,
    VirtualNetwork,
)
from azure.mgmt.resource.resources import ResourceManagementClient
from azure_emulator import defaults as d

RG = "oec-rg"


class OneShot(ARMPolling):
    """Send the initial request only; a later step resumes from the token."""

    def run(self):
        pass


LOC = "westeurope"


@pytest.fixture
def clients(credential, mgmt_kwargs):
    resources = ResourceManagementClient(credential, d.SUBSCRIPTION_ID, **mgmt_kwargs)
    resources.resource_groups.create_or_update(RG, {"location": LOC})
    return (
        resources,
        ComputeManagementClient(credential, d.SUBSCRIPTION_ID, **mgmt_kwargs),
        NetworkManagementClient(credential, d.SUBSCRIPTION_ID, **mgmt_kwargs),
    )


def _network(network, name="vm1"):
    vnet = network.virtual_networks.begin_create_or_update(
        RG,
        "vnet",
        VirtualNetwork(
            location=LOC,
            address_space=AddressSpace(address_prefixes=["10.10.0.0/16"]),
            subnets=[Subnet(name="default", address_prefix="10.10.1.0/24")],
        ),
    ).result()
    assert vnet.subnets[0].default_outbound_access is False
    pip = network.public_ip_addresses.begin_create_or_update(
        RG,
        name + "-ip",
        PublicIPAddress(
            location=LOC, sku=PublicIPAddressSku(name="Standard"), public_ip_allocation_method="Static"
        ),
    ).result()
    assert pip.ip_address and pip.provisioning_state == "Succeeded"
    nic = network.network_interfaces.begin_create_or_update(
        RG,
        name + "-nic",
        NetworkInterface(
            location=LOC,
            ip_configurations=[
                NetworkInterfaceIPConfiguration(
                    name="ipconfig1",
                    subnet=Subnet(id=vnet.subnets[0].id),
                    public_ip_address=PublicIPAddress(id=pip.id),
                )
            ],
        ),
    ).result()
    return nic


def _vm_model(nic_id, size="Standard_B2s"):
    return VirtualMachine(
        location=LOC,
        hardware_profile=HardwareProfile(vm_size=size),
        storage_profile=StorageProfile(
            image_reference=ImageReference(
                publisher="Canonical",
                offer="0001-com-ubuntu-server-jammy",
                sku="22_04-lts-gen2",
                version="latest",
            ),
            os_disk=OSDisk(create_option="FromImage", delete_option="Delete"),
        ),
        os_profile=OSProfile(
            computer_name="odoo",
            admin_username="azureuser",
            linux_configuration=LinuxConfiguration(disable_password_authentication=True),
        ),
        network_profile=NetworkProfile(network_interfaces=[NetworkInterfaceReference(id=nic_id)]),
    )


def _power(compute, name):
    vm = compute.virtual_machines.get(RG, name, expand="instanceView")
    return next(s.code for s in vm.instance_view.statuses if s.code.startswith("PowerState/"))


def test_vm_full_cycle(emu, clients):
    started = time.monotonic()
    _resources, compute, network = clients
    nic = _network(network)
    # One-shot polling like the addon's cron: start, keep the token, resume later.
    # (polling=False cannot give a continuation token with azure-core 1.41.)
    poller = compute.virtual_machines.begin_create_or_update(RG, "vm1", _vm_model(nic.id), polling=OneShot())
    token = poller.continuation_token()
    assert compute.virtual_machines.get(RG, "vm1").provisioning_state == "Creating"
    vm = compute.virtual_machines.begin_create_or_update(RG, "vm1", None, continuation_token=token).result()
    assert vm.provisioning_state == "Succeeded"
    assert _power(compute, "vm1") == "PowerState/running"
    compute.virtual_machines.begin_deallocate(RG, "vm1").result()
    assert _power(compute, "vm1") == "PowerState/deallocated"
    compute.virtual_machines.begin_start(RG, "vm1").result()
    assert _power(compute, "vm1") == "PowerState/running"
    compute.virtual_machines.begin_restart(RG, "vm1").result()
    compute.virtual_machines.begin_power_off(RG, "vm1").result()
    assert _power(compute, "vm1") == "PowerState/stopped"
    compute.virtual_machines.begin_delete(RG, "vm1").result()
    with pytest.raises(ResourceNotFoundError):
        compute.virtual_machines.get(RG, "vm1")
    assert time.monotonic() - started < 5


def test_vm_faults(emu, clients):
    _resources, compute, network = clients
    nic = _network(network)
    emu.control.update_subscription(
        d.SUBSCRIPTION_ID, sku_restrictions={LOC: ["Standard_D2s_v5"]}, quotas={LOC: {"standardBSFamily": 2}}
    )
    with pytest.raises(HttpResponseError) as exc:
        compute.virtual_machines.begin_create_or_update(
            RG, "vm1", _vm_model(nic.id, "Standard_D2s_v5")
        ).result()
    assert exc.value.error.code == "SkuNotAvailable"
    with pytest.raises(HttpResponseError) as exc:
        compute.virtual_machines.begin_create_or_update(
            RG, "vm1", _vm_model(nic.id, "Standard_B4ms")
        ).result()
    assert exc.value.error.code == "QuotaExceeded"
    skus = {s.name: s for s in compute.resource_skus.list(filter="location eq '%s'" % LOC)}
    assert skus["Standard_D2s_v5"].restrictions[0].reason_code == "NotAvailableForSubscription"
    usages = {u.name.value: u for u in compute.usage.list(LOC)}
    assert usages["standardBSFamily"].limit == 2
    emu.control.lro_fail(path="virtualMachines/vm1$", code="AllocationFailed", method="PUT")
    with pytest.raises(HttpResponseError) as exc:
        compute.virtual_machines.begin_create_or_update(RG, "vm1", _vm_model(nic.id)).result()
    assert exc.value.error.code == "AllocationFailed"
    assert compute.virtual_machines.get(RG, "vm1").provisioning_state == "Failed"
    emu.control.inject_fault(
        path="/virtualMachines/vm1/start", status=409, code="OperationNotAllowed", service="arm"
    )
    with pytest.raises(HttpResponseError) as exc:
        compute.virtual_machines.begin_start(RG, "vm1").result()
    assert exc.value.error.code == "OperationNotAllowed"


def test_missing_registration_and_auth(emu, http, credential, mgmt_kwargs):
    compute = ComputeManagementClient(credential, d.UNREGISTERED_SUBSCRIPTION_ID, **mgmt_kwargs)
    resources = ResourceManagementClient(credential, d.UNREGISTERED_SUBSCRIPTION_ID, **mgmt_kwargs)
    resources.resource_groups.create_or_update(RG, {"location": LOC})
    url = (
        "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/x?api-version=2024-07-01"
        % (emu.endpoints["arm"], d.UNREGISTERED_SUBSCRIPTION_ID, RG)
    )
    raw = http.get(url, headers={"Authorization": "Bearer " + credential.get_token().token}, timeout=5)
    assert raw.status_code == 409 and raw.json()["error"]["code"] == "MissingSubscriptionRegistration"
    # azure-mgmt-core registers the provider by itself on that error, then sleeps
    # 10 s before reading the state: refuse the register call to keep it fast.
    emu.control.inject_fault(
        path="/providers/Microsoft.Compute/register",
        method="POST",
        status=403,
        code="AuthorizationFailed",
        service="arm",
    )
    with pytest.raises(HttpResponseError) as exc:
        compute.virtual_machines.get(RG, "x")
    assert exc.value.error.code == "MissingSubscriptionRegistration"
    assert resources.providers.register("Microsoft.Compute").registration_state == "Registering"
    assert resources.providers.get("Microsoft.Compute").registration_state == "Registered"
    with pytest.raises(ResourceNotFoundError):
        compute.virtual_machines.get(RG, "x")

    from conftest import StaticCredential

    expired = emu.control.issue_token(offset=-7200)
    stale = ComputeManagementClient(
        StaticCredential(expired["access_token"], time.time() + 3600), d.SUBSCRIPTION_ID, **mgmt_kwargs
    )
    with pytest.raises(HttpResponseError) as exc:
        list(stale.virtual_machines.list_all())
    assert exc.value.status_code == 401 and exc.value.error.code == "ExpiredAuthenticationToken"
    graph = emu.control.issue_token(scope="openid profile")
    wrong = ComputeManagementClient(
        StaticCredential(graph["access_token"], time.time() + 3600), d.SUBSCRIPTION_ID, **mgmt_kwargs
    )
    with pytest.raises(HttpResponseError) as exc:
        list(wrong.virtual_machines.list_all())
    assert exc.value.error.code == "InvalidAuthenticationTokenAudience"


def test_subscriptions_and_tenants(emu, credential, mgmt_kwargs):
    from azure.mgmt.subscription import SubscriptionClient

    client = SubscriptionClient(credential, **mgmt_kwargs)
    subs = {s.subscription_id: s for s in client.subscriptions.list()}
    assert d.SUBSCRIPTION_ID in subs and subs[d.SUBSCRIPTION_ID].display_name == d.SUBSCRIPTION_NAME
    tenants = list(client.tenants.list())
    assert tenants[0].tenant_id == d.TENANT_ID


def test_basic_public_ip_refused(clients):
    _resources, _compute, network = clients
    with pytest.raises(HttpResponseError) as exc:
        network.public_ip_addresses.begin_create_or_update(
            RG,
            "basic",
            PublicIPAddress(
                location=LOC, sku=PublicIPAddressSku(name="Basic"), public_ip_allocation_method="Dynamic"
            ),
        ).result()
    assert exc.value.status_code == 400


def test_put_again_after_a_failed_creation_retries_it(emu, clients):
    _resources, compute, network = clients
    nic = _network(network, "vm3")
    emu.control.lro_fail(path="/virtualMachines/vm3", code="AllocationFailed")
    with pytest.raises(HttpResponseError) as exc:
        compute.virtual_machines.begin_create_or_update(RG, "vm3", _vm_model(nic.id)).result()
    assert exc.value.error.code == "AllocationFailed"
    compute.virtual_machines.begin_create_or_update(RG, "vm3", _vm_model(nic.id)).result()
    assert _power(compute, "vm3") == "PowerState/running"
