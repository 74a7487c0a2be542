from azure_emulator import defaults

from odoo.tests import TransactionCase, tagged

from ..services import AzureError, SecretBox
from ..services.errors import KIND_CLIENT, KIND_GRANT, KIND_TRANSIENT
from .common import EmulatorMixin

KEY = "11" * 32


@tagged("post_install", "-at_install")
class TestServices(EmulatorMixin, TransactionCase):
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

    def _tokens(self):
        account = self.connect()
        return account, account.sudo()._get_secret("refresh_token_enc")

    def test_refresh_errors_are_typed(self):
        _account, refresh_token = self._tokens()
        scopes = self.cloud._delegated_scopes()
        identity = self.cloud._identity()
        self.assertTrue(identity.refresh(refresh_token, scopes).access_token)

        self.emu.control.inject_fault(
            service="entra", path="/token", status=503, code="temporarily_unavailable"
        )
        with self.assertRaises(AzureError) as caught:
            identity.refresh(refresh_token, scopes)
        self.assertEqual(caught.exception.kind, KIND_TRANSIENT)

        self.cloud.set_client_secret("not-the-secret")
        with self.assertRaises(AzureError) as caught:
            self.cloud._identity().refresh(refresh_token, scopes)
        self.assertEqual((caught.exception.kind, caught.exception.aadsts), (KIND_CLIENT, "7000215"))
        self.assertIn("Invalid client secret", str(caught.exception))
        self.cloud.set_client_secret(defaults.CLOUD_CLIENT_SECRET)

        self.emu.control.expire_refresh_tokens()
        with self.assertRaises(AzureError) as caught:
            self.cloud._identity().refresh(refresh_token, scopes)
        self.assertEqual((caught.exception.kind, caught.exception.aadsts), (KIND_GRANT, "700082"))

    def test_arm_errors_are_typed(self):
        account, _rt = self._tokens()
        arm = account._arm()
        self.emu.control.inject_fault(
            service="arm", path="/subscriptions", status=429, count=5, headers={"Retry-After": "7"}
        )
        with self.assertRaises(AzureError) as caught:
            arm.list_subscriptions()
        self.assertEqual(caught.exception.kind, KIND_TRANSIENT)
        self.assertEqual(caught.exception.retry_after, 7)
        self.emu.control.clear_faults()
        self.emu.control.inject_fault(
            service="arm", path="/subscriptions", status=403, code="AuthorizationFailed"
        )
        with self.assertRaises(AzureError) as caught:
            arm.list_subscriptions()
        self.assertIn("Owner or Contributor", caught.exception.message)
