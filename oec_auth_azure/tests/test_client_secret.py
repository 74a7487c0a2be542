# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The sign-in client secret: encrypted at rest, write-only, in no transient table."""

from unittest.mock import patch

from psycopg2 import sql

from odoo.exceptions import AccessError, UserError
from odoo.modules.neutralize import neutralize_database
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import config, escape_psql
from odoo.tools.sql import column_exists

from odoo.addons.oec_auth_azure import uninstall_hook
from odoo.addons.oec_auth_azure.models.auth_oauth_provider import SECRET_COLUMN

from .capture import CaptureTextsMixin

GUID = "6c1f4e2a-3b5d-4f7a-9c8e-0d1e2f3a4b5c"
SECRET = "Xq8~sign-in-secret-2f9c4d1e7a"


def tables_holding(cr, text):
    """Every table of the database with a row whose JSON form contains ``text``."""
    cr.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
    )
    found = []
    for (table,) in cr.fetchall():
        cr.execute(
            sql.SQL("SELECT 1 FROM {} t WHERE row_to_json(t)::text LIKE %s LIMIT 1").format(
                sql.Identifier(table)
            ),
            ["%" + escape_psql(text) + "%"],
        )
        if cr.fetchone():
            found.append(table)
    return found


@tagged("post_install", "-at_install")
class TestClientSecret(CaptureTextsMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env.ref("oec_auth_azure.provider_azure")
        cls.admin = cls.env.ref("base.user_admin")

    def save_settings(self, user=None, **values):
        """What the Save button of Settings does: create, then execute."""
        settings = self.env["res.config.settings"].with_user(user or self.admin)
        record = settings.create(dict(settings.default_get(list(settings._fields)), **values))
        record.execute()
        self.env.flush_all()
        return record

    def test_settings_save_leaves_no_secret_in_clear(self):
        self.save_settings(oec_azure_client_id=GUID, oec_azure_client_secret=SECRET)
        # the scan finds what is stored in clear: the client id, in the provider's row
        self.assertIn("auth_oauth_provider", tables_holding(self.env.cr, GUID))
        self.assertEqual(tables_holding(self.env.cr, SECRET), [])
        self.env.cr.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'res_config_settings' AND column_name LIKE 'oec_azure_client_secret%%'"
        )
        self.assertEqual(self.env.cr.fetchall(), [], "no column of the transient table may hold it")
        # stored, encrypted, and usable by the sign-in code
        self.assertTrue(self.provider.oec_azure_client_secret_set)
        self.assertEqual(self.provider._oec_azure_client_secret(), SECRET)

    def test_secret_is_never_read_back(self):
        record = self.save_settings(oec_azure_client_id=GUID, oec_azure_client_secret=SECRET)
        Settings = self.env["res.config.settings"].with_user(self.admin)
        answers = {
            "default_get": Settings.default_get(list(Settings._fields)),
            "get_values": Settings.get_values(),
            "settings read": record.read(),
            "new settings read": Settings.create({}).read(),
            "provider read": self.provider.with_user(self.admin).read(),
            "provider search_read": self.provider.with_user(self.admin).search_read([]),
            "provider export": self.provider.with_user(self.admin).export_data(
                ["oec_azure_client_secret", "oec_azure_client_secret_set"]
            ),
            "login page providers": self.env["auth.oauth.provider"].sudo().search_read([]),
        }
        for where, answer in answers.items():
            self.assertNotIn(SECRET, str(answer), where)
        self.assertIn(True, answers["provider export"]["datas"][0], "says that a secret is set")
        self.assertTrue(answers["get_values"]["oec_azure_redirect_uri"], "get_values answered")

    def test_settings_show_set_or_not_set(self):
        Settings = self.env["res.config.settings"].with_user(self.admin)
        self.assertFalse(Settings.create({}).oec_azure_client_secret_set)
        self.save_settings(oec_azure_client_secret=SECRET)
        self.assertTrue(Settings.create({}).oec_azure_client_secret_set)
        # saving Settings again (the secret input always empty) keeps it
        self.save_settings(oec_azure_client_id=GUID)
        self.assertEqual(self.provider._oec_azure_client_secret(), SECRET)
        # Remove
        Settings.create({}).action_oec_azure_clear_client_secret()
        self.assertFalse(self.provider.oec_azure_client_secret_set)
        self.assertIsNone(self.provider._oec_azure_client_secret())

    def test_secret_needs_the_server_key(self):
        with patch.dict(config.options, {"oec_cloud_secret_key": ""}):
            with self.assertRaisesRegex(UserError, "oec_cloud_secret_key"), self.env.cr.savepoint():
                self.save_settings(oec_azure_client_secret=SECRET)
            with self.assertRaisesRegex(UserError, "oec_cloud_secret_key"), self.env.cr.savepoint():
                self.provider.oec_azure_client_secret = SECRET
        self.assertFalse(self.provider.oec_azure_client_secret_set)
        self.provider.oec_azure_client_secret = SECRET
        # another key cannot read it: said clearly, never a wrong value
        with (
            patch.dict(config.options, {"oec_cloud_secret_key": "ab" * 32}),
            self.assertRaisesRegex(UserError, "cannot be decrypted"),
        ):
            self.provider._oec_azure_client_secret()

    def test_secret_bound_to_the_database(self):
        """Odoo gives a copy of a database a new database.uuid (restore as a copy, Duplicate:
        ir.config_parameter init(force=True)); the copy holds the same key but cannot read the
        secret, and says why. The same database (moved: same uuid) reads it."""
        self.provider.oec_azure_client_secret = SECRET
        params = self.env["ir.config_parameter"].sudo()
        original = params.get_param("database.uuid")
        params.init(force=True)  # what Odoo's restore_db(copy=True) and Duplicate do
        self.assertNotEqual(params.get_param("database.uuid"), original)
        self.provider.invalidate_recordset()
        self.assertFalse(self.provider.oec_azure_client_secret_set, "not usable here: shown as not set")
        with self.assertRaisesRegex(UserError, "copy"):
            self.provider._oec_azure_client_secret()
        # entered again in the copy: the copy's own
        self.provider.oec_azure_client_secret = "the copy's secret"
        self.assertTrue(self.provider.oec_azure_client_secret_set)
        self.assertEqual(self.provider._oec_azure_client_secret(), "the copy's secret")
        # back in the original database (its uuid), the copy's secret is the foreign one
        params.set_param("database.uuid", original)
        self.provider.invalidate_recordset()
        self.assertFalse(self.provider.oec_azure_client_secret_set)

    def test_only_system_users_set_the_secret(self):
        manager = new_test_user(self.env, login="erp.manager", groups="base.group_erp_manager")
        with self.assertRaises(AccessError):
            self.provider.with_user(manager).write({"oec_azure_client_secret": SECRET})
        with self.assertRaises(AccessError):
            self.save_settings(user=manager, oec_azure_client_secret=SECRET)
        with self.assertRaises(AccessError):
            self.provider.with_user(manager).action_oec_azure_clear_client_secret()
        self.assertNotIn("oec_azure_client_secret", self.provider.with_user(manager).fields_get())
        self.assertFalse(self.provider.oec_azure_client_secret_set)

    def test_ciphertext_is_bound_to_its_row(self):
        other = self.provider.copy({"name": "Second Microsoft"})
        self.provider.oec_azure_client_secret = SECRET
        self.assertFalse(other.oec_azure_client_secret_set, "copy=False: a copy has no secret")
        query = sql.SQL(
            "UPDATE auth_oauth_provider SET {col} = (SELECT {col} FROM auth_oauth_provider WHERE id = %s) "
            "WHERE id = %s"
        )
        self.env.cr.execute(query.format(col=sql.Identifier(SECRET_COLUMN)), (self.provider.id, other.id))
        with self.assertRaisesRegex(UserError, "cannot be decrypted"):
            other._oec_azure_client_secret()

    def test_uninstall_drops_the_column(self):
        """auth_oauth_provider is core's and stays; the column of the encrypted secret goes."""
        self.provider.oec_azure_client_secret = SECRET
        self.assertTrue(column_exists(self.env.cr, "auth_oauth_provider", SECRET_COLUMN))
        uninstall_hook(self.env)
        self.assertFalse(column_exists(self.env.cr, "auth_oauth_provider", SECRET_COLUMN))
        self.assertTrue(column_exists(self.env.cr, "auth_oauth_provider", "client_id"))

    def test_neutralized_copy_holds_no_client_secret(self):
        self.save_settings(oec_azure_client_id=GUID, oec_azure_client_secret=SECRET)
        self.assertTrue(self.provider.oec_azure_client_secret_set)
        self.env.flush_all()  # a copy has no pending ORM writes: the SQL acts on what is stored
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        self.env.cr.execute(
            sql.SQL("SELECT count(*) FROM auth_oauth_provider WHERE {} IS NOT NULL").format(
                sql.Identifier(SECRET_COLUMN)
            )
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        self.assertFalse(self.provider.oec_azure_client_secret_set)
        self.assertIsNone(self.provider._oec_azure_client_secret())
