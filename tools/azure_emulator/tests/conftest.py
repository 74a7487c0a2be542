"""Fixtures: one emulator per test session, reset before each test."""

import json
import pathlib

import msal
import pytest
import requests
from azure.core.credentials import AccessToken
from azure_emulator import defaults as d
from azure_emulator.arm_versions import IMPLEMENTED
from azure_emulator.testing import shared_emulator

# Azure's documented answers, replayed by the contract suite: the emulator is checked against them
CONTRACT_FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "contract" / "fixtures"


def contract_fixture(name):
    """The contract suite's fixture ``name`` ("compute/throttled_get"), as a dict."""
    return json.loads((CONTRACT_FIXTURES / (name + ".json")).read_text())


@pytest.fixture(scope="session")
def emu():
    return shared_emulator()


@pytest.fixture(autouse=True)
def _reset(emu):
    emu.control.reset()
    yield


@pytest.fixture
def http(emu):
    # trust_env=False: this machine's REQUESTS_CA_BUNDLE would override verify.
    session = requests.Session()
    session.trust_env = False
    session.verify = emu.ca_path
    yield session
    session.close()


def make_msal_app(emu, http, client_id=d.CLOUD_CLIENT_ID, secret=d.CLOUD_CLIENT_SECRET, tenant=d.TENANT_ID):
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret,
        authority="%s/%s" % (emu.endpoints["authority_host"], tenant),
        instance_discovery=False,
        http_client=http,
    )


class StaticCredential:
    """A TokenCredential around one access token, like the addon's services."""

    def __init__(self, token, expires_on):
        self._token = AccessToken(token, int(expires_on))

    def get_token(self, *scopes, **kwargs):
        return self._token


@pytest.fixture
def credential(emu):
    minted = emu.control.issue_token(user=d.USER_EMAIL, scope=d.ARM_SCOPE)
    return StaticCredential(minted["access_token"], minted["expires_on"])


@pytest.fixture
def mgmt_kwargs(emu):
    """Keyword arguments every azure-mgmt client needs to reach the emulator."""
    return {
        "base_url": emu.endpoints["arm"],
        "connection_verify": emu.ca_path,
        "credential_scopes": [emu.endpoints["arm_scope"]],
        "polling_interval": 0,
    }


def version(operation):
    """The API version the emulator implements for ``operation`` (the product's, first)."""
    return IMPLEMENTED[operation][0]


# operations groups answered at another group's version
ALIASES = {"compute.virtual_machine_sizes": "compute.virtual_machines"}


class PerCall:
    """A compute or network client whose calls send the emulator's API versions: these clients
    take none of their own, each call passes ``api_version=`` (as services/arm.py does)."""

    def __init__(self, client, package):
        self._client = client
        self._package = package

    def __getattr__(self, group):
        operation = "%s.%s" % (self._package, group)
        return _Group(getattr(self._client, group), version(ALIASES.get(operation, operation)))


class _Group:
    def __init__(self, group, api_version):
        self._group = group
        self._api_version = api_version

    def __getattr__(self, name):
        method = getattr(self._group, name)

        def call(*args, **kwargs):
            kwargs.setdefault("api_version", self._api_version)
            return method(*args, **kwargs)

        return call
