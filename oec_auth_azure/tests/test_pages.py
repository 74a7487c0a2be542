# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import HttpCase, tagged

from .common import script_sources


@tagged("post_install", "-at_install")
class TestPages(HttpCase):
    def test_signin_page_has_no_inline_script(self):
        """The page that posts Microsoft's answer runs under a strict
        Content-Security-Policy: no inline script, its file is served."""
        page = self.url_open("/auth_oauth/signin")
        self.assertEqual(page.status_code, 200)
        self.assertEqual(page.headers.get("Cache-Control"), "no-store")
        sources = script_sources(page.text)
        self.assertEqual(sources, ["/oec_auth_azure/static/src/js/signin_fragment.js"])
        script = self.url_open(sources[0])
        self.assertEqual(script.status_code, 200)
        self.assertIn("javascript", script.headers.get("Content-Type", ""))
        self.assertIn("window.location.hash", script.text)
