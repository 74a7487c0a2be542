"""The admin-consent endpoint's redirects (granted, and its documented and
recorded refusals), as both addons read them: oec_auth_azure services/entra.py
and oec_cloud_accounts services/identity.py. No HTTP: the browser brings them."""

import pytest
from replay import load

from odoo.addons.oec_auth_azure.services import entra
from odoo.addons.oec_cloud_accounts.services.errors import KIND_CONSENT
from odoo.addons.oec_cloud_accounts.services.identity import admin_consent_answer


def test_granted():
    answer = load("entra/admin_consent_granted")["redirect"]
    assert entra.admin_consent_answer(answer) == (1, None)
    assert admin_consent_answer(answer) == (1, None)


@pytest.mark.parametrize(
    "fixture, code, reference, key",
    [
        # the documented error response
        ("admin_consent_error", "admin_consent_declined", "AADSTS65004", "admin_consent.declined"),
        # an administrator cancelled
        ("admin_consent_cancelled", "admin_consent_declined", "AADSTS65004", "admin_consent.declined"),
        # no administrator: "Need admin approval", left without consenting (no admin_consent, no description)
        ("admin_consent_not_admin", "admin_consent_declined", "access_denied", "admin_consent.declined"),
        (
            "admin_consent_other_tenant",
            "admin_consent_other_tenant",
            "AADSTS50020",
            "admin_consent.other_tenant",
        ),
    ],
)
def test_refused(fixture, code, reference, key):
    answer = load("entra/" + fixture)["redirect"]
    record_id, error = entra.admin_consent_answer(answer)
    assert (record_id, error.code, error.params["reference"]) == (1, code, reference)
    record_id, error = admin_consent_answer(answer)
    assert (record_id, error.key, error.kind, error.reference) == (1, key, KIND_CONSENT, reference)
    description = answer.get("error_description")
    # Microsoft's first line, or its error code when it gave no description
    assert error.detail == (description.split("\r\n")[0] if description else answer["error"])


def test_other_refusal_keeps_microsofts_words():
    answer = dict(load("entra/admin_consent_error")["redirect"], error="invalid_request")
    answer["error_description"] = (
        "AADSTS900144: The request body must contain the following parameter: 'scope'."
    )
    _record_id, error = admin_consent_answer(answer)
    assert (error.key, error.reference) == ("admin_consent.refused", "AADSTS900144")
    assert error.params == {"detail": answer["error_description"]}


def test_other_redirects_are_no_admin_consent_answer():
    """A sign-in's own answers (another state, no admin_consent) are left to the sign-in."""
    cancelled = load("entra/authorize_cancelled")["redirect"]
    assert entra.admin_consent_answer(cancelled) is None
    assert admin_consent_answer({}) is None
    # a state naming no record still marks our link
    assert entra.admin_consent_answer({"state": "oec_admin_consent:x", "error": "access_denied"})[0] is None
