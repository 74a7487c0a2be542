"""Restore tests: a backup restored into a throwaway database, checked, and dropped.

The manifest. At backup time, in the dump's own snapshot (pg_export_snapshot() on a
connection of its own, pg_dump --snapshot), the run reads the installed modules with
their versions and exact row counts of the main tables (services/restore.py
read_manifest(): a fixed list when present, plus the largest tables). It is kept on
the backup (``manifest``, JSON), in the blob's metadata (``oec_tables``,
``oec_modules``: the blob says what it must restore to even when this database is
lost) and, for a zip, in its manifest.json (``oec_tables``) beside Odoo's modules.

The test. A policy may schedule one (``restore_test_interval``), or a Settings
administrator asks for one (Test Restore Now). The scheduled action's step signs a
read-only URL of the newest good backup and starts the restore process
(services/restore.py, ``RestoreTest``) as a restore does, then returns: that process
restores (always neutralized) under a throwaway name (``oec-restore-*_test``, never a
name anybody chose), compares the restored database with the manifest before
anything of a copy is written in it, lets Odoo load it (its command line,
``-d <throwaway> --stop-after-init``, with a time limit below Odoo's), and drops the
database and its filestore whatever happened. A later pass (the lock free) reads
result.json, drops whatever a dead process left, and records the result: passed, the
policy's "Last Verified Restorable" moves on (``_record_verified``); failed, the
backup says why and the policy's alert "Restore Test Failed" is raised.
"""

import json
import logging
import os
import shutil
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models, release
from odoo.exceptions import UserError
from odoo.sql_db import connection_info_for
from odoo.tools import SQL, config

from ..services.restore import (
    TEST_SUFFIX,
    drop_test_leftovers,
    manifest_metadata,
    read_manifest,
)
from .cloud_backup import JOB_STATES
from .cloud_backup_policy_alert import RESTORE_ALERTS
from .cloud_backup_run import MAX_ROWS, MIN_START, advisory_lock
from .cloud_job_mixin import time_budget

_logger = logging.getLogger(__name__)

LOCK_RESTORE_TEST = 0x0EC3  # objid: backup id
INTERVALS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
# the tables named in a manifest's summary
SUMMARY_TABLES = 4


class CloudBackup(models.Model):
    # a concern file of cloud.backup, named in ARCHITECTURE.md
    _inherit = "cloud.backup"  # pylint: disable=consider-merging-classes-inherited

    manifest = fields.Text(
        help="Recorded at backup time, in the dump's own snapshot (JSON): the installed modules with "
        "their versions and the rows of the main tables. A restore test checks the restored database "
        "against it. Also in the blob's metadata (oec_tables, oec_modules).",
    )
    manifest_summary = fields.Char(compute="_compute_manifest_summary")
    restore_test_state = fields.Selection(
        JOB_STATES,
        string="Restore Test",
        tracking=True,
        help="Restored into a throwaway database (neutralized), checked against the manifest, loaded "
        "by Odoo, then dropped.",
    )
    restore_tested_at = fields.Datetime(string="Restore Tested On")
    restore_test_result = fields.Text(help="What the last restore test found.")
    restore_test_job = fields.Char(help="While the restore test's own process runs: its working folder.")

    @api.depends("manifest")
    def _compute_manifest_summary(self):
        for backup in self:
            manifest = backup._manifest_data()
            if not manifest:
                backup.manifest_summary = False
                continue
            tables = sorted(
                ((name, rows) for name, rows in manifest["tables"].items() if rows is not None),
                key=lambda item: -item[1],
            )
            backup.manifest_summary = _(
                "%(modules)s modules; %(tables)s tables counted (%(largest)s)",
                modules=len(manifest["modules"]),
                tables=len(tables),
                largest=", ".join("%s: %s" % item for item in tables[:SUMMARY_TABLES]),
            )

    @api.depends("restore_test_state")
    def _compute_progress(self):
        res = super()._compute_progress()
        for backup in self.filtered(lambda backup: backup.restore_test_state in ("queued", "running")):
            backup.in_progress = True
        return res

    # -- actions -------------------------------------------------------------------------------------

    def action_restore_test(self):
        """Queue a restore test of this backup (the scheduled action runs it; nothing remote here)."""
        self._check_backup_admin()
        for backup in self.sudo():
            backup._queue_restore_test(_("requested by %s", self.env.user.name))
        self.env.ref("oec_cloud_accounts.ir_cron_backups")._trigger()
        return True

    # -- business methods ----------------------------------------------------------------------------

    def _manifest_data(self):
        try:
            manifest = json.loads(self.manifest or "null")
        except ValueError:
            return None
        return manifest if isinstance(manifest, dict) and "tables" in manifest else None

    def _queue_restore_test(self, why):
        self.ensure_one()
        if self.state != "done":
            raise UserError(_("Only a successful backup can be restore tested."))
        if self.restore_test_state in ("queued", "running"):
            raise UserError(_("A restore test of this backup is already under way."))
        if self.encrypted:
            raise UserError(self._encrypted_restore_test_message())
        self.write({"restore_test_state": "queued", "restore_test_result": False})
        self.message_post(body=_("Restore test %s.", why))

    @api.model
    def _encrypted_restore_test_message(self):
        return _(
            "Restore tests cannot read encrypted backups: Odoo never holds their private key. Check "
            "an encrypted backup with Verify with Key, or restore it with Restore and the key into a "
            "new database; turn restore tests off for a policy that encrypts its backups."
        )

    def _in_dump_snapshot(self, produce, cmd, metadata, zip_manifest=None):
        """``produce`` wrapped so that pg_dump reads the snapshot the manifest is read in: a
        connection of its own exports it (REPEATABLE READ), counts, and stays open until the
        dump ends. The manifest goes into ``metadata`` (committed with the blob), into the zip's
        manifest.json, and into the returned dict's ``manifest`` (for the record)."""
        _name, params = connection_info_for(self.database)
        recorded = {}
        version = release.version

        def produce_in_snapshot(out):
            conn = psycopg2.connect(**params)
            try:
                conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
                with conn.cursor() as cr:
                    cr.execute("SELECT pg_export_snapshot()")
                    snapshot = cr.fetchone()[0]
                    manifest = dict(read_manifest(cr), version=1, odoo=version)
                recorded["manifest"] = manifest
                metadata.update(manifest_metadata(manifest))
                if zip_manifest is not None:
                    zip_manifest["oec_tables"] = manifest["tables"]
                cmd.insert(-1, "--snapshot=" + snapshot)
                try:
                    produce(out)
                finally:
                    cmd.remove("--snapshot=" + snapshot)
            finally:
                conn.close()

        return produce_in_snapshot, recorded

    @api.model
    def _queue_restore_tests(self, policy, now):
        """The scheduled restore test of ``policy`` (its moment came): its newest good backup."""
        policy.restore_test_next_at = now + INTERVALS.get(policy.restore_test_interval, INTERVALS["weekly"])
        newest = policy._newest_good_backup()
        # an encrypted backup cannot be read without the key Odoo never holds (the policy refuses
        # both; its newest backup may still be one made before encryption was turned off)
        if newest and not newest.encrypted and newest.restore_test_state not in ("queued", "running"):
            newest._queue_restore_test(_("scheduled by the policy %s", policy.name))

    def _do_restore_test(self):
        with advisory_lock(self.env.cr.dbname, LOCK_RESTORE_TEST, self.id) as locked:
            if not locked:
                return
            url = self._restore_read_url()
            workdir = self._start_in_workdir(
                lambda workdir: self._restore_test_params(workdir, url),
                lambda workdir: {
                    "restore_test_state": "running",
                    "restore_test_job": workdir,
                    "database_identity": self._database_identity(),
                },
            )
            self.message_post(
                body=_(
                    "Restore test started: the backup is restored into the throwaway database %s "
                    "(neutralized), checked, loaded by Odoo, then dropped.",
                    os.path.basename(workdir) + TEST_SUFFIX,
                )
            )

    def _restore_test_params(self, workdir, url):
        """The restore process's parameters for a test: always neutralized, under the throwaway
        name, with the manifest and how to start Odoo on this server's addons path."""
        name = os.path.basename(workdir) + TEST_SUFFIX
        params = self._restore_params(workdir, url, name, neutralize=True)
        params.update(
            lock={"db": self.env.cr.dbname, "classid": LOCK_RESTORE_TEST, "objid": self.id},
            test={
                "manifest": self._manifest_data(),
                "odoo": {
                    "addons_path": config["addons_path"],
                    "data_dir": config["data_dir"],
                    "server_wide_modules": config["server_wide_modules"],
                    "unaccent": bool(config["unaccent"]),
                    # the load runs in its own process, bounded as a scheduled action's work is
                    "timeout": time_budget(cron=True),
                },
            },
        )
        return params

    def _collect_restore_test(self):
        """The restore test's process is gone (its lock is free): drop whatever it left (a process
        that died leaves its databases), keep its result."""
        workdir = self.restore_test_job
        try:
            with open(os.path.join(workdir, "result.json")) as handle:
                result = json.load(handle)
        except (OSError, ValueError):
            result = {"ok": False, "error": _("The restore test's process stopped before it ended.")}
        temp = os.path.basename(workdir)
        # a test that passed dropped its databases itself (a drop that failed fails the test); one
        # that failed or died may not have
        if not result.get("ok"):
            try:
                drop_test_leftovers(
                    connection_info_for("postgres")[1],
                    temp,
                    config.filestore(temp),
                    config.filestore(temp + TEST_SUFFIX),
                )
            except (ValueError, psycopg2.Error) as error:
                _logger.warning("cloud.backup %s: the restore test's databases %s: %s", self.id, temp, error)
        shutil.rmtree(workdir, ignore_errors=True)
        self.restore_test_job = False
        if not result.get("ok"):
            self._record_failure("restore_test", self._restore_test_failure(result))
            return
        now = fields.Datetime.now()
        self.write(
            {
                "restore_test_state": "done",
                "restore_tested_at": now,
                "restore_test_result": self._restore_test_summary(result),
            }
        )
        self.message_post(body=_("Restore test passed: %s", self.restore_test_result))
        self.policy_id._alert_isolated(
            "_record_verified",
            now,
            _("the backup %s passed a restore test", self.display_name),
            RESTORE_ALERTS,
        )

    def _restore_test_summary(self, result):
        tables = result.get("tables") or {}
        if not result.get("manifest"):
            checked = _(
                "no manifest was recorded with this backup (taken before restore tests): not compared"
            )
        else:
            checked = _(
                "%(modules)s installed modules and the rows of %(tables)s tables match the manifest",
                modules=result.get("modules"),
                tables=len(tables),
            )
        return _(
            "restored and dropped; %(checked)s; Odoo loaded it in %(seconds)s s.",
            checked=checked,
            seconds=result.get("load_seconds"),
        )

    def _restore_test_failure(self, result):
        """What result.json's failure says, in words."""
        if result.get("code") == "exists":
            return _("The throwaway database's name was taken meanwhile: test again.")
        if result.get("code") != "check":
            return self._restore_failure(result)
        words = []
        for problem in result.get("problems") or []:
            kind = problem.get("kind")
            if kind == "module_missing":
                words.append(_("module %s is not installed in the restored database", problem["module"]))
            elif kind == "module_added":
                words.append(_("module %s is installed but not in the manifest", problem["module"]))
            elif kind == "module_version":
                words.append(
                    _(
                        "module %(module)s at version %(got)s, %(want)s recorded",
                        module=problem["module"],
                        got=problem["got"],
                        want=problem["want"],
                    )
                )
            elif kind == "rows" and problem["got"] is None:
                words.append(
                    _(
                        "table %(table)s is not in the restored database (%(want)s rows recorded)",
                        table=problem["table"],
                        want=problem["want"],
                    )
                )
            elif kind == "rows":
                words.append(
                    _(
                        "table %(table)s has %(got)s rows, %(want)s recorded",
                        table=problem["table"],
                        got=problem["got"],
                        want=problem["want"] if problem["want"] is not None else _("no table"),
                    )
                )
            elif kind == "load_timeout":
                words.append(_("Odoo did not load it within %s s", problem.get("seconds")))
            elif kind == "load":
                words.append(
                    _(
                        "Odoo did not load it (exit code %(exit)s): %(errors)s",
                        exit=problem.get("exit"),
                        errors=" | ".join(problem.get("errors") or []) or "-",
                    )
                )
        return _(
            "The backup restored, but does not match what was recorded at backup time: %s. Do not rely "
            "on it: check the modules on this server's addons path, then back up again and test it.",
            "; ".join(words) or "?",
        )

    # -- the scheduled action ------------------------------------------------------------------------

    @api.model
    def _cron_run_due(self, batch_size):
        res = super()._cron_run_due(batch_size)
        jobs = self.env["cloud.job.mixin"]
        connected = jobs._job_account_active(through_storage=True)
        until = self._deadline().at - MIN_START
        jobs._job_run_due(
            self._name,
            SQL("restore_test_state = 'running'"),
            SQL("id"),
            "dead-run check",
            lambda backup: backup._fail_if_dead("restore_test_state"),
            MAX_ROWS,
        )
        now = fields.Datetime.now()
        jobs._job_run_due(
            "cloud.backup.policy",
            SQL(
                "active AND restore_test_interval IN ('daily', 'weekly') AND restore_test_next_at <= %s"
                " AND %s",
                now,
                connected,
            ),
            SQL("restore_test_next_at, id"),
            "scheduled restore test",
            lambda policy: self._queue_restore_tests(policy, now),
            MAX_ROWS,
        )
        jobs._job_run_due(
            self._name,
            SQL("restore_test_state = 'queued' AND %s", connected),
            SQL("id"),
            "restore test",
            lambda backup: backup._do_restore_test(),
            batch_size,
            until=until,
            savepoint=False,
        )
        return res

    def _fail_if_dead(self, field="state"):
        if field != "restore_test_state":
            return super()._fail_if_dead(field)
        if self.database_identity and self.database_identity != self._database_identity():
            # started in the database this one was copied from: its result is recorded there
            self.write({"restore_test_state": False, "restore_test_job": False})
            self._message_log(
                body=_(
                    "A restore test of this backup was in progress in the database %s when this database "
                    "was copied from it: its result is recorded there, not here.",
                    self.database,
                )
            )
            return None
        with advisory_lock(self.env.cr.dbname, LOCK_RESTORE_TEST, self.id) as free:
            if not free:
                return None
            if self.restore_test_job:
                self._collect_restore_test()
            else:
                self._record_failure(
                    "restore_test", _("The Odoo process doing this stopped before it ended.")
                )
        return None

    def _job_account(self):
        if self.restore_test_state == "queued":
            return self.storage_id.account_id
        return super()._job_account()

    def _job_on_hold(self, account, error):
        res = super()._job_on_hold(account, error)
        if self.restore_test_state == "queued":
            self.restore_test_result = self.env["cloud.job.mixin"]._job_hold_note(account, error)
        return res

    def _job_record_failure(self, error, what):
        if what == "restore test":
            self._record_failure("restore_test", self._describe(error))
            return
        super()._job_record_failure(error, what)

    def _record_failure(self, kind, message):
        """A failed restore test: said on the backup, and the policy's alert (once)."""
        if kind != "restore_test":
            return super()._record_failure(kind, message)
        self.write(
            {
                "restore_test_state": "failed",
                "restore_test_job": False,
                "restore_tested_at": fields.Datetime.now(),
                "restore_test_result": message,
            }
        )
        self.message_post(body=_("Restore test failed: %s", message))
        self.policy_id._alert_isolated(
            "_alert_raise",
            "restore_failed",
            _("The restore test of the backup %(name)s failed: %(message)s", name=self.name, message=message),
        )
        return None
