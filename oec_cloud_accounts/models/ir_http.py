from odoo import models
from odoo.http import request

# The session key holding the notification of the last connection (see the
# OAuth callback): shown once, by the web client page the callback opens.
NOTICE_KEY = "oec_cloud_accounts.notice"


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        info = super().session_info()
        notice = request.session.pop(NOTICE_KEY, None) if request else None
        if notice:
            info["oec_cloud_notice"] = notice
        return info
