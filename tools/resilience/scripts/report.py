# Run by harness.Setup.shell() in `odoo-bin shell`: each account's state and the refresh token
# it holds now (read through the addon's secret store). Prints "RESULT <json>".
# ruff: noqa: F821
import json
import sys

accounts = env["cloud.account"].sudo().with_context(active_test=False).search([])
result = {
    str(account.id): {
        "state": account.state,
        "refresh_token": account._get_secret("refresh_token_enc"),
        "last_error": account.last_error or "",
        "next_run_at": str(account.next_run_at or ""),
    }
    for account in accounts
}
sys.stdout.write("RESULT %s\n" % json.dumps(result))
