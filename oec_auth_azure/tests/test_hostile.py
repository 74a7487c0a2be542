# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Whatever reaches /auth_oauth/signin gets a clear answer: never a 500 nor an
ERROR in the log (core's signin runs json.loads on any state)."""

import json
from urllib.parse import parse_qsl, urlencode, urlsplit

from odoo.tests import tagged

from .common import AzureSigninCase


@tagged("post_install", "-at_install")
class TestHostileInput(AzureSigninCase):
    def assertClearAnswer(self, response, *fragments):
        self.assertNotEqual(response.status_code, 500)
        return self.assertRefused(response, *fragments)

    def fresh_browser(self):
        """Another browser, back from the login page (its session knows the database)."""
        self.new_browser()
        self.url_open("/web/login")

    def send(self, query=None, data=None, files=None):
        """One request to the sign-in route; fails if anything logged an ERROR."""
        url = "/auth_oauth/signin" + ("?" + query if query else "")
        with self.assertNoLogs(level="ERROR"):
            return self.url_open(url, data=data, files=files, allow_redirects=False)

    def test_malformed_states(self):
        db = self.env.cr.dbname
        queries = {
            "no state": "code=abc",
            "not JSON": "state=not-json&code=abc",
            "not UTF-8": "state=%ff%fe&code=abc",
            "60 KB": "state=" + "A" * 60000,
            "repeated": "state=a&state=b",
            "empty": "state=&code=abc",
            "a JSON list": urlencode({"state": "[1, 2]"}),
            "no provider": urlencode({"state": json.dumps({"d": db})}),
            "provider not a number": urlencode({"state": json.dumps({"d": db, "p": "x"})}),
            "unknown provider": urlencode({"state": json.dumps({"d": db, "p": 999999})}),
            "unknown database": urlencode({"state": json.dumps({"d": "no-such-db", "p": self.provider.id})}),
            "database not a string": urlencode({"state": json.dumps({"d": [db], "p": self.provider.id})}),
            "context not a dict": urlencode(
                {"state": json.dumps({"d": db, "p": self.provider.id, "c": "x"})}
            ),
        }
        for name, query in queries.items():
            with self.subTest(name):
                self.fresh_browser()
                self.assertClearAnswer(self.send(query), "not valid")

    def test_malformed_posts(self):
        cases = {
            "state in query and body": ("state=a", {"state": "b", "code": "abc"}, None),
            "state uploaded as a file": (None, {"code": "abc"}, {"state": ("state", b"x")}),
            "60 KB state posted": (None, {"state": "B" * 60000, "id_token": "x"}, None),
        }
        for name, (query, data, files) in cases.items():
            with self.subTest(name):
                self.fresh_browser()
                self.assertClearAnswer(self.send(query, data, files), "not valid")

    def test_our_state_repeated_is_refused(self):
        """Two states, the first a valid one of this browser: ambiguous, refused."""
        self.link(self.user)
        params = dict(parse_qsl(urlsplit(self.microsoft(self.click_button())).fragment))
        response = self.send(urlencode({"state": params["state"]}), data=params)
        self.assertClearAnswer(response, "not valid")

    def test_microsoft_error_is_capped(self):
        """error / error_description come through the browser: a page never echoes 60 KB."""
        self.link(self.user)
        cases = (
            ("E" * 60000, "short", "Microsoft refused the sign-in"),
            ("invalid_request", "AADSTS99999: " + "D" * 60000, "Microsoft refused the sign-in"),
            # Microsoft failing: its words are not echoed at all, the wait is said
            ("server_error", "AADSTS99999: " + "D" * 60000, "could not complete the sign-in just now"),
        )
        for error, description, expected in cases:
            with self.subTest(error=error[:12]):
                self.new_browser()
                params = dict(parse_qsl(urlsplit(self.microsoft(self.click_button())).fragment))
                answer = {"state": params["state"], "error": error, "error_description": description}
                text = self.assertClearAnswer(self.send(data=answer), expected)
                self.assertLess(len(text), 500)
