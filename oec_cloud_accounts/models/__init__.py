from . import cloud_secret_mixin
from . import cloud_azure_environment
from . import cloud_account_subscription
from . import cloud_account
from . import cloud_account_tokens
from . import res_config_settings
from . import cloud_dns_zone
from . import cloud_dns_record
