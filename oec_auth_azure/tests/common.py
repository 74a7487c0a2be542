# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Drive Microsoft sign-ins through real Odoo HTTP and the local emulator."""

import html
import re
from unittest.mock import patch
from urllib.parse import parse_qsl, urlsplit

import requests
from azure_emulator import defaults
from azure_emulator.testing import shared_emulator

import odoo
from odoo.tests import HttpCase, new_test_user

from .capture import CaptureTextsMixin, append_texts

BUTTON_RE = re.compile(r'href="(/oec_auth_azure/authorize/\d+[^"]*)"')
# the error paragraph of web.login
ALERT_RE = re.compile(r'<p class="alert alert-danger"[^>]*>(.*?)</p>', re.DOTALL)
# a page's scripts: (attributes, body)
SCRIPT_RE = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL | re.IGNORECASE)
SRC_RE = re.compile(r'\bsrc="([^"]+)"')


def script_sources(page_text):
    """The src of each <script> of a page (None for an inline one)."""
    sources = []
    for attributes, _body in SCRIPT_RE.findall(page_text):
        src = SRC_RE.search(attributes)
        sources.append(src and html.unescape(src.group(1)))
    return sources


def with_scripts(case, page):
    """A page as the browser runs it (``case``: an HttpCase): its HTML, then the
    files its <script src> load (each must be served)."""
    texts = [page.text]
    for src in filter(None, script_sources(page.text)):
        script = case.url_open(src)
        case.assertEqual(script.status_code, 200, src)
        texts.append(script.text)
    return "\n".join(texts)


class AzureSigninCase(CaptureTextsMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emu = shared_emulator()
        # configuration, not code: trust the emulator's CA for server-side calls
        cls.startClassPatcher(patch.dict(odoo.tools.config.options, {"oec_azure_ca_bundle": cls.emu.ca_path}))
        cls.provider = cls.env.ref("oec_auth_azure.provider_azure")
        cls.provider.write(
            {
                "oec_azure_tenant": defaults.TENANT_ID,
                "auth_endpoint": "%s/%s/oauth2/v2.0/authorize" % (cls.emu.http_url, defaults.TENANT_ID),
                "oec_azure_authority": cls.emu.url,
                "validation_endpoint": cls.emu.endpoints["userinfo"],
                "client_id": defaults.SIGNIN_CLIENT_ID,
                "enabled": True,
            }
        )
        cls.user = new_test_user(
            cls.env, login="sandbox.admin", email="admin.private@example.com", groups="base.group_user"
        )

    def setUp(self):
        super().setUp()
        self.emu.control.reset()
        # core's default: only invited users may sign up
        self.env["ir.config_parameter"].sudo().set_param("auth_signup.invitation_scope", "b2b")

    # -- helpers --------------------------------------------------------------------------------

    def with_scripts(self, page):
        return with_scripts(self, page)

    def use_secret(self, secret=defaults.SIGNIN_CLIENT_SECRET):
        """Set the client secret as an administrator does (write-only field,
        stored encrypted): the sign-in then uses the code flow with PKCE."""
        self.provider.oec_azure_client_secret = secret
        self.assertTrue(self.provider.oec_azure_client_secret_set)

    def reset_url(self, user):
        user.partner_id.signup_prepare(signup_type="reset")
        return "/web/reset_password?token=%s" % user.partner_id.signup_token

    def click_button(self, page="/web/login"):
        """The Microsoft Azure button of an Odoo page, clicked: the URL of Microsoft's authorize page."""
        response = self.url_open(page)
        self.assertEqual(response.status_code, 200)
        match = BUTTON_RE.search(response.text)
        self.assertTrue(match, "no Microsoft Azure button on %s" % page)
        self.assertIn("fa-windows", response.text)
        started = self.url_open(html.unescape(match.group(1)), allow_redirects=False)
        self.assertIn(started.status_code, (302, 303))
        return started.headers["Location"]

    def microsoft(self, authorize_url, user=defaults.USER_EMAIL, action="accept"):
        """Microsoft answers (non-interactive emulator mode): the redirect back to Odoo."""
        extra = "&emu_action=%s" % action + ("&emu_user=%s" % user if user else "")
        response = requests.get(authorize_url + extra, allow_redirects=False, timeout=10)
        self.assertEqual(response.status_code, 302, response.text[:500])
        return response.headers["Location"]

    def answer(self, callback):
        """What the browser does with Microsoft's redirect: the query string is
        sent as is, the fragment is posted by the page /auth_oauth/signin serves."""
        parts = urlsplit(callback)
        self.assertEqual(parts.path, "/auth_oauth/signin")
        if parts.fragment:
            page = self.url_open(parts.path)
            self.assertIn("form.submit()", self.with_scripts(page))
            return self.url_open(parts.path, data=dict(parse_qsl(parts.fragment)), allow_redirects=False)
        return self.url_open("%s?%s" % (parts.path, parts.query), allow_redirects=False)

    def sign_in(self, page="/web/login", user=defaults.USER_EMAIL, action="accept"):
        return self.answer(self.microsoft(self.click_button(page), user, action))

    def assertSignedIn(self, response, user, landing="/web"):
        self.assertEqual(response.status_code, 303, response.text[:300])
        self.assertEqual(urlsplit(response.headers["Location"]).path, landing)
        info = self.url_open(
            "/web/session/get_session_info", data="{}", headers={"Content-Type": "application/json"}
        )
        self.assertEqual(info.json()["result"]["uid"], user.id)

    def assertRefused(self, response, *fragments):
        """Back on the login page with an error message containing every
        fragment (searched in the message only: the rest of the page could
        hold a word like "invalid" or "expired" too). Returns the message."""
        self.assertEqual(response.status_code, 303, response.text[:300])
        self.assertEqual(response.headers["Location"], "/web/login?oauth_error=oec")
        page = self.url_open(response.headers["Location"])
        alert = ALERT_RE.search(page.text)
        self.assertTrue(alert, "no error message on the login page")
        text = html.unescape(alert.group(1))
        append_texts([text])  # what the user read: searched for secrets by make test
        for fragment in fragments:
            self.assertIn(fragment, text)
        info = self.url_open(
            "/web/session/get_session_info", data="{}", headers={"Content-Type": "application/json"}
        )
        self.assertFalse(info.json().get("result", {}).get("uid"))
        return text

    def link(self, user, azure_user=defaults.USER_EMAIL):
        """Link through the reset-password page, as the Odoo documentation says."""
        response = self.sign_in(self.reset_url(user), azure_user)
        self.assertSignedIn(response, user)
        self.new_browser()
        return response

    def new_browser(self):
        """Forget the cookies, as another browser would."""
        self.opener.cookies.clear()
