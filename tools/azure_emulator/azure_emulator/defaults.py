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
