# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Plain Python, no ``odoo`` import: the Microsoft plumbing of this addon and
of oec_cloud_accounts, which depends on it.

``crypto``: the secret box (server option ``oec_cloud_secret_key``);
``urls``: GUID, tenant, host and URL rules, the CA-bundle option;
``entra``: Entra ID and Graph for the sign-in (discovery, signing keys,
id_token, code redemption, Graph paging).
"""

from .crypto import KEY_OPTION, SecretBox
from .entra import EntraClient, EntraError
from .urls import ca_bundle, is_guid, is_host_name, is_secure_url, is_tenant

__all__ = [
    "KEY_OPTION",
    "EntraClient",
    "EntraError",
    "SecretBox",
    "ca_bundle",
    "is_guid",
    "is_host_name",
    "is_secure_url",
    "is_tenant",
]
