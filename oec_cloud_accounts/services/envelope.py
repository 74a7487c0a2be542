"""Backups encrypted with a key the customer holds: streaming envelope encryption.

Plain Python (``cryptography`` only, no Odoo, no Azure): a backup is encrypted as it is
produced and decrypted as it is read, with memory bounded by one chunk, whatever its size.

* A random 256-bit data key per backup encrypts the stream with AES-256-GCM, in chunks;
* the data key is wrapped (RSA-OAEP, SHA-256) with the public key the administrator gave
  the policy. The private key never reaches Odoo's database: whoever restores gives it,
  and it lives in memory (and in the restore process's stdin pipe) only.

Format, version 1 (all integers big-endian)::

    header  magic    8 bytes  b"OECBKENC"
            version  1 byte   1
            chunk    4 bytes  plaintext bytes per chunk (every chunk but the last is full)
            nonce    8 bytes  random base nonce
            key id  32 bytes  SHA-256 of the public key (DER SubjectPublicKeyInfo)
            length   2 bytes  of the wrapped key
            wrapped  length   RSA-OAEP-SHA256(data key)
    chunk   flag     1 byte   0, or 1 for the last chunk (exactly one last chunk, at the end)
            length   4 bytes  of what follows: plaintext length + 16
            sealed   length   AES-256-GCM ciphertext and tag, nonce = base nonce || index
                              (4 bytes), associated data = SHA-256(header) || index (8 bytes)
                              || flag

The associated data binds each chunk to its header (its backup's data key and key id),
its place and whether it is the last: chunks cannot be reordered, dropped, swapped with
another backup's, and a blob cut after any chunk lacks its last chunk. The structure
(lengths and flags) can be checked without the key; the content and every tag with it.

Offline decryption (any machine with Python 3 and ``cryptography``, this file alone)::

    python3 envelope.py decrypt --key private.pem < backup.zip.enc > backup.zip
    python3 envelope.py check < backup.zip.enc        # the structure, without the key

(``--passphrase-env NAME``: the key's passphrase from an environment variable; ``--out FILE``:
written there, and removed when the stream does not decrypt whole.)
"""

import argparse
import hashlib
import os
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"OECBKENC"
VERSION = 1
MiB = 1024 * 1024
CHUNK_SIZE = 4 * MiB
MAX_CHUNK_SIZE = 64 * MiB
TAG = 16
MIN_RSA_BITS = 3072
MAX_CHUNKS = 2**32  # the nonce's counter
_FIXED = struct.Struct(">8sBI8s32sH")  # magic, version, chunk, nonce, key id, wrapped length
_RECORD = struct.Struct(">BI")  # flag, sealed length
FLAG_MORE, FLAG_LAST = 0, 1
# what a header holds at most (a 16384-bit RSA key's wrapped data key)
MAX_HEADER = _FIXED.size + 2048


class EnvelopeError(Exception):
    """The stream or a key is not what it must be. ``code`` says which (for people's words):
    ``key`` (not a usable key), ``wrong_key`` (not the key this backup was encrypted for),
    ``format`` (not an encrypted backup, or a version this code does not know),
    ``truncated`` (the stream ends before its last chunk), ``structure`` (lengths, flags,
    bytes after the last chunk), ``tampered`` (a chunk's tag does not match: changed bytes)."""

    def __init__(self, code, message, **values):
        super().__init__(message)
        self.code = code
        self.values = values


def _oaep():
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


# -- keys ----------------------------------------------------------------------------------------------


def _public_der(public_key):
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(public_key):
    """The key id: SHA-256 of the public key's DER SubjectPublicKeyInfo (raw bytes)."""
    return hashlib.sha256(_public_der(public_key)).digest()


def format_fingerprint(raw):
    """A fingerprint for people: ``SHA256:ab:cd:...`` (hex pairs)."""
    return "SHA256:" + ":".join("%02x" % byte for byte in raw)


def load_public_key(pem):
    """An RSA public key (PEM "PUBLIC KEY", or an X.509 certificate's) of MIN_RSA_BITS bits at least;
    EnvelopeError ``key`` otherwise."""
    data = pem.encode() if isinstance(pem, str) else bytes(pem or b"")
    data = data.strip()
    key = None
    try:
        if b"BEGIN CERTIFICATE" in data:
            from cryptography import x509  # pylint: disable=import-outside-toplevel

            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        if b"PRIVATE KEY" in data:
            raise EnvelopeError(
                "key_private", "a private key was given where the public key is expected"
            ) from error
        raise EnvelopeError("key", "not a PEM public key: %s" % error) from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise EnvelopeError("key", "not an RSA key", bits=0)
    if key.key_size < MIN_RSA_BITS:
        raise EnvelopeError(
            "key", "an RSA key of %d bits: at least %d" % (key.key_size, MIN_RSA_BITS), bits=key.key_size
        )
    return key


def load_private_key(pem, password=None):
    """An RSA private key from PEM (PKCS#8 or PKCS#1; ``password`` when it is protected)."""
    data = pem.encode() if isinstance(pem, str) else bytes(pem or b"")
    data = data.strip()
    if password is not None and not isinstance(password, bytes):
        password = password.encode()
    try:
        key = serialization.load_pem_private_key(data, password=password or None)
    except TypeError as error:
        # protected and no password, or a password for a key that has none
        raise EnvelopeError("key_password", "the private key is protected by a passphrase") from error
    except ValueError as error:
        if password:
            raise EnvelopeError("key_password", "the passphrase does not open this private key") from error
        raise EnvelopeError("key", "not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise EnvelopeError("key", "not an RSA key")
    return key


# -- encryption -------------------------------------------------------------------------------------


class EncryptingWriter:
    """A write-only, non-seekable file object: what is written to it goes encrypted to ``out``
    (another writable file object, e.g. a BlockBlobWriter), one chunk at a time.

    ``close()`` writes the last chunk: without it the stream has none, and a reader says it is
    truncated. ``sha256`` / ``size``: of the plaintext; ``key_id``: the public key's fingerprint.
    Memory: one chunk (plus the one being sealed)."""

    def __init__(self, out, public_key, chunk_size=CHUNK_SIZE):
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError("chunk size out of bounds: %r" % chunk_size)
        self.out = out
        self.chunk_size = chunk_size
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.key_id = fingerprint(public_key)
        data_key = AESGCM.generate_key(bit_length=256)
        self._aead = AESGCM(data_key)
        self._nonce = os.urandom(8)
        wrapped = public_key.encrypt(data_key, _oaep())
        header = _FIXED.pack(MAGIC, VERSION, chunk_size, self._nonce, self.key_id, len(wrapped)) + wrapped
        self._header_hash = hashlib.sha256(header).digest()
        self._index = 0
        self._buffer = bytearray()
        self._closed = False
        out.write(header)

    def writable(self):
        return True

    def flush(self):
        """Nothing to do: chunks are sealed when full (zipfile calls flush)."""

    def write(self, data):  # pylint: disable=method-required-super
        if self._closed:
            raise ValueError("write to a closed EncryptingWriter")
        view = memoryview(data)
        self.sha256.update(view)
        self.size += len(view)
        self._buffer += view
        # a full chunk is sealed once more bytes follow it: the last chunk is never empty
        # (unless the whole stream is)
        while len(self._buffer) > self.chunk_size:
            self._seal(bytes(self._buffer[: self.chunk_size]), FLAG_MORE)
            del self._buffer[: self.chunk_size]
        return len(data)

    def close(self):
        if not self._closed:
            self._seal(bytes(self._buffer), FLAG_LAST)
            self._buffer = bytearray()
            self._closed = True

    def _seal(self, plain, flag):
        if self._index >= MAX_CHUNKS:
            raise EnvelopeError("structure", "too many chunks")
        sealed = self._aead.encrypt(
            self._nonce + struct.pack(">I", self._index), plain, _aad(self._header_hash, self._index, flag)
        )
        self.out.write(_RECORD.pack(flag, len(sealed)))
        self.out.write(sealed)
        self._index += 1


def _aad(header_hash, index, flag):
    return header_hash + struct.pack(">QB", index, flag)


# -- reading ------------------------------------------------------------------------------------------


class Header:
    """An envelope's parsed header: ``chunk_size``, ``nonce``, ``key_id``, ``wrapped``, ``length``
    (its size in bytes), ``hash`` (SHA-256 of its bytes)."""

    def __init__(self, data):
        if len(data) < _FIXED.size:
            raise EnvelopeError("truncated", "the stream ends in its header")
        magic, version, chunk, nonce, key_id, wrapped_length = _FIXED.unpack_from(data)
        if magic != MAGIC:
            raise EnvelopeError("format", "not an encrypted backup (no envelope header)")
        if version != VERSION:
            raise EnvelopeError("format", "envelope version %d (this code reads %d)" % (version, VERSION))
        if not 0 < chunk <= MAX_CHUNK_SIZE or not 0 < wrapped_length <= MAX_HEADER - _FIXED.size:
            raise EnvelopeError("structure", "the header's sizes are out of bounds")
        self.length = _FIXED.size + wrapped_length
        if len(data) < self.length:
            raise EnvelopeError("truncated", "the stream ends in its header")
        self.chunk_size = chunk
        self.nonce = nonce
        self.key_id = key_id
        self.wrapped = bytes(data[_FIXED.size : self.length])
        self.hash = hashlib.sha256(bytes(data[: self.length])).digest()

    @property
    def record_size(self):
        """The bytes of one full chunk in the stream."""
        return _RECORD.size + self.chunk_size + TAG

    def unwrap(self, private_key):
        """The AES-GCM of this backup's data key, opened with ``private_key``."""
        if fingerprint(private_key.public_key()) != self.key_id:
            raise EnvelopeError(
                "wrong_key",
                "this private key (%s) is not the one this backup was encrypted for (%s)"
                % (
                    format_fingerprint(fingerprint(private_key.public_key())),
                    format_fingerprint(self.key_id),
                ),
                key=format_fingerprint(fingerprint(private_key.public_key())),
                want=format_fingerprint(self.key_id),
            )
        try:
            return AESGCM(private_key.decrypt(self.wrapped, _oaep()))
        except ValueError as error:
            raise EnvelopeError("tampered", "the wrapped data key does not open with this key") from error

    def plain_size(self, stream_size):
        """The plaintext's size from the whole stream's size (every chunk but the last is full);
        EnvelopeError when no stream of this layout has that size."""
        body = stream_size - self.length
        full, rest = divmod(body, self.record_size)
        if rest < _RECORD.size + TAG:
            # the last chunk is at least a record header and a tag; an exact multiple means the last
            # chunk was full
            if rest == 0 and full:
                return full * self.chunk_size
            raise EnvelopeError("truncated", "the stream's size does not end on its last chunk")
        return full * self.chunk_size + rest - _RECORD.size - TAG

    def chunk_span(self, index):
        """Where chunk ``index`` starts in the stream."""
        return self.length + index * self.record_size


class EnvelopeReader:
    """Parses an envelope fed in pieces of any size (``feed(data)`` returns the plaintext it
    completes, b"" without a key), then ``end()`` checks it ended on its last chunk.

    Without ``private_key`` it checks the structure only (header, lengths, flags, nothing after
    the last chunk); with it, every chunk's tag, and ``sha256`` / ``size`` are the plaintext's.
    ``header.key_id`` names the key it was written for (the caller compares it with its record)."""

    def __init__(self, private_key=None):
        self.private_key = private_key
        self.header = None
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.chunks = 0
        self.ended = False
        self._aead = None
        self._buffer = bytearray()
        self._position = 0  # bytes of the stream consumed

    def feed(self, data):
        self._buffer += data
        out = []
        while True:
            if self.header is None:
                if not self._take_header():
                    break
                continue
            if len(self._buffer) < _RECORD.size:
                break
            if self.ended:
                raise EnvelopeError("structure", "bytes after the last chunk (at byte %d)" % self._position)
            flag, length = _RECORD.unpack_from(self._buffer)
            full = self.header.chunk_size + TAG
            if (
                flag not in (FLAG_MORE, FLAG_LAST)
                or length < TAG
                or length > full
                or (flag == FLAG_MORE and length != full)
            ):
                raise EnvelopeError(
                    "structure",
                    "chunk %d's record is invalid (at byte %d)" % (self.chunks, self._position),
                    chunk=self.chunks,
                )
            if len(self._buffer) < _RECORD.size + length:
                break
            sealed = bytes(self._buffer[_RECORD.size : _RECORD.size + length])
            del self._buffer[: _RECORD.size + length]
            self._position += _RECORD.size + length
            if self._aead is not None:
                plain = self._open(sealed, flag)
                self.sha256.update(plain)
                self.size += len(plain)
                out.append(plain)
            self.chunks += 1
            self.ended = flag == FLAG_LAST
        return b"".join(out)

    def _take_header(self):
        if len(self._buffer) < _FIXED.size:
            return False
        try:
            header = Header(self._buffer)
        except EnvelopeError as error:
            if error.code == "truncated":
                return False
            raise
        self.header = header
        if self.private_key is not None:
            self._aead = header.unwrap(self.private_key)
        del self._buffer[: header.length]
        self._position = header.length
        return True

    def _open(self, sealed, flag):
        try:
            return self._aead.decrypt(
                self.header.nonce + struct.pack(">I", self.chunks),
                sealed,
                _aad(self.header.hash, self.chunks, flag),
            )
        except InvalidTag:
            raise EnvelopeError(
                "tampered",
                "chunk %d (at byte %d) fails its authentication: the backup was changed"
                % (self.chunks, self._position - _RECORD.size - len(sealed)),
                chunk=self.chunks,
            ) from None

    def end(self):
        if self.header is None:
            if len(self._buffer) >= len(MAGIC) and not bytes(self._buffer).startswith(MAGIC):
                raise EnvelopeError("format", "not an encrypted backup (no envelope header)")
            raise EnvelopeError("truncated", "the stream ends in its header")
        if not self.ended or self._buffer:
            raise EnvelopeError(
                "truncated" if not self.ended else "structure",
                "the stream ends before its last chunk (after %d chunks): it was cut" % self.chunks
                if not self.ended
                else "bytes after the last chunk",
                chunk=self.chunks,
            )


class DecryptingSink:
    """A writable file object that decrypts (or only checks) what is written and drops it:
    what a verification gives BlobStore.download."""

    def __init__(self, reader):
        self.reader = reader

    def write(self, data):  # pylint: disable=method-required-super
        self.reader.feed(data)
        return len(data)


def open_chunk(aead, header, index, record):
    """The plaintext of chunk ``index`` from its ``record`` bytes (flag, length, sealed), read
    with a range request: what a restore reads of a zip's end (its central directory)."""
    if len(record) < _RECORD.size:
        raise EnvelopeError("truncated", "chunk %d is cut" % index, chunk=index)
    flag, length = _RECORD.unpack_from(record)
    sealed = bytes(record[_RECORD.size : _RECORD.size + length])
    if len(sealed) != length or flag not in (FLAG_MORE, FLAG_LAST):
        raise EnvelopeError("structure", "chunk %d's record is invalid" % index, chunk=index)
    try:
        return aead.decrypt(header.nonce + struct.pack(">I", index), sealed, _aad(header.hash, index, flag))
    except InvalidTag:
        raise EnvelopeError(
            "tampered", "chunk %d fails its authentication: the backup was changed" % index, chunk=index
        ) from None


def private_key_pem(private_key):
    """``private_key`` as an unencrypted PKCS#8 PEM (str): what the restore process reads on its stdin."""
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class DecryptingBlobReader:
    """A restore's blob reader (services/restore.py BlobReader: ``wait_size()``, ``chunks()``,
    ``read_range()``, ``sha256`` of the blob's bytes) seen through the envelope: the same interface,
    for the plaintext. The header is read first with a ranged request and the data key unwrapped
    (a wrong key fails here, before anything is made); ``plain_sha256`` is the content's hash.
    Whatever the reader does not ask for still goes through the envelope's checks."""

    def __init__(self, inner, private_key):
        self.inner = inner
        self.blob_size = inner.wait_size()
        self.header = Header(inner.read_range(0, min(MAX_HEADER, self.blob_size)))
        self._aead = self.header.unwrap(private_key)
        self.size = self.header.plain_size(self.blob_size)
        self.envelope = EnvelopeReader(private_key)
        self._done = False

    def __getattr__(self, name):
        # sha256 (the blob's), read, close: the blob reader's
        return getattr(self.inner, name)

    @property
    def plain_sha256(self):
        return self.envelope.sha256

    def wait_size(self):
        return self.size

    def chunks(self):
        """The plaintext in order, from where the last call stopped."""
        for piece in self.inner.chunks():
            plain = self.envelope.feed(piece)
            if plain:
                yield plain
        if not self._done:
            self._done = True
            self.envelope.end()

    def read_range(self, offset, length):
        """``length`` bytes of plaintext from ``offset``: the chunks holding them, read and opened."""
        if length <= 0 or offset >= self.size:
            return b""
        length = min(length, self.size - offset)
        size = self.header.chunk_size
        first, last = offset // size, (offset + length - 1) // size
        start = self.header.chunk_span(first)
        end = min(self.header.chunk_span(last + 1), self.blob_size)
        data = self.inner.read_range(start, end - start)
        record = self.header.record_size
        plain = b"".join(
            open_chunk(
                self._aead, self.header, index, data[(index - first) * record : (index - first + 1) * record]
            )
            for index in range(first, last + 1)
        )
        skip = offset - first * size
        return plain[skip : skip + length]


# -- command line ---------------------------------------------------------------------------------------


def _copy(source, reader, out, size=MiB):
    while True:
        data = source.read(size)
        if not data:
            break
        plain = reader.feed(data)
        if out is not None and plain:
            out.write(plain)
    reader.end()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="envelope.py", description="Decrypt or check a backup encrypted by oec_cloud_accounts."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    decrypt = sub.add_parser("decrypt", help="decrypt stdin (or FILE) to stdout (or --out)")
    decrypt.add_argument("--key", required=True, help="the private key's PEM file")
    decrypt.add_argument(
        "--passphrase-env", help="the name of an environment variable holding its passphrase"
    )
    decrypt.add_argument("--out", help="write here instead of stdout (removed on failure)")
    decrypt.add_argument("file", nargs="?")
    check = sub.add_parser("check", help="check the structure of stdin (or FILE), without the key")
    check.add_argument("file", nargs="?")
    args = parser.parse_args(argv)
    source = open(args.file, "rb") if args.file else sys.stdin.buffer  # noqa: SIM115
    try:
        if args.command == "check":
            reader = EnvelopeReader()
            _copy(source, reader, None)
            sys.stdout.write(
                "structure OK: %d chunks of %d bytes at most, key %s\n"
                % (reader.chunks, reader.header.chunk_size, format_fingerprint(reader.header.key_id))
            )
            return 0
        with open(args.key, "rb") as handle:
            password = os.environ.get(args.passphrase_env) if args.passphrase_env else None
            reader = EnvelopeReader(load_private_key(handle.read(), password))
        out = open(args.out, "wb") if args.out else sys.stdout.buffer  # noqa: SIM115
        try:
            _copy(source, reader, out)
        except BaseException:
            if args.out:
                out.close()
                os.unlink(args.out)
            raise
        if args.out:
            out.close()
        sys.stderr.write("decrypted %d bytes, SHA-256 %s\n" % (reader.size, reader.sha256.hexdigest()))
        return 0
    except EnvelopeError as error:
        sys.stderr.write("error: %s\n" % error)
        return 1
    finally:
        if args.file:
            source.close()


if __name__ == "__main__":
    sys.exit(main())
