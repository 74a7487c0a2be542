# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import ast
from pathlib import Path

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged
from odoo.tools import convert_file

GUID = "6c1f4e2a-3b5d-4f7a-9c8e-0d1e2f3a4b5c"
TENANT = "5e3d6a2c-7f1b-4c8e-9a0d-1b2c3d4e5f60"


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_installable_without_the_cloud_addon(self):
        """Only core dependencies, and no import of oec_cloud_accounts' code
        (the encryption helper is this addon's own)."""
        module = self.env["ir.module.module"].search([("name", "=", "oec_auth_azure")])
        self.assertEqual(set(module.dependencies_id.mapped("name")), {"auth_oauth", "auth_signup"})
        root = Path(get_module_path("oec_auth_azure"))
        imported = set()
        for path in root.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    imported.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module:
                    imported.add(node.module)
        self.assertIn("cryptography.hazmat.primitives.ciphers.aead", imported, "the scan sees imports")
        self.assertEqual([name for name in imported if "oec_cloud_accounts" in name], [])

    def test_documented_configuration(self):
        """What Odoo's "Microsoft Azure sign-in authentication" page asks to type by hand."""
        params = self.env["ir.config_parameter"].sudo()
        self.assertEqual(params.get_param("auth_oauth.authorization_header"), "1")
        provider = self.env.ref("oec_auth_azure.provider_azure")
        self.assertEqual(provider.name, "Microsoft Azure")
        self.assertEqual(
            provider.auth_endpoint, "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize"
        )
        self.assertEqual(provider.validation_endpoint, "https://graph.microsoft.com/oidc/userinfo")
        self.assertEqual(provider.scope, "openid profile email")
        self.assertEqual(provider.css_class, "fa fa-fw fa-windows")
        self.assertEqual(provider.body, "Microsoft Azure")
        self.assertFalse(provider.client_id)
        self.assertFalse(provider.enabled, "disabled until a client id is set")
        self.assertFalse(provider.oec_azure_allow_signup, "no sign-up of unknown accounts by default")
        self.assertFalse(provider.oec_azure_link_by_upn)

    def test_upgrade_keeps_administrator_changes(self):
        """The data file loaded again as a module update does (odoo.modules.loading.load_data
        passes noupdate=False for data files: the file's own noupdate="1" decides)."""
        provider = self.env.ref("oec_auth_azure.provider_azure")
        changes = {
            "body": "Sign in with Contoso",
            "oec_azure_tenant": TENANT,
            "client_id": GUID,
            "enabled": True,
            "oec_azure_allow_signup": True,
        }
        provider.write(changes)
        provider.oec_azure_client_secret = "kept-across-upgrades"
        endpoint = provider.auth_endpoint
        self.assertIn(TENANT, endpoint)

        def reload(mode):
            convert_file(
                self.env, "oec_auth_azure", "data/auth_oauth_data.xml", {}, mode=mode, noupdate=False
            )
            self.env.invalidate_all()

        reload("update")
        for name, value in changes.items():
            self.assertEqual(provider[name], value, name)
        self.assertEqual(provider.auth_endpoint, endpoint)
        self.assertEqual(provider._oec_azure_client_secret(), "kept-across-upgrades")
        # the same load as a fresh install writes the file's values: what the
        # update above would have done without noupdate
        reload("init")
        self.assertEqual(provider.body, "Microsoft Azure")
        self.assertEqual(provider.oec_azure_tenant, "organizations")
