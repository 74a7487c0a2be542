# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import html
import re
from urllib.parse import parse_qsl, urlsplit

from azure_emulator import defaults

from odoo.tests import tagged

from odoo.addons.mail.tests.common import MockEmail

from .common import AzureSigninCase

RESET_LINK_RE = re.compile(r"""https?://[^\s"'<>]+/web/reset_password\?[^\s"'<>]+""")


@tagged("post_install", "-at_install")
class TestInvitationByMail(MockEmail, AzureSigninCase):
    """The sandbox's documented flow: a user invited by mail, who opens the link
    of the mail and signs in with Microsoft: the Microsoft account is linked.

    The mail is the one Odoo builds for its outgoing server, caught by Odoo's
    own mail test helper; the sandbox's mail catcher that receives it in
    `make run` is tested over SMTP in tools/tests/test_mailcatcher.py."""

    def test_invitation_by_mail(self):
        with self.mock_mail_gateway():
            invited = self.env["res.users"].create(
                {"name": "Invited By Mail", "login": "invited.by.mail", "email": "invited@example.com"}
            )
        mails = [mail for mail in self._mails if "invited@example.com" in mail["email_to"]]
        self.assertEqual(len(mails), 1, self._mails)
        links = RESET_LINK_RE.findall(html.unescape(mails[0]["body"]))
        self.assertTrue(links, mails[0]["body"])
        url = urlsplit(links[0])
        self.assertEqual(url.path, "/web/reset_password")
        # the invited user's own sign-up token
        token = dict(parse_qsl(urlsplit(invited.partner_id.signup_url).query))["token"]
        self.assertEqual(dict(parse_qsl(url.query))["token"], token)
        with self.emu.control.auto_consent(user=defaults.SECOND_USER_EMAIL):
            self.start_tour("%s?%s" % (url.path, url.query), "oec_auth_azure_invitation")
        self.assertEqual(invited.oauth_provider_id, self.provider)
        self.assertTrue(invited.oauth_uid)
        self.assertTrue(invited.login_date)
