"""What a person would make in the Azure portal before using the addon: a storage account and
its container, through the real SDK clients with a token of their own, and the data roles
backups need given to the Microsoft user whose account reaches it."""

import importlib.util

from harness import ROOT


def api_versions():
    """The product's API versions (services/api_versions.py, a module without imports)."""
    path = ROOT / "oec_cloud_accounts" / "services" / "api_versions.py"
    spec = importlib.util.spec_from_file_location("oec_api_versions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.API_VERSIONS


class StaticToken:
    def __init__(self, token, expires_on):
        from azure.core.credentials import AccessToken  # pylint: disable=import-outside-toplevel

        self._token = AccessToken(token, int(expires_on))

    def get_token(self, *scopes, **kwargs):
        return self._token


def _portal(emulator, group):
    """``(client, subscription id)`` as the portal would act, with a token of its own, once the
    resource group ``group`` is made in westeurope: ``client(client_class, operation)`` is an SDK
    client at the product's API version of ``operation``."""
    # pylint: disable=import-outside-toplevel
    from azure.mgmt.resource.resources import ResourceManagementClient

    versions = api_versions()
    info = emulator.info
    minted = emulator.control.issue_token()
    credential = StaticToken(minted["access_token"], minted["expires_on"])
    options = {
        "base_url": info["endpoints"]["arm"],
        "connection_verify": info["ca_path"],
        "credential_scopes": [info["endpoints"]["arm_scope"]],
        "polling_interval": 0,
    }
    sub = info["subscription_id"]
    resources = ResourceManagementClient(
        credential, sub, api_version=versions["resources.resource_groups"], **options
    )
    resources.resource_groups.create_or_update(group, {"location": "westeurope"})

    def client(client_class, operation):
        return client_class(credential, sub, api_version=versions[operation], **options)

    return client, sub


def seed_storage(emulator, user_oid, name="oecresilience", group="oec-resilience", container="odoo-backups"):
    from azure.mgmt.storage import StorageManagementClient  # pylint: disable=import-outside-toplevel

    client, sub = _portal(emulator, group)
    storage = client(StorageManagementClient, "storage.storage_accounts")
    account = storage.storage_accounts.begin_create(
        group,
        name,
        {
            "location": "westeurope",
            "kind": "StorageV2",
            "sku": {"name": "Standard_LRS"},
            # as Quick Setup makes them: blobs are reached with Microsoft Entra tokens only
            "properties": {"allowSharedKeyAccess": False},
        },
    ).result()
    storage.blob_containers.create(group, name, container, {})
    from azure_emulator import defaults  # pylint: disable=import-outside-toplevel

    # blobs are reached with the user's Entra token: Storage Blob Data Contributor, and Delegator
    # for download links (Access control (IAM) > Add role assignment in the portal)
    for role in (defaults.ROLE_BLOB_DATA_CONTRIBUTOR, defaults.ROLE_BLOB_DELEGATOR):
        emulator.control.assign_role(user_oid, role, account.id)
    return {
        "subscription_id": sub,
        "resource_group": group,
        "name": name,
        "container": container,
        "blob_endpoint": account.primary_endpoints.blob,
        "id": account.id,
    }


def seed_zone(emulator, name, group="oec-dns"):
    """A public DNS zone made in the portal (its resource group too), as a person would before
    adding it to Cloud > DNS Zones."""
    # pylint: disable=import-outside-toplevel
    from azure.mgmt.dns import DnsManagementClient
    from azure.mgmt.dns.models import Zone

    client, sub = _portal(emulator, group)
    dns = client(DnsManagementClient, "dns.zones")
    zone = dns.zones.create_or_update(group, name, Zone(location="global"))
    return {"name": name, "subscription_id": sub, "resource_group": group, "azure_id": zone.id}


def blob_exists(emulator, user_oid, storage, blob_name):
    """Whether ``blob_name`` exists (committed) in the storage location, read with the user's
    own Entra token as the portal's Storage browser would."""
    # pylint: disable=import-outside-toplevel
    from azure.storage.blob import BlobClient

    minted = emulator.control.issue_token(user=user_oid, scope="https://storage.azure.com/.default")
    client = BlobClient(
        storage["blob_endpoint"],
        storage["container"],
        blob_name,
        credential=StaticToken(minted["access_token"], minted["expires_on"]),
        connection_verify=emulator.info["ca_path"],
    )
    return client.exists()
