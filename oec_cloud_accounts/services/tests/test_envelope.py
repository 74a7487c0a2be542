"""services/envelope.py: the encrypted backups' format, both ways, in pieces of any size (pure
Python: cryptography only)."""

import hashlib
import io
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from odoo.addons.oec_cloud_accounts.services.envelope import (
    MAGIC,
    DecryptingBlobReader,
    EncryptingWriter,
    EnvelopeError,
    EnvelopeReader,
    Header,
    load_public_key,
    main,
)

CHUNK = 1024


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def seal(key, plain, chunk=CHUNK, pieces=333):
    out = io.BytesIO()
    writer = EncryptingWriter(out, key.public_key(), chunk)
    for start in range(0, len(plain), pieces):
        writer.write(plain[start : start + pieces])
    writer.close()
    assert writer.sha256.hexdigest() == hashlib.sha256(plain).hexdigest()
    return out.getvalue()


def open_all(key, blob, pieces=777):
    reader = EnvelopeReader(key)
    plain = b"".join(reader.feed(blob[i : i + pieces]) for i in range(0, len(blob), pieces))
    reader.end()
    return plain


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 17])
def test_round_trip_and_sizes(key, size):
    plain = os.urandom(size)
    blob = seal(key, plain)
    assert blob.startswith(MAGIC)
    assert plain[:16] not in blob or size < 16
    assert open_all(key, blob) == plain
    header = Header(blob)
    assert header.plain_size(len(blob)) == size
    checker = EnvelopeReader()  # without the key: the structure only
    checker.feed(blob)
    checker.end()


class _Blob:
    """What the restore process's BlobReader offers, over bytes."""

    def __init__(self, data, piece=700):
        self.data, self.piece = data, piece
        self.sha256 = hashlib.sha256(data)

    def wait_size(self):
        return len(self.data)

    def read_range(self, offset, length):
        return self.data[offset : offset + length]

    def chunks(self):
        for start in range(0, len(self.data), self.piece):
            yield self.data[start : start + self.piece]


def test_ranges_and_stream_through_the_restore_reader(key):
    plain = os.urandom(7 * CHUNK + 100)
    reader = DecryptingBlobReader(_Blob(seal(key, plain)), key)
    assert reader.wait_size() == len(plain)
    for offset, length in ((0, 10), (CHUNK - 5, 10), (3 * CHUNK, 2 * CHUNK + 3), (len(plain) - 50, 500)):
        assert reader.read_range(offset, length) == plain[offset : offset + length]
    assert b"".join(reader.chunks()) == plain
    assert reader.plain_sha256.hexdigest() == hashlib.sha256(plain).hexdigest()


def test_changes_are_detected(key):
    plain = os.urandom(6 * CHUNK)
    blob = seal(key, plain)
    header = Header(blob)
    record = header.record_size
    flipped = bytearray(blob)
    flipped[header.chunk_span(2) + 40] ^= 1
    swapped = bytearray(blob)
    first, second = header.chunk_span(1), header.chunk_span(2)
    swapped[first:second] = blob[second : second + record]
    swapped[second : second + record] = blob[first:second]
    other = seal(key, plain)  # the same content, another backup (another data key)
    spliced = blob[: header.chunk_span(3)] + other[Header(other).chunk_span(3) :]
    cases = {
        "tampered": [bytes(flipped), bytes(swapped), spliced],
        "truncated": [blob[: header.chunk_span(3)], blob[:-1], blob[:40]],
        "structure": [blob + b"\0" * 30],
    }
    for code, blobs in cases.items():
        for changed in blobs:
            with pytest.raises(EnvelopeError) as caught:
                open_all(key, changed)
            assert caught.value.code == code
    # without the key, a cut stream is seen too
    with pytest.raises(EnvelopeError) as caught:
        checker = EnvelopeReader()
        checker.feed(blob[: header.chunk_span(4)])
        checker.end()
    assert caught.value.code == "truncated"


def test_keys(key):
    blob = seal(key, b"some dump")
    with pytest.raises(EnvelopeError) as caught:
        open_all(rsa.generate_private_key(public_exponent=65537, key_size=3072), blob)
    assert caught.value.code == "wrong_key"
    weak = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = weak.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(EnvelopeError) as caught:
        load_public_key(pem)
    assert caught.value.values["bits"] == 2048


def test_command_line(key, tmp_path, monkeypatch, capsysbinary):
    plain = os.urandom(3 * CHUNK + 5)
    (tmp_path / "backup.enc").write_bytes(seal(key, plain))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    monkeypatch.setenv("BACKUP_KEY_PASSPHRASE", "passphrase")
    out = tmp_path / "backup.zip"
    args = ["decrypt", "--key", str(tmp_path / "key.pem"), "--passphrase-env", "BACKUP_KEY_PASSPHRASE"]
    assert main([*args, "--out", str(out), str(tmp_path / "backup.enc")]) == 0
    assert out.read_bytes() == plain
    (tmp_path / "cut.enc").write_bytes((tmp_path / "backup.enc").read_bytes()[:-10])
    assert main([*args, "--out", str(out), str(tmp_path / "cut.enc")]) == 1
    assert not out.exists(), "a stream that does not decrypt whole leaves no file"
    assert main(["check", str(tmp_path / "backup.enc")]) == 0
    assert b"structure OK" in capsysbinary.readouterr().out
