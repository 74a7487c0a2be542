"""The contract suite: Azure's recorded answers through the real SDK pipelines.

``oec_cloud_accounts.services`` is plain Python: it is imported here as a
package of its own, without the addon's ``__init__`` (which loads the Odoo
models), so the suite runs under plain pytest in seconds.
"""

import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
if "oec_cloud_accounts" not in sys.modules:
    _addon = types.ModuleType("oec_cloud_accounts")
    _addon.__path__ = [str(ROOT / "oec_cloud_accounts")]
    sys.modules["oec_cloud_accounts"] = _addon

from replay import Replay


@pytest.fixture(scope="session")
def replay(tmp_path_factory):
    server = Replay(tmp_path_factory.mktemp("replay"))
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _fresh(replay):
    replay.reset()
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
