import logging
import secrets
import time

from odoo import _, http
from odoo.exceptions import AccessError, UserError
from odoo.http import request
from odoo.tools import consteq
from odoo.tools.misc import hmac

from ..services import AzureError
from ..services.errors import KIND_CONSENT, _lt

_logger = logging.getLogger(__name__)

SESSION_KEY = "oec_cloud_oauth"
HMAC_SCOPE = "oec_cloud_accounts.oauth_state"
FLOW_TTL = 15 * 60  # seconds a sign-in may take
MAX_PENDING = 5  # sign-ins started and not finished, per session


class CloudAccountsOAuth(http.Controller):
    """Authorization-code flow with PKCE for connecting an Azure account.

    The state is random, signed with the database secret, bound to the
    session id and user, and single use; the MSAL flow (PKCE verifier, nonce)
    stays in the server-side session, never in the browser.
    """

    @http.route("/cloud_accounts/azure/connect", type="http", auth="user", methods=["GET"])
    def connect(self, environment_id=None, account_id=None, **kwargs):
        env = request.env
        account = env["cloud.account"]
        try:
            self._check_manager()
            if account_id:
                account = account.browse(int(account_id)).exists()
                if not account:
                    raise UserError(_("This cloud account no longer exists."))
                account.check_access_rule("write")
                environment = account.environment_id
            else:
                environment = env["cloud.azure.environment"].browse(int(environment_id or 0)).exists()
                if not environment:
                    raise UserError(_("Choose an Azure cloud in Settings > Cloud Accounts."))
            if not environment.client_id:
                raise UserError(_("Set the application's client id in Settings > Cloud Accounts."))
            nonce = secrets.token_urlsafe(24)
            state = "%s.%s" % (nonce, self._sign(nonce))
            flow = environment._identity().start_flow(
                environment._delegated_scopes(),
                environment._redirect_uri(),
                state,
                login_hint=account.ms_username or None,
            )
        except (AzureError, UserError, AccessError, ValueError) as error:
            return self._error_page(error, environment_id=environment_id)
        pending = {
            key: value
            for key, value in (request.session.get(SESSION_KEY) or {}).items()
            if value["started"] > time.time() - FLOW_TTL
        }
        while len(pending) >= MAX_PENDING:
            pending.pop(min(pending, key=lambda key: pending[key]["started"]))
        pending[nonce] = {
            "flow": flow,
            "environment_id": environment.id,
            "account_id": account.id or None,
            "started": time.time(),
        }
        request.session[SESSION_KEY] = pending
        return request.redirect(flow["auth_uri"], local=False)

    @http.route("/cloud_accounts/azure/callback", type="http", auth="user", methods=["GET"])
    def callback(self, **params):
        if params.get("admin_consent"):
            return self._page(
                title=_("Admin consent granted"),
                message=_("An administrator approved the application. Click Add Account again to connect."),
                ok=True,
            )
        pending = dict(request.session.get(SESSION_KEY) or {})
        nonce, _dot, signature = (params.get("state") or "").partition(".")
        entry = pending.pop(nonce, None) if nonce else None
        # single use: gone from the session whatever happens next
        request.session[SESSION_KEY] = pending
        if entry is None or not consteq(signature, self._sign(nonce)):
            _logger.warning("Cloud Accounts OAuth callback with an unknown or forged state")
            return self._error_page(
                AzureError(
                    _lt(
                        "This sign-in answer does not belong to a sign-in started in this browser "
                        "session, or it was already used: click Add Account again."
                    ),
                    code="invalid_state",
                )
            )
        environment_id = entry["environment_id"]
        if entry["started"] < time.time() - FLOW_TTL:
            return self._error_page(
                AzureError(_lt("The sign-in took too long: click Add Account again."), code="flow_expired"),
                environment_id=environment_id,
            )
        env = request.env
        try:
            self._check_manager()
            environment = env["cloud.azure.environment"].browse(environment_id).exists()
            account = env["cloud.account"].browse(entry["account_id"] or []).exists()
            if entry["account_id"] and not account:
                raise UserError(_("The account being reconnected was deleted meanwhile."))
            identity = environment._identity()
            result = identity.redeem(entry["flow"], params, environment._delegated_scopes())
            # nothing is kept unless everything succeeded: no half-created account
            with env.cr.savepoint():
                account = env["cloud.account"]._connect(environment, result, account or None)
        except (AzureError, UserError, AccessError) as error:
            _logger.info("Cloud Accounts connection failed: %s", getattr(error, "code", None) or error)
            return self._error_page(error, environment_id=environment_id)
        action = env.ref("oec_cloud_accounts.cloud_account_action")
        return request.redirect(
            "/web#action=%d&model=cloud.account&view_type=kanban&id=%d" % (action.id, account.id)
        )

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _check_manager():
        if not request.env.user.has_group("oec_cloud_accounts.group_cloud_manager"):
            raise AccessError(_("Only Cloud Managers can connect cloud accounts."))

    @staticmethod
    def _sign(nonce):
        message = "%s|%s|%s" % (nonce, request.session.sid, request.env.uid)
        return hmac(request.env(su=True), HMAC_SCOPE, message)

    def _error_page(self, error, environment_id=None):
        env = request.env
        if isinstance(error, AzureError):
            message = env["cloud.account"]._azure_error_message(error)
        elif isinstance(error, UserError):
            message = error.args[0]
        else:
            message = str(error)
        consent_url = None
        environment = env["cloud.azure.environment"].browse(int(environment_id or 0)).exists()
        if isinstance(error, AzureError) and error.kind == KIND_CONSENT and environment:
            consent_url = environment._identity().admin_consent_url(environment._redirect_uri())
        retry_url = (
            "/cloud_accounts/azure/connect?environment_id=%d" % environment.id if environment else None
        )
        return self._page(
            title=_("The Azure account was not connected"),
            message=message,
            code=getattr(error, "reference", None),  # the AADSTS number, else the code
            consent_url=consent_url,
            retry_url=retry_url,
        )

    @staticmethod
    def _page(title, message, code=None, consent_url=None, retry_url=None, ok=False):
        action = request.env.ref("oec_cloud_accounts.cloud_account_action", raise_if_not_found=False)
        return request.render(
            "oec_cloud_accounts.connect_result_page",
            {
                "title": title,
                "message": message,
                "code": code,
                "consent_url": consent_url,
                "retry_url": retry_url,
                "ok": ok,
                "back_url": "/web#action=%d" % action.id if action else "/web",
            },
        )
