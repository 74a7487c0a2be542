"""Let an Odoo browser tour get through the emulator's consent page.

A tour only runs on Odoo's own pages: when it clicks "Microsoft Azure" the
browser leaves for the emulator's consent page, where no tour code exists.
This helper hooks Odoo's test browser (``odoo.tests.common.ChromeBrowser``):
each time a page stops loading, if it is the emulator's consent page, it picks
the user and clicks Accept (or Cancel) through the Chrome DevTools protocol,
exactly as a person would. Back on Odoo's origin the tour resumes by itself.

    from azure_emulator.odoo_browser import consent_in_browser
    with consent_in_browser(user="sandbox.admin@sandbox.onmicrosoft.test"):
        self.start_tour("/web/reset_password?token=...", "my_tour")

Only the test harness is hooked; Odoo's and our code run unchanged.
"""

import contextlib
import json
from unittest.mock import patch

_SCRIPT = """
(() => {
    const form = document.getElementById("emu-consent-form");
    if (!form) { return false; }
    const user = %(user)s;
    const select = document.getElementById("emu-user");
    if (user && select) { select.value = user; }
    document.getElementById(%(button)s).click();
    return true;
})()
"""


@contextlib.contextmanager
def consent_in_browser(user=None, action="accept"):
    """Within the block, every browser started by an HttpCase answers the
    emulator's consent page with ``action`` ("accept" or "cancel") as ``user``
    (an email; None keeps the page's default choice)."""
    from odoo.tests.common import ChromeBrowser  # only importable inside Odoo

    original = ChromeBrowser._handle_frame_stopped_loading
    expression = _SCRIPT % {
        "user": json.dumps(user),
        "button": json.dumps("emu-accept" if action == "accept" else "emu-cancel"),
    }

    def handle_frame_stopped_loading(browser, frameId):
        original(browser, frameId)
        # This runs in the browser's websocket consumer thread, which must not
        # wait for an answer: fire and forget (the page ignores it elsewhere).
        browser._websocket_send("Runtime.evaluate", params={"expression": expression})

    with patch.object(ChromeBrowser, "_handle_frame_stopped_loading", handle_frame_stopped_loading):
        yield
