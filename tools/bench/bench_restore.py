"""Restores and verifications: the product's, against the tools underneath and Odoo's own restore.

`make bench` runs it (alone: `.venv/bin/python tools/bench/bench_restore.py`).

Two scratch Odoo databases, ``oec_bench_restore_100`` / ``oec_bench_restore_400``: a
copy of the test template (the Odoo modules the addons depend on, made by
``devtool.template_db``) plus bench_backup.py's tables (prefixed ``bench_``),
about 100 MB and 400 MB of table data. They are KEPT for the next run (reused
while their recipe marker matches); drop them with ``dropdb``. A filestore of
~30 MB is written in a temporary data directory for each (the zip carries it).

The emulator (Azurite behind its TLS proxy) is started in this process, a
storage account and a container are made through ARM, and each database is
backed up once in both formats by the product's backup path
(``BlobStore.upload`` of ``write_pg_custom`` / ``write_odoo_zip``). Each variant
then runs in a FRESH Python process (its peak RSS is its own):

Restore, into a new database, for each format:

* ours: the product's restore process (``services/restore.py``, loaded by its path: no
  Odoo in the variant's process), started by ``start_restore_process`` as
  ``_start_restore_process`` starts it, with the blob's read-only URL (signed by the
  parent before the runs, as ``_do_restore`` signs it): it streams the blob into
  ``pg_restore`` / ``psql`` and the filestore, checks the SHA-256, gives the copy its
  new parameters, renames the database; waited for until it ends. pg_restore's jobs:
  the product's ``RESTORE_JOBS``, or env OEC_BENCH_RESTORE_JOBS; its log: env
  OEC_BENCH_RESTORE_LOG (a file);
* (a) the tools underneath: the SDK's ``download_blob`` into a file, CREATE
  DATABASE as Odoo makes it, then ``pg_restore --no-owner`` (custom) or the
  zip's dump.sql piped into ``psql`` and its filestore/ extracted (zip);
* (b) Odoo's own: the same download, then ``odoo.service.db.restore_db`` (copy=True)
  in the variant's process, Odoo imported before the clock starts (as in a server).

Every restored database's row counts (the bench tables and ``ir_module_module``)
are checked against the original, and for a zip the restored filestore's file
count, so a fast-but-wrong variant cannot win; the new database is dropped
after each run. Peak MB: the highest of the variant's VmHWM and of its waited-for
children's peak (the restore process, pg_restore, psql).

Verification, for each backup blob: ours (``BlobStore.download`` under a
Deadline, as ``_do_verify``) against the raw limit (the SDK's ``download_blob``
of the same blob, its chunks into ``hashlib.sha256``).

Targets: restore ours <= 1.15x (a), ours < (b), peak RSS 400 MB / 100 MB close
to 1; verification ours <= 1.10x raw. A missed target is reported, not failed;
a variant that errors makes the exit code non-zero. RUNS (env
OEC_BENCH_RESTORE_RUNS, default 2 for restores; verifications run 5 times) keep
`make bench` to a few minutes on a 2-core machine; expect some noise. While
iterating: OEC_BENCH_RESTORE_SIZES=100 (one database; no memory ratio) and
OEC_BENCH_RESTORE_ONLY=ours,a (the variants' slugs: ours, a, b, vours, vraw). Wall times
are counted from after the imports a running server already has (ours: the
addon's services; (b): odoo.service.db); CPU likewise.
"""

import ast
import hashlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import bench_backup as bb

devtool = bb.devtool
ROOT = bb.ROOT
MiB = bb.MiB

RUNS = int(os.environ.get("OEC_BENCH_RESTORE_RUNS", "2"))
VERIFY_RUNS = 5
DATABASES = tuple(
    ("oec_bench_restore_%d" % scale, scale)
    for scale in (100, 400)
    # OEC_BENCH_RESTORE_SIZES=100 while iterating (no memory ratio then)
    if str(scale) in os.environ.get("OEC_BENCH_RESTORE_SIZES", "100,400").split(",")
)
RECIPE_VERSION = "1"
FORMATS = ("custom", "zip")
TARGET_PREFIX = "oec_bench_restored_"
PREFIX = "bench_"
TABLES = tuple(PREFIX + table for table in bb.TABLES if table != "ir_module_module")
RSS_TARGET = 1.10
OURS, BASE_A, BASE_B = "ours", "(a) download+pg tool", "(b) download+restore_db"
RESTORE_VARIANTS = (OURS, BASE_A, BASE_B)
VERIFY_OURS, VERIFY_RAW = "ours verify", "raw SDK download+SHA-256"
VERIFY_VARIANTS = (VERIFY_OURS, VERIFY_RAW)
SLUGS = {OURS: "ours", BASE_A: "a", BASE_B: "b", VERIFY_OURS: "vours", VERIFY_RAW: "vraw"}
# OEC_BENCH_RESTORE_ONLY=ours,a (slugs) while iterating: the other variants are not run
ONLY = set(filter(None, os.environ.get("OEC_BENCH_RESTORE_ONLY", "").split(","))) or set(SLUGS.values())


def addon_constants(*names):
    """Module-level constants of cloud_backup_run.py, read from its source (no Odoo import)."""
    source = (ROOT / "oec_cloud_accounts" / "models" / "cloud_backup_run.py").read_text()
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in names:
                found[target.id] = ast.literal_eval(node.value)
    return found


# -- the scratch databases -----------------------------------------------------------------------------


def generate_statements():
    """bench_backup's recipe on bench_* tables (an Odoo database has res_partner & co. already)."""
    statements = []
    for statement in bb.GENERATE:
        if "ir_module_module" in statement:
            continue
        for table in bb.TABLES:
            statement = statement.replace("TABLE %s " % table, "TABLE %s%s " % (PREFIX, table))
        statements.append(statement)
    return statements


def recipe(scale, template):
    return devtool.digest(RECIPE_VERSION, scale, template, json.dumps(bb.ROWS), *generate_statements())[:16]


def ensure_database(pg_env, src, conf, db, scale):
    template = ",".join(sorted(devtool.odoo_depends(devtool.ADDONS)))
    want = recipe(scale, template)
    if current_recipe(pg_env, db) == want:
        return "reused"
    started = time.perf_counter()
    devtool.drop_db(pg_env, db)  # only ever one of our oec_bench_restore_* names
    devtool.template_db(src, conf, pg_env, devtool.ADDONS, db)
    shutil.rmtree(devtool.filestore(db), ignore_errors=True)
    params = {key: count * scale // 100 for key, count in bb.ROWS.items()}
    import random  # pylint: disable=import-outside-toplevel

    rng = random.Random(17)
    params["s"] = [
        " ".join(rng.choice(bb.WORDS) for _ in range(rng.randint(4, 24))).capitalize() + "."
        for _ in range(400)
    ]
    params["layout"] = bb.LAYOUT
    conn = bb.connect(pg_env, db)
    with conn.cursor() as cr:
        for statement in generate_statements():
            cr.execute(statement, params)
        cr.execute("ANALYZE")
        cr.execute("CREATE TABLE oec_bench_recipe AS SELECT %s::text AS recipe", (want,))
    conn.close()
    return "generated in %.0f s" % (time.perf_counter() - started)


def current_recipe(pg_env, db):
    return bb.current_recipe(pg_env, db)


def row_counts(pg_env, db):
    conn = bb.connect(pg_env, db)
    try:
        with conn.cursor() as cr:
            counts = {}
            for table in (*TABLES, "ir_module_module", "oec_bench_recipe"):
                cr.execute("SELECT count(*) FROM %s" % table)
                counts[table] = cr.fetchone()[0]
            cr.execute("SELECT pg_database_size(current_database())")
            size = cr.fetchone()[0]
        return counts, size
    finally:
        conn.close()


def table_data(pg_env, db):
    conn = bb.connect(pg_env, db)
    with conn.cursor() as cr:
        cr.execute(
            "SELECT sum(pg_table_size(('public.' || t)::regclass)) FROM unnest(%s::text[]) t", (list(TABLES),)
        )
        value = int(cr.fetchone()[0])
        cr.execute("SELECT name, latest_version FROM ir_module_module WHERE state = 'installed'")
        modules = dict(cr.fetchall())
        version = conn.server_version
    conn.close()
    return value, modules, version


def count_files(path):
    return sum(len(files) for _dirpath, _dirs, files in os.walk(path))


# -- one variant, in its own process ------------------------------------------------------------------------


def _deadline_store(spec):
    blob = bb._blob_module()  # pylint: disable=protected-access
    store = blob.BlobStore(
        spec["endpoint"],
        bb._Credential(spec["token"]),  # pylint: disable=protected-access
        bb.CONTAINER,
        ca_bundle=spec["ca"],
        account_name=bb.STORAGE_ACCOUNT,
    )
    # the product always works to a deadline (the scheduled action's share of Odoo's limits)
    store.deadline = blob.Deadline(time.time() + 3600)
    return store


def _sdk_download(spec, path):
    with open(path, "wb") as out:
        bb.container_client(spec).get_blob_client(spec["blob"]).download_blob().readinto(out)


def _odoo_args(spec):
    args = ["--addons-path", spec["addons_path"], "--data-dir", spec["data_dir"]]
    for option, variable in (("--db_host", "PGHOST"), ("--db_port", "PGPORT"), ("--db_user", "PGUSER")):
        if os.environ.get(variable):
            args += [option, os.environ[variable]]
    return args


def _restore_module():
    """services/restore.py, loaded by its path: no Odoo in this process (its peak RSS is measured)."""
    loader = importlib.util.spec_from_file_location(
        "oec_restore", ROOT / "oec_cloud_accounts" / "services" / "restore.py"
    )
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def run_ours(spec):
    restore = _restore_module()
    constants = addon_constants("LOCK_RESTORE", "RESTORE_JOBS")
    jobs = int(os.environ.get("OEC_BENCH_RESTORE_JOBS") or constants["RESTORE_JOBS"])
    before = bb._status("VmRSS")  # pylint: disable=protected-access
    started = time.perf_counter()
    # _do_restore: a working folder, then the restore process (download, SHA-256, restore, copy)
    workdir = tempfile.mkdtemp(prefix=restore.TEMP_PREFIX)
    try:
        temp = os.path.basename(workdir)
        filestores = os.path.join(spec["data_dir"], "filestore")
        params = {
            "url": spec["url"],
            "ca_bundle": spec["ca"],
            "backoff": 1.0,
            "sha256": spec["sha256"],
            "format": "zip" if spec["format"] == "zip" else "dump",
            "jobs": jobs,
            "db": spec["target"],
            "temp_db": temp,
            "filestore": os.path.join(filestores, spec["target"]),
            "temp_filestore": os.path.join(filestores, temp),
            "db_template": "template0",
            "unaccent": False,
            "http_port": 8069,
            "connect": {},  # libpq reads PGHOST & co. from the environment
            "pg_env": {},
            "pg_restore": spec["pg_restore"],
            "psql": spec["psql"],
            "neutralize": None,
            "lock": {"db": "postgres", "classid": constants["LOCK_RESTORE"], "objid": os.getpid()},
            "cron_id": 0,  # no scheduled action to wake up
            # OEC_BENCH_RESTORE_LOG=path: the restore process's log (where its time goes)
            "logfile": os.environ.get("OEC_BENCH_RESTORE_LOG") or None,
        }
        proc = restore.start_restore_process(params, workdir)  # as _start_restore_process
        try:
            proc.wait(900)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        with open(os.path.join(workdir, "result.json")) as handle:
            outcome = json.load(handle)
        if not outcome.get("ok"):
            raise RuntimeError("restore process: %s" % outcome)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return time.perf_counter() - started, before


def _create_database(spec):
    """CREATE DATABASE as Odoo's _create_empty_database makes it (template0, C collation, pg_trgm)."""
    import psycopg2  # pylint: disable=import-outside-toplevel

    admin = bb.connect(os.environ, "postgres")
    with admin.cursor() as cr:
        cr.execute(
            "CREATE DATABASE \"%s\" ENCODING 'unicode' LC_COLLATE 'C' TEMPLATE template0" % spec["target"]
        )
    admin.close()
    conn = psycopg2.connect(dbname=spec["target"])
    conn.autocommit = True
    conn.cursor().execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    conn.close()


def run_base_a(spec):
    before = bb._status("VmRSS")  # pylint: disable=protected-access
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="oec-bench-a-") as workdir:
        dump = os.path.join(workdir, "backup." + spec["format"])
        _sdk_download(spec, dump)
        _create_database(spec)
        if spec["format"] == "custom":
            subprocess.run(
                [spec["pg_restore"], "--no-owner", "--dbname=" + spec["target"], dump],
                stdout=subprocess.DEVNULL,
                check=True,
            )
        else:
            with zipfile.ZipFile(dump) as archive:
                with subprocess.Popen(
                    [spec["psql"], "-q", "--dbname=" + spec["target"], "-f", "-"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                ) as proc:
                    with archive.open("dump.sql") as sql:
                        shutil.copyfileobj(sql, proc.stdin, 1 * MiB)
                    proc.stdin.close()
                if proc.returncode:
                    raise RuntimeError("psql exit code %s" % proc.returncode)
                destination = os.path.join(spec["data_dir"], "filestore", spec["target"])
                for member in archive.infolist():
                    if member.filename.startswith("filestore/") and not member.is_dir():
                        path = os.path.join(destination, member.filename[len("filestore/") :])
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                        with archive.open(member) as source, open(path, "wb") as target:
                            shutil.copyfileobj(source, target, 1 * MiB)
    return time.perf_counter() - started, before


def run_base_b(spec):
    # pylint: disable=import-outside-toplevel
    from odoo.service import db as odoo_db
    from odoo.tools import config

    config.parse_config(_odoo_args(spec) + ["--log-level=warn"])
    config["list_db"] = True
    before = bb._status("VmRSS")  # pylint: disable=protected-access
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="oec-bench-b-") as workdir:
        dump = os.path.join(workdir, "backup." + spec["format"])
        _sdk_download(spec, dump)
        odoo_db.restore_db(spec["target"], dump, copy=True, neutralize_database=False)
    return time.perf_counter() - started, before


def run_verify_ours(spec):
    store = _deadline_store(spec)
    before = bb._status("VmRSS")  # pylint: disable=protected-access
    started = time.perf_counter()
    result = store.download(spec["blob"])  # as _do_verify
    stored = {k.lower(): v for k, v in result["metadata"].items()}.get("oec_sha256")
    if result["sha256"] != spec["sha256"] or stored != spec["sha256"]:
        raise RuntimeError(
            "SHA-256 %s (metadata %s), %s written" % (result["sha256"], stored, spec["sha256"])
        )
    return time.perf_counter() - started, before


def run_verify_raw(spec):
    blob = bb.container_client(spec).get_blob_client(spec["blob"])
    before = bb._status("VmRSS")  # pylint: disable=protected-access
    started = time.perf_counter()
    sha256 = hashlib.sha256()
    for chunk in blob.download_blob().chunks():
        sha256.update(chunk)
    if sha256.hexdigest() != spec["sha256"]:
        raise RuntimeError("SHA-256 %s, %s written" % (sha256.hexdigest(), spec["sha256"]))
    return time.perf_counter() - started, before


RUNNERS = {
    OURS: run_ours,
    BASE_A: run_base_a,
    BASE_B: run_base_b,
    VERIFY_OURS: run_verify_ours,
    VERIFY_RAW: run_verify_raw,
}


def child():
    import resource  # pylint: disable=import-outside-toplevel

    spec = json.loads(sys.stdin.read())
    # what a server has loaded already is imported before the clocks start
    if spec["variant"] == OURS:
        _restore_module()
    elif spec["variant"] == VERIFY_OURS:
        bb._blob_module()  # pylint: disable=protected-access
    elif spec["variant"] == BASE_B:
        import odoo.service.db  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import
    cpu = bb._cpu()  # pylint: disable=protected-access
    wall, before = RUNNERS[spec["variant"]](spec)
    cpu = bb._cpu() - cpu  # pylint: disable=protected-access
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    peak = max(bb._status("VmHWM"), children)  # pylint: disable=protected-access
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_before": before, "peak": peak}))


# -- the parent ---------------------------------------------------------------------------------------------


def run_variant(spec, pg_env):
    proc = subprocess.run(
        [sys.executable, __file__, "--child"],
        input=json.dumps(spec),
        env=pg_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        return None, "exit code %s: %s" % (proc.returncode, proc.stderr.strip()[-1500:])
    return json.loads(proc.stdout.strip().splitlines()[-1]), None


def drop_target(pg_env, data_dir, target):
    devtool.drop_db(pg_env, target)
    shutil.rmtree(os.path.join(data_dir, "filestore", target), ignore_errors=True)


def check_restore(pg_env, spec, expected):
    counts, _size = row_counts(pg_env, spec["target"])
    if counts != expected["counts"]:
        return "row counts %s, the original has %s" % (counts, expected["counts"])
    if spec["format"] == "zip":
        files = count_files(os.path.join(spec["data_dir"], "filestore", spec["target"]))
        if files != expected["files"]:
            return "%d files in the restored filestore, the backup has %d" % (files, expected["files"])
    return None


def measure(pg_env, base_spec, backups):
    """{(variant, format, scale): [result, ...]}, {(variant, scale): [...]} verify, errors."""
    restores, verifies, errors, failed = {}, {}, [], set()
    for (scale, fmt), backup in backups.items():
        for run in range(RUNS):
            order = RESTORE_VARIANTS[run % 3 :] + RESTORE_VARIANTS[: run % 3]
            for variant in order:
                if (variant, fmt) in failed or SLUGS[variant] not in ONLY:
                    continue
                target = "%s%s_%s_%d" % (TARGET_PREFIX, SLUGS[variant], fmt, scale)
                drop_target(pg_env, base_spec["data_dir"], target)
                spec = dict(base_spec, variant=variant, format=fmt, target=target, **backup["spec"])
                result, error = run_variant(spec, pg_env)
                if result:
                    error = check_restore(pg_env, spec, backup)
                drop_target(pg_env, base_spec["data_dir"], target)
                if error:
                    errors.append(("restore " + variant, "%s %d MB" % (fmt, scale), error))
                    failed.add((variant, fmt))
                    continue
                restores.setdefault((variant, fmt, scale), []).append(result)
        for run in range(VERIFY_RUNS):
            order = VERIFY_VARIANTS[run % 2 :] + VERIFY_VARIANTS[: run % 2]
            for variant in order:
                if variant in failed or SLUGS[variant] not in ONLY:
                    continue
                spec = dict(base_spec, variant=variant, **backup["spec"])
                result, error = run_variant(spec, pg_env)
                if error:
                    errors.append((variant, "%s %d MB" % (fmt, scale), error))
                    failed.add(variant)
                    continue
                verifies.setdefault((variant, fmt, scale), []).append(result)
    return restores, verifies, errors


def _mb(value):
    return value / 1e6


def _line(label, value, target, ok):
    print("  %-58s %5.2f  (target %s)  %s" % (label, value, target, "OK" if ok else "MISSED"))


def _med(results, key, field):
    return statistics.median(r[field] for r in results[key])


def _peak(results, key):
    return max(r["peak"] for r in results[key])


def report_restores(restores, backups, scales):
    print("\nRestore from Blob Storage (emulator) into a new database, median of %d run(s)" % RUNS)
    header = "%-26s %-6s" % ("variant", "format") + "".join(
        " | %3d MB: wall s  CPU s  peak MB" % scale for scale in scales
    )
    print(header)
    print("-" * len(header))
    for fmt in FORMATS:
        for variant in RESTORE_VARIANTS:
            cells = ""
            for scale in scales:
                key = (variant, fmt, scale)
                if key in restores:
                    cells += "        %7.2f  %5.1f  %7.0f" % (
                        _med(restores, key, "wall"),
                        _med(restores, key, "cpu"),
                        _mb(_peak(restores, key)),
                    )
                else:
                    cells += "        %22s" % ("(not run)" if SLUGS[variant] not in ONLY else "(failed)")
            print("%-26s %-6s%s" % (variant, fmt, cells))
    print(
        "(CPU s: the variant's process and its waited-for children (the restore process,\n"
        " pg_restore/psql), not PostgreSQL's server nor the emulator; peak MB: the highest of the\n"
        " variant's VmHWM and its children's peak)\nBlobs: %s"
        % ", ".join(
            "%s %d MB %.1f MB" % (fmt, scale, _mb(backup["size"])) for (scale, fmt), backup in backups.items()
        )
    )


def report_verifies(verifies):
    print("\nVerification (download + SHA-256), median of %d runs" % VERIFY_RUNS)
    for key in sorted(verifies):
        print(
            "  %-26s %-6s %3d MB database: %6.2f s  CPU %5.1f s  peak %4.0f MB"
            % (*key, _med(verifies, key, "wall"), _med(verifies, key, "cpu"), _mb(_peak(verifies, key)))
        )


def report_ratios(restores, verifies, scales):
    print("\nRatios:")
    for fmt in FORMATS:
        for scale in scales:
            ours = (OURS, fmt, scale)
            for base, target, limit in ((BASE_A, "<= 1.15", 1.15), (BASE_B, "< 1", None)):
                if ours in restores and (base, fmt, scale) in restores:
                    value = _med(restores, ours, "wall") / _med(restores, (base, fmt, scale), "wall")
                    ok = value <= limit if limit else value < 1
                    _line("restore wall ours / %s, %s, %d MB" % (base[:3], fmt, scale), value, target, ok)
    small, large = scales[0], scales[-1]
    for fmt in FORMATS if small != large else ():
        for variant in RESTORE_VARIANTS:
            if (variant, fmt, small) in restores and (variant, fmt, large) in restores:
                value = _peak(restores, (variant, fmt, large)) / _peak(restores, (variant, fmt, small))
                label = "restore peak RSS %d / %d MB, %s %s" % (large, small, variant[:3], fmt)
                if variant == OURS:
                    _line(label, value, "~1, <= %.2f" % RSS_TARGET, value <= RSS_TARGET)
                else:
                    print("  %-58s %5.2f  (for contrast)" % (label, value))
    for fmt in FORMATS:
        for scale in scales:
            ours, raw = (VERIFY_OURS, fmt, scale), (VERIFY_RAW, fmt, scale)
            if ours in verifies and raw in verifies:
                value = _med(verifies, ours, "wall") / _med(verifies, raw, "wall")
                label = "verify wall ours / raw, %s blob, %d MB" % (fmt, scale)
                _line(label, value, "<= 1.10", value <= 1.10)


def make_backups(pg_env, base_spec, databases):
    """Each database backed up in both formats by the product's backup path: {(scale, format): facts}."""
    blob = bb._blob_module()  # pylint: disable=protected-access
    store = blob.BlobStore(
        base_spec["endpoint"],
        bb._Credential(base_spec["token"]),  # pylint: disable=protected-access
        bb.CONTAINER,
        ca_bundle=base_spec["ca"],
        account_name=bb.STORAGE_ACCOUNT,
    )
    backups = {}
    for db, scale, manifest, counts, files in databases:
        filestore = os.path.join(base_spec["data_dir"], "filestore", db)
        for fmt in FORMATS:
            name = "bench/%s.%s" % (db, "zip" if fmt == "zip" else "dump")
            if fmt == "zip":
                cmd = [base_spec["pg_dump"], "--no-owner", db]

                def produce(out, cmd=cmd, filestore=filestore, manifest=manifest):
                    blob.write_odoo_zip(out, cmd, dict(pg_env), filestore, manifest)

            else:
                cmd = [base_spec["pg_dump"], "--no-owner", "--format=c", db]

                def produce(out, cmd=cmd):
                    blob.write_pg_custom(out, cmd, dict(pg_env))

            result = store.upload(name, produce)
            backups[(scale, fmt)] = {
                # the URL the product hands its restore process (read-only, this blob only)
                "spec": {"blob": name, "sha256": result["sha256"], "url": store.read_url(name, minutes=240)},
                "size": result["size"],
                "counts": counts,
                "files": files,
            }
    return backups


def main():
    if sys.argv[1:] == ["--child"]:
        child()
        return 0
    began = time.perf_counter()
    pg_env = devtool.ensure_postgres()
    tools = {name: devtool._pg_bin(name) for name in ("pg_dump", "pg_restore", "psql")}  # pylint: disable=protected-access
    if not all(tools.values()):
        devtool.die("pg_dump, pg_restore and psql are needed (apt-get install postgresql-client)")
    src = devtool.find_odoo_src()
    conf = devtool.odoo_config(src, devtool.CACHE / "odoo-bench-restore.conf")
    addons_path = "%s,%s" % (src / "odoo" / "addons", ROOT)
    data_dir = Path(tempfile.mkdtemp(prefix="oec-bench-restore-"))
    emu = None
    errors = []
    try:
        databases = []
        for db, scale in DATABASES:
            how = ensure_database(pg_env, src, conf, db, scale)
            counts, size = row_counts(pg_env, db)
            tables, modules, version = table_data(pg_env, db)
            files_size, files = bb.make_filestore(data_dir / "filestore" / db)
            print(
                "%s: pg_database_size %.0f MB, bench table data %.0f MB, %d modules (%s); "
                "filestore %.1f MB in %d files"
                % (db, _mb(size), _mb(tables), len(modules), how, _mb(files_size), files)
            )
            databases.append((db, scale, bb.odoo_manifest(db, modules, version), counts, files))

        from azure_emulator.testing import start_emulator  # pylint: disable=import-outside-toplevel

        emu = start_emulator(azurite=True)
        endpoint, token = bb.seed_storage(emu)
        base_spec = {"endpoint": endpoint, "token": token, "ca": emu.ca_path, "data_dir": str(data_dir)}
        base_spec.update(tools, addons_path=addons_path)
        backups = make_backups(pg_env, base_spec, databases)
        restores, verifies, errors = measure(pg_env, base_spec, backups)
    finally:
        if emu:
            emu.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    scales = [scale for _db, scale in DATABASES]
    report_restores(restores, backups, scales)
    report_verifies(verifies)
    report_ratios(restores, verifies, scales)
    for variant, where, error in errors:
        print("ERROR %s, %s: %s" % (variant, where, error))
    print(
        "\nThe databases %s are kept for the next run; drop them with: dropdb %s"
        % (", ".join(db for db, _ in DATABASES), "; dropdb ".join(db for db, _ in DATABASES))
    )
    print("bench_restore took %.0f s" % (time.perf_counter() - began))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
