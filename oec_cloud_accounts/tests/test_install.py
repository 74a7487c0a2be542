import ast
import sys
from pathlib import Path

from odoo.modules.module import get_manifest
from odoo.tests import TransactionCase, tagged

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
