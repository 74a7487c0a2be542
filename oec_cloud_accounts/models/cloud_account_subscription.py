from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..services import AzureError
from ..services.errors import ACCOUNT_CODES, KIND_TRANSIENT
from .cloud_job_mixin import backoff

PROVIDER_STATES = [
    ("Registered", "Registered"),
    ("Registering", "Registering"),
    ("NotRegistered", "Not Registered"),
    ("Unregistered", "Unregistered"),
    ("Unregistering", "Unregistering"),
]
NAMESPACE_FIELDS = {
    "Microsoft.Compute": "compute_state",
    "Microsoft.Storage": "storage_state",
    "Microsoft.Network": "network_state",
}


class CloudAccountSubscription(models.Model):
    """An Azure subscription found for a connected account, with the state of
    the resource providers our features need. A registration Azure is still
    doing (Registering, for minutes) is followed by a scheduled action
    (cloud.job.mixin: next_run_at is the next look)."""

    _name = "cloud.account.subscription"
    _inherit = "cloud.job.mixin"
    _description = "Azure Subscription"
    _order = "is_default desc, name, id"
    _check_company_auto = True

    account_id = fields.Many2one(
        "cloud.account", required=True, ondelete="cascade", index=True, check_company=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    name = fields.Char(required=True)
    subscription_id = fields.Char(string="Subscription ID", required=True)
    state = fields.Char(help="The subscription's state in Azure: Enabled, Disabled, Warned, PastDue...")
    is_default = fields.Boolean(
        string="Default", help="The subscription the account's capabilities are computed from."
    )
    compute_state = fields.Selection(PROVIDER_STATES, string="Microsoft.Compute")
    storage_state = fields.Selection(PROVIDER_STATES, string="Microsoft.Storage")
    network_state = fields.Selection(PROVIDER_STATES, string="Microsoft.Network")
    can_compute = fields.Boolean(string="Compute")
    can_storage = fields.Boolean(string="Storage")
    can_dns = fields.Boolean(
        string="DNS", help="Microsoft.Network registered with its dnszones resource type."
    )
    # cloud.job.mixin: last_error, last_error_code, and the next look at a registration
    next_run_at = fields.Datetime(
        string="Next Registration Check",
        help="When Odoo next asks Azure how the registration of a resource provider goes.",
    )
    retry_count = fields.Integer(
        help="Looks in a row that found a registration still going, or failed for a passing reason: "
        "each next one waits longer (1, 2, 4 minutes... an hour)."
    )

    _sql_constraints = (
        (
            "subscription_unique",
            "unique(account_id, subscription_id)",
            "A subscription appears once per account.",
        ),
    )

    # Lines are written by the code that reads them from Azure; users act on
    # them through these methods, allowed to whoever may change the account.

    def action_set_default(self):
        self.ensure_one()
        self.account_id._check_can_change()
        self.account_id._check_usable()
        line = self.sudo()
        line.account_id.subscription_ids.write({"is_default": False})
        line.is_default = True

    def action_register_provider(self):
        """Register the resource provider named in the context on this subscription."""
        self.ensure_one()
        # before the remote call: a read-only user must not register anything in Azure
        self.account_id._check_can_change()
        # before any remote call too: without tokens Azure is never asked
        self.account_id._check_usable()
        namespace = self.env.context.get("namespace")
        if namespace not in NAMESPACE_FIELDS:
            raise UserError(_("Unknown resource provider %s.", namespace))
        line = self.sudo()
        account = line.account_id
        was_registering = line._registering()
        try:
            arm = account._arm()
            provider = arm.register_provider(line.subscription_id, namespace)
        except AzureError as error:
            # The UserError rolls the transaction back: nothing else to record.
            raise UserError(
                _(
                    "Azure did not register %(ns)s: %(error)s",
                    ns=namespace,
                    error=account._azure_error_message(error, reference=True),
                )
            ) from error
        line[NAMESPACE_FIELDS[namespace]] = provider["state"]
        account._message_log(
            body=_(
                "Registration of %(ns)s requested on subscription %(sub)s (state: %(state)s).",
                ns=namespace,
                sub=line.name,
                state=provider["state"],
            )
        )
        line._follow_registrations(was_registering)
        if provider["state"] != "Registering":
            return account._notify(
                "info",
                _(
                    "Azure answers that %(ns)s is %(state)s: use the refresh icon to update the "
                    "capabilities.",
                    ns=namespace,
                    state=provider["state"],
                ),
            )
        return account._notify(
            "info",
            _(
                "Azure is registering %s: this takes a few minutes. Odoo follows its progress and notes "
                "in the account's chatter when it is done.",
                namespace,
            ),
        )

    # -- provider states -----------------------------------------------------------------------------

    def _registering(self):
        """The namespaces Azure is registering on this subscription."""
        self.ensure_one()
        return [ns for ns, field in NAMESPACE_FIELDS.items() if self[field] == "Registering"]

    @api.model
    def _provider_values(self, found):
        """The fields of what ``ArmClient.capabilities()`` found."""
        providers = found.get("providers", {})
        caps = found.get("capabilities", {})
        values = {field: providers.get(ns) for ns, field in NAMESPACE_FIELDS.items()}
        values.update(
            can_compute=caps.get("compute", False),
            can_storage=caps.get("storage", False),
            can_dns=caps.get("dns", False),
        )
        return values

    def _follow_registrations(self, was_registering, looked=False):
        """After new provider states (sudo, rights checked by the caller): each registration of
        ``was_registering`` seen ending is told in the account's chatter; one still going gets its
        next look scheduled (``looked``: the scheduled action just looked, the next look waits
        longer, see backoff()), and the look stops when none is."""
        self.ensure_one()
        labels = dict(self._fields["compute_state"]._description_selection(self.env))
        for namespace in was_registering:
            state = self[NAMESPACE_FIELDS[namespace]]
            if state == "Registering":
                continue
            if state == "Registered":
                body = _(
                    "Azure registered %(ns)s on subscription %(sub)s: the capabilities are up to date.",
                    ns=namespace,
                    sub=self.name,
                )
            else:
                body = _(
                    "Azure did not register %(ns)s on subscription %(sub)s: its state is now %(state)s. "
                    "Register it again, or see the subscription's Resource providers in the Azure portal.",
                    ns=namespace,
                    sub=self.name,
                    state=labels.get(state, state or "?"),
                )
            self.account_id._message_log(body=body)
        if not self._registering():
            if self.next_run_at or self.retry_count or self.last_error:
                self.write(
                    {"next_run_at": False, "retry_count": 0, "last_error": False, "last_error_code": False}
                )
            return
        if looked:
            delay, retries = backoff(self.retry_count), self.retry_count + 1
        elif self.next_run_at:
            return  # already followed
        else:
            delay, retries = backoff(0), 0
        self.write({"next_run_at": fields.Datetime.now() + timedelta(seconds=delay), "retry_count": retries})
        self._trigger_registration_checks()

    # -- scheduled action ----------------------------------------------------------------------------

    @api.model
    def _cron_check_registrations(self, batch_size=20):
        """Look again at the registrations Azure is doing, one subscription per transaction
        (cloud.job.mixin): a failure of one is recorded on it and the others go on. The
        subscriptions of an account that is not active wait for it."""
        count = self._job_run_due(
            self._name,
            SQL(
                "next_run_at IS NOT NULL AND next_run_at <= %s AND account_id IN ("
                "SELECT id FROM cloud_account WHERE active AND state = 'active'"
                " AND refresh_token_enc IS NOT NULL)",
                fields.Datetime.now(),
            ),
            SQL("next_run_at, id"),
            "registration check",
            lambda line: line._check_registrations(),
            batch_size,
        )
        self._trigger_registration_checks()
        return count

    def _check_registrations(self):
        """One look at the providers of this subscription."""
        self.ensure_one()
        was_registering = self._registering()
        found = self.account_id._arm().capabilities(self.subscription_id)
        self.write(self._provider_values(found))
        self._follow_registrations(was_registering, looked=True)

    def _job_record_failure(self, error, what):
        """Transient: look again later, with backoff. The account's sign-in refused (revoked,
        expired: not a role missing on this subscription, which is this line's own refusal):
        the account says so (Expired) and this look waits for it, as other records' steps do
        (cloud.job.mixin._job_on_hold); else the account would stay Active with a sign-in Azure
        refuses. Else stop looking, and say why on the account (the refresh icon looks again,
        and a registration still going is followed again)."""
        error = self._job_azure_error(error)
        account = self.account_id
        if error.code not in ACCOUNT_CODES and account._record_account_failure(error):
            self._job_on_hold(account, error)
            return
        message = account._azure_error_message(error, reference=True)
        if error.kind == KIND_TRANSIENT:
            self._job_retry_later(error, message)
            return
        self.write(
            {
                "next_run_at": False,
                "retry_count": 0,
                "last_error": message,
                "last_error_code": error.aadsts or error.code,
            }
        )
        account._message_log(
            body=_(
                "Odoo stopped following the registration of %(ns)s on subscription %(sub)s: %(error)s",
                ns=", ".join(self._registering()),
                sub=self.name,
                error=message,
            )
        )

    @api.model
    def _trigger_registration_checks(self):
        """Wake the scheduled action when the next look is due."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT min(next_run_at) FROM cloud_account_subscription WHERE next_run_at IS NOT NULL"
        )
        when = self.env.cr.fetchone()[0]
        cron = self.env.ref("oec_cloud_accounts.ir_cron_check_registrations", raise_if_not_found=False)
        if when and cron:
            cron._trigger(at=max(when, fields.Datetime.now()))
