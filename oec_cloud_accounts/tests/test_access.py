"""Access before effect, through the RPC layer, with the emulator's request log
as the witness: a refused call must not have reached Azure first."""

import logging

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .common import EmulatorMixin, refused_users

_logger = logging.getLogger(__name__)

# (label, model, method, args after the ids, context): every public method
# that reaches Azure or a secret, and the writes of fields owned by the code
CALLS = (
    ("refresh", "cloud.account", "action_refresh", [], {}),
    ("disconnect", "cloud.account", "action_disconnect", [], {}),
    ("disconnect's confirmation", "cloud.account", "action_confirm_disconnect", [], {}),
    ("reconnect", "cloud.account", "action_reconnect", [], {}),
    ("write state", "cloud.account", "write", [{"state": "active", "tenant_id": "x"}], {}),
    ("_record_failure (private)", "cloud.account", "_record_failure", [None], {}),
    (
        "register provider",
        "cloud.account.subscription",
        "action_register_provider",
        [],
        {"namespace": "Microsoft.Compute"},
    ),
    ("set default subscription", "cloud.account.subscription", "action_set_default", [], {}),
    ("set client secret", "cloud.azure.environment", "set_client_secret", ["stolen"], {}),
)


@tagged("post_install", "-at_install")
class TestAccessMatrix(EmulatorMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = refused_users(cls.env, "matrix")
        cls.manager = new_test_user(
            cls.env, "matrix_manager", groups="oec_cloud_accounts.group_cloud_manager"
        )

    def setUp(self):
        super().setUp()
        self.account = self.connect()
        self.subscription = self.account.subscription_ids.filtered("is_default")

    def rpc(self, login, model, method, args, context):
        self.login_as(login)
        record = {
            "cloud.account": self.account,
            "cloud.account.subscription": self.subscription,
            "cloud.azure.environment": self.cloud,
        }[model]
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {
                "model": model,
                "method": method,
                "args": [record.ids, *args],
                "kwargs": {"context": context},
            },
        )

    def test_refused_before_any_remote_call(self):
        matrix = []
        for kind, user in self.users.items():
            for label, model, method, args, context in CALLS:
                with self.subTest(user=kind, call=label):
                    before = len(self.emu.control.requests())
                    with self.assertRaises(JsonRpcException) as refusal:
                        self.rpc(user.login, model, method, args, context)
                    self.assertIn(
                        refusal.exception.args[0],
                        ("odoo.exceptions.AccessError", "odoo.exceptions.UserError"),
                    )
                    self.assertEqual(self.remote_calls(since=before), [], "a refused call reached Azure")
                    matrix.append((model, label, kind, "refused", "no"))
        # the tokens still work: nothing was redeemed on the owner's behalf
        self.assertEqual(self.account.state, "active")
        self.assertTrue(self.account.sudo()._get_secret("refresh_token_enc"))
        # the witness can see a call: the same RPC by the account's manager reaches Azure
        for label, method, context in (
            ("refresh", "action_refresh", {}),
            ("register provider", "action_register_provider", {"namespace": "Microsoft.Compute"}),
        ):
            before = len(self.emu.control.requests())
            model = "cloud.account" if method == "action_refresh" else "cloud.account.subscription"
            self.rpc(self.manager.login, model, method, [], context)
            self.assertTrue(self.remote_calls(since=before), "the manager's %s reached Azure" % label)
            matrix.append((model, label, "Cloud Manager", "allowed", "yes"))
        _logger.info(
            "access matrix (model | method | user | answer | remote call made):\n%s",
            "\n".join(" | ".join(row) for row in matrix),
        )
