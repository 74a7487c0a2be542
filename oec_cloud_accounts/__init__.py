from . import controllers
from . import models
from . import wizards


def uninstall_hook(env):
    """Settings kept as system parameters have no XML id: drop them with the module."""
    env["ir.config_parameter"].search([("key", "=like", "oec_cloud_accounts.%")]).unlink()
