import html
import logging
import re
from unittest.mock import patch
from urllib.parse import parse_qsl, urlencode, urlsplit

from azure_emulator import defaults

from odoo.tests import HttpCase, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import config

from odoo.addons.oec_auth_azure.tests.common import script_sources, with_scripts

from .common import EmulatorMixin, refused_users

CALLBACK = "/cloud_accounts/azure/callback"
CONNECT = "/cloud_accounts/azure/connect"


class AccessLog(logging.Handler):
    """The lines of the server's access log (werkzeug), as an operator reads them."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


class ConnectHttpMixin:
    """The browser's part of a connection, step by step, as the web client
    and the pages of the addon make it."""

    def rpc(self, model, method, *args, headers=None):
        """A JSON-RPC call of the web client (a button): runs in an HTTP
        request with this test's browser session."""
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": list(args), "kwargs": {}},
            headers=headers,
        )

    def start(self, account=None, cloud=None, headers=None):
        """Add Account > Microsoft Azure (or Reconnect): the server prepares
        the sign-in and answers with Microsoft's authorize URL."""
        if account:
            action = self.rpc("cloud.account", "action_reconnect", [account.id], headers=headers)
        else:
            wizard = self.rpc("cloud.account.connect", "create", {"environment_id": (cloud or self.cloud).id})
            action = self.rpc("cloud.account.connect", "action_connect_azure", [wizard], headers=headers)
        self.assertEqual(action["type"], "ir.actions.act_url", action)
        auth_uri = action["url"]
        self.assertTrue(auth_uri.startswith(self.emu.http_url), auth_uri)
        return auth_uri

    def come_back(self, location):
        """The browser follows Microsoft's redirect to the callback: the
        fragment never reaches the server, the page posts it back with the
        CSRF token, as its script does in a real browser (see the tour)."""
        parts = urlsplit(location)
        self.assertEqual(parts.path, CALLBACK)
        self.assertNotIn("code", dict(parse_qsl(parts.query)), "a code in the URL reaches access logs")
        page = self.url_open("%s?%s" % (parts.path, parts.query) if parts.query else parts.path)
        self.assertEqual(page.status_code, 200)
        self.assertEqual(page.headers.get("Cache-Control"), "no-store")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        self.assertTrue(token, page.text[:500])
        data = dict(parse_qsl(parts.fragment), csrf_token=token.group(1))
        return self.url_open(parts.path, data=data, allow_redirects=False)

    def connect_http(self, user=defaults.USER_EMAIL, action="accept", account=None):
        _params, location = self.answer_consent(self.start(account), user=user, action=action)
        return self.come_back(location)

    def with_scripts(self, page):
        return with_scripts(self, page)

    def csrf_token(self):
        """The CSRF token of this browser session, as the callback page gives it."""
        page = self.url_open(CALLBACK)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


@tagged("post_install", "-at_install")
class TestConnectHttp(ConnectHttpMixin, EmulatorMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.authenticate("admin", "admin")
        self.Account = self.env["cloud.account"]
        self.count = self.Account.search_count([])

    def assertFailed(self, response, text, count=None):
        self.assertEqual(response.status_code, 200)
        self.assertIn("The Azure account was not connected", response.text)
        self.assertIn(text, response.text)
        expected = self.count if count is None else count
        self.assertEqual(self.Account.search_count([]), expected, "no half-created account")

    def retry_form(self, page):
        """The fields the "Try again" (or "Add Account") button posts."""
        form = re.search(r'<form[^>]*action="%s".*?</form>' % CONNECT, page.text, re.DOTALL)
        self.assertTrue(form, "no retry form on the page")
        fields = {}
        for tag in re.findall(r"<input [^>]*>", form.group(0)):
            attributes = dict(re.findall(r'(\w+)="([^"]*)"', tag))
            fields[attributes["name"]] = attributes.get("value", "")
        return fields

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

    def test_code_stays_out_of_urls(self):
        """Issue 8.5: Microsoft answers in the fragment; the code reaches Odoo
        only in the body of a same-origin POST, never in a logged URL."""
        auth_uri = self.start()
        self.assertEqual(dict(parse_qsl(urlsplit(auth_uri).query))["response_mode"], "fragment")
        _params, location = self.answer_consent(auth_uri)
        parts = urlsplit(location)
        self.assertEqual(parts.query, "")
        self.assertIn("code", dict(parse_qsl(parts.fragment)))
        # what the browser requests first: the page, with no answer in it
        page = self.url_open(CALLBACK)
        self.assertEqual(page.status_code, 200)
        self.assertIn("window.location.hash", self.with_scripts(page))
        self.assertIn('method="POST"', page.text)
        self.assertEqual(self.Account.search_count([]), self.count, "a GET redeems nothing")
        # a code in the query string (not what we asked for) is not redeemed either
        # (this test sends the code in a URL, which Microsoft never does here: its access-log line
        # is not written, so that the run's log holds no secret; see the secrets check of make test)
        werkzeug_logger = logging.getLogger("werkzeug")
        level = werkzeug_logger.level
        werkzeug_logger.setLevel(logging.WARNING)
        try:
            leaked = self.url_open("%s?%s" % (CALLBACK, parts.fragment), allow_redirects=False)
        finally:
            werkzeug_logger.setLevel(level)
        self.assertEqual(leaked.status_code, 200)
        self.assertEqual(self.Account.search_count([]), self.count)
        # the POST needs Odoo's CSRF token: a cross-site form cannot finish a sign-in
        refused = self.url_open(CALLBACK, data=dict(parse_qsl(parts.fragment)), allow_redirects=False)
        self.assertEqual(refused.status_code, 400)
        access_log = AccessLog()
        # at the level of a server that logs its requests, whatever this run's log level
        level = werkzeug_logger.level
        werkzeug_logger.setLevel(logging.INFO)
        werkzeug_logger.addHandler(access_log)
        try:
            response = self.come_back(location)
        finally:
            werkzeug_logger.removeHandler(access_log)
            werkzeug_logger.setLevel(level)
        self.assertEqual(response.status_code, 303, response.text[:300])
        self.assertEqual(self.Account.search_count([]), self.count + 1)
        logged = "\n".join(access_log.lines)
        self.assertIn("POST %s " % CALLBACK, logged)
        self.assertNotIn(dict(parse_qsl(parts.fragment))["code"], logged)

    def test_pages_have_no_inline_script(self):
        """The connection's pages run under a strict Content-Security-Policy:
        no inline script; the callback page's script is a served file."""
        fragment_page = self.url_open(CALLBACK)
        self.assertEqual(fragment_page.status_code, 200)
        sources = script_sources(fragment_page.text)
        self.assertEqual(sources, ["/oec_cloud_accounts/static/src/js/connect_callback.js"])
        script = self.url_open(sources[0])
        self.assertEqual(script.status_code, 200)
        self.assertIn("javascript", script.headers.get("Content-Type", ""))
        self.assertIn("csrf_token", script.text)
        consent_page = self.url_open(CALLBACK + "?admin_consent=True")
        error_page = self.url_open(
            CALLBACK, data={"state": "not-ours", "code": "x", "csrf_token": self.csrf_token()}
        )
        for page in (consent_page, error_page):
            self.assertEqual(page.status_code, 200)
            self.assertIn("o_cloud_connect_result", page.text)
            self.assertEqual(script_sources(page.text), [])

    def test_fragment_page_without_answer_goes_back(self):
        page = self.url_open(CALLBACK)
        action = self.env.ref("oec_cloud_accounts.cloud_account_action")
        self.assertIn("/web#action=%d" % action.id, page.text)

    def test_connect_is_not_a_get(self):
        """Issue 8.5: another site cannot start sign-ins in the user's browser
        (pushing out the one under way); junk ids never answer 500."""
        _params, location = self.answer_consent(self.start())
        mark = len(self.emu.control.requests())
        for query in (
            "environment_id=%d" % self.cloud.id,
            "environment_id=abc",
            "account_id=1e9",
            "environment_id=1&environment_id=2",
        ):
            for _attempt in range(3):
                response = self.url_open("%s?%s" % (CONNECT, query), allow_redirects=False)
                self.assertLess(response.status_code, 500, query)
                self.assertNotIn(self.emu.http_url, response.headers.get("Location", ""))
        self.assertEqual(self.remote_calls(since=mark), [], "no sign-in was prepared")
        self.assertEqual(self.come_back(location).status_code, 303, "the user's sign-in survived")

    def test_connect_form_with_junk(self):
        """The retry form's POST: junk gives a clear page, never a 500."""
        token = self.csrf_token()
        for data in (
            {"environment_id": "abc"},
            {"environment_id": "99999999999999999999"},
            {"environment_id": "-1"},
            {"account_id": "x" * 70000},
            {"account_id": "999999"},
        ):
            response = self.url_open(CONNECT, data=dict(data, csrf_token=token), allow_redirects=False)
            self.assertEqual(response.status_code, 200, data)
            self.assertIn("The Azure account was not connected", response.text)
        without_token = self.url_open(
            CONNECT, data={"environment_id": str(self.cloud.id)}, allow_redirects=False
        )
        self.assertEqual(without_token.status_code, 400)

    def test_callback_with_hostile_input(self):
        """Issue 8.5: duplicated, huge, non-UTF-8, file-typed parameters get a clear page."""
        auth_uri = self.start()
        token = self.csrf_token()
        mark = len(self.emu.control.requests())
        url = self.base_url() + CALLBACK
        for data, files in (
            ({}, None),
            ({"state": "not-ours", "code": "x"}, None),
            ({"state": "a.b" * 20000, "code": "x" * 60000}, None),
            ([("state", "a.b"), ("state", "c.d"), ("code", "1"), ("code", "2")], None),
            ({"state": b"\xff\xfe\x80.\xc3", "code": b"\xff"}, None),
            ({"code": "x"}, {"state": ("state.txt", b"a.b")}),
        ):
            body = dict(data) if isinstance(data, dict) else list(data)
            if isinstance(body, dict):
                body["csrf_token"] = token
            else:
                body.append(("csrf_token", token))
            response = self.opener.post(url, data=body, files=files, allow_redirects=False, timeout=12)
            self.assertEqual(response.status_code, 200, repr(data)[:80])
            self.assertIn("does not belong to a sign-in started", response.text)
        self.assertEqual(self.remote_calls(since=mark), [], "nothing was redeemed")
        # the sign-in under way is untouched by all this
        _params, location = self.answer_consent(auth_uri)
        self.assertEqual(self.come_back(location).status_code, 303)

    def test_long_error_description_is_capped(self):
        """Issue 8.5: Microsoft's (or an attacker's) 50 KB error_description is
        not echoed in full on the result page."""
        _params, location = self.answer_consent(self.start())
        parts = urlsplit(location)
        answer = dict(parse_qsl(parts.fragment))
        huge = "Z" * 50000
        location = "%s#%s" % (
            CALLBACK,
            "&".join(
                "%s=%s" % pair
                for pair in (
                    ("state", answer["state"]),
                    ("error", "weird_error"),
                    ("error_description", huge),
                )
            ),
        )
        response = self.come_back(location)
        self.assertFailed(response, "ZZZZZZZZZZ")
        self.assertNotIn(huge, response.text)
        self.assertLess(response.text.count("Z"), 1000)
        self.assertLess(len(response.content), 20000)

    def test_authorization_denied(self):
        self.assertFailed(self.connect_http(action="cancel"), "Authorization denied")

    def test_try_again_starts_a_new_sign_in(self):
        response = self.connect_http(action="cancel")
        fields = self.retry_form(response)
        self.assertEqual(fields.get("environment_id"), str(self.cloud.id))
        retry = self.url_open(CONNECT, data=fields, allow_redirects=False)
        self.assertEqual(retry.status_code, 303, retry.text[:300])
        _params, location = self.answer_consent(retry.headers["Location"])
        self.assertEqual(self.come_back(location).status_code, 303)
        self.assertEqual(self.Account.search_count([]), self.count + 1)

    def test_admin_consent_required(self):
        self.emu.control.update_app(defaults.CLOUD_CLIENT_ID, consent="admin_required")
        response = self.connect_http()
        self.assertFailed(response, "Admin consent required")
        self.assertIn("AADSTS90094", response.text)
        self.assertIn("/v2.0/adminconsent?client_id=" + defaults.CLOUD_CLIENT_ID, response.text)
        # the v2.0 endpoint requires the permissions asked for: ARM's, as the app registration lists them
        scope = urlencode({"scope": defaults.ARM_RESOURCE.rstrip("/") + "/.default"})
        self.assertIn(scope, response.text)

    def test_admin_approval_cancelled_offers_admin_consent(self):
        """A tenant where only administrators approve applications: Entra shows
        "Need admin approval" and the person comes back only by cancelling
        (access_denied, AADSTS65004). The page says who must act and how."""
        self.emu.control.update_app(defaults.CLOUD_CLIENT_ID, consent="admin_required")
        response = self.connect_http(action="cancel")
        self.assertFailed(response, "Authorization denied")
        self.assertIn("AADSTS65004", response.text)
        self.assertIn("Need admin approval", response.text)
        self.assertIn("Global Administrator or a Privileged Role Administrator", response.text)
        link = re.search(r'<a [^>]*class="o_cloud_admin_consent"[^>]*>', response.text)
        self.assertTrue(link, "no admin consent link on the page")
        href = re.search(r'href="([^"]+)"', link.group(0)).group(1)
        self.assertEqual(html.unescape(href), self.cloud._admin_consent_url())
        # the person can still start again, once the administrator has approved
        self.assertEqual(self.retry_form(response).get("environment_id"), str(self.cloud.id))

    def test_admin_consent_required_says_who_must_act(self):
        self.emu.control.update_app(defaults.CLOUD_CLIENT_ID, consent="admin_required")
        response = self.connect_http()
        self.assertFailed(response, "AADSTS90094")
        self.assertIn("Global Administrator or a Privileged Role Administrator", response.text)
        self.assertIn('class="o_cloud_admin_consent"', response.text)

    def test_user_consent_missing_keeps_its_message(self):
        """AADSTS65001 (user consent possible): the admin link, not the admin-approval words."""
        self.emu.control.update_app(defaults.CLOUD_CLIENT_ID, consent="required")
        response = self.connect_http()
        self.assertIn('class="o_cloud_admin_consent"', response.text)
        self.assertNotIn("Privileged Role Administrator", response.text)

    def test_admin_consent_granted_offers_add_account(self):
        """Back from the admin-consent page: Add Account is offered and works."""
        self.emu.control.update_app(defaults.CLOUD_CLIENT_ID, consent="admin_required")
        consent_url = self.cloud._admin_consent_url()
        response = self.emulator_session().get(
            consent_url, params={"emu_user": defaults.USER_EMAIL}, allow_redirects=False, timeout=10
        )
        self.assertEqual(response.status_code, 302, response.text[:300])
        location = urlsplit(response.headers["Location"])
        page = self.url_open("%s?%s" % (location.path, location.query))
        self.assertIn("Admin consent granted", page.text)
        fields = self.retry_form(page)
        self.assertIn("Add Account", page.text)
        retry = self.url_open(CONNECT, data=fields, allow_redirects=False)
        self.assertEqual(retry.status_code, 303, retry.text[:300])
        self.assertTrue(retry.headers["Location"].startswith(self.emu.http_url))

    def follow_admin_consent_link(self, user=defaults.USER_EMAIL, action="accept"):
        """The admin consent link of the page, followed by ``user`` on
        Microsoft's page: the page the browser comes back to."""
        consent_url = self.cloud._admin_consent_url()
        self.assertIn("state=oec_admin_consent%%3A%d" % self.cloud.id, consent_url)
        params = {"emu_user": user, "emu_action": action}
        response = self.emulator_session().get(consent_url, params=params, allow_redirects=False, timeout=10)
        self.assertEqual(response.status_code, 302, response.text[:300])
        location = urlsplit(response.headers["Location"])
        self.assertEqual(location.path, CALLBACK)
        return self.url_open("%s?%s" % (location.path, location.query))

    def assertConsentNotGranted(self, page, *texts):
        self.assertEqual(page.status_code, 200)
        self.assertIn("Admin consent was not granted", page.text)
        for text in texts:
            self.assertIn(text, html.unescape(page.text))
        link = re.search(r'<a [^>]*class="o_cloud_admin_consent"[^>]*>', page.text)
        self.assertTrue(link, "no admin consent link on the page")
        href = re.search(r'href="([^"]+)"', link.group(0)).group(1)
        self.assertEqual(html.unescape(href), self.cloud._admin_consent_url())
        self.assertNotIn("Admin consent granted", page.text)
        self.assertNotIn("o_cloud_retry", page.text)

    def test_admin_consent_by_a_user_who_may_not_grant_it(self):
        """No administrator: Microsoft shows "Need admin approval" and the person
        can only go back (access_denied, error_subcode=cancel, no description):
        the page says what happened and who must act, with the link again."""
        self.emu.control.update_app(defaults.CLOUD_CLIENT_ID, consent="admin_required")
        page = self.follow_admin_consent_link(user=defaults.SECOND_USER_EMAIL)
        self.assertConsentNotGranted(
            page, "Need admin approval", "Cloud Application Administrator", "access_denied"
        )
        # nothing was granted
        self.assertFailed(self.connect_http(), "AADSTS90094")

    def test_admin_consent_cancelled(self):
        page = self.follow_admin_consent_link(action="cancel")
        self.assertConsentNotGranted(page, "the consent page was cancelled", "AADSTS65004")

    def test_admin_consent_from_another_tenant(self):
        self.cloud.tenant = defaults.TENANT_ID
        page = self.follow_admin_consent_link(user=defaults.OTHER_USER_EMAIL)
        self.assertConsentNotGranted(page, "belongs to another tenant", "AADSTS50020")

    def test_admin_consent_documented_error_is_no_grant(self):
        """Microsoft's documented error response carries admin_consent=True too."""
        query = urlencode(
            {
                "admin_consent": "True",
                "error": "consent_required",
                "error_description": "AADSTS65004: The resource owner or authorization server denied the "
                "request.\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333",
                "state": "oec_admin_consent:%d" % self.cloud.id,
            }
        )
        self.assertConsentNotGranted(self.url_open(CALLBACK + "?" + query), "AADSTS65004")

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

    def test_at_most_five_pending_sign_ins(self):
        first = self.answer_consent(self.start())[1]
        for _index in range(4):
            self.start()
        newest = self.answer_consent(self.start())[1]
        self.assertFailed(self.come_back(first), "does not belong to a sign-in started")
        self.assertEqual(self.come_back(newest).status_code, 303)

    def test_reconnect_into_same_record(self):
        self.connect_http()
        account = self.Account.search([], order="id desc", limit=1)
        self.emu.control.revoke_refresh_tokens()
        account.action_refresh()
        self.assertEqual(account.state, "expired")
        auth_uri = self.start(account)
        self.assertEqual(dict(parse_qsl(urlsplit(auth_uri).query))["login_hint"], defaults.USER_EMAIL)
        _params, location = self.answer_consent(auth_uri)
        response = self.come_back(location)
        self.assertEqual(response.status_code, 303)
        self.assertEqual(self.Account.search_count([]), self.count + 1)
        self.assertEqual(account.state, "active")

    def test_every_retry_of_a_reconnect_returns_to_the_record(self):
        self.connect_http()
        account = self.Account.search([], order="id desc", limit=1)
        account.action_disconnect()
        response = self.connect_http(action="cancel", account=account)
        self.assertFailed(response, "Authorization denied", count=self.count + 1)
        fields = self.retry_form(response)
        self.assertEqual(fields.get("account_id"), str(account.id))
        retry = self.url_open(CONNECT, data=fields, allow_redirects=False)
        self.assertEqual(retry.status_code, 303, retry.text[:300])
        _params, location = self.answer_consent(retry.headers["Location"])
        self.assertEqual(self.come_back(location).status_code, 303)
        self.assertEqual(self.Account.search_count([]), self.count + 1)
        self.assertEqual(account.state, "active")

    def test_error_page_shows_microsoft_codes_and_who_signed_in(self):
        """Our own refusals carry no "code"; the page says which Microsoft account signed in."""
        response = self.connect_http(user=defaults.OTHER_USER_EMAIL)
        self.assertFailed(response, "No subscriptions found")
        self.assertNotIn("NoSubscriptionsFound", response.text)
        self.assertNotIn("Azure code", response.text)
        self.assertIn("Signed in with Microsoft as <b>%s</b>" % defaults.OTHER_USER_EMAIL, response.text)
        self.cloud.tenant = defaults.TENANT_ID
        response = self.connect_http(user=defaults.OTHER_USER_EMAIL)
        self.assertIn(
            'Microsoft error code: <code class="o_cloud_connect_code">AADSTS50020</code>', response.text
        )

    def test_reconnect_as_another_user_is_refused_and_noted(self):
        self.connect_http()
        account = self.Account.search([], order="id desc", limit=1)
        response = self.connect_http(user=defaults.SECOND_USER_EMAIL, account=account)
        self.assertFailed(response, "Wrong Microsoft account", count=self.count + 1)
        self.assertIn("Signed in with Microsoft as <b>%s</b>" % defaults.SECOND_USER_EMAIL, response.text)
        self.assertEqual(self.retry_form(response).get("account_id"), str(account.id))
        self.assertEqual(account.ms_username, defaults.USER_EMAIL)
        self.assertIn(
            "Reconnect refused: %s signed in, not %s." % (defaults.SECOND_USER_EMAIL, defaults.USER_EMAIL),
            account.message_ids[0].body,
        )

    def test_reconnect_wrong_tenant(self):
        self.connect_http()
        account = self.Account.search([], order="id desc", limit=1)
        response = self.connect_http(user=defaults.OTHER_USER_EMAIL, account=account)
        self.assertIn("Wrong tenant", response.text)
        self.assertEqual(account.ms_username, defaults.USER_EMAIL)
        # "Try again" returns to the same record, not to Add Account
        self.assertEqual(self.retry_form(response).get("account_id"), str(account.id))

    def test_refused_callers_make_no_remote_call(self):
        """Access before effect: who may not connect is refused before the
        server talks to Microsoft (the emulator's request log stays empty)."""
        self.connect_http()
        account = self.Account.search([], order="id desc", limit=1)
        wizard = self.rpc("cloud.account.connect", "create", {"environment_id": self.cloud.id})
        users = refused_users(self.env, "cloud")
        self.emu.control.reset()
        for kind, user in users.items():
            self.authenticate(user.login, user.login)
            calls = [("cloud.account", "action_reconnect", [account.id])]
            if kind != "manager of another company":
                calls.append(("cloud.account.connect", "action_connect_azure", [wizard]))
            for model, method, ids in calls:
                with self.subTest(user=kind, method=method), self.assertRaises(JsonRpcException) as caught:
                    self.rpc(model, method, ids)
                self.assertIn(
                    caught.exception.args[0], ("odoo.exceptions.AccessError", "odoo.exceptions.MissingError")
                )
            # nor through the "Try again" form
            data = {"account_id": str(account.id), "csrf_token": self.csrf_token()}
            response = self.url_open(CONNECT, data=data, allow_redirects=False)
            self.assertEqual(response.status_code, 200, kind)
            self.assertIn("The Azure account was not connected", response.text)
        self.assertEqual(self.remote_calls(), [])

    def test_redirect_uri_is_https_behind_an_https_proxy(self):
        """Issue 8.7: one rule with the sign-in addon: web.base.url, https when
        the request came through a TLS proxy."""
        netloc = urlsplit(self.base_url()).netloc
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": netloc}
        with patch.dict(config.options, {"proxy_mode": True}):
            auth_uri = self.start(headers=proxied)
            settings = self.rpc("res.config.settings", "create", {})
            shown = self.rpc(
                "res.config.settings", "read", [settings], ["cloud_redirect_uri"], headers=proxied
            )
        redirect_uri = dict(parse_qsl(urlsplit(auth_uri).query))["redirect_uri"]
        self.assertEqual(redirect_uri, "https://%s%s" % (netloc, CALLBACK))
        self.assertEqual(shown[0]["cloud_redirect_uri"], redirect_uri)
        plain = dict(parse_qsl(urlsplit(self.start()).query))["redirect_uri"]
        self.assertEqual(plain, self.base_url() + CALLBACK)

    def test_tour_add_account(self):
        """Add Account > Microsoft Azure > Microsoft answers (signed in) > Active card with badges."""
        action = self.env.ref("oec_cloud_accounts.cloud_account_action")
        self.Account.search([]).write({"active": False})
        with self.emu.control.auto_consent(user=defaults.USER_EMAIL):
            self.start_tour("/web#action=%d" % action.id, "oec_cloud_accounts_connect", login="admin")
        account = self.Account.search([])
        self.assertEqual(len(account), 1)
        self.assertEqual((account.state, account.ms_username), ("active", defaults.USER_EMAIL))
