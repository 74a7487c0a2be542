# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The shared plain-Python rules of services/, as oec_cloud_accounts uses them too."""

from odoo.tests import BaseCase, tagged

from odoo.addons.oec_auth_azure.services import SecretBox, is_guid, is_host_name, is_secure_url, is_tenant
from odoo.addons.oec_auth_azure.services.crypto import sealed_for
from odoo.addons.oec_auth_azure.services.entra import authorize_url, graph_host

KEY = "11" * 32
DATABASE = "5f0c3b8e-0b6e-11ef-9a9a-0242ac120002"  # a database.uuid


@tagged("post_install", "-at_install")
class TestSharedServices(BaseCase):
    def test_secure_urls(self):
        for url in (
            "https://login.microsoftonline.com",
            "https://graph.microsoft.com/oidc/userinfo",
            "http://127.0.0.1:4567/x",
            "http://localhost",
            "http://[::1]:9/oidc/userinfo",
        ):
            self.assertTrue(is_secure_url(url), url)
        for url in (
            "http://[::1",  # an unclosed bracket: refused, never an exception
            "http://[::1/oidc/userinfo",
            " https://login.microsoftonline.com",
            "https://login.microsoftonline.com ",
            "https://graph.microsoft.com/oidc/userinfo\n",
            "https://gra ph.microsoft.com",
            "https://graph.microsoft.com@evil.example/",
            "https://user:pw@graph.microsoft.com/",
            "https://graph.microsoft.com:99999/",
            "https://graph.microsoft.com:x/",
            "http://login.microsoftonline.com",
            "http://127.0.0.1.evil.example",
            "javascript:alert(1)",
            "//evil.example",
            "https://-evil.example",
            "",
            None,
        ):
            self.assertFalse(is_secure_url(url), url)
        self.assertFalse(is_secure_url("http://127.0.0.1:8000", loopback=False))

    def test_identifiers(self):
        self.assertTrue(is_guid("6c1f4e2a-3b5d-4f7a-9c8e-0d1e2f3a4b5c"))
        self.assertFalse(is_guid("6c1f4e2a3b5d4f7a9c8e0d1e2f3a4b5c"))
        self.assertFalse(is_guid(None))
        for value in (
            "organizations",
            "Common",
            "contoso.onmicrosoft.com",
            "6c1f4e2a-3b5d-4f7a-9c8e-0d1e2f3a4b5c",
        ):
            self.assertTrue(is_tenant(value), value)
        for value in ("", None, "localhost", "a b", "evil.example/x", "organizations/../x"):
            self.assertFalse(is_tenant(value), value)
        self.assertTrue(is_host_name("::1"))
        self.assertFalse(is_host_name("a_b.example"))

    def test_authorize_url_of_a_broken_current_url(self):
        """The tenant moves into the path of the current browser host; a
        malformed one falls back to Azure public, never an exception."""
        self.assertEqual(
            authorize_url("http://127.0.0.1:9/old/oauth2/v2.0/authorize", "contoso.com"),
            "http://127.0.0.1:9/contoso.com/oauth2/v2.0/authorize",
        )
        self.assertEqual(
            authorize_url("http://[::1/x", "common"),
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        )
        self.assertEqual(graph_host("https://user@evil.example/oidc/userinfo"), "https://graph.microsoft.com")
        self.assertEqual(graph_host("http://127.0.0.1:9/oidc/userinfo"), "http://127.0.0.1:9")

    def test_secret_box_binds_key_context_and_database(self):
        box = SecretBox(KEY)
        context = "auth_oauth_provider:1:oec_azure_client_secret_enc"
        sealed = box.encrypt("s3cret", context, DATABASE)
        self.assertTrue(sealed.startswith("v2:%s:" % DATABASE))
        self.assertEqual(sealed_for(sealed), DATABASE)
        self.assertEqual(box.decrypt(sealed, context, DATABASE), "s3cret")
        self.assertIsNone(box.decrypt(sealed, "auth_oauth_provider:2:oec_azure_client_secret_enc", DATABASE))
        self.assertIsNone(SecretBox("22" * 32).decrypt(sealed, context, DATABASE))
        # a copy of the database (another database.uuid) reads nothing, even with the identity
        # written back into the value: it is authenticated
        copy = "7e3c1c2a-0b6e-11ef-9a9a-0242ac120003"
        self.assertIsNone(box.decrypt(sealed, context, copy))
        self.assertIsNone(box.decrypt(sealed.replace(DATABASE, copy), context, copy))
        # the format before the database was bound: not read, not taken for another database's
        self.assertIsNone(box.decrypt("v1:" + sealed.rpartition(":")[2], context, DATABASE))
        self.assertIsNone(sealed_for("v1:" + sealed.rpartition(":")[2]))
        with self.assertRaises(ValueError):
            SecretBox("not hex")
