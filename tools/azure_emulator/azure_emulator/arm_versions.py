"""The Resource Manager API versions the emulator implements, and ARM's answer to any other.

The emulator answers in the shapes of the product's API versions
(oec_cloud_accounts/services/api_versions.py): a request for another version gets
what Azure answers for a version a cloud does not offer, so that a client that
forgot to pin its version, or a cloud's override, is seen in tests as on a national
cloud. tests/test_api_versions.py checks these versions against the contract
fixtures (Azure's answers recorded for exactly the product's versions).

Azure's refusals (contract/fixtures/arm/api_version_*.json):

* Resource Manager's own operations (subscriptions, tenants, resource groups,
  providers): 400 ``InvalidApiVersionParameter``;
* a provider's resource type, when the request names a location (a PUT's body,
  a ``locations/{name}`` path): 400 ``NoRegisteredProviderFound``;
* a provider's resource type otherwise: 404 ``InvalidResourceType``.
"""

from . import defaults as d
from .http import HttpError, Response

# operation (as services/api_versions.py names it) -> the versions answered
IMPLEMENTED = {
    "compute.virtual_machines": ("2024-07-01",),
    "compute.usage": ("2024-07-01",),
    "compute.resource_skus": ("2021-07-01",),
    # managed disks have versions of their own; the product never calls them
    "compute.disks": ("2023-04-02",),
    "network.network_security_groups": ("2024-05-01",),
    "network.virtual_networks": ("2024-05-01",),
    "network.public_ip_addresses": ("2024-05-01",),
    "network.network_interfaces": ("2024-05-01",),
    "storage.storage_accounts": ("2023-05-01",),
    "storage.blob_containers": ("2023-05-01",),
    "storage.management_policies": ("2023-05-01",),
    "storage.blob_services": ("2023-05-01",),
    "authorization.role_assignments": ("2022-04-01",),
    "dns.zones": ("2018-05-01",),
    "dns.record_sets": ("2018-05-01",),
    "resources.resource_groups": ("2022-09-01",),
    "resources.providers": ("2022-09-01",),
    # 2016-06-01 too (azure-mgmt-subscription's version, or a cloud's override): its answers have
    # no tenantId on subscriptions, no names on tenants (arm_core._sub_json, list_tenants)
    "subscriptions.subscriptions": ("2022-12-01", "2016-06-01"),
    "subscriptions.tenants": ("2022-12-01", "2016-06-01"),
}
ARM_OWN = ("resources.", "subscriptions.")


def check(req, operation):
    """Refuse ``req`` the way ARM does when it asks a version ``operation`` does not have here."""
    versions = IMPLEMENTED.get(operation)
    asked = req.query.get("api-version")
    if versions is None or asked in versions:
        return
    if not asked:
        raise HttpError(
            Response.arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        )
    supported = ",".join(versions)
    if operation.startswith(ARM_OWN):
        raise HttpError(
            Response.arm_error(
                400,
                "InvalidApiVersionParameter",
                "The api-version '%s' is invalid. The supported versions are '%s'." % (asked, supported),
            )
        )
    namespace, rtype = _resource_type(req.path)
    location = _location(req)
    if location:
        raise HttpError(
            Response.arm_error(
                400,
                "NoRegisteredProviderFound",
                "No registered resource provider found for location '%s' and API version '%s' for type "
                "'%s'. The supported api-versions are '%s'. The supported locations are '%s'."
                % (location, asked, rtype, ", ".join(versions), ", ".join(d.REGIONS)),
            )
        )
    raise HttpError(
        Response.arm_error(
            404,
            "InvalidResourceType",
            "The resource type '%s' could not be found in the namespace '%s' for api version '%s'. The "
            "supported api-versions are '%s'." % (rtype, namespace, asked, supported),
        )
    )


def _resource_type(path):
    """(namespace, type) of a provider path: .../providers/Microsoft.Compute/virtualMachines/vm/start
    gives ("Microsoft.Compute", "virtualMachines"); locations/{name}/usages gives "locations/usages"."""
    parts = path.split("/")
    lowered = [p.lower() for p in parts]
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    namespace, rest = parts[at + 1], parts[at + 2 :]
    if rest[:1] and rest[0].lower() == "locations":
        return namespace, "/".join(["locations", *rest[2:3]])
    return namespace, rest[0] if rest else ""


def _location(req):
    """The location a request names: its body's (a PUT), or a locations/{name} path."""
    parts = [p.lower() for p in req.path.split("/")]
    if "locations" in parts and parts.index("locations") + 1 < len(parts):
        return parts[parts.index("locations") + 1]
    if req.method in ("PUT", "PATCH"):
        try:
            location = req.json().get("location")
        except HttpError:
            return None
        return location.replace(" ", "").lower() if isinstance(location, str) else None
    return None
