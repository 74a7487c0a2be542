"""The seeded sandbox: fixed ids so tests, demo data and `make run` agree.

Every value here is fake and only meaningful to this emulator.
"""

TENANT_ID = "5e3d6a2c-7f1b-4c8e-9a0d-1b2c3d4e5f60"
TENANT_DOMAIN = "sandbox.onmicrosoft.test"
TENANT_NAME = "OEC Sandbox"

OTHER_TENANT_ID = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
OTHER_TENANT_DOMAIN = "other.onmicrosoft.test"
OTHER_TENANT_NAME = "Other Organisation"

USER_EMAIL = "sandbox.admin@sandbox.onmicrosoft.test"
USER_NAME = "Sandbox Admin"
USER_OID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

SECOND_USER_EMAIL = "sandbox.user@sandbox.onmicrosoft.test"
SECOND_USER_NAME = "Sandbox User"
SECOND_USER_OID = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"

OTHER_USER_EMAIL = "outsider@other.onmicrosoft.test"
OTHER_USER_NAME = "Outside User"
OTHER_USER_OID = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"

SUBSCRIPTION_ID = "3f2e1d0c-9b8a-4765-8432-10fedcba9876"
SUBSCRIPTION_NAME = "Sandbox Subscription"
# A second subscription of the same tenant where Microsoft.Compute and
# Microsoft.Network are NotRegistered, for MissingSubscriptionRegistration.
UNREGISTERED_SUBSCRIPTION_ID = "4a5b6c7d-8e9f-4012-a345-6789abcdef01"
UNREGISTERED_SUBSCRIPTION_NAME = "Sandbox Unregistered Subscription"

SIGNIN_CLIENT_ID = "6c1f4e2a-3b5d-4f7a-9c8e-0d1e2f3a4b5c"
SIGNIN_CLIENT_SECRET = "emu-signin-secret~0123456789"
SIGNIN_APP_NAME = "OEC Sign-in (sandbox)"

CLOUD_CLIENT_ID = "7d2a5f3b-4c6e-4a8b-8d9f-1e2f3a4b5c6d"
CLOUD_CLIENT_SECRET = "emu-cloud-secret~0123456789"
CLOUD_APP_NAME = "OEC Cloud Accounts (sandbox)"

# Scopes/audiences as Azure spells them: the emulator's ARM accepts tokens
# issued for this resource whatever URL it is reached at.
ARM_RESOURCE = "https://management.azure.com/"
ARM_SCOPE = "https://management.azure.com/.default"
ARM_USER_IMPERSONATION = "https://management.azure.com/user_impersonation"
ARM_AUDIENCES = (
    "https://management.azure.com/",
    "https://management.azure.com",
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
)
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_RESOURCE = "https://graph.microsoft.com/"

REGIONS = {
    "westeurope": "West Europe",
    "northeurope": "North Europe",
    "francecentral": "France Central",
    "eastus": "East US",
    "westus2": "West US 2",
    "southeastasia": "Southeast Asia",
    "australiaeast": "Australia East",
}
DEFAULT_PROVIDERS = (
    "Microsoft.Compute",
    "Microsoft.Network",
    "Microsoft.Storage",
    "Microsoft.Resources",
)

# name: (family, vCPUs, memory GB, Linux $/hour)
VM_SKUS = {
    "Standard_B1s": ("standardBSFamily", 1, 1, 0.0104),
    "Standard_B1ms": ("standardBSFamily", 1, 2, 0.0207),
    "Standard_B2s": ("standardBSFamily", 2, 4, 0.0416),
    "Standard_B2ms": ("standardBSFamily", 2, 8, 0.0832),
    "Standard_B4ms": ("standardBSFamily", 4, 16, 0.166),
    "Standard_D2s_v5": ("standardDSv5Family", 2, 8, 0.096),
    "Standard_D4s_v5": ("standardDSv5Family", 4, 16, 0.192),
    "Standard_D8s_v5": ("standardDSv5Family", 8, 32, 0.384),
    "Standard_E2s_v5": ("standardESv5Family", 2, 16, 0.126),
    "Standard_E4s_v5": ("standardESv5Family", 4, 32, 0.252),
    # sizes that cannot boot a Generation 2 x64 image: Generation 1 only, and Arm64
    "Standard_A1": ("standardA0_A7Family", 1, 1.75, 0.06),
    "Standard_D2ps_v5": ("standardDPSv5Family", 2, 8, 0.077),
}
# Resource SKU capabilities that differ from every other size's (Generation 1 and 2,
# x64, premium disks), with the values ARM lists for these sizes
VM_SKU_CAPABILITIES = {
    "Standard_A1": {
        "MaxResourceVolumeMB": "71680",
        "HyperVGenerations": "V1",
        "PremiumIO": "False",
        "ACUs": "100",
    },
    "Standard_D2ps_v5": {"HyperVGenerations": "V2", "CpuArchitectureType": "Arm64"},
}
# Standard SSD managed disks: tier: (size GiB, $/month)
DISK_TIERS = {
    "E4": (32, 2.40),
    "E6": (64, 4.80),
    "E10": (128, 9.60),
    "E15": (256, 19.20),
    "E20": (512, 38.40),
}
PUBLIC_IP_HOURLY = 0.005  # Standard static IPv4
FAMILY_QUOTA = 20
REGIONAL_QUOTA = 40

# Azure Storage's Entra ID resource: the same in every cloud (Microsoft Learn, "Authorize access to
# blobs using Microsoft Entra ID"; MicrosoftDocs/azure-docs#22400: "use the same resource id in
# all environments"). Blob requests also accept a token for the account's own URL.
STORAGE_RESOURCE = "https://storage.azure.com/"
STORAGE_SCOPE = "https://storage.azure.com/.default"
STORAGE_AUDIENCES = ("https://storage.azure.com/", "https://storage.azure.com")

# Built-in Azure roles (Microsoft Learn, "Azure built-in roles": their ids are the same in every
# tenant and cloud): id -> (roleName, may write role assignments, blob data access: None, "read" or
# "write", may get a user delegation key)
ROLE_OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
ROLE_CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
ROLE_READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ROLE_USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c4a72b9d"
ROLE_RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
ROLE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
ROLE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ROLE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
ROLE_BLOB_DELEGATOR = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a"
ROLES = {
    ROLE_OWNER: ("Owner", True, None, False),
    ROLE_CONTRIBUTOR: ("Contributor", False, None, False),
    ROLE_READER: ("Reader", False, None, False),
    ROLE_USER_ACCESS_ADMINISTRATOR: ("User Access Administrator", True, None, False),
    ROLE_RBAC_ADMINISTRATOR: ("Role Based Access Control Administrator", True, None, False),
    ROLE_BLOB_DATA_OWNER: ("Storage Blob Data Owner", False, "write", True),
    ROLE_BLOB_DATA_CONTRIBUTOR: ("Storage Blob Data Contributor", False, "write", True),
    ROLE_BLOB_DATA_READER: ("Storage Blob Data Reader", False, "read", True),
    ROLE_BLOB_DELEGATOR: ("Storage Blob Delegator", False, None, True),
}

# The managed identity of the host Odoo runs on (system-assigned), for the "managed identity as a
# federated identity credential" of the cloud app (Microsoft Learn, "Configure an application to
# trust a managed identity"). Its object (principal) id is the subject of the tokens it gets; the
# identity header is what App Service puts in IDENTITY_HEADER.
MANAGED_IDENTITY_CLIENT_ID = "8e3b6a4c-5d7f-4b9c-9e0a-2f3a4b5c6d7e"
MANAGED_IDENTITY_PRINCIPAL_ID = "9f4c7b5d-6e8a-4cad-8f1b-3a4b5c6d7e8f"
MANAGED_IDENTITY_HEADER = "emu-identity-header-0123456789"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
