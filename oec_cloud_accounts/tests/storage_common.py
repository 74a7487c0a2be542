"""Storage test helpers: storage accounts made in the emulator through the real
SDK with a token of their own, as someone would in the Azure portal."""

import contextlib
import socketserver
import threading

from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure_emulator import defaults

from ..models.azure_messages import MESSAGES
from ..services.errors import STORAGE
from .common import EmulatorMixin

RG = "oec-storage"


class Listener:
    """Someone else's host: a TCP server on 127.0.0.1 that counts the connections
    it gets (TLS or not, whatever is sent) and answers nothing."""

    def __init__(self):
        self.count = 0
        listener = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                listener.count += 1
                self.request.settimeout(1)
                with contextlib.suppress(OSError):  # whatever comes, nothing is answered
                    self.request.recv(65536)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1})

    def url(self, path="/"):
        return "https://127.0.0.1:%d%s" % (self.port, path)


@contextlib.contextmanager
def listening():
    listener = Listener()
    listener.thread.start()
    try:
        yield listener
    finally:
        listener.server.shutdown()
        listener.server.server_close()


class StorageMixin(EmulatorMixin):
    def portal(self, subscription_id=defaults.SUBSCRIPTION_ID):
        return self.portal_clients(
            StorageManagementClient, ResourceManagementClient, subscription_id=subscription_id
        )

    def seed_account(
        self,
        name,
        resource_group=RG,
        location="westeurope",
        containers=(),
        kind="StorageV2",
        data_role=True,
        shared_key=False,
    ):
        """A storage account made in the portal: shared key access off unless ``shared_key`` (what
        Azure Policy requires), and with ``data_role`` the sandbox user given Storage Blob Data
        Contributor on it, as its administrator would."""
        storage, resources = self.portal()
        resources.resource_groups.create_or_update(resource_group, {"location": location})
        created = storage.storage_accounts.begin_create(
            resource_group,
            name,
            {
                "location": location,
                "kind": kind,
                "sku": {"name": "Standard_LRS"},
                "properties": {"allowSharedKeyAccess": shared_key},
            },
        ).result()
        for container in containers:
            storage.blob_containers.create(resource_group, name, container, {})
        if data_role:
            self.emu.control.assign_role(defaults.USER_OID, defaults.ROLE_BLOB_DATA_CONTRIBUTOR, created.id)
        return created

    def portal_update(self, name, properties, resource_group=RG):
        storage, _resources = self.portal()
        storage.storage_accounts.update(resource_group, name, {"properties": properties})

    def quick_setup(self, account):
        action = account.action_storage_quick_setup()
        return self.env["cloud.storage.setup"].browse(action["res_id"])

    def select(self, wizard, name):
        line = wizard.line_ids.filtered(lambda line: line.name == name)
        self.assertEqual(len(line), 1, wizard.line_ids.mapped("name"))
        line.action_select()
        return wizard

    def ready_storage(self, account, name="oecready", container="odoo-backups"):
        """A location set up through the wizard, its access tested."""
        self.seed_account(name)
        wizard = self.select(self.quick_setup(account), name)
        wizard.write({"container_mode": "new", "new_container": container})
        storage = self.storage_of(wizard.action_test_access())
        self.assertEqual(storage.state, "ready", storage.last_error)
        return storage

    def storage_of(self, action):
        """The location a successful Quick Setup ended on: its form, or the backup settings
        of this database on it, made then (when it had none yet)."""
        if action["res_model"] == "cloud.storage":
            return self.env["cloud.storage"].browse(action["res_id"])
        self.assertEqual(action["res_model"], "cloud.backup.policy")
        return self.env["cloud.backup.policy"].browse(action["res_id"]).storage_id

    def assertPosted(self, record, text):
        bodies = record.message_ids.mapped("body")
        self.assertTrue(any(text in (body or "") for body in bodies), bodies)

    def storage_message(self, code, **values):
        """The English message of a storage code, as people read it (with its reference)."""
        text = str(MESSAGES[STORAGE[code][1]])
        return "%s (%s)" % (text % values if values else text, code)
