-- A neutralized copy holds no client secret of a Microsoft sign-in provider:
-- it cannot redeem codes with production's application secret.
UPDATE auth_oauth_provider SET oec_azure_client_secret_enc = NULL;
