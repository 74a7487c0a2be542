"""No stored secret: the server proves it is the cloud app registration with its managed identity
(a federated credential of the app), not with a client secret. Connect, refresh and Resource
Manager work with no secret set; the emulator sees client assertions, never a secret."""

import os
import socket
import tempfile
from unittest.mock import patch

from azure_emulator import defaults

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import config

from .common import EmulatorMixin, refused_users
from .test_connect_http import ConnectHttpMixin


class HostIdentityMixin:
    """The server is configured to prove the cloud app with the host's managed identity."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the server's configuration, as on an Azure host: the option in odoo.conf, and what
        # App Service / Container Apps set in the environment (here: the emulator's endpoint)
        cls.startClassPatcher(patch.dict(config.options, {"oec_azure_client_credential": "managed_identity"}))
        cls.startClassPatcher(
            patch.dict(
                os.environ,
                {
                    "IDENTITY_ENDPOINT": cls.emu.endpoints["identity_endpoint"],
                    "IDENTITY_HEADER": defaults.MANAGED_IDENTITY_HEADER,
                },
            )
        )
        # no client secret stored for this cloud
        cls.cloud.sudo()._set_secret("client_secret_enc", None)
        cls.issuer = "%s/%s/v2.0" % (cls.emu.endpoints["authority_host"], defaults.TENANT_ID)

    def setUp(self):
        super().setUp()
        self.trust(defaults.MANAGED_IDENTITY_PRINCIPAL_ID)

    def trust(self, subject):
        """The app registration's federated credential for the host's managed identity."""
        self.emu.control.trust_managed_identity(defaults.CLOUD_CLIENT_ID, subject, self.issuer)

    def token_requests(self, since=0):
        return [r for r in self.remote_calls(since) if r["path"].endswith("/oauth2/v2.0/token")]


@tagged("post_install", "-at_install")
class TestManagedIdentity(HostIdentityMixin, EmulatorMixin, TransactionCase):
    def test_connect_refresh_and_resource_manager_without_secret(self):
        self.assertFalse(self.cloud.client_secret_set)
        self.assertEqual(self.cloud.client_credential, "managed_identity")
        account = self.connect()
        self.assertEqual(account.state, "active")
        # Resource Manager answered with the user's delegated token: the subscriptions are there
        self.assertIn(defaults.SUBSCRIPTION_ID, account.subscription_ids.mapped("subscription_id"))
        since = len(self.emu.control.requests())
        action = account.action_refresh()
        self.assertEqual(action["params"]["type"], "success", action["params"])
        self.assertEqual(account.state, "active")
        calls = self.remote_calls(since)
        self.assertIn("/msi/token", [r["path"] for r in calls], "the managed identity was asked")
        self.assertTrue(
            [r for r in calls if r["service"] == "arm" and r["status"] == 200], "Resource Manager was called"
        )
        tokens = self.token_requests()
        self.assertGreaterEqual(len(tokens), 2, "the code redemption and the refresh")
        self.assertEqual({r["client_auth"] for r in tokens}, {"assertion"}, "never a client secret")
        self.assertEqual({r["status"] for r in tokens}, {200})
        self.assertFalse(self.cloud.client_secret_set)

    def test_wrong_subject_is_a_clear_message(self):
        account = self.connect()
        # the federated credential names another identity (a typo, or another host's)
        self.trust(defaults.MANAGED_IDENTITY_PRINCIPAL_ID.upper())
        action = account.action_refresh()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertEqual(account.last_error_code, "700213")
        self.assertIn("object (principal) id of this server's managed identity", account.last_error)
        self.assertIn("AADSTS700213", action["params"]["message"])
        self.assertNotEqual(account.state, "expired", "the user's sign-in is not what failed")
        # once the credential is right again, the same account refreshes
        self.trust(defaults.MANAGED_IDENTITY_PRINCIPAL_ID)
        self.assertEqual(account.action_refresh()["params"]["type"], "success")
        self.assertEqual(account.state, "active")

    def test_no_federated_credential_and_no_identity(self):
        account = self.connect()
        self.emu.control.update_app(defaults.CLOUD_CLIENT_ID, federated_credentials=[])
        account.action_refresh()
        self.assertEqual(account.last_error_code, "70021")
        self.assertIn("Federated credentials", account.last_error)
        # the host's endpoint refuses (not this host's identity header): said before Entra ID is asked
        self.trust(defaults.MANAGED_IDENTITY_PRINCIPAL_ID)
        self.emu.control.set_identity_header("another host's header")
        since = len(self.emu.control.requests())
        account.action_refresh()
        self.assertIn("managed identity gave no token", account.last_error)
        self.assertEqual(self.token_requests(since), [], "no token request without an assertion")

    def test_identity_endpoint_unreachable_is_retried(self):
        """Not on Azure after all, or the endpoint is down: a transient failure, the account stays."""
        account = self.connect()
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        with patch.dict(os.environ, {"IDENTITY_ENDPOINT": "http://127.0.0.1:%s/msi/token" % port}):
            action = account.action_refresh()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertEqual((account.state, account.retry_count), ("active", 1))
        self.assertIn("managed identity could not be reached", account.last_error)
        self.assertTrue(account.has_tokens, "the user's sign-in is kept")

    def test_federated_token_file(self):
        """Kubernetes workload identity: a token of the cluster's issuer, read from a file at each use."""
        issuer, subject = "https://oidc.cluster.example.test/", "system:serviceaccount:odoo:odoo"
        self.emu.control.trust_managed_identity(defaults.CLOUD_CLIENT_ID, subject, issuer)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "azure-identity-token")
            options = {"oec_azure_client_credential": "federated_token_file"}
            with (
                patch.dict(config.options, options),
                patch.dict(os.environ, {"AZURE_FEDERATED_TOKEN_FILE": path}),
            ):
                with open(path, "w", encoding="ascii") as token_file:
                    token_file.write(self.emu.control.federated_token(issuer, subject))
                account = self.connect()
                self.assertEqual(account.state, "active")
                # the file is rotated: the next request reads the new token
                rotated = self.emu.control.federated_token(issuer, subject)
                with open(path, "w", encoding="ascii") as token_file:
                    token_file.write(rotated)
                self.assertEqual(account.action_refresh()["params"]["type"], "success")
                os.unlink(path)
                account.action_refresh()
                self.assertIn("cannot be read", account.last_error)
                self.assertIn(path, account.last_error)
        calls = self.remote_calls()
        self.assertNotIn("/msi/token", [r["path"] for r in calls])
        self.assertEqual([r["client_auth"] for r in self.token_requests()], ["assertion", "assertion"])

    def test_refused_users_reach_no_identity_endpoint(self):
        account = self.connect()
        since = len(self.emu.control.requests())
        for kind, user in refused_users(self.env, "mi").items():
            with self.subTest(kind), self.assertRaises(AccessError):
                account.with_user(user).action_refresh()
        self.assertEqual(
            self.remote_calls(since), [], "neither the identity endpoint nor Entra ID was called"
        )

    def test_secret_mode_is_unchanged(self):
        """The default: the stored secret, and no managed identity asked."""
        with patch.dict(config.options, {"oec_azure_client_credential": "secret"}):
            self.cloud.set_client_secret(defaults.CLOUD_CLIENT_SECRET)
            account = self.connect()
            self.assertEqual(account.state, "active")
        calls = self.remote_calls()
        self.assertNotIn("/msi/token", [r["path"] for r in calls])
        self.assertEqual({r["client_auth"] for r in self.token_requests()}, {"secret"})


@tagged("post_install", "-at_install")
class TestManagedIdentityConnectHttp(HostIdentityMixin, ConnectHttpMixin, EmulatorMixin, HttpCase):
    def test_add_account_without_secret(self):
        """Add Account in the browser: no "set the client secret" refusal, the code redeemed with
        the managed identity's assertion."""
        self.authenticate("admin", "admin")
        response = self.connect_http()
        self.assertEqual(response.status_code, 303, response.text[:300])
        account = self.env["cloud.account"].search([], order="id desc", limit=1)
        self.assertEqual((account.state, account.ms_username), ("active", defaults.USER_EMAIL))
        self.assertEqual([r["client_auth"] for r in self.token_requests()], ["assertion"])
