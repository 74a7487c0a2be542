from odoo import _, api, models
from odoo.exceptions import AccessError


class CloudCompanyReferencesMixin(models.AbstractModel):
    """Refuse values of create()/write() that point at a cloud record the caller
    may not read (another company's), before anything is read or written: the
    referencing record would show its name (many2one names are read as
    superuser) and lend it to the code that acts on it. The message names no
    record."""

    _name = "cloud.company.references.mixin"
    _description = "References to Readable Cloud Records Only"

    @api.model_create_multi
    def create(self, vals_list):
        self._check_readable_references(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._check_readable_references([vals])
        return super().write(vals)

    def _check_readable_references(self, vals_list):
        if self.env.su:
            return
        for vals in vals_list:
            for name, value in vals.items():
                field = self._fields.get(name)
                if not value or field is None or field.type != "many2one":
                    continue
                if not field.comodel_name.startswith("cloud."):
                    continue
                ids = set(value.ids if isinstance(value, models.BaseModel) else [value])
                target = self.env[field.comodel_name]
                target.check_access_rights("read")
                if target.with_context(active_test=False).search_count([("id", "in", list(ids))]) != len(ids):
                    raise AccessError(
                        _(
                            "%(field)s: this %(model)s does not exist or belongs to a company you do not "
                            "work in.",
                            field=field._description_string(self.env),
                            model=target._description,
                        )
                    )
