"""The emulator's throw-away certificate authority and JWT signing keys, from ``trustme``.

Everything is generated at start, in memory, and written to a temporary
directory only because ``ssl`` and the clients' CA bundle option want file paths.
"""

import base64
import hashlib
import os

import trustme
from cryptography import x509
from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import serialization
from jwt.utils import base64url_encode, to_base64url_uint

ORGANIZATION = "OEC Azure Emulator"


def write_tls_material(directory, hosts=("127.0.0.1", "localhost"), reuse=False):
    """Create a CA and a server certificate for ``hosts`` in ``directory``.

    Returns ``(ca_path, cert_path, key_path)``; ``cert_path`` holds the
    server certificate followed by the CA so clients get the full chain.
    The keys are P-256 (trustme's default): microseconds where RSA-2048
    takes ~0.2 s, and start-up waits for them. ``reuse``: keep the files
    already there (the sandbox's state directory: a browser told to trust
    the CA once keeps trusting it; trustme's certificates last until 3000).
    """
    ca_path = os.path.join(directory, "ca.pem")
    cert_path = os.path.join(directory, "server.pem")
    key_path = os.path.join(directory, "server-key.pem")
    if reuse and all(os.path.isfile(path) for path in (ca_path, cert_path, key_path)):
        return ca_path, cert_path, key_path
    os.makedirs(directory, exist_ok=True)
    ca = trustme.CA(organization_name=ORGANIZATION)
    leaf = ca.issue_cert(*hosts, organization_name=ORGANIZATION)
    ca.cert_pem.write_to_path(ca_path)
    with open(cert_path, "wb") as fh:
        fh.write(b"".join(blob.bytes() for blob in leaf.cert_chain_pems) + ca.cert_pem.bytes())
    leaf.private_key_pem.write_to_path(key_path)
    os.chmod(key_path, 0o600)
    return ca_path, cert_path, key_path


class SigningKey:
    """An RSA key with the JWK shape Entra ID publishes (kid, x5t, n, e, x5c).

    The key and its self-signed certificate are those of a trustme RSA CA.
    """

    def __init__(self, kid=None):
        ca = trustme.CA(organization_name=ORGANIZATION, key_type=trustme.KeyType.RSA)
        self.pem = ca.private_key_pem.bytes()
        self.key = serialization.load_pem_private_key(self.pem, None, default_backend())
        cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes(), default_backend())
        der = cert.public_bytes(serialization.Encoding.DER)
        self.x5t = base64url_encode(hashlib.sha1(der).digest()).decode()
        self.kid = kid or self.x5t
        self.x5c = base64.b64encode(der).decode()

    def dump(self):
        """The key as JSON values (the sandbox's saved state)."""
        return {"kid": self.kid, "x5t": self.x5t, "x5c": self.x5c, "pem": self.pem.decode()}

    @classmethod
    def load(cls, data):
        """The key ``dump()`` gave."""
        key = cls.__new__(cls)
        key.pem = data["pem"].encode()
        key.key = serialization.load_pem_private_key(key.pem, None, default_backend())
        key.kid, key.x5t, key.x5c = data["kid"], data["x5t"], data["x5c"]
        return key

    def jwk(self, issuer=None):
        numbers = self.key.public_key().public_numbers()
        jwk = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": to_base64url_uint(numbers.n).decode(),
            "e": to_base64url_uint(numbers.e).decode(),
            "x5c": [self.x5c],
        }
        if issuer:
            jwk["issuer"] = issuer
        return jwk
