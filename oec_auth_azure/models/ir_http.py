# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, models
from odoo.http import request

from ..controllers.main import SIGNOUT_KEY


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _authenticate(cls, endpoint):
        # Single sign-out: a session whose Microsoft session was ended by a
        # front-channel logout ends here, at its next request (one lookup by
        # primary key, for Microsoft sessions only).
        info = request.session.get(SIGNOUT_KEY)
        if info and request.session.uid and isinstance(info.get("log"), int):
            request.env.cr.execute(
                "SELECT 1 FROM oec_azure_signin_log WHERE id = %s AND signed_out_date IS NOT NULL",
                (info["log"],),
            )
            if request.env.cr.fetchone():
                request.session.logout(keep_db=True)
                request.env = api.Environment(request.env.cr, None, request.session.context)
        return super()._authenticate(endpoint)
