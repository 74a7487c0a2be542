import logging
import time
from datetime import datetime, timedelta, timezone

from psycopg2 import errors

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..services import AzureError
from ..services.errors import KIND_ACCESS, KIND_GRANT, KIND_TENANT, KIND_TRANSIENT

_logger = logging.getLogger(__name__)

# renew the access token when it has less than this left
ACCESS_MARGIN = timedelta(minutes=5)
# a storage token is renewed when it has less than this left: a backup run (bounded by Odoo's time
# limits) uses the one it started with, its SDK clients having no way to ask for another
STORAGE_MARGIN = timedelta(minutes=30)
# seconds a token refresh waits for another worker's refresh of the same account
REFRESH_WAIT = 30
# keep refresh tokens alive: Entra ID expires them after 90 days unused
KEEPALIVE = timedelta(days=1)
# accounts in Error (configuration, roles) are retried this often
ERROR_RETRY = timedelta(hours=6)
ACTIVITY_TYPE = "mail.mail_activity_data_todo"
# capabilities are read for at most this many subscriptions per account
MAX_SUBSCRIPTIONS_CHECKED = 10
# the scheduled actions of the work done with an account's sign-in (registrations, servers,
# storage, backups)
DEPENDENT_CRONS = (
    "oec_cloud_accounts.ir_cron_check_registrations",
    "oec_cloud_accounts.ir_cron_cloud_server",
    "oec_cloud_accounts.ir_cron_cloud_storage_creation",
    "oec_cloud_accounts.ir_cron_backups",
)
# the keys of AzureErrors (their messages are in azure_messages.py)
NO_SUBSCRIPTION = "account.no_subscription"
# the tokens were stored by the database this one is a copy of (oec.secret.mixin)
DATABASE_COPY = "account.database_copy"


def _tenant_label(tenant_id, username):
    """A tenant as a person recognises it: the domain of a member's sign-in
    name (a verified domain of the tenant), with the id; guests (#EXT#) and
    unknown names give the id alone."""
    domain = (username or "").rpartition("@")[2] if "@" in (username or "") else ""
    if domain and "#EXT#" not in username:
        return "%s (%s)" % (domain, tenant_id)
    return tenant_id


class CloudAccount(models.Model):
    # a concern file of cloud.account, named in ARCHITECTURE.md
    _inherit = "cloud.account"  # pylint: disable=consider-merging-classes-inherited

    # -- user actions ------------------------------------------------------------------------------

    def action_refresh(self):
        """The refresh icon: renew the tokens and re-read subscriptions and capabilities."""
        # before any remote call: RPC reaches this method for every record its caller can read
        self._check_can_change()
        # an expired or disconnected account has nothing to refresh with: say so, Azure is not called
        self.filtered(lambda account: not account.has_tokens)._check_usable()
        failures = []
        for account in self.sudo():
            error = account._refresh_account()
            if error:
                failures.append(
                    "%s: %s" % (account.name, account._azure_error_message(error, reference=True))
                )
        if failures:
            return self._notify("warning", "\n".join(failures))
        return self._notify("success", _("The account is active; its capabilities are up to date."))

    def action_confirm_disconnect(self):
        """Disconnect's confirmation: what depends on the account and what becomes of it."""
        self._check_can_change()
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Disconnect %s", self.name),
            "res_model": "cloud.account.disconnect",
            "view_mode": "form",
            "target": "new",
            "context": {"default_account_id": self.id},
        }

    def action_disconnect(self):
        """Delete the stored tokens; access stays granted in Azure until revoked there. What depends
        on the account waits (its backup policies pause: cloud.account.write) until Reconnect."""
        self._check_can_change()
        accounts = self.sudo()
        accounts._clear_secrets()
        accounts.write(
            {"state": "disconnected", "access_expires_at": False, "next_run_at": False, "retry_count": 0}
        )
        hint = _(
            "The tokens were deleted from Odoo. To revoke the access in Azure too: Azure portal > "
            "Microsoft Entra ID > Enterprise applications > %s > Properties > Delete (or Users and "
            "groups to remove a single user).",
            self.environment_id[:1].client_id or _("your application"),
        )
        for account in accounts:
            account._message_log(body=hint)
        return self._notify("info", hint, sticky=True)

    # -- tokens ------------------------------------------------------------------------------------

    def _access_token(self, force=False):
        """(access token, expiry timestamp), refreshed when close to expiry."""
        self.ensure_one()
        account = self.sudo()
        if (
            not force
            and account.access_expires_at
            and account.access_expires_at - ACCESS_MARGIN > fields.Datetime.now()
        ):
            token = account._get_secret("access_token_enc")
            if token:
                return token, account.access_expires_at.replace(tzinfo=timezone.utc).timestamp()
        account._refresh_token()
        seen = self.last_refresh_at
        committed = account._refresh_committed(
            lambda locked: locked._fresh_access_token(force, seen), lambda locked: locked._renew_arm_token()
        )
        if committed:
            return committed
        # this transaction made or holds the account's row (the token refresh's scheduled action,
        # which commits right after): the refresh happens in it
        return account._renew_arm_token()

    def _renew_arm_token(self):
        """Refresh for Resource Manager and keep the answer (in this transaction)."""
        environment = self.environment_id
        result = environment._identity().refresh(self._refresh_token(), environment._delegated_scopes())
        self._store_tokens(result)
        return result.access_token, result.expires_at

    def _storage_token(self):
        """(access token, expiry timestamp) for Azure Storage's data plane (blobs read and written
        as the signed-in user, with the roles Azure gives that user: Storage Blob Data
        Contributor). Obtained from the refresh token like the ARM token, in a transaction of its
        own committed at once (the refresh token rotates: see _refresh_committed), and kept
        encrypted until it nears its end."""
        self.ensure_one()
        if self.needs_reconnect:
            raise self._reconnect_error()
        account = self.sudo()
        cached = account._cached_storage_token()
        if cached:
            return cached
        account._refresh_token()
        committed = account._refresh_committed(
            lambda locked: locked._cached_storage_token(), lambda locked: locked._renew_storage_token()
        )
        return committed or account._renew_storage_token()

    def _cached_storage_token(self):
        cached = self._get_secret("storage_token_enc")
        if cached:
            expires_at, _sep, token = cached.partition(" ")
            if token and float(expires_at) - STORAGE_MARGIN.total_seconds() > time.time():
                return token, float(expires_at)
        return None

    def _renew_storage_token(self):
        """Refresh for Azure Storage and keep the answer (in this transaction); the rotated refresh
        token is kept too: the one used may be spent."""
        environment = self.environment_id
        result = environment._identity().refresh(self._refresh_token(), environment._storage_scopes())
        if result.refresh_token:
            self._set_secret("refresh_token_enc", result.refresh_token)
        self._set_secret("storage_token_enc", "%d %s" % (int(result.expires_at), result.access_token))
        return result.access_token, result.expires_at

    def _refresh_token(self):
        """The stored refresh token, or AzureError when there is none usable here."""
        account = self.sudo()
        refresh_token = account._get_secret("refresh_token_enc")
        if not refresh_token:
            if account._secret_from_copy("refresh_token_enc"):
                # a copy of the database never acts with the original's sign-in
                raise AzureError(DATABASE_COPY, code="database_copy", kind=KIND_GRANT)
            raise AzureError("account.no_token", code="no_token", kind=KIND_GRANT)
        return refresh_token

    def _refresh_committed(self, fresh, renew):
        """Renew a token in a transaction of its own, committed before the new access token is
        returned: Entra rotates the refresh token, and the new one must be stored before anything
        uses what came with it (a step that fails afterwards, or a process killed, would otherwise
        undo it). One refresh of an account at a time: its row is locked for it, and whoever
        waited for that lock first reads what the other stored (``fresh(account)``: a token still
        good is used, not renewed again); else ``renew(account)`` refreshes and stores. None: this
        transaction made the row or holds its lock, the caller refreshes in it."""
        self.ensure_one()
        deadline = time.monotonic() + REFRESH_WAIT
        wait = False
        while True:
            with self.env.registry.cursor() as cr:
                try:
                    with cr.savepoint(flush=False):
                        if wait:
                            # another worker renews this account's tokens: wait for its end in
                            # PostgreSQL (no polling), at most until the deadline
                            left = max(int((deadline - time.monotonic()) * 1000), 1)
                            cr.execute(SQL("SET LOCAL lock_timeout = %s", "%dms" % left))
                        cr.execute(
                            SQL(
                                "SELECT id FROM cloud_account WHERE id = %s FOR NO KEY UPDATE %s",
                                self.id,
                                SQL("") if wait else SQL("NOWAIT"),
                            ),
                            # a lock taken elsewhere is an answer here, not an error to log
                            log_exceptions=False,
                        )
                        found = cr.fetchone()
                except errors.SerializationFailure:
                    # the other worker committed while this one waited (this snapshot is older
                    # than its change): take the lock again in a new transaction, and read
                    if time.monotonic() >= deadline:
                        raise self._refresh_busy() from None
                    wait = False
                    continue
                except errors.LockNotAvailable:
                    found = False
                if found is None:
                    # not visible outside this transaction: it made the row
                    return None
                if found:
                    account = self.with_env(self.env(cr=cr)).sudo()
                    current = fresh(account)
                    if current:
                        return current
                    renewed = renew(account)
                    cr.commit()  # pylint: disable=invalid-commit
                    self.invalidate_recordset()
                    return renewed
            if not wait and self._row_locked_here():
                return None
            if time.monotonic() >= deadline:
                raise self._refresh_busy()
            wait = True

    @api.model
    def _refresh_busy(self):
        """Another worker held the account's tokens longer than REFRESH_WAIT."""
        return AzureError(
            "job.unexpected", code="refresh_busy", kind=KIND_TRANSIENT, params={"error": "refresh_busy"}
        )

    def _fresh_access_token(self, force, seen_refresh_at):
        """(access token, expiry) when another transaction renewed the tokens meanwhile."""
        renewed = self.last_refresh_at and (not seen_refresh_at or self.last_refresh_at > seen_refresh_at)
        valid = self.access_expires_at and self.access_expires_at - ACCESS_MARGIN > fields.Datetime.now()
        if valid and (renewed or not force):
            token = self._get_secret("access_token_enc")
            if token:
                return token, self.access_expires_at.replace(tzinfo=timezone.utc).timestamp()
        return None

    def _row_locked_here(self):
        """Whether this transaction holds (or now takes) the account's row lock."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL("SELECT id FROM cloud_account WHERE id = %s FOR NO KEY UPDATE NOWAIT", self.id),
                    log_exceptions=False,
                )
                return bool(self.env.cr.fetchone())
        except (errors.LockNotAvailable, errors.SerializationFailure):
            return False

    def _arm(self, client_class=None):
        """An ARM client with a fresh access token (services.ArmClient, or ``client_class``): every
        remote call through the account gets it here, refused while the account needs Reconnect."""
        if self.needs_reconnect:
            raise self._reconnect_error()
        token, expires_at = self._access_token()
        if client_class:
            return self.environment_id._arm(token, expires_at, client_class)
        return self.environment_id._arm(token, expires_at)

    def _store_tokens(self, result):
        """Keep a token answer: secrets encrypted, the rest as plain fields."""
        self.ensure_one()
        account = self.sudo()
        if result.refresh_token:
            account._set_secret("refresh_token_enc", result.refresh_token)
        account._set_secret("access_token_enc", result.access_token)
        was = account.state
        now = fields.Datetime.now()
        account.write(
            {
                "state": "active",
                "access_expires_at": datetime.fromtimestamp(int(result.expires_at), tz=timezone.utc).replace(
                    tzinfo=None
                ),
                "last_refresh_at": now,
                "next_run_at": now + KEEPALIVE,
                "retry_count": 0,
                "last_error": False,
                "last_error_code": False,
            }
        )
        if was != "active":
            # back in use: the activity asking to fix the account is answered, the work that
            # waited for it goes on
            account.activity_feedback([ACTIVITY_TYPE], feedback=_("The account is active again."))
            account._wake_dependents()

    def _refresh_account(self, discover=True):
        """Renew the tokens, then (``discover``) re-read subscriptions and capabilities.

        The new tokens are kept even when the discovery fails, for any reason
        (the old refresh token may already be spent). A failure is recorded on
        the account and returned (None: success). Callers checked the access rights and pass a
        sudo record.
        """
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                token, expires_at = self._access_token(force=True)
            if discover:
                try:
                    with self.env.cr.savepoint():
                        self._apply_subscriptions(self._discover(self.environment_id, token, expires_at))
                except AzureError:
                    raise
                except Exception as exc:  # pylint: disable=broad-except
                    # a defect or an answer nobody foresaw: recorded like Azure's failures, so that
                    # the new tokens stay (a failing step of a scheduled action is undone whole)
                    _logger.warning("cloud.account %s: discovery failed", self.id, exc_info=True)
                    raise self._job_azure_error(exc) from exc
        except AzureError as error:
            with self.env.cr.savepoint():
                self._record_failure(error)
            return error
        return None

    def _wake_dependents(self):
        """Run at once the scheduled actions whose work waited for this account
        (cloud.job.mixin._job_wait_for_account: they take only active accounts' rows)."""
        for xmlid in DEPENDENT_CRONS:
            cron = self.env.ref(xmlid, raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()

    # -- subscriptions and capabilities ------------------------------------------------------------

    @api.model
    def _discover(self, environment, access_token, expires_at):
        """Subscriptions visible to the token, with provider states; raises
        AzureError when there is none."""
        arm = environment._arm(access_token, expires_at)
        subscriptions = arm.list_subscriptions()
        if not subscriptions:
            raise AzureError(NO_SUBSCRIPTION, code="NoSubscriptionsFound", kind=KIND_ACCESS)
        for sub in subscriptions[:MAX_SUBSCRIPTIONS_CHECKED]:
            sub.update(arm.capabilities(sub["id"]))
        return subscriptions

    def _apply_subscriptions(self, subscriptions):
        """Write what _discover found: the subscription lines and the default one."""
        self.ensure_one()
        lines = {line.subscription_id: line for line in self.subscription_ids}
        previous_default = self.subscription_ids.filtered("is_default").subscription_id
        seen = set()
        Line = self.env["cloud.account.subscription"]
        for sub in subscriptions:
            values = dict(Line._provider_values(sub), name=sub["name"], state=sub["state"])
            line = lines.get(sub["id"])
            was_registering = line._registering() if line else []
            if line:
                line.write(values)
            else:
                values.update(account_id=self.id, subscription_id=sub["id"])
                line = lines[sub["id"]] = Line.create(values)
            # a registration seen ending is told, one still going is followed
            line._follow_registrations(was_registering)
            seen.add(sub["id"])
        for sub_id, line in lines.items():
            if sub_id not in seen:
                line.unlink()
        default_id = previous_default if previous_default in seen else None
        if not default_id:
            enabled = [s["id"] for s in subscriptions if s["state"] == "Enabled"]
            default_id = (enabled or [subscriptions[0]["id"]])[0]
        for sub_id in seen:
            lines[sub_id].is_default = sub_id == default_id

    # -- failures ----------------------------------------------------------------------------------

    def _record_failure(self, error):
        """Turn an AzureError into state, chatter, activity and retry time.

        Private: callers have checked the user's right to change the account
        (or are the cron). Transient failures never change the state: they
        push the next try back. A dead refresh token expires the account (only
        Reconnect helps); any other refusal (the application's configuration,
        a missing role) puts it in Error, retried on a slow schedule. Leaving
        Active gives the responsible user an activity, except in a copy of the
        database (tokens stored by the original): the copy tells nobody of the
        original's people, it shows the account as Expired with the reason.
        """
        self.ensure_one()
        account = self.sudo()
        message = account._azure_error_message(error, reference=True)
        if error.kind == KIND_TRANSIENT:
            account._job_retry_later(error, message)
            return
        values = {"last_error": message, "last_error_code": error.aadsts or error.code}
        now = fields.Datetime.now()
        expired = error.kind == KIND_GRANT
        values.update(
            state="expired" if expired else "error",
            retry_count=0,
            # nothing to retry with once the refresh token is dead
            next_run_at=False if expired else now + ERROR_RETRY,
        )
        was = account.state
        account.write(values)
        if expired:
            account._clear_secrets()
        if was == values["state"]:
            return
        labels = dict(account._fields["state"]._description_selection(account.env))
        account._message_log(body=_("%(status)s: %(error)s", status=labels[values["state"]], error=message))
        if was == "active" and error.key != DATABASE_COPY:
            if expired:
                summary = _("Reconnect the Azure account")
                note = _("Microsoft refused the stored sign-in: %s Click Reconnect on the account.", message)
            else:
                summary = _("Check the Azure account")
                note = _(
                    "Azure refused the account: %s It is retried every few hours, and at once when the "
                    "client secret is changed in Settings.",
                    message,
                )
            account.activity_schedule(
                ACTIVITY_TYPE, summary=summary, note=note, user_id=(account.user_id or account.create_uid).id
            )

    # -- scheduled action --------------------------------------------------------------------------

    @api.model
    def _cron_refresh_tokens(self, batch_size=50):
        """Renew the tokens of due accounts, one short transaction each (cloud.job.mixin).

        Accounts in Error are due again on a slow schedule (ERROR_RETRY). Accounts
        whose tokens this database did not store (a copy of the database) are due at
        once: they are found unreadable and expired without any request to Azure.
        """
        count = self._job_run_due(
            self._name,
            SQL(
                "active AND state IN ('active', 'error') AND refresh_token_enc IS NOT NULL"
                " AND (next_run_at IS NULL OR next_run_at <= %s OR %s)",
                fields.Datetime.now(),
                self._secret_not_here("refresh_token_enc"),
            ),
            SQL("next_run_at NULLS FIRST, id"),
            "token refresh",
            lambda account: account._cron_refresh_step(),
            batch_size,
        )
        if count < batch_size:
            return count
        # more may be due: run again soon rather than hold one worker long
        self.env.ref("oec_cloud_accounts.ir_cron_refresh_tokens")._trigger()
        return count

    def _cron_refresh_step(self):
        """One account: its failures are recorded by _refresh_account (which keeps new tokens
        even when the discovery after them fails); anything else reaches _job_record_failure."""
        # an account in Error gets the whole check, so that its cause is seen gone
        error = self._refresh_account(discover=self.state == "error")
        if error:
            _logger.info("cloud.account %s: token refresh failed: %s", self.id, error.reference)

    def _job_record_failure(self, error, what):
        self._record_failure(self._job_azure_error(error))

    @api.model
    def _notify(self, kind, message, sticky=False):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": kind,
                "message": message,
                "sticky": sticky,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # -- connect (called by the OAuth callback) ----------------------------------------------------

    @api.model
    def _connect(self, environment, result, account=None, notices=None):
        """Create (or, on Reconnect, update) an account from a token answer.

        Add Account for a Microsoft account (tenant and object id) that already
        has a record in this company reconnects into that record instead of
        making a second card. Reconnect signed in as another Microsoft user is
        refused: the account's identity (and what it may do in Azure) never
        changes silently. Everything remote is checked before anything is
        written, so a failure leaves no half-created account. ``notices``: a
        list that gets the {title, message} of the notification naming the
        account (the callback shows it in the web client).
        """
        if account and account.tenant_id and result.tenant_id != account.tenant_id:
            raise AzureError(
                "account.tenant_mismatch",
                code="tenant_mismatch",
                kind=KIND_TENANT,
                params={
                    "expected": _tenant_label(account.tenant_id, account.ms_username),
                    "actual": _tenant_label(result.tenant_id, result.username),
                },
            )
        if account and account.ms_object_id and result.object_id and result.object_id != account.ms_object_id:
            raise AzureError(
                "account.user_mismatch",
                code="user_mismatch",
                kind=KIND_TENANT,
                params={
                    "name": account.name,
                    "expected": account.ms_username or account.ms_object_id,
                    "actual": result.username or result.object_id,
                },
            )
        existing = None
        if not account:
            existing = self._find_connected(environment, result)
            account = existing
        subscriptions = self._discover(environment, result.access_token, result.expires_at)
        values = {
            "ms_username": result.username,
            "ms_display_name": result.display_name,
            "ms_object_id": result.object_id,
            "tenant_id": result.tenant_id,
        }
        # the fields written here belong to this code: written in sudo mode,
        # after the caller's own rights were checked
        if account:
            account.check_access_rights("write")
            account.check_access_rule("write")
            account = account.sudo()
            # an archived account signed in again is in use again
            account.write(dict(values, active=True))
        else:
            self.check_access_rights("create")
            values.update(
                environment_id=environment.id,
                name=self._default_account_name(environment, result),
                company_id=self.env.company.id,
            )
            account = self.sudo().create(values)
        # a new sign-in: a storage token of the previous one is not this user's
        account._set_secret("storage_token_enc", False)
        account._store_tokens(result)
        account._apply_subscriptions(subscriptions)
        # a note (no email address of the user needed); _store_tokens has
        # answered the activity of an account that was not active
        if existing:
            note = _(
                "Add Account signed in as %(user)s, already connected here: reconnected this account "
                "instead of adding a second one (tenant %(tenant)s).",
                user=result.username,
                tenant=result.tenant_id,
            )
            notice = _("%(user)s was already connected: %(name)s is reconnected and active.")
        else:
            note = _(
                "Connected as %(user)s (tenant %(tenant)s).", user=result.username, tenant=result.tenant_id
            )
            notice = _("%(name)s is connected and active (signed in as %(user)s).")
        account._message_log(body=note)
        if notices is not None:
            notices.append(
                {
                    "title": _("Azure account connected"),
                    "message": notice % {"name": account.name, "user": result.username},
                }
            )
        return account.sudo(False)

    @api.model
    def _find_connected(self, environment, result):
        """The account of this company already connected as the same Microsoft
        user (tenant and object id) in the same cloud, an archived one too
        (Add Account brings it back rather than making a second card)."""
        if not (result.tenant_id and result.object_id):
            return None
        found = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("environment_id", "=", environment.id),
                    ("tenant_id", "=", result.tenant_id),
                    ("ms_object_id", "=", result.object_id),
                    ("company_id", "=", self.env.company.id),
                ],
                order="id",
            )
        )
        # the working one if several were made before this check existed, else one not archived
        found = (
            found.filtered(lambda account: account.active and account.state == "active")[:1]
            or found.filtered("active")[:1]
            or found[:1]
        )
        return found.with_env(self.env) or None

    @api.model
    def _default_account_name(self, environment, result):
        """The signed-in user and the tenant's name: tells two accounts apart on the cards."""
        user = result.username or result.display_name or _("Microsoft Azure")
        tenant = result.tenant_id
        try:
            names = environment._arm(result.access_token, result.expires_at).tenant_names()
            tenant = (names.get(result.tenant_id) or tenant or "").split(" (")[0] or tenant
        except AzureError:
            # only a nicer name: the tenant id does
            _logger.info("tenant names unavailable for the name of a new account", exc_info=True)
        return "%s - %s" % (user, tenant) if tenant else user
