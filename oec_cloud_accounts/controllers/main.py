import logging
import time

from odoo import _, http
from odoo.exceptions import AccessError, UserError
from odoo.http import request
from odoo.tools import consteq

from ..models.cloud_azure_environment import CALLBACK_PATH, FLOW_TTL, SESSION_KEY
from ..models.ir_http import NOTICE_KEY
from ..services import AzureError
from ..services.errors import KIND_CONSENT
from ..services.identity import admin_consent_answer

_logger = logging.getLogger(__name__)

# What the result page shows of a message or code that may come from the
# browser (error_description is whatever the redirect carried).
MAX_MESSAGE = 600
MAX_CODE = 80
# AADSTS answers after which only a tenant administrator can go on: "Need admin
# approval" (left by cancelling: 65004) or admin consent required (90094, 90095).
# The page offers the admin consent link and says who must act.
ADMIN_APPROVAL_AADSTS = {"65004", "90094", "90095"}


class CloudAccountsOAuth(http.Controller):
    """Authorization-code flow with PKCE for connecting an Azure account.

    The sign-in is prepared by the buttons (cloud.azure.environment
    ``_start_connect``): random state, signed with the database secret, bound
    to the session id and user; the MSAL flow (PKCE verifier, nonce) stays in
    the server-side session, never in the browser. Here the answer is checked
    and consumed (single use).
    """

    @http.route("/cloud_accounts/azure/connect", type="http", auth="user", methods=["POST"])
    def connect(self, environment_id=None, account_id=None, **kwargs):
        """The "Try again" / "Add Account" buttons of the result page: a form
        with Odoo's CSRF token, so that no other site can start sign-ins in
        the user's browser (and push out the one under way)."""
        env = request.env
        try:
            if account_id is not None:
                account = env["cloud.account"].browse(_to_id(account_id))
                if not account.id:
                    raise UserError(_("This cloud account no longer exists."))
                action = account.action_reconnect()
            else:
                values = {}
                if environment_id is not None:
                    environment = env["cloud.azure.environment"].browse(_to_id(environment_id)).exists()
                    if not environment:
                        raise UserError(_("Choose an Azure cloud in Settings > Cloud Accounts."))
                    values["environment_id"] = environment.id
                # without a cloud: the one of the settings, as Add Account does
                action = env["cloud.account.connect"].create(values).action_connect_azure()
        except (UserError, AccessError) as error:
            return self._error_page(error)
        return request.redirect(action["url"], local=False)

    @http.route(CALLBACK_PATH, type="http", auth="user", methods=["GET", "POST"])
    def callback(self, **params):
        # Microsoft's answer is a POST of our own fragment page; the CSRF
        # check of type="http" routes has already refused any other POST.
        if request.httprequest.method != "POST":
            # adminconsent always answers in the query, with no code in it
            consent = admin_consent_answer(params)
            if consent is not None:
                return self._admin_consent_page(*consent)
            # a code in a query string is never redeemed: the page reads the fragment
            return self._fragment_page()
        # junk in, clear answer out: a file upload or a list is no parameter of ours
        params = {key: value for key, value in params.items() if isinstance(value, str)}
        pending = dict(request.session.get(SESSION_KEY) or {})
        nonce, _dot, signature = (params.get("state") or "").partition(".")
        entry = pending.pop(nonce, None) if nonce else None
        # single use: gone from the session whatever happens next
        request.session[SESSION_KEY] = pending
        environments = request.env["cloud.azure.environment"]
        if entry is None or not consteq(signature, environments._connect_signature(nonce)):
            _logger.warning("Cloud Accounts OAuth callback with an unknown or forged state")
            return self._error_page(
                AzureError(
                    "connect.invalid_state",
                    code="invalid_state",
                )
            )
        environment_id, account_id = entry["environment_id"], entry["account_id"]
        if entry["started"] < time.time() - FLOW_TTL:
            return self._error_page(
                AzureError("connect.flow_expired", code="flow_expired"),
                environment_id=environment_id,
                account_id=account_id,
            )
        env = request.env
        result = None
        try:
            env["cloud.account"]._check_can_connect()
            environment = environments.browse(environment_id).exists()
            if not environment:
                raise UserError(_("The Azure cloud of this sign-in was deleted meanwhile."))
            account = env["cloud.account"].browse(account_id or []).exists()
            if account_id and not account:
                raise UserError(_("The account being reconnected was deleted meanwhile."))
            identity = environment._identity()
            result = identity.redeem(entry["flow"], params, environment._delegated_scopes())
            # nothing is kept unless everything succeeded: no half-created account
            notices = []
            with env.cr.savepoint():
                account = env["cloud.account"]._connect(environment, result, account or None, notices)
        except (AzureError, UserError, AccessError) as error:
            _logger.info(
                "Cloud Accounts connection failed: %s", str(getattr(error, "code", None) or error)[:MAX_CODE]
            )
            if getattr(error, "code", None) == "user_mismatch" and account:
                # the identity did not change; who tried is worth knowing
                account.sudo()._message_log(
                    body=_(
                        "Reconnect refused: %(user)s signed in, not %(expected)s.",
                        user=result.username,
                        expected=account.ms_username,
                    )
                )
            return self._error_page(
                error,
                environment_id=environment_id,
                account_id=account_id,
                signed_in=result and result.username,
            )
        # shown by the web client page opened below (models/ir_http.py)
        request.session[NOTICE_KEY] = notices[0]
        action = env.ref("oec_cloud_accounts.cloud_account_action")
        return request.redirect(
            "/web#action=%d&model=cloud.account&view_type=kanban&id=%d" % (action.id, account.id)
        )

    # -- helpers ---------------------------------------------------------------------------------

    def _fragment_page(self):
        """Microsoft answers in the URL fragment (response_mode=fragment),
        which only the browser sees: the code never appears in a URL the
        server, a proxy or the browser history records. This page posts it to
        the same URL, same-origin (so Odoo's SameSite=Lax session cookie, to
        which the state is bound, comes with it), with Odoo's CSRF token, and
        clears the address bar. Same as the page of oec_auth_azure's
        /auth_oauth/signin."""
        return request.render(
            "oec_cloud_accounts.connect_fragment_page",
            {"back_url": self._back_url()},
            headers=[("Cache-Control", "no-store")],
        )

    def _admin_consent_page(self, environment_id, error):
        """Back from the admin-consent link: granted, or what happened and who
        must act, with the link again."""
        if error is None:
            return self._page(
                title=_("Admin consent granted"),
                message=_("An administrator approved the application. Click Add Account to connect."),
                retry={},
                ok=True,
            )
        _logger.info("Cloud Accounts admin consent not granted: %s", str(error.reference)[:MAX_CODE])
        environment = request.env["cloud.azure.environment"].browse(environment_id or []).exists()
        return self._page(
            title=_("Admin consent was not granted"),
            message=request.env["cloud.account"]._azure_error_message(error),
            code=error.reference,
            consent_url=environment._admin_consent_url() if environment else None,
        )

    def _error_page(self, error, environment_id=None, account_id=None, signed_in=None):
        env = request.env
        if isinstance(error, AzureError):
            message = env["cloud.account"]._azure_error_message(error)
        elif isinstance(error, UserError):
            message = error.args[0]
        else:
            message = str(error)
        consent_url = None
        environment = env["cloud.azure.environment"].browse(environment_id or []).exists()
        if isinstance(error, AzureError) and environment:
            admin_approval = error.aadsts in ADMIN_APPROVAL_AADSTS
            if admin_approval or error.kind == KIND_CONSENT:
                consent_url = environment._admin_consent_url()
            if admin_approval:
                message = "%s %s" % (
                    message,
                    env["cloud.account"]._azure_error_template("aadsts.admin_approval"),
                )
        retry = None
        if account_id:
            retry = {"account_id": account_id}
        elif environment:
            retry = {"environment_id": environment.id}
        return self._page(
            title=_("The Azure account was not connected"),
            message=message,
            # Microsoft's own code (an AADSTS number, or what ARM answered),
            # never the names our code gives to its own refusals
            code=error.reference
            if isinstance(error, AzureError) and (error.aadsts or error.status)
            else None,
            consent_url=consent_url,
            retry=retry,
            signed_in=signed_in,
        )

    def _page(self, title, message, code=None, consent_url=None, retry=None, ok=False, signed_in=None):
        """``retry``: the fields the page's button posts to start again (an
        empty dict: Add Account with the cloud of the settings; None: no button)."""
        message = str(message or "")
        if len(message) > MAX_MESSAGE:
            message = message[: MAX_MESSAGE - 1] + "…"
        return request.render(
            "oec_cloud_accounts.connect_result_page",
            {
                "title": title,
                "message": message,
                "code": str(code)[:MAX_CODE] if code else None,
                "consent_url": consent_url,
                "retry": retry,
                "ok": ok,
                "signed_in": signed_in,
                "back_url": self._back_url(),
            },
        )

    @staticmethod
    def _back_url():
        action = request.env.ref("oec_cloud_accounts.cloud_account_action", raise_if_not_found=False)
        return "/web#action=%d" % action.id if action else "/web"


def _to_id(value):
    """A record id from a form field; 0 for anything else (junk, a list, a file)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return 0
