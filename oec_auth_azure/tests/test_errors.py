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

    def admin_consent(self, user=defaults.USER_EMAIL, action="accept"):
        """The admin consent link of the login page's messages, followed by
        ``user`` on Microsoft's page; the browser comes back to the sign-in's
        redirect URI with Microsoft's answer in the query."""
        url = self.provider._oec_azure_admin_consent_url()
        self.assertIn("state=oec_admin_consent%%3A%d" % self.provider.id, url)
        back = self.microsoft(url, user, action)
        return self.answer(back)

    def test_admin_consent_through_microsoft(self):
        self.assertRefused(self.admin_consent(), "Administrator consent was granted")

    def test_admin_consent_by_a_user_who_may_not_grant_it(self):
        """A user who is no administrator sees "Need admin approval" and can only
        go back: access_denied, error_subcode=cancel, no admin_consent, no
        description. The login page says so and who must act, with the link."""
        response = self.admin_consent(user=defaults.SECOND_USER_EMAIL)
        text = self.assertRefused(
            response, "Administrator consent was not granted (access_denied)", "Need admin approval"
        )
        self.assertIn("Cloud Application Administrator", text)
        self.assertIn("/v2.0/adminconsent?client_id=%s" % defaults.SIGNIN_CLIENT_ID, text)

    def test_admin_consent_cancelled(self):
        text = self.assertRefused(
            self.admin_consent(action="cancel"), "Administrator consent was not granted (AADSTS65004)"
        )
        self.assertNotIn("was granted.", text)

    def test_admin_consent_error_is_no_grant(self):
        """Microsoft's documented error response carries admin_consent=True too."""
        response = self.url_open(
            "/auth_oauth/signin?admin_consent=True&error=consent_required&error_description="
            "AADSTS65004%3a+The+resource+owner+or+authorization+server+denied+the+request.&state=12345",
            allow_redirects=False,
        )
        self.assertRefused(response, "Administrator consent was not granted (AADSTS65004)")
