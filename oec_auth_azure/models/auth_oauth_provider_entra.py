# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""auth.oauth.provider, the sign-in side: the Entra ID client of a provider
(services/entra.py), its secret in clear for the code redemption, the URLs of
Microsoft's pages, and EntraError turned into a translated AccessDenied."""

import logging
import re
from contextlib import contextmanager

from odoo import _, models, tools
from odoo.exceptions import AccessDenied, UserError

from ..services import credentials, entra
from ..services.crypto import KEY_OPTION
from ..services.urls import ca_bundle, is_guid, timeout
from .auth_oauth_provider import SECRET_COLUMN

_logger = logging.getLogger(__name__)

# core auth_oauth's default scope
DEFAULT_SCOPE = "openid profile email"


class AuthOAuthProvider(models.Model):
    _inherit = "auth.oauth.provider"

    def _oec_azure_entra(self):
        self.ensure_one()
        return entra.EntraClient(
            self.oec_azure_authority,
            self._oec_azure_segment(),
            ca_bundle=ca_bundle(tools.config),
            timeout=timeout(tools.config, entra.TIMEOUT),
        )

    def _oec_azure_segment(self):
        self.ensure_one()
        return (self.oec_azure_tenant or "organizations").strip()

    def _oec_azure_allowed_tenant_ids(self):
        self.ensure_one()
        return [t.lower() for t in re.split(r"[\s,;]+", self.oec_azure_allowed_tenants or "") if t]

    def _oec_azure_client_secret(self):
        """The client secret in clear, or None when none is set. For the
        sign-in code only (never reachable over RPC: private).

        :raise UserError: a secret is set but this server cannot decrypt it
            (no key, another key than the one it was stored with, or stored by
            the database this one is a copy of)
        """
        self.ensure_one()
        value = self._get_secret(SECRET_COLUMN)
        if value is None and self._secret_from_copy(SECRET_COLUMN):
            raise UserError(
                _(
                    "The client secret of %(provider)s was stored by the database this one is a copy of, "
                    "and is not used here: an administrator must enter it again.",
                    provider=self.name,
                )
            )
        if value is None and self._ids_with_secret(SECRET_COLUMN):
            raise UserError(
                _(
                    "The client secret of %(provider)s cannot be decrypted with the server's key "
                    "(%(option)s changed?): an administrator must enter it again.",
                    provider=self.name,
                    option=KEY_OPTION,
                )
            )
        return value

    def _oec_azure_code_flow(self):
        """Whether the sign-in uses the authorization-code flow: the app can prove it is itself
        at the token endpoint, with its client secret or (server option
        oec_azure_client_credential) a client assertion of the host's managed identity or
        federated token, which needs no secret.

        :raise UserError: the secret cannot be decrypted, or the server option is wrong
        """
        self.ensure_one()
        return not self._oec_azure_uses_secret() or bool(self._oec_azure_client_secret())

    def _oec_azure_client_credentials(self):
        """The token request's fields that prove the app: ``client_secret``, or
        ``client_assertion_type`` + ``client_assertion`` (a fresh token of the host's managed
        identity or federated token file: services/credentials.py). Never reachable over RPC.

        :raise UserError: no credential can be had (the message says what to check)
        """
        self.ensure_one()
        if self._oec_azure_uses_secret():
            secret = self._oec_azure_client_secret()
            return {"client_secret": secret} if secret else {}
        assertion = credentials.client_assertion(
            tools.config, ca_bundle=ca_bundle(tools.config), timeout=timeout(tools.config, entra.TIMEOUT)
        )
        try:
            return {"client_assertion_type": credentials.JWT_BEARER, "client_assertion": assertion()}
        except credentials.CredentialError as exc:
            _logger.warning(
                "Microsoft Entra ID: no client assertion (%s: %s)", exc.code, exc.params.get("detail")
            )
            raise UserError(
                _(
                    "Odoo could not prove to Microsoft that it is the application: this server's managed "
                    "identity or federated token gave nothing (%(reason)s). An administrator must check the "
                    "server option %(option)s and the identity assigned to the host.",
                    reason=exc.code,
                    option=credentials.CREDENTIAL_OPTION,
                )
            ) from exc

    def _oec_azure_uses_secret(self):
        try:
            return credentials.uses_secret(tools.config)
        except credentials.CredentialError as exc:
            raise UserError(
                _(
                    "The server option %(option)s must be one of %(kinds)s; an administrator must correct "
                    "the server's configuration.",
                    option=credentials.CREDENTIAL_OPTION,
                    kinds=exc.params["kinds"],
                )
            ) from exc

    def _oec_azure_admin_consent_url(self):
        """Microsoft's admin-consent page for this app (opened in the browser)."""
        self.ensure_one()
        params = {
            "client_id": self.client_id or "",
            "scope": "https://graph.microsoft.com/.default",
            "redirect_uri": self._oec_azure_redirect_uri(),
            # Microsoft's answer comes back to /auth_oauth/signin: this marks it as the answer of this link
            "state": entra.admin_consent_state(self.id),
        }
        return entra.admin_consent_url(self.auth_endpoint, self._oec_azure_segment(), params)

    def _oec_azure_scope(self, code_flow):
        """The scope a sign-in asks for: the provider's, plus User.Read when
        the sign-in may have to read the user's groups from Graph (code flow
        and group lines: group overage). Graph refuses that to a token asked
        for the OpenID Connect scopes alone."""
        self.ensure_one()
        scope = self.scope or DEFAULT_SCOPE
        if code_flow and self.oec_azure_mapping_ids.filtered(lambda m: m.kind == "group"):
            return entra.groups_scope(scope)
        return scope

    def _oec_azure_end_session_url(self, tenant_id=None, logout_hint=None):
        """Microsoft's end_session_endpoint for this sign-in, on the browser
        host of the authorization URL. Microsoft comes back to the redirect
        URI (already registered), which leads to the login page."""
        self.ensure_one()
        tenant = tenant_id if is_guid(tenant_id) else self._oec_azure_segment()
        params = {
            "client_id": self.client_id or "",
            "post_logout_redirect_uri": self._oec_azure_redirect_uri(),
        }
        if logout_hint:
            params["logout_hint"] = logout_hint
        return entra.end_session_url(self.auth_endpoint, tenant, params)

    def _oec_azure_tenant_ids(self):
        """The tenant ids an id_token may come from; None means any tenant."""
        with _denied(self):
            return self._oec_azure_entra().tenant_ids(self._oec_azure_allowed_tenant_ids())

    def _oec_azure_verify_id_token(self, id_token, nonce):
        """The claims of a valid id_token, else AccessDenied with the reason."""
        with _denied(self):
            return self._oec_azure_entra().verify_id_token(
                id_token, nonce, self.client_id, self._oec_azure_allowed_tenant_ids()
            )

    def _oec_azure_check_at_hash(self, claims, access_token):
        with _denied(self):
            entra.check_at_hash(claims, access_token)

    def _oec_azure_graph_groups(self, access_token):
        """Object ids of the signed-in user's groups (Graph, on group overage only).

        :raise AccessDenied: with what to do, when Graph refuses or fails
        """
        with _denied(self):
            return self._oec_azure_entra().graph_groups(
                entra.graph_host(self.validation_endpoint), access_token
            )

    def _oec_azure_message(self, error):
        """The translated message of an EntraError."""
        code, params = error.code, error.params
        if code == "invalid":
            return _("The id_token is invalid: %s", params.get("reason"))
        if code == "unknown_tenant":
            return _("Microsoft did not recognise the tenant %s.", params.get("tenant"))
        if code == "graph_unauthorized" and entra.graph_only_scope(
            self._oec_azure_scope(code_flow=True), entra.graph_host(self.validation_endpoint)
        ):
            # the token was asked for Graph: Graph no longer takes it (revoked, or the session
            # ended at Microsoft meanwhile), which signing in again mends
            return _(
                "Microsoft Graph did not accept the sign-in's access token while reading your "
                "groups: the sign-in may have been revoked meanwhile. Click %s again.",
                self.body or self.name,
            )
        if code == "graph_unexpected" and params.get("retry"):
            return _("Microsoft Graph gave an unexpected answer while reading your groups. Try again later.")
        messages = {
            "directory_unreachable": _("Microsoft's directory could not be reached."),
            "no_id_token": _("Microsoft sent no id_token."),
            "malformed": _("The id_token is malformed."),
            "not_rs256": _("The id_token is not signed with RS256."),
            "unknown_key": _("The id_token is signed with an unknown key."),
            "expired": _("The id_token has expired."),
            "wrong_audience": _("The id_token was issued to another application."),
            "wrong_tenant": _("The id_token comes from a tenant that may not sign in here."),
            "personal_account": _("Personal Microsoft accounts may not sign in here."),
            "wrong_issuer": _("The id_token has an unexpected issuer."),
            "nonce": _("The id_token does not answer this sign-in (nonce mismatch)."),
            "at_hash": _("The access token does not belong to the id_token (at_hash)."),
            "graph_unreachable": _(
                "Microsoft Graph could not be reached to read your groups. Try again in a moment."
            ),
            "graph_refused": _(
                "You are a member of too many groups for the token, and Microsoft Graph "
                "refused to list them. An administrator must grant the app registration "
                "the delegated permission User.Read (Microsoft Graph, with admin consent), "
                "or map app roles instead of groups."
            ),
            "graph_unauthorized": _(
                "You are a member of too many groups for the token, and Microsoft Graph did not "
                "accept the sign-in's access token to list them. An administrator must make the "
                "provider's scope name Microsoft Graph permissions only (e.g. openid profile email "
                "User.Read), or map app roles instead of groups."
            ),
            "graph_unexpected": _("Microsoft Graph gave an unexpected answer while reading your groups."),
            "graph_too_many": _("You are a member of too many groups to be read from Microsoft Graph."),
        }
        return messages.get(code) or _("Access Denied")


@contextmanager
def _denied(provider):
    """An EntraError raised inside becomes AccessDenied with its translated message."""
    try:
        yield
    except entra.EntraError as error:
        raise AccessDenied(provider._oec_azure_message(error)) from error
