# Run by `make test` through `odoo-bin shell` (``env`` is given): uninstall the
# installed addons (both, or the one of OEC_TEST_ADDONS), check that they leave
# nothing behind, then install them again.
# Prints UNINSTALL-OK on success; any failure raises.

ADDONS = ("oec_auth_azure", "oec_cloud_accounts")
Module = env["ir.module.module"]  # noqa: F821 (provided by odoo-bin shell)


def leftovers(cr):
    cr.execute("SELECT module, model, count(*) FROM ir_model_data WHERE module IN %s GROUP BY 1, 2", [ADDONS])
    found = cr.fetchall()
    cr.execute("SELECT model FROM ir_model WHERE model LIKE 'cloud.%%' OR model LIKE 'oec.%%'")
    found += cr.fetchall()
    cr.execute(
        "SELECT key FROM ir_config_parameter "
        "WHERE key LIKE 'oec_cloud_accounts.%%' OR key LIKE 'oec_auth_azure.%%'"
    )
    found += cr.fetchall()
    # core's table stays: the sign-in addon's columns (the encrypted secret) must not
    cr.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'auth_oauth_provider' AND column_name LIKE 'oec\\_%%'"
    )
    return found + cr.fetchall()


# OEC_TEST_ADDONS may have installed only one of them
installed = Module.search([("name", "in", ADDONS), ("state", "=", "installed")])
assert installed, "none of %s is installed" % (ADDONS,)

# what an administrator leaves behind: Settings saved with a cloud chosen
if "oec_cloud_accounts" in installed.mapped("name"):
    settings = env["res.config.settings"].create({})  # noqa: F821
    settings.cloud_environment_id = env.ref("oec_cloud_accounts.cloud_azure_environment_public")  # noqa: F821
    settings.execute()
    assert env["ir.config_parameter"].get_param("oec_cloud_accounts.environment_id")  # noqa: F821
if "oec_auth_azure" in installed.mapped("name"):
    env["ir.config_parameter"].set_param("oec_auth_azure.enforce_signin", "1")  # noqa: F821
env.cr.commit()  # noqa: F821

installed.button_immediate_uninstall()
states = dict(installed.mapped(lambda m: (m.name, m.state)))
assert set(states.values()) == {"uninstalled"}, states
left = leftovers(env.cr)  # noqa: F821
assert not left, f"left behind after uninstall: {left}"

installed.button_immediate_install()
states = dict(installed.mapped(lambda m: (m.name, m.state)))
assert set(states.values()) == {"installed"}, states
print("UNINSTALL-OK")
