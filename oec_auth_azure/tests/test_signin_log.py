# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The sign-in log: one entry per attempt, administrators only, no secret, purged."""

from datetime import timedelta

from azure_emulator import defaults

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import AzureSigninCase


@tagged("post_install", "-at_install")
class TestSigninLog(AzureSigninCase):
    def logs(self):
        return self.env["oec.azure.signin.log"].search([])

    def test_entries_and_no_secret(self):
        self.env["oec.azure.signin.log"].search([]).unlink()
        self.use_secret()
        self.link(self.user)
        # a refusal at Microsoft (user cancelled), one here (unknown account)
        self.assertRefused(self.sign_in(action="cancel"))
        self.new_browser()
        self.assertRefused(self.sign_in(user=defaults.SECOND_USER_EMAIL), "no Odoo user is linked")
        logs = self.logs()
        self.assertEqual(logs.mapped("result"), ["refused", "refused", "success"])
        unknown, cancelled, success = logs
        self.assertEqual(success.user_id, self.user)
        self.assertTrue(cancelled.reason)
        self.assertFalse(cancelled.oid, "Microsoft answered with an error: no identity is known")
        self.assertEqual(unknown.oid, defaults.SECOND_USER_OID)
        self.assertFalse(unknown.user_id)
        # nothing secret: no JWT, no code, no client secret, in any column
        self.env.cr.execute("SELECT * FROM oec_azure_signin_log")
        text = repr(self.env.cr.fetchall())
        for secret in ("eyJ", "1.emu.", defaults.SIGNIN_CLIENT_SECRET, "nonce"):
            self.assertNotIn(secret, text)

    def test_administrators_only(self):
        self.link(self.user)
        entry = self.logs()[:1]
        self.assertTrue(entry)
        for groups in ("base.group_user", "base.group_portal", "base.group_erp_manager"):
            other = new_test_user(self.env, login="reader-%s" % groups, groups=groups)
            with self.assertRaises(AccessError):
                entry.with_user(other).read(["username"])
        admin = new_test_user(self.env, login="log-admin", groups="base.group_user,base.group_system")
        self.assertEqual(entry.with_user(admin).read(["username"])[0]["username"], defaults.USER_EMAIL)
        with self.assertRaises(AccessError):
            entry.with_user(admin).write({"result": "success", "reason": "edited"})
        with self.assertRaises(AccessError):
            entry.with_user(admin).unlink()
        # grouped by day and result, as the pivot view does
        log = self.env["oec.azure.signin.log"]
        log.search([]).unlink()
        noon = fields.Datetime.now().replace(hour=12, minute=0, second=0)
        for days_ago, result in ((0, "success"), (0, "success"), (0, "refused"), (1, "refused")):
            log._record({"result": result, "date": noon - timedelta(days=days_ago)})
        groups = (
            log.with_user(admin)
            .with_context(tz="UTC")
            .read_group([], ["result"], ["date:day", "result"], lazy=False)
        )
        counts = {(g["__range"]["date:day"]["from"][:10], g["result"]): g["__count"] for g in groups}
        today, yesterday = (str((noon - timedelta(days=d)).date()) for d in (0, 1))
        self.assertEqual(counts, {(today, "success"): 2, (today, "refused"): 1, (yesterday, "refused"): 1})

    def test_purge(self):
        log = self.env["oec.azure.signin.log"]
        now = fields.Datetime.now()
        old = log._record({"result": "refused", "date": now - timedelta(days=181)})
        recent = log._record({"result": "refused", "date": now - timedelta(days=179)})
        cron = self.env.ref("oec_auth_azure.ir_cron_signin_log_purge")
        cron.method_direct_trigger()
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())
        self.env["ir.config_parameter"].sudo().set_param("oec_auth_azure.signin_log_days", "30")
        cron.method_direct_trigger()
        self.assertFalse(recent.exists())
