"""Plain Python, no ``odoo`` import: the only code of the addon that talks to Azure.

Everything takes plain values (endpoints, tokens, names) and returns plain
values, or raises :class:`AzureError` carrying the Azure/AADSTS code, a key
and values, never words: the Odoo layer turns that error into the message a
person can act on (models/azure_messages.py), a state and the chatter.
"""

from .errors import AzureError
from .identity import AzureIdentity, TokenResult
from .arm import ArmClient, StaticTokenCredential

__all__ = ["ArmClient", "AzureError", "AzureIdentity", "StaticTokenCredential", "TokenResult"]
