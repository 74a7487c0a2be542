import json
import os
from pathlib import Path
from unittest.mock import patch

from azure_emulator import defaults

from odoo import SUPERUSER_ID, api
from odoo.exceptions import ValidationError
from odoo.tests import Form, TransactionCase, tagged

# Used by Odoo's server with tokens and secrets, or shown to users as links.
from ..models.cloud_azure_environment import URL_FIELDS
from .common import EmulatorMixin

SANDBOX_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "sandbox" / "cloud_accounts.py"
XMLIDS = (
    "cloud_azure_environment_public",
    "cloud_azure_environment_usgov",
    "cloud_azure_environment_china",
)


@tagged("post_install", "-at_install")
class TestEnvironmentValidation(EmulatorMixin, TransactionCase):
    """Issue 8.5 / 13.6: a cloud's endpoints, application and tenant are
    validated as the sign-in settings are: https (http on loopback only),
    GUIDs, tenant names."""

    def assertRefused(self, values, fragment):
        for cloud in (self.cloud, self.env.ref("oec_cloud_accounts.cloud_azure_environment_public")):
            with self.subTest(values=values, cloud=cloud.name):
                with self.assertRaises(ValidationError) as caught:
                    cloud.write(values)
                self.assertIn(fragment, str(caught.exception))

    def test_urls_must_be_https_or_loopback(self):
        for field in URL_FIELDS:
            for value in (
                "http://evil.example",
                "javascript:alert(document.cookie)",
                "JavaScript://%0Aalert(1)",
                "data:text/html,<script>alert(1)</script>",
                "ftp://127.0.0.1",
                "//evil.example",
                "login.microsoftonline.com",
                "http://127.0.0.1.evil.example",
                "http://[::1",
                " https://login.microsoftonline.com",
            ):
                self.assertRefused({field: value}, "https://")
        for value in ("http://127.0.0.1:8000", "javascript:alert(1)", "management.azure.com"):
            self.assertRefused({"arm_audience": value}, "https://")

    def test_loopback_http_and_https_accepted(self):
        for value in (
            "http://127.0.0.1:4567",
            "http://localhost:80",
            "http://[::1]:9",
            "https://login.example",
        ):
            self.cloud.write(
                {"authority_host": value, "interactive_authority_host": value, "portal_url": value}
            )
        self.cloud.write({"graph_endpoint": False, "portal_url": False, "interactive_authority_host": False})

    def test_client_id_is_a_guid(self):
        for value in (
            "abc",
            "7d2a5f3b-4c6e-4a8b-8d9f-1e2f3a4b5c6dX",
            "../../x",
            "7d2a5f3b4c6e4a8b8d9f1e2f3a4b5c6d",
        ):
            self.assertRefused({"client_id": value}, "GUID")
        self.cloud.client_id = defaults.CLOUD_CLIENT_ID.upper()
        self.cloud.client_id = False

    def test_tenant_names(self):
        for value in (
            "../../evil.example/x",
            "evil.example/x",
            "contoso.onmicrosoft.com?x=1",
            "a b",
            "",
            "organizations/../x",
            "localhost",
        ):
            self.assertRefused({"tenant": value}, "tenant")
        for value in ("organizations", "common", "Consumers", defaults.TENANT_ID, "contoso.onmicrosoft.com"):
            self.cloud.tenant = value

    def test_shipped_and_sandbox_clouds_are_valid(self):
        for xmlid in XMLIDS:
            cloud = self.env.ref("oec_cloud_accounts." + xmlid)
            cloud._check_endpoints()  # raises if a shipped record were refused
            cloud.write({"authority_host": cloud.authority_host, "tenant": cloud.tenant})
        # what `make run` registers: the sandbox script itself, with the emulator's values
        # (through a test cursor, on which its commit only releases a savepoint)
        script = SANDBOX_SCRIPT.read_text()
        # the ready line of `python -m azure_emulator`: describe() and the apps' secrets
        info = dict(self.emu.describe(), cloud_client_secret=defaults.CLOUD_CLIENT_SECRET)
        self.registry.enter_test_mode(self.cr)
        try:
            with (
                patch.dict(os.environ, {"OEC_SANDBOX_INFO": json.dumps(info)}),
                self.registry.cursor() as cr,
            ):
                code = compile(script, str(SANDBOX_SCRIPT), "exec")
                # as `odoo-bin shell` runs it for `make run`: our own script, from the repository
                exec(code, {"env": api.Environment(cr, SUPERUSER_ID, {})})  # noqa: S102
        finally:
            self.registry.leave_test_mode()
        sandbox = self.env["cloud.azure.environment"].search([("name", "=", "Local sandbox")])
        self.assertTrue(sandbox.is_sandbox and sandbox.client_secret_set)

    def test_settings_refuse_a_client_id_that_is_not_a_guid(self):
        """Settings > Cloud Accounts writes the cloud record: same rule."""
        form = Form(self.env["res.config.settings"])
        form.cloud_environment_id = self.cloud
        form.cloud_client_id = "abc"
        with self.assertRaises(ValidationError):
            form.save().execute()
        self.assertEqual(self.cloud.client_id, defaults.CLOUD_CLIENT_ID)
        form = Form(self.env["res.config.settings"])
        form.cloud_tenant = "../../evil.example/x"
        with self.assertRaises(ValidationError):
            form.save().execute()
        self.assertEqual(self.cloud.tenant, "organizations")
