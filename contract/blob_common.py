"""What the Blob Storage contract tests share: a recorded account, its container and key (never a
real one), and services/blob.py's BlobStore aimed at the replay."""

import base64

from odoo.addons.oec_cloud_accounts.services.arm import StaticTokenCredential
from odoo.addons.oec_cloud_accounts.services.blob import BlobStore

ACCOUNT = "oecbackups"
CONTAINER = "backups"
KEY = base64.b64encode(b"recorded storage account key, never a real one.....").decode()
OWNER = {"oec_db_uuid": "this-database"}
TOKEN = "recorded-storage-token"


def make_store(replay, credential=None, **options):
    """A BlobStore of the recorded account on the replay (path-style URL, as Azurite serves it),
    reaching it as the product does, with a Microsoft Entra token (``credential=KEY``: the shared
    key fallback), with no wait between the SDK's retries unless ``options`` say otherwise."""
    options.setdefault("backoff", 0)
    return BlobStore(
        "%s/%s" % (replay.base, ACCOUNT),
        credential or StaticTokenCredential(TOKEN, 4102444800),
        CONTAINER,
        ca_bundle=replay.ca_path,
        account_name=ACCOUNT,
        timeout=5,
        **options,
    )
