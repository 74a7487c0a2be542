from . import test_install
from . import test_services
from . import test_cloud_account
from . import test_cron
from . import test_security
from . import test_connect_http
from . import test_i18n
