from . import test_install
from . import test_login_tour
