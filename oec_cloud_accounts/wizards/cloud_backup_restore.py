from odoo import _, api, fields, models

from ..models.cloud_backup_encryption import pop_key


class CloudBackupKeyInput(models.AbstractModel):
    """The private key of an encrypted backup, as a wizard asks for it: never stored, in this
    table or any other. These fields have no column (store=False; their inverse writes nothing,
    so the value stays in the saving request's cache and the form keeps what was typed), and the
    wizard's button hands their values to its method in its context (see the views), which takes
    them out at once (pop_key)."""

    _name = "cloud.backup.key.input"
    _description = "Private Key of an Encrypted Backup (never stored)"

    private_key = fields.Text(
        string="Private Key (PEM)",
        store=False,
        inverse="_inverse_in_memory",
        help="The private key of the key pair this backup was encrypted with. It is used for this "
        "action only (a restore hands it to the restore process on its standard input) and never kept.",
    )
    passphrase = fields.Char(
        store=False,
        inverse="_inverse_in_memory",
        help="Only if the private key is protected by a passphrase.",
    )

    def _inverse_in_memory(self):
        """Nothing is written anywhere: the value stays in this request's cache (see the class)."""


class CloudBackupRestore(models.TransientModel):
    """Restore a backup into a new database of this server (never over an existing one)."""

    _name = "cloud.backup.restore"
    _inherit = "cloud.backup.key.input"
    _description = "Restore Backup"

    backup_id = fields.Many2one("cloud.backup", required=True, readonly=True, ondelete="cascade")
    db_name = fields.Char(
        string="New Database",
        required=True,
        help="A database that does not exist yet: letters, digits, '_', '-' and '.'.",
    )
    neutralize = fields.Boolean(
        default=True,
        help="As Odoo's database manager does for a test copy: scheduled actions, outgoing mail servers, "
        "payment providers, backup schedules and server schedules are turned off in the new database.",
    )
    encrypted = fields.Boolean(related="backup_id.encrypted")
    key_fingerprint = fields.Char(related="backup_id.key_fingerprint")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        backup = self.env["cloud.backup"].browse(values.get("backup_id"))
        if backup and "db_name" in fields_list and not values.get("db_name"):
            moment = backup.started_at or backup.create_date
            values["db_name"] = "%s-restored-%s" % (backup.database, moment.strftime("%Y%m%d-%H%M"))
        return values

    def action_confirm(self):
        self.ensure_one()
        pem, passphrase, env = pop_key(self.env)
        wizard = self.with_env(env)
        backup = wizard.backup_id
        backup._check_can_restore()
        if not backup.encrypted:
            backup._queue_restore(wizard.db_name, wizard.neutralize)
            return {
                "type": "ir.actions.act_window",
                "name": _("Backup"),
                "res_model": "cloud.backup",
                "res_id": backup.id,
                "view_mode": "form",
                "target": "current",
            }
        # the key cannot wait for the scheduled action (it is never kept): the restore process
        # starts now, from this request, with the key on its stdin
        backup._restore_with_key(wizard.db_name, wizard.neutralize, pem, passphrase)
        # no window action: the web client would keep this call's context (the key) with it
        return {"type": "ir.actions.act_window_close"}


class CloudBackupVerifyKey(models.TransientModel):
    """Verify an encrypted backup's content with the private key (never kept)."""

    _name = "cloud.backup.verify.key"
    _inherit = "cloud.backup.key.input"
    _description = "Verify Backup with Key"

    backup_id = fields.Many2one("cloud.backup", required=True, readonly=True, ondelete="cascade")
    key_fingerprint = fields.Char(related="backup_id.key_fingerprint")

    def action_confirm(self):
        self.ensure_one()
        pem, passphrase, env = pop_key(self.env)
        backup = self.with_env(env).backup_id
        backup._check_backup_admin()
        backup.sudo()._verify_content(pem, passphrase)
        return {"type": "ir.actions.act_window_close"}
