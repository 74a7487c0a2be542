"""A policy's encryption: backups encrypted with a key the customer holds (services/envelope.py).

The administrator gives the public half of an RSA key pair (3072 bits or more); each backup
gets a random data key, wrapped with it. The private half is never given to Odoo except for
a restore or a verification of the content, and never kept (cloud_backup_encryption.py)."""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..services.envelope import MIN_RSA_BITS, EnvelopeError, fingerprint, format_fingerprint, load_public_key


class CloudBackupPolicy(models.Model):
    # a concern file of cloud.backup.policy, named in ARCHITECTURE.md
    _inherit = "cloud.backup.policy"  # pylint: disable=consider-merging-classes-inherited

    encrypt_backups = fields.Boolean(
        tracking=True,
        help="Encrypt each backup before it leaves this server (AES-256-GCM with a random key per "
        "backup, that key wrapped with the public key below): neither Azure nor whoever reads the "
        "storage account can read it. Restoring, or verifying the content, asks for the private key, "
        "which Odoo never keeps: lose it and the encrypted backups are lost.",
    )
    encryption_public_key = fields.Text(
        string="Public Key (PEM)",
        help="The public half of an RSA key pair of %s bits or more that you keep, in PEM "
        "(-----BEGIN PUBLIC KEY-----, or an X.509 certificate). A public key is no secret; only "
        "Settings administrators may change it. E.g.: openssl genpkey -algorithm RSA -pkeyopt "
        "rsa_keygen_bits:4096 -out backup-key.pem; openssl pkey -in backup-key.pem -pubout" % MIN_RSA_BITS,
    )
    encryption_key_fingerprint = fields.Char(
        string="Key Fingerprint",
        compute="_compute_encryption_key_fingerprint",
        store=True,
        help="SHA-256 of the public key (DER SubjectPublicKeyInfo): the same key gives the same "
        "fingerprint with `openssl pkey -pubin -in key.pub -outform DER | sha256sum`.",
    )

    @api.depends("encryption_public_key")
    def _compute_encryption_key_fingerprint(self):
        for policy in self:
            try:
                key = load_public_key(policy.encryption_public_key) if policy.encryption_public_key else None
            except EnvelopeError:
                key = None
            policy.encryption_key_fingerprint = format_fingerprint(fingerprint(key)) if key else False

    @api.constrains("encrypt_backups", "encryption_public_key")
    def _check_encryption_key(self):
        for policy in self:
            if policy.encryption_public_key:
                policy._encryption_public_key()
            elif policy.encrypt_backups:
                raise ValidationError(
                    _("Encrypted backups need the public key of a key pair you keep (PEM).")
                )

    def _encryption_public_key(self):
        """The policy's public key, or a ValidationError that says what is wrong with it."""
        try:
            return load_public_key(self.encryption_public_key)
        except EnvelopeError as error:
            if error.code == "key_private":
                raise ValidationError(
                    _(
                        "This is a private key: give the public key only (openssl pkey -in key.pem -pubout). "
                        "Odoo must never hold the private key of encrypted backups."
                    )
                ) from None
            if error.values.get("bits"):
                raise ValidationError(
                    _(
                        "The public key has %(bits)s bits: encrypted backups need an RSA key of %(min)s bits "
                        "or more.",
                        bits=error.values["bits"],
                        min=MIN_RSA_BITS,
                    )
                ) from None
            raise ValidationError(
                _(
                    "The public key is not an RSA public key in PEM (-----BEGIN PUBLIC KEY-----) of %s bits "
                    "or more.",
                    MIN_RSA_BITS,
                )
            ) from None
