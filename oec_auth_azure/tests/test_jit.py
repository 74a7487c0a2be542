# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Just-in-time users: created at first sign-in only for the right tenant and
with a mapped role; refused (and optionally archived) once the roles are gone."""

import json
import os
from pathlib import Path
from unittest.mock import patch

from azure_emulator import defaults

from odoo import SUPERUSER_ID, api
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import AzureSigninCase

ROLE = "Odoo.User"
SANDBOX_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "sandbox" / "auth_azure.py"


@tagged("post_install", "-at_install")
class TestJustInTime(AzureSigninCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.staff = cls.env["res.groups"].create({"name": "Azure test: Staff"})
        cls.extra = cls.env["res.groups"].create({"name": "Azure test: from the template"})
        cls.template = cls.env["res.users"].create(
            {
                "name": "JIT template",
                "login": "jit-template",
                "active": False,
                "groups_id": [(6, 0, cls.extra.ids)],
            }
        )
        cls.provider.write(
            {
                "oec_azure_jit": True,
                "oec_azure_jit_template_id": cls.template.id,
                "oec_azure_mapping_ids": [
                    (0, 0, {"kind": "role", "value": ROLE, "group_ids": [(6, 0, cls.staff.ids)]})
                ],
            }
        )

    def assign(self, oid=defaults.SECOND_USER_OID, roles=(ROLE,)):
        self.emu.control.update_user(oid, app_roles={defaults.SIGNIN_CLIENT_ID: list(roles)})

    def users(self, login):
        return self.env["res.users"].with_context(active_test=False).search([("login", "=", login)])

    def last_log(self):
        return self.env["oec.azure.signin.log"].search([], limit=1)

    def test_created_with_mapped_and_template_groups(self):
        self.assign()
        response = self.sign_in(user=defaults.SECOND_USER_EMAIL)
        user = self.users(defaults.SECOND_USER_EMAIL)
        self.assertTrue(user, "a user is created with the user principal name as login")
        self.assertSignedIn(response, user)
        self.assertEqual(user.email, defaults.SECOND_USER_EMAIL)
        self.assertEqual(user.name, defaults.SECOND_USER_NAME)
        self.assertTrue(user._is_internal())
        self.assertTrue(self.staff <= user.groups_id and self.extra <= user.groups_id)
        self.assertEqual(user.oauth_provider_id, self.provider)
        log = self.last_log()
        self.assertEqual((log.result, log.user_id, log.user_created), ("success", user, True))
        self.assertIn(self.staff, log.groups_added_ids)
        # the next sign-in finds the same user
        self.new_browser()
        self.assertSignedIn(self.sign_in(user=defaults.SECOND_USER_EMAIL), user)
        self.assertFalse(self.last_log().user_created)

    def test_portal_users(self):
        self.provider.oec_azure_jit_user_type = "portal"
        self.assign()
        self.sign_in(user=defaults.SECOND_USER_EMAIL)
        user = self.users(defaults.SECOND_USER_EMAIL)
        self.assertTrue(user._is_portal())
        self.assertIn(self.staff, user.groups_id)

    def test_portal_user_with_internal_groups_refused_cleanly(self):
        """A mapping that needs an internal user, for portal users: a clear
        refusal, no half-made user, and the next try works once fixed."""
        self.provider.oec_azure_jit_user_type = "portal"
        self.staff.implied_ids = [(4, self.env.ref("base.group_user").id)]
        self.assign()
        self.assertRefused(self.sign_in(user=defaults.SECOND_USER_EMAIL), "could not apply the groups")
        self.assertFalse(self.users(defaults.SECOND_USER_EMAIL))
        self.assertEqual((self.last_log().result, self.last_log().user_id.id), ("refused", False))
        self.provider.oec_azure_jit_user_type = "internal"
        self.new_browser()
        self.sign_in(user=defaults.SECOND_USER_EMAIL)
        self.assertIn(self.staff, self.users(defaults.SECOND_USER_EMAIL).groups_id)

    def test_no_role_refused(self):
        self.assertRefused(self.sign_in(user=defaults.SECOND_USER_EMAIL), "no app role or group")
        self.assertFalse(self.users(defaults.SECOND_USER_EMAIL))
        log = self.last_log()
        self.assertEqual((log.result, log.user_created, log.user_id.id), ("refused", False, False))
        self.assertEqual(log.oid, defaults.SECOND_USER_OID)

    def test_other_tenant_refused(self):
        """organizations + allowed tenants: a tenant not on the list never gets a user."""
        self.provider.write(
            {"oec_azure_tenant": "organizations", "oec_azure_allowed_tenants": defaults.TENANT_ID}
        )
        self.assign(defaults.OTHER_USER_OID)
        self.assertRefused(self.sign_in(user=defaults.OTHER_USER_EMAIL), "tenant")
        self.assertFalse(self.users(defaults.OTHER_USER_EMAIL))

    def test_email_of_another_tenant_is_not_the_login(self):
        """An allowed second tenant whose user claims the email of an Odoo user:
        a new user named by its own UPN, the existing user is not touched."""
        self.provider.write(
            {
                "oec_azure_tenant": "organizations",
                "oec_azure_allowed_tenants": "%s %s" % (defaults.TENANT_ID, defaults.OTHER_TENANT_ID),
            }
        )
        self.emu.control.update_user(
            defaults.OTHER_USER_OID,
            email=self.user.email,
            claims={"email": self.user.email},
            app_roles={defaults.SIGNIN_CLIENT_ID: [ROLE]},
        )
        self.sign_in(user=defaults.OTHER_USER_EMAIL)
        created = self.users(defaults.OTHER_USER_EMAIL)
        self.assertTrue(created)
        self.assertNotEqual(created, self.user)
        self.assertEqual(created.email, defaults.OTHER_USER_EMAIL)
        self.assertFalse(self.user.oauth_uid)

    def test_multi_tenant_without_allow_list_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "single tenant"):
            self.provider.write({"oec_azure_tenant": "organizations", "oec_azure_allowed_tenants": False})

    def test_roles_gone_refused_then_archived(self):
        self.assign()
        self.sign_in(user=defaults.SECOND_USER_EMAIL)
        user = self.users(defaults.SECOND_USER_EMAIL)
        self.assign(roles=())
        self.new_browser()
        self.assertRefused(self.sign_in(user=defaults.SECOND_USER_EMAIL), "no longer has an app role")
        self.assertTrue(user.active, "archiving is an option")
        self.assertIn(self.staff, user.groups_id, "the refusal changes nothing")
        self.provider.oec_azure_jit_archive = True
        self.new_browser()
        text = self.assertRefused(self.sign_in(user=defaults.SECOND_USER_EMAIL), "no longer has an app role")
        self.assertIn("archived", text)
        self.assertFalse(user.active)
        self.assertEqual(self.last_log().user_id, user)


@tagged("post_install", "-at_install")
class TestSandboxFirstSignin(AzureSigninCase):
    def test_sandbox_user_signs_in_first_time(self):
        """What `make run` sets up (tools/sandbox/auth_azure.py, run as is):
        sandbox.user, who has an app role and no Odoo user, signs in through
        the sandbox provider, gets a user with the mapped group, and the
        sign-in log shows it."""
        script = SANDBOX_SCRIPT.read_text()
        info = dict(self.emu.describe(), signin_client_secret=defaults.SIGNIN_CLIENT_SECRET)
        # HttpCase is in test mode: this cursor is the test's, its commit a savepoint
        with (
            patch.dict(os.environ, {"OEC_SANDBOX_INFO": json.dumps(info)}),
            self.registry.cursor() as cr,
        ):
            # as `odoo-bin shell` runs it: our own script, from the repository
            code = compile(script, str(SANDBOX_SCRIPT), "exec")
            exec(code, {"env": api.Environment(cr, SUPERUSER_ID, {})})  # noqa: S102
        sandbox = self.env["auth.oauth.provider"].search([("name", "=", "Microsoft Azure (sandbox)")])
        self.assertTrue(sandbox.oec_azure_jit and sandbox.oec_azure_client_secret_set)
        login = defaults.SECOND_USER_EMAIL
        self.assertFalse(self.env["res.users"].search([("login", "=", login)]))
        started = self.url_open("/oec_auth_azure/authorize/%s" % sandbox.id, allow_redirects=False)
        response = self.answer(self.microsoft(started.headers["Location"], login))
        user = self.env["res.users"].search([("login", "=", login)])
        self.assertSignedIn(response, user)
        contacts = self.env.ref("base.group_partner_manager")
        self.assertIn(contacts, user.groups_id)
        log = self.env["oec.azure.signin.log"].search([], limit=1)
        self.assertEqual(
            (log.result, log.user_id, log.user_created, log.provider_id), ("success", user, True, sandbox)
        )
        self.assertIn(contacts, log.groups_added_ids)
