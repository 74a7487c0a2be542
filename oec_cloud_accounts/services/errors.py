"""One typed error for every Azure / Entra ID failure, with a message to act on."""

import re


def _lt(message):
    """Mark ``message`` as translatable and return it unchanged.

    services/ must not import odoo, but Odoo's .pot export (babel's python
    extractor) collects the string literals passed to any function *named*
    ``_`` or ``_lt``, whatever it does. So the English texts below reach the
    module's .pot, and the Odoo side translates them when it shows them
    (``cloud.account._azure_error_message``): values are named placeholders,
    filled in only after translation (``AzureError.message_args``).
    """
    return message


# error kinds, so callers decide without parsing messages
KIND_DENIED = "denied"  # the user cancelled or declined consent
KIND_CONSENT = "admin_consent"  # an administrator must consent first
KIND_TENANT = "wrong_tenant"
KIND_CLIENT = "client"  # the application's configuration is wrong
KIND_GRANT = "invalid_grant"  # the refresh token is dead: reconnect
KIND_TRANSIENT = "transient"  # timeouts, 5xx, 429: retry later
KIND_ACCESS = "access"  # the signed-in account lacks a role or subscription
KIND_REQUEST = "request"  # anything else Azure refused

# AADSTS code -> (kind, what to do). Texts follow Microsoft's documentation
# of the codes, rewritten as instructions.
AADSTS = {
    "65001": (
        KIND_CONSENT,
        _lt(
            "Admin consent required: an administrator of your Microsoft Entra tenant must approve "
            "this application (Enterprise applications) before you can connect."
        ),
    ),
    "90094": (
        KIND_CONSENT,
        _lt(
            "Admin consent required: your organisation only lets administrators approve new "
            "applications. Ask a Global Administrator to grant consent, then connect again."
        ),
    ),
    "90095": (
        KIND_CONSENT,
        _lt("Admin consent required: ask a Global Administrator to grant consent, then connect again."),
    ),
    "65004": (
        KIND_DENIED,
        _lt(
            "Authorization denied: the consent was cancelled or declined. Click Add Account again "
            "and choose Accept."
        ),
    ),
    "50020": (
        KIND_TENANT,
        _lt(
            "Wrong tenant: the Microsoft account you signed in with does not belong to the "
            "directory (tenant) configured for this connection. Sign in with an account of that "
            "tenant, or change the tenant in Settings > Cloud Accounts."
        ),
    ),
    "90002": (
        KIND_TENANT,
        _lt("Tenant not found: check the tenant in Settings > Cloud Accounts and the Azure cloud chosen."),
    ),
    "700016": (
        KIND_CLIENT,
        _lt(
            "Application not found: the client id in Settings > Cloud Accounts does not exist in this "
            "Azure cloud or tenant. Check the client id and the Azure cloud selected."
        ),
    ),
    "7000215": (
        KIND_CLIENT,
        _lt(
            "Invalid client secret: set the secret's Value (not its Secret ID) from the application's "
            "Certificates & secrets page in Settings > Cloud Accounts."
        ),
    ),
    "7000222": (
        KIND_CLIENT,
        _lt(
            "The client secret has expired: create a new one in the application's Certificates & "
            "secrets page and set it in Settings > Cloud Accounts."
        ),
    ),
    "7000218": (
        KIND_CLIENT,
        _lt("No client secret is configured: set it in Settings > Cloud Accounts."),
    ),
    "50011": (
        KIND_CLIENT,
        _lt(
            "Redirect URI mismatch: register the redirect URI shown in Settings > Cloud Accounts "
            "on the Azure application (Authentication > Web)."
        ),
    ),
    "500113": (
        KIND_CLIENT,
        _lt(
            "No redirect URI is registered: add the one shown in Settings > Cloud Accounts to the "
            "Azure application (Authentication > Web)."
        ),
    ),
    "700082": (
        KIND_GRANT,
        _lt("The sign-in expired after a long inactivity: click Reconnect and sign in again."),
    ),
    "50173": (
        KIND_GRANT,
        _lt(
            "The sign-in was revoked (password changed, MFA reset or sessions revoked): click "
            "Reconnect and sign in again."
        ),
    ),
    "70008": (
        KIND_GRANT,
        _lt("The authorization expired: click Reconnect and sign in again."),
    ),
    "54005": (
        KIND_DENIED,
        _lt("This sign-in answer was already used: click Add Account again."),
    ),
    "50076": (
        KIND_GRANT,
        _lt("Multi-factor authentication is now required: click Reconnect and sign in again."),
    ),
    "50079": (
        KIND_GRANT,
        _lt("Multi-factor authentication registration is required: click Reconnect and sign in again."),
    ),
    "90033": (KIND_TRANSIENT, _lt("Microsoft Entra ID had a transient error: it will be retried.")),
    "53003": (
        KIND_ACCESS,
        _lt("Blocked by a Conditional Access policy of your organisation: ask your administrator."),
    ),
    "50105": (
        KIND_ACCESS,
        _lt(
            "Your account is not assigned to this application: ask an administrator to assign you in "
            "Enterprise applications."
        ),
    ),
}

# ARM error code -> (kind, what to do)
ARM = {
    "AuthorizationFailed": (
        KIND_ACCESS,
        _lt(
            "The Microsoft account lacks a role on the subscription: give it Owner or Contributor in "
            "the Azure portal (Subscription > Access control (IAM)), then retry."
        ),
    ),
    "SubscriptionNotFound": (
        KIND_ACCESS,
        _lt("The subscription was not found or the account has no access to it."),
    ),
    "InvalidAuthenticationTokenTenant": (
        KIND_TENANT,
        _lt("The subscription belongs to another tenant than the account signed in."),
    ),
    "ExpiredAuthenticationToken": (KIND_TRANSIENT, _lt("The access token expired; it is renewed on retry.")),
    "MissingSubscriptionRegistration": (
        KIND_ACCESS,
        _lt("A resource provider is not registered on the subscription: register it from the account."),
    ),
    # creating and operating VMs (the usual reasons a VM creation fails)
    "QuotaExceeded": (
        KIND_REQUEST,
        _lt(
            "Not enough vCPU quota for this size in this region: ask for more in the Azure portal "
            "(Subscription > Usage + quotas), pick a smaller size or another region."
        ),
    ),
    "OperationNotAllowed": (
        KIND_REQUEST,
        _lt(
            "Azure did not allow the operation, usually a quota limit: check Subscription > Usage + quotas "
            "in the Azure portal, or pick a smaller size or another region."
        ),
    ),
    "SkuNotAvailable": (
        KIND_REQUEST,
        _lt(
            "This VM size is not available to your subscription in this region: pick another size "
            "or another region."
        ),
    ),
    "AllocationFailed": (
        KIND_REQUEST,
        _lt(
            "Azure has no capacity for this VM size in this region right now: retry later, or pick "
            "another size or region."
        ),
    ),
    "ZonalAllocationFailed": (
        KIND_REQUEST,
        _lt(
            "Azure has no capacity for this VM size in this availability zone right now: retry later, "
            "or pick another size or region."
        ),
    ),
    "RequestDisallowedByPolicy": (
        KIND_ACCESS,
        _lt(
            "An Azure Policy of your organisation forbids this resource (region, size, public IP or "
            "tags): ask your Azure administrator which policy, or change the server's settings."
        ),
    ),
    "InvalidParameter": (
        KIND_REQUEST,
        _lt("Azure refused a value of the server: %(detail)s"),
    ),
    "ResourceGroupNotFound": (
        KIND_REQUEST,
        _lt("The server's resource group no longer exists in Azure (deleted outside Odoo?)."),
    ),
    "ReadOnlyDisabledSubscription": (
        KIND_ACCESS,
        _lt("The subscription is disabled: re-enable it in the Azure portal."),
    ),
}

# ARM codes of Azure DNS calls -> (kind, what to do); they override ARM's generic texts there.
_ZONE_NOT_FOUND = _lt(
    "The DNS zone was not found in Azure (deleted, moved or renamed?): run DNS Quick Setup on the "
    "account again to pick the zone."
)
DNS = {
    "ResourceNotFound": (KIND_REQUEST, _ZONE_NOT_FOUND),
    "ParentResourceNotFound": (KIND_REQUEST, _ZONE_NOT_FOUND),
    "AuthorizationFailed": (
        KIND_ACCESS,
        _lt(
            "The Microsoft account may not manage this DNS zone: give it the DNS Zone Contributor role on "
            "the zone or its resource group (Azure portal > DNS zone > Access control (IAM))."
        ),
    ),
    "MissingSubscriptionRegistration": (
        KIND_ACCESS,
        _lt(
            "Microsoft.Network is not registered on the subscription: register it from the account's "
            "Subscriptions (Register Microsoft.Network), wait a few minutes, then try again."
        ),
    ),
    "PreconditionFailed": (
        KIND_REQUEST,
        _lt(
            "The record set was changed in Azure (for instance in the Azure portal) since Odoo loaded it: "
            "nothing was overwritten. Reload the record to see its current values, then apply your "
            "change again."
        ),
    ),
    "TooManyRequests": (
        KIND_TRANSIENT,
        _lt(
            "Azure DNS is throttling the requests (too many in a short time): Odoo waited and retried; "
            "wait %(retry_after)s seconds and try again."
        ),
    ),
    "BadRequest": (
        KIND_REQUEST,
        _lt("Azure DNS refused the record: %(detail)s Check the name, the addresses and the TTL."),
    ),
}
# 412 answering a creation sent with If-None-Match: *
DNS_RECORD_EXISTS = (
    KIND_REQUEST,
    _lt(
        "A record set of this name and type already exists in Azure (made outside Odoo, or meanwhile): "
        "it was left untouched. Reload the zone's records and edit the existing record instead."
    ),
)
# an A record set the servers' code found made by someone else (metadata of another owner, or none)
DNS_FOREIGN_RECORD = (
    KIND_REQUEST,
    _lt(
        "%(fqdn)s already has an A record that Odoo did not create for this server (made in the Azure "
        "portal, or by another database): it was left untouched. Delete it in Azure, or choose another "
        "host name."
    ),
)

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

    ``code``: the Azure / OAuth code (e.g. ``invalid_grant``, ``AuthorizationFailed``),
    ``aadsts``: the AADSTS number when Entra ID gave one, ``kind``: one of the
    ``KIND_*`` constants, ``message``: what the user should do, in English (logs,
    ``str()``), ``message_template`` and ``message_args``: the same before its
    ``%(name)s`` values are filled in, to translate the template first (marked
    with ``_lt`` for the .pot), ``detail``: Azure's own text (no secrets),
    ``status``: HTTP status when there was one, ``retry_after``: seconds Azure
    asked to wait.
    """

    def __init__(
        self, message, code=None, aadsts=None, kind=KIND_REQUEST, detail=None, status=None, message_args=None
    ):
        self.message_template = message
        self.message_args = dict(message_args or {})
        self.message = message % self.message_args if self.message_args else message
        super().__init__(self.message)
        self.code = code
        self.aadsts = aadsts
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after = None

    @property
    def reference(self):
        """What support needs to look the failure up: the AADSTS number, else the code."""
        return self.aadsts and "AADSTS%s" % self.aadsts or self.code

    def __str__(self):
        ref = self.reference
        return "%s (%s)" % (self.message, ref) if ref else self.message

    @classmethod
    def from_oauth(cls, error, description=None, error_codes=None, status=None):
        """From an OAuth error (authorize redirect or token endpoint answer)."""
        description = description or ""
        match = _AADSTS_RE.search(description)
        aadsts = match.group(1) if match else None
        if not aadsts and error_codes:
            aadsts = str(error_codes[0])
        first_line = description.splitlines()[0] if description else error
        args = None
        if aadsts in AADSTS:
            kind, message = AADSTS[aadsts]
        elif error == "access_denied":
            kind, message = AADSTS["65004"]
        elif error in TRANSIENT_ERRORS or (status or 0) in TRANSIENT_STATUS:
            kind = KIND_TRANSIENT
            message = _lt("Microsoft Entra ID is temporarily unavailable: it will be retried.")
        elif error == "invalid_grant":
            kind = KIND_GRANT
            message = _lt("The sign-in is no longer valid: click Reconnect and sign in again.")
        elif error == "interaction_required" or error == "consent_required":
            kind = KIND_GRANT
            message = _lt("Microsoft asks you to sign in again: click Reconnect.")
        elif error in ("invalid_client", "unauthorized_client"):
            kind = KIND_CLIENT
            message = _lt("The Azure application is misconfigured: check Settings > Cloud Accounts.")
        else:
            kind = KIND_REQUEST
            message = _lt("Microsoft Entra ID refused the request: %(detail)s")
            args = {"detail": first_line}
        return cls(
            message,
            code=error,
            aadsts=aadsts,
            kind=kind,
            detail=first_line,
            status=status,
            message_args=args,
        )

    @classmethod
    def from_arm(cls, status, code, detail, codes=None, statuses=None, retry_after=None, values=None):
        """``codes`` / ``statuses``: {code or HTTP status: (kind, message)} of
        one service (e.g. DNS), before ARM's generic texts; ``values``: more
        placeholders their messages use (e.g. the storage account's name)."""
        args = None
        specific = (statuses or {}).get(status) or (codes or {}).get(code)
        if specific:
            kind, message = specific
            args = {"detail": detail or code, "status": status, "retry_after": retry_after or 0}
            args.update(values or {})
        elif code in ARM and status != 429:  # a throttled call says OperationNotAllowed too
            kind, message = ARM[code]
            if "%(detail)s" in message:
                args = {"detail": detail or code}
        elif status in TRANSIENT_STATUS:
            kind = KIND_TRANSIENT
            message = _lt("Azure is busy or unavailable (HTTP %(status)s): it will be retried.")
            args = {"status": status}
        elif status == 401:
            kind = KIND_GRANT
            message = _lt("Azure refused the access token: click Reconnect.")
        else:
            kind = KIND_REQUEST
            message = _lt("Azure refused the request: %(detail)s")
            args = {"detail": detail or code}
        error = cls(message, code=code, kind=kind, detail=detail, status=status, message_args=args)
        error.retry_after = retry_after
        return error

    @classmethod
    def network(cls, exc):
        return cls(
            _lt("Azure could not be reached (%(error)s): it will be retried."),
            code="NetworkError",
            kind=KIND_TRANSIENT,
            detail=str(exc)[:300],
            message_args={"error": type(exc).__name__},
        )


# Blob Storage (data plane answers carry x-ms-error-code) and the storage
# account's ARM calls -> (kind, what to do): the usual reasons a storage location
# ends "Cannot Access", with what to change in the Azure portal.
STORAGE = {
    "AuthorizationFailure": (
        KIND_ACCESS,
        _lt(
            "The storage account refused Odoo's connection: its network rules (firewall) do not allow "
            "this Odoo server. In the Azure portal, open the storage account > Networking and allow "
            "public network access from selected networks including this server's public IP address "
            "(or from all networks), then test the access again."
        ),
    ),
    "KeyBasedAuthenticationNotPermitted": (
        KIND_ACCESS,
        _lt(
            "Shared key access is disabled on the storage account, and Odoo writes backups with the "
            "account key. In the Azure portal, open the storage account > Configuration, set 'Allow "
            "storage account key access' to Enabled, save, then test the access again."
        ),
    ),
    "AuthorizationPermissionMismatch": (
        KIND_ACCESS,
        _lt(
            "The identity used has no data role on the storage account: give it 'Storage Blob Data "
            "Contributor' on the storage account or the container (Azure portal > storage account > "
            "Access control (IAM) > Add role assignment), wait a few minutes, then test again."
        ),
    ),
    "AuthenticationFailed": (
        KIND_ACCESS,
        _lt(
            "The storage account rejected the key Odoo used (keys rotated meanwhile?): test the access "
            "again; Odoo reads the current key from Azure each time."
        ),
    ),
    "ContainerNotFound": (
        KIND_REQUEST,
        _lt(
            "The blob container %(container)s does not exist in the storage account (deleted in the "
            "Azure portal?): run Storage Quick Setup again to pick or create a container."
        ),
    ),
    "BlobNotFound": (
        KIND_REQUEST,
        _lt(
            "The backup file is no longer in the container (deleted in the Azure portal, or by a "
            "lifecycle management rule)."
        ),
    ),
    "ResourceNotFound": (
        KIND_REQUEST,
        _lt(
            "The storage account %(account)s was not found in Azure (deleted, moved or renamed?), or the "
            "Microsoft account has no access to it: run Storage Quick Setup again."
        ),
    ),
    "ParentResourceNotFound": (
        KIND_REQUEST,
        _lt(
            "The storage account %(account)s was not found in Azure (deleted, moved or renamed?), or the "
            "Microsoft account has no access to it: run Storage Quick Setup again."
        ),
    ),
    "StorageAccountNotFound": (
        KIND_REQUEST,
        _lt(
            "The storage account %(account)s was not found in Azure (deleted, moved or renamed?), or the "
            "Microsoft account has no access to it: run Storage Quick Setup again."
        ),
    ),
    "AuthorizationFailed": (
        KIND_ACCESS,
        _lt(
            "The Microsoft account may not read the storage account's keys: give it Contributor (or "
            "Storage Account Key Operator Service Role) on the storage account or its resource group "
            "(Azure portal > Access control (IAM)), then test again."
        ),
    ),
    "ServerBusy": (
        KIND_TRANSIENT,
        _lt("Azure Storage is busy (throttling the storage account): try again in a few minutes."),
    ),
    "OperationTimedOut": (
        KIND_TRANSIENT,
        _lt("Azure Storage timed out (a temporary problem on Azure's side): try again."),
    ),
    "InternalError": (
        KIND_TRANSIENT,
        _lt("Azure Storage had an internal error (a temporary problem on Azure's side): try again."),
    ),
}
