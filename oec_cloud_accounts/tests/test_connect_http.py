from urllib.parse import urlsplit

from azure_emulator import defaults
from azure_emulator.odoo_browser import consent_in_browser

from odoo.tests import HttpCase, tagged

from .common import EmulatorMixin


@tagged("post_install", "-at_install")
class TestConnectHttp(EmulatorMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.authenticate("admin", "admin")
        self.Account = self.env["cloud.account"]
        self.count = self.Account.search_count([])

    def start(self, account=None):
        """Add Account > Microsoft Azure (or Reconnect): the redirect to Microsoft."""
        query = "account_id=%d" % account.id if account else "environment_id=%d" % self.cloud.id
        response = self.url_open("/cloud_accounts/azure/connect?" + query, allow_redirects=False)
        self.assertEqual(response.status_code, 303, response.text[:500])
        auth_uri = response.headers["Location"]
        self.assertTrue(auth_uri.startswith(self.emu.http_url), auth_uri)
        return auth_uri

    def come_back(self, location):
        """The browser follows Microsoft's redirect to our callback."""
        parts = urlsplit(location)
        return self.url_open("%s?%s" % (parts.path, parts.query), allow_redirects=False)

    def connect_http(self, user=defaults.USER_EMAIL, action="accept", account=None):
        _params, location = self.answer_consent(self.start(account), user=user, action=action)
        return self.come_back(location)

    def assertFailed(self, response, text, count=None):
        self.assertEqual(response.status_code, 200)
        self.assertIn("The Azure account was not connected", response.text)
        self.assertIn(text, response.text)
        expected = self.count if count is None else count
        self.assertEqual(self.Account.search_count([]), expected, "no half-created account")

    def test_connect(self):
        auth_uri = self.start()
        for param in ("code_challenge_method=S256", "code_challenge=", "nonce=", "state=", "offline_access"):
            self.assertIn(param, auth_uri)
        self.assertIn("user_impersonation", auth_uri)
        _params, location = self.answer_consent(auth_uri)
        response = self.come_back(location)
        self.assertEqual(response.status_code, 303, response.text[:300])
        self.assertIn("model=cloud.account", response.headers["Location"])
        account = self.Account.search([], order="id desc", limit=1)
        self.assertEqual((account.state, account.ms_username), ("active", defaults.USER_EMAIL))
        # the answer cannot be replayed: the state was single use
        self.assertFailed(self.come_back(location), "already used", count=self.count + 1)

    def test_authorization_denied(self):
        self.assertFailed(self.connect_http(action="cancel"), "Authorization denied")

    def test_admin_consent_required(self):
        self.emu.control.update_app(defaults.CLOUD_CLIENT_ID, consent="admin_required")
        response = self.connect_http()
        self.assertFailed(response, "Admin consent required")
        self.assertIn("AADSTS90094", response.text)
        self.assertIn("/v2.0/adminconsent?client_id=" + defaults.CLOUD_CLIENT_ID, response.text)

    def test_user_consent_missing(self):
        # non-interactive sign-in without consent: AADSTS65001
        self.emu.control.update_app(defaults.CLOUD_CLIENT_ID, consent="required")
        response = self.connect_http()
        self.assertFailed(response, "Admin consent required")
        self.assertIn("AADSTS65001", response.text)

    def test_no_subscriptions(self):
        self.assertFailed(self.connect_http(user=defaults.OTHER_USER_EMAIL), "No subscriptions found")

    def test_wrong_tenant(self):
        self.cloud.tenant = defaults.TENANT_ID
        response = self.connect_http(user=defaults.OTHER_USER_EMAIL)
        self.assertFailed(response, "Wrong tenant")
        self.assertIn("AADSTS50020", response.text)

    def test_invalid_client_secret(self):
        auth_uri = self.start()
        self.cloud.set_client_secret("wrong-secret")
        _params, location = self.answer_consent(auth_uri)
        response = self.come_back(location)
        self.assertFailed(response, "Invalid client secret")
        self.assertIn("AADSTS7000215", response.text)

    def test_forged_state(self):
        _params, location = self.answer_consent(self.start())
        forged = location.replace("state=", "state=x")
        self.assertFailed(self.come_back(forged), "does not belong to a sign-in started")

    def test_other_session_cannot_finish(self):
        _params, location = self.answer_consent(self.start())
        self.authenticate("admin", "admin")  # a new session
        self.assertFailed(self.come_back(location), "does not belong to a sign-in started")

    def test_reconnect_into_same_record(self):
        self.connect_http()
        account = self.Account.search([], order="id desc", limit=1)
        self.emu.control.revoke_refresh_tokens()
        account.action_refresh()
        self.assertEqual(account.state, "expired")
        response = self.connect_http(account=account)
        self.assertEqual(response.status_code, 303)
        self.assertEqual(self.Account.search_count([]), self.count + 1)
        self.assertEqual(account.state, "active")

    def test_reconnect_wrong_tenant(self):
        self.connect_http()
        account = self.Account.search([], order="id desc", limit=1)
        response = self.connect_http(user=defaults.OTHER_USER_EMAIL, account=account)
        self.assertIn("Wrong tenant", response.text)
        self.assertEqual(account.ms_username, defaults.USER_EMAIL)

    def test_tour_add_account(self):
        """Add Account > Microsoft Azure > consent page > Accept > Active card with badges."""
        action = self.env.ref("oec_cloud_accounts.cloud_account_action")
        self.Account.search([]).write({"active": False})
        with consent_in_browser(user=defaults.USER_EMAIL):
            self.start_tour("/web#action=%d" % action.id, "oec_cloud_accounts_connect", login="admin")
        account = self.Account.search([])
        self.assertEqual(len(account), 1)
        self.assertEqual((account.state, account.ms_username), ("active", defaults.USER_EMAIL))
