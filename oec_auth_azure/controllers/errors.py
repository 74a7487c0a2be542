# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Microsoft's ``error`` / ``error_description`` (AADSTS codes) turned into
messages that say what to do. Codes: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
"""

import re

from odoo import _

AADSTS_RE = re.compile(r"AADSTS(\d+)")
# What of Microsoft's answer a message may echo: it comes through the browser,
# so anybody can send 60 KB there.
MAX_ERROR = 64
MAX_DESCRIPTION = 200
PORTAL_AUTH_PAGE = "App registrations > (your app) > Authentication"


def aadsts_code(description):
    match = AADSTS_RE.search(description or "")
    return match.group(1) if match else None


def button_label(env, provider):
    """The label of the provider's button on the login page (its ``body``),
    for messages that tell the user which button to click again."""
    if isinstance(provider, int):
        provider = env["auth.oauth.provider"].sudo().browse(provider).exists()
    if not provider:
        return _("Microsoft Azure")
    return provider.body or provider.name


def _wait(seconds):
    if not seconds or seconds <= 60:
        return _("a minute")
    return _("%s minutes", -(-seconds // 60))


def azure_error_message(provider, error, description, retry_after=None):
    """A dict (text, and optionally url + url_label) for the login page.
    ``retry_after``: the seconds Microsoft asked to wait, if it said."""
    error = str(error or "")[:MAX_ERROR]
    description = str(description or "")
    code = aadsts_code(description[:MAX_DESCRIPTION])
    ref = "AADSTS%s" % code if code else (error or "error")
    if error in ("temporarily_unavailable", "server_error"):
        # Microsoft busy (429), failing (5xx) or out of reach: its own words are not the
        # user's business, the wait is
        return {
            "text": _(
                "Microsoft could not complete the sign-in just now (%(ref)s). Wait %(wait)s, then "
                "click %(button)s again.",
                ref=ref,
                wait=_wait(retry_after),
                button=button_label(provider.env, provider),
            )
        }
    if code in ("65001", "90094", "90008", "90099") or error == "consent_required":
        return {
            "text": _(
                "Your organisation has not allowed Odoo to sign you in yet (%(ref)s). Ask an "
                "administrator of your Microsoft Entra tenant to open this link and grant consent "
                "for the organisation, then sign in again.",
                ref=ref,
            ),
            "url": provider._oec_azure_admin_consent_url(),
            "url_label": _("Admin consent link"),
        }
    if code in ("50011", "500117", "500113"):
        return {
            "text": _(
                "The redirect URI of Odoo is not registered in Azure (%(ref)s). An administrator "
                "must open %(page)s in the Azure portal and add this Web redirect URI, exactly: "
                "%(uri)s",
                ref=ref,
                page=PORTAL_AUTH_PAGE,
                uri=provider._oec_azure_redirect_uri(),
            )
        }
    if code in ("50020", "500200", "50177"):
        return {
            "text": _(
                "Your Microsoft account belongs to another organisation (%(ref)s). Sign in with an "
                "account of this company's directory, or ask an administrator to invite your "
                "account as a guest or to allow your tenant in Odoo.",
                ref=ref,
            )
        }
    if code in ("700054", "700051") or error == "unsupported_response_type":
        box = (
            _("Access tokens (used for implicit flows)")
            if code == "700051"
            else _("ID tokens (used for implicit and hybrid flows)")
        )
        return {
            "text": _(
                "The Azure app registration does not allow this sign-in (%(ref)s). An administrator "
                "must open %(page)s in the Azure portal, tick '%(box)s' under 'Implicit grant and "
                "hybrid flows' and save; or set a client secret in Odoo's Settings to use the "
                "authorization-code flow instead.",
                ref=ref,
                page=PORTAL_AUTH_PAGE,
                box=box,
            )
        }
    if code in ("65004", "50126") or (error == "access_denied" and code is None):
        return {
            "text": _(
                "The Microsoft sign-in was cancelled (%(ref)s). Click %(button)s again to sign in.",
                ref=ref,
                button=button_label(provider.env, provider),
            )
        }
    if code in ("70021", "700213", "700024"):
        return {
            "text": _(
                "The Azure app registration does not trust the identity of this Odoo server (%(ref)s). "
                "An administrator must add a federated credential for the server's managed identity "
                "(App registrations > (your app) > Certificates & secrets > Federated credentials) or "
                "check the server option oec_azure_client_credential.",
                ref=ref,
            )
        }
    if code in ("7000215", "7000222", "7000218") or error == "invalid_client":
        return {
            "text": _(
                "Odoo's client secret for Microsoft Azure is wrong or has expired (%(ref)s). An "
                "administrator must create a new one in the Azure portal (App registrations > "
                "(your app) > Certificates & secrets) and paste its Value in Odoo's Settings.",
                ref=ref,
            )
        }
    if code == "50194":
        return {
            "text": _(
                "The Azure app registration is single-tenant (%(ref)s): an administrator must set "
                "the directory (tenant) ID in Odoo's Settings instead of organizations or common.",
                ref=ref,
            )
        }
    if code in ("700016", "90002", "900023"):
        return {
            "text": _(
                "Microsoft does not know the application (client) ID or the tenant set in Odoo "
                "(%(ref)s). An administrator must check them in Odoo's Settings against the app "
                "registration's Overview page.",
                ref=ref,
            )
        }
    if code == "50105":
        return {
            "text": _(
                "You are not assigned to the Odoo application in Microsoft Entra ID (%(ref)s). Ask "
                "an administrator to add you under Enterprise applications > (the app) > Users and "
                "groups.",
                ref=ref,
            )
        }
    if code == "53003":
        return {
            "text": _(
                "A Conditional Access policy of your organisation blocked this sign-in (%(ref)s). "
                "Contact your IT administrator.",
                ref=ref,
            )
        }
    if code in ("50058", "50076", "50079") or error in ("login_required", "interaction_required"):
        return {
            "text": _(
                "Microsoft needs you to sign in interactively (%(ref)s). Click %(button)s again.",
                ref=ref,
                button=button_label(provider.env, provider),
            )
        }
    if code in ("70008", "54005", "70000"):
        return {
            "text": _(
                "The Microsoft sign-in took too long or was already used (%(ref)s). Click %(button)s again.",
                ref=ref,
                button=button_label(provider.env, provider),
            )
        }
    first_line = description.splitlines()[0][:MAX_DESCRIPTION] if description.strip() else ""
    return {
        "text": _(
            "Microsoft refused the sign-in (%(ref)s): %(detail)s",
            ref=ref,
            detail=first_line or error or _("no details"),
        )
    }


def admin_consent_message(provider, error):
    """A dict (text, and url + url_label when ``provider`` is known) for the
    login page, after Microsoft's admin-consent page refused: what happened
    and who must act. ``error``: services.entra.admin_consent_answer()'s."""
    ref = error.params["reference"]
    if error.code == "admin_consent_declined":
        text = _(
            "Administrator consent was not granted (%(ref)s): the consent page was cancelled, or "
            'the account that signed in may not consent for the organisation (Microsoft shows "Need '
            'admin approval"). A Privileged Role Administrator, Cloud Application Administrator or '
            "Application Administrator of your Microsoft Entra tenant must open the admin consent "
            "link and choose Accept; users can then sign in.",
            ref=ref,
        )
    elif error.code == "admin_consent_other_tenant":
        text = _(
            "Administrator consent was not granted (%(ref)s): the account that signed in belongs to "
            "another organisation than the one the link is for. An administrator of the "
            "organisation whose users sign in to Odoo must open the admin consent link and choose "
            "Accept.",
            ref=ref,
        )
    else:
        text = _(
            "Microsoft refused the administrator consent (%(ref)s): %(detail)s",
            ref=ref,
            detail=error.params["detail"][:MAX_DESCRIPTION] or _("no details"),
        )
    message = {"text": text}
    if provider:
        message.update(url=provider._oec_azure_admin_consent_url(), url_label=_("Admin consent link"))
    return message
