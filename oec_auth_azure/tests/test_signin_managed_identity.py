# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The sign-in with no client secret: the server's managed identity, a federated credential of the
sign-in app registration, is the client assertion of the code redemption."""

import os
from unittest.mock import patch
from urllib.parse import urlsplit

from azure_emulator import defaults

import odoo
from odoo.tests import tagged

from .common import AzureSigninCase


@tagged("post_install", "-at_install")
class TestSigninManagedIdentity(AzureSigninCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(
            patch.dict(odoo.tools.config.options, {"oec_azure_client_credential": "managed_identity"})
        )
        cls.startClassPatcher(
            patch.dict(
                os.environ,
                {
                    "IDENTITY_ENDPOINT": cls.emu.endpoints["identity_endpoint"],
                    "IDENTITY_HEADER": defaults.MANAGED_IDENTITY_HEADER,
                },
            )
        )
        cls.issuer = "%s/%s/v2.0" % (cls.emu.endpoints["authority_host"], defaults.TENANT_ID)

    def trust(self, subject):
        self.emu.control.trust_managed_identity(defaults.SIGNIN_CLIENT_ID, subject, self.issuer)

    def token_requests(self):
        return [r for r in self.emu.control.requests() if r["path"].endswith("/oauth2/v2.0/token")]

    def test_code_flow_without_secret(self):
        self.trust(defaults.MANAGED_IDENTITY_PRINCIPAL_ID)
        self.assertFalse(self.provider.oec_azure_client_secret_set)
        # Settings say no secret is used (and hide its field)
        self.assertTrue(self.env["res.config.settings"].create({}).oec_azure_host_identity)
        authorize = self.click_button(self.reset_url(self.user))
        self.assertIn("response_type=code", authorize, "the code flow, though no secret is stored")
        callback = self.microsoft(authorize)
        self.assertNotIn("token", urlsplit(callback).fragment)
        self.assertSignedIn(self.answer(callback), self.user)
        (redeemed,) = self.token_requests()
        self.assertEqual((redeemed["client_auth"], redeemed["status"]), ("assertion", 200))
        self.assertIn("/msi/token", [r["path"] for r in self.emu.control.requests()])

    def test_untrusted_identity_is_said(self):
        self.trust("another-identity")
        response = self.answer(self.microsoft(self.click_button(self.reset_url(self.user))))
        self.assertRefused(response, "AADSTS700213", "federated credential")
        self.assertEqual([r["client_auth"] for r in self.token_requests()], ["assertion"])

    def test_no_identity_on_this_host(self):
        self.trust(defaults.MANAGED_IDENTITY_PRINCIPAL_ID)
        authorize = self.click_button(self.reset_url(self.user))
        self.emu.control.set_identity_header("not this host's")
        response = self.answer(self.microsoft(authorize))
        self.assertRefused(response, "managed identity", "oec_azure_client_credential")
        self.assertEqual(self.token_requests(), [], "nothing sent to Entra ID without an assertion")
