import json
import logging
import os
from pathlib import Path
from unittest.mock import patch

from azure_emulator import defaults

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, TransactionCase, new_test_user, tagged
from odoo.tools import config

# Used by Odoo's server with tokens and secrets, or shown to users as links.
from ..models import cloud_job_mixin
from ..models.cloud_azure_environment import URL_FIELDS
from ..services.hosts import check_blob_endpoint
from .common import EmulatorMixin
from .storage_common import listening

SANDBOX_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "sandbox" / "cloud_accounts.py"
XMLIDS = (
    "cloud_azure_environment_public",
    "cloud_azure_environment_usgov",
    "cloud_azure_environment_china",
)


@tagged("post_install", "-at_install")
class TestEnvironmentValidation(EmulatorMixin, TransactionCase):
    """Issue 8.5 / 13.6: a cloud's endpoints, application and tenant are
    validated as the sign-in settings are: https (http on loopback only),
    GUIDs, tenant names."""

    def assertRefused(self, values, fragment):
        for cloud in (self.cloud, self.env.ref("oec_cloud_accounts.cloud_azure_environment_public")):
            with self.subTest(values=values, cloud=cloud.name):
                with self.assertRaises(ValidationError) as caught:
                    cloud.write(values)
                self.assertIn(fragment, str(caught.exception))

    def test_urls_must_be_https_or_loopback(self):
        for field in URL_FIELDS:
            for value in (
                "http://evil.example",
                "javascript:alert(document.cookie)",
                "JavaScript://%0Aalert(1)",
                "data:text/html,<script>alert(1)</script>",
                "ftp://127.0.0.1",
                "//evil.example",
                "login.microsoftonline.com",
                "http://127.0.0.1.evil.example",
                "http://[::1",
                " https://login.microsoftonline.com",
            ):
                self.assertRefused({field: value}, "https://")
        for value in ("http://127.0.0.1:8000", "javascript:alert(1)", "management.azure.com"):
            self.assertRefused({"arm_audience": value}, "https://")

    def stored(self, *names):
        """The cloud's values as the database holds them after the write."""
        self.cloud.flush_recordset()
        self.cloud.invalidate_recordset()
        return tuple(self.cloud[name] for name in names)

    def test_loopback_http_and_https_accepted(self):
        names = ("authority_host", "interactive_authority_host", "portal_url")
        for value in (
            "http://127.0.0.1:4567",
            "http://localhost:80",
            "http://[::1]:9",
            "https://login.example",
        ):
            self.cloud.write(dict.fromkeys(names, value))
            self.assertEqual(self.stored(*names), (value,) * 3)
        self.cloud.write({"graph_endpoint": False, "portal_url": False, "interactive_authority_host": False})
        self.assertEqual(
            self.stored("authority_host", "graph_endpoint", "portal_url", "interactive_authority_host"),
            ("https://login.example", False, False, False),
        )

    def test_client_id_is_a_guid(self):
        for value in (
            "abc",
            "7d2a5f3b-4c6e-4a8b-8d9f-1e2f3a4b5c6dX",
            "../../x",
            "7d2a5f3b4c6e4a8b8d9f1e2f3a4b5c6d",
        ):
            self.assertRefused({"client_id": value}, "GUID")
        self.cloud.client_id = defaults.CLOUD_CLIENT_ID.upper()
        self.assertEqual(self.stored("client_id"), (defaults.CLOUD_CLIENT_ID.upper(),))
        self.cloud.client_id = False
        self.assertEqual(self.stored("client_id"), (False,))

    def test_tenant_names(self):
        for value in (
            "../../evil.example/x",
            "evil.example/x",
            "contoso.onmicrosoft.com?x=1",
            "a b",
            "",
            "organizations/../x",
            "localhost",
        ):
            self.assertRefused({"tenant": value}, "tenant")
        for value in ("organizations", "common", "Consumers", defaults.TENANT_ID, "contoso.onmicrosoft.com"):
            self.cloud.tenant = value
            self.assertEqual(self.stored("tenant"), (value,))

    def test_shipped_and_sandbox_clouds_are_valid(self):
        for xmlid in XMLIDS:
            cloud = self.env.ref("oec_cloud_accounts." + xmlid)
            cloud._check_endpoints()  # raises if a shipped record were refused
            cloud.write({"authority_host": cloud.authority_host, "tenant": cloud.tenant})
        # what `make run` registers: the sandbox script itself, with the emulator's values
        # (through a test cursor, on which its commit only releases a savepoint)
        script = SANDBOX_SCRIPT.read_text()
        # the ready line of `python -m azure_emulator`: describe() and the apps' secrets
        info = dict(self.emu.describe(), cloud_client_secret=defaults.CLOUD_CLIENT_SECRET)
        self.registry.enter_test_mode(self.cr)
        try:
            with (
                patch.dict(os.environ, {"OEC_SANDBOX_INFO": json.dumps(info)}),
                self.registry.cursor() as cr,
            ):
                code = compile(script, str(SANDBOX_SCRIPT), "exec")
                # as `odoo-bin shell` runs it for `make run`: our own script, from the repository
                exec(code, {"env": api.Environment(cr, SUPERUSER_ID, {})})  # noqa: S102
        finally:
            self.registry.leave_test_mode()
        sandbox = self.env["cloud.azure.environment"].search([("name", "=", "Local sandbox")])
        self.assertTrue(sandbox.is_sandbox and sandbox.client_secret_set)
        # its blobs are served by path on its own host: the emulator's endpoint passes the check
        rule = sandbox._blob_endpoint_rule()
        self.assertEqual(rule, {"storage_suffix": None, "path_style_host": "127.0.0.1"})
        endpoint = info["endpoints"]["blob_endpoint_template"].format(account="mystore")
        self.assertEqual(check_blob_endpoint(endpoint, "mystore", **rule), endpoint)
        # the same cloud not marked as a sandbox has no way to serve blobs by path
        sandbox.is_sandbox = False
        self.assertEqual(sandbox._blob_endpoint_rule(), {"storage_suffix": None, "path_style_host": None})

    def test_settings_refuse_a_client_id_that_is_not_a_guid(self):
        """Settings > Cloud Accounts writes the cloud record: same rule."""
        form = Form(self.env["res.config.settings"])
        form.cloud_environment_id = self.cloud
        form.cloud_client_id = "abc"
        with self.assertRaises(ValidationError):
            form.save().execute()
        self.assertEqual(self.cloud.client_id, defaults.CLOUD_CLIENT_ID)
        form = Form(self.env["res.config.settings"])
        form.cloud_tenant = "../../evil.example/x"
        with self.assertRaises(ValidationError):
            form.save().execute()
        self.assertEqual(self.cloud.tenant, "organizations")

    def test_host_shape(self):
        """A user name before the host sends the request elsewhere; a host no DNS has is a typo or a trick."""
        for value in (
            "https://login.microsoftonline.com@evil.example",
            "https://user:pass@login.microsoftonline.com",
            "https://evil_host.example",
            "https://a..b.example",
            "https://-a.example",
            "https://%65vil.example",
        ):
            self.assertRefused({"authority_host": value}, "https://")
        huge = "https://" + "x" * 10**6
        with self.assertRaises(ValidationError) as caught:
            self.cloud.write({"portal_url": huge + " "})
        self.assertLess(len(str(caught.exception)), 600, "the value is quoted, not copied")

    def test_storage_suffix(self):
        for value in (
            "https://core.windows.net",
            "core.windows.net/",
            "core.windows.net@evil.example",
            "windows",
            "core windows.net",
            "x" * 10**6,
        ):
            with self.assertRaises(ValidationError) as caught:
                self.cloud.storage_suffix = value
            self.assertIn("storage endpoint suffix", str(caught.exception))
            self.assertLess(len(str(caught.exception)), 600)
        for value in ("core.windows.net", "local.azurestack.external", False):
            self.cloud.storage_suffix = value
        self.assertEqual(self.cloud._blob_endpoint_rule()["path_style_host"], "127.0.0.1")

    def test_only_administrators_change_clouds(self):
        """Clouds hold the endpoints the server calls with tokens and keys: Settings only."""
        manager = new_test_user(
            self.env, "cloud_env_manager", groups="oec_cloud_accounts.group_cloud_manager"
        )
        values = {
            "name": "Elsewhere",
            "authority_host": "https://login.evil.example",
            "arm_endpoint": "https://arm.evil.example",
            "arm_audience": "https://arm.evil.example/",
        }
        with self.assertRaises(AccessError):
            self.env["cloud.azure.environment"].with_user(manager).create(values)
        with self.assertRaises(AccessError):
            self.cloud.with_user(manager).write({"arm_endpoint": "https://arm.evil.example"})
        with self.assertRaises(AccessError):
            self.cloud.with_user(manager).write({"storage_suffix": "evil.example"})

    def test_api_version_overrides_are_checked(self):
        """A cloud's own API versions: known operations, real dates, one "operation = version" a line."""
        self.cloud.api_version_overrides = (
            "# Azure Stack Hub 2311\n\ncompute.virtual_machines = 2020-06-01\n"
            "dns.record_sets=2016-04-01\nnetwork.virtual_networks = 2023-07-01-preview\n"
        )
        versions = self.cloud.api_versions_used.splitlines()
        self.assertIn("compute.virtual_machines = 2020-06-01", versions)
        self.assertIn("dns.record_sets = 2016-04-01", versions)
        self.assertIn("subscriptions.subscriptions = 2022-12-01", versions)
        for value, fragment in (
            ("compute.vms = 2020-06-01", "the operation is none of compute.virtual_machines, "),
            ("Compute.virtual_machines = 2020-06-01", "'Compute.virtual_machines = 2020-06-01'"),
            ("compute.virtual_machines = 2024-02-30", "a date such as 2024-07-01"),
            ("compute.virtual_machines = 2024-07", "a date such as 2024-07-01"),
            ("compute.virtual_machines = 2024-07-01-beta", "a date such as 2024-07-01"),
            ("compute.virtual_machines 2024-07-01", 'one "operation = version" a line'),
            ("compute.virtual_machines =", 'one "operation = version" a line'),
        ):
            with self.subTest(value=value), self.assertRaises(ValidationError) as caught:
                self.cloud.api_version_overrides = value
            self.assertIn("the API versions line", str(caught.exception))
            self.assertIn(fragment, str(caught.exception))

    def test_api_version_overrides_are_for_administrators(self):
        """Which versions the server asks is the Settings administrators' choice, and only they see it."""
        self.cloud.api_version_overrides = "compute.virtual_machines = 2020-06-01"
        for group in ("oec_cloud_accounts.group_cloud_user", "oec_cloud_accounts.group_cloud_manager"):
            user = new_test_user(self.env, "cloud_env_" + group.rsplit("_", 1)[-1], groups=group)
            with self.subTest(group=group), self.assertRaises(AccessError):
                self.cloud.with_user(user).read(["api_version_overrides"])
            with self.subTest(group=group), self.assertRaises(AccessError):
                self.cloud.with_user(user).write({"api_version_overrides": False})
        self.assertEqual(self.cloud.api_version_overrides, "compute.virtual_machines = 2020-06-01")


@tagged("post_install", "-at_install")
class TestPricesHost(EmulatorMixin, TransactionCase):
    """The retail prices API is paged by links in its answers: they are followed only on the
    configured host."""

    def test_a_pass_starts_no_region_without_time_for_it(self):
        """Each region's pages take seconds: a pass with less than REGION_MARGIN before its
        deadline (Odoo's cron limit minus a quarter) leaves the regions for the next pass."""
        limits = {"workers": 0, "limit_time_real": 120, "limit_time_real_cron": 70}
        since = len(self.emu.control.requests())
        with patch.dict(config.options, limits):
            self.assertEqual(self.run_job("cloud.price", "_cron_refresh_prices"), 0)
        self.assertEqual([c for c in self.remote_calls(since) if c["service"] == "prices"], [])
        with patch.dict(config.options, dict(limits, limit_time_real_cron=600)):
            self.assertGreater(self.run_job("cloud.price", "_cron_refresh_prices"), 0)

    def test_next_page_link_stays_on_the_prices_host(self):
        self.emu.control.configure(prices_page_size=10)
        since = len(self.emu.control.requests())
        self.assertGreater(self.run_job("cloud.price", "_cron_refresh_prices"), 0)
        pages = [c for c in self.remote_calls(since) if c["service"] == "prices"]
        self.assertTrue([c for c in pages if "skip" in (c["query"] or "")], "next pages were read")
        with listening() as listener:
            page = {"Items": [], "Count": 0, "NextPageLink": listener.url("/api/retail/prices?$skip=100")}
            self.emu.control.inject_fault(
                service="prices", status=200, body=json.dumps(page), content_type="application/json", count=20
            )
            with self.assertLogs(cloud_job_mixin._logger, logging.INFO) as logs:
                self.run_job("cloud.price", "_cron_refresh_prices")
            self.assertEqual(listener.count, 0, "a next page was read from another host")
        self.assertIn("leaves the service's host", "\n".join(logs.output))
