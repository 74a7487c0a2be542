import logging
from contextlib import contextmanager

from odoo import _, api, models
from odoo.exceptions import UserError

from ..services import AzureError
from .azure_messages import DIALOG, MESSAGES

_logger = logging.getLogger(__name__)


class CloudAccount(models.Model):
    # a concern file of cloud.account, named in ARCHITECTURE.md: the boundary
    # where services' AzureError becomes what people read
    _inherit = "cloud.account"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _azure_error_message(self, error, reference=False, dialog=False):
        """An AzureError's message in the language of ``self.env``, with its values.

        services/ raises a key and values, never words: the message of the key
        (``azure_messages.MESSAGES``) is translated first and filled in after.
        An error whose key is an English text (``services/hosts.py``) is
        translated as that text. ``reference``: append the AADSTS number or
        code. ``dialog``: for an error dialog, which ends a person's action: a transient
        failure says to try again (nothing retries it), not that Odoo will.
        """
        params = error.params
        key = DIALOG.get(error.key, error.key) if dialog else error.key
        message = self._azure_error_template(key)
        if params:
            try:
                message = message % params
            except (TypeError, ValueError, KeyError):
                _logger.exception("Bad translation %r of the Azure message %r", message, error.key)
                message = self.with_context(lang="en_US")._azure_error_template(key) % params
        if reference and error.reference:
            message = "%s (%s)" % (message, error.reference)
        return message

    @api.model
    def _azure_error_template(self, key):
        """The message of ``key`` in the language of ``self.env``, values not filled in."""
        template = MESSAGES.get(key)
        if template is None:
            # the source is a variable on purpose: an English text marked with _lt where written
            return _(key)
        # Odoo's lazy translation reads the language from this frame's self.env
        return str(template)

    def _record_account_failure(self, error):
        """Whether ``error``, raised by work on a record that uses this account (a
        server's step, a storage location's creation or access test, a backup, an A
        record), is the account's own failure (``AzureError.of_account``: a dead or
        refused sign-in, consent, a missing role). If so it is recorded as the
        account's state, as a failed token refresh is (Expired or Error, the reason,
        its chatter and activity: ``_record_failure``), and the caller keeps its own
        record's state: the work waits for the account to be active again.

        An account already Expired or Disconnected keeps the reason it has (without
        tokens, nothing new was learned). Callers checked the user's rights or are
        a scheduled action."""
        if not (self and isinstance(error, AzureError) and error.of_account):
            return False
        self.ensure_one()
        account = self.sudo()
        if account.state in ("active", "error"):
            with self.env.cr.savepoint():
                account._record_failure(error)
        return True

    @contextmanager
    def _azure_errors(self, reference=True):
        """The boundary of a user action that calls Azure: an AzureError inside
        the block reaches the user as a UserError saying what to do (the
        transaction is rolled back, so nothing is recorded). A caller that
        records the failure instead (a state, the chatter) catches AzureError
        itself and words it with ``_azure_error_message``."""
        try:
            yield
        except AzureError as error:
            raise UserError(self._azure_error_message(error, reference=reference, dialog=True)) from error
