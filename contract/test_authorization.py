"""Azure RBAC role assignments (2022-04-01): what services/authorization.py makes of Azure's
answers (the Storage Blob Data roles Quick Setup checks and assigns)."""

import pytest

from odoo.addons.oec_cloud_accounts.services import AzureError
from odoo.addons.oec_cloud_accounts.services.authorization import (
    ROLE_BLOB_DATA_CONTRIBUTOR,
    ROLE_BLOB_DATA_OWNER,
    ROLE_BLOB_DELEGATOR,
    AuthorizationClient,
    missing_roles,
)

SUB = "a925f2f7-5c63-4b7b-8799-25a5f97bc3b2"
ACCOUNT = (
    "/subscriptions/%s/resourceGroups/testrg/providers/Microsoft.Storage/storageAccounts/oecbackups" % SUB
)
CONTAINER = ACCOUNT + "/blobServices/default/containers/backups"
USER = "ce2ce14e-85d7-4629-bdbc-454d0519d987"


def test_assignments_listed_at_the_container_and_what_is_missing(replay, arm):
    replay.serve("authorization/role_assignments")
    client = AuthorizationClient(**arm)
    found = client.role_assignments(SUB, CONTAINER, USER)
    # the tenant-level role definition ids Azure answers are read by their last segment
    assert found == [
        {"role": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "scope": "/subscriptions/" + SUB},
        {"role": ROLE_BLOB_DELEGATOR, "scope": ACCOUNT},
    ]
    (request,) = replay.requests
    assert request["query"]["$filter"] == "principalId eq '%s'" % USER
    # Owner of the subscription is no data role: the data role is missing, the delegator is there
    assert missing_roles(found, ACCOUNT, "backups") == [(ROLE_BLOB_DATA_CONTRIBUTOR, CONTAINER)]
    # immutable backups set a policy on each blob: the storage owner's right (Learn, "Set Blob
    # Immutability Policy", Authorization), Contributor is not enough
    contributor = [*found, {"role": ROLE_BLOB_DATA_CONTRIBUTOR, "scope": CONTAINER}]
    assert missing_roles(contributor, ACCOUNT, "backups") == []
    assert missing_roles(contributor, ACCOUNT, "backups", immutable=True) == [
        (ROLE_BLOB_DATA_OWNER, CONTAINER)
    ]
    assert client.assign_role(SUB, CONTAINER, ROLE_BLOB_DATA_CONTRIBUTOR, USER) is True
    sent = replay.requests[-1]
    assert sent["method"] == "PUT" and sent["query"]["api-version"] == "2022-04-01"
    assert '"principalId": "%s"' % USER in sent["body"]
    assert "/roleDefinitions/%s" % ROLE_BLOB_DATA_CONTRIBUTOR in sent["body"]


def test_assignment_refused_or_already_there(replay, arm):
    replay.serve("authorization/role_assignment_refused")
    client = AuthorizationClient(**arm)
    with pytest.raises(AzureError) as refused:
        client.assign_role(SUB, ACCOUNT, ROLE_BLOB_DELEGATOR, USER)
    assert (refused.value.code, refused.value.status) == ("AuthorizationFailed", 403)
    assert "Microsoft.Authorization/roleAssignments/write" in refused.value.detail
    # the same role, user and scope under another name: done
    assert client.assign_role(SUB, CONTAINER, ROLE_BLOB_DATA_CONTRIBUTOR, USER) is True
