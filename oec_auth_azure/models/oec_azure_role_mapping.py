# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..services.urls import GUID_RE


class OecAzureRoleMapping(models.Model):
    _name = "oec.azure.role.mapping"
    _description = "Microsoft Entra ID role or group mapping"
    _order = "provider_id, kind, value"

    provider_id = fields.Many2one(
        "auth.oauth.provider",
        required=True,
        ondelete="cascade",
        index=True,
        domain=[("oec_azure", "=", True)],
    )
    kind = fields.Selection(
        [("role", "App role"), ("group", "Group")],
        required=True,
        default="role",
        help="App role: a value of the app registration's App roles (Azure portal > App "
        "registrations > your app > App roles), assigned to users or groups under Enterprise "
        "applications > your app > Users and groups; it comes in the id_token's roles claim. "
        "Group: a group's Object ID, sent in the groups claim once Token configuration > Add "
        "groups claim is set on the app registration.",
    )
    value = fields.Char(
        string="Role Value or Group Object ID",
        required=True,
        help="The app role's Value (e.g. Odoo.Sales, case-sensitive), or the group's Object ID "
        "(a GUID shown on the group's Overview page in Microsoft Entra ID).",
    )
    group_ids = fields.Many2many(
        "res.groups",
        "oec_azure_role_mapping_group_rel",
        "mapping_id",
        "group_id",
        string="Odoo Groups",
        required=True,
        help="Given at each Microsoft sign-in to users whose token carries the role or group, "
        "taken away from users whose token no longer does. Groups no mapping names are never "
        "changed.",
    )
    note = fields.Char(help="What this role or group stands for, for the next administrator.")
    grants_admin = fields.Boolean(
        string="Makes Administrators",
        compute="_compute_grants_admin",
        help="One of the Odoo groups is, or implies, Administration / Access Rights or "
        "Administration / Settings: the holders of the role or group become Odoo "
        "administrators at sign-in.",
    )
    admin_confirmed = fields.Boolean(
        string="I Understand This Makes Administrators",
        help="Required when the Odoo groups are, or imply, Administration / Access Rights or "
        "Settings: everyone Microsoft gives this role or group becomes an Odoo administrator at "
        "each sign-in and, with Administration / Settings, keeps password sign-in when Microsoft "
        "sign-in is enforced (the default break-glass group).",
    )

    _sql_constraints = (
        (
            "value_unique",
            "unique(provider_id, kind, value)",
            "A role value or group ID is mapped only once per provider: add Odoo groups to its line.",
        ),
    )

    @api.depends("group_ids")
    def _compute_grants_admin(self):
        for mapping in self:
            mapping.grants_admin = bool(mapping._admin_groups())

    @api.constrains("kind", "value", "group_ids")
    def _check_value(self):
        user_types = self.env.ref("base.module_category_user_type")
        for mapping in self:
            value = (mapping.value or "").strip()
            if not value or value != mapping.value:
                raise ValidationError(
                    _("The role value or group ID must not be empty nor start or end with spaces.")
                )
            if mapping.kind == "group" and not GUID_RE.match(value):
                raise ValidationError(
                    _(
                        "A group is named by its Object ID, a GUID such as "
                        "00000000-0000-0000-0000-000000000000 (got %r): the groups claim carries "
                        "IDs, not names.",
                        value,
                    )
                )
            types = mapping.group_ids.filtered(lambda g, t=user_types: g.category_id == t)
            if types:
                raise ValidationError(
                    _(
                        "%(groups)s decide the type of user (internal, portal, public) and cannot "
                        "be mapped: a sign-in would turn an employee into a portal user or back. "
                        "Map the application groups (Sales / User...) instead.",
                        groups=", ".join(types.mapped("full_name")),
                    )
                )

    @api.constrains("group_ids", "admin_confirmed")
    def _check_admin_confirmed(self):
        for mapping in self:
            admin_groups = mapping._admin_groups()
            if admin_groups and not mapping.admin_confirmed:
                raise ValidationError(
                    _(
                        "%(groups)s make administrators: everyone whose Microsoft sign-in carries "
                        '%(value)s would become an Odoo administrator. Tick "I Understand This '
                        'Makes Administrators" on the mapping to confirm, or map groups that do '
                        "not imply Administration.",
                        groups=", ".join(admin_groups.mapped("full_name")),
                        value=mapping.value,
                    )
                )

    @api.onchange("group_ids")
    def _onchange_group_ids_admin(self):
        admin_groups = self._admin_groups()
        if admin_groups and not self.admin_confirmed:
            return {
                "warning": {
                    "title": _("This mapping makes administrators"),
                    "message": _(
                        "%(groups)s give administrator rights: everyone Microsoft gives this role "
                        "or group becomes an Odoo administrator at each sign-in, and keeps password "
                        'sign-in when Microsoft sign-in is enforced. Tick "I Understand This '
                        'Makes Administrators" to save it.',
                        groups=", ".join(admin_groups.mapped("full_name")),
                    ),
                }
            }

    def _admin_groups(self):
        """The mapped groups that are or imply Administration / Access Rights
        or Settings."""
        self.ensure_one()
        admin = self.env.ref("base.group_erp_manager") | self.env.ref("base.group_system")
        # in the form, the groups are new records: compare their origins
        return self.group_ids.filtered(lambda g: (g._origin | g._origin.trans_implied_ids) & admin)
