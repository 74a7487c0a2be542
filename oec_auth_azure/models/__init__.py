from . import oec_secret_mixin
from . import auth_oauth_provider
from . import auth_oauth_provider_entra
from . import res_config_settings
from . import res_users
from . import oec_azure_role_mapping
from . import oec_azure_signin_log
from . import ir_http
