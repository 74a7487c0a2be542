"""A policy's restore tests: their schedule, the button, the last result
(the test itself: cloud_backup_restore_test.py)."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .cloud_backup import JOB_STATES


class CloudBackupPolicy(models.Model):
    # a concern file of cloud.backup.policy, named in ARCHITECTURE.md
    _inherit = "cloud.backup.policy"  # pylint: disable=consider-merging-classes-inherited

    restore_test_interval = fields.Selection(
        [("none", "Never"), ("daily", "Daily"), ("weekly", "Weekly")],
        string="Restore Tests",
        default="none",
        required=True,
        tracking=True,
        help="Restore the newest good backup into a throwaway database on this server (neutralized), "
        "check that its installed modules and the rows of its main tables match what was recorded at "
        "backup time and that Odoo loads it, then drop it. A test that passes moves Last Verified "
        "Restorable; one that fails raises the alert. It needs room on this PostgreSQL server for one "
        "more copy of the database while it runs.",
    )
    restore_test_next_at = fields.Datetime(
        string="Next Restore Test",
        readonly=True,
        copy=False,
        help="When the scheduled action next tests a restore of this policy's newest good backup.",
    )
    last_restore_test_id = fields.Many2one(
        "cloud.backup",
        compute="_compute_last_restore_test_id",
        help="The newest backup of this policy whose restore was tested, and what the test found.",
    )
    # computed with it, not related: a related field through a computed many2one cannot be invalidated
    last_restore_test_state = fields.Selection(JOB_STATES, compute="_compute_last_restore_test_id")
    last_restore_test_result = fields.Text(compute="_compute_last_restore_test_id")

    @api.depends("backup_ids.restore_test_state", "backup_ids.restore_test_result")
    def _compute_last_restore_test_id(self):
        Backup = self.env["cloud.backup"]
        last = dict(
            Backup._read_group(
                [("policy_id", "in", self._origin.ids), ("restore_tested_at", "!=", False)],
                ["policy_id"],
                ["id:max"],
            )
        )
        for policy in self:
            backup = Backup.browse(last.get(policy._origin))
            policy.last_restore_test_id = backup
            policy.last_restore_test_state = backup.restore_test_state
            policy.last_restore_test_result = backup.restore_test_result

    @api.constrains("restore_test_interval", "encrypt_backups")
    def _check_restore_tests_readable(self):
        for policy in self:
            if policy.restore_test_interval != "none" and policy.encrypt_backups:
                raise ValidationError(policy.env["cloud.backup"]._encrypted_restore_test_message())

    @api.model_create_multi
    def create(self, vals_list):
        policies = super().create(vals_list)
        policies._schedule_restore_tests()
        return policies

    def write(self, vals):
        res = super().write(vals)
        if "restore_test_interval" in vals:
            self._schedule_restore_tests()
        return res

    # -- actions -------------------------------------------------------------------------------------

    def action_restore_test_now(self):
        """Queue a restore test of the newest good backup; the scheduled action runs it."""
        self._check_backup_admin()
        for policy in self.sudo():
            newest = policy._newest_good_backup()
            if not newest:
                raise UserError(_("The policy %s has no successful backup to test yet.", policy.name))
            newest._queue_restore_test(_("requested by %s", self.env.user.name))
        self.env.ref("oec_cloud_accounts.ir_cron_backups")._trigger()
        return True

    # -- business methods ----------------------------------------------------------------------------

    def _schedule_restore_tests(self):
        """A schedule turned on tests at the scheduled action's next pass, then at its interval."""
        now = fields.Datetime.now()
        for policy in self.sudo():
            if policy.restore_test_interval in ("daily", "weekly"):
                policy.restore_test_next_at = now
            else:
                policy.restore_test_next_at = False
