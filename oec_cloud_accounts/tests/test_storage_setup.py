"""Storage Quick Setup through the emulator (real azure-mgmt-storage over
HTTPS) and Azurite behind its blob proxy (real azure-storage-blob): listing,
creating as a long-running operation, containers, the access test and each
"Cannot Access Storage Account" cause, lifecycle rules."""

from datetime import timedelta

from azure_emulator import defaults

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from ..services.storage import lifecycle_rule_name
from .storage_common import RG, StorageMixin


@tagged("post_install", "-at_install")
class TestStorageSetup(StorageMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        self.account = self.connect()
        self.Storage = self.env["cloud.storage"]

    def due(self, storages):
        """Make the creations due now (instead of waiting CHECK_SECONDS)."""
        storages.sudo().write({"next_check_at": fields.Datetime.now() - timedelta(seconds=1)})

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
        self.assertEqual(
            resources.resource_groups.get("oec-backups").tags["created-by"], "odoo-oec_cloud_accounts"
        )
        cron = self.env.ref("oec_cloud_accounts.ir_cron_cloud_storage_creation")
        for _attempt in range(4):
            self.due(storage)
            cron.method_direct_trigger()
            if storage.state != "creating":
                break
        self.assertEqual(storage.state, "new", storage.last_error)
        self.assertFalse(storage.sudo().lro_token)
        self.assertTrue(storage.blob_endpoint)
        self.assertPosted(storage, "Azure created the storage account")
        wizard.action_check_again()
        self.assertEqual(wizard.wizard_step, "container")
        self.assertEqual(self.storage_of(wizard.action_test_access()).state, "ready")

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
            self.env["cloud.storage"]._cron_check_creating()
        self.assertEqual(good.state, "new", good.last_error)
        self.assertEqual(bad.state, "creating")
        self.assertIn("Unexpected failure", bad.last_error)
        self.assertEqual(bad.retry_count, 2)
        self.assertGreater(bad.next_check_at, fields.Datetime.now())

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

    # -- step c: the access test and the seeds' "Cannot Access Storage Account" ------------------------

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

    def test_shared_key_disabled(self):
        storage = self.ready_storage(self.account)
        self.portal_update("oecready", {"allowSharedKeyAccess": False})
        self.assert_refused(storage, self.storage_message("KeyBasedAuthenticationNotPermitted"))
        self.portal_update("oecready", {"allowSharedKeyAccess": True})
        storage.action_test_access()
        self.assertEqual(storage.state, "ready")

    def test_missing_data_role(self):
        storage = self.ready_storage(self.account)
        self.emu.control.inject_fault(
            service="blob", status=403, code="AuthorizationPermissionMismatch", message="No role.", count=1
        )
        self.assert_refused(storage, self.storage_message("AuthorizationPermissionMismatch"))
        storage.action_test_access()
        self.assertEqual(storage.state, "ready")

    def test_account_not_found(self):
        storage = self.ready_storage(self.account)
        client, _resources = self.portal()
        client.storage_accounts.delete(RG, "oecready")
        self.assert_refused(storage, self.storage_message("ResourceNotFound", account="oecready"))

    def test_wizard_shows_a_refusal_and_tests_again(self):
        self.seed_account("oecwizard")
        self.portal_update("oecwizard", {"allowSharedKeyAccess": False})
        wizard = self.select(self.quick_setup(self.account), "oecwizard")
        action = wizard.action_test_access()
        self.assertEqual(action["res_model"], "cloud.storage.setup")
        self.assertEqual(wizard.wizard_step, "result")
        self.assertEqual(wizard.storage_error, self.storage_message("KeyBasedAuthenticationNotPermitted"))
        self.assertEqual(wizard.storage_id.state, "error")
        self.portal_update("oecwizard", {"allowSharedKeyAccess": True})
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
