"""VMs and their network through the real azure-mgmt clients."""

import json
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
    SubResource,
    VirtualMachine,
    VirtualMachineNetworkInterfaceConfiguration,
    VirtualMachineNetworkInterfaceIPConfiguration,
    VirtualMachinePublicIPAddressConfiguration,
)
from azure.mgmt.compute.models import PublicIPAddressSku as PublicIPAddressSkuCompute
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import (
    AddressSpace,
    NetworkInterface,
    NetworkInterfaceIPConfiguration,
    NetworkSecurityGroup,
    PublicIPAddress,
    PublicIPAddressSku,
    Subnet,
    VirtualNetwork,
)
from azure.mgmt.resource.resources import ResourceManagementClient
from azure_emulator import defaults as d
from conftest import PerCall, contract_fixture, version

RG = "oec-rg"


class OneShot(ARMPolling):
    """Send the initial request only; a later step resumes from the token."""

    def run(self):
        pass


LOC = "westeurope"


@pytest.fixture
def clients(credential, mgmt_kwargs):
    resources = ResourceManagementClient(
        credential, d.SUBSCRIPTION_ID, api_version=version("resources.resource_groups"), **mgmt_kwargs
    )
    resources.resource_groups.create_or_update(RG, {"location": LOC})
    return (
        resources,
        PerCall(ComputeManagementClient(credential, d.SUBSCRIPTION_ID, **mgmt_kwargs), "compute"),
        PerCall(NetworkManagementClient(credential, d.SUBSCRIPTION_ID, **mgmt_kwargs), "network"),
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


def _vm_model(nic_id, size="Standard_B2s", image=("0001-com-ubuntu-server-jammy", "22_04-lts-gen2")):
    return VirtualMachine(
        location=LOC,
        hardware_profile=HardwareProfile(vm_size=size),
        storage_profile=StorageProfile(
            image_reference=ImageReference(
                publisher="Canonical",
                offer=image[0],
                sku=image[1],
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
    compute = PerCall(
        ComputeManagementClient(credential, d.UNREGISTERED_SUBSCRIPTION_ID, **mgmt_kwargs), "compute"
    )
    resources = ResourceManagementClient(
        credential, d.UNREGISTERED_SUBSCRIPTION_ID, api_version=version("resources.providers"), **mgmt_kwargs
    )
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
    emu.control.configure(registration_polls=0)
    assert resources.providers.register("Microsoft.Compute").registration_state == "Registered"
    with pytest.raises(ResourceNotFoundError):
        compute.virtual_machines.get(RG, "x")

    from conftest import StaticCredential

    expired = emu.control.issue_token(offset=-7200)
    stale = PerCall(
        ComputeManagementClient(
            StaticCredential(expired["access_token"], time.time() + 3600), d.SUBSCRIPTION_ID, **mgmt_kwargs
        ),
        "compute",
    )
    with pytest.raises(HttpResponseError) as exc:
        list(stale.virtual_machines.list_all())
    assert exc.value.status_code == 401 and exc.value.error.code == "ExpiredAuthenticationToken"
    graph = emu.control.issue_token(scope="openid profile")
    wrong = PerCall(
        ComputeManagementClient(
            StaticCredential(graph["access_token"], time.time() + 3600), d.SUBSCRIPTION_ID, **mgmt_kwargs
        ),
        "compute",
    )
    with pytest.raises(HttpResponseError) as exc:
        list(wrong.virtual_machines.list_all())
    assert exc.value.error.code == "InvalidAuthenticationTokenAudience"


def test_registration_answers_registering_to_several_reads(emu, credential, mgmt_kwargs):
    """Registration takes minutes in Azure (Learn, "Resolve errors for resource provider
    registration"): the provider answers Registering to ``registration_polls`` reads (3 by
    default), each provider counting its own, then Registered."""
    resources = ResourceManagementClient(
        credential, d.UNREGISTERED_SUBSCRIPTION_ID, api_version=version("resources.providers"), **mgmt_kwargs
    )
    assert resources.providers.get("Microsoft.Compute").registration_state == "NotRegistered"
    assert resources.providers.register("Microsoft.Compute").registration_state == "Registering"
    # reads of another provider are no poll of this one
    resources.providers.get("Microsoft.Storage")
    states = [resources.providers.get("Microsoft.Compute").registration_state for _ in range(4)]
    assert states == ["Registering"] * 3 + ["Registered"]
    # asking again changes nothing; the list counts as a read of every provider
    assert resources.providers.register("Microsoft.Compute").registration_state == "Registered"
    emu.control.configure(registration_polls=1)
    assert resources.providers.register("Microsoft.Network").registration_state == "Registering"
    listed = {p.namespace: p.registration_state for p in resources.providers.list()}
    assert listed["Microsoft.Network"] == "Registering"
    listed = {p.namespace: p.registration_state for p in resources.providers.list()}
    assert (listed["Microsoft.Network"], listed["Microsoft.Compute"]) == ("Registered", "Registered")


def test_subscriptions_and_tenants(emu, credential, mgmt_kwargs):
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    client = SubscriptionClient(credential, api_version=version("subscriptions.subscriptions"), **mgmt_kwargs)
    subs = {s.subscription_id: s for s in client.subscriptions.list()}
    assert d.SUBSCRIPTION_ID in subs and subs[d.SUBSCRIPTION_ID].display_name == d.SUBSCRIPTION_NAME
    assert subs[d.SUBSCRIPTION_ID].tenant_id == d.TENANT_ID
    (tenant,) = client.tenants.list()
    assert (tenant.tenant_id, tenant.display_name, tenant.default_domain) == (
        d.TENANT_ID,
        d.TENANT_NAME,
        d.TENANT_DOMAIN,
    )


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


def test_compute_throttling_is_azures_answer(emu, credential, mgmt_kwargs):
    """An injected 429 on Microsoft.Compute answers like the contract's recorded throttling."""
    (recorded,) = contract_fixture("compute/throttled_get")["exchanges"]
    # retry_total=0: the SDK would otherwise sleep Retry-After (1200 s) and try again
    compute = PerCall(
        ComputeManagementClient(credential, d.SUBSCRIPTION_ID, retry_total=0, **mgmt_kwargs), "compute"
    )
    emu.control.inject_fault(
        path="/instanceView",
        status=429,
        service="arm",
        headers={"Retry-After": recorded["headers"]["Retry-After"]},
    )
    with pytest.raises(HttpResponseError) as exc:
        compute.virtual_machines.instance_view(RG, "vm1")
    response = exc.value.response
    assert response.status_code == recorded["status"] == 429
    assert response.headers["Retry-After"] == "1200"
    name = "x-ms-ratelimit-remaining-resource"
    assert response.headers[name] == recorded["headers"][name]
    body, expected = response.json(), recorded["body"]
    assert set(body) == set(expected), "not wrapped in 'error', like Compute's answer"
    assert (body["code"], body["message"]) == (expected["code"], expected["message"])
    (detail,) = body["details"]
    assert (detail["code"], detail["target"]) == ("TooManyRequests", expected["details"][0]["target"])
    assert set(json.loads(detail["message"])) == set(json.loads(expected["details"][0]["message"]))
    assert exc.value.error.code == "OperationNotAllowed"
    assert exc.value.error.details[0].code == "TooManyRequests"
    # Retry-After of 1 s unless the test gives one
    emu.control.inject_fault(path="/instanceView", status=429, service="arm")
    with pytest.raises(HttpResponseError) as exc:
        compute.virtual_machines.instance_view(RG, "vm1")
    assert exc.value.response.headers["Retry-After"] == "1"
    assert exc.value.error.code == "OperationNotAllowed"
    # a code given by the test, or another provider: ARM's wrapped error shape
    emu.control.inject_fault(path="/instanceView", status=429, code="TooManyRequests", service="arm")
    with pytest.raises(HttpResponseError) as exc:
        compute.virtual_machines.instance_view(RG, "vm1")
    assert exc.value.response.json()["error"]["code"] == "TooManyRequests"
    resources = ResourceManagementClient(
        credential,
        d.SUBSCRIPTION_ID,
        retry_total=0,
        api_version=version("resources.resource_groups"),
        **mgmt_kwargs,
    )
    emu.control.inject_fault(path="/resourcegroups/", status=429, service="arm")
    with pytest.raises(HttpResponseError) as exc:
        resources.resource_groups.get(RG)
    assert exc.value.response.json()["error"]["code"] == "TooManyRequests"


def test_sizes_that_boot_only_generation_1_or_arm64(emu, clients):
    """The sandbox lists a Generation 1 only size and an Arm64 size with the capabilities of the
    contract's recorded resource SKUs."""
    _resources, compute, _network = clients
    (recorded,) = contract_fixture("compute/skus_region")["exchanges"]
    expected = {s["name"]: s for s in recorded["body"]["value"]}
    skus = {s.name: s for s in compute.resource_skus.list(filter="location eq '%s'" % LOC)}
    for name in ("Standard_A1", "Standard_D2ps_v5"):
        caps = {c.name: c.value for c in skus[name].capabilities}
        wanted = {c["name"]: c["value"] for c in expected[name]["capabilities"]}
        assert {k: caps.get(k) for k in wanted} == wanted, name
        assert skus[name].family == expected[name]["family"]
        assert skus[name].resource_type == "virtualMachines" and not skus[name].restrictions
    assert {c.name: c.value for c in skus["Standard_A1"].capabilities}["CpuArchitectureType"] == "x64"
    for name in set(skus) - {"Standard_A1", "Standard_D2ps_v5"}:
        caps = {c.name: c.value for c in skus[name].capabilities}
        assert (caps["HyperVGenerations"], caps["CpuArchitectureType"]) == ("V1,V2", "x64"), name
    sizes = {s.name: s for s in compute.virtual_machine_sizes.list(LOC)}
    assert (sizes["Standard_A1"].number_of_cores, sizes["Standard_A1"].memory_in_mb) == (1, 1792)
    assert sizes["Standard_A1"].resource_disk_size_in_mb == 71680
    usages = {u.name.value for u in compute.usage.list(LOC)}
    assert {"standardA0_A7Family", "standardDPSv5Family"} <= usages


def test_vm_put_refuses_a_size_the_image_cannot_boot(emu, clients):
    _resources, compute, network = clients
    nic = _network(network)
    jammy_gen2 = ("0001-com-ubuntu-server-jammy", "22_04-lts-gen2")
    noble = ("ubuntu-24_04-lts", "server")
    for size, image, message in (
        (
            "Standard_A1",
            jammy_gen2,
            "The selected VM size 'Standard_A1' cannot boot Hypervisor Generation '2'.",
        ),
        ("Standard_A1", noble, "cannot boot Hypervisor Generation '2'"),
        (
            "Standard_D2ps_v5",
            noble,
            "only supports a CPU Architecture of 'Arm64', but an image or disk with CPU ",
        ),
        ("Standard_D2ps_v5", jammy_gen2, "CPU Architecture 'x64' was given"),
        ("Standard_D2ps_v5", ("0001-com-ubuntu-server-jammy", "22_04-lts"), "Hypervisor Generation '1'"),
    ):
        before = len(emu.control.requests())
        with pytest.raises(HttpResponseError) as exc:
            compute.virtual_machines.begin_create_or_update(RG, "vm1", _vm_model(nic.id, size, image))
        assert (exc.value.status_code, exc.value.error.code) == (400, "BadRequest"), (size, image)
        assert message in exc.value.error.message
        calls = [r["status"] for r in emu.control.requests()[before:] if r["service"] == "arm"]
        assert calls == [400], "refused on the PUT, no LRO"
        with pytest.raises(ResourceNotFoundError):
            compute.virtual_machines.get(RG, "vm1")
    # the images made for these sizes boot on them
    compute.virtual_machines.begin_create_or_update(
        RG, "vm1", _vm_model(nic.id, "Standard_A1", ("0001-com-ubuntu-server-jammy", "22_04-lts"))
    ).result()
    compute.virtual_machines.begin_delete(RG, "vm1").result()
    compute.virtual_machines.begin_create_or_update(
        RG, "vm1", _vm_model(nic.id, "Standard_D2ps_v5", ("ubuntu-24_04-lts", "server-arm64"))
    ).result()
    assert _power(compute, "vm1") == "PowerState/running"
    compute.virtual_machines.begin_delete(RG, "vm1").result()
    # a Generation 2 VM cannot be resized to a Generation 1 only size
    compute.virtual_machines.begin_create_or_update(RG, "vm1", _vm_model(nic.id, image=noble)).result()
    with pytest.raises(HttpResponseError) as exc:
        compute.virtual_machines.begin_create_or_update(RG, "vm1", _vm_model(nic.id, "Standard_A1", noble))
    assert "select a Hypervisor Generation '2' VM Size" in exc.value.error.message
    assert compute.virtual_machines.get(RG, "vm1").hardware_profile.vm_size == "Standard_B2s"


def _inline_vm(nsg_id, subnet_id, network_api_version="2024-05-01"):
    """A VM whose NIC and public IP Compute creates with it (networkInterfaceConfigurations)."""
    model = _vm_model(None)
    model.network_profile = NetworkProfile(
        network_api_version=network_api_version,
        network_interface_configurations=[
            VirtualMachineNetworkInterfaceConfiguration(
                name="nic",
                primary=True,
                delete_option="Delete",
                network_security_group=SubResource(id=nsg_id),
                ip_configurations=[
                    VirtualMachineNetworkInterfaceIPConfiguration(
                        name="ipconfig1",
                        primary=True,
                        subnet=SubResource(id=subnet_id),
                        public_ip_address_configuration=VirtualMachinePublicIPAddressConfiguration(
                            name="ip",
                            sku=PublicIPAddressSkuCompute(name="Standard", tier="Regional"),
                            delete_option="Delete",
                            public_ip_allocation_method="Static",
                        ),
                    )
                ],
            )
        ],
    )
    return model


def test_vm_created_with_its_nic_and_public_ip(emu, clients):
    _resources, compute, network = clients
    nsg = network.network_security_groups.begin_create_or_update(
        RG, "nsg", NetworkSecurityGroup(location=LOC)
    ).result()
    vnet = network.virtual_networks.begin_create_or_update(
        RG,
        "vnet",
        VirtualNetwork(
            location=LOC,
            address_space=AddressSpace(address_prefixes=["10.10.0.0/16"]),
            subnets=[Subnet(name="default", address_prefix="10.10.1.0/24")],
        ),
    ).result()
    subnet_id = vnet.subnets[0].id
    with pytest.raises(HttpResponseError) as refused:
        compute.virtual_machines.begin_create_or_update(
            RG, "vm1", _inline_vm(nsg.id, subnet_id, None)
        ).result()
    assert refused.value.error.code == "InvalidParameter"
    with pytest.raises(HttpResponseError) as dangling:
        compute.virtual_machines.begin_create_or_update(
            RG, "vm1", _inline_vm(nsg.id, subnet_id.replace("/default", "/other"))
        ).result()
    assert dangling.value.error.code == "InvalidResourceReference"
    assert list(network.network_interfaces.list(RG)) == []

    vm = compute.virtual_machines.begin_create_or_update(RG, "vm1", _inline_vm(nsg.id, subnet_id)).result()
    (ref,) = vm.network_profile.network_interfaces
    # Compute names what it makes, not after the configurations (contract/fixtures/compute/
    # vm_create_inline_network.json): a NIC named like the configuration is another one
    assert ref.id.rsplit("/", 1)[1] != "nic"
    nic = network.network_interfaces.get(RG, ref.id.rsplit("/", 1)[1])
    assert nic.network_security_group.id == nsg.id
    assert nic.virtual_machine.id == vm.id
    (ip_config,) = nic.ip_configurations
    assert ip_config.subnet.id == subnet_id
    (pip,) = network.public_ip_addresses.list(RG)
    assert pip.id == ip_config.public_ip_address.id
    assert (pip.sku.name, pip.public_ip_allocation_method) == ("Standard", "Static")
    assert pip.ip_address and pip.name != "ip"
    # the same PUT again (a lost transaction) keeps the NIC and its address
    compute.virtual_machines.begin_create_or_update(RG, "vm1", _inline_vm(nsg.id, subnet_id)).result()
    assert [p.ip_address for p in network.public_ip_addresses.list(RG)] == [pip.ip_address]
    assert [n.id for n in network.network_interfaces.list(RG)] == [nic.id]
    # deleteOption Delete: the NIC and the public IP go with the VM
    compute.virtual_machines.begin_delete(RG, "vm1").result()
    assert list(network.network_interfaces.list(RG)) == []
    assert list(network.public_ip_addresses.list(RG)) == []


def test_retry_after_says_when_the_operation_may_end(emu, clients):
    """With lro_seconds, an operation's Retry-After is the whole seconds left of it: a caller
    that looks again then finds it over."""
    _resources, _compute, network = clients
    emu.control.configure(lro_seconds=2, lro_polls=0)
    poller = network.network_security_groups.begin_create_or_update(
        RG, "nsg", NetworkSecurityGroup(location=LOC), polling=OneShot()
    )
    headers = poller.polling_method()._pipeline_response.http_response.headers
    assert headers["Retry-After"] == "2"
    token = poller.continuation_token()
    time.sleep(2)
    # the first look then finds it over: azure-core's poller (which sleeps what Retry-After says)
    # ends at once
    started = time.monotonic()
    network.network_security_groups.begin_create_or_update(RG, "nsg", None, continuation_token=token).result()
    assert time.monotonic() - started < 0.9
    assert network.network_security_groups.get(RG, "nsg").provisioning_state == "Succeeded"
