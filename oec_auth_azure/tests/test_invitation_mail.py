# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest.mock import patch
from urllib.parse import urlsplit

from azure_emulator import defaults
from azure_emulator.odoo_browser import consent_in_browser

from odoo.tests import tagged

from odoo.addons.base.models.ir_mail_server import IrMailServer

from .common import AzureSigninCase

MAILCATCHER = Path(__file__).resolve().parents[2] / "tools" / "mailcatcher.py"


@tagged("post_install", "-at_install")
class TestInvitationByMail(AzureSigninCase):
    """The sandbox's documented flow: a user invited by mail through the local
    mail catcher of `make run` (a real SMTP server), who opens the link of the
    mail and signs in with Microsoft: the Microsoft account is linked."""

    def setUp(self):
        super().setUp()
        self.folder = Path(tempfile.mkdtemp(prefix="oec_mail_"))
        self.catcher = subprocess.Popen(
            [sys.executable, MAILCATCHER, "serve", "--dir", self.folder],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.addCleanup(self.catcher.wait, 10)
        self.addCleanup(self.catcher.terminate)
        port = json.loads(self.catcher.stdout.readline())["port"]
        self.env["ir.mail_server"].create(
            {"name": "Mail catcher", "smtp_host": "127.0.0.1", "smtp_port": port, "sequence": 0}
        )

    def read_mail(self, command):
        return subprocess.run(
            [sys.executable, MAILCATCHER, command, "--dir", self.folder],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout

    def test_invitation_through_the_mail_catcher(self):
        # Odoo sends no mail during tests: lift that switch only, for this
        # mail to really go through SMTP to the catcher.
        with patch.object(IrMailServer, "_is_test_mode", lambda self: False):
            invited = self.env["res.users"].create(
                {"name": "Invited By Mail", "login": "invited.by.mail", "email": "invited@example.com"}
            )
        listing = self.read_mail("list")
        self.assertIn("To: invited@example.com  Subject: ", listing)
        shown = self.read_mail("show")
        links = [line.strip() for line in shown.splitlines() if "/web/reset_password?" in line]
        self.assertTrue(links, shown)
        url = urlsplit(links[0])
        with consent_in_browser(user=defaults.SECOND_USER_EMAIL):
            self.start_tour("%s?%s" % (url.path, url.query), "oec_auth_azure_invitation")
        self.assertEqual(invited.oauth_provider_id, self.provider)
        self.assertTrue(invited.oauth_uid)
        self.assertTrue(invited.login_date)
