"""Shared set-up: a cloud record pointing at the local Azure emulator."""

from unittest.mock import patch
from urllib.parse import parse_qsl, urlsplit

import requests
from azure_emulator import defaults
from azure_emulator.testing import shared_emulator

from odoo.tools import config

from ..models.res_config_settings import ENVIRONMENT_PARAM


class EmulatorMixin:
    """Mixed into Odoo test cases: ``cls.emu``, ``cls.cloud``, helpers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emu = shared_emulator()
        # configuration, not code: trust the emulator's CA like an admin would
        cls.startClassPatcher(patch.dict(config.options, {"oec_azure_ca_bundle": cls.emu.ca_path}))
        endpoints = cls.emu.endpoints
        cls.cloud = cls.env["cloud.azure.environment"].create(
            {
                "name": "Test emulator",
                "is_sandbox": True,
                "authority_host": endpoints["authority_host"],
                "interactive_authority_host": endpoints["interactive_authority_host"],
                "arm_endpoint": endpoints["arm"],
                "arm_audience": defaults.ARM_RESOURCE,
                "graph_endpoint": endpoints["graph"],
                "client_id": defaults.CLOUD_CLIENT_ID,
            }
        )
        cls.cloud.set_client_secret(defaults.CLOUD_CLIENT_SECRET)
        cls.env["ir.config_parameter"].sudo().set_param(ENVIRONMENT_PARAM, cls.cloud.id)

    def setUp(self):
        super().setUp()
        self.emu.control.reset()

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
        return dict(parse_qsl(urlsplit(location).query)), location

    def connect(self, user=defaults.USER_EMAIL, account=None, cloud=None):
        """Connect through the model layer (the controller is tested by HttpCase)."""
        cloud = cloud or self.cloud
        identity = cloud._identity()
        flow = identity.start_flow(cloud._delegated_scopes(), cloud._redirect_uri(), "test-state")
        params, _location = self.answer_consent(flow["auth_uri"], user=user)
        result = identity.redeem(flow, params, cloud._delegated_scopes())
        return self.env["cloud.account"]._connect(cloud, result, account)
