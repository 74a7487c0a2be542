"""Azure failures reach users in their language, through the real stack.

services/ raises keys and values; the Odoo layer's messages of those keys
(models/azure_messages.py) are translated with the module's own fr.po, then
the values are filled in.
"""

import glob
import os
import re
from html import unescape

from azure_emulator import defaults

from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools.misc import file_path
from odoo.tools.translate import TranslationFileReader

from ..models.azure_messages import MESSAGES
from ..models.cloud_account import RECONNECT
from ..models.cloud_account_tokens import DATABASE_COPY, NO_SUBSCRIPTION
from ..models.cloud_job_mixin import UNEXPECTED
from ..models.cloud_server_engine import FOREIGN_GROUP
from ..services import errors
from .common import EmulatorMixin
from .test_connect_http import ConnectHttpMixin

BUSY_FR = "Azure est occupé ou indisponible (HTTP 503) : nouvelle tentative automatique."
REVOKED_FR = (
    "La connexion a été révoquée (mot de passe modifié, MFA réinitialisée ou sessions révoquées) : "
    "cliquez sur Reconnecter et connectez-vous à nouveau."
)


class FrenchMixin:
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # what installing French in Settings does: activate it and load the
        # modules' fr.po (code terms are then read from that file on demand)
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env.ref("base.module_oec_cloud_accounts")._update_translations(["fr_FR"])


@tagged("post_install", "-at_install")
class TestTranslatedErrors(FrenchMixin, EmulatorMixin, TransactionCase):
    def test_arm_failure_with_value_in_french(self):
        account = self.connect().with_context(lang="fr_FR")
        self.emu.control.inject_fault(service="arm", path="/subscriptions", status=503, count=5)
        action = account.action_refresh()
        # the French template, then the status filled in
        self.assertTrue(account.last_error.startswith(BUSY_FR), account.last_error)
        self.assertIn(BUSY_FR, action["params"]["message"])
        self.assertEqual(account.retry_count, 1)
        # the same failure for an English user
        self.emu.control.inject_fault(service="arm", path="/subscriptions", status=503, count=5)
        account.with_context(lang="en_US").action_refresh()
        self.assertTrue(
            account.last_error.startswith("Azure is busy or unavailable (HTTP 503): it will be retried."),
            account.last_error,
        )

    def test_expired_sign_in_in_french(self):
        account = self.connect().with_context(lang="fr_FR")
        self.emu.control.update_user(defaults.USER_OID, password_changed=True)
        account.action_refresh()
        self.assertEqual(account.state, "expired")
        self.assertEqual(account.last_error, REVOKED_FR + " (AADSTS50173)")
        posted = account.message_ids.filtered(lambda message: REVOKED_FR in (message.body or ""))
        self.assertEqual(len(posted), 1)
        self.assertIn("Expiré : " + REVOKED_FR, posted.body)
        self.assertEqual(account.activity_ids.summary, "Reconnecter le compte Azure")
        self.assertIn(
            "Microsoft a refusé la connexion enregistrée : " + REVOKED_FR, str(account.activity_ids.note)
        )

    def test_messages_are_in_the_pot_and_in_french(self):
        with open(file_path("oec_cloud_accounts/i18n/oec_cloud_accounts.pot"), "rb") as pot:
            msgids = {row["src"] for row in TranslationFileReader(pot, fileformat="po")}
        english = self.env["cloud.account"].with_context(lang="en_US")
        french = self.env["cloud.account"].with_context(lang="fr_FR")
        sources = {key: english._azure_error_template(key) for key in MESSAGES}
        self.assertEqual(
            sources["arm.transient"], "Azure is busy or unavailable (HTTP %(status)s): it will be retried."
        )
        missing = [key for key, source in sources.items() if source not in msgids]
        self.assertFalse(missing, "regenerate i18n/oec_cloud_accounts.pot")
        # what fr.po translates is read in French
        with open(file_path("oec_cloud_accounts/i18n/fr.po"), "rb") as po:
            translations = {row["src"]: row["value"] for row in TranslationFileReader(po, fileformat="po")}
        translated = {
            key: translations[source] for key, source in sources.items() if translations.get(source)
        }
        self.assertIn("arm.transient", translated)
        self.assertIn("aadsts.50173", translated)
        self.assertEqual({key: french._azure_error_template(key) for key in translated}, translated)

    def test_every_key_raised_has_a_message(self):
        """services/ and the models raise keys; each one has its message."""
        keys = {"aadsts.%s" % code for code in errors.AADSTS} | {"arm.%s" % code for code in errors.ARM}
        keys |= {key for _kind, key in [*errors.DNS.values(), *errors.STORAGE.values()]}
        keys |= {errors.DNS_RECORD_EXISTS[1], errors.DNS_FOREIGN_RECORD[1]}
        keys |= {NO_SUBSCRIPTION, DATABASE_COPY, FOREIGN_GROUP, UNEXPECTED, RECONNECT}
        written = re.compile(
            r'(?:AzureError\(|BackupStreamError\(|cls\(|_refused\(|kind, key = [A-Z_]+, )\s*"([\w.]+)"'
        )
        for folder in ("services", "models", "controllers"):
            for path in glob.glob(os.path.join(file_path("oec_cloud_accounts/%s" % folder), "*.py")):
                with open(path, encoding="utf-8") as source:
                    keys |= set(written.findall(source.read()))
        self.assertIn("oauth.unexpected_answer", keys)
        self.assertIn("network", keys)
        self.assertIn("server.foreign_group", keys)
        self.assertIn("endpoint.not_the_account", keys)
        self.assertFalse(keys - set(MESSAGES), "add their messages to models/azure_messages.py")


@tagged("post_install", "-at_install")
class TestTranslatedConnectPage(FrenchMixin, ConnectHttpMixin, EmulatorMixin, HttpCase):
    def test_wrong_tenant_page_in_french(self):
        self.authenticate("admin", "admin")
        response = self.connect_http(user=defaults.USER_EMAIL)
        self.assertEqual(response.status_code, 303, response.text[:500])
        account = self.env["cloud.account"].search([], order="id desc", limit=1)
        # the session takes the user's language when it starts
        self.env.ref("base.user_admin").lang = "fr_FR"
        self.authenticate("admin", "admin")
        response = self.connect_http(user=defaults.OTHER_USER_EMAIL, account=account)
        self.assertEqual(response.status_code, 200)
        page = unescape(response.text)
        self.assertIn("Le compte Azure n'a pas été connecté", page)
        self.assertIn(
            "Mauvais locataire : ce compte appartient au locataire %s, mais vous vous êtes connecté "
            "avec un compte du locataire %s."
            % (
                "%s (%s)" % (defaults.TENANT_DOMAIN, defaults.TENANT_ID),
                "%s (%s)" % (defaults.OTHER_TENANT_DOMAIN, defaults.OTHER_TENANT_ID),
            ),
            page,
        )
        # our own name for the refusal is no Microsoft code: not shown
        self.assertNotIn("tenant_mismatch", page)
        self.assertNotIn("Wrong tenant", page)
