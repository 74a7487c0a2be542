# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from urllib.parse import urlsplit

from azure_emulator import defaults

from odoo.tests import new_test_user, tagged

from .common import AzureSigninCase


@tagged("post_install", "-at_install")
class TestLoginTour(AzureSigninCase):
    def test_login_button_in_browser(self):
        """Chromium clicks Microsoft Azure on /web/login (our authorize route),
        is answered at once by the emulator (signed in there) and lands in /web as the linked user."""
        self.link(self.user)

        def authorize_requests():
            return [r for r in self.emu.control.requests() if "/oauth2/v2.0/authorize" in r.get("path", "")]

        before = len(authorize_requests())
        logins = self.env["res.users.log"].search_count([("create_uid", "=", self.user.id)])
        with self.emu.control.auto_consent(user=defaults.USER_EMAIL):
            self.start_tour("/web/login", "oec_auth_azure_login_button")
        self.assertEqual(
            self.env["res.users.log"].search_count([("create_uid", "=", self.user.id)]),
            logins + 1,
            "the browser signed in as the linked user",
        )
        self.assertGreater(len(authorize_requests()), before, "through Microsoft's authorize page")

    def test_invitation_in_browser(self):
        """Chromium clicks Microsoft Azure on the invitation page, is answered at once
        by the emulator (signed in there) and lands in /web as the invited user."""
        invited = new_test_user(
            self.env, login="invited.person", name="Invited Person", groups="base.group_user"
        )
        invited.with_context(create_user=True).action_reset_password()
        url = urlsplit(invited.partner_id.signup_url)
        self.assertEqual(url.path, "/web/reset_password")
        with self.emu.control.auto_consent(user=defaults.SECOND_USER_EMAIL):
            self.start_tour("%s?%s" % (url.path, url.query), "oec_auth_azure_invitation")
        self.assertEqual(invited.oauth_provider_id, self.provider)
        self.assertEqual(invited.login, "invited.person")
        self.assertTrue(invited.login_date)

    def test_role_mapping_in_browser(self):
        """An administrator maps an app role on the provider form; the person
        with that role signs in through the sandbox and has the group; the
        sign-in log shows it."""
        sales = self.env["res.groups"].create({"name": "Azure tour: Sales"})
        self.link(self.user)
        self.assertNotIn(sales, self.user.groups_id)
        self.start_tour(
            "/web#model=auth.oauth.provider&id=%s&view_type=form" % self.provider.id,
            "oec_auth_azure_role_mapping",
            login="admin",
        )
        mapping = self.provider.oec_azure_mapping_ids
        self.assertEqual((mapping.kind, mapping.value, mapping.group_ids), ("role", "Odoo.Sales", sales))
        self.emu.control.update_user(defaults.USER_OID, app_roles={defaults.SIGNIN_CLIENT_ID: ["Odoo.Sales"]})
        self.new_browser()
        with self.emu.control.auto_consent(user=defaults.USER_EMAIL):
            self.start_tour("/web/login", "oec_auth_azure_login_button")
        self.assertIn(sales, self.user.groups_id)
        action = self.env.ref("oec_auth_azure.oec_azure_signin_log_action")
        self.start_tour("/web#action=%s" % action.id, "oec_auth_azure_signin_log", login="admin")
