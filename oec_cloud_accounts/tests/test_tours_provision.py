"""The provisioning wizard as a person sees it in Chromium, on a laptop (1280x800) and on a
phone (390x844): the VM size and the note on sizes not offered are readable, the SSH public
key is labelled and marked required."""

from urllib.parse import urlencode

from odoo.tests import HttpCase, tagged

from .common import EmulatorMixin


@tagged("post_install", "-at_install")
class TestProvisionWizardTour(EmulatorMixin, HttpCase):
    viewport = None  # (width, height) of the page, set by each test

    def setUp(self):
        super().setUp()
        self.env["cloud.account"].search([]).write({"active": False})
        self.connect()
        self.action = self.env.ref("oec_cloud_accounts.cloud_server_action")

    def authenticate(self, user, password, browser=None):
        # the headless Chromium of these machines does not size its page by --window-size
        # (HttpCase.browser_size): the page's size is set through the DevTools protocol instead
        result = super().authenticate(user, password, browser=browser)
        if browser and self.viewport:
            width, height = self.viewport
            browser._websocket_request(
                "Emulation.setDeviceMetricsOverride",
                params={"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 768},
            )
        return result

    def run_at(self, width, height):
        self.viewport = (width, height)
        # the tour logs in through the login page (tour_login.js)
        url = "/web/login?" + urlencode({"redirect": "/web#action=%d" % self.action.id})
        self.start_tour(url, "oec_cloud_accounts_provision_form")

    def test_laptop(self):
        self.run_at(1280, 800)

    def test_phone(self):
        self.run_at(390, 844)
