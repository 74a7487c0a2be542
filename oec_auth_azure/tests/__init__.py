from . import test_client_secret
from . import test_errors
from . import test_hostile
from . import test_install
from . import test_login_tour
from . import test_refusals
from . import test_settings
from . import test_signin
