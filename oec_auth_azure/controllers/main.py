# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib
import json
import logging
import secrets
import time
from urllib.parse import urlencode

import requests
import werkzeug.urls
from jwt.utils import base64url_decode, base64url_encode
from markupsafe import Markup, escape
from werkzeug.exceptions import BadRequest

from odoo import SUPERUSER_ID, Command, _, http, tools
from odoo.exceptions import AccessDenied, UserError
from odoo.http import request
from odoo.tools.misc import hmac as hmac_tool

from odoo.addons.auth_oauth.controllers.main import OAuthController, OAuthLogin
from odoo.addons.web.controllers.session import Session
from odoo.addons.web.controllers.utils import _get_login_redirect_url, ensure_db

from ..services.entra import admin_consent_answer
from .errors import admin_consent_message, azure_error_message, button_label

_logger = logging.getLogger(__name__)

FLOWS_KEY = "oec_azure_flows"
ERROR_KEY = "oec_azure_error"
SIGNOUT_KEY = "oec_azure_signout"
SINGLE_SIGNOUT_PARAM = "oec_auth_azure.single_signout"
FLOW_TTL = 15 * 60
MAX_FLOWS = 5
STATE_SCOPE = "oec_auth_azure.state"
# Ours are about 200 characters, core's a few hundred: anything longer is not
# a state of either.
MAX_STATE = 4096


def sign_state(env, payload):
    body = base64url_encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    return "%s.%s" % (body, hmac_tool(env(su=True), STATE_SCOPE, body))


def read_state(state):
    """The payload of one of our states, unverified (None: not ours)."""
    body, _dot, _signature = (state or "").partition(".")
    if not _signature:
        return None
    try:
        payload = json.loads(base64url_decode(body))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) and isinstance(payload.get("i"), str) else None


def read_core_state(state):
    """Core auth_oauth's JSON state, when it has the shape core's signin
    relies on (else None: core would answer 500)."""
    try:
        payload = json.loads(state)
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("d"), str):
        return None
    provider = payload.get("p")
    if not isinstance(provider, int) or isinstance(provider, bool):
        return None
    if not isinstance(payload.get("c", {}), dict) or not isinstance(payload.get("r") or "", str):
        return None
    return payload


def state_signature_ok(env, state):
    body, _dot, signature = state.partition(".")
    return tools.consteq(signature, hmac_tool(env(su=True), STATE_SCOPE, body))


def _local_path(url):
    """Only same-site paths may be redirected to after sign-in."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/web"
    return url


class OecAzureLogin(OAuthLogin):
    def list_providers(self):
        providers = super().list_providers()
        for provider in providers:
            if provider.get("oec_azure"):
                query = {"redirect": request.params.get("redirect"), "token": request.params.get("token")}
                provider["auth_link"] = "/oec_auth_azure/authorize/%s?%s" % (
                    provider["id"],
                    urlencode({k: v for k, v in query.items() if v}),
                )
        return providers

    @http.route()
    def web_login(self, *args, **kw):
        response = super().web_login(*args, **kw)
        if response.is_qweb and request.params.get("oauth_error") == "oec":
            message = request.session.pop(ERROR_KEY, None)
            if message:
                response.qcontext["error"] = _message_markup(message)
        if response.is_qweb and request.env["res.users"].sudo()._oec_azure_signin_enforced():
            # Said to everybody, before any login is typed: a refused password
            # gets core's "Wrong login/password", whoever the login is.
            response.qcontext["oec_azure_hint"] = enforced_hint(
                request.env, response.qcontext.get("providers") or []
            )
        return response

    @http.route("/oec_auth_azure/authorize/<int:provider_id>", type="http", auth="none", methods=["GET"])
    def oec_azure_authorize(self, provider_id, redirect=None, token=None, **kw):
        """Start a Microsoft sign-in: a state signed and kept in this browser
        session, a nonce, and PKCE when the code flow is used."""
        ensure_db()
        provider = request.env["auth.oauth.provider"].sudo().browse(provider_id).exists()
        if not provider or not provider.oec_azure or not provider.enabled:
            return request.not_found()
        flow_id = secrets.token_urlsafe(16)
        flow = {
            "provider": provider.id,
            "nonce": secrets.token_urlsafe(24),
            "redirect": _local_path(redirect),
            "token": token or None,
            "expires": int(time.time()) + FLOW_TTL,
        }
        try:
            secret_set = provider._oec_azure_code_flow()
        except UserError as exc:
            # a secret this server cannot decrypt: the implicit flow would fail
            # at Microsoft with a misleading message
            return fail({"text": exc.args[0]})
        # the code redemption asks for the same
        flow["scope"] = provider._oec_azure_scope(code_flow=secret_set)
        params = {
            "client_id": provider.client_id,
            "redirect_uri": provider._oec_azure_redirect_uri(),
            "scope": flow["scope"],
            "nonce": flow["nonce"],
            "state": sign_state(request.env, {"i": flow_id, "d": request.db, "p": provider.id}),
        }
        if secret_set:
            flow["verifier"] = secrets.token_urlsafe(48)
            challenge = base64url_encode(hashlib.sha256(flow["verifier"].encode()).digest()).decode()
            params.update(
                response_type="code",
                # the code too comes back in the fragment: it stays out of
                # access logs and browser history
                response_mode="fragment",
                code_challenge=challenge,
                code_challenge_method="S256",
            )
        else:
            params.update(response_type="id_token token", response_mode="fragment")
        flows = {
            key: value
            for key, value in (request.session.get(FLOWS_KEY) or {}).items()
            if value.get("expires", 0) > time.time()
        }
        # A few sign-ins may be under way in several tabs; never more.
        for key in sorted(flows, key=lambda k: flows[k]["expires"])[: max(0, len(flows) - MAX_FLOWS + 1)]:
            del flows[key]
        flows[flow_id] = flow
        request.session[FLOWS_KEY] = flows
        return request.redirect("%s?%s" % (provider.auth_endpoint, urlencode(params)), local=False)


class OecAzureOAuthController(OAuthController):
    @http.route("/auth_oauth/signin", type="http", auth="none", methods=["GET", "POST"], csrf=False)
    def signin(self, **kw):
        # No CSRF token: Microsoft's redirect carries none; the signed,
        # session-bound state is what protects this route.
        kw.pop("debug", None)
        # an uploaded file (multipart) where text is expected is no answer of Microsoft's
        kw = {key: value for key, value in kw.items() if isinstance(value, str)}
        if not kw:
            # Microsoft answers in the URL fragment, which only the browser
            # sees. Core turns it into a query string (tokens then land in
            # access logs and history); this page posts it to the same URL
            # instead and clears the address bar.
            return request.render(
                "oec_auth_azure.signin_fragment_page", headers=[("Cache-Control", "no-store")]
            )
        consent = admin_consent_answer(kw)
        if consent is not None:
            return self._oec_azure_admin_consent(*consent)
        state = kw.get("state")
        httprequest = request.httprequest
        repeated = len(httprequest.args.getlist("state")) + len(httprequest.form.getlist("state")) > 1
        if repeated or not isinstance(state, str) or not state or len(state) > MAX_STATE:
            # Core's signin would answer 500 (json.loads of nothing, of a list...).
            _logger.warning("Microsoft Entra ID: refused a sign-in answer without a valid state")
            return fail({"text": _("This sign-in answer is not valid. Sign in again.")})
        payload = read_state(state)
        if payload is not None:
            return self._oec_azure_signin(payload, kw)
        core_state = read_core_state(state)
        provider = self._oec_azure_core_state_provider(core_state)
        if provider is None:
            _logger.warning("Microsoft Entra ID: refused a sign-in answer with an unknown state")
            return fail({"text": _("This sign-in answer is not valid. Sign in again.")})
        if provider.oec_azure:
            _logger.warning("Microsoft Entra ID: refused a sign-in without a signed state")
            return fail({"text": _("This sign-in link is not valid. Sign in again.")})
        return super().signin(**kw)

    def _oec_azure_signin(self, payload, kw):
        dbname = payload.get("d")
        if not known_db(dbname):
            return BadRequest()
        ensure_db(db=dbname)
        env = request.env
        # the button's own label: the sandbox's is "Microsoft Azure (sandbox)"
        retry = _("Click %s again to sign in.", button_label(env, payload.get("p")))
        if not state_signature_ok(env, kw["state"]):
            _logger.warning("Microsoft Entra ID: refused a sign-in with a tampered state")
            return fail({"text": _("The sign-in answer was altered. %s", retry)})
        flow = (request.session.get(FLOWS_KEY) or {}).get(payload["i"])
        if flow:
            # Single use: a replayed answer finds nothing.
            flows = dict(request.session[FLOWS_KEY])
            flows.pop(payload["i"], None)
            request.session[FLOWS_KEY] = flows
        if not flow or flow["expires"] < time.time() or flow["provider"] != payload.get("p"):
            _logger.warning("Microsoft Entra ID: refused a state unknown to this browser session")
            return fail(
                {
                    "text": _(
                        "This sign-in was started in another browser or tab, took too long, or "
                        "was already used. %s",
                        retry,
                    )
                }
            )
        provider = env["auth.oauth.provider"].sudo().browse(flow["provider"]).exists()
        if not provider or not provider.enabled:
            return fail({"text": _("Microsoft Azure sign-in is disabled.")})
        attempt = {}
        if kw.get("error"):
            _logger.info(
                "Microsoft Entra ID: sign-in answered %s (%s)",
                str(kw["error"])[:40],
                str(kw.get("error_description") or "").split(":")[0][:20],
            )
            return refuse(
                provider, attempt, azure_error_message(provider, kw["error"], kw.get("error_description"))
            )
        if flow.get("verifier"):
            try:
                tokens = self._oec_azure_redeem(provider, flow, kw.get("code"))
            except UserError as exc:  # the client secret cannot be decrypted, or no assertion
                return refuse(provider, attempt, {"text": exc.args[0]})
            if "error" in tokens:
                return refuse(
                    provider,
                    attempt,
                    azure_error_message(
                        provider, tokens["error"], tokens.get("error_description"), tokens.get("retry_after")
                    ),
                )
        else:
            tokens = {"id_token": kw.get("id_token"), "access_token": kw.get("access_token")}
        try:
            login, key = (
                env["res.users"]
                .with_user(SUPERUSER_ID)
                ._oec_azure_auth(
                    provider.id,
                    tokens,
                    flow["nonce"],
                    flow.get("token"),
                    code_flow=bool(flow.get("verifier")),
                    attempt=attempt,
                )
            )
            entry = log_attempt(provider, attempt, "success", attempt.get("note"))
            # the user may have just been linked or created: authenticate()
            # reads it through its own cursor
            env.cr.commit()
            pre_uid = request.session.authenticate(dbname, login, key)
            # for single sign-out: nothing secret (the sid is only kept hashed, in the log)
            request.session[SIGNOUT_KEY] = {
                "log": entry.id,
                "provider": provider.id,
                "tid": attempt.get("tenant_id"),
                "hint": attempt.get("login_hint"),
            }
        except AccessDenied as exc:
            env.cr.rollback()
            reason = exc.args[0] if exc.args else ""
            _logger.warning("Microsoft Entra ID: sign-in refused: %s", reason)
            # what the rollback undid is not in the log
            attempt.pop("groups_added", None)
            attempt.pop("groups_removed", None)
            attempt.pop("note", None)
            if attempt.pop("user_created", False):
                attempt.pop("user_id", None)
            archive = env["res.users"].sudo().browse(attempt.pop("archive_user_id", None)).exists()
            if archive:
                archive.action_archive()
                _logger.info("Microsoft Entra ID: archived user %s: no mapped role left", archive.id)
                reason = "%s %s" % (reason, _("Your Odoo user was archived."))
            return refuse(provider, attempt, {"text": reason or _("Access Denied")})
        response = request.redirect(_get_login_redirect_url(pre_uid, flow["redirect"]), 303)
        response.autocorrect_location_header = False
        if werkzeug.urls.url_parse(response.location).path == "/web" and not request.env.user._is_internal():
            response.location = "/"
        return response

    def _oec_azure_admin_consent(self, provider_id, error):
        """Back from Microsoft's admin-consent page (a link of the login page's
        consent messages): what happened, and who must act when consent was
        not granted, on the login page."""
        if error is None:
            return fail(
                {"text": _("Administrator consent was granted. Users can now sign in with Microsoft Azure.")}
            )
        _logger.info("Microsoft Entra ID: administrator consent not granted (%s)", error.params["reference"])
        provider = None
        if provider_id and request.db:
            provider = request.env["auth.oauth.provider"].sudo().browse(provider_id).exists()
        return fail(admin_consent_message(provider.filtered("oec_azure") if provider else None, error))

    def _oec_azure_redeem(self, provider, flow, code):
        if not code:
            return {"error": "invalid_request", "error_description": "no code"}
        data = {
            "client_id": provider.client_id,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": provider._oec_azure_redirect_uri(),
            "code_verifier": flow["verifier"],
            "scope": flow.get("scope") or provider._oec_azure_scope(code_flow=True),
        }
        # the client secret, or the host's managed identity as a client assertion
        data.update(provider._oec_azure_client_credentials())
        try:
            payload = provider._oec_azure_entra().redeem(data)
        except requests.RequestException as exc:
            _logger.warning("Microsoft Entra ID: the token endpoint failed: %s", type(exc).__name__)
            return {
                "error": "temporarily_unavailable",
                "error_description": _("Microsoft's token endpoint could not be reached."),
            }
        return payload if isinstance(payload, dict) else {"error": "invalid_response"}

    def _oec_azure_core_state_provider(self, core_state):
        """The existing, enabled provider core's state names, in the database
        of this request (None: core's signin must not see it)."""
        if core_state is None or not known_db(core_state["d"]):
            return None
        # as core does: a new session may first need the database of the state
        ensure_db(db=core_state["d"])
        if request.db != core_state["d"]:
            return None
        provider = request.env["auth.oauth.provider"].sudo().browse(core_state["p"]).exists()
        return provider if provider and provider.enabled else None


class OecAzureSession(Session):
    @http.route()
    def logout(self, redirect="/web"):
        """Also end the Microsoft session when the setting says so."""
        info = request.session.get(SIGNOUT_KEY)
        response = super().logout(redirect=redirect)
        if not info or not request.db:
            return response
        env = request.env(user=SUPERUSER_ID)
        if not tools.str2bool(env["ir.config_parameter"].get_param(SINGLE_SIGNOUT_PARAM) or "0"):
            return response
        provider = env["auth.oauth.provider"].browse(info.get("provider")).exists()
        if not provider or not provider.oec_azure:
            return response
        url = provider._oec_azure_end_session_url(info.get("tid"), info.get("hint"))
        return request.redirect(url, 303, local=False)

    @http.route("/oec_auth_azure/logout", type="http", auth="none", methods=["GET"], csrf=False)
    def oec_azure_frontchannel_logout(self, sid=None, **kw):
        """Front-channel logout URL: Microsoft calls it (in a hidden frame of
        the browser that signs out) with the session's `sid`. Every Odoo
        session started by that Microsoft session ends at its next request."""
        headers = [("Cache-Control", "no-store")]
        if not request.db or not isinstance(sid, str) or not sid or len(sid) > 200:
            return request.make_response("", headers=headers)
        entries = request.env["oec.azure.signin.log"]._end_microsoft_session(sid)
        if entries:
            _logger.info("Microsoft Entra ID: front-channel logout of %s Odoo session(s)", len(entries))
        # this very browser, when its cookie came along
        if (request.session.get(SIGNOUT_KEY) or {}).get("log") in entries.ids:
            request.session.logout(keep_db=True)
        return request.make_response("", headers=headers)


def fail(message):
    """Back to the login page, which shows ``message`` (kept in the session,
    so that nothing an attacker sends ends up in a URL)."""
    request.session[ERROR_KEY] = message
    response = request.redirect("/web/login?oauth_error=oec", 303)
    response.autocorrect_location_header = False
    return response


def log_attempt(provider, attempt, result, reason=None):
    """One sign-in log entry: who, from where, what happened; never a token,
    code, nonce or state."""
    log = request.env["oec.azure.signin.log"]
    sid = attempt.get("sid") if result == "success" else None
    return log._record(
        {
            "provider_id": provider.id,
            "tenant_id": attempt.get("tenant_id"),
            "oid": attempt.get("oid"),
            "username": attempt.get("username"),
            "user_id": attempt.get("user_id"),
            "ip_address": request.httprequest.remote_addr,
            "result": result,
            "reason": reason and reason[:500],
            "groups_added_ids": [Command.set(attempt.get("groups_added") or [])],
            "groups_removed_ids": [Command.set(attempt.get("groups_removed") or [])],
            "user_created": bool(attempt.get("user_created")),
            "session_hash": sid and log._session_hash(sid),
        }
    )


def refuse(provider, attempt, message):
    """Log a refused sign-in (committed: the refusal itself rolls back), then
    back to the login page with ``message``."""
    log_attempt(provider, attempt, "refused", message.get("text"))
    request.env.cr.commit()
    return fail(message)


def enforced_hint(env, providers):
    """What the login page says when Microsoft sign-in is enforced, naming
    the buttons of the enabled Microsoft providers."""
    labels = [p.get("body") or p.get("name") for p in providers if p.get("oec_azure")]
    return _(
        "This database signs in with Microsoft: use the %s button. Odoo passwords are refused "
        "for accounts managed by Microsoft Entra ID.",
        _(" or ").join(label for label in labels if label) or button_label(env, None),
    )


def known_db(dbname):
    """An existing database this host may use (core's signin would also take
    a name the dbfilter allows but no database has, and fail later)."""
    return isinstance(dbname, str) and dbname in http.db_list(force=True)


def _message_markup(message):
    text = escape(message.get("text") or "")
    if message.get("url"):
        return Markup('%s <a class="alert-link" href="%s" target="_blank" rel="noopener">%s</a>') % (
            text,
            message["url"],
            message.get("url_label") or message["url"],
        )
    return Markup(text)
