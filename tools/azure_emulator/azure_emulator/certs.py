"""A throw-away certificate authority and the keys the emulator signs with.

Everything is generated at start, in memory, and written to a temporary
directory only because ``ssl`` and Azurite want file paths.  Written against
cryptography 3.4 (pinned by Odoo 17): ``default_backend()`` is still passed.
"""

import base64
import datetime
import hashlib
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.utils import base64url_encode, to_base64url_uint


def new_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048, backend=default_backend())


def _new_tls_key():
    # TLS needs no RSA: a P-256 key takes microseconds where RSA-2048 takes
    # ~0.2 s, and start-up waits for both CA and server keys.
    return ec.generate_private_key(ec.SECP256R1(), default_backend())


def _name(common_name):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OEC Azure Emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(subject, issuer, public_key, days):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # Backdated so a client clock a little behind ours still accepts it.
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def pem_key(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def write_tls_material(directory, hosts=("127.0.0.1", "localhost")):
    """Create a CA and a server certificate for ``hosts`` in ``directory``.

    Returns ``(ca_path, cert_path, key_path)``; ``cert_path`` holds the
    server certificate followed by the CA so clients get the full chain.
    """
    ca_key = _new_tls_key()
    ca_name = _name("OEC Azure Emulator CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), 30)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256(), default_backend())
    )
    key = _new_tls_key()
    alt_names = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    cert = (
        _builder(_name(hosts[0]), ca_name, key.public_key(), 30)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256(), default_backend())
    )
    ca_path = os.path.join(directory, "ca.pem")
    cert_path = os.path.join(directory, "server.pem")
    key_path = os.path.join(directory, "server-key.pem")
    with open(ca_path, "wb") as fh:
        fh.write(pem_cert(ca_cert))
    with open(cert_path, "wb") as fh:
        fh.write(pem_cert(cert) + pem_cert(ca_cert))
    with open(key_path, "wb") as fh:
        fh.write(pem_key(key))
    os.chmod(key_path, 0o600)
    return ca_path, cert_path, key_path


class SigningKey:
    """An RSA key with the JWK shape Entra ID publishes (kid, x5t, n, e, x5c)."""

    def __init__(self, kid=None):
        self.key = new_rsa_key()
        self.pem = pem_key(self.key)
        name = _name("accounts.emulator.test")
        cert = _builder(name, name, self.key.public_key(), 365).sign(
            self.key, hashes.SHA256(), default_backend()
        )
        der = cert.public_bytes(serialization.Encoding.DER)
        self.x5t = base64url_encode(hashlib.sha1(der).digest()).decode()
        self.kid = kid or self.x5t
        self.x5c = base64.b64encode(der).decode()

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
