"""The Azure Resource Manager API version of every operation the product calls: ours, not the SDK's.

An azure-mgmt-* package sends the newest API version it knows (compute 39: 2026-04-01, network
33.1: 2026-03-01, storage 25.3: 2026-09-01, resources 26: 2025-04-01), a version that changes at
each upgrade and that the national clouds the product ships (Azure US Government, Azure China)
offer months later: ARM then answers 400 ``NoRegisteredProviderFound`` or
``InvalidApiVersionParameter`` (see contract/fixtures/arm/api_version_*.json). Every client of
``services/`` is built with this table instead (``ArmClient``), and the contract fixtures are
recorded answers of exactly these versions (contract/test_api_versions.py).

The versions are stable (no preview), at least two years old, and older than or equal to what
Azure CLI 2.91's ``latest`` profile (azure-cli-core, ``profiles/_shared.py``, and the commands'
own versions in azure-cli) sends to every cloud ``az cloud set`` offers, AzureUSGovernment and
AzureChinaCloud included; ARM keeps serving a provider's older stable versions. Each is also
one the installed SDK's models read: fields the product reads exist in it (checked by the
contract suite on Azure's examples of that version, and by the emulator's tests).

No national cloud needs a version of its own today, so the table is the same for every cloud.
A cloud that lags further (Azure Stack Hub, a private cloud) sets its own versions on its record
(``cloud.azure.environment.api_version_overrides``, read by :func:`resolve`).
"""

import datetime
import re

# operation (the SDK client's package, then its operations group) -> API version
API_VERSIONS = {
    # Microsoft.Compute virtual machines (create, instance view, start, deallocate, restart, power
    # off) and usages: ComputeRP stable/2024-07-01 (azure-rest-api-specs); az sends 2024-11-01.
    "compute.virtual_machines": "2024-07-01",
    "compute.usage": "2024-07-01",
    # Resource SKUs have their own versions (the SDK's default for them is 2021-07-01, its model's
    # version): Skus stable/2021-07-01, whose examples carry the capabilities read by
    # compute.boot_problem (HyperVGenerations, CpuArchitectureType); az sends 2019-04-01.
    "compute.resource_skus": "2021-07-01",
    # Microsoft.Network NSG, virtual network, public IP and NIC: network stable/2024-05-01; az sends
    # 2022-01-01 to 2025-09-01 depending on the command (network 2025-07-01 for vnet create).
    "network.network_security_groups": "2024-05-01",
    "network.virtual_networks": "2024-05-01",
    "network.public_ip_addresses": "2024-05-01",
    "network.network_interfaces": "2024-05-01",
    # Microsoft.Storage accounts, keys, blob containers, management policies: storage
    # stable/2023-05-01 (StorageAccountList.json lists every kind of account); az uses
    # azure-mgmt-storage 25.0's default, 2025-08-01.
    "storage.storage_accounts": "2023-05-01",
    "storage.blob_containers": "2023-05-01",
    "storage.management_policies": "2023-05-01",
    # blob service properties (soft delete of blobs and containers): the same storage version
    "storage.blob_services": "2023-05-01",
    # Microsoft.Authorization role assignments (the Storage Blob Data roles of Quick Setup):
    # authorization stable/2022-04-01 (az role assignment sends it)
    "authorization.role_assignments": "2022-04-01",
    # Azure DNS: 2018-05-01 is its latest stable version (dns stable/2018-05-01, azure-mgmt-dns 9's
    # default); az sends 2023-07-01-preview.
    "dns.zones": "2018-05-01",
    "dns.record_sets": "2018-05-01",
    # Microsoft.Resources resource groups and providers: resources stable/2022-09-01; az sends
    # 2024-11-01.
    "resources.resource_groups": "2022-09-01",
    "resources.providers": "2022-09-01",
    # Subscriptions, tenants, locations: subscriptions stable/2022-12-01, the first version whose
    # subscriptions carry tenantId and whose tenants carry displayName and defaultDomain (2016-06-01,
    # azure-mgmt-subscription 3's version, has none of them); az sends 2022-12-01.
    "subscriptions.subscriptions": "2022-12-01",
    "subscriptions.tenants": "2022-12-01",
}

# ARM's API versions: a date, "-preview" for previews (e.g. 2023-07-01-preview)
VERSION_RE = re.compile(r"(\d{4}-\d{2}-\d{2})(-preview)?")

# request path (lower case) -> operation of API_VERSIONS; None: a URL Azure gave (an operation's
# status or result), followed with the api-version Azure put in it
_PATHS = [
    (r"/providers/[^/]+/locations/[^/]+/(operations|asyncoperations|operationresults)/", None),
    (r"/providers/microsoft\.authorization/roleassignments(/|$)", "authorization.role_assignments"),
    (r"^/subscriptions/[^/]+/operationresults/", None),
    (r"/providers/microsoft\.compute/skus$", "compute.resource_skus"),
    (r"/providers/microsoft\.compute/locations/[^/]+/usages$", "compute.usage"),
    (r"/providers/microsoft\.compute/virtualmachines(/|$)", "compute.virtual_machines"),
    (r"/providers/microsoft\.network/dnszones/[^/]+/[^/]+", "dns.record_sets"),
    (r"/providers/microsoft\.network/dnszones(/|$)", "dns.zones"),
    (r"/providers/microsoft\.network/networksecuritygroups(/|$)", "network.network_security_groups"),
    (r"/providers/microsoft\.network/virtualnetworks(/|$)", "network.virtual_networks"),
    (r"/providers/microsoft\.network/publicipaddresses(/|$)", "network.public_ip_addresses"),
    (r"/providers/microsoft\.network/networkinterfaces(/|$)", "network.network_interfaces"),
    (r"/storageaccounts/[^/]+/blobservices/default/containers(/|$)", "storage.blob_containers"),
    (r"/storageaccounts/[^/]+/managementpolicies(/|$)", "storage.management_policies"),
    (r"/storageaccounts/[^/]+/blobservices/default$", "storage.blob_services"),
    (
        r"/providers/microsoft\.storage/(storageaccounts|checknameavailability)(/|$)",
        "storage.storage_accounts",
    ),
    (r"^/subscriptions/[^/]+/providers/[^/]+(/register|/unregister)?$", "resources.providers"),
    (r"^/subscriptions/[^/]+/resourcegroups(/[^/]+)?$", "resources.resource_groups"),
    (r"^/tenants$", "subscriptions.tenants"),
    (r"^/subscriptions(/[^/]+(/locations)?)?$", "subscriptions.subscriptions"),
]
_PATHS = [(re.compile(pattern), operation) for pattern, operation in _PATHS]


class OverrideError(ValueError):
    """A line of a cloud's API version overrides that cannot be used: ``reason`` is
    ``syntax`` (not ``operation = version``), ``operation`` (not one of API_VERSIONS) or
    ``version`` (not an API version such as 2024-07-01, a real date); ``line`` is the line."""

    def __init__(self, reason, line):
        super().__init__(reason, line)
        self.reason = reason
        self.line = line


def check_version(version):
    """Whether ``version`` is an ARM API version: YYYY-MM-DD, a real date, optionally -preview."""
    match = VERSION_RE.fullmatch(version or "")
    if not match:
        return False
    try:
        datetime.date.fromisoformat(match.group(1))
    except ValueError:
        return False
    return True


def parse_overrides(text):
    """{operation: version} from one ``operation = version`` a line (blank lines and lines
    starting with # ignored); raises OverrideError on the first line that cannot be used."""
    overrides = {}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        operation, sep, version = (part.strip() for part in line.partition("="))
        if not sep or not operation or not version:
            raise OverrideError("syntax", line)
        if operation not in API_VERSIONS:
            raise OverrideError("operation", line)
        if not check_version(version):
            raise OverrideError("version", line)
        overrides[operation] = version
    return overrides


def resolve(overrides_text=None):
    """The API version of every operation for a cloud: the table, then the cloud's overrides."""
    return {**API_VERSIONS, **parse_overrides(overrides_text)}


def operation_of(path):
    """The operation of API_VERSIONS an ARM request path stands for, or None (an operation's
    status or result URL, or a path the product does not call)."""
    lowered = (path or "").lower().rstrip("/")
    for pattern, operation in _PATHS:
        if pattern.search(lowered):
            return operation
    return None
