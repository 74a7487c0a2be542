from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestLoginTour(HttpCase):
    def test_login_page_in_browser(self):
        """A real Chromium opens /web/login, fills the form and reaches the web client."""
        self.start_tour("/web/login", "oec_auth_azure_login_form")
