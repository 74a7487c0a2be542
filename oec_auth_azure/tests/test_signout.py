# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Single sign-out: Odoo's logout ends the Microsoft session (a setting), and
Microsoft's front-channel logout ends the Odoo sessions it started, only those."""

from urllib.parse import parse_qs, urlsplit

import requests
from azure_emulator import defaults

from odoo.tests import new_test_user, tagged

from .common import AzureSigninCase


@tagged("post_install", "-at_install")
class TestSingleSignOut(AzureSigninCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.second = new_test_user(cls.env, login="sandbox.user", groups="base.group_user")

    def uid(self):
        info = self.url_open(
            "/web/session/get_session_info", data="{}", headers={"Content-Type": "application/json"}
        )
        return info.json().get("result", {}).get("uid")

    def test_logout_ends_the_microsoft_session(self):
        self.link(self.user)
        self.assertSignedIn(self.sign_in(), self.user)
        # off by default: Odoo's own logout only
        response = self.url_open("/web/session/logout", allow_redirects=False)
        self.assertEqual(urlsplit(response.headers["Location"]).path, "/web")
        self.assertFalse(self.uid())
        self.env["ir.config_parameter"].sudo().set_param("oec_auth_azure.single_signout", "1")
        self.new_browser()
        self.assertSignedIn(self.sign_in(), self.user)
        sessions = set(self.emu.control.state()["sessions"])
        response = self.url_open("/web/session/logout", allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        location = response.headers["Location"]
        parts = urlsplit(location)
        self.assertEqual(
            "%s://%s%s" % (parts.scheme, parts.netloc, parts.path),
            "%s/%s/oauth2/v2.0/logout" % (self.emu.http_url, defaults.TENANT_ID),
        )
        query = parse_qs(parts.query)
        redirect_uri = self.provider._oec_azure_redirect_uri()
        self.assertEqual(query["post_logout_redirect_uri"], [redirect_uri])
        self.assertEqual(query["client_id"], [defaults.SIGNIN_CLIENT_ID])
        self.assertTrue(query["logout_hint"][0])
        self.assertFalse(self.uid(), "the Odoo session is over before Microsoft is asked")
        # Microsoft ends its session and comes back to the registered redirect URI
        answer = requests.get(location, allow_redirects=False, timeout=10)
        self.assertEqual(answer.headers["Location"], redirect_uri)
        # only the session of this sign-in (logout_hint), not the earlier ones
        self.assertEqual(len(set(self.emu.control.state()["sessions"])), len(sessions) - 1)
        # which leads to the login page
        page = self.url_open(urlsplit(redirect_uri).path)
        self.assertIn("/web/login", self.with_scripts(page))
        # a session that did not come from Microsoft: Odoo's logout only
        self.authenticate("sandbox.user", "sandbox.user")
        response = self.url_open("/web/session/logout", allow_redirects=False)
        self.assertEqual(urlsplit(response.headers["Location"]).path, "/web")

    def test_frontchannel_logout_ends_the_right_session_only(self):
        url = self.provider.oec_azure_frontchannel_logout_url
        self.assertTrue(url.endswith("/oec_auth_azure/logout"))
        self.emu.control.update_app(defaults.SIGNIN_CLIENT_ID, frontchannel_logout_url=url)
        self.link(self.user)
        self.link(self.second, defaults.SECOND_USER_EMAIL)
        # two browsers, two people
        self.assertSignedIn(self.sign_in(), self.user)
        first = dict(self.opener.cookies)
        self.new_browser()
        self.assertSignedIn(self.sign_in(user=defaults.SECOND_USER_EMAIL), self.second)
        second = dict(self.opener.cookies)
        # the first person signs out of Microsoft 365
        calls = self.emu.control.frontchannel_logout(user=defaults.USER_EMAIL)["calls"]
        self.assertTrue(calls and all(c["status"] == 200 for c in calls), calls)
        self.assertEqual(self.uid(), self.second.id, "the other person's session goes on")
        self.opener.cookies.clear()
        self.opener.cookies.update(first)
        self.assertFalse(self.uid(), "the first person's Odoo session is over")
        log = self.env["oec.azure.signin.log"].search([("user_id", "=", self.user.id)], limit=1)
        self.assertTrue(log.signed_out_date)
        self.assertFalse(
            self.env["oec.azure.signin.log"]
            .search([("user_id", "=", self.second.id)], limit=1)
            .signed_out_date
        )
        # an unknown or repeated sid changes nothing
        self.opener.cookies.update(second)
        self.assertEqual(self.url_open(url + "?sid=unknown").status_code, 200)
        self.assertEqual(self.uid(), self.second.id)
