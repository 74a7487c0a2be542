"""One typed error for every Azure / Entra ID failure: codes and values, no words.

services/ does not import odoo and holds no user-facing text. An
:class:`AzureError` says *what* happened (``key``: which situation, ``params``:
its values) and *what it means* (``kind``); the words people read, in their
language, are chosen in the Odoo layer (``models/azure_messages.py``, shown by
``cloud.account._azure_error_message``).
"""

import re

# error kinds, so callers decide without parsing messages
KIND_DENIED = "denied"  # the user cancelled or declined consent
KIND_CONSENT = "admin_consent"  # an administrator must consent first
KIND_TENANT = "wrong_tenant"
KIND_CLIENT = "client"  # the application's configuration is wrong
KIND_GRANT = "invalid_grant"  # the refresh token is dead: reconnect
KIND_TRANSIENT = "transient"  # timeouts, 5xx, 429: retry later
KIND_ACCESS = "access"  # the signed-in account lacks a role or subscription
KIND_REQUEST = "request"  # anything else Azure refused

# AADSTS code -> kind; the message key is "aadsts.<code>"
AADSTS = {
    "65001": KIND_CONSENT,
    "90094": KIND_CONSENT,
    "90095": KIND_CONSENT,
    "65004": KIND_DENIED,
    "50020": KIND_TENANT,
    "90002": KIND_TENANT,
    "700016": KIND_CLIENT,
    "7000215": KIND_CLIENT,
    "7000222": KIND_CLIENT,
    "7000218": KIND_CLIENT,
    # a client assertion instead of the secret (managed identity / federated credential)
    "70021": KIND_CLIENT,
    "700213": KIND_CLIENT,
    "700024": KIND_CLIENT,
    "50011": KIND_CLIENT,
    "500113": KIND_CLIENT,
    "700082": KIND_GRANT,
    "50173": KIND_GRANT,
    "70008": KIND_GRANT,
    "54005": KIND_DENIED,
    "50076": KIND_GRANT,
    "50079": KIND_GRANT,
    "90033": KIND_TRANSIENT,
    "53003": KIND_ACCESS,
    "50105": KIND_ACCESS,
}

# ARM error code -> kind; the message key is "arm.<code>"
ARM = {
    "AuthorizationFailed": KIND_ACCESS,
    "SubscriptionNotFound": KIND_ACCESS,
    "InvalidAuthenticationTokenTenant": KIND_TENANT,
    "ExpiredAuthenticationToken": KIND_TRANSIENT,
    "MissingSubscriptionRegistration": KIND_ACCESS,
    # creating and operating VMs (the usual reasons a VM creation fails)
    "QuotaExceeded": KIND_REQUEST,
    "OperationNotAllowed": KIND_REQUEST,
    "SkuNotAvailable": KIND_REQUEST,
    "AllocationFailed": KIND_REQUEST,
    "ZonalAllocationFailed": KIND_REQUEST,
    # 409: not allowed in the resource's current state (another operation changes or deletes it)
    "Conflict": KIND_REQUEST,
    # 409: another operation changes this or a dependent resource; it ends by itself
    "AnotherOperationInProgress": KIND_TRANSIENT,
    "RequestDisallowedByPolicy": KIND_ACCESS,
    "InvalidParameter": KIND_REQUEST,
    "ResourceGroupNotFound": KIND_REQUEST,
    "ReadOnlyDisabledSubscription": KIND_ACCESS,
}

# ARM's answers to an API version the cloud does not offer (older national or private clouds):
# 400 InvalidApiVersionParameter (Resource Manager's own: subscriptions, groups, providers), 400
# NoRegisteredProviderFound (a provider's type, with a location), 404 InvalidResourceType (a
# provider's type, without one); the message key "arm.api_version" names the operation and the
# version sent, for the cloud's API version overrides (services/api_versions.py)
API_VERSION_CODES = ("InvalidApiVersionParameter", "NoRegisteredProviderFound", "InvalidResourceType")

# ARM codes of Azure DNS calls -> (kind, message key); before ARM's generic keys there.
DNS = {
    "ResourceNotFound": (KIND_REQUEST, "dns.zone_not_found"),
    "ParentResourceNotFound": (KIND_REQUEST, "dns.zone_not_found"),
    "AuthorizationFailed": (KIND_ACCESS, "dns.AuthorizationFailed"),
    "MissingSubscriptionRegistration": (KIND_ACCESS, "dns.MissingSubscriptionRegistration"),
    "PreconditionFailed": (KIND_REQUEST, "dns.PreconditionFailed"),
    "TooManyRequests": (KIND_TRANSIENT, "dns.TooManyRequests"),
    "BadRequest": (KIND_REQUEST, "dns.BadRequest"),
}
# 412 answering a creation sent with If-None-Match: *
DNS_RECORD_EXISTS = (KIND_REQUEST, "dns.record_exists")
# an A record set the servers' code found made by someone else (metadata of another owner, or none)
DNS_FOREIGN_RECORD = (KIND_REQUEST, "dns.foreign_record")

# Blob Storage (data plane answers carry x-ms-error-code) and the storage
# account's ARM calls -> (kind, message key): the usual reasons a storage
# location ends "Cannot Access".
STORAGE = {
    "AuthorizationFailure": (KIND_ACCESS, "storage.AuthorizationFailure"),
    "KeyBasedAuthenticationNotPermitted": (KIND_ACCESS, "storage.KeyBasedAuthenticationNotPermitted"),
    "AuthorizationPermissionMismatch": (KIND_ACCESS, "storage.AuthorizationPermissionMismatch"),
    "AuthenticationFailed": (KIND_ACCESS, "storage.AuthenticationFailed"),
    # a bearer token Azure Storage did not accept (401, see the WWW-Authenticate header)
    "InvalidAuthenticationInfo": (KIND_ACCESS, "storage.InvalidAuthenticationInfo"),
    "ContainerNotFound": (KIND_REQUEST, "storage.ContainerNotFound"),
    "BlobNotFound": (KIND_REQUEST, "storage.BlobNotFound"),
    "ResourceNotFound": (KIND_REQUEST, "storage.account_not_found"),
    "ParentResourceNotFound": (KIND_REQUEST, "storage.account_not_found"),
    "StorageAccountNotFound": (KIND_REQUEST, "storage.account_not_found"),
    "AuthorizationFailed": (KIND_ACCESS, "storage.AuthorizationFailed"),
    # a tier the account does not offer (premium accounts have none), set when a backup is committed
    "InvalidBlobTier": (KIND_REQUEST, "storage.InvalidBlobTier"),
    # the blob was written again while it was read (azure-storage-blob reads ranges with If-Match)
    "ConditionNotMet": (KIND_REQUEST, "storage.ConditionNotMet"),
    # blobs Azure keeps from deletion: immutability (time-based retention, legal hold), a lease
    "BlobImmutableDueToPolicy": (KIND_REQUEST, "storage.BlobImmutableDueToPolicy"),
    "BlobImmutableDueToLegalHold": (KIND_REQUEST, "storage.BlobImmutableDueToLegalHold"),
    "LeaseIdMissing": (KIND_REQUEST, "storage.LeaseIdMissing"),
    "ServerBusy": (KIND_TRANSIENT, "storage.ServerBusy"),
    "OperationTimedOut": (KIND_TRANSIENT, "storage.OperationTimedOut"),
    "InternalError": (KIND_TRANSIENT, "storage.InternalError"),
}

# ARM's code when the signed-in identity has no role allowing the call on its scope (403)
ACCOUNT_CODES = frozenset({"AuthorizationFailed"})

TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
TRANSIENT_ERRORS = {
    "temporarily_unavailable",
    "server_error",
    "TooManyRequests",
    "ServiceUnavailable",
    "InternalServerError",
}
_AADSTS_RE = re.compile(r"AADSTS(\d+)")


class AzureError(Exception):
    """A failure reported by Azure (or on the way to it).

    ``key``: which situation, the key of its message in the Odoo layer
    (e.g. ``arm.AuthorizationFailed``, ``oauth.invalid_grant``), ``params``:
    the values its message names (``%(name)s``), ``code``: the Azure / OAuth
    code (e.g. ``invalid_grant``, ``AuthorizationFailed``), ``aadsts``: the
    AADSTS number when Entra ID gave one, ``kind``: one of the ``KIND_*``
    constants, ``detail``: Azure's own text (no secrets), ``status``: HTTP
    status when there was one, ``retry_after``: seconds Azure asked to wait.
    """

    def __init__(
        self,
        key,
        code=None,
        aadsts=None,
        kind=KIND_REQUEST,
        detail=None,
        status=None,
        params=None,
        retry_after=None,
    ):
        self.key = key
        self.params = dict(params or {})
        super().__init__(key)
        self.code = code
        self.aadsts = aadsts
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after = retry_after

    @property
    def reference(self):
        """What support needs to look the failure up: the AADSTS number, else the code."""
        return self.aadsts and "AADSTS%s" % self.aadsts or self.code

    @property
    def of_account(self):
        """Whether the account's own sign-in or rights failed, not the resource worked on:
        a dead or refused token (HTTP 401, invalid_grant, interaction or consent required),
        Entra ID refusing the sign-in (an AADSTS code), the application's configuration,
        or a 403 AuthorizationFailed (the signed-in identity lacks a role). A transient
        failure never is."""
        if self.kind == KIND_TRANSIENT:
            return False
        return bool(
            self.kind in (KIND_GRANT, KIND_CONSENT, KIND_CLIENT, KIND_TENANT)
            or self.aadsts
            or self.status == 401
            or self.code in ACCOUNT_CODES
        )

    def __str__(self):
        """For logs: the key, its values and the reference (people read the Odoo layer's message)."""
        text = "%s %s" % (self.key, self.params) if self.params else self.key
        ref = self.reference
        return "%s (%s)" % (text, ref) if ref else text

    @classmethod
    def from_oauth(cls, error, description=None, error_codes=None, status=None):
        """From an OAuth error (authorize redirect or token endpoint answer)."""
        description = description or ""
        match = _AADSTS_RE.search(description)
        aadsts = match.group(1) if match else None
        if not aadsts and error_codes:
            aadsts = str(error_codes[0])
        first_line = description.splitlines()[0] if description else error
        params = None
        if aadsts in AADSTS:
            kind, key = AADSTS[aadsts], "aadsts.%s" % aadsts
        elif error == "access_denied":
            kind, key = AADSTS["65004"], "aadsts.65004"
        elif error in TRANSIENT_ERRORS or (status or 0) in TRANSIENT_STATUS:
            kind, key = KIND_TRANSIENT, "oauth.transient"
        elif error == "invalid_grant":
            kind, key = KIND_GRANT, "oauth.invalid_grant"
        elif error == "interaction_required" or error == "consent_required":
            kind, key = KIND_GRANT, "oauth.sign_in_again"
        elif error in ("invalid_client", "unauthorized_client"):
            kind, key = KIND_CLIENT, "oauth.client"
        else:
            kind, key = KIND_REQUEST, "oauth.refused"
            params = {"detail": first_line}
        return cls(
            key,
            code=error,
            aadsts=aadsts,
            kind=kind,
            detail=first_line,
            status=status,
            params=params,
        )

    @classmethod
    def from_arm(cls, status, code, detail, codes=None, statuses=None, retry_after=None, values=None):
        """``codes`` / ``statuses``: {code or HTTP status: (kind, key)} of
        one service (e.g. DNS), before ARM's generic keys; ``values``: more
        values their messages name (e.g. the storage account's name)."""
        params = None
        specific = (statuses or {}).get(status) or (codes or {}).get(code)
        if code in API_VERSION_CODES:
            kind, key = KIND_REQUEST, "arm.api_version"
            params = {"detail": detail or code, "operation": "?", "api_version": "?"}
            params.update(values or {})
        elif specific:
            kind, key = specific
            params = {"detail": detail or code, "status": status, "retry_after": retry_after or 0}
            params.update(values or {})
        elif code in ARM and status != 429:  # a throttled call says OperationNotAllowed too
            kind, key = ARM[code], "arm.%s" % code
            params = {"detail": detail or code}
        elif status == 429 and retry_after:
            # throttled: Azure says when to come back (Compute: up to 1200 s); the job waits that long
            kind, key = KIND_TRANSIENT, "arm.throttled"
            params = {"retry_after": retry_after}
        elif status in TRANSIENT_STATUS:
            kind, key = KIND_TRANSIENT, "arm.transient"
            params = {"status": status}
        elif status == 401:
            kind, key = KIND_GRANT, "arm.unauthorized"
        else:
            kind, key = KIND_REQUEST, "arm.refused"
            params = {"detail": detail or code}
        return cls(
            key, code=code, kind=kind, detail=detail, status=status, params=params, retry_after=retry_after
        )

    @classmethod
    def network(cls, exc):
        return cls(
            "network",
            code="NetworkError",
            kind=KIND_TRANSIENT,
            detail=str(exc)[:300],
            params={"error": type(exc).__name__},
        )
