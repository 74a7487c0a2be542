from odoo.tests import TransactionCase, tagged

from odoo.addons.oec_auth_azure.services import SecretBox

KEY = "11" * 32
DATABASE = "5f0c3b8e-0b6e-11ef-9a9a-0242ac120002"  # a database.uuid


# The services' calls to Azure (identity, ARM, blob) and retention are tested under
# plain pytest in services/tests; the secret box (oec_auth_azure) is tested here.
@tagged("post_install", "-at_install")
class TestServices(TransactionCase):
    def test_secret_box_binds_key_and_context(self):
        box = SecretBox(KEY)
        context = "cloud_account:1:refresh_token_enc"
        sealed = box.encrypt("a refresh token", context, DATABASE)
        self.assertNotIn("refresh", sealed)
        self.assertEqual(box.decrypt(sealed, context, DATABASE), "a refresh token")
        # copied to another row, read with another key or in a copy of the database: nothing
        self.assertIsNone(box.decrypt(sealed, "cloud_account:2:refresh_token_enc", DATABASE))
        self.assertIsNone(SecretBox("22" * 32).decrypt(sealed, context, DATABASE))
        self.assertIsNone(box.decrypt(sealed, context, "another-uuid"))
        with self.assertRaises(ValueError):
            SecretBox("not hex")
