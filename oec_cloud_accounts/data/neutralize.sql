-- A neutralized copy (odoo-bin neutralize, the database manager's or this
-- addon's neutralized restore) must never act on production: it holds no
-- token nor client secret, its accounts need Reconnect, and it writes no
-- backup nor starts or stops a real server.
UPDATE cloud_account
   SET refresh_token_enc = NULL,
       access_token_enc = NULL,
       storage_token_enc = NULL,
       state = 'disconnected',
       access_expires_at = NULL,
       next_run_at = NULL,
       retry_count = 0,
       last_error = 'Neutralized copy: the tokens were deleted. Reconnect to use this account here.';
UPDATE cloud_azure_environment SET client_secret_enc = NULL;
UPDATE cloud_backup_policy SET scheduled = false, next_run_at = NULL;
-- the master passwords of production's servers stay with production
UPDATE cloud_server SET schedule_enabled = false, master_password_enc = NULL;
