from odoo import _, api, fields, models


class CloudBackupRestore(models.TransientModel):
    """Restore a backup into a new database of this server (never over an existing one)."""

    _name = "cloud.backup.restore"
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
        backup = self.backup_id
        backup._check_can_restore()
        backup._queue_restore(self.db_name, self.neutralize)
        return {
            "type": "ir.actions.act_window",
            "name": _("Backup"),
            "res_model": "cloud.backup",
            "res_id": backup.id,
            "view_mode": "form",
            "target": "current",
        }
