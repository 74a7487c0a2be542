"""`python -m azure_emulator`: the sandbox beside Odoo (`make run`).

Prints one JSON line on stdout when ready (URLs, CA path, ids), then serves
until SIGINT/SIGTERM; Azurite is stopped with it.
"""

import argparse
import json
import logging
import signal
import sys
import threading

from . import defaults as d
from .app import Emulator


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m azure_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="HTTPS port (APIs); 0 picks a free one")
    parser.add_argument("--http-port", type=int, default=0, help="plain-http port for browser pages")
    parser.add_argument("--blob-port", type=int, default=0, help="HTTPS port of the blob endpoint")
    parser.add_argument("--no-azurite", action="store_true", help="run without Blob Storage")
    parser.add_argument("--signin-client-id", default=d.SIGNIN_CLIENT_ID)
    parser.add_argument("--signin-client-secret", default=d.SIGNIN_CLIENT_SECRET)
    parser.add_argument("--cloud-client-id", default=d.CLOUD_CLIENT_ID)
    parser.add_argument("--cloud-client-secret", default=d.CLOUD_CLIENT_SECRET)
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="exact redirect URI for both apps (repeatable); default: any loopback http URI",
    )
    parser.add_argument("--lro-polls", type=int, default=None, help="polls before an LRO ends (default 1)")
    parser.add_argument(
        "--registration-polls",
        type=int,
        default=None,
        help="reads of a provider answering Registering before Registered (default 3)",
    )
    parser.add_argument("--lro-seconds", type=float, default=None, help="minimum LRO duration in seconds")
    parser.add_argument(
        "--auto-consent",
        default=None,
        metavar="USER",
        help="answer the consent page at once as USER (e.g. %s)" % d.USER_EMAIL,
    )
    parser.add_argument(
        "--state-dir",
        default=None,
        metavar="DIR",
        help="keep the sandbox's state (resources, tokens, blobs) in DIR across restarts; "
        "default: in memory only",
    )
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = {}
    if args.lro_polls is not None:
        config["lro_polls"] = args.lro_polls
    if args.registration_polls is not None:
        config["registration_polls"] = args.registration_polls
    if args.lro_seconds is not None:
        config["lro_seconds"] = args.lro_seconds
    options = {
        "signin_client_id": args.signin_client_id,
        "signin_client_secret": args.signin_client_secret,
        "cloud_client_id": args.cloud_client_id,
        "cloud_client_secret": args.cloud_client_secret,
        "redirect_uris": args.redirect_uri or None,
        "auto_consent": args.auto_consent,
        "config": config,
    }
    emulator = Emulator(
        host=args.host,
        port=args.port,
        http_port=args.http_port,
        blob_port=args.blob_port,
        azurite=not args.no_azurite,
        options=options,
        state_dir=args.state_dir,
    )
    stop = threading.Event()
    # SIGTERM (make run stopping us) must go through stop() so Azurite ends too.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    emulator.start()
    try:
        info = emulator.describe()
        info.update(
            signin_client_secret=args.signin_client_secret,
            cloud_client_secret=args.cloud_client_secret,
            user=d.USER_EMAIL,
        )
        print(json.dumps(info), flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
