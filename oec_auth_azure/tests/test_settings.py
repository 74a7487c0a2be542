# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import re

from odoo.exceptions import ValidationError
from odoo.tests import Form, TransactionCase, tagged

from .capture import CaptureTextsMixin

GUID = "6c1f4e2a-3b5d-4f7a-9c8e-0d1e2f3a4b5c"
TENANT = "5e3d6a2c-7f1b-4c8e-9a0d-1b2c3d4e5f60"


@tagged("post_install", "-at_install")
class TestSettings(CaptureTextsMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env.ref("oec_auth_azure.provider_azure")
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", "https://odoo.example.com")

    def settings(self, **values):
        form = Form(self.env["res.config.settings"])
        for name, value in values.items():
            setattr(form, name, value)
        return form

    def test_configure_from_settings(self):
        form = self.settings(
            oec_azure_tenant="contoso.onmicrosoft.com", oec_azure_client_id=GUID, oec_azure_enabled=True
        )
        self.assertEqual(form.oec_azure_redirect_uri, "https://odoo.example.com/auth_oauth/signin")
        form.save().execute()
        self.assertTrue(self.provider.enabled)
        self.assertEqual(self.provider.client_id, GUID)
        self.assertEqual(
            self.provider.auth_endpoint,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
        )
        # the settings show what is saved
        form = Form(self.env["res.config.settings"])
        self.assertEqual(form.oec_azure_tenant, "contoso.onmicrosoft.com")
        self.assertTrue(form.oec_azure_enabled)

    def test_tenant_keeps_the_browser_host(self):
        """A sovereign cloud or the sandbox: changing the tenant keeps the authorization host."""
        self.provider.auth_endpoint = "https://login.microsoftonline.us/common/oauth2/v2.0/authorize"
        self.settings(oec_azure_tenant=TENANT).save().execute()
        self.assertEqual(
            self.provider.auth_endpoint, "https://login.microsoftonline.us/%s/oauth2/v2.0/authorize" % TENANT
        )

    def test_invalid_values_are_refused(self):
        cases = [
            ({"oec_azure_tenant": "not a tenant!"}, "tenant must be"),
            ({"oec_azure_client_id": "my-app"}, "GUID"),
            ({"oec_azure_enabled": True}, "client) ID before enabling"),
            ({"oec_azure_allowed_tenants": "contoso"}, "allowed tenants are directory"),
            ({"oec_azure_tenant": TENANT, "oec_azure_allowed_tenants": GUID}, "only applies"),
            ({"oec_azure_link_by_upn": True}, "single tenant"),
        ]
        for values, message in cases:
            with self.subTest(values=values):
                settings = self.settings(**values).save()
                with self.assertRaisesRegex(ValidationError, re.escape(message)), self.env.cr.savepoint():
                    settings.execute()
        self.assertFalse(self.provider.enabled)
        self.assertEqual(self.provider.oec_azure_tenant, "organizations")

    def test_endpoints_must_be_https(self):
        with self.assertRaisesRegex(ValidationError, "https"), self.env.cr.savepoint():
            self.provider.oec_azure_authority = "http://login.example.com"
        with self.assertRaisesRegex(ValidationError, "https"), self.env.cr.savepoint():
            self.provider.validation_endpoint = "http://graph.example.com/oidc/userinfo"
        # the loopback interface may use http, as in Azure (the local sandbox)
        self.provider.auth_endpoint = "http://127.0.0.1:1234/%s/oauth2/v2.0/authorize" % TENANT
        self.provider.validation_endpoint = "http://[::1]:1234/oidc/userinfo"
        for url in (
            # a user name: the bearer token would go to evil.example
            "https://graph.microsoft.com@evil.example/oidc/userinfo",
            " https://graph.microsoft.com/oidc/userinfo",
            "https://graph.microsoft.com/oidc/userinfo\n",
            "http://[::1/oidc/userinfo",  # an unclosed bracket: a message, not a traceback
            "https://gra ph.microsoft.com/oidc/userinfo",
        ):
            with (
                self.subTest(url=url),
                self.assertRaisesRegex(ValidationError, "https"),
                self.env.cr.savepoint(),
            ):
                self.provider.validation_endpoint = url
        # the message quotes at most about 100 characters of what was typed
        with self.assertRaises(ValidationError) as caught, self.env.cr.savepoint():
            self.provider.validation_endpoint = "https://" + "x" * 100_000
        self.assertLess(len(str(caught.exception)), 400)

    def test_redirect_uri_from_base_url(self):
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "http://odoo.example.com/")
        form = self.settings()
        self.assertEqual(form.oec_azure_redirect_uri, "http://odoo.example.com/auth_oauth/signin")

    def test_labels_are_distinct(self):
        """Odoo warns "Two fields have the same label" at every start when the
        cloud addon's settings (Tenant, Client Secret...) share a label with ours."""
        fields = self.env["res.config.settings"]._fields
        labels = {}
        for name, field in fields.items():
            labels.setdefault(field.string, []).append(name)
        for name, field in fields.items():
            if name.startswith("oec_azure_"):
                self.assertEqual(labels[field.string], [name], "label %r is not unique" % field.string)
        # the labels the cloud addon uses too, when it is installed
        for label in ("Tenant", "Application (client) ID", "Client Secret", "Redirect URI"):
            self.assertFalse([n for n in labels.get(label, []) if n.startswith("oec_azure_")], label)

    def test_roles_enforcement_signout_and_log_settings(self):
        form = self.settings(
            oec_azure_tenant=TENANT,
            oec_azure_client_id=GUID,
            oec_azure_jit=True,
            oec_azure_jit_user_type="portal",
            oec_azure_enforce=True,
            oec_azure_single_signout=True,
            oec_azure_signin_log_days=30,
        )
        self.assertEqual(
            form.oec_azure_frontchannel_logout_url, "https://odoo.example.com/oec_auth_azure/logout"
        )
        form.save().execute()
        self.assertTrue(self.provider.oec_azure_jit)
        self.assertEqual(self.provider.oec_azure_jit_user_type, "portal")
        params = self.env["ir.config_parameter"].sudo()
        self.assertEqual(params.get_param("oec_auth_azure.enforce_signin"), "True")
        self.assertEqual(params.get_param("oec_auth_azure.single_signout"), "True")
        self.assertEqual(self.env["oec.azure.signin.log"]._retention_days(), 30)
        # just-in-time users need a single tenant or an allow-list
        settings = self.settings(oec_azure_tenant="organizations").save()
        with self.assertRaisesRegex(ValidationError, "single tenant"), self.env.cr.savepoint():
            settings.execute()
        with self.assertRaisesRegex(ValidationError, "at least one day"), self.env.cr.savepoint():
            self.settings(oec_azure_signin_log_days=0).save()
        action = self.env["res.config.settings"].create({}).action_oec_azure_open_provider()
        self.assertEqual((action["res_model"], action["res_id"]), ("auth.oauth.provider", self.provider.id))
