from . import cloud_account_connect
from . import cloud_account_disconnect
from . import cloud_server_provision
from . import cloud_dns_zone_setup
from . import cloud_dns_record_edit
from . import cloud_backup_restore
from . import cloud_storage_setup
