"""The words people read about servers and backups: region names, power states,
amounts with their currency, sizes in one unit style (the screens themselves:
test_views_layout.py)."""

from azure_emulator import defaults

from odoo.tests import TransactionCase, tagged

from .test_server import ServerCase


@tagged("post_install", "-at_install")
class TestWords(ServerCase, TransactionCase):
    def make_storage(self):
        return (
            self.env["cloud.storage"]
            .sudo()
            .create(
                {
                    "account_id": self.account.id,
                    "subscription_id": defaults.SUBSCRIPTION_ID,
                    "resource_group": "oec-backups",
                    "storage_account": "oecwords",
                    "container": "odoo-backups",
                    "location": "westeurope",
                    "state": "ready",
                }
            )
        )

    def test_regions_are_shown_by_their_name(self):
        server = self.new_server(location="eastus")
        self.assertEqual(server.location_label, "East US (Virginia)")
        server.location = "francecentral"
        self.assertEqual(server.location_label, "France Central")
        server.location = "marsnorth"
        self.assertEqual(server.location_label, "marsnorth", "a region Odoo does not know: its code")
        storage = self.make_storage()
        self.assertEqual(storage.location_label, "West Europe (Netherlands)")
        price = self.env["cloud.price"].search([("location", "=", "australiaeast")], limit=1)
        self.assertEqual(price.location_label, "Australia East (Sydney)")

    def test_power_state_in_words(self):
        server = self.new_server()
        self.provision(server)
        self.assertEqual((server.power_state, server.power_state_label), ("running", "Running"))
        server.action_stop()
        self.advance(server, lambda s: not s.operation)
        self.assertEqual(server.power_state, "deallocated")
        self.assertEqual(server.power_state_label, "Stopped (deallocated)")
        self.assertIn(
            "Azure reports the VM's power state: Stopped (deallocated)",
            "\n".join(server.message_ids.mapped("body")),
        )
        server.sudo().power_state = "hibernated"
        self.assertEqual(server.power_state_label, "hibernated", "a state Odoo does not know: Azure's word")

    def test_costs_carry_the_prices_currency(self):
        server = self.new_server(os_disk_gb=64)
        self.assertEqual(server.cost_currency_id, self.env.ref("base.USD"))
        self.assertEqual(server._fields["cost_month"].type, "monetary")
        self.assertEqual(server._fields["cost_month"].currency_field, "cost_currency_id")
        self.assertAlmostEqual(server.cost_month, round(server.cost_month, 2), places=9, msg="in cents")
        self.assertGreater(server.cost_hour, 0)
        server.vm_size = "Standard_Unpriced"
        self.assertFalse(server.cost_currency_id, "no price, no currency")

    def test_backup_sizes_in_the_unit_of_the_throughput(self):
        policy = self.env["cloud.backup.policy"].create(
            {"name": "Words", "storage_id": self.make_storage().id}
        )
        backup = (
            self.env["cloud.backup"]
            .sudo()
            .create({"policy_id": policy.id, "trigger": "manual", "state": "done"})
        )
        shown = {}
        for size in (812, 1536, 48_612_311, 5 * 1024**3):
            backup.size = size
            shown[size] = backup.size_display
        self.assertEqual(
            shown, {812: "812 bytes", 1536: "1.5 KiB", 48_612_311: "46.4 MiB", 5 * 1024**3: "5.0 GiB"}
        )
        self.assertEqual(backup._fields["throughput"].string, "Throughput (MiB/s)")
