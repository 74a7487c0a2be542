# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""App roles and groups of Entra ID become Odoo groups, over real HTTP."""

import xmlrpc.client
from urllib.parse import parse_qsl, urlsplit

from azure_emulator import defaults

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import AzureSigninCase

ROLE = "Odoo.Sales"
ADMIN_ROLE = "Odoo.Admins"


@tagged("post_install", "-at_install")
class TestRoleMappings(AzureSigninCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = cls.env["res.groups"]
        cls.sales = groups.create({"name": "Azure test: Sales"})
        cls.finance = groups.create({"name": "Azure test: Finance"})
        cls.manual = groups.create({"name": "Azure test: given by hand"})
        cls.user.groups_id = [(4, cls.manual.id)]
        cls.group_id = "3a4b5c6d-7e8f-4a0b-8c1d-2e3f4a5b6c7d"
        cls.provider.oec_azure_mapping_ids = [
            (0, 0, {"kind": "role", "value": ROLE, "group_ids": [(6, 0, cls.sales.ids)]}),
            (0, 0, {"kind": "group", "value": cls.group_id, "group_ids": [(6, 0, cls.finance.ids)]}),
        ]

    def setUp(self):
        super().setUp()
        self.emu.control.add_group(id=self.group_id, name="Finance")

    def set_directory(self, roles=(), groups=()):
        # by object id: the control API finds users by oid in the URL
        self.emu.control.update_user(
            defaults.USER_OID, app_roles={defaults.SIGNIN_CLIENT_ID: list(roles)}, groups=list(groups)
        )

    def sign_in_again(self, **kw):
        self.new_browser()
        response = self.sign_in(**kw)
        self.assertSignedIn(response, self.user)
        return self.last_log()

    def last_log(self):
        return self.env["oec.azure.signin.log"].search([], limit=1)

    def test_role_added_then_removed(self):
        self.link(self.user)
        self.assertNotIn(self.sales, self.user.groups_id)
        self.set_directory(roles=[ROLE])
        log = self.sign_in_again()
        self.assertIn(self.sales, self.user.groups_id)
        self.assertIn(self.manual, self.user.groups_id)
        self.assertEqual(log.result, "success")
        self.assertEqual(log.user_id, self.user)
        self.assertEqual(log.groups_added_ids, self.sales)
        self.assertFalse(log.groups_removed_ids)
        self.assertEqual((log.tenant_id, log.oid), (defaults.TENANT_ID, defaults.USER_OID))
        self.assertEqual(log.username, defaults.USER_EMAIL)
        self.assertEqual(log.ip_address, "127.0.0.1")
        # the role is no longer assigned: taken away; unmapped groups stay
        self.set_directory()
        log = self.sign_in_again()
        self.assertNotIn(self.sales, self.user.groups_id)
        self.assertIn(self.manual, self.user.groups_id)
        self.assertIn(self.env.ref("base.group_user"), self.user.groups_id)
        self.assertEqual(log.groups_removed_ids, self.sales)
        self.assertFalse(log.groups_added_ids)
        # nothing changes: nothing recorded as changed
        log = self.sign_in_again()
        self.assertFalse(log.groups_added_ids | log.groups_removed_ids)

    def test_groups_claim(self):
        self.emu.control.update_app(defaults.SIGNIN_CLIENT_ID, groups_claim=True)
        self.set_directory(groups=[self.group_id])
        self.link(self.user)
        self.assertIn(self.finance, self.user.groups_id)
        self.assertNotIn(self.sales, self.user.groups_id)
        self.set_directory(roles=[ROLE])
        log = self.sign_in_again()
        self.assertEqual(log.groups_added_ids, self.sales)
        self.assertEqual(log.groups_removed_ids, self.finance)
        self.assertIn(self.manual, self.user.groups_id)

    def test_overage_code_flow_reads_graph(self):
        self.use_secret()
        self.emu.control.update_app(defaults.SIGNIN_CLIENT_ID, groups_claim=True, group_overage_limit=1)
        other = self.emu.control.add_group(name="Everyone")["id"]
        nested = self.emu.control.add_group(name="Finance EMEA", member_of=[self.group_id])["id"]
        # a member of Finance through a nested group only, and of one more group
        self.set_directory(groups=[nested, other])
        self.link(self.user)
        self.assertIn(self.finance, self.user.groups_id)
        graph = [r for r in self.emu.control.requests() if "transitiveMemberOf" in r["path"]]
        self.assertEqual(len(graph), 1, "one Graph call, with the code flow's access token")
        # still overage, no longer in Finance: removed, not "no groups, keep all"
        self.set_directory(groups=[other, self.emu.control.add_group(name="More")["id"]])
        log = self.sign_in_again()
        self.assertNotIn(self.finance, self.user.groups_id)
        self.assertEqual(log.groups_removed_ids, self.finance)

    def asked_scope(self):
        """The scope of the sign-in the login page's button starts."""
        return dict(parse_qsl(urlsplit(self.click_button()).query))["scope"].split()

    def test_user_read_asked_when_groups_may_be_read(self):
        """A token asked for the OpenID Connect scopes alone carries those only,
        which Graph refuses the user's groups: the code flow of a provider with
        group lines asks for User.Read too, and redeems the code for the same."""
        self.assertEqual(self.asked_scope(), ["openid", "profile", "email"], "implicit flow: no Graph call")
        self.use_secret()
        # the code's redemption asks for the same: test_overage_code_flow_reads_graph
        self.assertEqual(self.asked_scope(), ["openid", "profile", "email", "User.Read"])
        self.new_browser()
        self.provider.oec_azure_mapping_ids.filtered(lambda m: m.kind == "group").unlink()
        self.assertEqual(self.asked_scope(), ["openid", "profile", "email"], "no group line: no Graph call")

    def test_overage_graph_refused(self):
        """The real 403 of Graph: the provider asks for Graph's .default (left
        as it is: static consent cannot be mixed with named permissions) and the
        app registration's Graph permissions no longer hold User.Read."""
        self.use_secret()
        self.provider.scope = "openid profile email https://graph.microsoft.com/.default"
        self.emu.control.update_app(
            defaults.SIGNIN_CLIENT_ID, groups_claim=True, group_overage_limit=0, graph_permissions=[]
        )
        self.set_directory(groups=[self.group_id])
        self.user.groups_id = [(4, self.finance.id)]
        text = self.assertRefused(self.sign_in(self.reset_url(self.user)), "User.Read", "app roles")
        self.assertIn(self.finance, self.user.groups_id)
        self.assertEqual(self.last_log().reason, text.strip())
        (graph,) = [r for r in self.emu.control.requests() if "transitiveMemberOf" in r["path"]]
        self.assertEqual(graph["status"], 403)
        # User.Read granted again (what a new app registration has): the same sign-in works
        self.emu.control.update_app(defaults.SIGNIN_CLIENT_ID, graph_permissions=["User.Read"])
        self.new_browser()
        self.assertSignedIn(self.sign_in(self.reset_url(self.user)), self.user)
        self.assertIn(self.finance, self.user.groups_id)

    def test_overage_implicit_flow_refused(self):
        self.link(self.user)
        self.user.groups_id = [(4, self.finance.id)]
        self.emu.control.update_app(defaults.SIGNIN_CLIENT_ID, groups_claim=True)
        self.set_directory(groups=[self.emu.control.add_group(name="G%d" % i)["id"] for i in range(7)])
        self.new_browser()
        text = self.assertRefused(self.sign_in(), "too many groups", "app roles", "client secret")
        # never read as "no groups": the mapped group is still there
        self.assertIn(self.finance, self.user.groups_id)
        log = self.last_log()
        self.assertEqual(
            (log.result, log.reason, log.user_id), ("refused", text.strip(), self.env["res.users"])
        )
        self.assertEqual(log.oid, defaults.USER_OID)
        self.assertFalse([r for r in self.emu.control.requests() if "transitiveMemberOf" in r["path"]])

    def test_overage_without_group_mappings_is_ignored(self):
        self.provider.oec_azure_mapping_ids.filtered(lambda m: m.kind == "group").unlink()
        self.link(self.user)
        self.emu.control.update_app(defaults.SIGNIN_CLIENT_ID, groups_claim=True)
        self.set_directory(
            roles=[ROLE], groups=[self.emu.control.add_group(name="G%d" % i)["id"] for i in range(7)]
        )
        self.sign_in_again()
        self.assertIn(self.sales, self.user.groups_id)

    def test_mapping_checks(self):
        mappings = self.env["oec.azure.role.mapping"]
        with self.assertRaisesRegex(ValidationError, "Object ID"):
            mappings.create(
                {
                    "provider_id": self.provider.id,
                    "kind": "group",
                    "value": "Finance",
                    "group_ids": self.sales.ids,
                }
            )
        with self.assertRaisesRegex(ValidationError, "type of user"):
            mappings.create(
                {
                    "provider_id": self.provider.id,
                    "kind": "role",
                    "value": "Odoo.Portal",
                    "group_ids": self.env.ref("base.group_portal").ids,
                }
            )

    def test_admin_mapping_needs_confirmation(self):
        mappings = self.env["oec.azure.role.mapping"]
        settings = self.env.ref("base.group_system")
        # implies Administration / Access Rights, through another group
        rights = self.env["res.groups"].create(
            {"name": "Azure test: rights", "implied_ids": [(4, self.env.ref("base.group_erp_manager").id)]}
        )
        indirect = self.env["res.groups"].create(
            {"name": "Azure test: indirect", "implied_ids": [(4, rights.id)]}
        )
        values = {"provider_id": self.provider.id, "kind": "role", "value": ADMIN_ROLE}
        for group in (settings, indirect):
            with self.assertRaises(ValidationError) as refusal:
                mappings.create(dict(values, group_ids=group.ids))
            self.assertIn("make administrators", str(refusal.exception))
            self.assertIn(group.full_name, str(refusal.exception))
        mapping = mappings.create(dict(values, group_ids=indirect.ids, admin_confirmed=True))
        self.assertTrue(mapping.grants_admin)
        with self.assertRaises(ValidationError) as refusal:
            mapping.admin_confirmed = False
        self.assertIn("I Understand This Makes Administrators", str(refusal.exception))
        # a mapping that did not make administrators, made to
        sales_mapping = self.provider.oec_azure_mapping_ids.filtered(lambda m: m.value == ROLE)
        self.assertFalse(sales_mapping.grants_admin)
        with self.assertRaises(ValidationError) as refusal:
            sales_mapping.group_ids = [(4, settings.id)]
        self.assertIn("Administration / Settings", str(refusal.exception))
        sales_mapping.write({"group_ids": [(4, settings.id)], "admin_confirmed": True})
        self.assertTrue(sales_mapping.grants_admin)
        # over RPC, as an administrator: the same refusal
        admin = self.env.ref("base.user_admin")
        rpc = self.xmlrpc_object.execute_kw
        with self.assertRaisesRegex(xmlrpc.client.Fault, "make administrators"):
            rpc(
                self.env.cr.dbname,
                admin.id,
                "admin",
                "oec.azure.role.mapping",
                "create",
                [dict(values, value="Odoo.RpcAdmins", group_ids=settings.ids)],
            )
        created = rpc(
            self.env.cr.dbname,
            admin.id,
            "admin",
            "oec.azure.role.mapping",
            "create",
            [dict(values, value="Odoo.RpcAdmins", group_ids=settings.ids, admin_confirmed=True)],
        )
        self.assertTrue(mappings.browse(created).grants_admin)

    def test_admin_mapping_warning_in_form(self):
        """The provider form warns as soon as a mapping line's groups make
        administrators, and saves it only once confirmed."""
        form = Form(self.provider)
        with form.oec_azure_mapping_ids.new() as line:
            line.value = ADMIN_ROLE
            with self.assertLogs("odoo.tests.form.onchange", "WARNING") as logs:
                line.group_ids.add(self.env.ref("base.group_system"))
            self.assertIn("makes administrators", logs.output[0])
            self.assertIn("Administration / Settings", logs.output[0])
            self.assertTrue(line.grants_admin)
        with self.assertRaises(ValidationError) as refusal:
            form.save()
        self.assertIn("make administrators", str(refusal.exception))
        form = Form(self.provider)
        with form.oec_azure_mapping_ids.new() as line:
            line.value = ADMIN_ROLE
            with self.assertNoLogs("odoo.tests.form.onchange", "WARNING"):
                line.group_ids.add(self.sales)
            self.assertFalse(line.grants_admin)
            line.group_ids.add(self.env.ref("base.group_system"))
            line.admin_confirmed = True
        form.save()
        mapping = self.provider.oec_azure_mapping_ids.filtered(lambda m: m.value == ADMIN_ROLE)
        self.assertTrue(mapping.admin_confirmed)

    def test_last_admin_keeps_settings(self):
        settings = self.env.ref("base.group_system")
        self.provider.oec_azure_mapping_ids = [
            (
                0,
                0,
                {"kind": "role", "value": ADMIN_ROLE, "group_ids": settings.ids, "admin_confirmed": True},
            )
        ]
        self.link(self.user)
        self.set_directory(roles=[ROLE, ADMIN_ROLE])
        self.sign_in_again()
        self.assertIn(settings, self.user.groups_id)
        # another administrator is there: the role's end ends Settings
        self.set_directory(roles=[ROLE])
        log = self.sign_in_again()
        self.assertNotIn(settings, self.user.groups_id)
        self.assertIn(settings, log.groups_removed_ids)
        self.assertFalse(log.reason)
        # this user is the only active administrator left
        self.set_directory(roles=[ROLE, ADMIN_ROLE])
        self.sign_in_again()
        others = self.env["res.users"].search(
            [("id", "!=", self.user.id), ("share", "=", False), ("groups_id", "in", settings.ids)]
        )
        self.assertTrue(others)
        others.action_archive()
        self.set_directory()
        log = self.sign_in_again()
        self.assertIn(settings, self.user.groups_id, "the last active administrator stays one")
        self.assertNotIn(self.sales, self.user.groups_id, "the other mappings still apply")
        self.assertEqual(log.groups_removed_ids, self.sales)
        self.assertEqual(log.result, "success")
        self.assertIn("no active administrator", log.reason)
        self.assertIn("Administration / Settings", log.reason)
