"""Azure RBAC (Microsoft.Authorization role assignments, 2022-04-01): the data roles blobs need.

Backups read and write blobs as the connected account's user, with a Microsoft Entra token for
Azure Storage: Azure then checks that user's roles (Microsoft Learn, "Assign an Azure role for
access to blob data"): Storage Blob Data Contributor (or Owner) on the container or above, and for
download links (user delegation SAS) a role with generateUserDelegationKey on the storage account
or above (Storage Blob Delegator, or any Storage Blob Data role there). Being Owner of the
subscription gives no data access. Assigning a role needs Owner, User Access Administrator or Role
Based Access Control Administrator on the scope; Azure applies it after up to about 10 minutes.
No azure-mgmt-authorization client is installed: the two calls go through azure-mgmt-core's
pipeline (the resources client's ``send_request``) with ARM's error format.
"""

import uuid

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.core.exceptions import ARMErrorFormat

from .arm import ArmClient, _arm_errors

NS = "Microsoft.Authorization"
# built-in roles: the same ids in every tenant and cloud (Microsoft Learn, "Azure built-in roles")
ROLE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ROLE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
ROLE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
ROLE_BLOB_DELEGATOR = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a"
ROLE_NAMES = {
    ROLE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    ROLE_BLOB_DATA_OWNER: "Storage Blob Data Owner",
    ROLE_BLOB_DATA_READER: "Storage Blob Data Reader",
    ROLE_BLOB_DELEGATOR: "Storage Blob Delegator",
}
# what backups need: write blobs (on the container or above) ...
WRITE_ROLES = frozenset({ROLE_BLOB_DATA_CONTRIBUTOR, ROLE_BLOB_DATA_OWNER})
# immutable backups: setting a blob's immutability policy is the owner's data action
OWNER_ROLES = frozenset({ROLE_BLOB_DATA_OWNER})
# ... and get user delegation keys (on the account or above: the key acts on the account)
DELEGATION_ROLES = frozenset(
    {ROLE_BLOB_DATA_CONTRIBUTOR, ROLE_BLOB_DATA_OWNER, ROLE_BLOB_DATA_READER, ROLE_BLOB_DELEGATOR}
)


def container_scope(account_id, container):
    return "%s/blobServices/default/containers/%s" % (account_id.rstrip("/"), container)


def covers(assignment_scope, scope):
    """Whether an assignment at ``assignment_scope`` applies at ``scope`` (the same or below)."""
    above = "/" + (assignment_scope or "").strip("/").lower()
    below = "/" + (scope or "").strip("/").lower()
    return above == "/" or below == above or below.startswith(above + "/")


def missing_roles(assignments, account_id, container, immutable=False):
    """[(role id, scope)] to assign so that backups and download links work: none when the
    ``assignments`` (``role_assignments``) already give them. ``immutable``: backups are written
    with their own immutability policy, which only the storage owner may set (Microsoft Learn,
    "Set Blob Immutability Policy", Authorization): Storage Blob Data Owner on the container."""
    at_container = container_scope(account_id, container)
    missing = []
    writers = OWNER_ROLES if immutable else WRITE_ROLES
    if not any(a["role"] in writers and covers(a["scope"], at_container) for a in assignments):
        missing.append((ROLE_BLOB_DATA_OWNER if immutable else ROLE_BLOB_DATA_CONTRIBUTOR, at_container))
    if not any(a["role"] in DELEGATION_ROLES and covers(a["scope"], account_id) for a in assignments):
        missing.append((ROLE_BLOB_DELEGATOR, account_id))
    return missing


class AuthorizationClient(ArmClient):
    """Role assignments of one signed-in account (same options as ArmClient)."""

    # -- remote calls, one method each ----------------------------------------------------------

    def role_assignments(self, subscription_id, scope, principal_id):
        """[{"role", "scope"}] of ``principal_id`` at ``scope``, above and below it."""
        request = HttpRequest(
            "GET",
            "%s/providers/%s/roleAssignments" % (scope, NS),
            params={
                "api-version": self._version("authorization.role_assignments"),
                "$filter": "principalId eq '%s'" % principal_id,
            },
        )
        body = self._send(subscription_id, request)
        return [
            {
                "role": (a["properties"]["roleDefinitionId"] or "").rstrip("/").rsplit("/", 1)[-1].lower(),
                "scope": a["properties"]["scope"],
            }
            for a in body.get("value") or []
        ]

    def assign_role(self, subscription_id, scope, role, principal_id):
        """Give ``principal_id`` (a user) the built-in ``role`` at ``scope``; True when done or
        already there. AzureError ``AuthorizationFailed`` when the signed-in user may not."""
        request = HttpRequest(
            "PUT",
            "%s/providers/%s/roleAssignments/%s" % (scope, NS, uuid.uuid4()),
            params={"api-version": self._version("authorization.role_assignments")},
            json={
                "properties": {
                    "roleDefinitionId": "/subscriptions/%s/providers/%s/roleDefinitions/%s"
                    % (subscription_id, NS, role),
                    "principalId": principal_id,
                    "principalType": "User",
                }
            },
        )
        # 409 RoleAssignmentExists: the same role, user and scope under another name: done
        self._send(subscription_id, request, done_code="RoleAssignmentExists")
        return True

    # -- helpers ---------------------------------------------------------------------------------

    def _send(self, subscription_id, request, done_code=None):
        """The answer's JSON; an error answer raised as AzureError, but ``done_code`` ({} then)."""
        with _arm_errors(), self._resources(subscription_id, "resource_groups") as client:
            response = client.send_request(request)
            if response.status_code >= 400:
                response.read()
                error = HttpResponseError(response=response, error_format=ARMErrorFormat)
                if done_code and error.error and error.error.code == done_code:
                    return {}
                raise error
            return response.json() if response.content else {}
