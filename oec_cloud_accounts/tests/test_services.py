from odoo.tests import TransactionCase, tagged

from odoo.addons.oec_auth_azure.services import SecretBox

KEY = "11" * 32


# The services' calls to Azure (identity, ARM, blob) and retention are tested under
# plain pytest in services/tests; the secret box (oec_auth_azure) is tested here.
@tagged("post_install", "-at_install")
class TestServices(TransactionCase):
    def test_secret_box_binds_key_and_context(self):
        box = SecretBox(KEY)
        sealed = box.encrypt("a refresh token", "cloud_account:1:refresh_token_enc")
        self.assertNotIn("refresh", sealed)
        self.assertEqual(box.decrypt(sealed, "cloud_account:1:refresh_token_enc"), "a refresh token")
        # copied to another row, or read with another key: nothing
        self.assertIsNone(box.decrypt(sealed, "cloud_account:2:refresh_token_enc"))
        self.assertIsNone(SecretBox("22" * 32).decrypt(sealed, "cloud_account:1:refresh_token_enc"))
        with self.assertRaises(ValueError):
            SecretBox("not hex")
