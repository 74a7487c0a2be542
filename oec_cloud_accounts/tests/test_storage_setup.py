"""Storage Quick Setup through the emulator (real azure-mgmt-storage over
HTTPS) and Azurite behind its blob proxy (real azure-storage-blob): listing,
creating as a long-running operation, containers, the access test and each
"Cannot Access Storage Account" cause, lifecycle rules."""

import json
from datetime import timedelta

import jwt
from azure_emulator import defaults

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, tagged

from ..services import AzureError
from ..services.hosts import check_blob_endpoint, check_same_origin
from ..services.inputs import shorten
from ..services.storage import check_account_name, check_container_name, check_group_name, lifecycle_rule_name
from .common import tables_holding
from .storage_common import RG, StorageMixin, listening

HUGE = "x/" * 500_000  # a megabyte typed (or sent over RPC) as a name


@tagged("post_install", "-at_install")
class TestStorageSetup(StorageMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        self.account = self.connect()
        self.Storage = self.env["cloud.storage"]

    def due(self, storages):
        """Make the creations due now (instead of waiting CHECK_SECONDS)."""
        storages.sudo().write({"next_run_at": fields.Datetime.now() - timedelta(seconds=1)})

    def start_creation(self, name="oecnewstore", **values):
        wizard = self.quick_setup(self.account)
        wizard.write(dict({"new_account_name": name, "location": "westeurope"}, **values))
        wizard.action_create_account()
        return wizard

    # -- step a: pick or create a storage account --------------------------------------------------

    def test_lists_accounts_of_all_groups_and_selects_one(self):
        self.seed_account("oecfirst", containers=["existing-one"])
        self.seed_account("oecsecond", resource_group="oec-other", location="northeurope")
        wizard = self.quick_setup(self.account)
        self.assertEqual(
            sorted(wizard.line_ids.mapped(lambda l: (l.name, l.resource_group, l.location, l.kind, l.sku))),
            [
                ("oecfirst", RG, "westeurope", "StorageV2", "Standard_LRS"),
                ("oecsecond", "oec-other", "northeurope", "StorageV2", "Standard_LRS"),
            ],
        )
        groups = wizard.option_ids.filtered(lambda o: o.kind == "group").mapped("name")
        self.assertEqual(sorted(groups), sorted([RG, "oec-other"]))
        self.select(wizard, "oecfirst")
        self.assertEqual(wizard.wizard_step, "container")
        self.assertEqual(wizard.storage_id.state, "new")
        self.assertEqual(
            wizard.option_ids.filtered(lambda o: o.kind == "container").mapped("name"), ["existing-one"]
        )
        self.assertEqual(wizard.container_mode, "new")
        self.assertEqual(wizard.new_container, "odoo-backups")
        action = wizard.action_test_access()
        storage = self.storage_of(action)
        self.assertEqual(action["res_model"], "cloud.backup.policy", "the backup settings come next")
        self.assertEqual(
            (storage.storage_account, storage.container, storage.resource_group, storage.subscription_id),
            ("oecfirst", "odoo-backups", RG, defaults.SUBSCRIPTION_ID),
        )
        self.assertEqual(storage.name, "oecfirst / odoo-backups")
        self.assertEqual(storage.state, "ready")
        # the backup settings are saved, with the defaults: leaving their form loses nothing
        policy = self.env["cloud.backup.policy"].browse(action["res_id"])
        self.assertEqual(
            (policy.storage_id, policy.database, policy.scheduled, policy.schedule_time),
            (storage, self.env.cr.dbname, True, 2.0),
        )
        self.assertTrue(policy.next_run_at)
        self.assertPosted(policy, "Created by Storage Quick Setup")
        self.assertTrue(storage.last_check_at)
        self.assertPosted(storage, "Access test by %s" % self.env.user.name)
        client, _resources = self.portal()
        self.assertIn("odoo-backups", [c.name for c in client.blob_containers.list(RG, "oecfirst")])
        # the marker blob is gone, nothing else was left
        blobs = storage._blob_store().container.list_blob_names()
        self.assertEqual(list(blobs), [])
        # the same account and container again: the same record
        again = self.select(self.quick_setup(self.account), "oecfirst")
        again.write(
            {
                "container_mode": "existing",
                "container_option_id": again.option_ids.filtered(lambda o: o.name == "odoo-backups").id,
            }
        )
        self.assertEqual(self.storage_of(again.action_test_access()), storage)
        self.assertEqual(self.Storage.search_count([("storage_account", "=", "oecfirst")]), 1)
        self.assertEqual(storage.policy_ids, policy, "no second policy on the same location")

    def test_accounts_without_blobs_are_listed_as_not_usable(self):
        """Every kind is listed; one that holds no blobs says why, and cannot be selected."""
        self.seed_account("oecfiles", kind="FileStorage")
        self.seed_account("oecgpv2")
        wizard = self.quick_setup(self.account)
        lines = {line.name: line for line in wizard.line_ids}
        self.assertFalse(lines["oecgpv2"].unusable_reason)
        reason = lines["oecfiles"].unusable_reason
        self.assertIn("oecfiles is of kind FileStorage, which holds no blobs", reason)
        before = len(self.emu.control.requests())
        with self.assertRaises(UserError) as refused:
            lines["oecfiles"].action_select()
        self.assertEqual(refused.exception.args[0], reason)
        self.assertFalse(wizard.storage_id, "nothing was set up")
        self.assertTrue(self.remote_calls(before), "the account was read again from Azure first")

    def test_account_name_rules_refused_before_any_request(self):
        wizard = self.quick_setup(self.account)
        for name in ("ab", "UpperCase1", "with-hyphen", "a" * 25, "", "spaces in"):
            with self.subTest(name=name):
                wizard.new_account_name = name
                since = len(self.emu.control.requests())
                with self.assertRaisesRegex(UserError, "Invalid storage account name"):
                    wizard.action_create_account()
                self.assertEqual(self.remote_calls(since), [])
        self.assertFalse(self.Storage.search([]))

    def test_account_name_taken_says_azure_reason(self):
        self.seed_account("oectaken")
        wizard = self.quick_setup(self.account)
        wizard.new_account_name = "oectaken"
        since = len(self.emu.control.requests())
        with self.assertRaisesRegex(UserError, "The storage account named oectaken is already taken"):
            wizard.action_create_account()
        calls = self.remote_calls(since)
        self.assertTrue(any("checkNameAvailability" in c["path"] for c in calls))
        self.assertFalse([c for c in calls if c["method"] == "PUT"], "nothing created")
        self.assertFalse(self.Storage.search([]))

    def test_creation_followed_by_the_cron(self):
        self.emu.control.configure(lro_polls=2)
        wizard = self.start_creation(new_group_name="oec-backups", sku="Standard_ZRS")
        storage = wizard.storage_id
        self.assertEqual(wizard.wizard_step, "creating")
        self.assertEqual(
            (storage.state, storage.storage_account, storage.resource_group),
            ("creating", "oecnewstore", "oec-backups"),
        )
        self.assertTrue(storage.sudo().lro_token)
        client, resources = self.portal()
        created = client.storage_accounts.get_properties("oec-backups", "oecnewstore")
        self.assertEqual(created.tags["created-by"], "odoo-oec_cloud_accounts")
        self.assertEqual(created.sku.name, "Standard_ZRS")
        self.assertEqual(created.minimum_tls_version, "TLS1_2")
        self.assertFalse(created.allow_blob_public_access)
        self.assertTrue(created.enable_https_traffic_only)
        self.assertFalse(created.allow_shared_key_access, "Odoo needs no shared key")
        self.assertEqual(
            resources.resource_groups.get("oec-backups").tags["created-by"], "odoo-oec_cloud_accounts"
        )
        # what the form shows meanwhile (it reloads itself while in_progress)
        self.assertEqual((wizard.step, wizard.in_progress, storage.in_progress), ("creating", True, True))
        self.assertTrue(0 <= wizard.progress <= 95)
        for _attempt in range(4):
            self.due(storage)
            self.run_job("cloud.storage", "_cron_check_creating")
            if storage.state != "creating":
                break
        self.assertEqual(storage.state, "new", storage.last_error)
        self.assertFalse(storage.sudo().lro_token)
        self.assertTrue(storage.blob_endpoint)
        self.assertPosted(storage, "Azure created the storage account")
        # the reloaded wizard is at the container, with nothing clicked (a new account has none)
        wizard.invalidate_recordset()
        self.assertEqual((wizard.step, wizard.in_progress, wizard.progress), ("container", False, 100))
        self.assertEqual((wizard.container_mode, wizard.new_container), ("new", "odoo-backups"))
        # blob and container soft delete on, and the settings said
        service = client.blob_services.get_service_properties("oec-backups", "oecnewstore")
        self.assertTrue(service.delete_retention_policy.enabled)
        self.assertTrue(service.container_delete_retention_policy.enabled)
        self.assertIn("Nothing in these settings stops backups", storage.settings_report)
        # its creator is given the data roles (Owner of the subscription here) and the test passes
        self.assertEqual(self.storage_of(wizard.action_test_access()).state, "ready")
        self.assertEqual(storage.role_state, "granted")

    def test_creation_completes_without_soft_delete(self):
        """Azure refuses soft delete on the new account: the creation still completes, the chatter
        says why and how to turn it on in the portal."""
        wizard = self.start_creation(new_group_name="oec-backups")
        storage = wizard.storage_id
        self.emu.control.inject_fault(
            service="arm",
            method="PUT",
            path=".*/blobServices/default.*",
            status=409,
            code="FeatureNotSupportedForAccount",
            count=None,
        )
        for _attempt in range(4):
            self.due(storage)
            self.run_job("cloud.storage", "_cron_check_creating")
            if storage.state != "creating":
                break
        self.assertEqual(storage.state, "new", storage.last_error)
        self.assertPosted(storage, "Azure created the storage account")
        self.assertPosted(storage, "Soft delete could not be turned on for the storage account oecnewstore")
        self.assertPosted(storage, "FeatureNotSupportedForAccount")
        self.emu.control.clear_faults()
        client, _resources = self.portal()
        service = client.blob_services.get_service_properties("oec-backups", "oecnewstore")
        self.assertFalse(service.delete_retention_policy and service.delete_retention_policy.enabled)

    def test_creation_followed_by_check_again(self):
        self.emu.control.configure(lro_polls=2)
        with self.assertRaisesRegex(UserError, "Choose a resource group"):
            self.start_creation(group_mode="existing")
        self.assertFalse(self.Storage.search([]))
        self.seed_account("oecother")
        wizard = self.quick_setup(self.account)
        wizard.write({"new_account_name": "oecnewstore", "group_mode": "existing"})
        wizard.group_option_id = wizard.option_ids.filtered(lambda o: o.kind == "group" and o.name == RG)
        wizard.action_create_account()
        storage = wizard.storage_id
        self.assertEqual(storage.resource_group, RG)
        for _attempt in range(4):
            wizard.action_check_again()
            if wizard.wizard_step != "creating":
                break
        self.assertEqual(wizard.wizard_step, "container")
        self.assertEqual(storage.state, "new")
        wizard.new_container = "backups-2024"
        self.assertEqual(self.storage_of(wizard.action_test_access()).state, "ready")

    def test_cron_stays_while_azure_creates(self):
        """Odoo's cron thread looks at a future trigger once a minute: within its budget the
        scheduled action stays and looks again when the next creation is due."""
        self.emu.control.configure(lro_polls=0)
        first = self.start_creation("oecfirstone").storage_id
        second = self.start_creation("oecsecondone").storage_id
        self.due(first)
        second.sudo().next_run_at = fields.Datetime.now() + timedelta(seconds=1)
        # one run of the scheduled action itself
        cron = self.env.ref("oec_cloud_accounts.ir_cron_cloud_storage_creation")
        self.run_job(cron, "method_direct_trigger")
        self.assertEqual((first.state, second.state), ("new", "new"), second.last_error)

    def test_creation_that_fails_says_why(self):
        self.emu.control.lro_fail(
            path="storageAccounts/oecnewstore", code="RequestDisallowedByAzure", message="Not in this region."
        )
        wizard = self.start_creation()
        storage = wizard.storage_id
        for _attempt in range(4):
            storage.action_check_again()
            if storage.state != "creating":
                break
        self.assertEqual(storage.state, "error")
        self.assertIn("Not in this region.", storage.last_error)
        self.assertIn("RequestDisallowedByAzure", storage.last_error)
        self.assertFalse(storage.sudo().lro_token)
        self.assertPosted(storage, "could not create")

    def test_cron_isolates_a_bad_record(self):
        self.emu.control.configure(lro_polls=1)
        good = self.start_creation("oecgoodone").storage_id
        bad = self.start_creation("oecbadone").storage_id
        bad.sudo().lro_token = "not a continuation token"
        for _attempt in range(2):  # Azure answers "in progress" once
            self.due(good | bad)
            self.run_job("cloud.storage", "_cron_check_creating")
        self.assertEqual(good.state, "new", good.last_error)
        # a token azure-core cannot read is no defect to retry forever: the record says what to do
        self.assertEqual(bad.state, "error")
        self.assertEqual(bad.last_error_code, "ContinuationTokenUnreadable")
        self.assertIn("Odoo can no longer follow this Azure operation", bad.last_error)

    # -- step b: the container ------------------------------------------------------------------------

    def test_container_name_rules(self):
        self.seed_account("oecrules")
        wizard = self.select(self.quick_setup(self.account), "oecrules")
        for name in ("ab", "-abc", "abc-", "a--b", "Backups", "a" * 64, "with_underscore", ""):
            with self.subTest(name=name):
                wizard.new_container = name
                since = len(self.emu.control.requests())
                with self.assertRaisesRegex(UserError, "Invalid container name"):
                    wizard.action_test_access()
                self.assertEqual(self.remote_calls(since), [])
        wizard.new_container = "a1-b2-" + "c" * 57
        self.assertEqual(self.storage_of(wizard.action_test_access()).state, "ready")

    # -- step c: the access test and the reasons a storage location ends "Cannot Access" ---------------

    def assert_refused(self, storage, message):
        self.assertFalse(storage.action_test_access() is None)
        self.assertEqual(storage.state, "error")
        self.assertEqual(storage.last_error, message)
        self.assertPosted(storage, "failed")

    def test_network_rules(self):
        storage = self.ready_storage(self.account)
        self.portal_update("oecready", {"networkAcls": {"defaultAction": "Deny"}})
        self.assert_refused(storage, self.storage_message("AuthorizationFailure"))
        self.portal_update("oecready", {"networkAcls": {"defaultAction": "Allow"}})
        storage.action_test_access()
        self.assertEqual(storage.state, "ready")
        self.assertFalse(storage.last_error)

    def test_storage_token_keeps_the_rotated_refresh_token(self):
        """The storage token comes from the account's refresh token, which Entra rotates: the new
        one is kept, so the next token (for Resource Manager here) is still obtained; the storage
        token is reused until it nears its end, and is stored encrypted only."""
        self.emu.control.configure(refresh_token_single_use=True)
        token, _expires = self.account._storage_token()
        claims = jwt.decode(token, options={"verify_signature": False})
        self.assertEqual(claims["aud"], "https://storage.azure.com/")
        self.assertEqual(self.account._storage_token()[0], token, "kept until it nears its end")
        self.assertEqual(tables_holding(self.env, token[-40:]), [], "never in clear")
        self.account._access_token(force=True)
        self.assertEqual(self.account.state, "active")

    def test_shared_key_disabled(self):
        """Shared key access off (seed_account's default, as Azure Policy requires): the access test
        works with Microsoft Entra ID; the administrator's shared key fallback is refused by Azure
        then, and works where shared keys are allowed."""
        storage = self.ready_storage(self.account)
        self.assertFalse(storage.shared_key_fallback)
        before = len(self.emu.control.requests())
        storage.action_test_access()
        self.assertEqual(storage.state, "ready", storage.last_error)
        paths = [call["path"] for call in self.remote_calls(since=before)]
        self.assertFalse([p for p in paths if p.endswith("/listKeys")], "no key read")
        storage.shared_key_fallback = True
        self.assert_refused(storage, self.storage_message("KeyBasedAuthenticationNotPermitted"))
        self.portal_update("oecready", {"allowSharedKeyAccess": True})
        storage.action_test_access()
        self.assertEqual(storage.state, "ready")

    def test_missing_data_role(self):
        """No data role for the signed-in user: Quick Setup finds it out from the role assignments
        before any blob request, says which roles on which scopes, and offers to assign them."""
        created = self.seed_account("oecnorole", data_role=False)
        wizard = self.select(self.quick_setup(self.account), "oecnorole")
        before = len(self.emu.control.requests())
        wizard.action_test_access()
        storage = wizard.storage_id
        self.assertEqual((storage.state, storage.role_state), ("error", "missing"))
        self.assertIn(
            "Storage Blob Data Contributor (%s/blobServices/default/containers/odoo-backups)" % created.id,
            storage.last_error,
        )
        self.assertIn("Storage Blob Delegator (%s)" % created.id, storage.last_error)
        self.assertIn(defaults.USER_OID, storage.last_error)
        self.assertIn("Assign the Roles", storage.last_error)
        calls = self.remote_calls(since=before)
        self.assertFalse([c for c in calls if c["service"] == "blob"], "no blob request before the roles")
        # the signed-in user is Owner of the subscription: Odoo assigns them, then the test passes
        self.assertEqual(wizard.action_assign_roles()["res_model"], "cloud.backup.policy")
        self.assertEqual((storage.state, storage.role_state), ("ready", "granted"))
        assigned = [a["properties"] for a in self.emu.control.state()["role_assignments"].values()]
        self.assertIn(
            (
                defaults.ROLE_BLOB_DATA_CONTRIBUTOR,
                created.id + "/blobServices/default/containers/odoo-backups",
            ),
            [(a["roleDefinitionId"].rsplit("/", 1)[1], a["scope"]) for a in assigned],
        )

    def test_roles_assigned_wait_for_azure(self):
        """Azure applies a new role after minutes: the location waits, the scheduled action tests again."""
        self.seed_account("oecslow", data_role=False)
        self.emu.control.configure(role_propagation_seconds=3600)
        wizard = self.select(self.quick_setup(self.account), "oecslow")
        wizard.action_test_access()
        storage = wizard.storage_id
        wizard.action_assign_roles()
        self.assertEqual((storage.state, storage.role_state), ("error", "applying"))
        self.assertIn("within a few minutes", storage.last_error)
        self.assertTrue(storage.next_run_at)
        self.emu.control.apply_role_assignments()
        # Azure applied it meanwhile: the creation cron's next look finds the access working
        storage.next_run_at = fields.Datetime.now() - timedelta(seconds=1)
        self.run_job("cloud.storage", "_cron_check_creating")
        storage.invalidate_recordset()
        self.assertEqual((storage.state, storage.role_state), ("ready", "granted"))

    def test_role_wait_over_not_picked_again(self):
        """An access test of a record waiting for its roles that fails otherwise (here the wait
        passed and Azure still refuses): the record leaves the wait, the next pass sends nothing."""
        self.seed_account("oecnever", data_role=False)
        self.emu.control.configure(role_propagation_seconds=3600)
        wizard = self.select(self.quick_setup(self.account), "oecnever")
        wizard.action_test_access()
        storage = wizard.storage_id
        wizard.action_assign_roles()
        self.assertEqual(storage.role_state, "applying")
        past = fields.Datetime.now() - timedelta(minutes=20)
        storage.write({"role_assigned_at": past, "next_run_at": past})
        before = len(self.emu.control.requests())
        self.run_job("cloud.storage", "_cron_check_creating")
        first = len(self.emu.control.requests())
        self.assertTrue([c for c in self.remote_calls(since=before) if c["service"] == "blob"], "tested once")
        storage.invalidate_recordset()
        self.assertEqual((storage.state, storage.role_state), ("error", "missing"))
        self.assertFalse(storage.next_run_at)
        self.run_job("cloud.storage", "_cron_check_creating")
        self.assertEqual(self.remote_calls(since=first), [], "not picked again")

    def test_who_must_assign(self):
        """A user who may not assign roles is told who must, with the roles, scopes and user."""
        second = self.connect(user=defaults.SECOND_USER_EMAIL)
        self.seed_account("oecnotmine", data_role=False)
        wizard = self.select(self.quick_setup(second), "oecnotmine")
        wizard.action_test_access()
        with self.assertRaises(UserError) as refused:
            wizard.action_assign_roles()
        text = str(refused.exception)
        self.assertIn("Owner, User Access Administrator or Role Based Access Control Administrator", text)
        self.assertIn(defaults.SECOND_USER_OID, text)
        self.assertIn("Storage Blob Data Contributor", text)
        self.assertEqual(second.state, "active", "no failure of the account's")

    def test_existing_account_settings_said_before_any_backup(self):
        self.seed_account("oecfirewall")
        self.portal_update(
            "oecfirewall", {"networkAcls": {"defaultAction": "Deny"}, "minimumTlsVersion": "TLS1_0"}
        )
        wizard = self.select(self.quick_setup(self.account), "oecfirewall")
        report = wizard.storage_id.settings_report
        self.assertIn("Shared key access: disabled", report)
        self.assertIn("The firewall of oecfirewall allows selected networks only: backups will fail", report)
        self.assertIn("minimum TLS1_0", report)
        self.assertNotIn("Nothing in these settings stops backups", report)

    def test_account_not_found(self):
        storage = self.ready_storage(self.account)
        client, _resources = self.portal()
        client.storage_accounts.delete(RG, "oecready")
        self.assert_refused(storage, self.storage_message("ResourceNotFound", account="oecready"))

    def test_wizard_shows_a_refusal_and_tests_again(self):
        self.seed_account("oecwizard")
        self.portal_update("oecwizard", {"networkAcls": {"defaultAction": "Deny"}})
        wizard = self.select(self.quick_setup(self.account), "oecwizard")
        action = wizard.action_test_access()
        self.assertEqual(action["res_model"], "cloud.storage.setup")
        self.assertEqual(wizard.wizard_step, "result")
        self.assertEqual(wizard.storage_error, self.storage_message("AuthorizationFailure"))
        self.assertEqual(wizard.storage_id.state, "error")
        self.portal_update("oecwizard", {"networkAcls": {"defaultAction": "Allow"}})
        self.assertEqual(
            wizard.action_test_again()["res_model"], "cloud.backup.policy", "then the backup settings"
        )
        self.assertEqual(wizard.storage_id.state, "ready")

    # -- lifecycle management (called by the backup policy) ---------------------------------------

    def test_lifecycle_rule_set_replaced_others_kept(self):
        storage = self.ready_storage(self.account)
        client, _resources = self.portal()
        other = {
            "enabled": True,
            "name": "someone-elses",
            "type": "Lifecycle",
            "definition": {
                "filters": {"blobTypes": ["blockBlob"], "prefixMatch": ["logs/"]},
                "actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 7}}},
            },
        }
        client.management_policies.create_or_update(
            RG, "oecready", "default", {"properties": {"policy": {"rules": [other]}}}
        )

        def rules():
            policy = client.management_policies.get(RG, "oecready", "default")
            return {rule.name: rule.as_dict() for rule in policy.policy.rules}

        name = storage._set_lifecycle_rule("mydb/", 30, 365)
        self.assertEqual(name, lifecycle_rule_name("odoo-backups", "mydb/"))
        self.assertRegex(name, r"^oecbackups[0-9a-f]{16}$", "Azure allows alphanumeric rule names only")
        # another database's backups in the same container get a rule of their own
        self.assertNotEqual(name, lifecycle_rule_name("odoo-backups", "otherdb/"))
        ours = rules()[name]["definition"]
        self.assertEqual(ours["filters"]["prefixMatch"], ["odoo-backups/mydb/"])
        self.assertEqual(
            ours["actions"]["baseBlob"],
            {
                "tierToCool": {"daysAfterModificationGreaterThan": 30},
                "delete": {"daysAfterModificationGreaterThan": 365},
            },
        )
        storage._set_lifecycle_rule("mydb/", 0, 90)
        found = rules()
        self.assertEqual(sorted(found), [name, "someone-elses"])
        self.assertEqual(
            found[name]["definition"]["actions"]["baseBlob"],
            {"delete": {"daysAfterModificationGreaterThan": 90}},
        )
        self.assertEqual(found["someone-elses"], other)
        # no action: our rule goes, the other stays
        storage._set_lifecycle_rule("mydb/", 0, 0)
        self.assertEqual(sorted(rules()), ["someone-elses"])

    # -- names and endpoints come from Azure, checked before any request -------------------------------

    def test_group_names_refused_before_any_arm_call(self):
        self.seed_account("oecother")
        wizard = self.quick_setup(self.account)
        for group in (
            "evil group/../x\n",
            "a/b",
            "100%",
            "oec%2Fbackups",
            "oec-backups\n",
            "oec-backups ",
            " oec-backups",
            "tab\there",
            "ends.",
            "",
            "a" * 91,
        ):
            with self.subTest(group=group):
                wizard.write(
                    {"new_account_name": "oecgroupcheck", "group_mode": "new", "new_group_name": group}
                )
                since = len(self.emu.control.requests())
                with self.assertRaisesRegex(UserError, "Invalid resource group name"):
                    wizard.action_create_account()
                self.assertEqual(self.remote_calls(since), [], "no request for %r" % group)
        self.assertFalse(self.Storage.search([]))
        # Azure's rules: Unicode letters and digits, underscores, parentheses, hyphens, inner periods
        for group in ("oec-backups", "Gruppe_ä(1).x-y", "ä" * 90, "a", "組織-バックアップ"):
            self.assertEqual(check_group_name(group), group)
        for name in ("oecready\n", "OECREADY", "oec-ready"):
            with self.assertRaises(AzureError):
                check_account_name(name)
        for name in ("odoo-backups\n", "odoo-backups-", "odoo--backups"):
            with self.assertRaises(AzureError):
                check_container_name(name)

    def test_group_options_are_server_made_and_checked(self):
        """An existing resource group is one Azure listed: no caller makes an option, and even one
        that came with a name Azure would refuse is refused before any request."""
        self.seed_account("oecother")
        admin = self.env.ref("base.user_admin")
        wizard = self.quick_setup(self.account.with_user(admin)).with_user(admin)
        values = {
            "wizard_id": wizard.id,
            "kind": "group",
            "name": "evil group/../x\n",
            "label": "westeurope",
            "subscription_id": defaults.SUBSCRIPTION_ID,
        }
        since = len(self.emu.control.requests())
        Option = self.env["cloud.storage.setup.option"].with_user(admin)
        with self.assertRaises(AccessError):
            Option.create(values)
        with self.assertRaises(AccessError):
            wizard.write({"option_ids": [Command.create(values)]})
        listed = wizard.option_ids.filtered(lambda o: o.kind == "group" and o.name == RG)
        with self.assertRaises(AccessError):
            listed.write({"name": values["name"]})
        with self.assertRaises(AccessError):
            wizard.line_ids[:1].write({"name": "oecelsewhere", "resource_group": "../x"})
        with self.assertRaises(AccessError):
            wizard.write(
                {"storage_id": self.Storage.sudo().search([], limit=1).id or False, "wizard_step": "result"}
            )
        with self.assertRaises(AccessError):  # a wizard is opened from the account, for it
            self.env["cloud.storage.setup"].with_user(admin).create({"account_id": self.account.id})
        hostile = Option.sudo().create(values)
        wizard.write(
            {"new_account_name": "oecgroupcheck", "group_mode": "existing", "group_option_id": hostile.id}
        )
        with self.assertRaisesRegex(UserError, "Invalid resource group name"):
            wizard.action_create_account()
        self.assertEqual(self.remote_calls(since), [])
        self.assertFalse(self.Storage.search([]))

    def test_messages_quote_little_of_the_input(self):
        self.seed_account("oecquote")
        wizard = self.quick_setup(self.account)
        for values, expected in (
            ({"new_account_name": HUGE}, "Invalid storage account name"),
            ({"new_account_name": "oecquotenew", "new_group_name": HUGE}, "Invalid resource group name"),
        ):
            wizard.write(values)
            with self.assertRaisesRegex(UserError, expected) as caught:
                wizard.action_create_account()
            self.assertLess(len(str(caught.exception)), 400)
        self.select(wizard, "oecquote")
        wizard.new_container = HUGE
        with self.assertRaisesRegex(UserError, "Invalid container name") as caught:
            wizard.action_test_access()
        self.assertLess(len(str(caught.exception)), 400)
        self.assertEqual(shorten("a\nb"), "a\\nb", "a newline never starts a log line of its own")

    def test_blob_endpoint_read_from_azure_at_use_time(self):
        """The stored endpoint is shown, never used: a location whose row says another host (an
        older version, an edit of the table) still reaches the storage account Azure names."""
        storage = self.ready_storage(self.account)
        azure_endpoint = storage.blob_endpoint
        with listening() as listener:
            storage.sudo().write({"blob_endpoint": listener.url("/oecready/")})
            since = len(self.emu.control.requests())
            storage.action_test_access()
            self.assertEqual(storage.state, "ready", storage.last_error)
            # a backup's way to the container: the same
            self.assertEqual(list(storage._blob_store().container.list_blob_names()), [])
            self.assertEqual(listener.count, 0, "nothing was sent to the stored host")
        calls = self.remote_calls(since)
        self.assertTrue(
            [c for c in calls if c["method"] == "GET" and c["path"].endswith("/storageAccounts/oecready")],
            "the storage account was read again from Azure",
        )
        self.assertEqual(storage.blob_endpoint, azure_endpoint)

    def test_endpoint_in_azure_answer_checked_before_the_key(self):
        """What Azure answers is checked too: a blob host that is not the account's in this cloud,
        or an answer about another account, is refused before the key is read or sent."""
        storage = self.ready_storage(self.account)
        client, _resources = self.portal()
        real = client.storage_accounts.get_properties(RG, "oecready").as_dict()
        self.assertIn("primaryEndpoints", real["properties"])
        with listening() as listener:
            port = listener.port
            for label, blob, resource_id in (
                ("another host", "https://localhost:%d/oecready/" % port, None),
                ("another path", "https://127.0.0.1:%d/evil/" % port, None),
                ("plain http", "http://127.0.0.1:%d/oecready/" % port, None),
                ("a user name", "https://oecready@127.0.0.1:%d/oecready/" % port, None),
                ("a query", "https://127.0.0.1:%d/oecready/?x=1" % port, None),
                ("another account", None, real["id"].replace("/oecready", "/oecother")),
            ):
                with self.subTest(label):
                    answer = json.loads(json.dumps(real))
                    if blob:
                        answer["properties"]["primaryEndpoints"]["blob"] = blob
                    if resource_id:
                        answer["id"] = resource_id
                    self.emu.control.inject_fault(
                        service="arm",
                        method="GET",
                        path=r"/storageAccounts/oecready\?",
                        status=200,
                        body=json.dumps(answer),
                        content_type="application/json",
                    )
                    since = len(self.emu.control.requests())
                    storage.action_test_access()
                    self.assertEqual(storage.state, "error")
                    self.assertIn("Refused", storage.last_error)
                    self.assertIn("EndpointRefused", storage.last_error)
                    calls = self.remote_calls(since)
                    self.assertFalse([c for c in calls if "listKeys" in c["path"]], "no key read")
                    self.assertFalse([c for c in calls if c["service"] == "blob"], "no blob request")
            self.assertEqual(listener.count, 0)
        # the same endpoint is refused on a cloud whose storage lives under a suffix
        self.cloud.storage_suffix = "core.windows.net"
        storage.action_test_access()
        self.assertIn("https://oecready.blob.core.windows.net/", storage.last_error)
        self.cloud.storage_suffix = False
        storage.action_test_access()
        self.assertEqual(storage.state, "ready", storage.last_error)


@tagged("post_install", "-at_install")
class TestEndpointRules(TransactionCase):
    """services.hosts: the blob host of each Azure cloud, and a paged API's next links."""

    def test_blob_endpoints_of_each_cloud(self):
        for xmlid, suffix in (
            ("cloud_azure_environment_public", "core.windows.net"),
            ("cloud_azure_environment_usgov", "core.usgovcloudapi.net"),
            ("cloud_azure_environment_china", "core.chinacloudapi.cn"),
        ):
            rule = self.env.ref("oec_cloud_accounts." + xmlid)._blob_endpoint_rule()
            self.assertEqual(rule, {"storage_suffix": suffix, "path_style_host": None})
            good = "https://mystore.blob.%s/" % suffix
            self.assertEqual(check_blob_endpoint(good, "mystore", **rule), good)
            self.assertTrue(check_blob_endpoint("https://MyStore.blob.%s" % suffix, "mystore", **rule))
            for bad in (
                "http://mystore.blob.%s/" % suffix,
                "https://other.blob.%s/" % suffix,
                "https://mystore.blob.%s.evil.example/" % suffix,
                "https://mystore.blob.%s@evil.example/" % suffix,
                "https://evil.example/mystore.blob.%s/" % suffix,
                "https://mystore.blob.%s:8443/" % suffix,
                "https://mystore.blob.%s/x" % suffix,
                "https://mystore.blob.%s/?sig=1" % suffix,
                "https://mystore.file.%s/" % suffix,
                "https://mystore.blob.%s/\n" % suffix,
                "https://127.0.0.1/mystore/",
                "",
                None,
            ):
                with self.subTest(cloud=xmlid, endpoint=bad), self.assertRaises(AzureError) as caught:
                    check_blob_endpoint(bad, "mystore", **rule)
                self.assertEqual(caught.exception.code, "EndpointRefused")
            with self.assertRaises(AzureError):
                check_blob_endpoint(good, "mystore\n", **rule)
        # a sandbox without suffix: by path, on its Resource Manager's loopback host only
        sandbox = {"storage_suffix": None, "path_style_host": "127.0.0.1"}
        self.assertTrue(check_blob_endpoint("https://127.0.0.1:10000/mystore/", "mystore", **sandbox))
        for bad in (
            "https://127.0.0.1:10000/other/",
            "https://localhost:10000/mystore/",
            "https://10.0.0.1/mystore/",
        ):
            with self.subTest(endpoint=bad), self.assertRaises(AzureError):
                check_blob_endpoint(bad, "mystore", **sandbox)
        for rule in ({"storage_suffix": None, "path_style_host": None}, {"path_style_host": "evil.example"}):
            with self.assertRaises(AzureError):
                check_blob_endpoint("https://evil.example/mystore/", "mystore", **rule)
        message = str(self._refusal("https://%s.example/" % ("x" * 10**6), "mystore"))
        self.assertLess(len(message), 600)

    def _refusal(self, endpoint, name):
        with self.assertRaises(AzureError) as caught:
            check_blob_endpoint(endpoint, name, "core.windows.net")
        return caught.exception

    def test_next_page_stays_on_the_host(self):
        base = "https://prices.azure.com/api/retail/prices"
        for good in (
            "https://prices.azure.com:443/api/retail/prices?$skip=100",
            "https://PRICES.azure.com/api/retail/prices?$skip=100",
        ):
            self.assertEqual(check_same_origin(good, base), good)
        for bad in (
            "https://prices.azure.com.evil.example/api/retail/prices",
            "https://prices.azure.com@evil.example/",
            "http://prices.azure.com/api/retail/prices",
            "https://prices.azure.com:8443/api/retail/prices",
            "//evil.example/x",
            "https://[::1",
        ):
            with self.subTest(bad), self.assertRaises(AzureError):
                check_same_origin(bad, base)
