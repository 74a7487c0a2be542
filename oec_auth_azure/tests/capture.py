# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What the tests wrote for people to read, kept for the secrets check of ``make test``.

tools/devtool.py sets OEC_CAPTURED_TEXTS_FILE: before each test's rollback, the
chatter, mails, activities, tracking values, sign-in log reasons and last errors it
wrote are appended to that file, and so is every error a JSON-RPC request answered
(what a browser shows in its error dialog, tours included) and every message of the
login page the sign-in tests read; tools/secret_scan.py searches it (with the log)
for every secret the emulator issued. Both addons' test base classes mix it in."""

import contextlib
import json
import os
from unittest.mock import patch

from odoo import http
from odoo.tools import SQL

CAPTURED_TEXTS_VARIABLE = "OEC_CAPTURED_TEXTS_FILE"
# table -> the columns people read
CAPTURED = {
    "mail_message": ("subject", "body"),
    "mail_mail": ("body_html",),
    "mail_activity": ("summary", "note"),
    "mail_tracking_value": ("old_value_char", "new_value_char", "old_value_text", "new_value_text"),
    "oec_azure_signin_log": ("reason",),
}


def _test_lock(env):
    """The lock of the test cursor while the registry is in test mode: a request still served
    for a browser of an earlier test (its websocket) uses the same connection, and must not run
    a query between one of ours and its fetch."""
    return env.registry.test_lock or contextlib.nullcontext()


def max_ids(env):
    ids = {}
    with _test_lock(env):
        for table in CAPTURED:
            env.cr.execute(SQL("SELECT COALESCE(MAX(id), 0) FROM %s", SQL.identifier(table)))
            ids[table] = env.cr.fetchone()[0]
    return ids


def append_texts(texts):
    """Add ``texts`` to the captured texts (when make test asked for them)."""
    if os.environ.get(CAPTURED_TEXTS_VARIABLE):
        with open(os.environ[CAPTURED_TEXTS_VARIABLE], "a", encoding="utf-8") as out:
            out.write("".join(text + "\n" for text in texts if text))


def capture_texts(env, since):
    """Append what the test wrote for people to read since ``since`` (max_ids()) to the file
    of CAPTURED_TEXTS_VARIABLE, with every last error of the cloud records."""
    with _test_lock(env):
        append_texts(_captured_texts(env, since))


def _captured_texts(env, since):
    env.flush_all()
    texts = []
    for table, columns in CAPTURED.items():
        env.cr.execute(
            SQL(
                "SELECT concat_ws(' ', %s) FROM %s WHERE id > %s",
                SQL(", ").join(SQL.identifier(c) for c in columns),
                SQL.identifier(table),
                since[table],
            )
        )
        texts += [row[0] for row in env.cr.fetchall()]
    env.cr.execute(
        "SELECT table_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name = 'last_error' AND table_name LIKE 'cloud%%'"
    )
    for (table,) in env.cr.fetchall():
        env.cr.execute(SQL("SELECT last_error FROM %s WHERE last_error IS NOT NULL", SQL.identifier(table)))
        texts += [row[0] for row in env.cr.fetchall()]
    return texts


class CaptureTextsMixin:
    """Mixed into a test case (before TransactionCase / HttpCase): its texts are captured."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.environ.get(CAPTURED_TEXTS_VARIABLE):
            # the error a JSON-RPC answer carries, as Odoo serializes it for the browser (its
            # answer is unchanged: the original method still makes it)
            original = http.JsonRPCDispatcher.handle_error

            def handle_error(dispatcher, exc):
                append_texts([json.dumps(http.serialize_exception(exc), ensure_ascii=False)])
                return original(dispatcher, exc)

            cls.startClassPatcher(patch.object(http.JsonRPCDispatcher, "handle_error", handle_error))

    def setUp(self):
        super().setUp()
        if os.environ.get(CAPTURED_TEXTS_VARIABLE):
            # a cleanup added after the test's savepoint runs before its rollback
            self.addCleanup(capture_texts, self.env, max_ids(self.env))
