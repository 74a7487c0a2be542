# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib
import logging
import secrets
import threading
import time

import requests

from odoo import _, api, models, tools
from odoo.exceptions import AccessDenied, UserError

from odoo.addons.auth_signup.models.res_partner import SignupError

_logger = logging.getLogger(__name__)

# One-time keys handing a verified Microsoft sign-in to session.authenticate()
# within the same request. Core auth_oauth uses the access token as the
# password and stores it on the user, where it is also part of the session
# token: a sign-in on a second device would log out the first one. These keys
# live a minute in this process's memory and are never stored nor sent out.
LOGIN_KEY_TTL = 60
_login_keys = {}
_login_keys_lock = threading.Lock()


def _digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def issue_login_key(dbname, uid):
    key = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _login_keys_lock:
        for digest, (_db, _uid, expires) in list(_login_keys.items()):
            if expires < now:
                del _login_keys[digest]
        _login_keys[_digest(key)] = (dbname, uid, now + LOGIN_KEY_TTL)
    return key


def consume_login_key(dbname, uid, key):
    if not isinstance(key, str) or not key:
        return False
    with _login_keys_lock:
        entry = _login_keys.pop(_digest(key), None)
    return bool(entry) and entry[:2] == (dbname, uid) and entry[2] >= time.monotonic()


class ResUsers(models.Model):
    _inherit = "res.users"

    @api.model
    def auth_oauth(self, provider, params):
        # Core's flow (unsigned state, any access token) must never sign in
        # through a Microsoft Entra provider: only our controller may.
        if self.env["auth.oauth.provider"].browse(provider).oec_azure:
            raise AccessDenied()
        return super().auth_oauth(provider, params)

    @api.model
    def _auth_oauth_validate(self, provider, access_token):
        if self.env["auth.oauth.provider"].browse(provider).oec_azure:
            raise AccessDenied()
        return super()._auth_oauth_validate(provider, access_token)

    def _check_credentials(self, password, env):
        # Our key first: it is never a password, and hashing it as one costs time.
        interactive = (env or {}).get("interactive")
        if interactive and consume_login_key(self.env.cr.dbname, self.env.uid, password):
            return None
        return super()._check_credentials(password, env)

    # -- business methods -------------------------------------------------------------------------

    @api.model
    def _oec_azure_auth(self, provider_id, tokens, nonce, signup_token=None):
        """Verify a Microsoft sign-in and find, link or sign up its user.

        :param tokens: ``id_token`` and (optional) ``access_token`` received
            from Microsoft, through the browser or the token endpoint
        :param nonce: the nonce this browser session sent
        :param signup_token: the reset-password/invitation token the sign-in
            started from, if any
        :return: (login, one-time key for session.authenticate)
        :raise AccessDenied: with a message for the user
        """
        provider = self.env["auth.oauth.provider"].browse(provider_id)
        claims = provider._oec_azure_verify_id_token(tokens.get("id_token"), nonce)
        provider._oec_azure_check_at_hash(claims, tokens.get("access_token"))
        validation = {
            "user_id": claims["sub"],
            "tid": claims["tid"],
            "name": claims.get("name"),
            "email": claims.get("email"),
            "preferred_username": claims.get("preferred_username"),
        }
        if tokens.get("access_token") and provider.validation_endpoint:
            info = self._oec_azure_userinfo(provider, tokens["access_token"], claims["sub"])
            for key in ("name", "email"):
                validation[key] = validation[key] or info.get(key)
        user = self._oec_azure_signin(provider, validation, signup_token)
        return user.login, issue_login_key(self.env.cr.dbname, user.id)

    # -- private helpers --------------------------------------------------------------------------

    def _oec_azure_userinfo(self, provider, access_token, sub):
        try:
            info = provider._oec_azure_get_json(provider.validation_endpoint, access_token)
        except (requests.RequestException, ValueError) as exc:
            _logger.warning("Microsoft Entra ID: the UserInfo endpoint failed: %s", type(exc).__name__)
            raise AccessDenied(_("Microsoft's UserInfo endpoint could not be reached.")) from exc
        # The access token is not for us to verify (its audience is Graph):
        # Graph tells whose it is, and it must be the id_token's user.
        if not isinstance(info, dict) or info.get("sub") != sub:
            raise AccessDenied(_("The access token belongs to another sign-in."))
        return info

    def _oec_azure_signin(self, provider, validation, signup_token):
        sub = validation["user_id"]
        linked = self.search([("oauth_uid", "=", sub), ("oauth_provider_id", "=", provider.id)])
        if signup_token:
            return self._oec_azure_link_by_token(provider, validation, signup_token, linked)
        if linked:
            return linked
        if provider.oec_azure_link_by_upn:
            user = self._oec_azure_link_by_upn(provider, validation)
            if user:
                return user
        return self._oec_azure_sign_up(provider, validation)

    def _oec_azure_link_by_token(self, provider, validation, signup_token, linked):
        partner = self.env["res.partner"]._signup_retrieve_partner(signup_token, check_validity=True)
        if not partner:
            raise AccessDenied(
                _(
                    "This invitation or reset-password link has expired or was already used. "
                    "Ask for a new one, then click Microsoft Azure on the page it opens."
                )
            )
        target = partner.user_ids[:1]
        if linked and linked != target:
            _logger.warning(
                "Microsoft Entra ID: refused to link the account of user %s to user %s", linked.id, target.id
            )
            if target.has_group("base.group_system"):
                # an administrator may know the other user, and can unlink it there
                raise AccessDenied(
                    _(
                        "This Microsoft account is already linked to another Odoo user, %(name)s "
                        "(login %(login)s). To link it to %(target)s instead, open that user in "
                        "Settings > Users, clear its OAuth User ID, then use this link again.",
                        name=linked.name,
                        login=linked.login,
                        target=target.name,
                    )
                )
            raise AccessDenied(
                _(
                    "This Microsoft account is already linked to another Odoo user. Sign in with "
                    "the Microsoft account of the person this link was sent to."
                )
            )
        if not target:
            # An invitation for a partner without a user: sign up as core
            # does, keeping the partner's email when it has one.
            email = partner.email or self._oec_azure_email(validation)
            values = self._oec_azure_signup_values(provider, validation, email)
            try:
                login, _password = self.signup(values, signup_token)
            except (SignupError, UserError, ValueError) as exc:
                raise AccessDenied(_("Odoo could not create your user: %s", exc)) from exc
            return self.search([("login", "=", login)])
        # Link only: login, email and password of the user stay as they are.
        target.write({"oauth_provider_id": provider.id, "oauth_uid": validation["user_id"]})
        partner.signup_cancel()
        if not target.login_date:
            target._notify_inviter()
        _logger.info("Microsoft Entra ID: linked user %s through a signup link", target.id)
        return target

    def _oec_azure_link_by_upn(self, provider, validation):
        """Opt-in, single-tenant only (checked on the provider and, through
        the tenant check of the id_token, on every sign-in).

        The user principal name (preferred_username of the verified id_token)
        is given by the tenant, in one of its verified domains. The email
        claim is never used: a tenant user can set any address there (nOAuth).
        """
        upn = (validation.get("preferred_username") or "").strip().lower()
        if "@" not in upn:
            return None
        pattern = tools.escape_psql(upn)
        users = self.search(["|", ("login", "=ilike", pattern), ("email", "=ilike", pattern)])
        # an existing link (to any provider) is never replaced without a reset link
        if len(users) != 1 or users.oauth_uid:
            return None
        if users.has_group("base.group_system") or users.has_group("base.group_erp_manager"):
            _logger.warning(
                "Microsoft Entra ID: refused to link administrator %s by user principal name (tenant %s)",
                users.id,
                validation["tid"],
            )
            raise AccessDenied(
                _(
                    "This Microsoft account matches an Odoo administrator, and administrators are "
                    "never linked automatically. Open a reset-password link for this user (Reset "
                    "Password on the login page, or sent by another administrator) and click "
                    "Microsoft Azure on the page it opens."
                )
            )
        users.write({"oauth_provider_id": provider.id, "oauth_uid": validation["user_id"]})
        _logger.info(
            "Microsoft Entra ID: linked user %s by user principal name (tenant %s)",
            users.id,
            validation["tid"],
        )
        return users

    def _oec_azure_sign_up(self, provider, validation):
        """Unknown Microsoft user: refused, unless the provider allows sign-up
        and the database allows free sign-up (then a portal user, as core)."""
        refused = AccessDenied(
            _(
                "You do not have access to this database: no Odoo user is linked to this Microsoft "
                "account. Please ask for an invitation and be sure to follow the link in your "
                "invitation email."
            )
        )
        if not provider.oec_azure_allow_signup:
            # with organizations/common, free sign-up would be open to every tenant
            _logger.info(
                "Microsoft Entra ID: sign-up is off for provider %s: unknown account refused", provider.id
            )
            raise refused
        email = self._oec_azure_email(validation)
        if self.env.context.get("no_user_creation") or not email:
            raise refused
        values = self._oec_azure_signup_values(provider, validation, email)
        try:
            login, _password = self.signup(values)
        except (SignupError, UserError, ValueError) as exc:
            raise refused from exc
        return self.search([("login", "=", login)])

    @api.model
    def _oec_azure_email(self, validation):
        for key in ("email", "preferred_username"):
            value = (validation.get(key) or "").strip()
            if "@" in value:
                return value
        return None

    @api.model
    def _oec_azure_signup_values(self, provider, validation, email):
        return {
            "name": validation.get("name") or email,
            "login": email,
            "email": email,
            "oauth_provider_id": provider.id,
            "oauth_uid": validation["user_id"],
            "active": True,
        }
