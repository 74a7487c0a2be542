"""The restore process: a backup blob restored into a new database, in a process of its own.

``start_restore_process(params, workdir)`` starts it (the scheduled action's restore step,
and tools/bench/bench_restore.py) as ``python restore.py`` in a session of its own, so
that a killed cron worker or a server reload leaves it alone. Its parameters come on
its stdin, one JSON line (the blob's read-only URL, the database settings: never on a
command line or in a log). It imports no Odoo (about 0.7 s and 90 MB saved), only
psycopg2 and azure-storage-blob, and does what Odoo's ``restore_db(copy=True)`` does,
without loading the new database's registry:

1. it waits for the restore's advisory lock (``params["lock"]``), which the step that
   started it frees when it commits: from then on the lock says the restore lives;
2. it creates a temporary database (``temp_db``, named after its working folder) as
   Odoo's ``_create_empty_database`` does;
3. it streams the blob with the SDK (timeouts and bounded retries on every request,
   SHA-256 computed as bytes arrive, a few chunks read ahead): a custom dump straight
   into ``pg_restore``'s stdin (or, with ``jobs`` > 1, into a staged file for
   ``pg_restore -j``); a zip's ``dump.sql`` straight into ``psql`` and its ``filestore/``
   straight into the temporary database's filestore, the zip's central directory read
   first with ranged requests;
4. the SHA-256 must be the backup's; then, in one transaction, what
   ``ir.config_parameter.init(force=True)`` gives a copy (``COPY_PARAMETERS``: a new
   database.uuid, database.secret, database.create_date...) and, when asked, each
   installed module's ``data/neutralize.sql`` (as ``odoo.modules.neutralize``; the
   queries are read by the Odoo server that starts it);
5. the filestore and the database are renamed to the requested name (ALTER DATABASE
   ... RENAME): nobody sees the requested name half-made;
6. it writes ``result.json`` in its working folder and wakes the scheduled action up.

On any failure, a wrong SHA-256 included, the temporary database and filestore are
dropped: no half-restored database is left. A process that died leaves them under
``temp_db``, which ``drop_leftovers()`` removes (the scheduled action's next pass).

A restore test (``params["test"]``, ``RestoreTest`` at the end of this file) is a restore
under a throwaway name, checked against the manifest recorded at backup time, loaded by
Odoo, and always dropped (``drop_test_leftovers()``).
"""

import functools
import hashlib
import json
import logging
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from datetime import datetime, timezone

import psycopg2
from psycopg2 import sql

_logger = logging.getLogger("odoo.addons.oec_cloud_accounts.restore")

MiB = 1024 * 1024
CHUNK = 4 * MiB  # each ranged read of the blob
READ_AHEAD = 2  # chunks downloaded ahead of what pg_restore / psql has taken: memory stays bounded
TAIL = 256 * 1024  # a zip's end read first (its central directory), more when it is larger
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
RETRIES = 2
# the working folder's prefix; the temporary database is named after the folder
TEMP_PREFIX = "oec-restore-"
TEMP_RE = re.compile(r"oec-restore-[a-z0-9_]{4,32}")
SIGNATURE_RE = re.compile(r"(sig(?:=|%3D))[^&\s'\"]+", re.IGNORECASE)
# what ir.config_parameter.init(force=True) writes in a copy (odoo/addons/base/models/
# ir_config_parameter.py, _default_parameters: Odoo's restore_db(copy=True) calls it); a test
# checks these keys are Odoo's
COPY_PARAMETERS = (
    "database.secret",
    "database.uuid",
    "database.create_date",
    "web.base.url",
    "base.login_cooldown_after",
    "base.login_cooldown_duration",
)


def start_restore_process(params, workdir):
    """Start the restore process in ``workdir`` (its folder: result.json, staged files) with
    ``params`` on its stdin; returns the Popen. Its stdout is dropped; its log goes to
    ``params["logfile"]``, or to this process's stderr."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    proc = subprocess.Popen(  # our own interpreter and script
        [sys.executable, os.path.abspath(__file__)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        cwd=workdir,
        start_new_session=True,
    )
    proc.stdin.write(json.dumps(params).encode() + b"\n")
    proc.stdin.close()
    return proc


def drop_leftovers(connect, temp_db, temp_filestore):
    """Drop what a restore process that died left: its temporary database and filestore.
    ``temp_db`` must be one of ours (TEMP_RE): nothing else is ever dropped here."""
    if not TEMP_RE.fullmatch(temp_db or ""):
        raise ValueError("not a temporary restore database: %r" % temp_db)
    _drop_database(connect, temp_db)
    shutil.rmtree(temp_filestore, ignore_errors=True)


def _connect(connect, dbname):
    return psycopg2.connect(**dict(connect, database=dbname))


def _drop_database(connect, name):
    conn = _connect(connect, "postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cr:
            # WITH (FORCE) (PostgreSQL 13+) ends the sessions of a pg_restore left running
            if conn.server_version >= 130000:
                cr.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            else:
                cr.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    finally:
        conn.close()


class RestoreError(Exception):
    """A failure the server words for people: ``code`` and values, in result.json."""

    def __init__(self, code, **values):
        super().__init__(code)
        self.code = code
        self.values = values


# -- the blob ---------------------------------------------------------------------------------------


class BlobReader:
    """The blob read once from start to end in a thread, a few chunks ahead of its reader,
    hashing every byte in order; ``read_range()`` reads anywhere with a request of its own.

    Every request has the SDK's connection and read timeouts and at most RETRIES retries."""

    def __init__(self, params):
        # pylint: disable=import-outside-toplevel
        from azure.storage.blob import BlobClient, ExponentialRetry

        backoff = float(params.get("backoff", 1.0))
        options = {
            "connection_timeout": CONNECT_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "max_single_get_size": CHUNK,
            "max_chunk_get_size": CHUNK,
            # the waits between retries: about 1 s then 3 s (none with backoff 0, the tests')
            "retry_policy": ExponentialRetry(
                initial_backoff=backoff,
                increment_base=2 if backoff else 0,
                retry_total=RETRIES,
                random_jitter_range=backoff,
            ),
        }
        if params.get("ca_bundle"):
            options["connection_verify"] = params["ca_bundle"]
        self.client = BlobClient.from_blob_url(params["url"], **options)
        self.sha256 = hashlib.sha256()
        self.read = 0
        self.size = None
        self._queue = queue.Queue(READ_AHEAD)
        self._stop = threading.Event()
        self._sized = threading.Event()
        self._error = None
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="oec-restore-download", daemon=True)
        self._thread.start()

    def _run(self):
        try:
            downloader = self.client.download_blob(max_concurrency=1)
            self.size = downloader.size
            self._sized.set()
            for chunk in downloader.chunks():
                self.sha256.update(chunk)
                self.read += len(chunk)
                if not self._put(chunk):
                    return
            self._put(None)
        except BaseException as error:  # noqa: BLE001  # handed to the reader
            self._error = error
            self._sized.set()
            self._put(None)

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=1)
                return True
            except queue.Full:
                continue
        return False

    def wait_size(self):
        self._sized.wait()
        if self._error:
            raise self._error
        return self.size

    def chunks(self):
        """The blob's chunks in order, from where the last call stopped (the download's error
        raised when it comes)."""
        while not self._ended:
            chunk = self._queue.get()
            if chunk is None:
                self._ended = True
                break
            yield chunk
        if self._error:
            raise self._error

    def read_range(self, offset, length):
        return self.client.download_blob(offset=offset, length=length, max_concurrency=1).readall()

    def close(self):
        self._stop.set()


class ZipSource:
    """The blob as a read-only, seekable file for ``zipfile``.

    Until ``sequential()``, reads are ranged requests near the end (zipfile reads the
    central directory there). Then the members are read in their order from the one
    sequential download (a skip forward, e.g. a data descriptor, is read and hashed too),
    and ``drain()`` reads what is left, so every byte of the blob goes through the hash."""

    def __init__(self, reader):
        self.reader = reader
        self.size = reader.wait_size()
        self.pos = 0
        self._tail = b""
        self._tail_start = self.size
        self._sequential = False
        self._chunks = reader.chunks()
        self._buffer = memoryview(b"")
        self._buffer_start = 0

    # -- what zipfile uses -----------------------------------------------------------------

    def seekable(self):
        return True

    def readable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=0):
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, size=-1):  # pylint: disable=method-required-super
        left = self.size - self.pos
        size = left if size is None or size < 0 else min(size, left)
        if size <= 0:
            return b""
        data = self._read_sequential(size) if self._sequential else self._read_tail(size)
        self.pos += len(data)
        return data

    # -- how ------------------------------------------------------------------------------

    def sequential(self):
        self._sequential = True
        self._tail = b""

    def _read_tail(self, size):
        if self.pos < self._tail_start:
            start = max(0, min(self.pos, self._tail_start - TAIL))
            self._tail = self.reader.read_range(start, self._tail_start - start) + self._tail
            self._tail_start = start
        offset = self.pos - self._tail_start
        return self._tail[offset : offset + size]

    def _read_sequential(self, size):
        out = bytearray()
        while size > 0:
            if self.pos + len(out) < self._buffer_start:
                raise OSError("the zip's members are read in order: a read went back")
            offset = self.pos + len(out) - self._buffer_start
            if offset < len(self._buffer):
                piece = self._buffer[offset : offset + size]
                out += piece
                size -= len(piece)
                continue
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer_start += len(self._buffer)
            self._buffer = memoryview(chunk)
        return bytes(out)

    def drain(self):
        for _chunk in self._chunks:
            pass


# -- the restore ------------------------------------------------------------------------------------


class Restore:
    def __init__(self, params):
        self.params = params
        self.connect = params["connect"]
        self.temp = params["temp_db"]
        if not TEMP_RE.fullmatch(self.temp):
            raise ValueError("not a temporary restore database: %r" % self.temp)
        self.workdir = os.getcwd()
        self.created = False

    def pg_env(self):
        return dict(os.environ, **self.params["pg_env"])

    def run(self):
        reader = None
        started = time.monotonic()
        try:
            reader = BlobReader(self.params)
            # an encrypted backup: read through its envelope (a wrong key fails before anything is made)
            reader = _decrypting(reader, self.params)
            self.create_database()
            created = time.monotonic()
            if self.params["format"] == "zip":
                self.restore_zip(reader)
            else:
                self.restore_custom(reader)
            if reader.sha256.hexdigest() != self.params["sha256"]:
                raise RestoreError("sha256", got=reader.sha256.hexdigest(), size=reader.read)
            _check_plain(reader, self.params)
            restored = time.monotonic()
            self.check_restored()
            self.finish()
            self.rename()
            _logger.info(
                "restored %d bytes into %s in %.2f s: database created in %.2f s, blob restored in "
                "%.2f s, made a copy in %.2f s",
                reader.read,
                self.params["db"],
                time.monotonic() - started,
                created - started,
                restored - created,
                time.monotonic() - restored,
            )
        except BaseException:
            if reader:
                reader.close()
            self.clean()
            raise

    def outcome(self):
        """What result.json says of a restore that succeeded, beside ``ok``."""
        return {}

    def check_restored(self):
        """What a restore test checks of the restored database, before it is made a copy
        (RestoreTest); a restore checks nothing more."""

    def create_database(self):
        """As odoo.service.db._create_empty_database: template, C collation with template0,
        pg_trgm (and unaccent when the server uses it), the public schema open to all."""
        template = self.params.get("db_template") or "template0"
        conn = _connect(self.connect, "postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cr:
                # the C collation is only safe with template0 (Odoo's comment), and makes useful indexes
                if template == "template0":
                    query = "CREATE DATABASE {} ENCODING 'unicode' LC_COLLATE 'C' TEMPLATE {}"
                else:
                    query = "CREATE DATABASE {} ENCODING 'unicode' TEMPLATE {}"
                cr.execute(sql.SQL(query).format(sql.Identifier(self.temp), sql.Identifier(template)))
                self.created = True
        finally:
            conn.close()
        conn = _connect(self.connect, self.temp)
        try:
            conn.autocommit = True
            statements = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]
            if self.params.get("unaccent"):
                statements += [
                    "CREATE EXTENSION IF NOT EXISTS unaccent",
                    "ALTER FUNCTION unaccent(text) IMMUTABLE",
                ]
            statements.append("GRANT CREATE ON SCHEMA PUBLIC TO PUBLIC")
            for statement in statements:
                try:
                    with conn.cursor() as cr:
                        cr.execute(statement)
                except psycopg2.Error as error:
                    _logger.warning("restore into %s: %s: %s", self.params["db"], statement, error)
        finally:
            conn.close()

    def _tool(self, cmd):
        log = open(os.path.join(self.workdir, "pg.log"), "wb")  # noqa: SIM115  # closed in _wait
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log, env=self.pg_env()
        )
        proc.log = log
        return proc

    def _wait(self, proc, what):
        code = proc.wait()
        proc.log.close()
        if code:
            with open(proc.log.name, "rb") as handle:
                tail = handle.read()[-1000:].decode("utf-8", "replace").strip()
            raise RestoreError("tool", tool=what, exit=code, error=tail)

    def _feed(self, proc, chunks):
        """Copy ``chunks`` into the tool's stdin; a tool that stopped reading ends the copy
        (its exit code says why)."""
        try:
            for chunk in chunks:
                proc.stdin.write(chunk)
            proc.stdin.close()
        except BrokenPipeError:
            return

    def restore_custom(self, reader):
        cmd = [self.params["pg_restore"], "--no-owner", "--dbname=" + self.temp]
        jobs = int(self.params.get("jobs") or 1)
        if jobs > 1:
            # pg_restore -j reads a file: the blob is staged first
            path = os.path.join(self.workdir, "backup.dump")
            with open(path, "wb") as out:
                out.writelines(reader.chunks())
            proc = self._tool([*cmd, "--jobs=%d" % jobs, path])
            proc.stdin.close()
            self._wait(proc, "pg_restore")
            os.unlink(path)
            return
        proc = self._tool(cmd)
        try:
            self._feed(proc, reader.chunks())
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        self._wait(proc, "pg_restore")
        # the rest of the blob, if pg_restore did not need it, still goes through the hash
        for _chunk in reader.chunks():
            pass

    def restore_zip(self, reader):
        source = ZipSource(reader)
        with zipfile.ZipFile(source) as archive:
            source.sequential()
            members = sorted(archive.infolist(), key=lambda member: member.header_offset)
            names = [member.filename for member in members]
            if "dump.sql" not in names:
                raise RestoreError("tool", tool="zip", exit=0, error="no dump.sql in the zip")
            filestore = self.params["temp_filestore"]
            for member in members:
                if member.filename == "dump.sql":
                    proc = self._tool([self.params["psql"], "-q", "--dbname=" + self.temp, "-f", "-"])
                    try:
                        with archive.open(member) as entry:
                            self._feed(proc, iter(lambda entry=entry: entry.read(MiB), b""))
                    except BaseException:
                        proc.kill()
                        proc.wait()
                        raise
                    self._wait(proc, "psql")
                elif member.filename.startswith("filestore/") and not member.is_dir():
                    path = _member_path(filestore, member.filename[len("filestore/") :])
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with archive.open(member) as entry, open(path, "wb") as out:
                        shutil.copyfileobj(entry, out, MiB)
        source.drain()

    def finish(self):
        """What restore_db(copy=True, neutralize_database=...) does once the dump is in."""
        conn = _connect(self.connect, self.temp)
        try:
            with conn, conn.cursor() as cr:
                now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
                values = {
                    "database.secret": str(uuid.uuid4()),
                    "database.uuid": str(uuid.uuid1()),
                    "database.create_date": now,
                    "web.base.url": "http://localhost:%s" % self.params.get("http_port"),
                    "base.login_cooldown_after": "10",
                    "base.login_cooldown_duration": "60",
                }
                for key in COPY_PARAMETERS:
                    cr.execute(
                        "INSERT INTO ir_config_parameter (key, value, create_uid, create_date, write_uid, "
                        "write_date) VALUES (%s, %s, 1, now() at time zone 'UTC', 1, "
                        "now() at time zone 'UTC') ON CONFLICT (key) DO UPDATE "
                        "SET value = EXCLUDED.value, write_uid = 1, write_date = EXCLUDED.write_date",
                        (key, values[key]),
                    )
                queries = self.params.get("neutralize")
                if queries is not None:
                    cr.execute(
                        "SELECT name FROM ir_module_module "
                        "WHERE state IN ('installed', 'to upgrade', 'to remove')"
                    )
                    for (module,) in cr.fetchall():
                        if queries.get(module):
                            cr.execute(queries[module])
                    _logger.info("restore into %s: neutralized", self.params["db"])
        finally:
            conn.close()

    def rename(self):
        """The filestore, then the database, get the requested name (taken meanwhile: failed)."""
        final, temp = self.params["filestore"], self.params["temp_filestore"]
        if os.path.exists(final):
            raise RestoreError("exists")
        moved = os.path.isdir(temp)
        if moved:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.rename(temp, final)
        conn = _connect(self.connect, "postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cr:
                temp, name = self.temp, self.params["db"]
                cr.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(temp), sql.Identifier(name)
                    )
                )
        except psycopg2.Error as error:
            if moved:
                os.rename(final, temp)
            if error.pgcode == "42P04":  # duplicate_database
                raise RestoreError("exists") from error
            raise
        finally:
            conn.close()
        self.created = False

    def clean(self):
        if self.created:
            try:
                _drop_database(self.connect, self.temp)
            except psycopg2.Error:
                _logger.exception(
                    "restore into %s: the temporary database %s is left", self.params["db"], self.temp
                )
        shutil.rmtree(self.params["temp_filestore"], ignore_errors=True)


def _member_path(root, name):
    """Where a filestore member goes: inside ``root``, whatever its name says."""
    parts = name.split("/")
    if any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts):
        raise RestoreError(
            "tool", tool="zip", exit=0, error="a filestore member's name is refused: %r" % name
        )
    return os.path.join(root, *parts)


@functools.cache
def _envelope():
    """services/envelope.py: imported as a module of the package, or by its path when this file
    runs as the restore process (its folder is not an import root then, see the end)."""
    try:
        from . import envelope  # pylint: disable=import-outside-toplevel
    except ImportError:
        import importlib.util  # pylint: disable=import-outside-toplevel

        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "envelope.py")
        spec = importlib.util.spec_from_file_location("oec_envelope", path)
        envelope = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(envelope)
    return envelope


def _decrypting(reader, params):
    """``reader`` itself, or for an encrypted backup (a private key among the parameters, which
    are then rid of it) the same reader seen through the envelope."""
    pem = params.pop("private_key", None)
    if not pem:
        return reader
    envelope = _envelope()
    # a wrong or unreadable key raises EnvelopeError: main() records it as the envelope's failure
    return envelope.DecryptingBlobReader(reader, envelope.load_private_key(pem))


def _check_plain(reader, params):
    """An encrypted backup's content must hash to what was recorded (every chunk's tag was checked)."""
    want = params.get("plain_sha256")
    if want and getattr(reader, "plain_sha256", None) is not None and reader.plain_sha256.hexdigest() != want:
        raise RestoreError("plain_sha256", got=reader.plain_sha256.hexdigest())


def _log_to(logfile):
    handler = logging.FileHandler(logfile) if logfile else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)s %(levelname)s ? %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    # the SDK's request log would name the URL (its signature redacted): kept out
    logging.getLogger("azure").setLevel(logging.WARNING)


def _trigger(params):
    """The scheduled action records the result at once (as ir.cron._trigger does), else at its
    next interval: a trigger row, then the cron runners' notification."""
    lock = params["lock"]
    conn = _connect(params["connect"], lock["db"])
    try:
        with conn, conn.cursor() as cr:
            cr.execute(
                "INSERT INTO ir_cron_trigger (cron_id, call_at) VALUES (%s, now() at time zone 'UTC')",
                (params["cron_id"],),
            )
    finally:
        conn.close()
    conn = _connect(params["connect"], "postgres")
    try:
        with conn, conn.cursor() as cr:
            function = os.environ.get("ODOO_NOTIFY_FUNCTION", "pg_notify")
            cr.execute(
                sql.SQL("SELECT {}('cron_trigger', %s)").format(sql.Identifier(function)), (lock["db"],)
            )
    finally:
        conn.close()


def _take_lock(params, taken):
    """Wait for the restore's lock on a connection kept to the end of this process: the lock
    tells the scheduled action this restore lives, and goes with this process."""
    lock = params["lock"]
    holder = _connect(params["connect"], lock["db"])
    holder.autocommit = True
    holder.cursor().execute("SELECT pg_advisory_lock(%s, %s)", (lock["classid"], lock["objid"]))
    taken.append(holder)


def _azure_failure(error):
    """What of an azure-core failure the server needs to word it as its own calls' (result.json:
    ``code`` "azure", the HTTP status, Azure's error code and first line, its Retry-After; or the
    kind of network failure), else {}."""
    from azure.core.exceptions import (  # pylint: disable=import-outside-toplevel
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return {"code": "azure", "network": type(error).__name__}
    if not isinstance(error, HttpResponseError):
        return {}
    response = error.response
    code = getattr(error, "error_code", None)
    retry_after = response.headers.get("Retry-After") if response is not None else None
    return {
        "code": "azure",
        "status": error.status_code,
        "azure_code": getattr(code, "value", code),
        # storage's data plane: Azure's message is the first line (then the SDK's RequestId...)
        "detail": SIGNATURE_RE.sub(
            r"\1REDACTED", (error.message or "").splitlines()[0] if error.message else ""
        ),
        "retry_after": int(retry_after) if retry_after and retry_after.isdigit() else None,
    }


def main():
    params = json.loads(sys.stdin.readline())
    _log_to(params.get("logfile"))
    # the lock is waited for in a thread while azure-storage-blob is imported (a quarter of a
    # second) here: no two threads import at once
    taken = []
    waiter = threading.Thread(target=_take_lock, args=(params, taken), daemon=True)
    waiter.start()
    import azure.storage.blob  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import

    waiter.join()
    if not taken:
        sys.exit("the restore's lock could not be taken")
    holder = taken[0]
    try:
        restore = RestoreTest(params) if params.get("test") else Restore(params)
        restore.run()
        result = {"ok": True, **restore.outcome()}
    except RestoreError as error:
        result = {"ok": False, "code": error.code, **error.values}
        _logger.warning("restore into %s failed: %s %s", params["db"], error.code, error.values)
    except _envelope().EnvelopeError as error:
        # an encrypted blob changed or cut (a chunk's tag, its end): its words are the server's
        result = {
            "ok": False,
            "code": "envelope",
            "envelope": error.code,
            "error": str(error),
            "values": error.values,
        }
        _logger.warning("restore into %s failed: %s", params["db"], error)
    except Exception as error:  # noqa: BLE001  # pylint: disable=broad-except  # recorded in result.json
        # a connection error names the URL it failed on: its signature is kept out of the result and log
        text = SIGNATURE_RE.sub(r"\1REDACTED", str(error))[-1000:] or type(error).__name__
        result = {"ok": False, "error": text, **_azure_failure(error)}
        # recorded on the backup for the person who asked (and Azure's refusals are no defect
        # of this server): a warning, as the scheduled actions log a failed step
        _logger.warning("restore into %s failed: %s: %s", params["db"], type(error).__name__, text)
    path = os.path.join(os.getcwd(), "result.json")
    with open(path + ".tmp", "w") as out:
        json.dump(result, out)
    os.replace(path + ".tmp", path)
    # the result is written: the lock goes first, so that the pass woken next finds it free (one
    # woken while it is held would take the restore for still running, until its next interval)
    holder.close()
    if params.get("cron_id"):
        try:
            _trigger(params)
        except psycopg2.Error:
            _logger.warning("restore into %s: the scheduled action was not woken up", params["db"])


# -- restore tests ----------------------------------------------------------------------------------
#
# A restore test restores a backup as a restore does (neutralized) under a throwaway name, checks it
# and drops it, whatever happens: the proof that a backup restores, beyond a SHA-256 that matches.
# The manifest recorded at backup time (read_manifest(), in the dump's own snapshot) says what the
# restored database must hold: the same installed modules at the same versions, and the same rows
# in its main tables. Then Odoo itself loads the copy (its command line, -d <throwaway>
# --stop-after-init, in a process of its own with a time limit): a module missing from this
# server's addons path, or a registry that does not load, fails the test.

# tables counted when present, beside the largest ones (LARGEST, by PostgreSQL's estimate)
MAIN_TABLES = (
    "res_company",
    "res_partner",
    "res_users",
    "ir_attachment",
    "ir_model",
    "ir_ui_view",
    "mail_message",
    "account_move",
    "account_move_line",
    "sale_order",
    "purchase_order",
    "stock_move",
    "product_product",
    "hr_employee",
    "project_task",
)
LARGEST = 10
# the throwaway database of a restore test: the temporary one's name and this (TEMP_RE still matches)
TEST_SUFFIX = "_test"
LOAD_LOG = "odoo.log"
# log lines of the loading Odoo that fail the test (the format of odoo.netsvc's file handler)
LOG_ERROR_RE = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) ")


def read_manifest(cr, tables=None):
    """{"modules": {name: version}, "tables": {name: rows}} of the database of ``cr`` (psycopg2):
    its installed modules, and exact counts of ``tables`` (default: MAIN_TABLES present and the
    LARGEST largest). Run in the dump's snapshot at backup time, in the restored database by a test."""
    cr.execute(
        "SELECT name, latest_version FROM ir_module_module WHERE state IN ('installed', 'to upgrade') "
        "ORDER BY name"
    )
    modules = {name: version or "" for name, version in cr.fetchall()}
    if tables is None:
        cr.execute(
            "SELECT c.relname, c.relname = ANY(%s) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.reltuples DESC, c.relname",
            (list(MAIN_TABLES),),
        )
        rows = cr.fetchall()
        tables = {name for name, main in rows if main} | {name for name, _main in rows[:LARGEST]}
    counts = {}
    for table in sorted(tables):
        cr.execute("SELECT to_regclass(%s) IS NOT NULL", (sql.Identifier(table).as_string(cr),))
        if not cr.fetchone()[0]:
            counts[table] = None  # no such table
            continue
        cr.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        counts[table] = cr.fetchone()[0]
    return {"modules": modules, "tables": counts}


def manifest_metadata(manifest):
    """The manifest as two blob metadata values, so that the blob itself says what it must restore
    to (whatever becomes of the database that wrote it): ``oec_tables`` ("table:rows,..."), and
    ``oec_modules`` ("<count>:<SHA-256 of the sorted name=version lines>"). A few hundred bytes:
    Azure allows 8 KiB of metadata per blob, which a module list with versions can exceed."""
    tables = ",".join("%s:%s" % (name, rows) for name, rows in sorted(manifest["tables"].items()))
    lines = "\n".join("%s=%s" % item for item in sorted(manifest["modules"].items()))
    digest = hashlib.sha256(lines.encode()).hexdigest()
    return {
        "oec_tables": tables,
        "oec_modules": "%d:%s" % (len(manifest["modules"]), digest),
    }


def compare_manifest(want, got):
    """The differences between the manifest recorded at backup time and the restored database's:
    a list of {"kind", ...} (modules missing, added or at another version; tables whose rows differ)."""
    problems = []
    for name, version in sorted(want["modules"].items()):
        if name not in got["modules"]:
            problems.append({"kind": "module_missing", "module": name})
        elif got["modules"][name] != version:
            problems.append(
                {"kind": "module_version", "module": name, "want": version, "got": got["modules"][name]}
            )
    for name in sorted(set(got["modules"]) - set(want["modules"])):
        problems.append({"kind": "module_added", "module": name})
    for table, rows in sorted(want["tables"].items()):
        if got["tables"].get(table) != rows:
            problems.append({"kind": "rows", "table": table, "want": rows, "got": got["tables"].get(table)})
    return problems


def drop_test_leftovers(connect, temp_db, temp_filestore, test_filestore):
    """Drop what a restore test left: the temporary database, the throwaway one it became, and their
    filestores. Every restore test ends with it (passed, failed, or its process dead)."""
    drop_leftovers(connect, temp_db, temp_filestore)
    _drop_database(connect, temp_db + TEST_SUFFIX)
    shutil.rmtree(test_filestore, ignore_errors=True)


class RestoreTest(Restore):
    """A restore (neutralized, under the throwaway name temp_db + TEST_SUFFIX), checked against
    ``params["test"]["manifest"]`` and loaded by Odoo, then dropped: result.json says what was
    found (RestoreError "check" with the problems)."""

    def __init__(self, params):
        super().__init__(params)
        if params["db"] != self.temp + TEST_SUFFIX:
            raise ValueError("not a restore test's database: %r" % params["db"])
        self.test = params["test"]
        self.problems = []
        self.found = {}
        self.load_seconds = None

    def run(self):
        try:
            res = super().run()
            self.load()
        finally:
            drop_test_leftovers(
                self.connect, self.temp, self.params["temp_filestore"], self.params["filestore"]
            )
        if self.problems:
            raise RestoreError("check", problems=self.problems[:50], **self.outcome())
        return res

    def outcome(self):
        return {
            "modules": len(self.found.get("modules") or ()),
            "tables": self.found.get("tables") or {},
            "load_seconds": self.load_seconds,
            "manifest": bool(self.test.get("manifest")),
        }

    def check_restored(self):
        """The restored database against the manifest, before anything of a copy is written in it."""
        want = self.test.get("manifest")
        conn = _connect(self.connect, self.temp)
        try:
            with conn, conn.cursor() as cr:
                self.found = read_manifest(cr, tables=set(want["tables"]) if want else None)
        finally:
            conn.close()
        if want:
            self.problems += compare_manifest(want, self.found)

    def finish(self):
        """A copy, neutralized; and nobody signs in to it while it exists (a server whose dbfilter
        lets every database through serves it): every user made inactive, once compared."""
        res = super().finish()
        conn = _connect(self.connect, self.temp)
        try:
            with conn, conn.cursor() as cr:
                cr.execute("UPDATE res_users SET active = false WHERE active")
        finally:
            conn.close()
        return res

    def load(self):
        """Odoo loads the copy: its own command line on this server's addons path, in a process of
        its own, stopped at the test's time limit. A non-zero exit or an ERROR in its log fails."""
        workdir, odoo = self.workdir, self.test["odoo"]
        conf = os.path.join(workdir, "odoo.conf")
        with open(conf, "w") as out:
            out.write("[options]\n")
            for key in ("addons_path", "data_dir", "server_wide_modules"):
                if odoo.get(key):
                    out.write("%s = %s\n" % (key, odoo[key]))
            out.write("unaccent = %s\n" % bool(odoo.get("unaccent")))
        log = os.path.join(workdir, LOAD_LOG)
        cmd = [
            odoo.get("python") or sys.executable,
            "-m",
            "odoo",
            "server",
            "-c",
            conf,
            "-d",
            self.params["db"],
            "--stop-after-init",
            "--no-http",
            "--max-cron-threads=0",
            "--workers=0",
            "--log-level=warn",
            "--logfile=" + log,
        ]
        started = time.monotonic()
        # the database's settings in libpq's environment (PGPASSWORD): never on a command line
        proc = subprocess.Popen(  # our interpreter, Odoo's command line
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.pg_env(),
        )
        try:
            code = proc.wait(timeout=float(odoo.get("timeout") or 600))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            self.problems.append({"kind": "load_timeout", "seconds": odoo.get("timeout")})
            return
        self.load_seconds = round(time.monotonic() - started, 1)
        errors = []
        if os.path.exists(log):
            with open(log, encoding="utf-8", errors="replace") as handle:
                errors = [line.strip()[:500] for line in handle if LOG_ERROR_RE.match(line)]
        if code or errors:
            self.problems.append({"kind": "load", "exit": code, "errors": errors[:5]})
        _logger.info(
            "restore test of %s: Odoo loaded it in %.1f s (exit code %s)", self.temp, self.load_seconds, code
        )


if __name__ == "__main__":
    # run by path, this folder is the first import root, and its http.py would shadow the
    # standard library's (azure-core imports it): it is not one
    HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [path for path in sys.path if os.path.abspath(path or os.curdir) != HERE]
    main()
