# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import html
from unittest.mock import patch
from urllib.parse import parse_qsl, urlsplit

from azure_emulator import defaults

import odoo
from odoo.tests import new_test_user, tagged

from .common import BUTTON_RE, AzureSigninCase


@tagged("post_install", "-at_install")
class TestSignin(AzureSigninCase):
    def test_reset_password_link_then_login_implicit(self):
        """The documented path: implicit flow, link from the reset page, later sign-ins."""
        self.link(self.user)
        self.assertEqual(self.user.oauth_provider_id, self.provider)
        self.assertTrue(self.user.oauth_uid)
        # linking keeps the user's own login and email, and stores no token
        self.assertEqual(self.user.login, "sandbox.admin")
        self.assertEqual(self.user.email, "admin.private@example.com")
        self.assertFalse(self.user.sudo().oauth_access_token)
        self.assertFalse(self.user.partner_id.sudo().signup_token)
        self.assertSignedIn(self.sign_in(), self.user)

    def test_code_flow_with_pkce(self):
        """With a client secret: authorization code + PKCE, no token in any URL."""
        self.use_secret()
        authorize = self.click_button(self.reset_url(self.user))
        self.assertIn("response_type=code", authorize)
        self.assertIn("code_challenge_method=S256", authorize)
        callback = self.microsoft(authorize)
        answer = urlsplit(callback)
        self.assertFalse(answer.query)
        self.assertIn("code", dict(parse_qsl(answer.fragment)))
        self.assertNotIn("token", answer.fragment)
        self.assertSignedIn(self.answer(callback), self.user)
        self.new_browser()
        self.assertSignedIn(self.sign_in(), self.user)
        redeemed = [
            r for r in self.emu.control.requests() if r.get("path", "").endswith("/oauth2/v2.0/token")
        ]
        self.assertEqual(len(redeemed), 2)
        # the emulator checked the secret (a wrong one is refused: test_wrong_client_secret),
        # which the provider's table holds only encrypted
        self.env.flush_all()
        self.env.cr.execute("SELECT row_to_json(t)::text FROM auth_oauth_provider t")
        rows = " ".join(row[0] for row in self.env.cr.fetchall())
        self.assertIn("oec_azure_client_secret_enc", rows)
        self.assertNotIn(defaults.SIGNIN_CLIENT_SECRET, rows)

    def test_secret_this_server_cannot_read(self):
        """A secret stored with another key (or none configured): the login page
        says so, instead of an implicit flow Microsoft would refuse."""
        self.use_secret()
        page = self.url_open("/web/login")
        button = html.unescape(BUTTON_RE.search(page.text).group(1))
        with patch.dict(odoo.tools.config.options, {"oec_cloud_secret_key": ""}):
            response = self.url_open(button, allow_redirects=False)
            self.assertRefused(response, "oec_cloud_secret_key")
        with patch.dict(odoo.tools.config.options, {"oec_cloud_secret_key": "ab" * 32}):
            response = self.url_open(button, allow_redirects=False)
            self.assertRefused(response, "cannot be decrypted", "oec_cloud_secret_key")

    def test_secret_removed_back_to_implicit_flow(self):
        self.use_secret()
        self.assertIn("response_type=code", self.click_button())
        self.provider.action_oec_azure_clear_client_secret()
        self.assertIn("response_type=id_token+token", self.click_button())

    def test_invitation_creates_the_link(self):
        invited = new_test_user(self.env, login="invited@example.com", groups="base.group_user")
        invited.partner_id.signup_prepare(signup_type="signup")
        url = "/web/signup?token=%s" % invited.partner_id.signup_token
        self.assertSignedIn(self.sign_in(url, defaults.SECOND_USER_EMAIL), invited)
        self.assertEqual(invited.login, "invited@example.com")
        self.new_browser()
        self.assertSignedIn(self.sign_in(user=defaults.SECOND_USER_EMAIL), invited)

    def test_second_device_keeps_first_session(self):
        self.link(self.user)
        self.assertSignedIn(self.sign_in(), self.user)
        first_cookie = self.opener.cookies["session_id"]
        self.new_browser()
        self.assertSignedIn(self.sign_in(), self.user)
        self.new_browser()
        self.opener.cookies.set("session_id", first_cookie)
        info = self.url_open(
            "/web/session/get_session_info", data="{}", headers={"Content-Type": "application/json"}
        )
        self.assertEqual(info.json()["result"]["uid"], self.user.id)

    def test_unknown_user_refused_by_default(self):
        text = self.assertRefused(self.sign_in())
        self.assertIn("You do not have access to this database", text)

    def test_unknown_user_portal_signup_under_b2c(self):
        """Free sign-up of the database and sign-up allowed on the provider: a portal user."""
        self.env["ir.config_parameter"].sudo().set_param("auth_signup.invitation_scope", "b2c")
        self.provider.oec_azure_allow_signup = True
        response = self.sign_in(user=defaults.SECOND_USER_EMAIL)
        created = self.env["res.users"].search([("login", "=", defaults.SECOND_USER_EMAIL)])
        self.assertTrue(created)
        self.assertFalse(created._is_internal())
        self.assertSignedIn(response, created, landing="/")

    def test_button_on_login_signup_and_reset_pages(self):
        self.use_secret()
        self.env["ir.config_parameter"].sudo().set_param("auth_signup.invitation_scope", "b2c")
        for page in ("/web/login", "/web/signup", self.reset_url(self.user)):
            authorize = self.click_button(page)
            self.assertTrue(authorize.startswith(self.provider.auth_endpoint + "?"))
        self.assertNotIn(defaults.SIGNIN_CLIENT_SECRET, self.url_open("/web/login").text)

    def test_redirect_uri_is_https_behind_an_https_proxy(self):
        with patch.dict(odoo.tools.config.options, {"proxy_mode": True}):
            response = self.url_open(
                "/oec_auth_azure/authorize/%s" % self.provider.id,
                allow_redirects=False,
                headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": urlsplit(self.base_url()).netloc},
            )
        query = dict(parse_qsl(urlsplit(response.headers["Location"]).query))
        self.assertEqual(
            query["redirect_uri"], "https://%s/auth_oauth/signin" % urlsplit(self.base_url()).netloc
        )
        self.assertEqual(query["response_type"], "id_token token")
        self.assertTrue(query["nonce"])

    def test_tenant_given_as_a_verified_domain(self):
        """The tenant id comes from the domain's OpenID configuration; other tenants are refused."""
        self.link(self.user)
        self.provider.oec_azure_tenant = defaults.TENANT_DOMAIN
        self.assertIn("/%s/oauth2/v2.0/authorize" % defaults.TENANT_DOMAIN, self.provider.auth_endpoint)
        self.assertSignedIn(self.sign_in(), self.user)
        self.new_browser()
        self.emu.control.next_id_token_claims(preset="wrong_tid")
        self.assertRefused(self.sign_in(), "tenant that may not sign in")
