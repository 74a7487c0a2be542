# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Encryption at rest of client secrets and tokens (AES-256-GCM).

The key comes from the server option ``oec_cloud_secret_key``, never from the
database, so a database dump alone does not reveal the secrets. Values are
``v1:`` + urlsafe base64 of nonce + ciphertext.
"""

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_OPTION = "oec_cloud_secret_key"
_PREFIX = "v1:"


class SecretBox:
    """Encrypts short strings; ``context`` (table:id:column) is authenticated
    too, so a ciphertext copied to another row or column does not decrypt."""

    def __init__(self, hex_key):
        try:
            key = bytes.fromhex(hex_key or "")
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ValueError("the key must be 64 hexadecimal characters (32 bytes)")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext, context):
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token, context):
        """The plaintext, or None when ``token`` was made with another key or context."""
        if not token or not token.startswith(_PREFIX):
            return None
        try:
            raw = base64.urlsafe_b64decode(token[len(_PREFIX) :].encode())
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (InvalidTag, ValueError):
            return None
