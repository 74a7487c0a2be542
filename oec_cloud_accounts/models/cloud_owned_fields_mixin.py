from odoo import _, api, models
from odoo.exceptions import AccessError


class CloudOwnedFieldsMixin(models.AbstractModel):
    """Fields only the code that owns them writes: states, what was read from
    Azure, operation bookkeeping. Read-only in a view protects nothing (RPC can
    write any field of a record its caller may write), so create() and write()
    refuse them unless in sudo mode, which only the owning code uses after the
    caller's rights were checked (see ARCHITECTURE.md, "Security model").

    Models name their fields with ``_code_owned_fields`` (these are refused) or
    ``_user_fields`` (only these are allowed), and may say what to do instead
    with ``_owned_fields_hint``.
    """

    _name = "cloud.owned.fields.mixin"
    _description = "Fields Owned by Code"

    _code_owned_fields = frozenset()
    _user_fields = None

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_owned_fields(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_owned_fields(vals)
        return super().write(vals)

    def _check_can_change(self):
        """The caller may change these records (group and company rule): the
        first thing any method that reaches Azure or a secret does. Then, the
        one place every action on what depends on a cloud account passes: a
        record of an account that needs Reconnect (archived, Expired,
        Disconnected) is refused here, before anything is queued or sent."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        self._acting_accounts()._check_connected()

    def _acting_accounts(self):
        """The cloud accounts these records act in Azure through: each model
        that depends on one names it (a cloud account: none, its own actions
        are Reconnect, Disconnect and those that say why it cannot act)."""
        return self.env["cloud.account"]

    def _check_owned_fields(self, vals):
        if self.env.su:
            return
        if self._user_fields is not None:
            owned = set(vals) - self._user_fields
        else:
            owned = self._code_owned_fields.intersection(vals)
        if owned:
            raise AccessError(
                _(
                    "These fields of %(model)s are set by Odoo from Azure and cannot be written: %(fields)s. "
                    "%(hint)s",
                    model=self._description,
                    fields=", ".join(sorted(owned)),
                    hint=self._owned_fields_hint(),
                )
            )

    def _owned_fields_hint(self):
        return ""
