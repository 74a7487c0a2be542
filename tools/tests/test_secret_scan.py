"""The secrets check of make test finds a secret whole, in its distinctive parts, encoded."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import secret_scan

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQifQ.c2lnbmF0dXJlc2lnbmF0dXJlc2ln"
SECRETS = [
    {"kind": "jwt", "value": JWT},
    {"kind": "sas_signature", "value": "ab+cd/efGHijklmnopQRstuv=="},
    {"kind": "code", "value": "1.emu.abcdefghijklmnopqrstuvwxyz"},
]


def test_finds_whole_parts_and_encoded_secrets_only():
    sources = {
        "signature only": "token c2lnbmF0dXJlc2lnbmF0dXJlc2ln here",
        "percent-encoded": "sig=ab%2Bcd%2FefGHijklmnopQRstuv%3D%3D&x",
        "a prefix": "nothing 1.emu.abcdefghijklmnop",
        "inside a longer word": "x1.emu.abcdefghijklmnopqrstuvwxyzq",
        "the header shared by all": "eyJhbGciOiJSUzI1NiJ9.",
    }
    hits = {(source, kind) for source, kind, _offset in secret_scan.scan(SECRETS, sources)}
    assert hits == {
        ("signature only", "jwt"),
        ("percent-encoded", "sas_signature"),
        ("inside a longer word", "code"),
    }


def test_load_secrets_counts_each_value_once(tmp_path):
    path = tmp_path / "issued.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in SECRETS + SECRETS[:1]))
    assert len(secret_scan.load_secrets(path)) == 3
    assert secret_scan.load_secrets(tmp_path / "missing") == []
