from odoo import models


class CloudSecretMixin(models.AbstractModel):
    """The cloud models' name for oec_auth_azure's encrypted secret columns
    (``oec.secret.mixin``): ``_secret_columns``, ``_set_secret()``,
    ``_get_secret()``, ``_clear_secrets()``, ``_ids_with_secret()``."""

    _name = "cloud.secret.mixin"
    _inherit = "oec.secret.mixin"
    _description = "Encrypted secret columns"
