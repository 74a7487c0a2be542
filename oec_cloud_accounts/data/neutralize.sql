-- A neutralized copy (restore, duplicate) must not write backups nor start or stop real servers.
UPDATE cloud_backup_policy SET scheduled = false, next_run_at = NULL;
UPDATE cloud_server SET schedule_enabled = false;
