# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Encryption at rest of client secrets and tokens (AES-256-GCM).

The key comes from the server option ``oec_cloud_secret_key``, never from the
database, so a database dump alone does not reveal the secrets. Values are
``v2:`` + the database's identity + ``:`` + urlsafe base64 of nonce +
ciphertext. The identity (Odoo's ``database.uuid``, which Odoo renews in a
copy of a database) is authenticated with the value and kept in clear, so a
copy of the database, holding the same key, reads none of the original's
secrets and can tell why.
"""

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_OPTION = "oec_cloud_secret_key"
PREFIX = "v2:"


def sealed_for(token):
    """The database identity ``token`` was encrypted for, or None (not a value of this format)."""
    if not token or not token.startswith(PREFIX):
        return None
    # the base64 part holds no ":", whatever the identity holds
    database, sep, _sealed = token[len(PREFIX) :].rpartition(":")
    return database if sep else None


def sealed_prefix(database):
    """How every value encrypted for ``database`` begins."""
    return "%s%s:" % (PREFIX, database)


class SecretBox:
    """Encrypts short strings; ``context`` (table:id:column) and ``database``
    (the database's identity) are authenticated too, so a ciphertext copied to
    another row, column or database does not decrypt."""

    def __init__(self, hex_key):
        try:
            key = bytes.fromhex(hex_key or "")
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ValueError("the key must be 64 hexadecimal characters (32 bytes)")
        self._aead = AESGCM(key)

    @staticmethod
    def _associated(context, database):
        return ("%s\0%s" % (database, context)).encode()

    def encrypt(self, plaintext, context, database):
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), self._associated(context, database))
        return sealed_prefix(database) + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token, context, database):
        """The plaintext, or None when ``token`` was made with another key, context or database."""
        if sealed_for(token) != database:
            return None
        try:
            raw = base64.urlsafe_b64decode(token.rpartition(":")[2].encode())
            return self._aead.decrypt(raw[:12], raw[12:], self._associated(context, database)).decode()
        except (InvalidTag, ValueError):
            return None
