"""Every form, list and kanban of both addons as a person sees them in Chromium,
on a laptop (1280×800) and on a phone (390×844): nothing wider than the
window or sticking out of its card, sheet or dialog, and the words people
read (region names, power states, amounts with their currency, sizes,
elapsed times). Each view is also saved as a PNG to look at, in the test
output folder (``<screenshots option>/<database>/views/``; ``make test``
sets it to ``.cache/test-<database>/screenshots``)."""

import base64
import json
import logging
import pathlib
import re
import time
from datetime import timedelta

from azure_emulator import defaults
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from odoo import Command, fields
from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser, get_db_name
from odoo.tools import config

from odoo.addons.web.controllers.utils import clean_action

from .common import EmulatorMixin
from .test_server import ssh_key

_logger = logging.getLogger(__name__)

SIZES = (("laptop", 1280, 800), ("phone", 390, 844))
# as an account is often named: after a tenant's domain, which no line break can cut
LONG_NAME = "Contoso Production (contosoproductionnortherneuropewarehouses.onmicrosoft.com)"

# What is wrong with the page now, as a JSON text: the page wider than the
# window, and visible elements reaching out of their kanban card, form sheet or
# dialog (unless an element in between clips them: a scrolling table, a
# truncated title, a ribbon).
CHECK_JS = r"""
(() => {
    const problems = [];
    const width = window.innerWidth;
    const page = document.documentElement.scrollWidth;
    if (page > width + 1) {
        problems.push(`the page is ${page}px wide in a window of ${width}px`);
    }
    const clipped = (el, box) => {
        for (let node = el.parentElement; node && node !== box; node = node.parentElement) {
            if (getComputedStyle(node).overflowX !== "visible") {
                return true;
            }
        }
        return false;
    };
    const describe = (el) =>
        `${el.tagName.toLowerCase()}` +
        `${el.getAttribute("name") ? "[name=" + el.getAttribute("name") + "]" : ""}` +
        `.${[...el.classList].join(".")} "${(el.innerText || "").trim().slice(0, 40)}"`;
    const boxes = document.querySelectorAll(
        ".o_kanban_record:not(.o_kanban_ghost), .o_form_sheet, .modal-content"
    );
    for (const box of boxes) {
        const outer = box.getBoundingClientRect();
        if (!outer.width) {
            continue;
        }
        for (const el of box.querySelectorAll("*")) {
            const rect = el.getBoundingClientRect();
            if (!rect.width || !rect.height || !el.checkVisibility()) {
                continue;
            }
            if ((rect.right > outer.right + 1 || rect.left < outer.left - 1) && !clipped(el, box)) {
                problems.push(
                    `${describe(el)} reaches out of ${box.className.split(" ")[0]} ` +
                    `(${Math.round(rect.left)}..${Math.round(rect.right)} outside ` +
                    `${Math.round(outer.left)}..${Math.round(outer.right)})`
                );
            }
        }
    }
    const shown = [...document.querySelectorAll(".o_action_manager, .modal-content")];
    return JSON.stringify({
        problems: problems.slice(0, 10),
        text: shown.map((el) => el.innerText).join("\n"),
    });
})()
"""

# The view of the action is shown and its data loaded: no spinner, no pending request.
READY_JS = """
(() => {
    const shown = document.querySelector(
        ".o_action_manager .o_view_controller, .modal .o_form_view, .modal .o_view_controller"
    );
    return Boolean(shown) && !document.querySelector(".o_loading_indicator, .o_blockUI, .modal .o_loading");
})()
"""


@tagged("post_install", "-at_install")
class TestViewsLayout(EmulatorMixin, HttpCase):
    """The screens of both addons in Chromium, at a laptop's and a phone's size."""

    def setUp(self):
        super().setUp()
        self.env["cloud.account"].search([]).write({"active": False})
        self.folder = pathlib.Path(config["screenshots"]) / get_db_name() / "views"
        self.folder.mkdir(parents=True, exist_ok=True)

    # -- data: what a newcomer has after the sandbox walkthrough -------------------------------------

    def make_records(self):
        """Accounts (one with a long name, one expired), servers (running, deallocated,
        provisioning), a storage location with a policy and backups (done, running), a
        DNS zone with records, a sign-in log line. Made directly (sudo), as Azure would
        have left them: no remote call but the connection."""
        sudo = self.env(su=True)
        account = self.connect()
        account.name = LONG_NAME
        expired = account.copy({"name": "Old Azure", "state": "expired"})
        expired.sudo().write({"last_error": "Microsoft refused the stored sign-in: click Reconnect."})
        subscription = account.subscription_ids[:1]
        now = fields.Datetime.now()
        common = {
            "account_id": account.id,
            "subscription_line_id": subscription.id,
            "vm_size": "Standard_B2s",
            "ssh_public_key": ssh_key(),
            "location": "eastus",
        }
        servers = sudo["cloud.server"].create(
            [
                dict(
                    common,
                    name="Production ERP",
                    host_name="erp.contoso.example",
                    state="running",
                    power_state="running",
                    public_ip="20.50.1.10",
                    resource_group="oec-production-erp",
                    vm_name="production-erp",
                ),
                dict(
                    common,
                    name="Staging ERP",
                    state="stopped",
                    power_state="deallocated",
                    public_ip="20.50.1.11",
                    resource_group="oec-staging-erp",
                    vm_name="staging-erp",
                ),
                dict(
                    common,
                    name="New ERP",
                    location="francecentral",
                    state="provisioning",
                    operation="provision",
                    step="vm",
                    operation_started_at=now - timedelta(seconds=125),
                    resource_group="oec-new-erp",
                ),
            ]
        )
        storage = sudo["cloud.storage"].create(
            {
                "account_id": account.id,
                "subscription_id": defaults.SUBSCRIPTION_ID,
                "subscription_name": "Sandbox",
                "resource_group": "oec-backups",
                "storage_account": "oecbackups",
                "container": "odoo-backups",
                "location": "westeurope",
                "kind": "StorageV2",
                "sku": "Standard_LRS",
                "blob_endpoint": "https://oecbackups.blob.core.windows.net/",
                "state": "ready",
            }
        )
        policy = self.env["cloud.backup.policy"].create(
            {"name": "Nightly", "storage_id": storage.id, "scheduled": True, "schedule_tz": "Europe/Paris"}
        )
        backups = sudo["cloud.backup"].create(
            [
                {
                    "policy_id": policy.id,
                    "trigger": "manual",
                    "state": "done",
                    "started_at": now - timedelta(hours=2),
                    "finished_at": now - timedelta(hours=2) + timedelta(seconds=9),
                    "duration": 8.6,
                    "size": 48_612_311,
                    "throughput": 48_612_311 / 1024 / 1024 / 8.6,
                    "blob_name": "%s/2024-07-01_02-00-00.zip" % self.env.cr.dbname,
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "verify_state": "done",
                },
                {
                    "policy_id": policy.id,
                    "trigger": "scheduled",
                    "state": "running",
                    "database": self.env.cr.dbname + "-copy",
                    "started_at": now - timedelta(seconds=40),
                },
            ]
        )
        # encrypted backups: a policy with its public key, and a backup of it
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072).public_key()
        encrypted_policy = self.env["cloud.backup.policy"].create(
            {
                "name": "Nightly, encrypted",
                "storage_id": storage.id,
                "scheduled": False,
                "encrypt_backups": True,
                "encryption_public_key": key.public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ).decode(),
            }
        )
        backups |= sudo["cloud.backup"].create(
            {
                "policy_id": encrypted_policy.id,
                "trigger": "manual",
                "state": "done",
                "started_at": now - timedelta(hours=3),
                "finished_at": now - timedelta(hours=3) + timedelta(seconds=9),
                "duration": 8.9,
                "size": 48_613_001,
                "blob_name": "%s/2024-07-01_01-00-00.zip.enc" % self.env.cr.dbname,
                "sha256": "5f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "plain_sha256": "7f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "encrypted": True,
                "key_fingerprint": encrypted_policy.encryption_key_fingerprint,
            }
        )
        # in alert, as after a failed backup: the banner, the badge and the dates
        policy._alert_raise(
            "backup_failed",
            "The backup %s failed: the storage account oecbackups was not found in the resource group "
            "oec-backups. No blob was committed." % backups[0].name,
        )
        zone = sudo["cloud.dns.zone"].create(
            {
                "name": "contoso.example",
                "account_id": account.id,
                "subscription_id": defaults.SUBSCRIPTION_ID,
                "subscription_name": "Sandbox",
                "resource_group": "oec-dns",
                "record_count": 3,
                "name_servers": "ns1-01.azure-dns.com.\nns2-01.azure-dns.net.\nns3-01.azure-dns.org.",
                "record_ids": [
                    Command.create(
                        {
                            "name": "erp",
                            "record_type": "A",
                            "ttl": 3600,
                            "value_text": "20.50.1.10",
                            "fqdn": "erp.contoso.example.",
                            "is_managed_here": True,
                            "owner_server_ref": str(servers[0].id),
                        }
                    ),
                    Command.create(
                        {
                            "name": "@",
                            "record_type": "NS",
                            "ttl": 172800,
                            "value_text": "ns1-01.azure-dns.com.\nns2-01.azure-dns.net.",
                            "fqdn": "contoso.example.",
                        }
                    ),
                ],
            }
        )
        provider = self.env.ref("oec_auth_azure.provider_azure", raise_if_not_found=False) or self.env[
            "auth.oauth.provider"
        ].search([("oec_azure", "=", True)], limit=1)
        log = sudo["oec.azure.signin.log"].create(
            {
                "provider_id": provider.id,
                "tenant_id": defaults.TENANT_ID,
                "username": defaults.USER_EMAIL,
                "user_id": self.env.ref("base.user_admin").id,
                "ip_address": "203.0.113.7",
                "result": "refused",
                "reason": "This Microsoft account is not linked to an Odoo user.",
            }
        )
        return {
            "account": account,
            "expired": expired,
            "subscription": subscription,
            "servers": servers,
            "storage": storage,
            "policy": policy,
            "encrypted_policy": encrypted_policy,
            "backups": backups,
            "zone": zone,
            "provider": provider,
            "log": log,
        }

    def views(self, data):
        """(name, action, words that must be read there, words that must not)."""

        def act(xmlid, **values):
            action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
            action.pop("help", None)
            return dict(action, **values)

        def form(records, **values):
            return dict(
                {
                    "type": "ir.actions.act_window",
                    "res_model": records._name,
                    "res_id": records.id,
                    "views": [[False, "form"]],
                },
                **values,
            )

        def kind(xmlid, view_type):
            return act(xmlid, views=[[False, view_type]])

        servers, backups = data["servers"], data["backups"]
        # wizards as their buttons open them
        provision = self.env["cloud.server.provision"].create({"account_id": data["account"].id})
        provision._onchange_account_id()
        provision.action_load_regions()
        provision_sizes = provision.action_load_sizes()
        return [
            ("accounts_kanban", kind("oec_cloud_accounts.cloud_account_action", "kanban"), ["Old Azure"], []),
            ("accounts_list", kind("oec_cloud_accounts.cloud_account_action", "list"), [], []),
            ("account_form_active", form(data["account"]), [], []),
            ("account_form_expired", form(data["expired"]), ["Reconnect"], []),
            ("subscriptions_list", act("oec_cloud_accounts.cloud_account_subscription_action"), [], []),
            (
                "servers_kanban",
                kind("oec_cloud_accounts.cloud_server_action", "kanban"),
                ["East US (Virginia)", "$"],
                [],
            ),
            (
                "servers_list",
                kind("oec_cloud_accounts.cloud_server_action", "list"),
                ["East US (Virginia)"],
                [],
            ),
            (
                "server_form_running",
                form(servers[0]),
                ["East US (Virginia)", "Running", "$", "Nobody: SSH is closed"],
                [r"\beastus\b"],
            ),
            (
                "server_form_deallocated",
                form(servers[1]),
                ["Stopped (deallocated)"],
                [r"\bdeallocated\b(?! *\))"],
            ),
            ("server_form_provisioning", form(servers[2]), ["France Central", " min "], [r"\(\d\d:\d\d\)"]),
            ("provision_wizard", act("oec_cloud_accounts.cloud_server_provision_action"), [], []),
            ("provision_wizard_sizes", provision_sizes, [], []),
            ("storage_list", act("oec_cloud_accounts.cloud_storage_action"), ["West Europe"], []),
            ("storage_form", form(data["storage"]), ["West Europe"], [r"\bwesteurope\b"]),
            ("storage_quick_setup", data["account"].action_storage_quick_setup(), [], []),
            ("policies_list", act("oec_cloud_accounts.cloud_backup_policy_action"), [], []),
            ("policy_form", form(data["policy"]), [], []),
            ("backups_list", act("oec_cloud_accounts.cloud_backup_action"), ["46.4 MiB"], [r"\bMb\b"]),
            ("backup_form_done", form(backups[0]), ["46.4 MiB", "MiB/s"], [r"\bMb\b", r"\bMB/s\b"]),
            ("backup_form_running", form(backups[1]), [" s)"], []),
            ("backup_restore", backups[0].action_restore(), [], []),
            ("policy_form_encrypted", form(data["encrypted_policy"]), ["SHA256:"], []),
            ("backup_form_encrypted", form(backups[2]), ["envelope.py decrypt", "Verify with Key"], []),
            ("backup_restore_encrypted", backups[2].action_restore(), ["Private Key"], []),
            ("backup_verify_key", backups[2].action_verify_with_key(), ["Private Key"], []),
            ("zones_list", kind("oec_cloud_accounts.cloud_dns_zone_action", "list"), [], []),
            ("zones_kanban", kind("oec_cloud_accounts.cloud_dns_zone_action", "kanban"), [], []),
            ("zone_form", form(data["zone"]), [], []),
            ("dns_record_form", form(data["zone"].record_ids[:1]), [], []),
            ("dns_record_edit", data["zone"].record_ids[:1].action_edit(), [], []),
            ("dns_quick_setup", data["account"].action_dns_quick_setup(), [], []),
            ("add_account", data["account"].action_add_account(), [], []),
            ("clouds_list", act("oec_cloud_accounts.cloud_azure_environment_action"), [], []),
            ("cloud_form", form(self.cloud), [], []),
            ("prices_list", act("oec_cloud_accounts.cloud_price_action"), ["East US (Virginia)"], []),
            ("cloud_settings", act("oec_cloud_accounts.res_config_settings_action"), [], []),
            ("general_settings", act("base_setup.action_general_configuration"), [], []),
            ("signin_provider_form", form(data["provider"]), [], []),
            ("signin_log_list", act("oec_auth_azure.oec_azure_signin_log_action"), [], []),
            ("signin_log_form", form(data["log"]), [], []),
        ]

    # -- the browser -------------------------------------------------------------------------------

    def open_browser(self, width, height):
        browser = ChromeBrowser(type(self))
        self.addCleanup(self._wait_remaining_requests)
        self.addCleanup(browser.stop)
        self.authenticate("admin", "admin", browser=browser)
        self.resize(browser, width, height)
        # the web client decides at its start whether the screen is small
        browser.navigate_to(self.base_url() + "/web", wait_stop=True)
        self.assertTrue(browser._wait_ready("Boolean(odoo.__WOWL_DEBUG__ && odoo.__WOWL_DEBUG__.root)"))
        return browser

    def resize(self, browser, width, height):
        browser._websocket_request(
            "Emulation.setDeviceMetricsOverride",
            params={"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 768},
        )

    def evaluate(self, browser, expression, timeout=30):
        answer = browser._websocket_request(
            "Runtime.evaluate",
            params={"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in answer:
            self.fail("%s\n%s" % (expression[:200], answer["exceptionDetails"]))
        return answer["result"].get("value")

    def show(self, browser, action):
        """Open ``action`` in the web client as its button would (a wizard in a dialog)."""
        action = clean_action(dict(action), self.env)  # what /web/dataset/call_button answers
        self.env.flush_all()
        self.evaluate(
            browser,
            "(async () => { const actions = odoo.__WOWL_DEBUG__.root.env.services.action;"
            " await actions.doAction({type: 'ir.actions.act_window_close'});"
            " await actions.doAction(%s, {clearBreadcrumbs: true}); })()" % json.dumps(action),
        )
        self.assertTrue(browser._wait_ready(READY_JS, timeout=20), "the view never showed")
        time.sleep(0.3)  # the last renders (fonts, the elapsed time's first tick)

    def screenshot(self, browser, name, width, height):
        """The whole view: the window is made as tall as the view's content for the shot."""
        tall = self.evaluate(
            browser,
            """(() => {
                const dialog = document.querySelector('.modal .modal-body');
                const scrolled = dialog ? [dialog] : [...document.querySelectorAll('.o_action_manager *')]
                    .filter((el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowY));
                return Math.max(0, ...scrolled.map((el) => el.scrollHeight - el.clientHeight));
            })()""",
        )
        if tall:
            self.resize(browser, width, min(height + tall, 4000))
            time.sleep(0.2)
        shot = browser._websocket_request("Page.captureScreenshot", timeout=20)
        if tall:
            self.resize(browser, width, height)
        path = self.folder / ("%s_%s.png" % (name, width))
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    # -- tests -------------------------------------------------------------------------------------

    def test_every_view_fits_and_reads_right(self):
        data = self.make_records()
        views = self.views(data)
        failures = []
        for size, width, height in SIZES:
            browser = self.open_browser(width, height)
            for name, action, expected, forbidden in views:
                with self.subTest(view=name, size=size):
                    self.show(browser, action)
                    found = json.loads(self.evaluate(browser, CHECK_JS))
                    path = self.screenshot(browser, name, width, height)
                    for problem in found["problems"]:
                        failures.append("%s at %s (%s): %s" % (name, size, path.name, problem))
                    for text in expected:
                        if text not in found["text"]:
                            failures.append("%s at %s: %r not shown" % (name, size, text))
                    for pattern in forbidden:
                        match = re.search(pattern, found["text"])
                        if match:
                            failures.append("%s at %s: %r shown" % (name, size, match.group(0)))
                    self.assertFalse(browser.had_failure, "an error in the browser on %s" % name)
        _logger.info("Screenshots of the views in %s", self.folder)
        self.assertFalse(failures, "\n".join(failures))

    def test_account_card_keeps_a_long_name_inside(self):
        """A long name is cut with an ellipsis (and given whole as a tooltip); the refresh
        icon stays on the card."""
        data = self.make_records()
        action = dict(
            self.env["ir.actions.act_window"]._for_xml_id("oec_cloud_accounts.cloud_account_action"),
            views=[[False, "kanban"]],
        )
        for _size, width, height in SIZES:
            browser = self.open_browser(width, height)
            self.show(browser, action)
            card = self.evaluate(
                browser,
                """(() => {
                    const card = [...document.querySelectorAll('.o_cloud_account_card')]
                        .find((el) => el.querySelector('.o_cloud_refresh'));
                    const box = card.closest('.o_kanban_record').getBoundingClientRect();
                    const icon = card.querySelector('.o_cloud_refresh').getBoundingClientRect();
                    const title = card.querySelector('.o_kanban_record_title');
                    return {
                        inside: icon.left >= box.left && icon.right <= box.right,
                        cut: title.scrollWidth > title.clientWidth,
                        tooltip: title.getAttribute('title'),
                    };
                })()""",
            )
            self.assertEqual(card, {"inside": True, "cut": True, "tooltip": data["account"].name}, width)

    def test_reconnect_is_highlighted_only_when_needed(self):
        data = self.make_records()
        browser = self.open_browser(1280, 800)
        primary = (
            "[...document.querySelectorAll('.o_form_statusbar button[name=action_reconnect]')]"
            ".filter((b) => b.checkVisibility()).map((b) => b.classList.contains('btn-primary'))"
        )
        for account, expected in ((data["account"], [False]), (data["expired"], [True])):
            self.show(
                browser,
                {
                    "type": "ir.actions.act_window",
                    "res_model": "cloud.account",
                    "res_id": account.id,
                    "views": [[False, "form"]],
                },
            )
            self.assertEqual(self.evaluate(browser, primary), expected, account.state)

    def test_elapsed_time_ticks_in_one_format(self):
        """The time elapsed since an operation started keeps counting in the browser, in one
        format before and after the first minute (it was "58 s", then "00:01", then frozen)."""
        data = self.make_records()
        server = data["servers"][2]
        server.sudo().operation_started_at = fields.Datetime.now() - timedelta(seconds=57)
        browser = self.open_browser(1280, 800)
        self.show(
            browser,
            {
                "type": "ir.actions.act_window",
                "res_model": "cloud.server",
                "res_id": server.id,
                "views": [[False, "form"]],
            },
        )
        seen = []
        until = time.time() + 4.5
        while time.time() < until:
            text = self.evaluate(
                browser,
                "(document.querySelector('.o_cloud_server_progress .o_cloud_elapsed') || {}).innerText",
            )
            if not seen or seen[-1] != text:
                seen.append(text)
            time.sleep(0.25)
        self.assertGreaterEqual(len(seen), 3, seen)
        for text in seen:
            self.assertRegex(text or "", r"^(\d{1,2} s|1 min \d\d s)$")
        self.assertRegex(seen[-1], r"^1 min 0\d s$")
