"""Search a test run's texts for the secrets the emulator issued (issue 24, part 4).

Standard library only (tools/devtool.py runs it before the virtual environment matters).
The emulator of the Odoo test process writes every secret it handed out (tokens, refresh
tokens, authorization codes, client secrets, storage keys, SAS signatures it was shown) to a
file, one JSON object a line (azure_emulator.testing.SECRETS_FILE_VARIABLE); the run's log,
the texts its tests captured and the test database's rows are searched for each of them and
for their distinctive parts (a JWT's payload and signature, a SAS signature percent-encoded).
"""

import json
import re
from urllib.parse import quote

# a needle shorter than this could match by chance
MIN_NEEDLE = 16
WINDOW = MIN_NEEDLE
# the characters of the secrets' alphabets (base64, base64url, percent-encoding, JWT dots)
RUN_RE = re.compile(r"[A-Za-z0-9_\-+/%.~]{" + str(MIN_NEEDLE) + ",}")


def load_secrets(path):
    """[{"kind", "value"}] of the file (none when it is missing), each value once."""
    seen = {}
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    secret = json.loads(line)
                    seen.setdefault(secret["value"], secret["kind"])
    except FileNotFoundError:
        return []
    return [{"kind": kind, "value": value} for value, kind in seen.items()]


def needles(secret):
    """The strings whose presence means the secret leaked: the value, and its distinctive
    parts (a JWT's header is shared by every token of a key: not one of them)."""
    value, kind = secret["value"], secret["kind"]
    found = {value}
    if kind == "jwt" and value.count(".") == 2:
        _header, payload, signature = value.split(".")
        found |= {payload, signature}
    if kind in ("sas_signature", "storage_key"):
        stripped = value.rstrip("=")
        found |= {stripped, quote(stripped, safe="")}
    return {n for n in found if len(n) >= MIN_NEEDLE}


class Scanner:
    def __init__(self, secrets):
        self.by_window = {}
        for secret in secrets:
            for needle in needles(secret):
                self.by_window.setdefault(needle[:WINDOW], []).append((needle, secret))

    def find(self, text):
        """[(secret, needle, offset)] of the needles in ``text``."""
        hits = []
        if not self.by_window:
            return hits
        for run in RUN_RE.finditer(text):
            chunk, start = run.group(), run.start()
            for offset in range(len(chunk) - WINDOW + 1):
                candidates = self.by_window.get(chunk[offset : offset + WINDOW])
                if not candidates:
                    continue
                for needle, secret in candidates:
                    if chunk.startswith(needle, offset):
                        hits.append((secret, needle, start + offset))
        return hits


def scan(secrets, sources):
    """``sources``: {name: text}. Returns [(source name, kind, offset)] of every hit."""
    scanner = Scanner(secrets)
    found = []
    for name, text in sources.items():
        for secret, _needle, offset in scanner.find(text):
            found.append((name, secret["kind"], offset))
    return found
