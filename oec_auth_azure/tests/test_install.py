# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_installed_with_dependencies(self):
        # the module's own tests only run once it is installed: what can
        # fail is the list of modules it depends on
        module = self.env["ir.module.module"].search([("name", "=", "oec_auth_azure")])
        self.assertEqual(set(module.dependencies_id.mapped("name")), {"auth_oauth", "auth_signup"})
        modules = self.env["ir.module.module"].search(
            [("name", "in", ("oec_auth_azure", "auth_oauth", "auth_signup"))]
        )
        self.assertEqual(set(modules.mapped("state")), {"installed"})
        self.assertEqual(len(modules), 3)

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

    def test_upgrade_keeps_administrator_changes(self):
        data = self.env["ir.model.data"].search(
            [("module", "=", "oec_auth_azure"), ("name", "=", "provider_azure")]
        )
        self.assertTrue(data.noupdate)
