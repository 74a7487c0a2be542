"""What people read when Azure refuses: one message per AzureError key.

``services/`` raises :class:`AzureError` with a key and its values only; the
words are here, in the Odoo layer, marked with Odoo's ``_lt`` so the module's
.pot has them and they are translated in the reader's language when shown
(``cloud.account._azure_error_message``). Values are named placeholders,
filled in after translation. Every message says what to do.
"""

from odoo import _lt

MESSAGES = {
    # Entra ID's AADSTS codes (services/errors.py AADSTS), rewritten as instructions
    "aadsts.65001": _lt(
        "Admin consent required: an administrator of your Microsoft Entra tenant must approve this "
        "application (Enterprise applications) before you can connect."
    ),
    "aadsts.90094": _lt(
        "Admin consent required: your organisation only lets administrators approve new applications. Ask "
        "a Global Administrator to grant consent, then connect again."
    ),
    "aadsts.90095": _lt(
        "Admin consent required: ask a Global Administrator to grant consent, then connect again."
    ),
    "aadsts.65004": _lt(
        "Authorization denied: the consent was cancelled or declined. Click Add Account again and choose "
        "Accept."
    ),
    "aadsts.50020": _lt(
        "Wrong tenant: the Microsoft account you signed in with does not belong to the directory (tenant) "
        "configured for this connection. Sign in with an account of that tenant, or change the tenant in "
        "Settings > Cloud Accounts."
    ),
    "aadsts.90002": _lt(
        "Tenant not found: check the tenant in Settings > Cloud Accounts and the Azure cloud chosen."
    ),
    "aadsts.700016": _lt(
        "Application not found: the client id in Settings > Cloud Accounts does not exist in this Azure "
        "cloud or tenant. Check the client id and the Azure cloud selected."
    ),
    "aadsts.7000215": _lt(
        "Invalid client secret: set the secret's Value (not its Secret ID) from the application's "
        "Certificates & secrets page in Settings > Cloud Accounts."
    ),
    "aadsts.7000222": _lt(
        "The client secret has expired: create a new one in the application's Certificates & secrets page "
        "and set it in Settings > Cloud Accounts."
    ),
    "aadsts.7000218": _lt("No client secret is configured: set it in Settings > Cloud Accounts."),
    # the client assertion of a managed identity / federated token (server option
    # oec_azure_client_credential, oec_auth_azure services/credentials.py)
    "aadsts.70021": _lt(
        "The application does not trust the identity Odoo presented: on the app registration's "
        "Certificates & secrets > Federated credentials, add one for this server's managed identity (its "
        "issuer, its object id as subject, audience api://AzureADTokenExchange), or set the server option "
        "oec_azure_client_credential back to secret."
    ),
    "aadsts.700213": _lt(
        "The application trusts another identity than the one Odoo presented: the subject of the federated "
        "credential on the app registration must be the object (principal) id of this server's managed "
        "identity (or the subject of its federated token). If the server has several managed identities, "
        "set oec_azure_managed_identity_client_id to the one the credential names."
    ),
    "aadsts.700024": _lt(
        "The federated token Odoo presented has expired: the file the server option "
        "oec_azure_federated_token_file names is no longer renewed. Check the workload identity of the host."
    ),
    "credential.unknown_kind": _lt(
        "The server option oec_azure_client_credential is none of secret, managed_identity, "
        "federated_token_file: correct it in the server's configuration."
    ),
    "credential.managed_identity_unavailable": _lt(
        "This server's managed identity could not be reached: Odoo must run on Azure (VM, App Service, "
        "Container Apps) with a managed identity assigned, or the server option oec_azure_client_credential "
        "must be set back to secret. It will be retried."
    ),
    "credential.managed_identity_refused": _lt(
        "This server's managed identity gave no token (%(detail)s): assign the managed identity to the host, "
        "or set oec_azure_managed_identity_client_id to the client id of a user-assigned one it has."
    ),
    "credential.token_file_unreadable": _lt(
        "The federated token file %(path)s cannot be read (%(detail)s): check the server option "
        "oec_azure_federated_token_file (or AZURE_FEDERATED_TOKEN_FILE) and the workload identity of the "
        "host."
    ),
    "aadsts.50011": _lt(
        "Redirect URI mismatch: register the redirect URI shown in Settings > Cloud Accounts on the Azure "
        "application (Authentication > Web)."
    ),
    "aadsts.500113": _lt(
        "No redirect URI is registered: add the one shown in Settings > Cloud Accounts to the Azure "
        "application (Authentication > Web)."
    ),
    "aadsts.700082": _lt("The sign-in expired after a long inactivity: click Reconnect and sign in again."),
    "aadsts.50173": _lt(
        "The sign-in was revoked (password changed, MFA reset or sessions revoked): click Reconnect and "
        "sign in again."
    ),
    "aadsts.70008": _lt("The authorization expired: click Reconnect and sign in again."),
    "aadsts.54005": _lt("This sign-in answer was already used: click Add Account again."),
    "aadsts.50076": _lt("Multi-factor authentication is now required: click Reconnect and sign in again."),
    "aadsts.50079": _lt(
        "Multi-factor authentication registration is required: click Reconnect and sign in again."
    ),
    "aadsts.90033": _lt("Microsoft Entra ID had a transient error: it will be retried."),
    "aadsts.53003": _lt(
        "Blocked by a Conditional Access policy of your organisation: ask your administrator."
    ),
    "aadsts.50105": _lt(
        "Your account is not assigned to this application: ask an administrator to assign you in "
        "Enterprise applications."
    ),
    # added to 65004 / 90094 / 90095 on the connection's result page, with the admin consent link
    "aadsts.admin_approval": _lt(
        'Where Microsoft shows "Need admin approval", you cannot approve this application yourself: a '
        "Global Administrator or a Privileged Role Administrator of your Microsoft Entra tenant must grant "
        "consent for everyone with the admin consent link below; then connect again."
    ),
    # the admin-consent endpoint's refusals, on the page its redirect comes back to (services/identity.py)
    "admin_consent.declined": _lt(
        "Admin consent was not granted: the consent page was cancelled, or the account that signed in may "
        'not consent for the organisation (Microsoft shows "Need admin approval"). A Privileged Role '
        "Administrator, Cloud Application Administrator or Application Administrator of your Microsoft "
        "Entra tenant must open the admin consent link below and choose Accept; then click Add Account."
    ),
    "admin_consent.other_tenant": _lt(
        "Admin consent was not granted: the account that signed in belongs to another tenant than the one "
        "the link is for. An administrator of the tenant set in Settings > Cloud Accounts must open the "
        "admin consent link below and choose Accept."
    ),
    "admin_consent.refused": _lt("Microsoft Entra ID refused the admin consent: %(detail)s"),
    # other answers of Entra ID's authorize and token endpoints (services/identity.py)
    "oauth.transient": _lt("Microsoft Entra ID is temporarily unavailable: it will be retried."),
    "oauth.invalid_grant": _lt("The sign-in is no longer valid: click Reconnect and sign in again."),
    "oauth.sign_in_again": _lt("Microsoft asks you to sign in again: click Reconnect."),
    "oauth.client": _lt("The Azure application is misconfigured: check Settings > Cloud Accounts."),
    "oauth.refused": _lt("Microsoft Entra ID refused the request: %(detail)s"),
    "oauth.state_mismatch": _lt("This sign-in answer does not match the request that was sent: start again."),
    "oauth.invalid_authority": _lt(
        "The Azure cloud's sign-in authority %(authority)s did not answer as expected: check the Azure "
        "cloud and tenant in Settings > Cloud Accounts."
    ),
    "oauth.unexpected_answer": _lt(
        "Microsoft Entra ID gave an unexpected answer (HTTP %(status)s) instead of a token: a proxy or "
        "firewall between Odoo and Microsoft may be intercepting the requests, or the service is failing. "
        "It will be retried; if it persists, check the server's outgoing HTTPS access."
    ),
    # Azure Resource Manager's codes (services/errors.py ARM) and its other answers
    "arm.AuthorizationFailed": _lt(
        "The Microsoft account lacks a role on the subscription: give it Owner or Contributor in the "
        "Azure portal (Subscription > Access control (IAM)), then retry."
    ),
    "arm.SubscriptionNotFound": _lt("The subscription was not found or the account has no access to it."),
    "arm.InvalidAuthenticationTokenTenant": _lt(
        "The subscription belongs to another tenant than the account signed in."
    ),
    "arm.ExpiredAuthenticationToken": _lt("The access token expired; it is renewed on retry."),
    "arm.MissingSubscriptionRegistration": _lt(
        "A resource provider is not registered on the subscription: register it from the account."
    ),
    "arm.QuotaExceeded": _lt(
        "Not enough vCPU quota for this size in this region: ask for more in the Azure portal "
        "(Subscription > Usage + quotas), pick a smaller size or another region."
    ),
    "arm.OperationNotAllowed": _lt(
        "Azure did not allow the operation, usually a quota limit: check Subscription > Usage + quotas in "
        "the Azure portal, or pick a smaller size or another region."
    ),
    "arm.SkuNotAvailable": _lt(
        "This VM size is not available to your subscription in this region: pick another size or another "
        "region."
    ),
    "arm.AllocationFailed": _lt(
        "Azure has no capacity for this VM size in this region right now: retry later, or pick another "
        "size or region."
    ),
    "arm.ZonalAllocationFailed": _lt(
        "Azure has no capacity for this VM size in this availability zone right now: retry later, or pick "
        "another size or region."
    ),
    "arm.Conflict": _lt(
        "Azure does not allow this change in the resource's current state (another operation may be "
        "changing or deleting it): retry once it has ended. Azure says: %(detail)s"
    ),
    "arm.AnotherOperationInProgress": _lt(
        "Another operation is changing this resource in Azure: it will be retried once it has ended."
    ),
    "arm.RequestDisallowedByPolicy": _lt(
        "An Azure Policy of your organisation forbids this resource (region, size, public IP or tags): "
        "ask your Azure administrator which policy, or change the server's settings."
    ),
    "arm.InvalidParameter": _lt("Azure refused a value of the server: %(detail)s"),
    "arm.ResourceGroupNotFound": _lt(
        "The server's resource group no longer exists in Azure (deleted outside Odoo?)."
    ),
    "arm.ReadOnlyDisabledSubscription": _lt(
        "The subscription is disabled: re-enable it in the Azure portal."
    ),
    "arm.api_version": _lt(
        "Azure in this cloud does not offer API version %(api_version)s of %(operation)s, the one Odoo "
        "uses: a Settings administrator sets a version Azure lists below in Cloud > Configuration > Azure "
        'Clouds, API Versions, as the line "%(operation)s = <version>", then retries. Azure says: '
        "%(detail)s"
    ),
    "arm.transient": _lt("Azure is busy or unavailable (HTTP %(status)s): it will be retried."),
    "arm.throttled": _lt(
        "Azure is throttling this subscription's requests (too many in a short time): Odoo tries again "
        "after %(retry_after)s seconds, as Azure asked."
    ),
    "arm.unauthorized": _lt("Azure refused the access token: click Reconnect."),
    "arm.refused": _lt("Azure refused the request: %(detail)s"),
    # no answer at all
    "network": _lt("Azure could not be reached (%(error)s): it will be retried."),
    # Azure DNS (services/dns.py, services/errors.py DNS), before ARM's texts there
    "dns.zone_not_found": _lt(
        "The DNS zone was not found in Azure (deleted, moved or renamed?): run DNS Quick Setup on the "
        "account again to pick the zone."
    ),
    "dns.AuthorizationFailed": _lt(
        "The Microsoft account may not manage this DNS zone: give it the DNS Zone Contributor role on the "
        "zone or its resource group (Azure portal > DNS zone > Access control (IAM))."
    ),
    "dns.MissingSubscriptionRegistration": _lt(
        "Microsoft.Network is not registered on the subscription: register it from the account's "
        "Subscriptions (Register Microsoft.Network), wait a few minutes, then try again."
    ),
    "dns.PreconditionFailed": _lt(
        "The record set was changed in Azure (for instance in the Azure portal) since Odoo loaded it: "
        "nothing was overwritten. Reload the record to see its current values, then apply your change "
        "again."
    ),
    "dns.TooManyRequests": _lt(
        "Azure DNS is throttling the requests (too many in a short time): Odoo waited and retried; wait "
        "%(retry_after)s seconds and try again."
    ),
    "dns.BadRequest": _lt(
        "Azure DNS refused the record: %(detail)s Check the name, the addresses and the TTL."
    ),
    "dns.record_exists": _lt(
        "A record set of this name and type already exists in Azure (made outside Odoo, or meanwhile): it "
        "was left untouched. Reload the zone's records and edit the existing record instead."
    ),
    "dns.foreign_record": _lt(
        "%(fqdn)s already has an A record that Odoo did not create for this server (made in the Azure "
        "portal, or by another database): it was left untouched. Delete it in Azure, or choose another "
        "host name."
    ),
    "dns.invalid_record_name": _lt(
        "Invalid record name %(name)s: give a name relative to the zone (www, app.eu, @ for the zone "
        "itself, * or *.app for a wildcard) made of letters, digits and hyphens, at most 63 characters "
        "per label."
    ),
    "dns.invalid_ipv4": _lt(
        "Invalid IPv4 address %(address)s: write four numbers from 0 to 255, like 20.50.1.10."
    ),
    "dns.a_record_count": _lt("An A record needs between 1 and %(max)s IPv4 addresses."),
    "dns.invalid_ttl": _lt("The TTL must be between %(min)s and %(max)s seconds (3600 is usual)."),
    # storage accounts and Blob Storage (services/storage.py, services/errors.py STORAGE)
    "storage.AuthorizationFailure": _lt(
        "The storage account refused Odoo's connection: its network rules (firewall) do not allow this "
        "Odoo server. In the Azure portal, open the storage account > Networking and allow public network "
        "access from selected networks including this server's public IP address (or from all networks), "
        "then test the access again."
    ),
    "storage.KeyBasedAuthenticationNotPermitted": _lt(
        "Shared key access is disabled on the storage account, and this storage location signs with the "
        "account key (its Shared Key Fallback is on). Turn the fallback off on the storage location: Odoo "
        "then reads and writes blobs with Microsoft Entra ID, which needs the Storage Blob Data "
        "Contributor role (Storage Quick Setup checks it)."
    ),
    "storage.AuthorizationPermissionMismatch": _lt(
        "The signed-in Microsoft user has no data role for this on the storage account %(account)s: Azure "
        "needs 'Storage Blob Data Contributor' on the container %(container)s (or the storage account), "
        "and 'Storage Blob Delegator' on the storage account for download links. Run Storage Quick Setup "
        "again to check and assign them, or ask an Owner or User Access Administrator of the storage "
        "account. A new role assignment takes a few minutes to apply: then test again."
    ),
    "storage.InvalidAuthenticationInfo": _lt(
        "The storage account %(account)s did not accept the Microsoft Entra token Odoo sent for Azure "
        "Storage: the app registration needs the delegated permission Azure Storage > user_impersonation, "
        "with consent (Azure portal > App registrations > API permissions); then reconnect the account."
    ),
    "storage.AuthenticationFailed": _lt(
        "The storage account rejected the key Odoo used (keys rotated meanwhile?): test the access again; "
        "Odoo reads the current key from Azure each time."
    ),
    "storage.ContainerNotFound": _lt(
        "The blob container %(container)s does not exist in the storage account (deleted in the Azure "
        "portal?): run Storage Quick Setup again to pick or create a container."
    ),
    "storage.BlobNotFound": _lt(
        "The backup file is no longer in the container (deleted in the Azure portal, or by a lifecycle "
        "management rule)."
    ),
    "storage.account_not_found": _lt(
        "The storage account %(account)s was not found in Azure (deleted, moved or renamed?), or the "
        "Microsoft account has no access to it: run Storage Quick Setup again."
    ),
    "storage.AuthorizationFailed": _lt(
        "The Microsoft account may not read the storage account's keys: give it Contributor (or Storage "
        "Account Key Operator Service Role) on the storage account or its resource group (Azure portal > "
        "Access control (IAM)), then test again."
    ),
    "storage.InvalidBlobTier": _lt(
        "The storage account %(account)s does not offer the access tier of the backup settings (a premium "
        "account has no tiers, and the Cold tier is not offered everywhere): choose another tier in the "
        "backup settings, then run the backup again."
    ),
    "storage.ConditionNotMet": _lt(
        "The backup file changed while Odoo read it (written again, or replaced in the Azure portal): check "
        "the file in the container, then try again."
    ),
    "storage.BlobImmutableDueToPolicy": _lt(
        "Azure keeps the backup file: an immutability (time-based retention) policy, on the file or on its "
        "container, forbids deleting or changing it before its end, whoever asks. Odoo leaves it; after the "
        "policy's end, retention (or a lifecycle management rule) removes it."
    ),
    "storage.immutability_not_enabled": _lt(
        "The backup policy asks for immutable backups, but the container %(container)s of %(account)s has "
        "no version-level immutability support: nothing was written. In the Azure portal, turn on "
        "versioning for blobs on the storage account (Data management > Data protection), then on the "
        "container: Access policy > Enable version-level immutability support; or turn off Immutable "
        "Backups on the policy."
    ),
    "storage.BlobImmutableDueToLegalHold": _lt(
        "Azure keeps the backup file: the container has a legal hold, which forbids deleting it. Odoo leaves "
        "it; clear the hold in the Azure portal (container > Access policy) to let it go."
    ),
    "storage.LeaseIdMissing": _lt(
        "Another program holds a lease on the backup file, which forbids deleting it. Odoo leaves it; break "
        "the lease in the Azure portal (the blob's menu > Break lease) if nothing should hold it."
    ),
    "storage.ServerBusy": _lt(
        "Azure Storage is busy (throttling the storage account): try again in a few minutes."
    ),
    "storage.OperationTimedOut": _lt(
        "Azure Storage timed out (a temporary problem on Azure's side): try again."
    ),
    "storage.InternalError": _lt(
        "Azure Storage had an internal error (a temporary problem on Azure's side): try again."
    ),
    "storage.kind_without_blobs": _lt(
        "The storage account %(account)s is of kind %(kind)s, which holds no blobs (FileStorage serves "
        "Azure Files only): choose a general-purpose v2 account, or create one with Storage Quick Setup."
    ),
    "storage.no_blob_endpoint": _lt(
        "Azure gives the storage account %(account)s no blob endpoint: choose a general-purpose v2 "
        "account, or create one with Storage Quick Setup."
    ),
    # what an existing storage account's settings mean for backups (services/storage.py
    # settings_findings), shown by Quick Setup before any backup
    "storage.settings.public_network_disabled": _lt(
        "Public network access is disabled on %(account)s: backups will fail (AuthorizationFailure) unless "
        "this Odoo server reaches the account through one of its private endpoints (%(count)s) and resolves "
        "its name to it."
    ),
    "storage.settings.network_deny": _lt(
        "The firewall of %(account)s allows selected networks only: backups will fail (AuthorizationFailure) "
        "unless this Odoo server's public IP address or network is in its rules, or it uses a private "
        "endpoint (%(count)s)."
    ),
    "storage.settings.shared_key_fallback": _lt(
        "Shared key access is disabled on %(account)s while this location's Shared Key Fallback is on: "
        "every backup will fail (KeyBasedAuthenticationNotPermitted). Turn the fallback off."
    ),
    "storage.settings.tls": _lt(
        "%(account)s accepts TLS versions older than 1.2 (minimum %(version)s): Azure Policy usually "
        "requires TLS 1.2 (backups work: Odoo uses TLS 1.2 or later)."
    ),
    "storage.settings.http": _lt(
        "%(account)s accepts plain HTTP: Azure Policy usually requires HTTPS only (backups work: Odoo uses "
        "HTTPS)."
    ),
    "storage.settings.public_blobs": _lt(
        "%(account)s allows public (anonymous) blob access: Azure Policy usually forbids it (backups work: "
        "Odoo's containers stay private)."
    ),
    "storage.invalid_account_name": _lt(
        "Invalid storage account name %(name)s: use 3 to 24 characters, lower-case letters and digits "
        "only (no hyphen, no capital), e.g. mycompanybackups."
    ),
    "storage.invalid_container_name": _lt(
        "Invalid container name %(name)s: use 3 to 63 characters, lower-case letters, digits and hyphens, "
        "starting and ending with a letter or a digit, never two hyphens in a row, e.g. odoo-backups."
    ),
    "storage.invalid_group_name": _lt(
        "Invalid resource group name %(name)s: use up to 90 letters, digits, hyphens, underscores, "
        "periods and parentheses, not ending with a period."
    ),
    # backups in Blob Storage (services/blob.py)
    "blob.too_many_blocks": _lt(
        "The backup is larger than a block blob can hold with blocks of %(size)s MiB."
    ),
    "blob.pg_dump_failed": _lt("pg_dump failed (exit code %(code)s): %(error)s"),
    "blob.marker_mismatch": _lt(
        "The storage account answered with other bytes than written: check its settings."
    ),
    "blob.foreign_blob": _lt("%(name)s was not written by this database's backups: it was left untouched."),
    # retail prices (services/prices.py)
    # services/hosts.py: an endpoint or link that does not lie where this cloud serves the service
    "endpoint.account_name": _lt(
        "Refused storage account name %(value)s: not an Azure storage account name."
    ),
    "endpoint.not_https": _lt("Refused blob endpoint %(value)s: Odoo only sends a storage key over https."),
    "endpoint.extra_parts": _lt(
        "Refused blob endpoint %(value)s: a user name, query or fragment has no place in it."
    ),
    "endpoint.not_the_account": _lt(
        "Refused blob endpoint %(value)s: the storage account %(account)s of this Azure cloud is "
        "served at https://%(account)s.blob.%(suffix)s/ only; Odoo sends its key nowhere else."
    ),
    "endpoint.no_suffix": _lt(
        "Refused blob endpoint %(value)s: this Azure cloud has no storage endpoint suffix (set it on "
        "the cloud, e.g. core.windows.net); only a local sandbox may serve blobs by path."
    ),
    "endpoint.other_account": _lt(
        "Refused storage account %(value)s: Azure's answer names another storage account."
    ),
    "endpoint.link_not_plain": _lt("Refused link %(value)s: not a plain https URL of the service."),
    "endpoint.link_other_host": _lt("Refused link %(value)s: it leaves the service's host."),
    # a long-running operation's continuation token (services/compute.py, storage.py)
    "operation.token_unreadable": _lt(
        "Odoo can no longer follow this Azure operation: its token was written by another version of "
        "the Azure libraries. Nothing made in Azure is lost: Retry (a server) or Check Again (a storage "
        "location) asks Azure afresh."
    ),
    "prices.unavailable": _lt("The Azure prices service answered HTTP %(status)s: it will be retried."),
    "prices.refused": _lt("The Azure prices service refused the request: %(detail)s"),
    "prices.too_many_pages": _lt(
        "The Azure prices service still had more pages after %(pages)s pages: prices were not "
        "updated. Report it to the addon's maintainers."
    ),
    # a failure nobody foresaw in a scheduled step (models/cloud_job_mixin.py)
    "job.unexpected": _lt("Unexpected failure (%(error)s): it will be retried."),
    # cloud.azure.environment (models/cloud_azure_environment.py)
    "cloud.client_secret_copy": _lt(
        "The client secret of %(name)s was stored by the database this one is a copy of, and is not used "
        "here: enter it again in Settings > Cloud Accounts."
    ),
    "cloud.client_secret_unreadable": _lt(
        "The client secret of %(name)s cannot be decrypted with this server's key (was "
        "oec_cloud_secret_key changed?): enter it again in Settings > Cloud Accounts."
    ),
    # cloud.account (models/cloud_account_tokens.py)
    "account.no_subscription": _lt(
        "No subscriptions found: the Microsoft account has no Azure subscription, or no role on one. "
        "Check you have Owner or Contributor on a subscription, or connect another account."
    ),
    "account.no_token": _lt("No stored sign-in for this account: click Reconnect."),
    "account.database_copy": _lt(
        "This database is a copy of another Odoo database: the Azure sign-in stored by the original is "
        "not used here, so that a copy never acts in the original's subscriptions. Click Reconnect to "
        "sign in for this database (enter the cloud's client secret again in Settings > Cloud Accounts "
        "first)."
    ),
    # an action through an archived, Expired or Disconnected account (cloud.account._check_connected)
    "account.reconnect": _lt(
        "Reconnect the account %(name)s first: it is %(state)s, so Odoo does nothing in Azure with it, "
        "nor for its servers, DNS zones, storage locations and backups, until then."
    ),
    "account.tenant_mismatch": _lt(
        "Wrong tenant: this account belongs to tenant %(expected)s but you signed in with an account of "
        "tenant %(actual)s. Sign in with an account of the original tenant, or add a new account."
    ),
    "account.user_mismatch": _lt(
        "Wrong Microsoft account: %(name)s is connected as %(expected)s, but you signed in as %(actual)s. "
        "Reconnect signed in as %(expected)s, or use Add Account to connect %(actual)s as an account of "
        "its own."
    ),
    # cloud.server (models/cloud_server_engine.py)
    "server.foreign_group": _lt(
        "The resource group %(group)s exists in Azure but was not created by Odoo for this server (its "
        "tags say otherwise): Odoo neither uses nor deletes it. Rename the server, or remove the group in "
        "the Azure portal if it is yours."
    ),
    "server.vm_gone": _lt("The VM no longer exists in Azure: delete the server or provision a new one."),
    # Add Account's callback (controllers/main.py)
    "connect.invalid_state": _lt(
        "This sign-in answer does not belong to a sign-in started in this browser session, or it was "
        "already used: click Add Account again."
    ),
    "connect.flow_expired": _lt("The sign-in took too long: click Add Account again."),
    # a transient failure in an error dialog: nothing retries a person's action (DIALOG)
    "dialog.arm.transient": _lt("Azure is busy or unavailable (HTTP %(status)s): try again in a moment."),
    "dialog.arm.throttled": _lt(
        "Azure is throttling this subscription's requests (too many in a short time): try again in "
        "%(retry_after)s seconds."
    ),
    "dialog.network": _lt("Azure could not be reached (%(error)s): try again in a moment."),
}

# key -> the key of its words in an error dialog, when the usual ones say Odoo retries
DIALOG = {
    "arm.transient": "dialog.arm.transient",
    "arm.throttled": "dialog.arm.throttled",
    "network": "dialog.network",
}
