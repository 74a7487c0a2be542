# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import logging

from psycopg2 import sql

from odoo import _, api, models
from odoo.exceptions import UserError
from odoo.tools import SQL, config
from odoo.tools.sql import column_exists

from ..services.crypto import KEY_OPTION, PREFIX, SecretBox, sealed_for, sealed_prefix

_logger = logging.getLogger(__name__)


class OecSecretMixin(models.AbstractModel):
    """Encrypted secrets in columns the ORM does not know.

    Like auth_totp's secret, the columns are created by SQL and have no ORM
    field: no ``read``, ``search_read``, export or RPC can return them, for any
    user. Values are AES-GCM encrypted with the key ``oec_cloud_secret_key``
    of the server configuration, bound to table, column and row id, and to
    the database's identity (``database.uuid``): Odoo gives a copy of a
    database (its database manager's Duplicate, or a restore "as a copy") a
    new one, so a copy, holding the same key, cannot use the original's
    tokens and secrets, while a moved database (restored as the same
    database) keeps them. Used by the sign-in provider (its client secret)
    and by oec_cloud_accounts (tokens, clouds' client secrets, servers'
    master passwords).
    """

    _name = "oec.secret.mixin"
    _description = "Encrypted secret columns"

    # column names, a fixed allow-list: never built from user input
    _secret_columns = ()

    def init(self):
        res = super().init()
        for column in self._secret_columns:
            if not column_exists(self.env.cr, self._table, column):
                self.env.cr.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN {} varchar").format(
                        sql.Identifier(self._table), sql.Identifier(column)
                    )
                )
        return res

    @api.model
    def _secret_box(self):
        key = config.get(KEY_OPTION)
        if not key:
            raise UserError(
                _(
                    "No encryption key is configured: add %(option)s = <64 hexadecimal characters> "
                    "to the Odoo server configuration file and restart Odoo.",
                    option=KEY_OPTION,
                )
            )
        try:
            return SecretBox(key)
        except ValueError as exc:
            raise UserError(
                _("The server option %(option)s must be 64 hexadecimal characters.", option=KEY_OPTION)
            ) from exc

    def _secret_context(self, column):
        return "%s:%s:%s" % (self._table, self.id, column)

    @api.model
    def _secret_database(self):
        """This database's identity, which the secrets are bound to. Read for each secret:
        get_param is cached by the registry (and the cache cleared when Odoo renews it)."""
        return self.env["ir.config_parameter"].sudo().get_param("database.uuid") or ""

    def _set_secret(self, column, value):
        """Encrypt and store ``value`` (None/False clears it)."""
        self.ensure_one()
        assert column in self._secret_columns, column
        stored = (
            self._secret_box().encrypt(value, self._secret_context(column), self._secret_database())
            if value
            else None
        )
        self.env.cr.execute(
            sql.SQL("UPDATE {} SET {} = %s WHERE id = %s").format(
                sql.Identifier(self._table), sql.Identifier(column)
            ),
            (stored, self.id),
        )
        # the computes that tell whether a secret is set read the column by SQL
        self.invalidate_recordset()

    def _clear_secrets(self):
        if not self.ids:
            return
        self.env.cr.execute(
            sql.SQL("UPDATE {} SET {} WHERE id = ANY(%s)").format(
                sql.Identifier(self._table),
                sql.SQL(", ").join(
                    sql.SQL("{} = NULL").format(sql.Identifier(column)) for column in self._secret_columns
                ),
            ),
            (list(self.ids),),
        )
        self.invalidate_recordset()

    def _get_secret(self, column):
        """The plaintext, or None when unset or unreadable (key changed, or stored by the
        database this one is a copy of: see _secret_from_copy)."""
        self.ensure_one()
        assert column in self._secret_columns, column
        self.env.cr.execute(
            sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
                sql.Identifier(column), sql.Identifier(self._table)
            ),
            (self.id,),
        )
        row = self.env.cr.fetchone()
        if not row or not row[0]:
            return None
        database = self._secret_database()
        value = self._secret_box().decrypt(row[0], self._secret_context(column), database)
        if value is None:
            if sealed_for(row[0]) not in (None, database):
                _logger.warning(
                    "%s(%s).%s was stored by another database: this one is a copy of it",
                    self._name,
                    self.id,
                    column,
                )
            else:
                _logger.warning(
                    "%s(%s).%s cannot be decrypted: was %s changed?", self._name, self.id, column, KEY_OPTION
                )
        return value

    @api.model
    def _secret_not_here(self, column):
        """SQL: the row's ``column`` holds no value this database stored (a copy's, or of
        an older format), or nothing (NULL)."""
        assert column in self._secret_columns, column
        prefix = sealed_prefix(self._secret_database())
        return SQL("left(%s, %s) IS DISTINCT FROM %s", SQL.identifier(column), len(prefix), prefix)

    def _secret_from_copy(self, column):
        """Whether ``column`` holds a value stored by another database, which this one
        is a copy of (Odoo renewed database.uuid): never readable here."""
        self.ensure_one()
        return self.id in self._ids_with_secret(column, elsewhere=True)

    def _ids_with_secret(self, column, here=False, elsewhere=False):
        """The ids of ``self`` holding a value in ``column``, in one query (for computes):
        any value, or only those stored by this database (``here``), or only those stored
        by another database, which this one is a copy of (``elsewhere``)."""
        assert column in self._secret_columns, column
        ids = [id_ for id_ in self._ids if id_]  # new records have no row
        if not ids:
            return set()
        query = sql.SQL("SELECT id FROM {} WHERE id = ANY(%s) AND {} IS NOT NULL").format(
            sql.Identifier(self._table), sql.Identifier(column)
        )
        params = [ids]
        if here or elsewhere:
            # a value of an older format is neither here nor elsewhere: nobody can read it
            prefix = sealed_prefix(self._secret_database())
            query += sql.SQL(" AND left({col}, %s) = %s AND left({col}, %s) {op} %s").format(
                col=sql.Identifier(column), op=sql.SQL("=" if here else "!=")
            )
            params += [len(PREFIX), PREFIX, len(prefix), prefix]
        self.env.cr.execute(query, params)
        return {row[0] for row in self.env.cr.fetchall()}
