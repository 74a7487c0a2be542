import base64
import configparser
import importlib.util
import json
import shutil
import subprocess
import tempfile
from datetime import datetime, time, timedelta
from urllib.parse import parse_qsl

import pytz
import yaml
from azure_emulator import defaults
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from freezegun import freeze_time

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError, RedirectWarning, UserError, ValidationError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools import SQL, file_path
from odoo.tools.config import crypt_context

from ..models.cloud_server_engine import POLL_PARAM, TAG_CREATOR, TAG_SERVER
from ..services.cloud_init import cloud_config, master_password_hash
from ..services.compute import ComputeClient
from .common import EmulatorMixin, refused_users, tables_holding
from .dns_common import DnsMixin


def ssh_key(kind="ed25519", bits=2048):
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif kind == "ecdsa":
        key = ec.generate_private_key({256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1()}[bits])
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode() + " me@laptop"


def check_cloud_config_schema(test, text):
    """cloud-init's own schema check of a #cloud-config (Debian's cloud-init package): a missing
    tool fails the test, it never skips it (make test installs it)."""
    tool = shutil.which("cloud-init")
    if not tool:
        test.fail("cloud-init is not installed: apt-get install -y cloud-init (make test does it as root)")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as document:
        document.write(text)
        document.flush()
        result = subprocess.run(
            [tool, "schema", "--config-file", document.name], capture_output=True, text=True, check=False
        )
    test.assertEqual(result.returncode, 0, "cloud-init schema: %s%s" % (result.stdout, result.stderr))
    test.assertIn("Valid cloud-config", result.stdout)


def odoo_conf(document):
    """The [options] of the odoo.conf a cloud-config writes."""
    files = {f["path"]: f["content"] for f in document["write_files"]}
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(files["/etc/odoo/odoo.conf.oec"])
    return parser["options"]


def vm_cloud_config(emu):
    """The cloud-config of the (single) VM the emulator holds: its customData, decoded."""
    vm = next(
        r
        for r in emu.control.state()["resources"].values()
        if r["type"] == "Microsoft.Compute/virtualMachines"
    )
    return base64.b64decode(vm["properties"]["osProfile"]["customData"]).decode()


def nsg_rules(emu):
    nsg = next(
        r
        for r in emu.control.state()["resources"].values()
        if r["type"] == "Microsoft.Network/networkSecurityGroups"
    )
    return {rule["name"]: rule["properties"] for rule in nsg["properties"]["securityRules"]}


class ServerCase(EmulatorMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param(POLL_PARAM, 0)
        cls.key = ssh_key()

    def setUp(self):
        super().setUp()
        self.account = self.connect()
        self.subscription = self.account.subscription_ids.filtered(
            lambda s: s.subscription_id == defaults.SUBSCRIPTION_ID
        )

    def new_server(self, user=None, **values):
        vals = {
            "name": "Production ERP",
            "account_id": self.account.id,
            "subscription_line_id": self.subscription.id,
            "location": "westeurope",
            "vm_size": "Standard_B2s",
            "ssh_public_key": self.key,
            "ssh_allowed_cidrs": "203.0.113.0/24",
            "host_name": "erp.example.com",
        }
        vals.update(values)
        return self.env["cloud.server"].with_user(user or self.env.user).create(vals)

    def advance(self, server, until, passes=60):
        """Run the scheduled action until ``until(server)`` holds."""
        for _index in range(passes):
            self.run_job("cloud.server", "_cron_advance")
            server.invalidate_recordset()
            if until(server):
                return
        self.fail(
            "server %s stuck at %s/%s: %s" % (server.name, server.state, server.step, server.last_error)
        )

    def provision(self, server):
        server.action_provision()
        self.advance(server, lambda s: not s.operation or s.state == "failed")


@tagged("post_install", "-at_install")
class TestServerLifecycle(ServerCase, TransactionCase):
    def test_full_lifecycle(self):
        server = self.new_server()
        since = len(self.emu.control.requests())
        server.action_provision()
        self.assertEqual((server.state, server.step), ("provisioning", "resource_group"))
        cron = self.env.ref("oec_cloud_accounts.ir_cron_cloud_server")
        self.assertTrue(self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)]))
        # the button only ran the pre-flight reads: nothing was created yet
        writes = [r for r in self.remote_calls(since) if r["method"] not in ("GET", "HEAD")]
        self.assertEqual(writes, [])
        steps = []
        for _index in range(60):
            steps.append(server.step)
            self.run_job("cloud.server", "_cron_advance")
            server.invalidate_recordset()
            if not server.operation:
                break
        self.assertEqual(server.state, "running", server.last_error)
        self.assertEqual(
            list(dict.fromkeys(steps)),
            ["resource_group", "network", "vm", "finalize"],
        )
        self.assertTrue(server.public_ip)
        self.assertEqual(server.power_state, "running")
        self.assertEqual((server.vcpus, server.memory_gb), (2, 4.0))
        state = self.emu.control.state()
        group = next(
            r for r in state["resources"].values() if r["id"].lower().endswith(server.resource_group.lower())
        )
        self.assertEqual(group["tags"][TAG_CREATOR], "odoo-oec_cloud_accounts")
        self.assertEqual(group["tags"][TAG_SERVER], str(server.id))
        # Compute made the NIC and the public IP with the VM; the NSG is on the NIC
        resources = state["resources"].values()
        (nic,) = [r for r in resources if r["type"] == "Microsoft.Network/networkInterfaces"]
        self.assertTrue(
            nic["properties"]["networkSecurityGroup"]["id"].endswith("/networkSecurityGroups/nsg")
        )
        (address,) = [r for r in resources if r["type"] == "Microsoft.Network/publicIPAddresses"]
        self.assertEqual(address["properties"]["ipAddress"], server.public_ip)
        rules = nsg_rules(self.emu)
        self.assertEqual(rules["allow-ssh"]["sourceAddressPrefix"], "203.0.113.0/24")
        # erp.example.com is in no managed zone: no certificate, HTTP only, 443 closed
        self.assertEqual(sorted(rules), ["allow-http", "allow-ssh"])
        self.assertEqual(rules["allow-http"]["destinationPortRange"], "80")
        self.assertFalse(server.https)
        self.assertIn("HTTP only", server.web_access)
        vm = next(r for r in state["resources"].values() if r["type"] == "Microsoft.Compute/virtualMachines")
        custom = yaml.safe_load(base64.b64decode(vm["properties"]["osProfile"]["customData"]))
        self.assertIn("postgresql", custom["packages"])
        self.assertNotIn("certbot", custom["packages"])
        self.assertEqual(odoo_conf(custom)["list_db"], "False")
        self.assertEqual(vm["properties"]["hardwareProfile"]["vmSize"], "Standard_B2s")

        for action, state_after, power in (
            ("action_stop", "stopped", "deallocated"),
            ("action_start", "running", "running"),
            ("action_restart", "running", "running"),
        ):
            getattr(server, action)()
            self.advance(server, lambda s: not s.operation)
            self.assertEqual((server.state, server.power_state), (state_after, power), action)
        messages = server.message_ids.mapped("body")
        self.assertTrue(any("Stop (deallocate) done" in body for body in messages), messages)

        server.action_delete_in_azure()
        self.advance(server, lambda s: not s.operation)
        self.assertEqual(server.state, "deleted")
        remaining = [r for r in self.emu.control.state()["resources"] if server.resource_group.lower() in r]
        self.assertEqual(remaining, [])
        server.unlink()

    def test_cloud_init_prepares_odoo_17(self):
        text = cloud_config("erp.example.com", master_password_hash("s3cret-test"), vcpus=4, memory_gb=16)
        self.assertTrue(text.startswith("#cloud-config\n"))
        doc = yaml.safe_load(text)
        self.assertTrue(doc["package_upgrade"])
        self.assertTrue({"postgresql", "nginx", "ufw", "unattended-upgrades"} <= set(doc["packages"]))
        files = {f["path"]: f["content"] for f in doc["write_files"]}
        site = files["/etc/nginx/sites-available/odoo"]
        self.assertIn("server_name erp.example.com;", site)
        self.assertIn("location /websocket", site)
        self.assertIn("location /longpolling", site)
        self.assertIn("proxy_set_header Upgrade $http_upgrade;", site)
        self.assertIn("workers = 9\n", files["/etc/odoo/odoo.conf.oec"])
        self.assertIn('Unattended-Upgrade "1"', files["/etc/apt/apt.conf.d/20auto-upgrades"])
        commands = [" ".join(cmd) if isinstance(cmd, list) else cmd for cmd in doc["runcmd"]]
        self.assertTrue(any("https://nightly.odoo.com/17.0/nightly/deb/" in c for c in commands))
        self.assertTrue(any("apt-get install -y odoo" in c for c in commands))
        self.assertIn("ufw --force enable", commands)
        self.assertIn("ufw allow http", commands)
        self.assertNotIn("ufw allow https", commands, "HTTPS only with a certificate")
        # the package starts Odoo with its own configuration: ours needs a restart, not enable --now
        self.assertIn("systemctl restart odoo", commands)
        check_cloud_config_schema(self, text)

    def test_cost_estimate(self):
        server = self.new_server(os_disk_gb=64)
        prices = {
            (p.kind, p.sku): p.unit_price
            for p in self.env["cloud.price"].search([("location", "=", "westeurope")])
        }
        hourly = prices[("vm", "Standard_B2s")] + prices[("ip", "Standard")]
        self.assertAlmostEqual(server.cost_month, hourly * 730 + prices[("disk", "E6")], places=2)
        self.assertAlmostEqual(
            server.cost_month_stopped, prices[("ip", "Standard")] * 730 + prices[("disk", "E6")], places=2
        )
        self.assertIn("shipped price table", server.cost_source)
        # the daily refresh replaces the shipped table with the API's prices (the emulator's)
        self.assertGreater(self.run_job("cloud.price", "_cron_refresh_prices"), 0)
        server.invalidate_recordset()
        self.assertIn("Azure retail prices", server.cost_source)
        api_price = self.env["cloud.price"].search(
            [("location", "=", "westeurope"), ("kind", "=", "vm"), ("sku", "=", "Standard_B2s")]
        )
        self.assertEqual((api_price.source, api_price.unit_price), ("api", round(0.0416 * 1.12, 4)))

    def test_prices_service_down_keeps_prices(self):
        before = self.env["cloud.price"].search_count([("source", "=", "fallback")])
        self.emu.control.inject_fault(service="prices", status=503, count=100)
        self.assertEqual(self.run_job("cloud.price", "_cron_refresh_prices"), 0)
        self.assertEqual(self.env["cloud.price"].search_count([("source", "=", "fallback")]), before)


@tagged("post_install", "-at_install")
class TestServerProvisionSizes(ServerCase, TransactionCase):
    def test_sizes_that_cannot_boot_the_image_are_not_offered_and_the_wizard_says_why(self):
        """Azure lists a Generation 1 only size (Standard_A1) and an Arm64 one (Standard_D2ps_v5)
        in the sandbox's regions, as it does in real ones: neither is offered, and the size step
        says so."""
        wizard = self.env["cloud.server.provision"].create(
            {"account_id": self.account.id, "subscription_line_id": self.subscription.id}
        )
        wizard.action_load_regions()
        wizard.action_load_sizes()
        offered = wizard.option_ids.filtered(lambda o: o.kind == "size").mapped("name")
        self.assertTrue(offered)
        self.assertFalse({"Standard_A1", "Standard_D2ps_v5"} & set(offered), offered)
        self.assertEqual(
            wizard.size_note,
            "Not offered, as the server's Ubuntu image is Generation 2 on x64: sizes that run only "
            "Generation 1 images (1) and Arm64 sizes (1).",
        )

    def test_a_version_the_cloud_lacks_says_which_line_to_set(self):
        """A cloud whose resource SKUs lack Odoo's API version answers as Azure does (404
        InvalidResourceType): the wizard names the operation and version, and where a Settings
        administrator sets the cloud's own; with a version it offers, the sizes load."""
        wizard = self.env["cloud.server.provision"].create(
            {"account_id": self.account.id, "subscription_line_id": self.subscription.id}
        )
        wizard.action_load_regions()
        # the emulator offers one version of resource SKUs: this cloud "lacks" Odoo's when asked another
        self.cloud.api_version_overrides = "compute.resource_skus = 2019-04-01"
        since = len(self.emu.control.requests())
        with self.assertRaises(UserError) as caught:
            wizard.action_load_sizes()
        message = str(caught.exception)
        self.assertIn("API version 2019-04-01 of compute.resource_skus", message)
        self.assertIn('"compute.resource_skus = <version>"', message)
        self.assertIn("Cloud > Configuration > Azure Clouds", message)
        self.assertIn("The supported api-versions are '2021-07-01'", message)
        self.assertIn("(InvalidResourceType)", message)
        (asked,) = [r for r in self.remote_calls(since) if r["path"].endswith("/skus")]
        self.assertEqual(
            (asked["status"], dict(parse_qsl(asked["query"]))["api-version"]), (404, "2019-04-01")
        )
        self.cloud.api_version_overrides = "compute.resource_skus = 2021-07-01"
        wizard.action_load_sizes()
        self.assertTrue(wizard.option_ids.filtered(lambda o: o.kind == "size"))


@tagged("post_install", "-at_install")
class TestServerSafeFirstAnswer(ServerCase, TransactionCase):
    """What Azure boots is safe when it first answers: a master password of its own, the database
    manager closed, proxy mode, workers sized for the VM, HTTPS only when it can be had."""

    def test_cloud_config_is_safe_and_valid(self):
        secret = "Vq3-master-under-test"
        for https, vcpus, memory_gb in ((True, 2, 4.0), (False, 1, 1.0), (False, 16, 64.0)):
            with self.subTest(https=https, vcpus=vcpus, memory_gb=memory_gb):
                text = cloud_config(
                    "erp.example.com" if https else "",
                    master_password_hash(secret),
                    vcpus=vcpus,
                    memory_gb=memory_gb,
                    https=https,
                    email="ops@example.com",
                )
                document = yaml.safe_load(text)
                options = odoo_conf(document)
                self.assertNotEqual(options["admin_passwd"], "admin")
                self.assertNotIn(secret, text, "only the hash is sent")
                self.assertTrue(crypt_context.verify(secret, options["admin_passwd"]), "Odoo's own check")
                self.assertEqual(options["list_db"], "False")
                self.assertEqual(options["proxy_mode"], "True")
                workers, crons = int(options["workers"]), int(options["max_cron_threads"])
                self.assertGreater(workers, 0)
                self.assertLessEqual(workers, 2 * vcpus + 1)
                self.assertIn(crons, (1, 2))
                soft, hard = int(options["limit_memory_soft"]), int(options["limit_memory_hard"])
                self.assertLess(soft, hard)
                commands = [" ".join(c) for c in document["runcmd"]]
                certbot = [c for c in commands if "certbot --nginx" in c]
                if https:
                    self.assertEqual(len(certbot), 1, commands)
                    self.assertIn(
                        "certbot --nginx --non-interactive --agree-tos -m ops@example.com -d erp.example.com "
                        "--redirect",
                        certbot[0],
                    )
                    self.assertIn("systemctl enable --now certbot.timer", commands, "renewal")
                    self.assertTrue({"certbot", "python3-certbot-nginx"} <= set(document["packages"]))
                    self.assertIn("ufw allow https", commands)
                else:
                    self.assertEqual(certbot, [])
                    self.assertNotIn("ufw allow https", commands)
                # the memory of the VM holds its workers
                if memory_gb >= 4:
                    self.assertLessEqual((workers + crons) * soft, memory_gb * 1024**3)
                check_cloud_config_schema(self, text)
        with self.assertRaises(ValueError):
            cloud_config("erp.example.com", "admin")

    def test_master_password_per_server_shown_once_then_to_administrators(self):
        server = self.new_server()
        manager = new_test_user(self.env, "srv_pw_manager", groups="oec_cloud_accounts.group_cloud_manager")
        admin = self.env.ref("base.user_admin")
        shown = server.with_user(manager).action_provision()
        self.advance(server, lambda s: not s.operation or s.state == "failed")
        self.assertEqual(server.state, "running", server.last_error)
        password = server.sudo()._get_secret("master_password_enc")
        self.assertTrue(password and len(password) >= 24)
        # shown once, to whoever provisioned it, in the answer (not stored anywhere)
        self.assertEqual(shown["tag"], "display_notification")
        self.assertIn(password, shown["params"]["message"])
        # the VM got its hash
        text = vm_cloud_config(self.emu)
        self.assertNotIn(password, text)
        options = odoo_conf(yaml.safe_load(text))
        self.assertTrue(crypt_context.verify(password, options["admin_passwd"]))
        self.assertEqual((options["list_db"], options["proxy_mode"]), ("False", "True"))
        self.assertEqual(options["workers"], "5", "2 vCPUs, 4 GiB")
        check_cloud_config_schema(self, text)
        # in no table in clear, and no field reads it
        self.assertEqual(tables_holding(self.env, password), [])
        self.assertNotIn("master_password_enc", server.fields_get())
        self.assertNotIn(password, str(server.with_user(admin).read()))
        self.assertTrue(server.with_user(manager).master_password_set)
        # a Cloud Manager cannot show it again; an administrator can, and it is noted
        with self.assertRaises(AccessError):
            server.with_user(manager).action_show_master_password()
        again = server.with_user(admin).action_show_master_password()
        self.assertIn(password, again["params"]["message"])
        self.assertTrue(any("Master password shown" in body for body in server.message_ids.mapped("body")))
        # another server gets another password
        other = self.new_server(name="Second ERP")
        other.action_provision()
        self.assertNotEqual(other.sudo()._get_secret("master_password_enc"), password)
        # the witness can fail: a value stored in clear is found
        self.env["ir.config_parameter"].sudo().set_param("oec_test.witness", password)
        self.assertEqual(tables_holding(self.env, password), ["ir_config_parameter"])

    def test_same_cloud_config_when_the_vm_request_is_sent_again(self):
        """Azure refuses a changed customData on an existing VM: the password (and its hash) stay."""
        server = self.new_server()
        server.action_provision()
        self.advance(server, lambda s: s.step == "vm")
        first = server.sudo()._cloud_config()
        self.assertEqual(server.sudo()._cloud_config(), first)


@tagged("post_install", "-at_install")
class TestServerValidation(ServerCase, TransactionCase):
    def test_inputs_are_validated(self):
        for values, message in (
            ({"ssh_public_key": "not a key"}, "OpenSSH public key"),
            ({"ssh_public_key": ssh_key("rsa", 1024)}, "1024 bits"),
            ({"ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== x"}, "not valid OpenSSH"),
            ({"ssh_allowed_cidrs": "10.0.0.1/8"}, "CIDR"),
            ({"ssh_allowed_cidrs": "0.0.0.0/0"}, "whole internet"),
            ({"host_name": "not a host"}, "not a host name"),
            ({"admin_username": "root"}, "admin user"),
            ({"location": "West Europe!"}, "region"),
        ):
            with self.subTest(values=values), self.assertRaisesRegex(ValidationError, message):
                self.new_server(**values)
        self.assertTrue(self.new_server(ssh_public_key=ssh_key("rsa", 2048), ssh_allowed_cidrs=""))

    def test_ssh_key_is_exactly_one_known_key(self):
        key, second = ssh_key(), ssh_key()
        kind, blob, _comment = key.split()
        for value, message in (
            (key + "\n" + second, "exactly one SSH public key"),
            (key + "\r\n" + second, "exactly one SSH public key"),
            ("%s %s %s" % (kind, blob, "c" * (10 * 1024 * 1024)), "characters long"),
            ("%s %s %s" % (kind, blob, "c" * 101), "comment"),
            ("%s %s me\x07@laptop" % (kind, blob), "comment"),
            ("ssh-dss AAAAB3NzaC1kc3MAAACBAP= me", "got 'ssh-dss'"),
            ("sk-ssh-ed25519@openssh.com AAAA me", "got 'sk-ssh-ed25519@openssh.com'"),
            ("ssh-rsa %s me" % blob, "does not match"),
            ("ecdsa-sha2-nistp384 %s me" % ssh_key("ecdsa", 256).split()[1], "does not match"),
            ('command="rm -rf /" %s' % key, "OpenSSH public key"),
        ):
            with self.subTest(value=value[:60]), self.assertRaisesRegex(ValidationError, message) as refusal:
                self.new_server(ssh_public_key=value)
            self.assertLess(len(str(refusal.exception)), 400, "the message does not repeat the input")
        for value in (
            ssh_key("ecdsa", 256),
            ssh_key("ecdsa", 384),
            ssh_key("ecdsa", 521),
            ssh_key("rsa", 3072),
        ):
            with self.subTest(value=value[:30]):
                self.assertTrue(self.new_server(ssh_public_key=value))

    def test_key_sent_to_azure_is_the_one_checked(self):
        server = self.new_server(ssh_public_key="  %s   \n" % self.key.replace(" me@", "  me@"))
        self.provision(server)
        vm = next(
            r
            for r in self.emu.control.state()["resources"].values()
            if r["type"] == "Microsoft.Compute/virtualMachines"
        )
        keys = vm["properties"]["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"]
        self.assertEqual([k["keyData"] for k in keys], [self.key])

    def test_ssh_sources_cannot_cover_the_internet(self):
        for value in (
            "0.0.0.0/0",
            "0.0.0.0/1,128.0.0.0/1",
            "0.0.0.0/1",
            "0.0.0.0/2, 64.0.0.0/2, 128.0.0.0/2",
            "::/0",
            "::/1, 8000::/1",
        ):
            with self.subTest(value=value), self.assertRaisesRegex(ValidationError, "whole internet"):
                self.new_server(ssh_allowed_cidrs=value)
        with self.assertRaisesRegex(ValidationError, "at most 50 networks"):
            self.new_server(ssh_allowed_cidrs=",".join("203.0.113.%d/32" % n for n in range(51)))
        server = self.new_server(ssh_allowed_cidrs="203.0.113.0/24, 198.51.100.7/32, 0.0.0.0/2")
        self.assertTrue(server)

    def test_messages_quote_at_most_a_hundred_characters(self):
        huge = "x" * (10 * 1024 * 1024)
        for values in (
            {"host_name": huge + ".example.com"},
            {"host_name": "a." + huge},
            {"location": huge},
            {"vm_size": huge},
            {"admin_username": huge},
            {"ssh_allowed_cidrs": huge},
            {"ssh_allowed_cidrs": "203.0.113.0/24," + huge},
        ):
            with self.subTest(field=next(iter(values))), self.assertRaises(ValidationError) as refusal:
                self.new_server(**values)
            message = str(refusal.exception)
            self.assertLess(len(message), 500, message[:300])
            self.assertIn("xxxxxxxxxx", message, "the start of the input is quoted")

    def test_provisioned_settings_are_fixed_and_system_fields_refused(self):
        server = self.new_server()
        manager = self.env.ref("base.user_admin")
        with self.assertRaises(AccessError):
            server.with_user(manager).write({"state": "running"})
        with self.assertRaises(AccessError):
            server.with_user(manager).write({"public_ip": "1.2.3.4"})
        self.provision(server)
        with self.assertRaisesRegex(UserError, "fixed"):
            server.with_user(manager).write({"vm_size": "Standard_D2s_v5"})
        server.with_user(manager).write({"name": "Renamed"})
        with self.assertRaisesRegex(UserError, "resources in Azure"):
            server.unlink()


@tagged("post_install", "-at_install")
class TestServerPreflight(ServerCase, TransactionCase):
    def assertRefusedBeforeCreating(self, server, error, message):
        since = len(self.emu.control.requests())
        with self.assertRaisesRegex(error, message):
            server.action_provision()
        writes = [r for r in self.remote_calls(since) if r["method"] not in ("GET", "HEAD")]
        self.assertEqual(writes, [])
        self.assertEqual(server.state, "draft")

    def test_unregistered_providers(self):
        self.emu.control.set_provider_state(
            "Microsoft.Compute", "NotRegistered", subscription=defaults.SUBSCRIPTION_ID
        )
        self.assertRefusedBeforeCreating(
            self.new_server(), RedirectWarning, "Microsoft.Compute must be registered"
        )

    def test_size_not_available(self):
        self.emu.control.update_subscription(
            defaults.SUBSCRIPTION_ID, sku_restrictions={"westeurope": ["Standard_B2s"]}
        )
        self.assertRefusedBeforeCreating(self.new_server(), UserError, "SkuNotAvailable")

    def test_quota(self):
        self.emu.control.update_subscription(
            defaults.SUBSCRIPTION_ID, quotas={"westeurope": {"standardBSFamily": 1}}
        )
        self.assertRefusedBeforeCreating(
            self.new_server(), UserError, "uses 0 of 1 vCPUs and this size needs 2"
        )
        self.emu.control.update_subscription(defaults.SUBSCRIPTION_ID, quotas={"westeurope": {"cores": 1}})
        self.assertRefusedBeforeCreating(self.new_server(), UserError, "Total Regional vCPUs")


@tagged("post_install", "-at_install")
class TestServerFailures(ServerCase, TransactionCase):
    def test_error_codes_at_their_step_then_retry(self):
        # a missing role (403 AuthorizationFailed) is the account's state: test_account_states.py
        cases = [
            (
                "network",
                {
                    "path": "/virtualNetworks/",
                    "method": "PUT",
                    "status": 400,
                    "code": "RequestDisallowedByPolicy",
                },
                "Azure Policy",
            ),
            (
                "vm",
                {"path": "/virtualMachines/", "method": "PUT", "status": 409, "code": "QuotaExceeded"},
                "Usage \\+ quotas",
            ),
            (
                "vm",
                {"path": "/virtualMachines/", "method": "PUT", "status": 409, "code": "SkuNotAvailable"},
                "not available",
            ),
            (
                "vm",
                {"path": "/virtualMachines/", "method": "PUT", "status": 400, "code": "InvalidParameter"},
                "refused a value",
            ),
            (
                "vm",
                {"path": "/virtualMachines/", "method": "PUT", "status": 409, "code": "OperationNotAllowed"},
                "Usage \\+ quotas",
            ),
            (
                "network",
                {
                    "path": "/networkSecurityGroups/",
                    "method": "PUT",
                    "status": 409,
                    "code": "MissingSubscriptionRegistration",
                },
                "not registered",
            ),
        ]
        for step, fault, message in cases:
            with self.subTest(code=fault["code"]):
                self.emu.control.reset()
                self.emu.control.inject_fault(service="arm", **fault)
                # azure-mgmt-core answers MissingSubscriptionRegistration by registering, then
                # waits: refused here, as an account without the right to register would be
                self.emu.control.inject_fault(
                    service="arm", path="/register", method="POST", status=403, code="AuthorizationFailed"
                )
                server = self.new_server(name="srv-%s" % fault["code"].lower())
                self.provision(server)
                self.assertEqual((server.state, server.failed_step), ("failed", step), server.last_error)
                self.assertEqual(server.last_error_code, fault["code"])
                self.assertRegex(server.last_error, message)
                self.assertTrue(server.activity_ids)
                server.action_retry()
                self.advance(server, lambda s: not s.operation or s.state == "failed")
                self.assertEqual(server.state, "running", server.last_error)
                self.assertFalse(server.activity_ids, "the activity was answered")

    def test_zonal_allocation_failed_then_retry(self):
        self.emu.control.lro_fail(path="/virtualMachines/", code="ZonalAllocationFailed")
        server = self.new_server()
        self.provision(server)
        self.assertEqual((server.failed_step, server.last_error_code), ("vm", "ZonalAllocationFailed"))
        self.assertIn("availability zone", server.last_error)
        server.action_retry()
        self.advance(server, lambda s: not s.operation or s.state == "failed")
        self.assertEqual(server.state, "running", server.last_error)

    def test_allocation_failed_in_the_operation(self):
        self.emu.control.lro_fail(path="/virtualMachines/", code="AllocationFailed")
        server = self.new_server()
        self.provision(server)
        self.assertEqual(
            (server.state, server.failed_step, server.last_error_code), ("failed", "vm", "AllocationFailed")
        )
        self.assertIn("no capacity", server.last_error)
        # Delete cleans up what was created
        server.action_delete_in_azure()
        self.advance(server, lambda s: not s.operation)
        self.assertEqual(server.state, "deleted")
        self.assertFalse(
            [r for r in self.emu.control.state()["resources"] if server.resource_group.lower() in r]
        )

    def test_transient_failure_is_retried_with_backoff(self):
        server = self.new_server()
        server.action_provision()
        # two answers: azure-core retries once by itself (ArmClient retries=1)
        self.emu.control.inject_fault(
            service="arm", path="/networkSecurityGroups/", method="PUT", status=503, count=2
        )
        self.run_job("cloud.server", "_cron_advance")  # resource group
        self.run_job("cloud.server", "_cron_advance")  # network: 503 (azure-core's own retry is spent too)
        server.invalidate_recordset()
        self.assertEqual((server.state, server.step, server.retry_count), ("provisioning", "network", 1))
        self.assertGreater(server.next_run_at, datetime.now() + timedelta(seconds=30))
        self.assertEqual(self.run_job("cloud.server", "_cron_advance"), 0, "not due before its retry time")
        server.sudo().next_run_at = False
        self.advance(server, lambda s: not s.operation or s.state == "failed")
        self.assertEqual(server.state, "running", server.last_error)

    def test_foreign_resource_group_is_never_touched(self):
        server = self.new_server()
        group = server._resource_group_name()
        arm = self.account._arm(ComputeClient)
        arm.create_resource_group(defaults.SUBSCRIPTION_ID, group, "westeurope", {"owner": "someone"})
        self.provision(server)
        self.assertEqual((server.state, server.last_error_code), ("failed", "ForeignResourceGroup"))
        # nothing of the server's was created: Delete ends at once, the foreign group stays
        since = len(self.emu.control.requests())
        server.action_delete_in_azure()
        self.advance(server, lambda s: not s.operation)
        self.assertEqual(server.state, "deleted")
        self.assertEqual([r for r in self.remote_calls(since) if r["method"] == "DELETE"], [])
        self.assertTrue(arm.get_resource_group(defaults.SUBSCRIPTION_ID, group), "still there")


@tagged("post_install", "-at_install")
class TestServerAccess(ServerCase, TransactionCase):
    def test_read_only_users_reach_nothing(self):
        server = self.new_server()
        self.provision(server)
        users = refused_users(self.env, "srv")
        for label, user in users.items():
            for method in (
                "action_stop",
                "action_restart",
                "action_refresh_state",
                "action_delete_in_azure",
                "action_retry",
                "action_show_master_password",
            ):
                with self.subTest(user=label, method=method):
                    since = len(self.emu.control.requests())
                    with self.assertRaises(AccessError):
                        getattr(server.with_user(user), method)()
                    self.assertEqual(self.remote_calls(since), [])
        viewer = users["cloud user"]
        self.assertEqual(server.with_user(viewer).read(["state"])[0]["state"], "running")
        wizard = self.env["cloud.server.provision"].create({"account_id": self.account.id})
        since = len(self.emu.control.requests())
        with self.assertRaises(AccessError):
            wizard.with_user(viewer).action_load_regions()
        self.assertEqual(self.remote_calls(since), [])


@tagged("post_install", "-at_install")
class TestServerSchedule(ServerCase, TransactionCase):
    def test_start_and_stop_at_local_times(self):
        # Next week, ahead of the real clock (the emulator mints its tokens at real time).
        paris = pytz.timezone("Europe/Paris")
        today = datetime.now().date()
        monday = today + timedelta(days=7 - today.weekday())

        def at(days, hour, minute):
            """Frozen at this local time in Paris, ``days`` after next Monday."""
            local = datetime.combine(monday + timedelta(days=days), time(hour, minute))
            return freeze_time(paris.localize(local))  # freezegun keeps it as naive UTC

        server = self.new_server()
        self.provision(server)
        with at(0, 7, 0):  # a Monday, 07:00
            server.write(
                {
                    "schedule_enabled": True,
                    "schedule_tz": "Europe/Paris",
                    "schedule_start": 8.0,
                    "schedule_stop": 19.5,
                }
            )
            self.assertEqual(
                self.run_job("cloud.server", "_cron_schedule"), 0, "nothing before a scheduled moment"
            )
        with at(0, 19, 31):  # 19:31: stop
            self.assertEqual(self.run_job("cloud.server", "_cron_schedule"), 1)
            self.assertEqual(server.operation, "stop")
            self.advance(server, lambda s: not s.operation)
            self.assertEqual(server.state, "stopped")
            self.assertEqual(self.run_job("cloud.server", "_cron_schedule"), 0, "acted once per moment")
        with at(1, 7, 59):  # 07:59 Tuesday: not yet
            self.assertEqual(self.run_job("cloud.server", "_cron_schedule"), 0)
        with at(1, 8, 1):  # 08:01: start
            self.assertEqual(self.run_job("cloud.server", "_cron_schedule"), 1)
            self.advance(server, lambda s: not s.operation)
            self.assertEqual(server.state, "running")
        with at(5, 8, 1):  # Saturday: not a scheduled day, Friday's stop acts
            self.assertEqual(self.run_job("cloud.server", "_cron_schedule"), 1)
            self.assertEqual(server.operation, "stop")
        self.assertTrue(any("by the server's schedule" in body for body in server.message_ids.mapped("body")))


@tagged("post_install", "-at_install")
class TestServerResume(ServerCase, TransactionCase):
    def test_resume_after_restart_from_the_stored_token(self):
        """The VM's operation is started, Odoo 'restarts' (nothing kept in memory):
        the next step, on a new cursor and environment, resumes the same operation."""
        self.emu.control.configure(lro_polls=3)
        server = self.new_server()
        server.action_provision()
        self.advance(server, lambda s: s.step == "vm")
        self.run_job("cloud.server", "_cron_advance")  # sends the VM's PUT, keeps the token
        server.invalidate_recordset()
        self.assertEqual((server.step, server.sudo().lro_kind), ("vm", "vm"))
        self.assertTrue(server.sudo().lro_token)
        puts = [r for r in self.remote_calls() if r["method"] == "PUT" and "/virtualMachines/" in r["path"]]
        self.assertEqual(len(puts), 1)
        self.env.flush_all()
        self.env.invalidate_all()
        self.registry.clear_cache()
        # a new cursor and environment, as a restarted cron worker gets (on this test's transaction)
        self.registry.enter_test_mode(self.cr)
        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                fresh = env["cloud.server"].browse(server.id)
                for _index in range(10):
                    env["cloud.server"]._cron_advance()
                    fresh.invalidate_recordset()
                    if not fresh.operation:
                        break
                self.assertEqual(fresh.state, "running", fresh.last_error)
        finally:
            self.registry.leave_test_mode()
        puts = [r for r in self.remote_calls() if r["method"] == "PUT" and "/virtualMachines/" in r["path"]]
        self.assertEqual(len(puts), 1, "resumed, not sent again")

    def test_token_of_another_azure_core_fails_the_step_and_retry_goes_on(self):
        """azure-core before 1.38 wrote continuation tokens as base64 pickles, which later
        versions refuse (ValueError): the step fails once, saying so, instead of being
        retried forever as an unexpected failure; Retry sends the step's PUT again."""
        self.emu.control.configure(lro_polls=3)
        server = self.new_server()
        server.action_provision()
        self.advance(server, lambda s: s.step == "vm")
        self.run_job("cloud.server", "_cron_advance")  # the VM's PUT, its token kept
        old_format = base64.b64encode(b"\x80\x04\x95" + bytes(40)).decode()
        server.sudo().write({"lro_token": old_format})
        self.run_job("cloud.server", "_cron_advance")
        self.assertEqual((server.state, server.failed_step), ("failed", "vm"))
        self.assertEqual(server.last_error_code, "ContinuationTokenUnreadable")
        self.assertIn("Odoo can no longer follow this Azure operation", server.last_error)
        self.assertFalse(server.sudo().lro_token)
        server.action_retry()
        self.advance(server, lambda s: not s.operation)
        self.assertEqual(server.state, "running", server.last_error)


@tagged("post_install", "-at_install")
class TestServerCriticalPath(ServerCase, TransactionCase):
    """Provisioning waits for as few operations one after the other as Azure allows, and looks
    at them again when Azure says they may be over."""

    def resources(self, kind):
        return [r for r in self.emu.control.state()["resources"].values() if r["type"] == kind]

    def test_network_operations_run_at_once_then_the_vm_with_its_nic_and_ip(self):
        self.emu.control.configure(lro_polls=2)
        server = self.new_server()
        server.action_provision()
        self.run_job("cloud.server", "_cron_advance")  # the resource group (synchronous)
        since = len(self.emu.control.requests())
        self.run_job("cloud.server", "_cron_advance")  # network: both PUTs in one pass
        server.invalidate_recordset()
        puts = [r["path"].rsplit("/", 2)[-2] for r in self.remote_calls(since) if r["method"] == "PUT"]
        self.assertEqual(sorted(puts), ["networkSecurityGroups", "virtualNetworks"])
        self.assertEqual((server.step, server.sudo().lro_kind), ("network", "network"))
        self.assertEqual(sorted(json.loads(server.sudo().lro_token)), ["nsg", "vnet"])
        self.assertEqual(server.progress, 25)
        # each pass asks about both (one still running keeps the step), then the VM is sent
        since = len(self.emu.control.requests())
        self.advance(server, lambda s: s.step == "vm")
        polled = {r["path"] for r in self.remote_calls(since) if "/operations/" in r["path"]}
        self.assertEqual(len(polled), 2, "both operations followed")
        self.assertEqual(server.progress, 50)
        self.advance(server, lambda s: not s.operation or s.state == "failed")
        self.assertEqual(server.state, "running", server.last_error)
        puts = [r for r in self.remote_calls() if r["method"] == "PUT"]
        self.assertFalse(
            [r for r in puts if "/networkInterfaces/" in r["path"] or "/publicIPAddresses/" in r["path"]]
        )
        (vm,) = self.resources("Microsoft.Compute/virtualMachines")
        self.assertEqual(vm["properties"]["networkProfile"]["networkApiVersion"], "2024-05-01")
        self.assertEqual(len(self.resources("Microsoft.Network/publicIPAddresses")), 1)

    def test_one_network_operation_failing_fails_the_step_and_retry_adds_nothing_else(self):
        self.emu.control.lro_fail(path="/virtualNetworks/", code="InternalServerError")
        server = self.new_server()
        self.provision(server)
        self.assertEqual((server.state, server.failed_step), ("failed", "network"), server.last_error)
        self.assertFalse(server.sudo().lro_token)
        server.action_retry()
        self.advance(server, lambda s: not s.operation or s.state == "failed")
        self.assertEqual(server.state, "running", server.last_error)
        for kind in ("networkSecurityGroups", "virtualNetworks", "networkInterfaces", "publicIPAddresses"):
            self.assertEqual(len(self.resources("Microsoft.Network/" + kind)), 1, kind)

    def test_next_look_when_azure_says_the_operation_may_be_over(self):
        """Retry-After (the emulator's: what is left of lro_seconds) sets the next pass, not the
        10 s poll interval; the scheduled action is woken then."""
        self.env["ir.config_parameter"].sudo().set_param(POLL_PARAM, 10)
        self.emu.control.configure(lro_seconds=3, lro_polls=0)
        server = self.new_server()
        server.action_provision()
        self.run_job("cloud.server", "_cron_advance")  # the resource group
        before = datetime.now()
        self.run_job("cloud.server", "_cron_advance")  # network: Azure says 3 s
        server.invalidate_recordset()
        wait = (server.next_run_at - before).total_seconds()
        self.assertTrue(2.5 <= wait <= 3.6, wait)
        cron = self.env.ref("oec_cloud_accounts.ir_cron_cloud_server")
        triggers = self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)])
        self.assertTrue(
            any(abs((t.call_at - server.next_run_at).total_seconds()) < 1 for t in triggers),
            "woken when the operations may be over",
        )

    def test_server_upgraded_at_a_step_of_the_old_chain_goes_on(self):
        """17.0.1.1.0 made the public IP and the NIC in steps of their own: a server at one of
        them when the module is upgraded goes on along that chain, and its VM takes that NIC."""
        server = self.new_server()
        server.action_provision()
        self.advance(server, lambda s: s.step == "vm")
        server.sudo().write({"step": "public_ip"})
        steps = []
        for _index in range(30):
            steps.append(server.step)
            self.run_job("cloud.server", "_cron_advance")
            server.invalidate_recordset()
            if not server.operation:
                break
        self.assertEqual(server.state, "running", server.last_error)
        self.assertEqual(list(dict.fromkeys(steps)), ["public_ip", "nic", "vm", "finalize"])
        (vm,) = self.resources("Microsoft.Compute/virtualMachines")
        (ref,) = vm["properties"]["networkProfile"]["networkInterfaces"]
        self.assertTrue(ref["id"].endswith("/networkInterfaces/nic"))
        self.assertNotIn("networkInterfaceConfigurations", vm["properties"]["networkProfile"])
        (address,) = self.resources("Microsoft.Network/publicIPAddresses")
        self.assertEqual(address["properties"]["ipAddress"], server.public_ip)

    def test_migration_moves_the_old_network_steps(self):
        path = file_path("oec_cloud_accounts/migrations/17.0.1.2.0/pre-migration.py")
        spec = importlib.util.spec_from_file_location("oec_pre_migration_17_0_1_2_0", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        running = self.new_server(name="at vnet")
        failed = self.new_server(name="failed at nsg")
        later = self.new_server(name="at nic")
        # rows as 17.0.1.1.0 left them (its step values are no longer in the selection)
        self.env.flush_all()
        for server, values in (
            (running, ("provisioning", "vnet", None, "t", "vnet")),
            (failed, ("failed", None, "nsg", None, None)),
            (later, ("provisioning", "nic", None, None, "nic")),
        ):
            self.env.cr.execute(
                "UPDATE cloud_server SET operation = 'provision', state = %s, step = %s, failed_step = %s,"
                " lro_token = %s, lro_kind = %s WHERE id = %s",
                (*values, server.id),
            )
        self.env.flush_all()
        migration.migrate(self.env.cr, "17.0.1.1.0")
        self.env.invalidate_all()
        self.assertEqual(
            (running.step, running.sudo().lro_token, running.sudo().lro_kind), ("network", False, False)
        )
        self.assertEqual(failed.failed_step, "network")
        self.assertEqual((later.step, later.sudo().lro_kind), ("nic", "nic"))
        self.assertEqual(running.progress, 25)


@tagged("post_install", "-at_install")
class TestServerConcurrency(TransactionCase):
    """Two cron workers on real cursors: a server locked by one is skipped by the
    other without waiting. Needs committed rows, cleaned up afterwards."""

    def test_skip_locked(self):
        with self.registry.cursor() as cr0:
            env0 = api.Environment(cr0, SUPERUSER_ID, {"tracking_disable": True, "mail_create_nolog": True})
            cloud = env0["cloud.azure.environment"].create(
                {
                    "name": "Server concurrency test",
                    "authority_host": "https://127.0.0.1:9",
                    "arm_endpoint": "https://127.0.0.1:9",
                    "arm_audience": "https://management.azure.com/",
                }
            )
            # one account each (without tokens): a failed sign-in holds its account's servers only
            accounts = env0["cloud.account"].create(
                [{"environment_id": cloud.id, "name": "No tokens %d" % index} for index in range(3)]
            )
            subs = env0["cloud.account.subscription"].create(
                [
                    {"account_id": account.id, "name": "Sub", "subscription_id": defaults.SUBSCRIPTION_ID}
                    for account in accounts
                ]
            )
            servers = env0["cloud.server"].create(
                [
                    {
                        "name": "race-%d" % index,
                        "account_id": sub.account_id.id,
                        "subscription_line_id": sub.id,
                        "location": "westeurope",
                        "vm_size": "Standard_B2s",
                        "ssh_public_key": ssh_key(),
                    }
                    for index, sub in enumerate(subs)
                ]
            )
            servers.write({"state": "provisioning", "operation": "provision", "step": "resource_group"})
            ids = servers.ids
            others = (cloud.id, accounts.ids)
            cr0.execute("SELECT coalesce(max(id), 0) FROM ir_cron_trigger")
            triggers = cr0.fetchone()[0]
        try:
            with self.registry.cursor() as worker1, self.registry.cursor() as worker2:
                worker1.execute("SELECT id FROM cloud_server WHERE id = %s FOR UPDATE", (ids[0],))
                # a wait for the lock would be an error here, not a hang (for the session: the job commits)
                worker2.execute("SET lock_timeout = '2s'")
                env2 = api.Environment(worker2, SUPERUSER_ID, {})
                # each server's step committed apart, as in production
                env2["cloud.server"]._cron_advance(batch_size=50)
                locked, *rest = env2["cloud.server"].browse(ids)
                self.assertEqual((locked.state, locked.last_error), ("provisioning", False))
                for server in rest:
                    # no stored sign-in: each is recorded on its own records (the server waits, its
                    # account expires), none stops the others
                    self.assertEqual((server.state, server.last_error_code), ("provisioning", "no_token"))
                    self.assertEqual(server.account_id.state, "expired")
                self.assertEqual(locked.account_id.state, "active", "the locked one was left alone")
                worker2.execute("RESET lock_timeout")
                worker2.rollback()
                worker1.rollback()
        finally:
            with self.registry.cursor() as cr3:
                # the failures committed by the cron: chatter, activities, the next pass's trigger
                for table, column in (
                    ("mail_activity", "res_model"),
                    ("mail_followers", "res_model"),
                    ("mail_message", "model"),
                ):
                    for model, res_ids in (("cloud.server", ids), ("cloud.account", others[1])):
                        cr3.execute(
                            SQL(
                                "DELETE FROM %s WHERE %s = %s AND res_id = ANY(%s)",
                                SQL.identifier(table),
                                SQL.identifier(column),
                                model,
                                res_ids,
                            )
                        )
                cr3.execute(
                    "DELETE FROM ir_cron_trigger WHERE cron_id = %s AND id > %s",
                    (self.env.ref("oec_cloud_accounts.ir_cron_cloud_server").id, triggers),
                )
                cr3.execute("DELETE FROM cloud_server WHERE id = ANY(%s)", (ids,))
                cr3.execute("DELETE FROM cloud_account_subscription WHERE account_id = ANY(%s)", (others[1],))
                cr3.execute("DELETE FROM cloud_account WHERE id = ANY(%s)", (others[1],))
                cr3.execute("DELETE FROM cloud_azure_environment WHERE id = %s", (others[0],))


@tagged("post_install", "-at_install")
class TestServerTour(EmulatorMixin, HttpCase):
    def test_tour_provision_from_cloud(self):
        self.env["ir.config_parameter"].sudo().set_param(POLL_PARAM, 0)
        self.env["cloud.account"].search([]).write({"active": False})
        self.connect()
        action = self.env.ref("oec_cloud_accounts.cloud_server_action")
        self.tour_beside_the_cron(
            "/web#action=%d" % action.id, "oec_cloud_accounts_provision", "cloud.server", "_cron_advance"
        )
        server = self.env["cloud.server"].search([("name", "=", "Tour ERP")])
        self.assertEqual(
            (server.state, server.location, server.vm_size), ("running", "eastus", "Standard_B2s")
        )


@tagged("post_install", "-at_install")
class TestServerDns(DnsMixin, ServerCase, TransactionCase):
    """A server whose host name is in a managed zone gets its A record, kept and removed."""

    def setUp(self):
        super().setUp()
        self.seed_zone("example.test")
        self.zone = self.quick_setup(self.account, "example.test")

    def test_record_follows_the_server(self):
        server = self.new_server(host_name="erp.example.test")
        self.provision(server)
        self.assertEqual(server.state, "running", server.last_error)
        self.assertEqual(
            (server.dns_state, server.dns_zone_id, server.dns_record_name), ("managed", self.zone, "erp")
        )
        self.assertEqual(server.url, "https://erp.example.test", "a name in a managed zone has HTTPS")
        record = self.portal_get_a("example.test", "erp")
        self.assertEqual([a.ipv4_address for a in record.a_records], [server.public_ip])
        self.assertEqual(record.metadata["oec_server_id"], str(server.id))

        # the address changes (here in the portal, with our mark kept): the next refresh puts it back
        self.portal_set_a("example.test", "erp", ["20.9.9.9"], metadata=record.metadata)
        server.action_refresh_state()
        self.advance(server, lambda s: not s.operation)
        record = self.portal_get_a("example.test", "erp")
        self.assertEqual([a.ipv4_address for a in record.a_records], [server.public_ip])
        self.assertTrue(any("updated" in body for body in server.message_ids.mapped("body")))

        server.action_delete_in_azure()
        self.advance(server, lambda s: not s.operation)
        self.assertEqual(server.state, "deleted")
        self.assertIsNone(self.portal_get_a("example.test", "erp"))
        self.assertEqual(server.dns_state, "none")

    def test_named_server_gets_https(self):
        admin = self.env.ref("base.user_admin")
        admin.email = "ops@example.com"
        server = self.new_server(user=admin, host_name="erp.example.test")
        self.assertIn("HTTPS", server.web_access)
        since = len(self.emu.control.requests())
        server.action_provision()
        self.advance(server, lambda s: not s.operation or s.state == "failed")
        self.assertEqual(server.state, "running", server.last_error)
        self.assertTrue(server.https)
        self.assertEqual(server.url, "https://erp.example.test")
        rules = nsg_rules(self.emu)
        self.assertEqual(rules["allow-https"]["destinationPortRange"], "443")
        self.assertEqual(
            rules["allow-http"]["destinationPortRange"], "80", "the HTTP-01 challenge, the redirect"
        )
        text = vm_cloud_config(self.emu)
        commands = [" ".join(c) for c in yaml.safe_load(text)["runcmd"]]
        wanted = (
            "certbot --nginx --non-interactive --agree-tos -m ops@example.com -d erp.example.test --redirect"
        )
        self.assertTrue(any(wanted in c for c in commands), commands)
        check_cloud_config_schema(self, text)
        # the A record is written as soon as Compute has made the VM's public IP, before the VM's
        # creation is over (its first boot asks Let's Encrypt for the name, trying for minutes)
        calls = self.remote_calls(since)
        record_put = next(
            i
            for i, r in enumerate(calls)
            if r["method"] == "PUT" and "/A/erp" in r["path"].replace("%2F", "/")
        )
        vm_put = next(
            i for i, r in enumerate(calls) if r["method"] == "PUT" and "/virtualMachines/" in r["path"]
        )
        vm_polls = [
            i
            for i, r in enumerate(calls)
            if i > vm_put and "/Microsoft.Compute/locations/" in r["path"] and "/operations/" in r["path"]
        ]
        self.assertLess(vm_put, record_put)
        self.assertLess(record_put, vm_polls[0])

    def test_foreign_record_is_left_alone(self):
        self.portal_set_a("example.test", "shop", ["198.51.100.7"])
        server = self.new_server(host_name="shop.example.test")
        self.provision(server)
        self.assertEqual(server.state, "running", "a DNS conflict never fails the server")
        self.assertEqual(server.dns_state, "conflict")
        self.assertFalse(server.url)
        server.action_delete_in_azure()
        self.advance(server, lambda s: not s.operation)
        record = self.portal_get_a("example.test", "shop")
        self.assertEqual([a.ipv4_address for a in record.a_records], ["198.51.100.7"], "never touched")

    def test_host_outside_managed_zones(self):
        server = self.new_server(host_name="erp.elsewhere.test")
        self.provision(server)
        self.assertEqual((server.state, server.dns_state, server.url), ("running", "none", False))
