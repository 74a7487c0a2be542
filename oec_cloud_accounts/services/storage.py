"""Storage accounts and their containers through azure-mgmt-storage (ARM).

The keys read here are handed to services.blob in memory only: the caller
never stores them. Creating a storage account is a long-running operation:
``begin_create_account`` sends the PUT and returns a continuation token at
once, ``poll_create`` asks once how it goes (a cron or a button calls it).
"""

import hashlib
import re

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.storage import StorageManagementClient

from .arm import ArmClient, _arm_errors, is_missing
from .compute import _PollOnce, _SendOnly, _token_errors
from .errors import KIND_REQUEST, STORAGE, AzureError
from .hosts import check_blob_endpoint, check_storage_id
from .inputs import shorten

# Azure's rules, checked where a name enters, before any request (always with fullmatch: a "$"
# also matches before a final newline). Resource groups: 1 to 90 letters and digits (Unicode),
# underscores, hyphens, parentheses and periods, not ending with a period.
ACCOUNT_NAME_RE = re.compile(r"[a-z0-9]{3,24}")
CONTAINER_NAME_RE = re.compile(r"(?=.{3,63}\Z)[a-z0-9](?!.*--)[a-z0-9-]*[a-z0-9]")
GROUP_NAME_RE = re.compile(r"[-\w.()]{0,89}[-\w()]")
DEFAULT_SKU = "Standard_LRS"
DEFAULT_KIND = "StorageV2"
# soft delete of blobs and containers on the accounts Quick Setup creates (Azure's default: 7)
SOFT_DELETE_DAYS = 7
# What each kind of storage account offers backups (Microsoft Learn, "Storage account overview" and
# "Access tiers for blob data"): blobs, and access tiers set per blob. Premium block blob accounts and
# general-purpose v1 accounts store blobs without tiers; FileStorage accounts serve Azure Files only.
BLOB_KINDS = {"StorageV2": True, "BlobStorage": True, "BlockBlobStorage": False, "Storage": False}


def blob_problem(account):
    """Why a storage account (as ``_account`` reads it) cannot hold backups, as an
    AzureError key, or None: a kind without blobs, or no blob endpoint."""
    if account.get("kind") not in BLOB_KINDS:
        return "storage.kind_without_blobs"
    if not account.get("blob_endpoint"):
        return "storage.no_blob_endpoint"
    return None


def supports_tiers(kind):
    """Whether blobs of this kind of account take an access tier (Hot, Cool, Cold)."""
    return BLOB_KINDS.get(kind, False)


RULE_PREFIX = "oecbackups"


def check_account_name(name):
    """The name, or AzureError ``AccountNameInvalid`` (3-24 lower-case letters and digits)."""
    if not isinstance(name, str) or not ACCOUNT_NAME_RE.fullmatch(name):
        raise AzureError(
            "storage.invalid_account_name",
            code="AccountNameInvalid",
            kind=KIND_REQUEST,
            params={"name": shorten(name)},
        )
    return name


def check_container_name(name):
    """The name, or AzureError ``ContainerNameInvalid``."""
    if not isinstance(name, str) or not CONTAINER_NAME_RE.fullmatch(name):
        raise AzureError(
            "storage.invalid_container_name",
            code="ContainerNameInvalid",
            kind=KIND_REQUEST,
            params={"name": shorten(name)},
        )
    return name


def check_group_name(name):
    """The name, or AzureError ``ResourceGroupNameInvalid``."""
    if not isinstance(name, str) or not GROUP_NAME_RE.fullmatch(name):
        raise AzureError(
            "storage.invalid_group_name",
            code="ResourceGroupNameInvalid",
            kind=KIND_REQUEST,
            params={"name": shorten(name)},
        )
    return name


def lifecycle_rule_name(container, prefix=""):
    """Our rule's name for the blobs ``container/prefix``: one per database's prefix (two databases
    may share a container), alphanumeric only as Azure requires of rule names."""
    digest = hashlib.sha256(("%s/%s" % (container, (prefix or "").lstrip("/"))).encode()).hexdigest()
    return RULE_PREFIX + digest[:16]


class StorageClient(ArmClient):
    """Storage calls of one signed-in account (same options as ArmClient)."""

    def _storage(self, subscription_id, group):
        """A storage client for one operations group (``storage_accounts``, ``blob_containers``,
        ``management_policies``): its operations send the client's API version."""
        version = self._version("storage." + group)
        return StorageManagementClient(self.credential, subscription_id, api_version=version, **self.options)

    # -- remote calls, one method each ----------------------------------------------------------

    def account_key(self, subscription_id, resource_group, name):
        """The storage account's first key (listKeys), for the data plane."""
        with (
            _arm_errors(STORAGE, values={"account": name}),
            self._storage(subscription_id, "storage_accounts") as client,
        ):
            keys = client.storage_accounts.list_keys(resource_group, name)
            # hybrid models: ["keys"] (.keys is the Mapping method)
            return keys["keys"][0]["value"]

    def blob_endpoint(self, subscription_id, resource_group, name, storage_suffix=None, path_style_host=None):
        """The blob endpoint of the storage account as Azure gives it now (its
        ``primaryEndpoints.blob``), checked before anyone sends it a key: Azure's
        answer names this very account, and the host is ``<name>.blob.<suffix>``
        of the cloud (see hosts.check_blob_endpoint). AzureError otherwise."""
        check_group_name(resource_group)
        check_account_name(name)
        found = self.get_account(subscription_id, resource_group, name)
        check_storage_id(found["id"], subscription_id, resource_group, name, answer_name=found["name"])
        return check_blob_endpoint(found["blob_endpoint"], name, storage_suffix, path_style_host)

    def list_accounts(self, subscription_id):
        """The storage accounts of a subscription, all resource groups (see ``_account``)."""
        with _arm_errors(STORAGE), self._storage(subscription_id, "storage_accounts") as client:
            return [_account(subscription_id, a) for a in client.storage_accounts.list()]

    def get_account(self, subscription_id, resource_group, name):
        """One storage account (see ``_account``); AzureError ResourceNotFound when gone."""
        with (
            _arm_errors(STORAGE, values={"account": name}),
            self._storage(subscription_id, "storage_accounts") as client,
        ):
            return _account(subscription_id, client.storage_accounts.get_properties(resource_group, name))

    def check_name_availability(self, subscription_id, name):
        """{"available", "reason", "message"}: whether ``name`` is free across Azure."""
        with _arm_errors(STORAGE), self._storage(subscription_id, "storage_accounts") as client:
            result = client.storage_accounts.check_name_availability(
                {"name": name, "type": "Microsoft.Storage/storageAccounts"}
            )
            reason = result.reason
            return {
                "available": bool(result.name_available),
                "reason": getattr(reason, "value", reason),
                "message": result.message,
            }

    def begin_create_account(self, subscription_id, resource_group, name, location, tags, sku=DEFAULT_SKU):
        """Send the creation and return at once: a continuation token for
        ``poll_create``, or None when Azure already finished. StorageV2, what Azure
        Policy's storage initiatives ask: TLS 1.2 minimum, HTTPS only, no public blob
        access, no shared key access (Odoo uses Microsoft Entra ID)."""
        body = {
            "location": location,
            "kind": DEFAULT_KIND,
            "sku": {"name": sku},
            "tags": tags,
            "properties": {
                "minimumTlsVersion": "TLS1_2",
                "allowBlobPublicAccess": False,
                "supportsHttpsTrafficOnly": True,
                "allowSharedKeyAccess": False,
                "accessTier": "Hot",
            },
        }
        with (
            _arm_errors(STORAGE, values={"account": name}),
            self._storage(subscription_id, "storage_accounts") as client,
        ):
            poller = client.storage_accounts.begin_create(resource_group, name, body, polling=_SendOnly())
            if poller.polling_method().finished():
                return None
            return poller.continuation_token()

    def set_soft_delete(self, subscription_id, resource_group, account, days=SOFT_DELETE_DAYS):
        """Blob and container soft delete on (a deleted backup or container can be undeleted for
        ``days``): the account's blob service properties."""
        with (
            _arm_errors(STORAGE, values={"account": account}),
            self._storage(subscription_id, "blob_services") as client,
        ):
            client.blob_services.set_service_properties(
                resource_group,
                account,
                {
                    "properties": {
                        "deleteRetentionPolicy": {"enabled": True, "days": days},
                        "containerDeleteRetentionPolicy": {"enabled": True, "days": days},
                    }
                },
            )
        return True

    def poll_create(self, subscription_id, token):
        """Ask once about a creation: True when it succeeded, False while it
        runs; raises AzureError with Azure's code when it failed."""
        with (
            _arm_errors(STORAGE),
            self._storage(subscription_id, "storage_accounts") as client,
            _token_errors(),
        ):
            poller = client.storage_accounts.begin_create(
                None, None, None, continuation_token=token, polling=_PollOnce()
            )
            # the SDK runs the single poll in a thread of its own: wait for it (re-raises a failure)
            poller.wait()
            return poller.polling_method().finished()

    def list_resource_groups(self, subscription_id):
        """[{"name", "location"}] of the subscription."""
        with _arm_errors(), self._resources(subscription_id, "resource_groups") as client:
            return sorted(
                ({"name": g.name, "location": g.location} for g in client.resource_groups.list()),
                key=lambda g: g["name"].lower(),
            )

    def create_resource_group(self, subscription_id, name, location, tags):
        """Create the group, or keep an existing one as it is (its tags and region)."""
        with _arm_errors(), self._resources(subscription_id, "resource_groups") as client:
            if client.resource_groups.check_existence(name):
                return {"name": name, "created": False}
            client.resource_groups.create_or_update(name, {"location": location, "tags": tags})
            return {"name": name, "created": True}

    def list_containers(self, subscription_id, resource_group, account):
        """The names of the account's blob containers."""
        with (
            _arm_errors(STORAGE, values={"account": account}),
            self._storage(subscription_id, "blob_containers") as client,
        ):
            return sorted(c.name for c in client.blob_containers.list(resource_group, account))

    def create_container(self, subscription_id, resource_group, account, name):
        """A private container (no public access)."""
        check_container_name(name)
        with (
            _arm_errors(STORAGE, values={"account": account, "container": name}),
            self._storage(subscription_id, "blob_containers") as client,
        ):
            client.blob_containers.create(
                resource_group, account, name, {"properties": {"publicAccess": "None"}}
            )
            return name

    def container_immutability(self, subscription_id, resource_group, account, name):
        """Whether the container has version-level immutability support (ARM's
        ``immutableStorageWithVersioning.enabled``): only then may a blob written there carry its
        own time-based retention policy (Microsoft Learn, "Version-level WORM policies")."""
        check_container_name(name)
        with (
            _arm_errors(STORAGE, values={"account": account, "container": name}),
            self._storage(subscription_id, "blob_containers") as client,
        ):
            found = client.blob_containers.get(resource_group, account, name)
        support = found.immutable_storage_with_versioning
        return bool(support and support.enabled)

    def get_lifecycle_rules(self, subscription_id, resource_group, account):
        """The rules of the account's management policy, as Azure's camelCase dicts ([] when none)."""
        with (
            _arm_errors(STORAGE, values={"account": account}),
            self._storage(subscription_id, "management_policies") as client,
        ):
            try:
                policy = client.management_policies.get(resource_group, account, "default")
            except ResourceNotFoundError as exc:
                if not is_missing(exc):
                    raise
                return []
            # hybrid models: as_dict() gives Azure's (REST) names: other rules go back as they came
            return [rule.as_dict() for rule in policy.policy.rules]

    def set_lifecycle_rule(
        self, subscription_id, resource_group, account, container, prefix, cool_after_days, delete_after_days
    ):
        """Add or replace our rule for the blobs ``container/prefix``: move them
        to Cool after ``cool_after_days`` and delete them after
        ``delete_after_days`` since their last change (0 / None: no such
        action). The policy's other rules are kept. Returns the rule's name."""
        check_container_name(container)
        actions = {}
        if cool_after_days:
            actions["tierToCool"] = {"daysAfterModificationGreaterThan": int(cool_after_days)}
        if delete_after_days:
            actions["delete"] = {"daysAfterModificationGreaterThan": int(delete_after_days)}
        if not actions:
            self.delete_lifecycle_rule(subscription_id, resource_group, account, container, prefix)
            return None
        name = lifecycle_rule_name(container, prefix)
        rule = {
            "enabled": True,
            "name": name,
            "type": "Lifecycle",
            "definition": {
                "filters": {
                    "blobTypes": ["blockBlob"],
                    "prefixMatch": ["%s/%s" % (container, (prefix or "").lstrip("/"))],
                },
                "actions": {"baseBlob": actions},
            },
        }
        rules = [
            r for r in self.get_lifecycle_rules(subscription_id, resource_group, account) if r["name"] != name
        ]
        self._put_policy(subscription_id, resource_group, account, [*rules, rule])
        return name

    def delete_lifecycle_rule(self, subscription_id, resource_group, account, container, prefix=""):
        """Remove our rule of ``container/prefix``; the others stay (Azure refuses an
        empty policy: the policy goes when ours was its last rule)."""
        name = lifecycle_rule_name(container, prefix)
        rules = self.get_lifecycle_rules(subscription_id, resource_group, account)
        kept = [r for r in rules if r["name"] != name]
        if len(kept) == len(rules):
            return False
        if kept:
            self._put_policy(subscription_id, resource_group, account, kept)
        else:
            with (
                _arm_errors(STORAGE, values={"account": account}),
                self._storage(subscription_id, "management_policies") as client,
            ):
                client.management_policies.delete(resource_group, account, "default")
        return True

    # -- helpers ---------------------------------------------------------------------------------

    def _put_policy(self, subscription_id, resource_group, account, rules):
        with (
            _arm_errors(STORAGE, values={"account": account}),
            self._storage(subscription_id, "management_policies") as client,
        ):
            client.management_policies.create_or_update(
                resource_group, account, "default", {"properties": {"policy": {"rules": rules}}}
            )


def _resource_group(resource_id):
    parts = (resource_id or "").split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else None


def _value(value):
    return getattr(value, "value", value)


def settings_findings(account, shared_key_fallback=False):
    """What the settings of a storage account (as ``_account`` reads it) mean for backups, before
    any: [(key, severity)] with severity "fail" (backups will fail) or "policy" (Azure Policy
    usually refuses it; backups work); [] when nothing stands in the way."""
    findings = []
    if account.get("public_network_access") == "Disabled":
        findings.append(("storage.settings.public_network_disabled", "fail"))
    elif account.get("network_default_action") == "Deny":
        findings.append(("storage.settings.network_deny", "fail"))
    if shared_key_fallback and not account.get("allow_shared_key_access"):
        findings.append(("storage.settings.shared_key_fallback", "fail"))
    if account.get("minimum_tls_version") not in (None, "TLS1_2", "TLS1_3"):
        findings.append(("storage.settings.tls", "policy"))
    if not account.get("https_only", True):
        findings.append(("storage.settings.http", "policy"))
    if account.get("allow_blob_public_access"):
        findings.append(("storage.settings.public_blobs", "policy"))
    return findings


def _account(subscription_id, account):
    """A storage account as plain values."""
    props = account
    endpoints = props.primary_endpoints
    acls = props.network_rule_set
    sku = account.sku.name if account.sku else None
    return {
        "id": account.id,
        "name": account.name,
        "subscription_id": subscription_id,
        "resource_group": _resource_group(account.id),
        "location": account.location,
        "kind": getattr(account.kind, "value", account.kind),
        "sku": getattr(sku, "value", sku),
        "blob_endpoint": endpoints.blob if endpoints else None,
        "provisioning_state": getattr(props.provisioning_state, "value", props.provisioning_state),
        "allow_shared_key_access": props.allow_shared_key_access is not False,
        "network_default_action": getattr(acls.default_action, "value", acls.default_action)
        if acls
        else None,
        # what Azure Policy looks at, and what decides whether Odoo can reach the blobs
        "public_network_access": _value(props.public_network_access),
        "private_endpoints": len(props.private_endpoint_connections or []),
        "minimum_tls_version": _value(props.minimum_tls_version),
        "https_only": props.enable_https_traffic_only is not False,
        "allow_blob_public_access": bool(props.allow_blob_public_access),
        "tags": dict(account.tags or {}),
    }
