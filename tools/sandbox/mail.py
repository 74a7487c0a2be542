"""Sandbox mail and sign-up settings (run by `make run` through `odoo-bin shell`).

OEC_SANDBOX_INFO carries ``smtp_port`` (tools/mailcatcher.py, on loopback) and
``odoo_url``. Idempotent: the "Local mail catcher (sandbox)" outgoing mail
server is created or updated (its port changes at every start) and put first,
sign-up is "On invitation" (free sign-up would turn anyone who clicks a
sign-in button into a portal user), and web.base.url is the sandbox's URL, so
that invitation and reset links open this Odoo.
"""

import json
import os

info = json.loads(os.environ["OEC_SANDBOX_INFO"])
Server = env["ir.mail_server"].with_context(active_test=False)  # noqa: F821 (env: given by odoo-bin shell)
values = {
    "name": "Local mail catcher (sandbox)",
    "smtp_host": "127.0.0.1",
    "smtp_port": info["smtp_port"],
    "smtp_encryption": "none",
    "smtp_authentication": "login",
    "smtp_user": False,
    "smtp_pass": False,
    "sequence": 0,
    "active": True,
}
server = Server.search([("name", "=", values["name"])], limit=1)
if server:
    server.write(values)
else:
    Server.create(values)
params = env["ir.config_parameter"]  # noqa: F821
params.set_param("auth_signup.invitation_scope", "b2b")  # "On invitation"
params.set_param("auth_signup.reset_password", "True")
params.set_param("web.base.url", info["odoo_url"])
# a from address Odoo accepts without a catchall domain of its own
params.set_param("mail.default.from", "notifications")
params.set_param("mail.catchall.domain", "sandbox.localhost")
env.cr.commit()  # noqa: F821
