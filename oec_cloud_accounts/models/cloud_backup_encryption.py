"""Encrypted backups (services/envelope.py): what a run records, the words of the envelope's
errors, and the two things that need the private key, a verification of the content and a
restore. The private key is never kept: it comes with the request that needs it (the wizards'
fields are not stored, see wizards/cloud_backup_restore.py), lives in memory for that request and,
for a restore, in the restore process's stdin pipe; it is never logged."""

import logging

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..services.blob import DeadlineReached
from ..services.envelope import (
    CHUNK_SIZE,
    DecryptingSink,
    EncryptingWriter,
    EnvelopeError,
    EnvelopeReader,
    fingerprint,
    format_fingerprint,
    load_private_key,
)

_logger = logging.getLogger(__name__)

# the context key through which a wizard's button hands the private key to its method (never stored)
KEY_CONTEXT = "oec_private_key"
PASSPHRASE_CONTEXT = "oec_private_key_passphrase"
# blob metadata: an encrypted backup says so, and with which key (its fingerprint)
META_ENCRYPTION = "oec_encryption"
# the plaintext bytes per encrypted chunk, in KiB (services/envelope.py CHUNK_SIZE when unset)
CHUNK_PARAM = "oec_cloud_accounts.encryption_chunk_kib"


def pop_key(env):
    """(private key PEM, passphrase) from ``env``'s context, and an environment without them."""
    context = dict(env.context)
    key = context.pop(KEY_CONTEXT, None)
    passphrase = context.pop(PASSPHRASE_CONTEXT, None)
    return key, passphrase, env(context=context)


class CloudBackup(models.Model):
    # a concern file of cloud.backup, named in ARCHITECTURE.md
    _inherit = "cloud.backup"  # pylint: disable=consider-merging-classes-inherited

    encrypted = fields.Boolean(
        readonly=True,
        help="Encrypted with the policy's public key before it left this server: the blob (and a "
        "download) is ciphertext, readable only with the private key you keep.",
    )
    key_fingerprint = fields.Char(
        readonly=True,
        help="SHA-256 of the public key this backup was encrypted with.",
    )
    plain_sha256 = fields.Char(
        string="Content SHA-256",
        readonly=True,
        help="Of the backup before encryption (the SHA-256 field is the blob's, the ciphertext's).",
    )
    plain_size = fields.Float(string="Content Size (bytes)", digits=(16, 0), readonly=True)

    # -- the run ----------------------------------------------------------------------------------

    def _encryption_start(self):
        """The values a run records at its start: encrypted or not, with which key."""
        policy = self.policy_id
        if not policy.encrypt_backups:
            return {"encrypted": False, "key_fingerprint": False}
        # the fingerprint of the key itself (what restores compare the private key with), stored on
        # the policy with its key (checked when entered; _encrypting() loads it for the run)
        return {"encrypted": True, "key_fingerprint": policy.encryption_key_fingerprint}

    def _encrypting(self, produce, metadata, sealed):
        """``produce`` (writing the backup into a file object) wrapped to write through the
        encryptor when this run is encrypted; ``sealed`` gets the plaintext's SHA-256 and size."""
        if not self.encrypted:
            return produce
        public_key = self.policy_id._encryption_public_key()
        value = self.env["ir.config_parameter"].sudo().get_param(CHUNK_PARAM)
        chunk = int(value) * 1024 if value and value.isdigit() and 16 <= int(value) <= 65536 else CHUNK_SIZE
        metadata[META_ENCRYPTION] = "envelope-v1 " + self.key_fingerprint

        def produce_encrypted(out):
            writer = EncryptingWriter(out, public_key, chunk)
            produce(writer)
            writer.close()
            sealed.update(plain_sha256=writer.sha256.hexdigest(), plain_size=writer.size)

        return produce_encrypted

    # -- words ----------------------------------------------------------------------------------

    def _envelope_message(self, error):
        """An EnvelopeError (services/envelope.py) in words that say what to do."""
        code = error.code
        if code == "wrong_key":
            return _(
                "This private key (%(key)s) is not the one this backup was encrypted for (%(want)s): give "
                "the private key of the policy's key pair at the time of the backup.",
                key=error.values.get("key"),
                want=self.key_fingerprint or error.values.get("want"),
            )
        if code == "key_password":
            return _(
                "The private key is protected by a passphrase, and none or another was given: give its "
                "passphrase."
            )
        if code in ("key", "key_private"):
            return _(
                "This is not an RSA private key in PEM (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA "
                "PRIVATE KEY-----)."
            )
        if code == "tampered":
            return _(
                "The blob was changed after it was written: %(detail)s. Do not rely on this backup: "
                "back up again.",
                detail=str(error),
            )
        if code == "truncated":
            return _(
                "The blob is cut short: %(detail)s. Do not rely on this backup: back up again.",
                detail=str(error),
            )
        return _(
            "The blob is not a sound encrypted backup: %(detail)s. Do not rely on this backup: "
            "back up again.",
            detail=str(error),
        )

    # -- with the private key ------------------------------------------------------------------------

    def _private_key(self, pem, passphrase=None):
        """The private key of this backup, from what the person gave, or a UserError (nothing done)."""
        if not self.encrypted:
            raise UserError(_("This backup is not encrypted: it needs no key."))
        if not pem or not pem.strip():
            raise UserError(_("Give the private key of the key pair this backup was encrypted with (PEM)."))
        try:
            key = load_private_key(pem, passphrase or None)
            have = format_fingerprint(fingerprint(key.public_key()))
            if have != self.key_fingerprint:
                raise EnvelopeError("wrong_key", "wrong key", key=have, want=self.key_fingerprint)
        except EnvelopeError as error:
            raise UserError(self._envelope_message(error)) from None
        return key

    def _verify_content(self, pem, passphrase=None):
        """Read the blob back and decrypt it in this request: the ciphertext's SHA-256, every chunk's
        tag, and the content's SHA-256 (caller checked the rights). A failure is recorded as a
        failed verification (not raised: it is the answer), a missing or wrong key is a UserError."""
        self.ensure_one()
        if self.state != "done":
            raise UserError(_("Only a successful backup can be verified."))
        if self.verify_state in ("queued", "running"):
            raise UserError(_("A verification of this backup is under way: wait for its end."))
        key = self._private_key(pem, passphrase)
        store = self.storage_id._blob_store()
        store.deadline = self._deadline()  # within this request's time limit
        reader = EnvelopeReader(key)
        failure = None
        try:
            with self.storage_id.account_id._azure_errors():
                result = store.download(self.blob_name, out=DecryptingSink(reader))
            reader.end()
        except EnvelopeError as error:
            failure = self._envelope_message(error)
        except DeadlineReached as error:
            raise UserError(
                _(
                    "The backup could not be read and decrypted within this request's time limit (%(step)s): "
                    "verify its content offline with the private key (python3 envelope.py decrypt, see the "
                    "module's documentation), or raise limit_time_real.",
                    step=error.step,
                )
            ) from None
        del key
        if failure is None and (result["sha256"] != self.sha256 or result["size"] != self.size):
            failure = self._blob_mismatch(result)
        if failure is None and self.plain_sha256 and reader.sha256.hexdigest() != self.plain_sha256:
            failure = _(
                "The decrypted content does not match the backup: SHA-256 %(got)s, %(want)s written.",
                got=reader.sha256.hexdigest(),
                want=self.plain_sha256,
            )
        if failure:
            self._record_failure("verify", failure)
            return False
        self.write({"verify_state": "done", "verified_at": fields.Datetime.now()})
        self.message_post(
            body=_(
                "Verified with the private key by %(user)s: the blob's SHA-256 matches (%(sha)s), every "
                "chunk's authentication tag too, and the decrypted content's SHA-256 (%(plain)s).",
                user=self.env.user.name,
                sha=self.sha256,
                plain=reader.sha256.hexdigest(),
            )
        )
        self.policy_id._alert_isolated(
            "_record_verified", self.verified_at, _("the backup %s was verified", self.display_name)
        )
        return True

    def _check_envelope(self, reader):
        """After a verification without the key: the ciphertext's structure (its header, chunk
        lengths and flags, its end) and the key its header names. None when sound, else the
        failure's words."""
        try:
            reader.end()
            named = format_fingerprint(reader.header.key_id)
            if self.key_fingerprint and named != self.key_fingerprint:
                raise EnvelopeError(
                    "structure",
                    "its header names the key %s, the backup was encrypted with %s"
                    % (named, self.key_fingerprint),
                )
        except EnvelopeError as error:
            return self._envelope_message(error)
        return None

    def _restore_with_key(self, db_name, neutralize, pem, passphrase=None):
        """Check the key, queue the restore and start its process now with the key (caller checked
        the rights). A missing or wrong key: a UserError, and nothing queued or made."""
        self.ensure_one()
        key = self._private_key(pem, passphrase)
        self._queue_restore(db_name, neutralize)
        backup = self.sudo()
        with backup.storage_id.account_id._azure_errors():
            backup._do_restore(private_key=key)
        if backup.restore_state != "running":
            raise UserError(backup.restore_error or _("The restore could not start: ask again."))
        return True

    # -- actions ------------------------------------------------------------------------------------

    def action_verify_with_key(self):
        """Ask for the private key to check the content too (the wizard runs it in the request)."""
        self._check_backup_admin()
        self.ensure_one()
        if not self.encrypted:
            raise UserError(_("This backup is not encrypted: Verify checks it whole."))
        return {
            "type": "ir.actions.act_window",
            "name": _("Verify with Key"),
            "res_model": "cloud.backup.verify.key",
            "view_mode": "form",
            "target": "new",
            "context": {"default_backup_id": self.id},
        }
