"""Backups encrypted with a key the customer holds, against the emulator + Azurite: real pg_dump,
real azure-storage-blob calls, the real restore process; the blob is read and changed from outside
Odoo with the SDK, as someone with access to the storage account would."""

import base64
import hashlib
import io
import json
import os
import subprocess
import sys

import psycopg2
from azure_emulator.testing import SECRETS_FILE_VARIABLE
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from psycopg2 import sql

from odoo import api
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.sql_db import connection_info_for
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged

from ..models.cloud_backup_encryption import CHUNK_PARAM, KEY_CONTEXT
from ..services import envelope
from ..services.blob import META_SHA256
from .backup_common import BackupMixin
from .test_backup import drop_database, table_counts

ENVELOPE = envelope.__file__


def _pem_private(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _pem_public(key):
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def key_needles(pem):
    """What of a PEM private key must never be found anywhere: each line of its base64 body (a
    key stored, logged or quoted in part would show one)."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def database_text(cr):
    """Every row of every table of the public schema, as COPY writes it (``cr``: a psycopg2 cursor,
    or the test's, which sees this transaction's rows too)."""
    cr.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
    )
    out = io.StringIO()
    for (table,) in cr.fetchall():
        out.write("-- %s\n" % table)
        cr.copy_expert(sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table)), out)
    return out.getvalue()


@tagged("post_install", "-at_install")
class TestBackupEncryption(BackupMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        cls.private_pem = _pem_private(cls.key)
        cls.public_pem = _pem_public(cls.key)
        cls.other_pem = _pem_private(rsa.generate_private_key(public_exponent=65537, key_size=3072))
        # make test searches its log, the captured texts and the database's rows for what the emulator
        # issued: the private key is added, so that a trace of it anywhere fails the run too
        path = os.environ.get(SECRETS_FILE_VARIABLE)
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.writelines(
                    json.dumps({"kind": "private_key", "value": needle}) + "\n"
                    for needle in key_needles(cls.private_pem)
                )

    def setUp(self):
        super().setUp()
        # small chunks: the test database's backup spans many of them (and the zip's end several)
        self.env["ir.config_parameter"].sudo().set_param(CHUNK_PARAM, "64")

    # -- helpers ------------------------------------------------------------------------------------

    def encrypted_policy(self, backup_format="dump", **values):
        return self.make_policy(
            backup_format=backup_format, encrypt_backups=True, encryption_public_key=self.public_pem, **values
        )

    def blob_bytes(self, backup):
        return self.blobs.get_blob_client(backup.blob_name).download_blob().readall()

    def replace_blob(self, backup, content):
        """The blob changed behind Odoo's back (its metadata kept), by someone with access to it."""
        blob = self.blobs.get_blob_client(backup.blob_name)
        metadata = blob.get_blob_properties().metadata
        blob.upload_blob(content, overwrite=True, metadata=metadata)

    def call_as_web_client(self, records, method, pem, passphrase=None):
        """``records.method()`` as the web client calls a wizard's button: a request of its own
        (a cursor of its own, whose commits are savepoints in test mode, see common.run_job) with
        the button's context, which carries the key."""
        self.env.flush_all()
        self.registry.enter_test_mode(self.cr)
        try:
            with self.registry.cursor() as cr:
                context = dict(self.env.context, **{KEY_CONTEXT: pem})
                if passphrase:
                    context["oec_private_key_passphrase"] = passphrase
                env = api.Environment(cr, self.env.uid, context)
                return getattr(records.with_env(env), method)()
        finally:
            self.registry.leave_test_mode()
            self.env.invalidate_all()

    def last_message(self, record):
        return next((m.body for m in record.message_ids if m.body), "")

    def offline(self, *args, data):
        """The documented offline command: envelope.py run alone, by its path."""
        return subprocess.run(
            [sys.executable, ENVELOPE, *args], input=data, capture_output=True, timeout=120, check=False
        )

    def assert_key_nowhere(self, *databases):
        """No trace of the private key in any row of this database (this transaction's included)
        nor of ``databases``."""
        texts = {self.env.cr.dbname: database_text(self.env.cr)}
        for name in databases:
            conn = psycopg2.connect(**connection_info_for(name)[1])
            try:
                with conn.cursor() as cr:
                    texts[name] = database_text(cr)
            finally:
                conn.close()
        for name, text in texts.items():
            self.assertGreater(len(text), 10000, "the rows of %s were read" % name)
            for needle in key_needles(self.private_pem):
                self.assertNotIn(needle, text, "a piece of the private key is in a row of %s" % name)

    # -- the policy's key ---------------------------------------------------------------------------

    def test_policy_key_checked_and_fingerprint_shown(self):
        with self.assertRaisesRegex(ValidationError, "need the public key"):
            self.make_policy(encrypt_backups=True)
        weak = _pem_public(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        with self.assertRaisesRegex(ValidationError, "2048 bits.*3072 bits or more"):
            self.make_policy(encrypt_backups=True, encryption_public_key=weak)
        with self.assertRaisesRegex(ValidationError, "This is a private key"):
            self.make_policy(encrypt_backups=True, encryption_public_key=self.private_pem)
        with self.assertRaisesRegex(ValidationError, "not an RSA public key in PEM"):
            self.make_policy(encrypt_backups=True, encryption_public_key="ssh-rsa AAAA not a pem")
        policy = self.encrypted_policy()
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # what `openssl pkey -pubin -outform DER | sha256sum` gives, in pairs
        digest = hashlib.sha256(der).hexdigest()
        self.assertEqual(policy.encryption_key_fingerprint.replace(":", "").removeprefix("SHA256"), digest)
        # a public key is no secret, but only Settings administrators may change it
        user = new_test_user(self.env, "crypt_cloud_user", groups="oec_cloud_accounts.group_cloud_user")
        self.assertTrue(policy.with_user(user).encryption_key_fingerprint)
        with self.assertRaises(AccessError):
            policy.with_user(user).write({"encryption_public_key": weak})
        with self.assertRaises(AccessError):
            policy.with_user(user).write({"encrypt_backups": False})

    # -- backup, verification -----------------------------------------------------------------------

    def test_encrypted_backup_unreadable_and_verified(self):
        policy = self.encrypted_policy()
        backup = self.backup_written(policy)
        self.assertTrue(backup.encrypted)
        self.assertEqual(backup.key_fingerprint, policy.encryption_key_fingerprint)
        self.assertTrue(backup.blob_name.endswith(".dump.enc"))
        content = self.blob_bytes(backup)
        # what the storage account holds: ciphertext, no trace of pg_dump's custom format
        self.assertTrue(content.startswith(envelope.MAGIC))
        self.assertNotIn(b"PGDMP", content)
        self.assertNotIn(b"ir_module_module", content)
        self.assertEqual(hashlib.sha256(content).hexdigest(), backup.sha256)
        self.assertEqual(len(content), backup.size)
        props = self.blobs.get_blob_client(backup.blob_name).get_blob_properties()
        self.assertEqual(props.metadata[META_SHA256], backup.sha256)
        self.assertIn(backup.key_fingerprint, props.metadata["oec_encryption"])
        # the documented offline command gives the dump back, and checks the structure without the key
        with open(os.path.join(self.tmp_dir(), "key.pem"), "w") as handle:
            handle.write(self.private_pem)
        decrypted = self.offline("decrypt", "--key", handle.name, data=content)
        self.assertEqual(decrypted.returncode, 0, decrypted.stderr)
        self.assertTrue(decrypted.stdout.startswith(b"PGDMP"))
        self.assertEqual(hashlib.sha256(decrypted.stdout).hexdigest(), backup.plain_sha256)
        self.assertEqual(len(decrypted.stdout), backup.plain_size)
        checked = self.offline("check", data=content)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn(b"structure OK", checked.stdout)

        # Verify, without the key: the ciphertext's SHA-256 and the envelope's structure
        backup.action_verify()
        self.run_cron()
        self.assertEqual(backup.verify_state, "done")
        self.assertIn("whole encrypted backup", self.last_message(backup))
        # Verify with Key: every chunk's tag and the content's SHA-256
        action = backup.action_verify_with_key()
        wizard = self.env[action["res_model"]].with_context(**action["context"]).create({})
        with self.assertRaisesRegex(UserError, "not the one this backup was encrypted for"):
            self.call_as_web_client(wizard, "action_confirm", self.other_pem)
        # a private key kept under a passphrase: asked for, and opened with it
        protected = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"correct horse battery"),
        ).decode()
        with self.assertRaisesRegex(UserError, "protected by a passphrase"):
            self.call_as_web_client(wizard, "action_confirm", protected)
        with self.assertRaisesRegex(UserError, "protected by a passphrase"):
            self.call_as_web_client(wizard, "action_confirm", protected, "wrong horse")
        self.call_as_web_client(wizard, "action_confirm", protected, "correct horse battery")
        self.assertEqual(backup.verify_state, "done")
        self.assertIn("Verified with the private key", self.last_message(backup))
        backup.action_verify()  # the next verification starts afresh
        self.run_cron()
        self.call_as_web_client(wizard, "action_confirm", self.private_pem)
        self.assertEqual(backup.verify_state, "done")
        self.assertIn("Verified with the private key", self.last_message(backup))
        self.assertIn(backup.plain_sha256, self.last_message(backup))
        self.assert_key_nowhere()

    def test_no_restore_test_of_an_encrypted_backup(self):
        """A restore test would need the private key, which Odoo never holds: the policy refuses
        both, and an encrypted backup's Test Restore says what to do instead, before anything."""
        with self.assertRaisesRegex(ValidationError, "Restore tests cannot read encrypted backups"):
            self.encrypted_policy(restore_test_interval="weekly")
        policy = self.encrypted_policy()
        backup = self.backup_written(policy)
        with self.assertRaisesRegex(ValidationError, "Restore tests cannot read encrypted backups"):
            policy.restore_test_interval = "daily"
        calls = len(self.emu.control.requests())
        with self.assertRaisesRegex(UserError, "Verify with Key"):
            backup.action_restore_test()
        with self.assertRaisesRegex(UserError, "Verify with Key"):
            policy.action_restore_test_now()
        self.assertFalse(backup.restore_test_state)
        self.assertEqual(self.remote_calls(calls), [], "nothing reached Azure")
        # encryption turned off: the schedule passes over the encrypted backups made before
        policy.write({"encrypt_backups": False, "restore_test_interval": "weekly"})
        self.run_cron()
        self.assertFalse(backup.restore_test_state)

    def test_tampered_and_truncated_blobs_fail_verification(self):
        policy = self.encrypted_policy()
        policy.user_id = self.env.ref("base.user_admin")
        backup = self.backup_written(policy)
        content = self.blob_bytes(backup)
        header = envelope.Header(content)
        self.assertGreater(backup.plain_size, 5 * header.chunk_size, "the backup spans several chunks")
        action = backup.action_verify_with_key()
        wizard = self.env[action["res_model"]].with_context(**action["context"]).create({})

        # one byte changed in the third chunk
        tampered = bytearray(content)
        tampered[header.chunk_span(2) + 100] ^= 0x01
        self.replace_blob(backup, bytes(tampered))
        backup.action_verify()
        self.run_cron()
        self.assertEqual(backup.verify_state, "failed")
        self.assertIn("does not match the backup", self.last_message(backup))
        self.call_as_web_client(wizard, "action_confirm", self.private_pem)
        self.assertEqual(backup.verify_state, "failed")
        self.assertIn("changed after it was written", self.last_message(backup))
        self.assertIn("chunk 2", self.last_message(backup))
        self.assertEqual(policy.alert_state, "verify_failed")

        # two chunks swapped: each is sound, but not in its place
        record = header.record_size
        first, second = header.chunk_span(1), header.chunk_span(2)
        swapped = (
            content[:first]
            + content[second : second + record]
            + content[first:second]
            + content[second + record :]
        )
        self.replace_blob(backup, swapped)
        self.call_as_web_client(wizard, "action_confirm", self.private_pem)
        self.assertIn("chunk 1", self.last_message(backup))
        self.assertIn("changed after it was written", self.last_message(backup))

        # cut after a whole chunk: the structure tells, without the key
        self.replace_blob(backup, content[: header.chunk_span(3)])
        backup.action_verify()
        self.run_cron()
        self.assertEqual(backup.verify_state, "failed")
        self.assertIn("cut short", self.last_message(backup))
        self.assertIn("before its last chunk", self.last_message(backup))

    # -- restore --------------------------------------------------------------------------------------

    def test_encrypted_zip_restored_with_the_key_never_stored(self):
        self.env["ir.attachment"].create({"name": "note.txt", "raw": os.urandom(200000)})
        backup = self.backup_written(self.encrypted_policy(backup_format="zip"))
        self.assertTrue(backup.blob_name.endswith(".zip.enc"))
        self.assertNotIn(b"PK\x03\x04", self.blob_bytes(backup)[:4096])
        target = "%s-restored-crypt" % self.env.cr.dbname
        drop_database(target)
        self.addCleanup(drop_database, target)
        Wizard = self.env["cloud.backup.restore"].with_context(default_backup_id=backup.id)

        # the form as the web client saves it: the key comes back to the form (it keeps what was
        # typed for the button's context), and no column holds it
        [values] = Wizard.web_save(
            {"db_name": target, "private_key": self.other_pem},
            specification={"db_name": {}, "private_key": {}, "encrypted": {}},
        )
        self.assertTrue(values["encrypted"])
        self.assertEqual(values["private_key"], self.other_pem)
        wizard = Wizard.browse(values["id"])
        self.env.invalidate_all()
        self.assertFalse(wizard.private_key, "nothing stored")

        # a wrong key, or none: a clear error, nothing queued, nothing made
        with self.assertRaisesRegex(UserError, "not the one this backup was encrypted for"):
            self.call_as_web_client(wizard, "action_confirm", self.other_pem)
        with self.assertRaisesRegex(UserError, "Give the private key"):
            self.call_as_web_client(wizard, "action_confirm", "")
        with self.assertRaisesRegex(UserError, "not an RSA private key"):
            self.call_as_web_client(wizard, "action_confirm", self.public_pem)
        self.assertFalse(backup.restore_state)
        self.assertFalse(backup._database_named_like(target))
        # queued without a key (the scheduled action never has it): refused, saying how
        backup._queue_restore(target, True)
        self.run_cron()
        self.assertEqual(backup.restore_state, "failed")
        self.assertIn("restore it with Restore, giving the private key", backup.restore_error)

        # the right key: the restore process starts from the request, with the key on its stdin
        action = self.call_as_web_client(wizard, "action_confirm", self.private_pem)
        self.assertEqual(action, {"type": "ir.actions.act_window_close"})
        self.assertEqual(backup.restore_state, "running", backup.restore_error)
        self.wait_restore(backup)
        self.assertEqual(backup.restore_state, "done", backup.restore_error)
        original, restored = table_counts(self.env.cr.dbname), table_counts(target)
        self.assertEqual(original["res_partner"], restored["res_partner"])
        self.assertEqual(original["ir_attachment"], restored["ir_attachment"])
        self.assertEqual(original["ir_module_module"], restored["ir_module_module"])
        # the key is in no row, here or in the restored database
        self.assert_key_nowhere(target)

    def test_tampered_restore_leaves_no_database(self):
        backup = self.backup_written(self.encrypted_policy())
        content = self.blob_bytes(backup)
        header = envelope.Header(content)
        tampered = bytearray(content)
        tampered[header.chunk_span(4) + 10] ^= 0x80
        self.replace_blob(backup, bytes(tampered))
        target = "%s-restored-tampered" % self.env.cr.dbname
        drop_database(target)
        self.addCleanup(drop_database, target)
        wizard = (
            self.env["cloud.backup.restore"]
            .with_context(default_backup_id=backup.id)
            .create({"db_name": target})
        )
        self.call_as_web_client(wizard, "action_confirm", self.private_pem)
        self.assertEqual(backup.restore_state, "running", backup.restore_error)
        temp = os.path.basename(backup.restore_job)
        self.addCleanup(drop_database, temp)
        self.wait_restore(backup)
        self.assertEqual(backup.restore_state, "failed")
        self.assertIn("changed after it was written", backup.restore_error)
        self.assertIn("Nothing was restored", backup.restore_error)
        for name in (target, temp):
            self.assertFalse(backup._database_named_like(name), "%s was dropped" % name)
        self.assert_key_nowhere()

    def tmp_dir(self):
        import tempfile  # pylint: disable=import-outside-toplevel

        path = tempfile.mkdtemp(prefix="oec-crypt-test-")
        self.addCleanup(__import__("shutil").rmtree, path, ignore_errors=True)
        return path


@tagged("post_install", "-at_install")
class TestBackupEncryptionTour(BackupMixin, HttpCase):
    def test_tour_restore_with_the_key(self):
        """The web client's way: the key typed into the wizard reaches the restore process through
        the button's context, and is stored nowhere."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        pem = _pem_private(key)
        path = os.environ.get(SECRETS_FILE_VARIABLE)
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.writelines(
                    json.dumps({"kind": "private_key", "value": needle}) + "\n" for needle in key_needles(pem)
                )
        policy = self.make_policy(
            backup_format="dump", encrypt_backups=True, encryption_public_key=_pem_public(key)
        )
        backup = self.env["cloud.backup"].browse(policy.action_backup_now()["res_id"])
        self.run_cron()
        self.assertEqual(backup.state, "done", backup.error)
        target = "%s-restored-tour" % self.env.cr.dbname
        drop_database(target)
        self.addCleanup(drop_database, target)
        action = self.env.ref("oec_cloud_accounts.cloud_backup_action")
        self.env.flush_all()
        # the key reaches the page as a person's typing would: not in a URL, nor in the test code
        # start_tour logs, but in a cookie the tour reads and deletes at its first step
        value = base64.b64encode(json.dumps({"key": pem, "name": target}).encode()).decode()
        self.start_tour(
            "/web#action=%d&model=cloud.backup&view_type=form&id=%d" % (action.id, backup.id),
            "oec_cloud_accounts_restore_with_key",
            login="admin",
            cookies={"oec_test_restore": value},
        )
        self.env.invalidate_all()
        self.assertEqual(backup.restore_state, "running", backup.restore_error)
        self.wait_restore(backup)
        self.assertEqual(backup.restore_state, "done", backup.restore_error)
        self.assertEqual(backup.restore_db_name, target)
        texts = [database_text(self.env.cr)]
        conn = psycopg2.connect(**connection_info_for(target)[1])
        try:
            with conn.cursor() as cr:
                texts.append(database_text(cr))
        finally:
            conn.close()
        for text in texts:
            for needle in key_needles(pem):
                self.assertNotIn(needle, text, "a piece of the private key is in a row")
