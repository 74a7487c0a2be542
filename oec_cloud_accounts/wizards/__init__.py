from . import cloud_account_connect
from . import cloud_server_provision
