# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Enforced Microsoft sign-in: no Odoo password for Microsoft users, except
the break-glass group; API keys per setting; reset links only link."""

import html
import re

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .common import ALERT_RE, AzureSigninCase

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
HINT_RE = re.compile(r'<p class="alert alert-info oec_azure_signin_hint"[^>]*>(.*?)</p>', re.DOTALL)
WRONG = "Wrong login/password"


@tagged("post_install", "-at_install")
class TestEnforcedSignin(AzureSigninCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = new_test_user(
            cls.env, login="glass", password="glass-Password-1", groups="base.group_user,base.group_system"
        )
        cls.plain = new_test_user(
            cls.env, login="plain", password="plain-Password-1", groups="base.group_user"
        )
        # sandbox.admin's password is its login (new_test_user)
        cls.user.password = "sandbox-Password-1"

    def enforce(self, **params):
        set_param = self.env["ir.config_parameter"].sudo().set_param
        set_param("oec_auth_azure.enforce_signin", "1")
        for key, value in params.items():
            set_param("oec_auth_azure.%s" % key, value)

    def post_login(self, login, password):
        """The login form, as a browser posts it, from a new browser."""
        self.new_browser()
        page = self.url_open("/web/login")
        token = CSRF_RE.search(page.text).group(1)
        return self.url_open(
            "/web/login",
            data={"login": login, "password": password, "csrf_token": token},
            allow_redirects=False,
        )

    def password_login(self, login, password):
        """The error the login form shows, or None when signed in."""
        response = self.post_login(login, password)
        if response.status_code in (302, 303):
            return None
        alert = ALERT_RE.search(response.text)
        return html.unescape(alert.group(1)).strip() if alert else response.text[:200]

    def rpc_uid(self, login, secret):
        return self.xmlrpc_common.authenticate(self.env.cr.dbname, login, secret, {})

    def test_off_by_default(self):
        self.link(self.user)
        self.assertIsNone(self.password_login("sandbox.admin", "sandbox-Password-1"))

    def test_password_refused_break_glass_kept(self):
        self.link(self.user)
        self.admin.oauth_provider_id = self.provider
        self.admin.oauth_uid = "admin-linked"
        self.enforce()
        message = self.password_login("sandbox.admin", "sandbox-Password-1")
        self.assertEqual(message, WRONG)
        # the same answer for a wrong password: it is never checked
        self.assertEqual(self.password_login("sandbox.admin", "wrong"), message)
        # break-glass (administrators by default), and users not linked to Microsoft
        self.assertIsNone(self.password_login("glass", "glass-Password-1"))
        self.assertIsNone(self.password_login("plain", "plain-Password-1"))
        # Microsoft sign-in itself is unaffected
        self.new_browser()
        self.assertSignedIn(self.sign_in(), self.user)
        # another break-glass group: administrators are no longer exempt
        custom = self.env["res.groups"].create({"name": "Azure test: break glass"})
        self.enforce(break_glass_group_id=str(custom.id))
        self.assertEqual(self.password_login("glass", "glass-Password-1"), WRONG)
        self.user.groups_id = [(4, custom.id)]
        self.assertIsNone(self.password_login("sandbox.admin", "sandbox-Password-1"))

    def test_managed_login_answers_as_unknown_login(self):
        """The answer to a Microsoft user's login tells nothing an unknown
        login's does not: same status, same error, same page."""
        self.link(self.user)
        self.enforce()

        def answer(login):
            response = self.post_login(login, "sandbox-Password-1")
            token = CSRF_RE.search(response.text).group(1)
            page = response.text.replace(token, "TOKEN").replace('value="%s"' % login, 'value="LOGIN"')
            alert = ALERT_RE.search(response.text)
            return response.status_code, alert and html.unescape(alert.group(1)).strip(), page

        status, error, page = answer("sandbox.admin")
        self.assertEqual((status, error), (200, WRONG))
        self.assertEqual(answer("nobody.here"), (status, error, page))
        # and the same as a wrong password of a user that signs in with one
        self.assertEqual(answer("plain"), (status, error, page))

    def test_hint_on_login_page(self):
        self.provider.body = "Contoso Entra"
        page = self.url_open("/web/login")
        self.assertFalse(HINT_RE.search(page.text), "no hint when Microsoft sign-in is not enforced")
        self.enforce()
        self.new_browser()
        hint = HINT_RE.search(self.url_open("/web/login").text)
        self.assertTrue(hint, "the login page says that Microsoft sign-in is enforced")
        text = html.unescape(hint.group(1))
        self.assertIn("signs in with Microsoft", text)
        self.assertIn("Contoso Entra", text)
        # and after a refused password too, next to the generic error
        self.link(self.user)
        response = self.post_login("sandbox.admin", "sandbox-Password-1")
        self.assertTrue(HINT_RE.search(response.text))

    def test_api_keys(self):
        self.link(self.user)
        key = self.env["res.users.apikeys"].with_user(self.user)._generate(None, "integration")
        self.enforce()
        self.assertFalse(self.rpc_uid("sandbox.admin", "sandbox-Password-1"), "no password over RPC")
        self.assertEqual(self.rpc_uid("sandbox.admin", key), self.user.id, "API keys keep working")
        self.enforce(enforce_api_keys="1")
        self.assertFalse(self.rpc_uid("sandbox.admin", key))

    def test_reset_link_only_links(self):
        self.link(self.user)
        self.enforce()
        url = self.reset_url(self.user)
        with self.assertRaisesRegex(UserError, "Microsoft"):
            self.env["res.users"].sudo().signup(
                {"password": "new-Password-1"}, self.user.partner_id.signup_token
            )
        self.assertEqual(self.password_login("sandbox.admin", "sandbox-Password-1"), WRONG)
        # the same link still links / signs in with Microsoft
        self.new_browser()
        self.assertSignedIn(self.sign_in(url), self.user)
