"""The contract suite: Azure's recorded answers through the real SDK pipelines.

Plain pytest, no database: the addons are imported the way Odoo imports them
(``odoo.addons.oec_cloud_accounts``, this repository on the addons path), as in
oec_cloud_accounts/services/tests; ``services/`` itself has no ``odoo`` import.
"""

import sys
from pathlib import Path

import pytest

import odoo.modules.module
from odoo.tools import config

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in config["addons_path"].split(","):
    config["addons_path"] = ",".join(filter(None, [config["addons_path"], str(ROOT)]))
odoo.modules.module.initialize_sys_path()
sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay import Replay

from odoo.addons.oec_cloud_accounts.services import http as identity_http


@pytest.fixture(scope="session")
def replay(tmp_path_factory):
    server = Replay(tmp_path_factory.mktemp("replay"))
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _fresh(replay):
    replay.reset()
    # each test replays its authority's discovery answer: none is kept from the one before
    identity_http.forget_discovery()
    yield


@pytest.fixture
def arm(replay):
    """Keyword arguments of the services' ARM clients, aimed at the replay."""
    return {
        "endpoint": replay.base,
        "scope": "https://management.azure.com/.default",
        "access_token": "recorded",
        "expires_on": 4102444800,
        "ca_bundle": replay.ca_path,
        "timeout": 5,
    }
