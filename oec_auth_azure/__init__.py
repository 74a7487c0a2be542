from psycopg2 import sql

from . import controllers
from . import models
from .models.auth_oauth_provider import SECRET_COLUMN


def uninstall_hook(env):
    """The encrypted client secret is a column no field maps (so the ORM does
    not drop it) in core's auth_oauth_provider table (which stays): drop it."""
    env.cr.execute(
        sql.SQL("ALTER TABLE auth_oauth_provider DROP COLUMN IF EXISTS {}").format(
            sql.Identifier(SECRET_COLUMN)
        )
    )
    # Settings of this addon (enforced sign-in, single sign-out, log
    # retention...): without the addon they would mean nothing.
    env["ir.config_parameter"].sudo().search([("key", "=like", "oec_auth_azure.%")]).unlink()
