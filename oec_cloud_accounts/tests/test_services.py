import os
from unittest.mock import patch

from azure_emulator import defaults

from odoo.tests import TransactionCase, tagged

from odoo.addons.oec_auth_azure.services import SecretBox

from ..services import AzureError
from ..services.errors import KIND_CLIENT, KIND_GRANT, KIND_TRANSIENT
from .common import ConnectProxy, EmulatorMixin

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

    def test_unexpected_answers_are_typed(self):
        """A proxy's page or a server error: a transient AzureError with the
        real HTTP status, never MSAL's JSONDecodeError nor a 'state mismatch'."""
        _account, refresh_token = self._tokens()
        scopes = self.cloud._delegated_scopes()
        for status in (200, 400, 502):
            with self.subTest(status=status):
                self.emu.control.inject_fault(
                    service="entra",
                    path="/token",
                    status=status,
                    body="<html><body>Proxy says no</body></html>",
                )
                with self.assertNoLogs("msal", "ERROR"), self.assertRaises(AzureError) as caught:
                    self.cloud._identity().refresh(refresh_token, scopes)
                error = caught.exception
                self.assertEqual(
                    (error.kind, error.code, error.status), (KIND_TRANSIENT, "unexpected_response", status)
                )
                self.assertIn("HTTP %d" % status, error.message)
        # a server error in Entra ID's own words keeps its AADSTS code
        self.emu.control.inject_fault(service="entra", path="/token", status=500, aadsts="90033")
        with self.assertRaises(AzureError) as caught:
            self.cloud._identity().refresh(refresh_token, scopes)
        self.assertEqual((caught.exception.kind, caught.exception.aadsts), (KIND_TRANSIENT, "90033"))
        # the code redemption: an HTML page is not reported as a state mismatch
        identity = self.cloud._identity()
        flow = identity.start_flow(scopes, self.cloud._redirect_uri(), "test-state")
        params, _location = self.answer_consent(flow["auth_uri"])
        self.emu.control.inject_fault(service="entra", path="/token", status=200, body="<html>proxy</html>")
        with self.assertRaises(AzureError) as caught:
            identity.redeem(flow, params, scopes)
        self.assertEqual(caught.exception.code, "unexpected_response")
        # while an answer to another sign-in still is one
        flow = identity.start_flow(scopes, self.cloud._redirect_uri(), "test-state")
        params, _location = self.answer_consent(flow["auth_uri"])
        with self.assertRaises(AzureError) as caught:
            identity.redeem(flow, dict(params, state="another-state"), scopes)
        self.assertEqual(caught.exception.code, "state_mismatch")

    def test_proxy_variables_are_honoured(self):
        """Token calls go through HTTPS_PROXY like the Azure SDK's, with the CA
        bundle still the configured one; NO_PROXY is honoured too."""
        account, refresh_token = self._tokens()
        proxy = ConnectProxy()
        self.addCleanup(proxy.close)
        port = self.emu.url.rsplit(":", 1)[1]
        environ = {"HTTPS_PROXY": proxy.url, "https_proxy": proxy.url, "NO_PROXY": "", "no_proxy": ""}
        with patch.dict(os.environ, environ):
            self.cloud._identity().refresh(refresh_token, self.cloud._delegated_scopes())
            self.assertIn("127.0.0.1:%s" % port, proxy.tunnels, "the token call used the proxy")
            tunnels = len(proxy.tunnels)
            account._arm().list_subscriptions()
            self.assertGreater(len(proxy.tunnels), tunnels, "ARM calls used the proxy")
        tunnels = len(proxy.tunnels)
        with patch.dict(os.environ, dict(environ, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")):
            self.cloud._identity().refresh(
                account.sudo()._get_secret("refresh_token_enc"), self.cloud._delegated_scopes()
            )
        self.assertEqual(len(proxy.tunnels), tunnels, "NO_PROXY is honoured")

    def test_sdk_request_headers_stay_out_of_the_log(self):
        account, _rt = self._tokens()
        with self.assertNoLogs("azure.core.pipeline.policies.http_logging_policy", "INFO"):
            account._arm().list_subscriptions()
