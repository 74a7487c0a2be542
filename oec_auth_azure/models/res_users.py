# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib
import logging
import secrets
import threading
import time

import requests

from odoo import SUPERUSER_ID, Command, _, api, models, tools
from odoo.exceptions import AccessDenied, UserError, ValidationError

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


ENFORCE_PARAM = "oec_auth_azure.enforce_signin"
BREAK_GLASS_PARAM = "oec_auth_azure.break_glass_group_id"
REFUSE_API_KEYS_PARAM = "oec_auth_azure.enforce_api_keys"


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
        interactive = (env or {}).get("interactive", True)
        if interactive and consume_login_key(self.env.cr.dbname, self.env.uid, password):
            return None
        user = self.env.user
        # Never checked: the answer must not tell whether a password is right.
        # Over RPC, _rpc_api_keys_only() leaves only API keys, unless refused too.
        if user._oec_azure_password_refused() and (interactive or user._oec_azure_api_keys_refused()):
            # Core's own "Wrong login/password": any other answer would tell
            # who can sign in here. The login page tells everybody instead
            # that this database signs in with Microsoft.
            _logger.info(
                "Microsoft Entra ID: password refused for user %s: Microsoft sign-in is enforced", user.id
            )
            raise AccessDenied()
        return super()._check_credentials(password, env)

    def _rpc_api_keys_only(self):
        return super()._rpc_api_keys_only() or self._oec_azure_password_refused()

    @api.model
    def signup(self, values, token=None):
        # The reset-password and invitation pages of a user who must sign in
        # with Microsoft only link the Microsoft account: no password is set.
        if token and values.get("password"):
            partner = self.env["res.partner"]._signup_retrieve_partner(token, raise_exception=False)
            user = partner.user_ids[:1] if partner else self.browse()
            if user and user._oec_azure_password_refused():
                raise UserError(
                    _(
                        "Your account signs in with Microsoft only: click Microsoft Azure on this "
                        "page to link your Microsoft account instead of choosing a password."
                    )
                )
        return super().signup(values, token)

    def _oec_azure_password_refused(self):
        """Enforced Microsoft sign-in applies to this user: linked to a
        Microsoft provider and not in the break-glass group."""
        self.ensure_one()
        if not self.oauth_provider_id.oec_azure:
            return False
        if not self._oec_azure_signin_enforced():
            return False
        return self._oec_azure_break_glass_group() not in self.sudo().groups_id

    @api.model
    def _oec_azure_signin_enforced(self):
        params = self.env["ir.config_parameter"].sudo()
        return tools.str2bool(params.get_param(ENFORCE_PARAM) or "0")

    def _oec_azure_api_keys_refused(self):
        params = self.env["ir.config_parameter"].sudo()
        return tools.str2bool(params.get_param(REFUSE_API_KEYS_PARAM) or "0")

    @api.model
    def _oec_azure_break_glass_group(self):
        """Who keeps password sign-in when Microsoft sign-in is enforced:
        Settings' break-glass group, by default Administration / Settings."""
        value = self.env["ir.config_parameter"].sudo().get_param(BREAK_GLASS_PARAM)
        group = self.env["res.groups"].sudo().browse(int(value)).exists() if (value or "").isdigit() else None
        return group or self.env.ref("base.group_system")

    # -- business methods -------------------------------------------------------------------------

    @api.model
    def _oec_azure_auth(self, provider_id, tokens, nonce, signup_token=None, code_flow=False, attempt=None):
        """Verify a Microsoft sign-in and find, link or sign up its user, then
        set the user's mapped groups from the token's roles and groups.

        :param tokens: ``id_token`` and (optional) ``access_token`` received
            from Microsoft, through the browser or the token endpoint
        :param nonce: the nonce this browser session sent
        :param signup_token: the reset-password/invitation token the sign-in
            started from, if any
        :param code_flow: the tokens come from the token endpoint (not
            through the browser): its access token may be used for Graph
        :param attempt: a dict filled with what the sign-in log keeps
            (nothing secret): tenant_id, oid, username, user_id, groups
            added / removed, user_created
        :return: (login, one-time key for session.authenticate)
        :raise AccessDenied: with a message for the user
        """
        attempt = {} if attempt is None else attempt
        provider = self.env["auth.oauth.provider"].browse(provider_id)
        claims = provider._oec_azure_verify_id_token(tokens.get("id_token"), nonce)
        attempt.update(
            tenant_id=str(claims["tid"]),
            oid=claims.get("oid") and str(claims["oid"]),
            username=claims.get("preferred_username") and str(claims["preferred_username"]),
            sid=claims.get("sid") and str(claims["sid"]),
            login_hint=claims.get("login_hint") and str(claims["login_hint"]),
        )
        provider._oec_azure_check_at_hash(claims, tokens.get("access_token"))
        directory = self._oec_azure_directory(provider, claims, tokens.get("access_token"), code_flow)
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
        granting = self._oec_azure_granting(provider, directory)
        user = self._oec_azure_signin(provider, validation, signup_token, granting, attempt)
        attempt["user_id"] = user.id
        if provider.oec_azure_jit and not granting:
            self._oec_azure_refuse_without_roles(provider, user, attempt)
        added, removed = user._oec_azure_apply_mappings(provider, directory, attempt)
        attempt.update(groups_added=added.ids, groups_removed=removed.ids)
        return user.login, issue_login_key(self.env.cr.dbname, user.id)

    # -- private helpers --------------------------------------------------------------------------

    @api.model
    def _oec_azure_directory(self, provider, claims, access_token, code_flow):
        """The app roles and group object ids the sign-in carries:
        ``{"roles": set, "groups": set or None}`` (None: not known, which the
        mappings treat as "do not touch", never as "no groups").

        On group overage (``hasgroups`` in the implicit flow, ``_claim_names``
        in the code flow) the groups are read from Graph with the access token
        of the code flow; in the implicit flow the sign-in is refused.
        """
        roles = claims.get("roles") or []
        groups = claims.get("groups") or []
        if not isinstance(roles, list) or not isinstance(groups, list):
            raise AccessDenied(_("The id_token's roles or groups claim is malformed."))
        directory = {
            "roles": {str(r) for r in roles},
            "groups": {str(g).lower() for g in groups},
        }
        overage = bool(claims.get("hasgroups")) or "groups" in (claims.get("_claim_names") or {})
        if not overage:
            return directory
        if not provider.oec_azure_mapping_ids.filtered(lambda m: m.kind == "group"):
            directory["groups"] = None  # nothing depends on them
            return directory
        if not code_flow or not access_token:
            raise AccessDenied(
                _(
                    "You are a member of too many groups for Microsoft to list them in the sign-in "
                    "answer, and this sign-in cannot read them from Microsoft Graph. An "
                    "administrator must either map app roles instead of groups, or set a client "
                    "secret on the Microsoft provider (the sign-in then reads your groups from "
                    "Microsoft Graph with the delegated permission User.Read)."
                )
            )
        directory["groups"] = set(provider._oec_azure_graph_groups(access_token))
        return directory

    @api.model
    def _oec_azure_granting(self, provider, directory):
        """The mapping lines whose app role or group the sign-in carries."""
        return provider.oec_azure_mapping_ids.filtered(
            lambda m: (
                m.value in directory["roles"]
                if m.kind == "role"
                else directory["groups"] is not None and m.value.lower() in directory["groups"]
            )
        )

    @api.model
    def _oec_azure_jit_create(self, provider, validation, granting):
        """Just-in-time user, for a tenant this provider is limited to, with
        at least one mapped role or group; login = user principal name."""
        refused = _(
            "You do not have access to this database: your Microsoft account has no app role or "
            "group that gives access to Odoo. Ask your administrator to assign you to the Odoo "
            "application in Microsoft Entra ID (Enterprise applications > Users and groups)."
        )
        if provider._oec_azure_tenant_ids() is None:
            # checked on the provider too; never open to every tenant
            raise AccessDenied(
                _("Users can only be created at first sign-in for a single tenant or allowed tenants.")
            )
        if not granting:
            _logger.info("Microsoft Entra ID: no user created for an account without a mapped role")
            raise AccessDenied(refused)
        upn = (validation.get("preferred_username") or "").strip().lower()
        if "@" not in upn:
            raise AccessDenied(
                _("Your Microsoft account has no user principal name, so no Odoo user can be created.")
            )
        if self.with_context(active_test=False).search_count([("login", "=ilike", tools.escape_psql(upn))]):
            raise AccessDenied(
                _(
                    "An Odoo user with the login %s already exists and is not linked to this "
                    "Microsoft account (or is archived). Ask an administrator for a reset-password "
                    "link and click Microsoft Azure on the page it opens.",
                    upn,
                )
            )
        type_xmlid = (
            "base.group_portal" if provider.oec_azure_jit_user_type == "portal" else "base.group_user"
        )
        user_types = self.env.ref("base.module_category_user_type")
        template_groups = provider.oec_azure_jit_template_id.groups_id.filtered(
            lambda g: g.category_id != user_types
        )
        values = {
            "name": validation.get("name") or upn,
            "login": upn,
            "email": upn,
            "oauth_provider_id": provider.id,
            "oauth_uid": validation["user_id"],
            "groups_id": [Command.set((self.env.ref(type_xmlid) | template_groups).ids)],
        }
        try:
            user = self.with_context(no_reset_password=True).create(values)
        except (ValidationError, UserError) as exc:
            raise AccessDenied(_("Odoo could not create your user: %s", exc.args[0])) from exc
        _logger.info(
            "Microsoft Entra ID: created user %s at first sign-in (tenant %s)", user.id, validation["tid"]
        )
        return user

    def _oec_azure_refuse_without_roles(self, provider, user, attempt):
        """Users created at first sign-in come and go with their roles: a
        linked user with no mapped role or group left is refused (and, if the
        provider says so, archived by the caller after the rollback)."""
        admin = user.has_group("base.group_system") or user.has_group("base.group_erp_manager")
        if provider.oec_azure_jit_archive and not admin and user.id != SUPERUSER_ID:
            attempt["archive_user_id"] = user.id
        raise AccessDenied(
            _(
                "Your Microsoft account no longer has an app role or group that gives access to "
                "Odoo. Ask your administrator to assign you to the Odoo application in Microsoft "
                "Entra ID (Enterprise applications > Users and groups)."
            )
        )

    def _oec_azure_apply_mappings(self, provider, directory, attempt=None):
        """Give the groups of the mappings whose role or group the sign-in
        carries, take away those of the other mappings; groups no mapping
        names are left alone, and so are those whose removal would leave the
        database without an active administrator (then ``attempt["note"]``
        says so). Returns (groups added, groups removed), implied groups
        included."""
        self.ensure_one()
        groups = self.env["res.groups"]
        managed = granted = groups
        for mapping in provider.oec_azure_mapping_ids:
            if mapping.kind == "role":
                present = mapping.value in directory["roles"]
            elif directory["groups"] is None:
                continue
            else:
                present = mapping.value.lower() in directory["groups"]
            managed |= mapping.group_ids
            if present:
                granted |= mapping.group_ids
        before = self.groups_id
        to_add = granted - before
        to_remove = (managed - granted) & before
        kept = self._oec_azure_last_admin_groups(to_add, to_remove)
        if kept:
            to_remove -= kept
            _logger.warning(
                "Microsoft Entra ID: user %s kept groups %s: the mappings would remove the last "
                "active administrator",
                self.id,
                kept.ids,
            )
            if attempt is not None:
                attempt["note"] = _(
                    "Kept %(groups)s: removing them would leave no active administrator.",
                    groups=", ".join(kept.mapped("full_name")),
                )
        if not to_add and not to_remove:
            return groups, groups
        try:
            self.write(
                {
                    "groups_id": [Command.link(g.id) for g in to_add]
                    + [Command.unlink(g.id) for g in to_remove]
                }
            )
        except (ValidationError, UserError) as exc:
            _logger.warning("Microsoft Entra ID: mapped groups not applied to user %s: %s", self.id, exc)
            raise AccessDenied(
                _(
                    "Odoo could not apply the groups your Microsoft roles give (%s). An "
                    "administrator must check the provider's role and group mappings.",
                    exc.args[0] if exc.args else exc,
                )
            ) from exc
        after = self.groups_id
        added, removed = after - before, before - after
        if added or removed:
            _logger.info(
                "Microsoft Entra ID: user %s groups added %s, removed %s", self.id, added.ids, removed.ids
            )
        return added, removed

    def _oec_azure_last_admin_groups(self, to_add, to_remove):
        """The groups of ``to_remove`` that must stay: this user is the last
        active internal user with Administration / Settings, and would lose it
        (the groups the user keeps imply what they imply, so only removing a
        group that is or implies Settings takes it away)."""
        self.ensure_one()
        admin = self.env.ref("base.group_system")
        before = self.groups_id
        after = (before - to_remove) | to_add
        if admin not in before or admin in after | after.trans_implied_ids:
            return to_remove.browse()
        others = self.with_context(active_test=False).search_count(
            [
                ("id", "!=", self.id),
                ("active", "=", True),
                ("share", "=", False),
                ("groups_id", "in", admin.ids),
            ]
        )
        if others:
            return to_remove.browse()
        return to_remove.filtered(lambda g: admin in g | g.trans_implied_ids)

    def _oec_azure_userinfo(self, provider, access_token, sub):
        try:
            info = provider._oec_azure_entra().get_json(provider.validation_endpoint, access_token)
        except (requests.RequestException, ValueError) as exc:
            _logger.warning("Microsoft Entra ID: the UserInfo endpoint failed: %s", type(exc).__name__)
            raise AccessDenied(_("Microsoft's UserInfo endpoint could not be reached.")) from exc
        # The access token is not for us to verify (its audience is Graph):
        # Graph tells whose it is, and it must be the id_token's user.
        if not isinstance(info, dict) or info.get("sub") != sub:
            raise AccessDenied(_("The access token belongs to another sign-in."))
        return info

    def _oec_azure_signin(self, provider, validation, signup_token, granting=None, attempt=None):
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
        if provider.oec_azure_jit:
            user = self._oec_azure_jit_create(provider, validation, granting)
            if attempt is not None:
                attempt["user_created"] = True
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
