"""What every scheduled action of the addon does with the records it drives.

One shape for all of them (token refresh, server steps, storage creation,
backup runs, verifications and restores, retention, server schedules, prices):

* ``_job_run_due()`` picks the due rows of a model one at a time with
  ``FOR UPDATE SKIP LOCKED`` (several cron workers, several Odoo servers, share
  them without waiting on each other or taking one twice), up to a count and
  while time is left, and commits after each: the row's lock ends and its result
  is kept whatever happens to the next one.
* ``_job_isolated()`` runs one record's step: every exception is caught, undone
  (to a savepoint, or to the last commit for steps that commit their own start),
  logged once with the record's id, and handed to the record's
  ``_job_record_failure()``, the hook each model overrides; except a failure of
  the account's own sign-in or rights (``AzureError.of_account``), which becomes
  the account's state while the record keeps its own and waits
  (``_job_wait_for_account()``, ``_job_on_hold()``, ``_job_account_active()``).
* ``backoff()`` is the one delay between two tries after a transient failure;
  ``_job_retry_later()`` writes it with the fields below.
"""

import logging
import threading
import time
from datetime import timedelta

from psycopg2 import errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, config

from ..services import AzureError
from ..services.errors import KIND_TRANSIENT

_logger = logging.getLogger(__name__)

BACKOFF_BASE = 60  # seconds, doubled at each transient failure in a row
BACKOFF_MAX = 3600
RETRY_AFTER_MAX = 4 * 3600  # seconds: the longest Retry-After followed
# the deadline of long work: Odoo's time limit minus a quarter (at least MIN_MARGIN)
MARGIN_RATIO = 0.25
MIN_MARGIN = 10  # seconds
MAX_BUDGET = 6 * 3600  # seconds: no limit set still gets a bound
# the key of an AzureError (its message is in azure_messages.py)
UNEXPECTED = "job.unexpected"
# selections of a due row tried again after a serialization failure (each in a new snapshot)
PICK_ATTEMPTS = 100


def backoff(retries, retry_after=0):
    """Seconds to wait after the transient failure number ``retries + 1`` in a row:
    60 s, 120 s, 240 s... up to an hour, and never less than Azure's Retry-After (itself
    taken up to RETRY_AFTER_MAX: a record is never parked for days by one answer)."""
    return max(min(BACKOFF_BASE * 2**retries, BACKOFF_MAX), min(retry_after or 0, RETRY_AFTER_MAX))


def time_limit(cron=True):
    """The seconds Odoo lets a scheduled action (``cron``) or an HTTP request run before
    it stops it, or None for no limit, by the rules of odoo/service/server.py (17.0):

    * threaded server (no --workers): process_limit() stops a cron thread after
      limit_time_real_cron when it is > 0, else after limit_time_real (0: no limit);
    * --workers: a cron worker after limit_time_real_cron (-1: limit_time_real, 0: no
      limit), an HTTP worker after limit_time_real; both also after limit_time_cpu
      seconds of CPU (RLIMIT_CPU), which wall time bounds from above.
    """
    real = config.get("limit_time_real") or 0
    limits = []
    if config.get("workers"):
        if cron:
            cron_limit = config.get("limit_time_real_cron")
            limits.append(real if cron_limit == -1 else (cron_limit or 0))
        else:
            limits.append(real)
        limits.append(config.get("limit_time_cpu") or 0)
    else:
        cron_limit = config.get("limit_time_real_cron") or 0
        limits.append(cron_limit if cron and cron_limit > 0 else real)
    limits = [limit for limit in limits if limit > 0]
    return min(limits) if limits else None


def time_budget(cron=True):
    """The seconds long work may take in one scheduled action (or request): the limit
    minus a margin (a quarter, at least MIN_MARGIN), at most MAX_BUDGET."""
    limit = time_limit(cron)
    if limit is None:
        return MAX_BUDGET
    return min(MAX_BUDGET, max(limit - max(MIN_MARGIN, limit * MARGIN_RATIO), 1))


def job_deadline(cron=True):
    """When the current scheduled action (or request) must give its thread back:
    counted from when Odoo started timing the thread (a cron thread's start_time
    covers the jobs run before ours in the same pass), else from now."""
    started = getattr(threading.current_thread(), "start_time", None) or time.time()
    return started + time_budget(cron)


class CloudJobMixin(models.AbstractModel):
    """A record a scheduled action drives: when it is next due, how many
    transient failures in a row it had, and the last one."""

    _name = "cloud.job.mixin"
    _description = "Scheduled Work on a Record"

    next_run_at = fields.Datetime(
        string="Next Attempt",
        readonly=True,
        index=True,
        copy=False,
        help="When the scheduled action next works on this record (later after a transient failure).",
    )
    retry_count = fields.Integer(
        string="Retries", readonly=True, copy=False, help="Transient failures in a row (timeouts, 429, 5xx)."
    )
    last_error = fields.Text(readonly=True, copy=False)
    last_error_code = fields.Char(readonly=True, copy=False)

    # -- picking and running -------------------------------------------------------------------------

    @api.model
    def _job_run_due(self, model, condition, order, what, step, limit, until=None, savepoint=True):
        """Up to ``limit`` rows of ``model`` matching ``condition``, taken in
        ``order`` (both SQL), one at a time, each locked with FOR UPDATE SKIP
        LOCKED, ``step(record)`` run on it by ``_job_isolated()``, then committed.
        ``until``: a time.time() after which no row is taken. Returns how many
        were taken."""
        records = self.env[model]
        done = []
        while len(done) < limit and (until is None or time.time() < until):
            row = self._job_take_one(records._table, condition, done, order)
            if not row:
                break
            done.append(row[0])
            record = records.browse(row[0])
            self._job_isolated(record, what, lambda record=record: step(record), savepoint=savepoint)
            # the row's lock ends here and its result is kept, whatever the next one does
            self.env.cr.commit()  # pylint: disable=invalid-commit
        return len(done)

    @api.model
    def _job_take_one(self, table, condition, done, order):
        """The next due row of ``table``, locked, or None. A row another transaction changed
        after this one's snapshot (Odoo's isolation is REPEATABLE READ: a web request refreshing
        an account's tokens while the scheduled action looks for due accounts) cannot be locked
        in this snapshot: PostgreSQL refuses with a serialization failure. What came before is
        committed and the selection runs again in a new snapshot, which sees that change."""
        cr = self.env.cr
        for attempt in range(PICK_ATTEMPTS):
            # the selection is SQL: pending ORM writes must reach the table first
            self.env.flush_all()
            try:
                with cr.savepoint(flush=False):
                    cr.execute(
                        SQL(
                            "SELECT id FROM %s WHERE %s AND NOT (id = ANY(%s))"
                            " ORDER BY %s LIMIT 1 FOR UPDATE SKIP LOCKED",
                            SQL.identifier(table),
                            condition,
                            done,
                            order,
                        ),
                        # handled below, not an error to log
                        log_exceptions=False,
                    )
                    return cr.fetchone()
            except (errors.SerializationFailure, errors.DeadlockDetected):
                if attempt == PICK_ATTEMPTS - 1:
                    _logger.info("%s: rows busy elsewhere, the next pass goes on", table)
                    return None
                _logger.info("%s: a due row changed meanwhile, selecting again in a new snapshot", table)
                cr.commit()  # pylint: disable=invalid-commit
        return None

    @api.model
    def _job_isolated(self, record, what, step, savepoint=True):
        """``step()`` for one record; its result, or False when it failed. Never
        raises: any exception is undone, logged once with the record's id and
        handed to ``record._job_record_failure(error, what)``.

        ``savepoint``: undo to a savepoint taken here (the row lock of
        _job_run_due stays); False for a step that commits its own start (a
        backup run), undone to that commit."""
        started = time.monotonic()
        cr = self.env.cr
        try:
            if not savepoint:
                return step()
            with cr.savepoint():
                return step()
        except Exception as error:  # pylint: disable=broad-except
            failure = error
            if not savepoint:
                cr.rollback()
            label = "%s %s" % (record._name, record.id) if record else record._name
            if isinstance(error, AzureError):
                # Azure's answer, in the words people read (English in the server's log)
                text = self.env["cloud.account"].with_context(lang="en_US")._azure_error_message(error, True)
                _logger.info("%s: %s failed: %s", label, what, text)
            elif isinstance(error, UserError):
                # a refusal that says what to do (e.g. the previous run still going)
                _logger.info("%s: %s failed: %s", label, what, error)
            else:
                # a defect, an answer nobody foresaw, a deadline: this record only
                _logger.warning("%s: %s failed", label, what, exc_info=True)
        finally:
            _logger.debug("%s %s: %s in %.2fs", record._name, record.ids, what, time.monotonic() - started)
        record.invalidate_recordset()
        try:
            with cr.savepoint():
                if not self._job_wait_for_account(record, failure):
                    record._job_record_failure(failure, what)
        except Exception:  # pylint: disable=broad-except
            _logger.warning("%s %s: failure not recorded", record._name, record.ids, exc_info=True)
        return False

    # -- failures ------------------------------------------------------------------------------------

    @api.model
    def _job_wait_for_account(self, record, error):
        """The one place where a step that failed on its account's sign-in or rights
        (a dead or refused token, a missing role: ``AzureError.of_account``) becomes
        the account's state (Expired or Error, with its reason, chatter and activity),
        never the record's: the record keeps its state, says why it waits
        (``_job_on_hold()``) and goes on once the account is active again. True when
        so; False for any other failure (the record's ``_job_record_failure()``).

        Records whose steps use an account define ``_job_account()`` and
        ``_job_on_hold()``; the scheduled actions take only the rows of active
        accounts (``_job_account_active()``), and an account back to Active wakes them
        (``cloud.account._wake_dependents()``)."""
        job_account = getattr(record, "_job_account", None)
        account = job_account() if job_account else None
        if not account or not account._record_account_failure(error):
            return False
        record._job_on_hold(account, error)
        return True

    @api.model
    def _job_account_active(self, through_storage=False):
        """SQL: the row's account is Active (the row's ``account_id``, or with
        ``through_storage`` its ``storage_id``'s). The scheduled actions take only
        such rows: nothing reaches Azure with an account that lost its sign-in."""
        # not archived, and Active: an Expired or Disconnected one needs Reconnect, one in Error
        # waits for its next successful check
        active = SQL("SELECT id FROM cloud_account WHERE active AND state = 'active'")
        if through_storage:
            return SQL("storage_id IN (SELECT id FROM cloud_storage WHERE account_id IN (%s))", active)
        return SQL("account_id IN (%s)", active)

    @api.model
    def _job_hold_note(self, account, error):
        """What a record waiting for ``account`` says (``error``: why the account fails)."""
        return _(
            "On hold until the account %(account)s works again: %(error)s",
            account=account.display_name,
            error=account._azure_error_message(error, reference=True),
        )

    def _job_account(self):
        """The cloud.account whose sign-in this record's steps use (none by default)."""
        return self.env["cloud.account"]

    def _job_on_hold(self, account, error):
        """This record's step waits for ``account`` (which failed with ``error`` and now
        says so): its state stays, its last error says why (in the chatter too, once),
        and it is due again at once when the account is active."""
        self.ensure_one()
        note = self._job_hold_note(account, error)
        if self.last_error != note and hasattr(self, "_message_log"):
            self._message_log(body=note)
        self.write(
            {
                "last_error": note,
                "last_error_code": error.aadsts or error.code,
                "retry_count": 0,
                "next_run_at": fields.Datetime.now(),
            }
        )

    @api.model
    def _job_azure_error(self, error):
        """``error`` as an AzureError: a failure nobody foresaw is a transient one, retried."""
        if isinstance(error, AzureError):
            return error
        args = {"error": type(error).__name__}
        return AzureError(UNEXPECTED, code="unexpected_error", kind=KIND_TRANSIENT, params=args)

    def _job_record_failure(self, error, what):
        """Record a failure of ``what`` on this record (``error``: the exception
        the step raised). Models override it; by default the record is retried
        later with backoff."""
        error = self._job_azure_error(error)
        self._job_retry_later(error, self.env["cloud.account"]._azure_error_message(error, reference=True))

    def _job_retry_later(self, error, message):
        """A transient failure: keep ``message``, count it, and push the next try back."""
        self.ensure_one()
        self.write(
            {
                "last_error": message,
                "last_error_code": error.aadsts or error.code,
                "retry_count": self.retry_count + 1,
                "next_run_at": fields.Datetime.now()
                + timedelta(seconds=backoff(self.retry_count, error.retry_after)),
            }
        )
