"""Shared set-up: a cloud record pointing at the local Azure emulator."""

import logging
import threading
import time
from unittest.mock import patch
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from azure_emulator import defaults
from azure_emulator.testing import shared_emulator
from psycopg2 import sql

from odoo import SUPERUSER_ID, api
from odoo.tests import new_test_user
from odoo.tools import config

from odoo.addons.bus.websocket import _kick_all
from odoo.addons.oec_auth_azure.tests.capture import (  # noqa: F401
    CAPTURED_TEXTS_VARIABLE,
    CaptureTextsMixin,
    capture_texts,
    max_ids,
)

from ..models.res_config_settings import ENVIRONMENT_PARAM
from ..services.api_versions import API_VERSIONS
from ..services.arm import StaticTokenCredential

_logger = logging.getLogger(__name__)


def tables_holding(env, text):
    """Every table of the database with a row whose JSON form contains ``text``."""
    env.flush_all()
    env.cr.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    found = []
    for (table,) in env.cr.fetchall():
        env.cr.execute(
            sql.SQL("SELECT 1 FROM {} t WHERE row_to_json(t)::text LIKE %s LIMIT 1").format(
                sql.Identifier(table)
            ),
            ("%" + text + "%",),
        )
        if env.cr.fetchone():
            found.append(table)
    return found


def refused_users(env, prefix):
    """One user of each kind that may not change a cloud account of the
    current company: the callers of the access tests."""
    other = env["res.company"].create({"name": "Other Co (%s)" % prefix})
    return {
        "portal": new_test_user(env, prefix + "_portal", groups="base.group_portal"),
        "internal": new_test_user(env, prefix + "_internal", groups="base.group_user"),
        "cloud user": new_test_user(env, prefix + "_viewer", groups="oec_cloud_accounts.group_cloud_user"),
        "manager of another company": new_test_user(
            env,
            prefix + "_outsider",
            groups="oec_cloud_accounts.group_cloud_manager",
            company_id=other.id,
            company_ids=[(6, 0, other.ids)],
        ),
    }


def run_job(case, model, method, *args, **kwargs):
    """``model.method(*args, **kwargs)`` (``model``: a name, or records) as Odoo's cron thread runs a
    scheduled action: in a cursor and an environment of its own, where the
    job's per-record commits and rollbacks really happen. In Odoo's test mode
    (``registry.enter_test_mode``, as the core tests of ir.cron do) that cursor
    is a TestCursor: its commit ends at a savepoint of the test's transaction
    and its rollback goes back to that savepoint, so the test's own rollback
    still undoes everything. ``case``'s environment sees the result afterwards."""
    case.env.flush_all()
    entered = case.registry.test_cr is None
    if entered:
        _close_leftover_websockets()
        case.registry.enter_test_mode(case.cr)
    try:
        with case.registry.cursor() as cr:
            env = api.Environment(cr, case.env.uid, dict(case.env.context))
            records = env[model] if isinstance(model, str) else model.with_env(env)
            result = getattr(records, method)(*args, **kwargs)
    finally:
        if entered:
            case.registry.leave_test_mode()
    case.env.invalidate_all()
    return result


def _close_leftover_websockets(timeout=5):
    """A tour's browser is gone, but its websocket may still be served by a request thread: once
    the registry is in test mode that thread would use the test's cursor under our feet (Odoo
    closes them so when the server stops: bus.websocket._kick_all)."""
    _kick_all()
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith("odoo.service.http.request."):
            thread.join(max(0, deadline - time.monotonic()))


class EmulatorMixin(CaptureTextsMixin):
    """Mixed into Odoo test cases: ``cls.emu``, ``cls.cloud``, helpers."""

    def run_job(self, model, method, *args, **kwargs):
        """See run_job(): a scheduled action's method run as the cron thread runs it."""
        return run_job(self, model, method, *args, **kwargs)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emu = shared_emulator()
        # configuration, not code: trust the emulator's CA like an admin would, and
        # let the SDKs retry at once (server option oec_azure_retry_backoff, README)
        cls.startClassPatcher(
            patch.dict(config.options, {"oec_azure_ca_bundle": cls.emu.ca_path, "oec_azure_retry_backoff": 0})
        )
        cls.cloud = cls.make_cloud(cls.env)

    @classmethod
    def make_cloud(cls, env):
        """The cloud record of the emulator in ``env``, chosen in Settings > Cloud Accounts."""
        endpoints = cls.emu.endpoints
        cloud = env["cloud.azure.environment"].create(
            {
                "name": "Test emulator",
                "is_sandbox": True,
                "authority_host": endpoints["authority_host"],
                "interactive_authority_host": endpoints["interactive_authority_host"],
                "arm_endpoint": endpoints["arm"],
                "arm_audience": defaults.ARM_RESOURCE,
                "graph_endpoint": endpoints["graph"],
                "prices_endpoint": endpoints["prices"],
                "client_id": defaults.CLOUD_CLIENT_ID,
            }
        )
        cloud.set_client_secret(defaults.CLOUD_CLIENT_SECRET)
        env["ir.config_parameter"].sudo().set_param(ENVIRONMENT_PARAM, cloud.id)
        return cloud

    def setUp(self):
        super().setUp()
        self.emu.control.reset()

    def portal_clients(self, *client_classes, subscription_id=defaults.SUBSCRIPTION_ID):
        """The Azure portal's view of a subscription: SDK clients with a token of
        their own. LROs are polled at once: the emulator's Retry-After: 0 is
        taken by azure-core as "not given" (30 s)."""
        minted = self.emu.control.issue_token()
        credential = StaticTokenCredential(minted["access_token"], minted["expires_on"])
        options = {
            "base_url": self.emu.endpoints["arm"],
            "connection_verify": self.emu.ca_path,
            "credential_scopes": [self.emu.endpoints["arm_scope"]],
            "polling_interval": 0,
        }
        # at the product's API versions, the only ones the emulator answers (one for all the
        # operations groups of each of these clients: services/api_versions.py)
        versions = {
            "ResourceManagementClient": API_VERSIONS["resources.resource_groups"],
            "StorageManagementClient": API_VERSIONS["storage.storage_accounts"],
            "DnsManagementClient": API_VERSIONS["dns.zones"],
        }
        return tuple(
            cls(credential, subscription_id, api_version=versions[cls.__name__], **options)
            for cls in client_classes
        )

    def tour_beside_the_cron(self, url_path, tour_name, model, method):
        """HttpCase only: run the tour ``tour_name`` (which begins with the login
        steps of ``tour_login.js``) from ``url_path`` as admin, while the
        scheduled action ``model.method`` runs every half second on the test
        cursor, as Odoo's cron thread would. An exception is logged (the test
        then fails on it) and the loop goes on.

        The worker's test cursors and the browser's requests take the registry's
        test lock; this thread's cursor has nothing to write once the worker runs
        (the tour logs in through the login page, not through ``authenticate()``,
        which would query on this thread's cursor beside the worker's)."""
        stop = threading.Event()

        def worker():
            threading.current_thread().testing = True
            while not stop.wait(0.5):
                try:
                    with self.registry.cursor() as cr:
                        getattr(api.Environment(cr, SUPERUSER_ID, {})[model], method)()
                except Exception:
                    _logger.exception("scheduled action %s.%s beside the browser", model, method)

        self.env.flush_all()
        thread = threading.Thread(target=worker, name="tour cron")
        thread.start()
        try:
            self.start_tour("/web/login?" + urlencode({"redirect": url_path}), tour_name)
        finally:
            stop.set()
            thread.join()

    def login_as(self, login):
        """HttpCase only: log in as ``login`` (password: the login) unless the
        session already is theirs; one password check per user, not per call."""
        if getattr(getattr(self, "session", None), "login", None) != login:
            self.authenticate(login, login)

    def remote_calls(self, since=0):
        """What reached the emulator (Entra ID, ARM, ...), from the ``since``-th request on."""
        return [r for r in self.emu.control.requests()[since:] if r["service"] != "control"]

    @staticmethod
    def emulator_session():
        session = requests.Session()
        session.trust_env = False
        return session

    def answer_consent(self, auth_uri, user=defaults.USER_EMAIL, action="accept"):
        """The browser's part: the emulator's answer (a redirect to our callback)
        as a dict of query parameters, plus the full Location."""
        params = {"emu_user": user} if action == "accept" else {"emu_action": "cancel"}
        response = self.emulator_session().get(auth_uri, params=params, allow_redirects=False, timeout=10)
        self.assertEqual(response.status_code, 302, response.text[:500])
        location = response.headers["Location"]
        parts = urlsplit(location)
        # the answer comes in the fragment (response_mode=fragment), errors too
        return dict(parse_qsl(parts.query), **dict(parse_qsl(parts.fragment))), location

    def connect(self, user=defaults.USER_EMAIL, account=None, cloud=None, notices=None):
        """Connect through the model layer (the controller is tested by HttpCase)."""
        cloud = cloud or self.cloud
        identity = cloud._identity()
        flow = identity.start_flow(cloud._delegated_scopes(), cloud._redirect_uri(), "test-state")
        params, _location = self.answer_consent(flow["auth_uri"], user=user)
        result = identity.redeem(flow, params, cloud._delegated_scopes())
        # a cloud of another database (the tests of copies) connects there
        env = self.env if cloud.env.cr is self.env.cr else cloud.env
        return env["cloud.account"]._connect(cloud, result, account, notices)
