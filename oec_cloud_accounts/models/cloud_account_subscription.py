from odoo import _, fields, models
from odoo.exceptions import UserError

from ..services import AzureError

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
    the resource providers our features need."""

    _name = "cloud.account.subscription"
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
        return account._notify(
            "info",
            _(
                "Azure is registering %s: this takes a few minutes. Use the refresh icon to "
                "update the capabilities.",
                namespace,
            ),
        )
