# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from azure_emulator import defaults

from odoo.tests import tagged

from .common import AzureSigninCase


@tagged("post_install", "-at_install")
class TestMicrosoftErrors(AzureSigninCase):
    """Microsoft's errors (AADSTS codes) become messages that say what to do."""

    def test_consent_required(self):
        self.emu.control.update_app(defaults.SIGNIN_CLIENT_ID, consent="required")
        text = self.assertRefused(self.sign_in(), "AADSTS65001", "Ask an administrator")
        self.assertIn("/v2.0/adminconsent?client_id=%s" % defaults.SIGNIN_CLIENT_ID, text)

    def test_admin_consent_required(self):
        self.emu.control.update_app(defaults.SIGNIN_CLIENT_ID, consent="admin_required")
        self.assertRefused(self.sign_in(), "AADSTS90094", "Admin consent link")

    def test_user_from_another_tenant(self):
        self.assertRefused(
            self.sign_in(user=defaults.OTHER_USER_EMAIL), "AADSTS50020", "belongs to another organisation"
        )

    def test_cancelled(self):
        self.assertRefused(self.sign_in(action="cancel"), "cancelled", "AADSTS65004")

    def test_message_names_the_button_of_the_provider(self):
        """The message says which button to click: the provider's own label."""
        self.provider.body = "Microsoft Azure (sandbox)"
        self.assertRefused(self.sign_in(action="cancel"), "Click Microsoft Azure (sandbox) again")

    def test_id_token_not_enabled(self):
        self.emu.control.update_app(defaults.SIGNIN_CLIENT_ID, implicit_id_token=False)
        self.assertRefused(self.sign_in(), "AADSTS700054", "ID tokens (used for implicit and hybrid flows)")

    def test_access_token_not_enabled(self):
        self.emu.control.update_app(defaults.SIGNIN_CLIENT_ID, implicit_access_token=False)
        self.assertRefused(self.sign_in(), "AADSTS700051", "Access tokens (used for implicit flows)")

    def test_redirect_uri_mismatch(self):
        self.use_secret()
        self.emu.control.inject_fault(
            path="/oauth2/v2.0/token",
            service="entra",
            status=400,
            code="invalid_request",
            aadsts="50011",
            message="The redirect URI specified in the request does not match.",
        )
        self.assertRefused(self.sign_in(), "AADSTS50011", "%s/auth_oauth/signin" % self.base_url())

    def test_wrong_client_secret(self):
        self.use_secret("not-the-secret")
        self.assertRefused(self.sign_in(), "AADSTS7000215", "Certificates & secrets")

    def test_admin_consent_granted(self):
        response = self.url_open(
            "/auth_oauth/signin?admin_consent=True&tenant=%s" % defaults.TENANT_ID, allow_redirects=False
        )
        self.assertRefused(response, "Administrator consent was granted")
