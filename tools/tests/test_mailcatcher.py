"""The sandbox's mail catcher: a real SMTP client delivers to `serve`, then
`list` and `show` read the message back with its links."""

import json
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

MAILCATCHER = Path(__file__).resolve().parents[1] / "mailcatcher.py"
LINK = "http://localhost:8069/web/reset_password?token=abc&db=oec_azure"


@pytest.fixture
def catcher(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, MAILCATCHER, "serve", "--dir", tmp_path],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready = json.loads(proc.stdout.readline())
        assert ready["directory"] == str(tmp_path)
        yield ready["port"], tmp_path
    finally:
        proc.terminate()
        proc.wait(10)


def read(command, folder):
    return subprocess.run(
        [sys.executable, MAILCATCHER, command, "--dir", folder],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout


def test_a_mail_sent_over_smtp_is_listed_and_shown_with_its_links(catcher):
    port, folder = catcher
    assert "No mail yet" in read("list", folder)
    message = EmailMessage()
    message["From"] = "odoo@example.com"
    message["To"] = "invited@example.com"
    message["Subject"] = "Welcome to Odoo"
    message.set_content("Accept the invitation: %s" % LINK)
    message.add_alternative('<p><a href="%s">Accept invitation</a></p>' % LINK.replace("&", "&amp;"), "html")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)
    assert [p.suffix for p in folder.iterdir()] == [".eml"]
    listing = read("list", folder)
    assert "1. " in listing
    assert "To: invited@example.com  Subject: Welcome to Odoo" in listing
    shown = read("show", folder)
    assert "Subject: Welcome to Odoo" in shown
    assert [line.strip() for line in shown.splitlines() if "/web/reset_password?" in line] == [LINK]
