import ast
import sys
from pathlib import Path

from odoo.modules.module import get_manifest
from odoo.tests import HttpCase, TransactionCase, tagged

ADDON = Path(__file__).resolve().parent.parent
# packages Odoo itself requires: an addon need not declare them
ODOO_REQUIREMENTS = {"odoo", "requests", "psycopg2", "werkzeug", "markupsafe", "pytz"}
# distribution name -> the module it provides, where they differ
MODULE_OF = {
    "azure-core": "azure.core",
    "azure-mgmt-resource": "azure.mgmt.resource",
    "dnspython": "dns",
    "PyYAML": "yaml",
}


def imported_modules(path):
    """The absolute imports of a Python file."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            yield node.module


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_every_third_party_import_is_declared(self):
        """A module imported by the addon but missing from the manifest's
        external_dependencies would install on a developer's machine and fail
        at import on a server that trusted the manifest."""
        declared = [
            MODULE_OF.get(name, name.replace("-", "."))
            for name in get_manifest("oec_cloud_accounts")["external_dependencies"]["python"]
        ]
        undeclared = set()
        for path in ADDON.rglob("*.py"):
            if "tests" in path.relative_to(ADDON).parts:
                continue
            for module in imported_modules(path):
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in ODOO_REQUIREMENTS:
                    continue
                if not any(module == d or module.startswith(d + ".") for d in declared):
                    undeclared.add("%s (%s)" % (module, path.relative_to(ADDON)))
        self.assertEqual(undeclared, set())

    def test_secret_columns_exist_outside_the_orm(self):
        """init() created the encrypted columns, and no ORM field maps them."""
        for model, columns in (
            ("cloud.account", ("refresh_token_enc", "access_token_enc")),
            ("cloud.azure.environment", ("client_secret_enc",)),
            ("cloud.server", ("master_password_enc",)),
        ):
            table = self.env[model]._table
            self.env.cr.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
            )
            existing = {row[0] for row in self.env.cr.fetchall()}
            for column in columns:
                self.assertIn(column, existing)
                self.assertNotIn(column, self.env[model]._fields)

    def test_depends_on_the_signin_addon(self):
        """The Microsoft plumbing (secret box, URL rules, Entra client) is oec_auth_azure's."""
        module = self.env["ir.module.module"].search([("name", "=", "oec_cloud_accounts")])
        self.assertIn("oec_auth_azure", module.dependencies_id.mapped("name"))


@tagged("post_install", "-at_install")
class TestLoginPageUnchanged(HttpCase):
    """Installing cloud accounts installs the sign-in addon, whose Microsoft
    provider stays disabled until an administrator configures it: the login
    page shows no Microsoft button."""

    def microsoft_buttons(self):
        page = self.url_open("/web/login")
        self.assertEqual(page.status_code, 200)
        self.assertIn('name="login"', page.text, "the login form was served")
        return page.text.count(
            "/oec_auth_azure/authorize/%s?" % self.env.ref("oec_auth_azure.provider_azure").id
        )

    def test_no_microsoft_button_after_install(self):
        provider = self.env.ref("oec_auth_azure.provider_azure")
        self.assertFalse(provider.enabled)
        self.assertFalse(provider.client_id)
        self.assertFalse(
            self.env["auth.oauth.provider"].search([("oec_azure", "=", True), ("enabled", "=", True)])
        )
        self.assertEqual(self.microsoft_buttons(), 0)
        # what configuring it in Settings does: then, and only then, the button shows
        provider.write({"client_id": "6c1f4e2a-3b5d-4f7a-9c8e-0d1e2f3a4b5c", "enabled": True})
        self.assertEqual(self.microsoft_buttons(), 1)
