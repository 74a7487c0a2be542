# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Which Odoo user a Microsoft account signs in as, without a reset link."""

from azure_emulator import defaults

from odoo.tests import new_test_user, tagged

from .common import AzureSigninCase


@tagged("post_install", "-at_install")
class TestLinking(AzureSigninCase):
    def azure_user(self, upn, email):
        """A user of the provider's (single) tenant: its admin names the UPN,
        the user may set any email (the `email` claim)."""
        self.emu.control.add_user(email=email, upn=upn, name="Tenant User", tenant=defaults.TENANT_ID)
        return upn

    def test_no_link_unless_opted_in(self):
        """nOAuth: a Microsoft account whose UPN is an Odoo login is not linked by default."""
        target = new_test_user(self.env, login=defaults.SECOND_USER_EMAIL, groups="base.group_user")
        self.assertRefused(self.sign_in(user=defaults.SECOND_USER_EMAIL), "do not have access")
        self.assertFalse(target.oauth_uid)
        self.provider.oec_azure_link_by_upn = True
        self.assertSignedIn(self.sign_in(user=defaults.SECOND_USER_EMAIL), target)
        self.assertEqual(target.oauth_provider_id, self.provider)

    def test_email_claim_never_links(self):
        """A tenant user who puts the Odoo administrator's (or anybody's) email
        on their account signs in as nobody."""
        self.provider.oec_azure_link_by_upn = True
        admin = self.env.ref("base.user_admin")
        admin.email = "odoo.boss@example.com"
        victim = new_test_user(self.env, login="victim", email="victim@example.com", groups="base.group_user")
        for target in (admin, victim):
            with self.subTest(target=target.login):
                self.new_browser()
                upn = self.azure_user("mallory.%s@%s" % (target.id, defaults.TENANT_DOMAIN), target.email)
                self.assertRefused(self.sign_in(user=upn), "do not have access")
                self.assertFalse(target.oauth_uid)

    def test_upn_links_a_user_by_email_field(self):
        """The UPN may equal the Odoo user's login or email; the email claim plays no part."""
        self.provider.oec_azure_link_by_upn = True
        upn = self.azure_user("worker@%s" % defaults.TENANT_DOMAIN, "worker.private@example.org")
        target = new_test_user(self.env, login="worker", email=upn, groups="base.group_user")
        self.assertSignedIn(self.sign_in(user=upn), target)
        self.assertEqual(target.oauth_provider_id, self.provider)
        self.assertEqual((target.login, target.email), ("worker", upn), "linking changes neither")

    def test_upn_never_links_an_administrator(self):
        self.provider.oec_azure_link_by_upn = True
        for group in ("base.group_system", "base.group_erp_manager"):
            with self.subTest(group=group):
                self.new_browser()
                upn = self.azure_user(
                    "%s@%s" % (group.replace(".", "-"), defaults.TENANT_DOMAIN), "x@example.org"
                )
                admin = new_test_user(self.env, login=upn, groups="base.group_user,%s" % group)
                self.assertRefused(
                    self.sign_in(user=upn), "administrators are never linked", "reset-password link"
                )
                self.assertFalse(admin.oauth_uid)
        # their way in: the reset-password link
        self.new_browser()
        self.link(admin, azure_user=upn)
        self.assertSignedIn(self.sign_in(user=upn), admin)

    def test_upn_never_replaces_an_existing_link(self):
        self.provider.oec_azure_link_by_upn = True
        self.link(self.user)
        self.user.login = defaults.SECOND_USER_EMAIL
        self.assertRefused(self.sign_in(user=defaults.SECOND_USER_EMAIL), "do not have access")
        self.assertSignedIn(self.sign_in(), self.user)


@tagged("post_install", "-at_install")
class TestSignup(AzureSigninCase):
    def setUp(self):
        super().setUp()
        # core's free sign-up: anybody may create a portal user
        self.env["ir.config_parameter"].sudo().set_param("auth_signup.invitation_scope", "b2c")

    def created(self, login):
        return self.env["res.users"].with_context(active_test=False).search([("login", "=", login)])

    def test_no_signup_unless_the_provider_allows_it(self):
        """Even with free sign-up: a Microsoft account of any tenant (organizations) would get a user."""
        self.provider.oec_azure_tenant = "organizations"
        self.assertFalse(self.provider.oec_azure_allow_signup)
        self.assertRefused(self.sign_in(user=defaults.OTHER_USER_EMAIL), "do not have access")
        self.assertRefused(self.sign_in(user=defaults.SECOND_USER_EMAIL), "do not have access")
        self.assertFalse(self.created(defaults.OTHER_USER_EMAIL) | self.created(defaults.SECOND_USER_EMAIL))

    def test_signup_when_allowed(self):
        self.provider.oec_azure_allow_signup = True
        response = self.sign_in(user=defaults.SECOND_USER_EMAIL)
        created = self.created(defaults.SECOND_USER_EMAIL)
        self.assertTrue(created)
        self.assertFalse(created._is_internal())
        self.assertSignedIn(response, created, landing="/")

    def test_signup_allowed_needs_free_signup_too(self):
        self.env["ir.config_parameter"].sudo().set_param("auth_signup.invitation_scope", "b2b")
        self.provider.oec_azure_allow_signup = True
        self.assertRefused(self.sign_in(user=defaults.SECOND_USER_EMAIL), "do not have access")
        self.assertFalse(self.created(defaults.SECOND_USER_EMAIL))
