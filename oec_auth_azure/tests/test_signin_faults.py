# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Every fault at each remote step of a sign-in (issue 24, part 3): the code's redemption
at the token endpoint and the Graph read of the user's groups (group overage).

The user sees the login page with a message, is not signed in, and nothing of the
user changed half-way (no new user, the groups unchanged). The outcomes are the
table of readme/FAULTS.md (see faults.py)."""

from pathlib import Path
from unittest.mock import patch

from azure_emulator import defaults

import odoo
from odoo.tests import tagged

from ..services.urls import TIMEOUT_OPTION
from .common import AzureSigninCase
from .faults import FAULTS, GONE, RETRY_AFTER, REVOKED, TIMEOUT, check_table, inject

FAULTS_FILE = Path(__file__).resolve().parents[1] / "readme" / "FAULTS.md"
TOKEN_ROUTE = {"service": "entra", "path": "/oauth2/v2.0/token", "method": "POST"}
GRAPH_ROUTE = {"service": "graph", "path": "/transitiveMemberOf", "method": "GET"}


@tagged("post_install", "-at_install")
class TestSigninFaults(AzureSigninCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(patch.dict(odoo.tools.config.options, {TIMEOUT_OPTION: TIMEOUT}))
        cls.finance = cls.env["res.groups"].create({"name": "Azure test: Finance"})
        cls.group_id = "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"
        cls.provider.oec_azure_mapping_ids = [
            (0, 0, {"kind": "group", "value": cls.group_id, "group_ids": [(6, 0, cls.finance.ids)]}),
        ]

    def directory(self):
        """Group overage (more groups than the token holds): the sign-in reads them from Graph."""
        control = self.emu.control
        control.update_app(defaults.SIGNIN_CLIENT_ID, groups_claim=True, group_overage_limit=1)
        control.add_group(id=self.group_id, name="Finance")
        other = control.add_group(name="Everyone")["id"]
        control.update_user(defaults.USER_OID, groups=[self.group_id, other])

    def test_every_fault_at_sign_in(self):
        self.use_secret()
        self.directory()
        self.link(self.user)
        self.assertIn(self.finance, self.user.groups_id)
        # a user who left Finance since (still in two groups: overage): a sign-in that fails
        # half-way must not take it away
        others = [self.emu.control.add_group(name=name)["id"] for name in ("A", "B")]
        self.emu.control.update_user(defaults.USER_OID, groups=others)
        steps = (
            ("Code redemption (token endpoint)", TOKEN_ROUTE, None),
            # a token revoked after its redemption: Graph answers 401 InvalidAuthenticationToken
            (
                "Group read (Microsoft Graph, group overage)",
                GRAPH_ROUTE,
                lambda: self.emu.control.inject_fault(
                    count=None, status=401, code="InvalidAuthenticationToken", **GRAPH_ROUTE
                ),
            ),
        )
        rows = []
        for step, route, revoke in steps:
            for fault, _options in FAULTS:
                if fault == GONE and route is GRAPH_ROUTE:
                    continue  # the emulator gone: the redemption, the call before, fails first
                with self.subTest(step=step, fault=fault):
                    rows.append((step, fault, *self.refused_at(route, fault, revoke)))
        check_table(
            self,
            FAULTS_FILE,
            "oec_auth_azure/tests/test_signin_faults.py",
            "TEST_TAGS=/oec_auth_azure:TestSigninFaults make test",
            [
                "What people see when Microsoft fails during a sign-in (code flow, client secret set),",
                "as the test suite saw it against the local emulator (client timeout %s s, server option"
                % TIMEOUT,
                "`oec_azure_timeout`). The sign-in is refused on the login page; no user is created or",
                "changed (groups kept); the user tries again. A Retry-After of the token endpoint (here"
                " %d s) is said as the wait; nothing is scheduled. The emulator gone is" % RETRY_AFTER,
                'tested once (at the redemption, the first call); "%s" at Graph is its 401' % REVOKED,
                "InvalidAuthenticationToken.",
            ],
            ("step", "fault", "login page says", "retried when"),
            rows,
        )

    def refused_at(self, route, fault, revoke):
        users = self.env["res.users"].with_context(active_test=False).search_count([])
        groups = self.user.groups_id
        self.new_browser()
        callback = self.microsoft(self.click_button())
        end = inject(self.emu, fault, route, revoke)
        try:
            response = self.answer(callback)
        finally:
            end()
        text = self.assertRefused(response)
        self.assertNotIn("Traceback", text)
        self.env.invalidate_all()
        self.assertEqual(self.env["res.users"].with_context(active_test=False).search_count([]), users)
        self.assertEqual(self.user.groups_id, groups, "no group changed by a sign-in that failed")
        log = self.env["oec.azure.signin.log"].search([], limit=1)
        self.assertEqual(log.result, "refused")
        return '"%s"' % " ".join(text.split()), "when the user signs in again"
