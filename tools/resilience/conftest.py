"""Fixtures of the resilience suites (see harness.py and README.md's testing section)."""

import os

import pytest
from harness import Emulator, Setup


@pytest.fixture
def setup(request):
    """A fresh database with both addons installed, dropped after the test (kept on failure
    with OEC_RESILIENCE_KEEP=1)."""
    base = os.environ.get("OEC_RESILIENCE_DB", "oec_resilience")
    db = "%s_%s" % (base, request.node.name.replace("test_", "")[:30].lower().replace("[", "_").strip("]"))
    setup = Setup(db)
    setup.fresh_database()
    yield setup
    if not os.environ.get("OEC_RESILIENCE_KEEP"):
        setup.drop()


@pytest.fixture
def emulator(setup):
    emulator = Emulator(setup.env)
    yield emulator
    emulator.stop()


def pytest_configure(config):
    config.addinivalue_line("markers", "resilience: starts Odoo and the emulator as processes")
