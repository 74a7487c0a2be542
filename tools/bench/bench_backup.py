"""Backups: our streaming upload against pg_dump piped into the SDK and against Odoo's own backup.

`make bench` runs it (alone: `.venv/bin/python tools/bench/bench_backup.py`).

It makes two scratch databases with SQL (not the ORM), shaped like an Odoo
database (partners, messages with HTML bodies, journal items, attachments'
rows, ``ir_module_module``): about 100 MB and 400 MB of table data, named
``oec_bench_backup_100`` / ``oec_bench_backup_400``. They are KEPT for the next
run (reused while their recipe marker matches; regenerated otherwise); drop
them with ``dropdb oec_bench_backup_100; dropdb oec_bench_backup_400``. A
filestore of ~30 MB (random "images" and compressible text files) is written
in a temporary directory for each and removed at the end.

The local Azure emulator (Azurite behind its TLS proxy) is started in this
process; a storage account (shared-key access off, as Azure Policy asks) and a
container are created through ARM, the user is given Storage Blob Data
Contributor on the container, and every variant reaches the blobs with that
user's Microsoft Entra token for Azure Storage, as the product does. Each
variant then runs in a FRESH Python process, so its peak RSS (VmHWM) is its
own; pg_dump is a child of that process and its memory (the same for every
variant) is not counted. The variants:

* ours custom: ``BlobStore.upload`` of ``write_pg_custom`` (pg_dump --format=c),
  blocks of 8 MiB, 2 in flight, SHA-256 on the way;
* (a) ``pg_dump --format=c`` piped into azure-storage-blob's ``upload_blob``
  with the same block size and concurrency;
* ours zip: ``BlobStore.upload`` of ``write_odoo_zip`` (dump.sql, filestore/,
  manifest.json: what Odoo's database manager restores), deflated at zlib level
  1 where dump_db uses the default 6: the blob MB column shows what that costs;
* (b) Odoo's own backup: ``odoo.service.db.dump_db(db, tmpfile, "zip")`` (a
  temporary directory with the dump and a copy of the filestore, zipped into a
  temporary file), then ``upload_blob`` of that file, same block size and
  concurrency. Same database, same filestore as ours zip;
* ours custom encrypted, ours zip encrypted: ours custom and ours zip written
  through the envelope encryption (services/envelope.py: AES-256-GCM in 4 MiB
  chunks, a data key wrapped with a 3072-bit RSA public key), what a policy
  with "Encrypt Backups" does. Their blobs are decrypted back with the private
  key on the 100 MB database, and the content's SHA-256 checked.

Each variant runs 3 times per database, in a rotating order; the figures are
the median wall time and the highest peak RSS. Every blob's size is checked
against what was produced, and for ours on the 100 MB database the SHA-256 the
upload returned against the downloaded blob, so a fast-but-wrong variant cannot
win. Targets: ours custom within 1.15x of (a), ours zip faster than (b), and
peak memory that does not grow with the database (400 MB / 100 MB close to 1).
The cost of encryption is reported beside them: each encrypted variant's wall
time and CPU against its unencrypted twin measured in the same run (no target).
A missed target is reported, not failed; a variant that errors makes the exit
code non-zero. On a shared 2-core machine expect a few percent of noise.
"""

import hashlib
import importlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

# the project's own helpers: Odoo source, PostgreSQL
import devtool

MiB = 1024 * 1024
BLOCK_SIZE = 8 * MiB
CONCURRENCY = 2
RUNS = 3
DATABASES = (("oec_bench_backup_100", 100), ("oec_bench_backup_400", 400))
RECIPE_VERSION = "2"
RG = "oec-bench"
STORAGE_ACCOUNT = "oecbenchbackup"
CONTAINER = "bench-backups"
SHA_CHECK_SCALE = 100  # the SHA-256 of ours is checked against the download on this database only
RSS_TARGET = 1.10  # "close to 1": 400 MB / 100 MB peak RSS at most this

OURS_CUSTOM, BASE_A, OURS_ZIP, BASE_B, OURS_CUSTOM_ENC, OURS_ZIP_ENC = (
    "ours custom",
    "(a) pg_dump|upload_blob",
    "ours zip",
    "(b) dump_db+upload",
    "ours custom encrypted",
    "ours zip encrypted",
)
VARIANTS = (OURS_CUSTOM, BASE_A, OURS_ZIP, BASE_B, OURS_CUSTOM_ENC, OURS_ZIP_ENC)
SLUGS = {
    OURS_CUSTOM: "ours-custom",
    BASE_A: "a-pg-dump-upload-blob",
    OURS_ZIP: "ours-zip",
    BASE_B: "b-dump-db",
    OURS_CUSTOM_ENC: "ours-custom-enc",
    OURS_ZIP_ENC: "ours-zip-enc",
}
# each encrypted variant and its unencrypted twin
ENCRYPTED = {OURS_CUSTOM_ENC: OURS_CUSTOM, OURS_ZIP_ENC: OURS_ZIP}
RSA_BITS = 3072

# -- the scratch databases -----------------------------------------------------------------------------

# rows per 100 MB of table data
ROWS = {"partners": 20000, "messages": 72000, "lines": 100000, "attachments": 20000}
_WORDS = (
    "invoice partner order delivery payment journal account product quantity price customer vendor "
    "stock warehouse the of and to for with is on by please find attached thank you regards meeting "
    "project task deadline update Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod "
)
WORDS = _WORDS.split()
_MODULES = (
    "base web mail bus base_setup auth_signup auth_oauth account sale stock purchase crm project "
    "hr contacts calendar product uom analytic portal digest resource utm web_tour "
)
MODULES = _MODULES.split()
# the mail layout that most of an Odoo database's notifications repeat
LAYOUT = (
    '<div style="margin: 0px; padding: 0px; font-size: 13px;"><p style="margin: 0px; padding: 0px;">'
    "Dear customer,<br/><br/>Here is your order confirmation. Do not hesitate to contact us if you have "
    'any questions.</p></div><table border="0" cellpadding="0" cellspacing="0" style="width: 100%; '
    'background-color: white;"><tr><td style="padding: 16px;">'
)
# a random sentence of the %(s)s array (array subscripts are cheap; substr on a long UTF-8 text is not)
S = "(%(s)s::text[])[1 + floor(random() * 400)::int]"


def _sentences(count):
    return " || ' ' || ".join([S] * count)


GENERATE = [
    "SELECT setseed(0.17)",
    f"""CREATE TABLE res_partner AS
    SELECT i AS id, initcap(split_part({S}, ' ', 1)) || ' ' || initcap(split_part({S}, ' ', 2)) AS name,
      'contact' || i || '@' || substr(md5(i::text), 1, 8) || '.example.com' AS email,
      '+32 ' || (400000000 + (random() * 99999999)::int) AS phone,
      (1 + (random() * 300)::int) || ' ' || initcap(split_part({S}, ' ', 2)) || ' Street' AS street,
      initcap(split_part({S}, ' ', 3)) AS city, lpad((random() * 99999)::int::text, 5, '0') AS zip,
      CASE WHEN random() < 0.5 THEN {_sentences(2)} END AS comment,
      1 + (random() * 3)::int AS company_id, random() < 0.97 AS active,
      date_trunc('second', now() - random() * interval '2000 days') AS create_date,
      date_trunc('second', now() - random() * interval '200 days') AS write_date
    FROM generate_series(1, %(partners)s) i""",
    f"""CREATE TABLE mail_message AS
    SELECT i AS id,
      (ARRAY['sale.order', 'account.move', 'res.partner', 'project.task', 'crm.lead'])
        [1 + (random() * 4)::int] AS model,
      (random() * 100000)::int AS res_id,
      (ARRAY['comment', 'notification', 'email'])[1 + (random() * 2)::int] AS message_type,
      {S} AS subject,
      CASE WHEN random() < 0.6 THEN %(layout)s ELSE '' END || '<p>' || {_sentences(3)} || '</p><p>'
        || CASE WHEN random() < 0.5 THEN {_sentences(4)} ELSE '' END
        || '</p><p>Ref ' || md5(i::text) || '</p>' AS body,
      (random() * 20000)::int AS author_id,
      '<' || md5(random()::text) || '@odoo.example.com>' AS message_id,
      date_trunc('second', now() - random() * interval '2000 days') AS date
    FROM generate_series(1, %(messages)s) i""",
    f"""CREATE TABLE account_move_line AS
    SELECT i AS id, i / 4 + 1 AS move_id, 100 + (random() * 400)::int AS account_id,
      (random() * 20000)::int AS partner_id, {S} AS name,
      round((random() * 10000)::numeric, 2) AS debit, round((random() * 10000)::numeric, 2) AS credit,
      round((random() * 20000 - 10000)::numeric, 2) AS balance,
      (date '2019-01-01' + (random() * 2000)::int) AS date,
      'INV/' || (2019 + (random() * 5)::int) || '/' || lpad((i / 4)::text, 6, '0') AS ref
    FROM generate_series(1, %(lines)s) i""",
    """CREATE TABLE ir_attachment AS
    SELECT i AS id, 'document_' || i || '.pdf' AS name, 'account.move' AS res_model,
      (random() * 100000)::int AS res_id,
      substr(md5(i::text), 1, 2) || '/' || md5(i::text) || substr(md5(i::text || 'x'), 1, 8) AS store_fname,
      md5(i::text) || substr(md5(i::text || 'x'), 1, 8) AS checksum, (random() * 900000)::int AS file_size,
      'application/pdf' AS mimetype,
      decode(md5(i::text || 'a') || md5(i::text || 'b') || md5(i::text || 'c') || md5(i::text || 'd'), 'hex')
        AS db_datas
    FROM generate_series(1, %(attachments)s) i""",
    "ALTER TABLE res_partner ADD PRIMARY KEY (id)",
    "ALTER TABLE mail_message ADD PRIMARY KEY (id)",
    "ALTER TABLE account_move_line ADD PRIMARY KEY (id)",
    "ALTER TABLE ir_attachment ADD PRIMARY KEY (id)",
    """CREATE TABLE ir_module_module AS
    SELECT row_number() OVER () AS id, name, '17.0.1.0' AS latest_version, 'installed' AS state
    FROM unnest(%(modules)s::text[]) AS name""",
]
TABLES = ("res_partner", "mail_message", "account_move_line", "ir_attachment", "ir_module_module")


def recipe(scale):
    return devtool.digest(RECIPE_VERSION, scale, json.dumps(ROWS), *GENERATE)[:16]


def connect(pg_env, dbname):
    import psycopg2  # pylint: disable=import-outside-toplevel

    conn = psycopg2.connect(
        dbname=dbname, host=pg_env.get("PGHOST"), port=pg_env.get("PGPORT"), user=pg_env.get("PGUSER")
    )
    conn.autocommit = True
    return conn


def current_recipe(pg_env, db):
    if not devtool.db_exists(pg_env, db):
        return None
    conn = connect(pg_env, db)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT to_regclass('oec_bench_recipe') IS NOT NULL")
            if not cr.fetchone()[0]:
                return None
            cr.execute("SELECT recipe FROM oec_bench_recipe")
            row = cr.fetchone()
            return row and row[0]
    finally:
        conn.close()


def ensure_database(pg_env, db, scale):
    """The scratch database ``db`` with ``scale`` MB of table data: reused when its marker matches."""
    want = recipe(scale)
    if current_recipe(pg_env, db) == want:
        return "reused"
    started = time.perf_counter()
    devtool.drop_db(pg_env, db)  # only ever one of our oec_bench_backup_* names
    admin = connect(pg_env, "postgres")
    with admin.cursor() as cr:
        cr.execute('CREATE DATABASE "%s"' % db)
    admin.close()
    rng = random.Random(17)
    sentences = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 24))).capitalize() + "." for _ in range(400)
    ]
    params = {key: count * scale // 100 for key, count in ROWS.items()}
    params.update(s=sentences, modules=list(MODULES), layout=LAYOUT)
    conn = connect(pg_env, db)
    with conn.cursor() as cr:
        for statement in GENERATE:
            cr.execute(statement, params)
        cr.execute("ANALYZE")
        # last: a database interrupted while generated has no marker and is made again
        cr.execute("CREATE TABLE oec_bench_recipe AS SELECT %s::text AS recipe", (want,))
    conn.close()
    return "generated in %.0f s" % (time.perf_counter() - started)


def database_facts(pg_env, db):
    conn = connect(pg_env, db)
    with conn.cursor() as cr:
        cr.execute("SELECT pg_database_size(current_database())")
        size = cr.fetchone()[0]
        cr.execute(
            "SELECT sum(pg_table_size(oid)) FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
        )
        tables = int(cr.fetchone()[0])
        # warm the OS cache so that no variant pays for the first read of the tables
        for table in TABLES:
            cr.execute("SELECT count(*) FROM %s" % table)
        cr.execute("SELECT name, latest_version FROM ir_module_module WHERE state = 'installed'")
        modules = dict(cr.fetchall())
        version = conn.server_version
    conn.close()
    return size, tables, modules, version


def make_filestore(path):
    """~30 MB like an Odoo filestore (<2 hex>/<sha1> names): random "images", compressible text files."""
    rng = random.Random(42)
    total = count = 0
    for index in range(160):
        if index % 4 == 0:
            data = rng.randbytes(rng.randint(200_000, 1_100_000))
        else:
            words = [rng.choice(WORDS) for _ in range(rng.randint(2_000, 10_000))]
            data = " ".join(words).encode()
        name = hashlib.sha1(data).hexdigest()
        folder = path / name[:2]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        total += len(data)
        count += 1
    return total, count


def odoo_manifest(db, modules, server_version):
    """manifest.json as db.dump_db_manifest makes it (and as the addon's _manifest does)."""
    import odoo.release  # pylint: disable=import-outside-toplevel

    return {
        "odoo_dump": "1",
        "db_name": db,
        "version": odoo.release.version,
        "version_info": odoo.release.version_info,
        "major_version": odoo.release.major_version,
        "pg_version": "%d.%d" % divmod(server_version / 100, 100),
        "modules": modules,
    }


# -- the emulator's storage account ----------------------------------------------------------------------


class _Credential:
    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):  # pylint: disable=unused-argument
        from azure.core.credentials import AccessToken  # pylint: disable=import-outside-toplevel

        return AccessToken(self.token, 4102444800)


def seed_storage(emu):
    """A storage account that refuses shared keys and a container, made through ARM (as the portal
    would), the user's data roles (on the container, and Delegator on the account); (blob endpoint,
    Entra token for Azure Storage)."""
    # pylint: disable=import-outside-toplevel
    from azure.mgmt.resource.resources import ResourceManagementClient
    from azure.mgmt.storage import StorageManagementClient
    from azure_emulator import defaults

    credential = _Credential(emu.control.issue_token()["access_token"])
    options = {
        "base_url": emu.endpoints["arm"],
        "connection_verify": emu.ca_path,
        "credential_scopes": [emu.endpoints["arm_scope"]],
    }
    # the emulator answers the product's API versions only
    versions = _services_module("api_versions").API_VERSIONS
    storage = StorageManagementClient(
        credential, defaults.SUBSCRIPTION_ID, api_version=versions["storage.storage_accounts"], **options
    )
    resources = ResourceManagementClient(
        credential, defaults.SUBSCRIPTION_ID, api_version=versions["resources.resource_groups"], **options
    )
    resources.resource_groups.create_or_update(RG, {"location": "westeurope"})
    account = storage.storage_accounts.begin_create(
        RG,
        STORAGE_ACCOUNT,
        {
            "location": "westeurope",
            "kind": "StorageV2",
            "sku": {"name": "Standard_LRS"},
            "properties": {"allowSharedKeyAccess": False},
        },
        polling_interval=0,
    ).result()
    storage.blob_containers.create(RG, STORAGE_ACCOUNT, CONTAINER, {})
    container_id = "%s/blobServices/default/containers/%s" % (account.id, CONTAINER)
    emu.control.assign_role(defaults.USER_OID, defaults.ROLE_BLOB_DATA_CONTRIBUTOR, container_id)
    # read-only links (user delegation SAS), as the restore bench's downloads use
    emu.control.assign_role(defaults.USER_OID, defaults.ROLE_BLOB_DELEGATOR, account.id)
    token = emu.control.issue_token(user=defaults.USER_EMAIL, scope=defaults.STORAGE_SCOPE)["access_token"]
    return account.primary_endpoints.blob, token


def container_client(spec):
    from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel

    service = BlobServiceClient(
        spec["endpoint"],
        credential=_Credential(spec["token"]),
        connection_verify=spec["ca"],
        max_block_size=BLOCK_SIZE,
        max_single_put_size=BLOCK_SIZE,
    )
    return service.get_container_client(CONTAINER)


# -- one variant, in its own process ------------------------------------------------------------------------


def _status(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    import resource  # pylint: disable=import-outside-toplevel

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _Counting:
    """pg_dump's stdout for upload_blob, counting what it reads (no hashing: (a) does not hash)."""

    def __init__(self, raw):
        self.raw = raw
        self.size = 0

    def read(self, size=-1):
        data = self.raw.read(size)
        self.size += len(data)
        return data


def _services_module(name):
    """A module of the addon's services/, imported without Odoo (services/ has no odoo import)."""
    if str(ROOT / "oec_cloud_accounts") not in sys.path:
        sys.path.insert(0, str(ROOT / "oec_cloud_accounts"))
        # services/identity.py reads oec_auth_azure's services (odoo.addons.oec_auth_azure)
        import odoo.addons  # pylint: disable=import-outside-toplevel

        if str(ROOT) not in odoo.addons.__path__:
            odoo.addons.__path__.append(str(ROOT))
    return importlib.import_module("services." + name)


def _blob_module():
    return _services_module("blob")


def _ours(spec, produce):
    store = _blob_module().BlobStore(
        spec["endpoint"],
        _Credential(spec["token"]),
        CONTAINER,
        ca_bundle=spec["ca"],
        account_name=STORAGE_ACCOUNT,
    )
    sealed = {}
    if spec.get("public_key"):
        # as cloud_backup_encryption.py does: the producer writes through the encryptor
        envelope = _services_module("envelope")
        public_key = envelope.load_public_key(spec["public_key"])
        plain = produce

        def produce(out):
            writer = envelope.EncryptingWriter(out, public_key)
            plain(writer)
            writer.close()
            sealed["plain_sha256"] = writer.sha256.hexdigest()

    before = _status("VmRSS")
    started = time.perf_counter()
    result = store.upload(spec["blob"], produce, block_size=BLOCK_SIZE, concurrency=CONCURRENCY)
    wall = time.perf_counter() - started
    return wall, before, result["size"], result["sha256"], sealed.get("plain_sha256")


def run_ours_custom(spec):
    write_pg_custom = _blob_module().write_pg_custom
    cmd = [spec["pg_dump"], "--no-owner", "--format=c", spec["db"]]
    return _ours(spec, lambda out: write_pg_custom(out, cmd, dict(os.environ)))


def run_ours_zip(spec):
    write_odoo_zip = _blob_module().write_odoo_zip
    cmd = [spec["pg_dump"], "--no-owner", spec["db"]]
    filestore = os.path.join(spec["data_dir"], "filestore", spec["db"])
    return _ours(spec, lambda out: write_odoo_zip(out, cmd, dict(os.environ), filestore, spec["manifest"]))


def run_base_a(spec):
    blob = container_client(spec).get_blob_client(spec["blob"])
    cmd = [spec["pg_dump"], "--no-owner", "--format=c", spec["db"]]
    before = _status("VmRSS")
    started = time.perf_counter()
    with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE) as proc:
        stream = _Counting(proc.stdout)
        blob.upload_blob(stream, max_concurrency=CONCURRENCY)
    if proc.returncode:
        raise RuntimeError("pg_dump failed (exit code %s)" % proc.returncode)
    return time.perf_counter() - started, before, stream.size, None, None


def run_base_b(spec):
    # pylint: disable=import-outside-toplevel
    from odoo.service import db as odoo_db
    from odoo.tools import config

    args = ["--data-dir", spec["data_dir"], "--log-level=warn"]
    for option, variable in (("--db_host", "PGHOST"), ("--db_port", "PGPORT"), ("--db_user", "PGUSER")):
        if os.environ.get(variable):
            args += [option, os.environ[variable]]
    config.parse_config(args)
    assert config.filestore(spec["db"]) == os.path.join(spec["data_dir"], "filestore", spec["db"])
    blob = container_client(spec).get_blob_client(spec["blob"])
    before = _status("VmRSS")
    started = time.perf_counter()
    with tempfile.TemporaryFile() as tmp:
        odoo_db.dump_db(spec["db"], tmp, "zip")
        size = os.fstat(tmp.fileno()).st_size
        tmp.seek(0)
        blob.upload_blob(tmp, max_concurrency=CONCURRENCY)
    return time.perf_counter() - started, before, size, None, None


RUNNERS = {
    OURS_CUSTOM: run_ours_custom,
    BASE_A: run_base_a,
    OURS_ZIP: run_ours_zip,
    BASE_B: run_base_b,
    OURS_CUSTOM_ENC: run_ours_custom,
    OURS_ZIP_ENC: run_ours_zip,
}


def _cpu():
    """CPU seconds of this process and of its children waited for (pg_dump)."""
    import resource  # pylint: disable=import-outside-toplevel

    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def child():
    spec = json.loads(sys.stdin.read())
    cpu = _cpu()
    wall, before, size, sha256, plain_sha256 = RUNNERS[spec["variant"]](spec)
    cpu = _cpu() - cpu
    peak = _status("VmHWM")
    result = {
        "wall": wall,
        "cpu": cpu,
        "rss_before": before,
        "peak": peak,
        "size": size,
        "sha256": sha256,
        "plain_sha256": plain_sha256,
    }
    print(json.dumps(result))


# -- the parent: runs, checks, report ---------------------------------------------------------------------


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


def verify(container, name, result, with_sha, private_key=None):
    """The blob is what the variant produced: its size, and (ours, when asked) its SHA-256, streamed;
    an encrypted one is decrypted with ``private_key`` and its content's SHA-256 checked too."""
    blob = container.get_blob_client(name)
    props = blob.get_blob_properties()
    if props.size != result["size"]:
        return "blob is %s bytes, the variant produced %s" % (props.size, result["size"])
    if with_sha and result["sha256"]:
        sha256 = hashlib.sha256()
        reader = None
        if result.get("plain_sha256"):
            reader = _services_module("envelope").EnvelopeReader(private_key)
        for chunk in blob.download_blob(max_concurrency=1).chunks():
            sha256.update(chunk)
            if reader:
                reader.feed(chunk)
        if reader:
            reader.end()
            if reader.sha256.hexdigest() != result["plain_sha256"]:
                return "decrypted SHA-256 %s, the encryptor saw %s" % (
                    reader.sha256.hexdigest(),
                    result["plain_sha256"],
                )
        if sha256.hexdigest() != result["sha256"]:
            return "downloaded SHA-256 %s, the upload returned %s" % (sha256.hexdigest(), result["sha256"])
        if (props.metadata or {}).get("oec_sha256") != result["sha256"]:
            return "the blob's metadata does not carry the SHA-256"
    blob.delete_blob()
    return None


def measure(pg_env, base_spec, container, databases, private_key):
    """{(variant, scale): [result, ...]}, errors [(variant, scale, text)]."""
    results, errors, failed = {}, [], set()
    for db, scale, manifest in databases:
        for run in range(RUNS):
            order = VARIANTS[run % len(VARIANTS) :] + VARIANTS[: run % len(VARIANTS)]
            for variant in order:
                if variant in failed:
                    continue
                name = "bench/%s/%s-%d-%d" % (db, SLUGS[variant], run, time.monotonic_ns())
                spec = dict(base_spec, variant=variant, db=db, blob=name, manifest=manifest)
                if variant not in ENCRYPTED:
                    spec.pop("public_key")
                result, error = run_variant(spec, pg_env)
                if result:
                    error = verify(container, name, result, scale == SHA_CHECK_SCALE, private_key)
                if error:
                    errors.append((variant, scale, error))
                    failed.add(variant)
                    continue
                results.setdefault((variant, scale), []).append(result)
    return results, errors


def _mb(value):
    return value / 1e6


def report(results, scales):
    def wall(variant, scale):
        return statistics.median(r["wall"] for r in results[(variant, scale)])

    def cpu(variant, scale):
        return statistics.median(r["cpu"] for r in results[(variant, scale)])

    def peak(variant, scale):
        return max(r["peak"] for r in results[(variant, scale)])

    def growth(variant, scale):
        return max(r["peak"] - r["rss_before"] for r in results[(variant, scale)])

    def size(variant, scale):
        return statistics.median(r["size"] for r in results[(variant, scale)])

    print(
        "\nBackup to Blob Storage (emulator), median wall time / max peak RSS of %d runs per database" % RUNS
    )
    header = "%-24s" % "variant" + "".join(
        " | %3d MB: wall s  CPU s  peak MB  +work MB  blob MB" % scale for scale in scales
    )
    print(header)
    print("-" * len(header))
    for variant in VARIANTS:
        if not all((variant, scale) in results for scale in scales):
            print("%-24s   (failed, see above)" % variant)
            continue
        cells = "".join(
            "        %7.2f  %5.1f  %7.0f  %8.0f  %7.1f"
            % (
                wall(variant, s),
                cpu(variant, s),
                _mb(peak(variant, s)),
                _mb(growth(variant, s)),
                _mb(size(variant, s)),
            )
            for s in scales
        )
        print("%-24s%s" % (variant, cells))
    print(
        "(CPU s: the variant's process and pg_dump, median, the emulator's not counted; peak MB: the\n"
        " process's VmHWM, pg_dump not included; +work MB: peak minus the RSS before the backup started)"
    )

    def ratio_line(label, value, target, ok):
        print("  %-48s %5.2f  (target %s)  %s" % (label, value, target, "OK" if ok else "ABOVE TARGET"))

    small, large = scales
    print("\nRatios:")
    for scale in scales:
        if (OURS_CUSTOM, scale) in results and (BASE_A, scale) in results:
            value = wall(OURS_CUSTOM, scale) / wall(BASE_A, scale)
            ratio_line("wall ours custom / (a), %d MB database" % scale, value, "<= 1.15", value <= 1.15)
    for scale in scales:
        if (OURS_ZIP, scale) in results and (BASE_B, scale) in results:
            value = wall(OURS_ZIP, scale) / wall(BASE_B, scale)
            ratio_line("wall ours zip / (b), %d MB database" % scale, value, "< 1", value < 1)
    for variant in VARIANTS:
        if (variant, small) in results and (variant, large) in results:
            value = peak(variant, large) / peak(variant, small)
            label = "peak RSS %d MB / %d MB database, %s" % (large, small, variant)
            if variant in (OURS_CUSTOM, OURS_ZIP, *ENCRYPTED):
                ratio_line(label, value, "~1, <= %.2f" % RSS_TARGET, value <= RSS_TARGET)
            else:
                print("  %-48s %5.2f  (for contrast)" % (label, value))
    report_encryption(results, scales)


def _key_pair():
    """(private key, public key PEM) of the encrypted variants (made here, kept in memory)."""
    # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, pem.decode()


def report_encryption(results, scales):
    """Each encrypted variant against its unencrypted twin of the same run: wall time, CPU, blob size."""

    def median(variant, scale, field):
        return statistics.median(r[field] for r in results[(variant, scale)])

    print("\nCost of encryption (encrypted / unencrypted, same run; no target):")
    for variant, twin in ENCRYPTED.items():
        for scale in scales:
            if (variant, scale) in results and (twin, scale) in results:
                print(
                    "  %-48s wall %5.2f  CPU %5.2f  blob %5.3f"
                    % (
                        "%s / %s, %d MB database" % (variant, twin, scale),
                        median(variant, scale, "wall") / median(twin, scale, "wall"),
                        median(variant, scale, "cpu") / median(twin, scale, "cpu"),
                        median(variant, scale, "size") / median(twin, scale, "size"),
                    )
                )


def main():
    if sys.argv[1:] == ["--child"]:
        child()
        return 0
    began = time.perf_counter()
    pg_env = devtool.ensure_postgres()
    pg_dump = devtool._pg_bin("pg_dump")  # pylint: disable=protected-access
    if not pg_dump:
        devtool.die("pg_dump was not found (apt-get install postgresql-client)")
    data_dir = Path(tempfile.mkdtemp(prefix="oec-bench-backup-"))
    emu = None
    try:
        databases = []
        for db, scale in DATABASES:
            how = ensure_database(pg_env, db, scale)
            size, tables, modules, version = database_facts(pg_env, db)
            files_size, files = make_filestore(data_dir / "filestore" / db)
            print(
                "%s: pg_database_size %.0f MB, table data %.0f MB (%s); filestore %.1f MB in %d files"
                % (db, _mb(size), _mb(tables), how, _mb(files_size), files)
            )
            databases.append((db, scale, odoo_manifest(db, modules, version)))

        from azure_emulator.testing import start_emulator  # pylint: disable=import-outside-toplevel

        emu = start_emulator(azurite=True)
        endpoint, token = seed_storage(emu)
        private_key, public_pem = _key_pair()
        base_spec = {"endpoint": endpoint, "token": token, "ca": emu.ca_path, "pg_dump": pg_dump}
        base_spec.update(data_dir=str(data_dir), public_key=public_pem)
        container = container_client(base_spec)
        results, errors = measure(pg_env, base_spec, container, databases, private_key)
    finally:
        if emu:
            emu.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    report(results, [scale for _db, scale in DATABASES])
    for variant, scale, error in errors:
        print("ERROR %s on the %d MB database: %s" % (variant, scale, error))
    print(
        "\nThe databases %s are kept for the next run; drop them with: dropdb %s"
        % (", ".join(db for db, _ in DATABASES), "; dropdb ".join(db for db, _ in DATABASES))
    )
    print("bench_backup took %.0f s" % (time.perf_counter() - began))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
