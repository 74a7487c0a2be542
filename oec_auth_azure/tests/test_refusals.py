# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json
from urllib.parse import parse_qsl, urlsplit

from azure_emulator import defaults

from odoo.tests import new_test_user, tagged

from odoo.addons.oec_auth_azure.services import entra

from .common import AzureSigninCase


@tagged("post_install", "-at_install")
class TestRefusals(AzureSigninCase):
    """Every id_token or state that must not sign anybody in."""

    def refused_with_preset(self, preset, *fragments):
        self.link(self.user)
        self.emu.control.next_id_token_claims(preset=preset)
        self.assertRefused(self.sign_in(), *fragments)

    def test_wrong_audience(self):
        self.refused_with_preset("wrong_aud", "issued to another application")

    def test_wrong_issuer(self):
        self.refused_with_preset("wrong_iss", "unexpected issuer")

    def test_wrong_tenant(self):
        self.refused_with_preset("wrong_tid", "tenant that may not sign in")

    def test_expired(self):
        self.refused_with_preset("expired", "expired")

    def test_bad_signature(self):
        self.refused_with_preset("bad_signature", "invalid")

    def test_missing_and_wrong_nonce(self):
        self.refused_with_preset("no_nonce", "nonce")
        self.emu.control.next_id_token_claims(preset="wrong_nonce")
        self.assertRefused(self.sign_in(), "nonce")

    def test_access_token_of_another_id_token(self):
        self.link(self.user)
        self.emu.control.next_id_token_claims(claims={"at_hash": "bm90LXRoZS1yaWdodC1oYXNo"})
        self.assertRefused(self.sign_in(), "at_hash")

    def test_code_flow_checks_the_id_token_too(self):
        self.use_secret()
        self.refused_with_preset("wrong_aud", "issued to another application")

    def test_unknown_kid_then_rotation(self):
        """An unpublished key is refused; a newly published one is fetched and accepted."""
        self.refused_with_preset("unknown_kid", "unknown key")
        self.emu.control.rotate_keys(mode="new")
        self.assertSignedIn(self.sign_in(), self.user)

    def test_replayed_id_token(self):
        """An id_token of a finished sign-in, sent again with a fresh state, fails the nonce."""
        self.link(self.user)
        callback = self.microsoft(self.click_button())
        tokens = dict(parse_qsl(urlsplit(callback).fragment))
        self.assertSignedIn(self.answer(callback), self.user)
        self.new_browser()
        fresh = dict(parse_qsl(urlsplit(self.microsoft(self.click_button())).fragment))
        fresh.update(id_token=tokens["id_token"], access_token=tokens["access_token"])
        response = self.url_open("/auth_oauth/signin", data=fresh, allow_redirects=False)
        self.assertRefused(response, "nonce")

    def test_replayed_answer(self):
        """The whole answer sent twice: the state is single use."""
        self.link(self.user)
        callback = self.microsoft(self.click_button())
        self.assertSignedIn(self.answer(callback), self.user)
        self.new_browser()
        self.url_open("/web/login")
        self.assertRefused(self.answer(callback), "already used")

    def test_state_from_another_session(self):
        self.link(self.user)
        callback = self.microsoft(self.click_button())
        self.new_browser()
        self.url_open("/web/login")
        self.assertRefused(self.answer(callback), "another browser")

    def test_forged_state(self):
        self.link(self.user)
        callback = self.microsoft(self.click_button())
        params = dict(parse_qsl(urlsplit(callback).fragment))
        body, _dot, signature = params["state"].partition(".")
        params["state"] = "%s.%s" % (body, signature[::-1])
        response = self.url_open("/auth_oauth/signin", data=params, allow_redirects=False)
        self.assertRefused(response, "altered")

    def test_core_unsigned_state_refused(self):
        """Core's JSON state with a valid Microsoft token: core would accept it."""
        self.link(self.user)
        params = dict(parse_qsl(urlsplit(self.microsoft(self.click_button())).fragment))
        params["state"] = json.dumps({"d": self.env.cr.dbname, "p": self.provider.id, "r": "/web"})
        response = self.url_open("/auth_oauth/signin", data=params, allow_redirects=False)
        self.assertRefused(response, "not valid")

    def test_another_users_link(self):
        """A Microsoft account linked to one user cannot be linked to another."""
        self.link(self.user)
        other = new_test_user(self.env, login="other.person", groups="base.group_user")
        self.assertRefused(self.sign_in(self.reset_url(other)), "already linked to another Odoo user")
        self.assertFalse(other.oauth_uid)
        self.assertTrue(other.partner_id.sudo().signup_token)

    def test_another_users_link_named_to_an_administrator(self):
        """Linking an administrator's user tells which user holds the Microsoft account."""
        self.link(self.user)
        admin = new_test_user(self.env, login="second.admin", groups="base.group_user,base.group_system")
        self.assertRefused(
            self.sign_in(self.reset_url(admin)),
            "already linked to another Odoo user, %s (login %s)" % (self.user.name, self.user.login),
            "clear its OAuth User ID",
        )
        self.assertFalse(admin.oauth_uid)

    def test_allowed_tenants(self):
        """Multi-tenant: only the listed tenants; others refused even with a valid token."""
        self.link(self.user)
        self.provider.write(
            {"oec_azure_tenant": "organizations", "oec_azure_allowed_tenants": defaults.OTHER_TENANT_ID}
        )
        self.assertTrue(self.provider.auth_endpoint.endswith("/organizations/oauth2/v2.0/authorize"))
        self.assertRefused(self.sign_in(), "tenant that may not sign in")
        self.provider.oec_azure_allowed_tenants = "%s, %s" % (defaults.OTHER_TENANT_ID, defaults.TENANT_ID)
        self.assertSignedIn(self.sign_in(), self.user)

    def test_signing_keys_are_cached(self):
        """One JWKS download for many sign-ins; a rotation (new kid) triggers exactly one more."""

        def downloads():
            return [r for r in self.emu.control.requests() if "/discovery/v2.0/keys" in r.get("path", "")]

        # the cache is per process: earlier tests may have filled it
        entra.clear_caches()
        self.link(self.user)
        self.assertSignedIn(self.sign_in(), self.user)
        self.assertEqual(len(downloads()), 1)
        before = len(downloads())
        self.emu.control.rotate_keys(mode="new")
        for _i in range(2):
            self.new_browser()
            self.assertSignedIn(self.sign_in(), self.user)
        self.assertEqual(len(downloads()), before + 1)
