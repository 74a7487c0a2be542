"""The restore tests' manifest, compared and put in a blob's metadata (services/restore.py)."""

from odoo.addons.oec_cloud_accounts.services.restore import compare_manifest, manifest_metadata

RECORDED = {
    "modules": {"base": "17.0.1.3", "mail": "17.0.1.15", "oec_cloud_accounts": "17.0.1.2.0"},
    "tables": {"res_partner": 12, "res_users": 5, "ir_attachment": 40},
}


def restored(**changes):
    manifest = {"modules": dict(RECORDED["modules"]), "tables": dict(RECORDED["tables"])}
    for key, value in changes.items():
        manifest[key].update(value)
    return manifest


def test_the_same_database_matches():
    assert compare_manifest(RECORDED, restored()) == []


def test_every_difference_is_named():
    got = restored(modules={"sale": "17.0.1.2", "mail": "17.0.1.16"}, tables={"res_users": 4})
    del got["modules"]["oec_cloud_accounts"]
    del got["tables"]["ir_attachment"]
    assert compare_manifest(RECORDED, got) == [
        {"kind": "module_version", "module": "mail", "want": "17.0.1.15", "got": "17.0.1.16"},
        {"kind": "module_missing", "module": "oec_cloud_accounts"},
        {"kind": "module_added", "module": "sale"},
        {"kind": "rows", "table": "ir_attachment", "want": 40, "got": None},
        {"kind": "rows", "table": "res_users", "want": 5, "got": 4},
    ]


def test_metadata_stays_small_and_names_the_modules_by_hash():
    """Azure allows 8 KiB of metadata per blob: a large database's manifest stays far below."""
    modules = {"module_%03d" % n: "17.0.1.%d" % n for n in range(600)}
    tables = {"some_rather_long_table_name_%02d" % n: 10**9 + n for n in range(25)}
    metadata = manifest_metadata({"modules": modules, "tables": tables})
    assert sum(len(name) + len(value) for name, value in metadata.items()) < 2048
    assert metadata["oec_modules"].startswith("600:")
    assert "some_rather_long_table_name_00:1000000000" in metadata["oec_tables"].split(",")
    changed = dict(modules, module_001="17.0.2.0")
    assert manifest_metadata({"modules": changed, "tables": tables})["oec_modules"] != metadata["oec_modules"]
