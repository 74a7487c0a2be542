from . import cloud_account_connect
