#!/usr/bin/env python3
"""The sandbox's mail catcher: a real SMTP server (aiosmtpd) on loopback that
keeps every message Odoo sends as a .eml file, and a command to read them.

    python tools/mailcatcher.py serve --dir .cache/mail   # started by `make run`
    python tools/mailcatcher.py list                      # `make mail`
    python tools/mailcatcher.py show [N]                  # one message (default: the latest)

``serve`` listens on 127.0.0.1 only, on a free port (``--port`` to choose one),
and prints one JSON line ``{"port": ..., "directory": ...}`` once it accepts
connections. Nothing is ever delivered anywhere else.
"""

import argparse
import asyncio
import email
import email.policy
import json
import re
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / ".cache" / "mail"
LINK_RE = re.compile(r"""https?://[^\s"'<>]+""")


class SaveToFolder:
    """aiosmtpd handler: each message becomes ``<time>-<n>.eml`` in the folder."""

    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%s-%04d.eml" % (time.strftime("%Y%m%d-%H%M%S"), self.count)
        path = self.directory / name
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(path)  # readers never see half a message
        print("mail to %s saved as %s" % (", ".join(envelope.rcpt_tos), path), file=sys.stderr, flush=True)
        return "250 Message accepted for delivery"


async def serve(directory, port):
    from aiosmtpd.smtp import SMTP  # pylint: disable=import-outside-toplevel

    directory.mkdir(parents=True, exist_ok=True)
    handler = SaveToFolder(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    bound = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": bound, "directory": str(directory)}), flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


def messages(directory):
    return sorted(directory.glob("*.eml"))


def parse(path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def text_of(message):
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part else ""


def links(message):
    """The links of a message, in order, without duplicates (HTML entities undone)."""
    found = [url.replace("&amp;", "&") for url in LINK_RE.findall(text_of(message))]
    return list(dict.fromkeys(found))


def cmd_list(directory):
    found = messages(directory)
    if not found:
        print("No mail yet in %s." % directory)
        return 0
    for number, path in enumerate(found, 1):
        message = parse(path)
        print("%d. %s  To: %s  Subject: %s" % (number, path.name, message["To"], message["Subject"]))
    print("\nRead one with `python tools/mailcatcher.py show N` (the latest: `show`).")
    return 0


def cmd_show(directory, number):
    found = messages(directory)
    if not found:
        print("No mail yet in %s." % directory)
        return 1
    path = found[number - 1] if number else found[-1]
    message = parse(path)
    for header in ("From", "To", "Subject", "Date"):
        print("%s: %s" % (header, message[header]))
    print("File: %s\n" % path)
    print("Links:")
    for url in links(message):
        print("  " + url)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("serve", "list", "show"))
    parser.add_argument("number", nargs="?", type=int, default=0, help="show: the message number of `list`")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where messages are kept")
    parser.add_argument("--port", type=int, default=0, help="serve: the SMTP port (default: a free one)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        asyncio.run(serve(args.dir, args.port))
        return 0
    if args.command == "list":
        return cmd_list(args.dir)
    return cmd_show(args.dir, args.number)


if __name__ == "__main__":
    sys.exit(main())
