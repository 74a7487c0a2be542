"""Blob Storage's data plane (azure-storage-blob): backups streamed to block
blobs, read back, shared for a few minutes, deleted.

Blobs are reached with a Microsoft Entra token for Azure Storage (the caller
hands a TokenCredential: the signed-in user's token, whose rights are Azure
RBAC's Storage Blob Data roles), and shared for a few minutes with a user
delegation SAS (signed with a user delegation key, no account key). Only as a
fallback an administrator turns on, the caller hands the storage account key
instead (read from ``listKeys`` when needed, never stored), used in memory
only, for the calls or to sign the SAS.

A backup is written as it is produced: bytes go into a block of a bounded size,
full blocks are staged (``Put Block``) by a few threads while the next one
fills, and the block list is committed at the end with the SHA-256 in the
blob's metadata. Memory stays at ``(concurrency + 1) * block_size`` whatever
the database's size; nothing touches the local disk. A failure before the
commit leaves no blob (staged blocks are dropped by Azure after 7 days).

Every call can be held to a ``Deadline`` (the caller's share of Odoo's time
limits): each request gets timeouts and retries that fit in the time left, the
calling thread never waits past the deadline for a request, a block or pg_dump,
and at the deadline ``DeadlineReached`` is raised with nothing committed. A
request still hanging then is left to its own (short) timeouts in a thread that
Odoo's time limits do not watch.
"""

import hashlib
import json
import logging
import os
import queue
import shutil
import subprocess
import threading
import time
import zipfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import (
    BlobImmutabilityPolicyMode,
    BlobSasPermissions,
    BlobServiceClient,
    ExponentialRetry,
    ImmutabilityPolicy,
    StandardBlobTier,
    generate_blob_sas,
)

from .arm import _arm_errors
from .errors import KIND_REQUEST, STORAGE, AzureError
from .http import DEFAULT_TIMEOUT

_logger = logging.getLogger(__name__)

MiB = 1024 * 1024
BLOCK_SIZE = 8 * MiB  # Azure allows up to 4000 MiB per block and 50,000 blocks
CONCURRENCY = 2  # blocks staged at once, beside the one being filled
READ_CHUNK = 1 * MiB
# a blob is read with a first request of DOWNLOAD_FIRST (the SDK's default), then ranges of
# DOWNLOAD_CHUNK, READ_AHEAD of them read ahead of the hash: memory stays bounded. Each request
# costs a round trip: 4 MiB ranges and no read-ahead made a verification 0.1-0.2 s slower than the
# SDK's own download (tools/bench/bench_restore.py)
DOWNLOAD_FIRST = 32 * MiB
DOWNLOAD_CHUNK = 8 * MiB
READ_AHEAD = 2
ZIP_LEVEL = 1
MAX_BLOCKS = 50000
# metadata keys of the blobs this addon writes (Azure metadata names are C# identifiers)
META_SHA256 = "oec_sha256"
META_DB_UUID = "oec_db_uuid"
META_DATABASE = "oec_database"
META_FORMAT = "oec_format"
MARKER_PREFIX = ".oec-access-test/"
TIERS = ("Hot", "Cool", "Cold")
# the modes of a blob's time-based retention policy (version-level immutability): Unlocked can be
# shortened or removed by someone with the right Azure role, Locked only extended
IMMUTABILITY_MODES = ("Unlocked", "Locked")
SAS_MINUTES = 15
# per request under a deadline: at most CALL_RETRIES retries, each attempt's timeouts within these
CALL_RETRIES = 1
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
MIN_READ_TIMEOUT = 2


@contextmanager
def blob_errors(account=None, container=None):
    """azure-core / storage exceptions -> AzureError with STORAGE's kinds and keys."""
    values = {"account": account or "", "container": container or ""}
    with _arm_errors(STORAGE, values=values):
        yield


class BackupStreamError(AzureError):
    """The producer (pg_dump, the filestore) failed: nothing was committed."""


class DeadlineReached(Exception):
    """The job's time ran out (see Deadline); ``step`` says what it was waiting for."""

    def __init__(self, step):
        super().__init__("deadline reached during %s" % step)
        self.step = step


class Deadline:
    """When a job must have given the thread back (``time.time()`` seconds), or
    None for no limit. Wall-clock time, as Odoo's own limits count it."""

    def __init__(self, at=None, max_read=READ_TIMEOUT):
        self.at = at
        # the longest read timeout of one request (the server's timeout option may lower it)
        self.max_read = max_read

    def left(self):
        return None if self.at is None else self.at - time.time()

    def check(self, step):
        left = self.left()
        if left is not None and left <= 0:
            raise DeadlineReached(step)

    def options(self):
        """Per-request timeouts and retries of the SDK: one call (its retries
        included) fits in the time left, so a hanging endpoint costs little."""
        left = self.left()
        if left is None:
            return {}
        read = max(MIN_READ_TIMEOUT, min(self.max_read, left / (CALL_RETRIES + 1) / 2))
        return {
            "connection_timeout": min(CONNECT_TIMEOUT, read),
            "read_timeout": read,
            "retry_total": CALL_RETRIES,
        }

    def wait(self, futures, step):
        """Wait for the first of ``futures``, until the deadline at most; (done, not done)."""
        done, pending = wait(futures, timeout=self.left(), return_when=FIRST_COMPLETED)
        if not done:
            raise DeadlineReached(step)
        return done, pending

    def call(self, step, function, *args, **kwargs):
        """``function(*args, **kwargs)``, waited for until the deadline only: it runs
        in a daemon thread left behind at the deadline (its request's timeouts end it)."""
        if self.at is None:
            return function(*args, **kwargs)
        self.check(step)
        outcome = {}

        def run():
            try:
                outcome["result"] = function(*args, **kwargs)
            except BaseException as error:  # noqa: BLE001  # handed to the waiting thread
                outcome["error"] = error

        worker = threading.Thread(target=run, name="oec-blob-call", daemon=True)
        worker.start()
        worker.join(max(self.left(), 0))
        if worker.is_alive():
            raise DeadlineReached(step)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]


NO_DEADLINE = Deadline()


class BlockBlobWriter:
    """A write-only, non-seekable file object that stages blocks of a block blob.

    ``zipfile`` writes to it with data descriptors (it cannot seek); the
    SHA-256 and the size are computed as bytes arrive. ``commit()`` makes the
    blob exist; without it (an exception, ``abort()``) nothing does.
    """

    def __init__(self, blob_client, block_size=BLOCK_SIZE, concurrency=CONCURRENCY, deadline=NO_DEADLINE):
        self.blob = blob_client
        self.deadline = deadline
        self.block_size = block_size
        self.concurrency = max(1, concurrency)
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._buffer = bytearray()
        self._block_ids = []
        self._pending = set()
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="oec-blob")
        self._closed = False

    # -- file object protocol (what zipfile and shutil.copyfileobj use) ---------------------------

    def writable(self):
        return True

    def write(self, data):  # pylint: disable=method-required-super
        if self._closed:
            raise ValueError("write to a closed BlockBlobWriter")
        self.deadline.check("the backup's data (pg_dump, the filestore)")
        view = memoryview(data)
        self.sha256.update(view)
        self.size += len(view)
        while len(view):
            room = self.block_size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) >= self.block_size:
                self._stage(bytes(self._buffer))
                self._buffer = bytearray()
        return len(data)

    def flush(self):
        """Nothing to do: blocks are staged when full (zipfile calls flush)."""

    # -- blocks ------------------------------------------------------------------------------------

    def _stage(self, data):
        if len(self._block_ids) >= MAX_BLOCKS:
            raise AzureError(
                "blob.too_many_blocks",
                code="TooManyBlocks",
                kind=KIND_REQUEST,
                params={"size": self.block_size // MiB},
            )
        # at most `concurrency` blocks in flight: wait for one, which also raises its error early
        while len(self._pending) >= self.concurrency:
            done, self._pending = self.deadline.wait(self._pending, "Put Block")
            for future in done:
                future.result()
        block_id = "%032d" % len(self._block_ids)  # the SDK sends it base64-encoded
        self._block_ids.append(block_id)
        self._pending.add(
            self._pool.submit(
                self.blob.stage_block, block_id, data, length=len(data), **self.deadline.options()
            )
        )

    def commit(self, metadata=None, tier=None, immutability=None):
        """Stage the last block, wait for all, commit the list: the blob exists from here.

        ``immutability``: (days, mode): the blob is committed with a time-based retention policy
        ending ``days`` after the commit (Put Block List's ``x-ms-immutability-policy-*``
        headers): from its first moment, nobody can delete or change it before that end."""
        if self._buffer or not self._block_ids:
            self._stage(bytes(self._buffer))
            self._buffer = bytearray()
        while self._pending:
            done, self._pending = self.deadline.wait(self._pending, "Put Block")
            for future in done:
                future.result()
        self._close()
        metadata = dict(metadata or {}, **{META_SHA256: self.sha256.hexdigest()})
        policy = {}
        until = mode = None
        if immutability:
            days, mode = immutability
            # Azure keeps whole seconds
            until = (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)
            policy["immutability_policy"] = ImmutabilityPolicy(
                expiry_time=until, policy_mode=BlobImmutabilityPolicyMode(mode)
            )
        self.deadline.call(
            "Put Block List",
            self.blob.commit_block_list,
            self._block_ids,
            metadata=metadata,
            standard_blob_tier=StandardBlobTier(tier) if tier else None,
            **policy,
            **self.deadline.options(),
        )
        return {
            "size": self.size,
            "sha256": self.sha256.hexdigest(),
            "blocks": len(self._block_ids),
            "immutable_until": until,
            "immutability_mode": mode,
        }

    def abort(self):
        """Drop what is in flight; no block list is committed (Azure drops staged blocks)."""
        for future in self._pending:
            future.cancel()
        self._pending = set()
        self._buffer = bytearray()
        # a block still in flight is not waited for: its request's timeouts end it
        self._close(wait=False)

    def _close(self, wait=True):
        if not self._closed:
            self._closed = True
            self._pool.shutdown(wait=wait, cancel_futures=True)


# -- producers: what a backup is made of ------------------------------------------------------------


class _Stderr:
    """Keeps the end of a child's stderr, read by a thread (no pipe can fill up)."""

    def __init__(self, stream):
        self.tail = b""
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self.tail = (self.tail + line)[-2000:]

    def text(self):
        self._thread.join(5)
        return self.tail.decode("utf-8", "replace").strip()


def _pg_dump(cmd, env, out, deadline=NO_DEADLINE):
    """Run ``cmd`` (pg_dump writing to stdout) and copy its output into ``out``;
    pg_dump is killed at the deadline (it cannot be resumed: the run fails)."""
    with subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        stderr = _Stderr(proc.stderr)
        left = deadline.left()
        timer = threading.Timer(max(left, 0), proc.kill) if left is not None else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            shutil.copyfileobj(proc.stdout, out, READ_CHUNK)
        except BaseException:
            proc.kill()
            raise
        finally:
            if timer:
                timer.cancel()
        code = proc.wait()
    if code != 0:
        deadline.check("pg_dump")
        raise BackupStreamError(
            "blob.pg_dump_failed",
            code="PgDumpFailed",
            detail=stderr.text()[-500:],
            params={"code": code, "error": stderr.text()[-500:] or "-"},
        )


def filestore_files(filestore):
    """(path, name in the archive) of every file of a filestore, as Odoo's zip_dir walks it."""
    if not filestore or not os.path.isdir(filestore):
        return
    for dirpath, _dirnames, filenames in os.walk(filestore):
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.isfile(path):
                yield path, "filestore/" + os.path.relpath(path, filestore).replace(os.sep, "/")


def write_odoo_zip(out, dump_cmd, env, filestore, manifest, deadline=NO_DEADLINE):
    """The zip Odoo's database manager makes and restores (dump.sql, filestore/,
    manifest.json), written to the non-seekable ``out`` while pg_dump runs.

    ``dump_cmd``: the pg_dump command writing plain SQL to stdout.
    """
    # zlib level 1: about 2.5 times as fast as the default 6 on a dump (measured here: 126 against
    # 48 MB/s) for blobs about a quarter larger; restore_db reads any level
    with zipfile.ZipFile(
        out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=ZIP_LEVEL
    ) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=4))
        with archive.open("dump.sql", "w", force_zip64=True) as entry:
            _pg_dump(dump_cmd, env, entry, deadline)
        for path, name in filestore_files(filestore):
            archive.write(path, name)


def write_pg_custom(out, dump_cmd, env, deadline=NO_DEADLINE):
    """pg_dump's custom format (compressed by pg_dump, no filestore)."""
    _pg_dump(dump_cmd, env, out, deadline)


class ScaledRetry(ExponentialRetry):
    """Storage's exponential retry with its waits multiplied by ``scale`` (0: none)."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def get_backoff_time(self, settings):
        return self.scale * super().get_backoff_time(settings)


# -- the container ------------------------------------------------------------------------------------


class BlobStore:
    """One blob container.

    ``blob_endpoint``: the account's ``primaryEndpoints.blob``; ``credential``: an azure-core
    TokenCredential for Azure Storage (Microsoft Entra ID), or the account key (a str: the
    shared-key fallback); ``ca_bundle``:
    a PEM bundle for private clouds (the sandbox); proxies come from the
    standard environment variables (azure-core reads them). ``retries``: the
    SDK's retries of a request; ``backoff``: a multiplier of the waits between
    them (1: about 3 s then 5 s; 0: at once, for tests); ``download_first``,
    ``download_chunk``: the size of the first range a download reads, and of the next ones.
    """

    def __init__(
        self,
        blob_endpoint,
        credential,
        container,
        ca_bundle=None,
        timeout=DEFAULT_TIMEOUT,
        retries=2,
        account_name=None,
        backoff=1.0,
        download_chunk=DOWNLOAD_CHUNK,
        download_first=DOWNLOAD_FIRST,
        read_timeout=None,
    ):
        options = {
            "max_single_get_size": download_first,
            "max_chunk_get_size": download_chunk,
            "connection_timeout": timeout,
            # a chunk takes longer than an ARM answer: a minute at least, unless set
            "read_timeout": read_timeout or max(timeout, READ_TIMEOUT),
            # storage's default waits 15 s, then 18 s, 42 s... before retrying a block:
            # a few seconds are enough for a blip, and a failed backup is retried by a person
            "retry_policy": ScaledRetry(
                backoff, initial_backoff=1, increment_base=2, retry_total=retries, random_jitter_range=1
            ),
        }
        if ca_bundle:
            options["connection_verify"] = ca_bundle
        # the account key of the shared-key fallback, else None (Microsoft Entra ID)
        self._key = credential if isinstance(credential, str) else None
        self._delegation_key = None
        # set by the caller for long work (backups, verifications, restores)
        self.deadline = NO_DEADLINE
        self.service = BlobServiceClient(blob_endpoint, credential=credential, **options)
        self.account_name = account_name or self.service.account_name
        self.container_name = container
        self.container = self.service.get_container_client(container)

    def _errors(self):
        return blob_errors(self.account_name, self.container_name)

    # -- remote calls ----------------------------------------------------------------------------

    def check_access(self, marker_name):
        """Write, read back and delete a small marker blob: what a backup needs."""
        payload = b"Odoo backup access test"
        blob = self.container.get_blob_client(MARKER_PREFIX + marker_name)
        with self._errors():
            blob.upload_blob(payload, overwrite=True)
            if blob.download_blob().readall() != payload:
                raise AzureError(
                    "blob.marker_mismatch",
                    code="MarkerMismatch",
                )
            blob.delete_blob()
        return True

    def upload(
        self,
        name,
        produce,
        metadata=None,
        tier=None,
        block_size=BLOCK_SIZE,
        concurrency=CONCURRENCY,
        immutability=None,
    ):
        """Stream what ``produce(writer)`` writes into the block blob ``name``.

        Returns {"size", "sha256", "blocks", "immutable_until", "immutability_mode"};
        ``immutability``: (days, mode) of the blob's time-based retention policy (see
        BlockBlobWriter.commit). On any failure
        nothing is committed and the error is raised (AzureError for Azure's refusals).
        """
        writer = BlockBlobWriter(self.container.get_blob_client(name), block_size, concurrency, self.deadline)
        try:
            with self._errors():
                produce(writer)
                return writer.commit(metadata=metadata, tier=tier, immutability=immutability)
        except BaseException:
            writer.abort()
            raise

    def properties(self, name):
        """{"size", "metadata", "tier", "last_modified", "immutable_until", "immutability_mode"} of a
        blob (the end and mode of its time-based retention policy, None without one), or None when
        it is gone."""
        with self._errors():
            try:
                props = self.deadline.call(
                    "Get Blob Properties",
                    self.container.get_blob_client(name).get_blob_properties,
                    **self.deadline.options(),
                )
            except ResourceNotFoundError:
                return None
        return {
            "size": props.size,
            "metadata": dict(props.metadata or {}),
            "tier": props.blob_tier,
            "last_modified": props.last_modified,
            "immutable_until": props.immutability_policy.expiry_time,
            "immutability_mode": props.immutability_policy.policy_mode,
        }

    def download(self, name, out=None):
        """Stream the blob (into ``out`` when given): {"size", "sha256", "metadata"}.

        A thread reads the blob, READ_AHEAD ranges ahead of the hash (the network and the hash
        overlap); this thread waits for each range until the deadline only, and the reader,
        left behind then, ends at its requests' own timeouts."""
        sha256 = hashlib.sha256()
        size = 0
        deadline = self.deadline
        items = queue.Queue(READ_AHEAD)
        stop = threading.Event()
        blob = self.container.get_blob_client(name)

        def put(item):
            while not stop.is_set():
                try:
                    items.put(item, timeout=1)
                    return True
                except queue.Full:
                    continue
            return False

        def read():
            try:
                downloader = blob.download_blob(max_concurrency=1, **deadline.options())
                if not put(downloader):
                    return
                for chunk in downloader.chunks():
                    if not put(chunk):
                        return
                put(None)
            except BaseException as error:  # noqa: BLE001  # handed to the waiting thread
                put(error)

        def take():
            try:
                item = items.get(timeout=deadline.left())
            except queue.Empty:
                raise DeadlineReached("Get Blob") from None
            if isinstance(item, BaseException):
                raise item
            return item

        threading.Thread(target=read, name="oec-blob-read", daemon=True).start()
        try:
            with self._errors():
                downloader = take()
                while True:
                    chunk = take()
                    if chunk is None:
                        break
                    sha256.update(chunk)
                    size += len(chunk)
                    if out is not None:
                        out.write(chunk)
        finally:
            stop.set()
        return {
            "size": size,
            "sha256": sha256.hexdigest(),
            "metadata": dict(downloader.properties.metadata or {}),
        }

    def delete(self, name, owner):
        """Delete a backup blob, only if its metadata says this database wrote it.

        ``owner``: {metadata key: value} that must all match. Returns True when
        deleted, False when already gone; raises when the blob is not ours, or when Azure keeps
        it (``BlobImmutableDueToPolicy``: its ``params["until"]`` is the policy's end, read with
        the properties).
        """
        props = self.properties(name)
        if props is None:
            return False
        metadata = {k.lower(): v for k, v in props["metadata"].items()}
        if any(metadata.get(key.lower()) != str(value) for key, value in owner.items()):
            raise AzureError(
                "blob.foreign_blob",
                code="ForeignBlob",
                params={"name": name},
            )
        try:
            with self._errors():
                self.deadline.call(
                    "Delete Blob",
                    self.container.get_blob_client(name).delete_blob,
                    delete_snapshots="include",
                    **self.deadline.options(),
                )
        except AzureError as error:
            if error.code == "BlobImmutableDueToPolicy" and props["immutable_until"]:
                error.params["until"] = props["immutable_until"]
            raise
        return True

    def versions(self, name):
        """The previous versions of blob ``name``, oldest first: in an account with blob versioning
        (which immutable backups need), a delete or an overwrite keeps the former current version
        as a previous one, kept and billed until it is deleted by its id. [{"version_id", "size",
        "metadata", "immutable_until", "immutability_mode"}]; [] without versioning (one List Blobs
        request: ``include=versions``)."""

        def listing():
            return [
                item
                for item in self.container.list_blobs(
                    name_starts_with=name,
                    include=["versions", "metadata", "immutabilitypolicy"],
                    **self.deadline.options(),
                )
                if item.name == name and item.version_id and not item.is_current_version
            ]

        with self._errors():
            items = self.deadline.call("List Blobs", listing)
        return [
            {
                "version_id": item.version_id,
                "size": item.size,
                "metadata": dict(item.metadata or {}),
                "immutable_until": item.immutability_policy.expiry_time,
                "immutability_mode": item.immutability_policy.policy_mode,
            }
            for item in sorted(items, key=lambda item: item.version_id)
        ]

    def delete_versions(self, name, owner):
        """Delete the previous versions of blob ``name`` that this database wrote (``owner``, as
        ``delete()``) and that no immutability policy protects any more, each by its id (Delete
        Blob ``versionid``: the storage is freed; with blob soft delete on, after its days).

        Returns {"deleted": how many, "kept_until": the latest end of the versions Azure keeps
        (refused: 409 ``BlobImmutableDueToPolicy``; None: none), "foreign": how many were not
        written by this database (left alone)}. Each version is asked, Azure's clock being the one
        that counts: the caller asks only after the backup's own end, when its versions' policies
        have ended too unless someone overwrote the blob or extended a version's policy.
        """
        result = {"deleted": 0, "kept_until": None, "foreign": 0}
        now = datetime.now(timezone.utc)

        def keep(until):
            until = until or now
            if result["kept_until"] is None or until > result["kept_until"]:
                result["kept_until"] = until

        for version in self.versions(name):
            metadata = {k.lower(): v for k, v in version["metadata"].items()}
            if any(metadata.get(key.lower()) != str(value) for key, value in owner.items()):
                result["foreign"] += 1
                continue
            until = version["immutable_until"]
            try:
                with self._errors():
                    try:
                        self.deadline.call(
                            "Delete Blob",
                            self.container.get_blob_client(
                                name, version_id=version["version_id"]
                            ).delete_blob,
                            **self.deadline.options(),
                        )
                    except ResourceNotFoundError:
                        _logger.debug("blob %s version %s: already gone", name, version["version_id"])
            except AzureError as error:
                if error.code != "BlobImmutableDueToPolicy":
                    raise
                keep(until)
                continue
            result["deleted"] += 1
        return result

    def read_url(self, name, minutes=SAS_MINUTES):
        """A URL that lets whoever holds it read this one blob for ``minutes`` (HTTPS only): a user
        delegation SAS (with a Microsoft Entra token; Azure checks its signer's roles when it is
        used), or with the shared-key fallback a SAS signed with the account key."""
        now = datetime.now(timezone.utc)
        start = now - timedelta(minutes=5)
        expiry = now + timedelta(minutes=minutes)
        signing = {"account_key": self._key} if self._key else {"user_delegation_key": self._user_key(expiry)}
        sas = generate_blob_sas(
            account_name=self.account_name,
            container_name=self.container_name,
            blob_name=name,
            permission=BlobSasPermissions(read=True),
            start=start,
            expiry=expiry,
            protocol="https",
            content_disposition='attachment; filename="%s"' % name.rsplit("/", 1)[-1],
            **signing,
        )
        return "%s?%s" % (self.container.get_blob_client(name).url, sas)

    def _user_key(self, until):
        """A user delegation key valid until ``until`` at least (Get User Delegation Key once per
        store, for as long as the links it signs: the key's end ends them too)."""
        key = self._delegation_key
        if key is None or key.signed_expiry < until.strftime("%Y-%m-%dT%H:%M:%SZ"):
            now = datetime.now(timezone.utc)
            with self._errors():
                key = self._delegation_key = self.deadline.call(
                    "Get User Delegation Key",
                    self.service.get_user_delegation_key,
                    now - timedelta(minutes=5),
                    max(until, now + timedelta(minutes=SAS_MINUTES)),
                    **self.deadline.options(),
                )
        return key
