# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""17.0.1.2.0: blobs are reached with a Microsoft Entra token and the Storage Blob Data
Contributor role; the account key only with a location's Shared Key Fallback. The storage
locations made before this version signed with the key and their users may not hold that role
yet: they keep the key (fallback on) so that their backups go on after the upgrade, and say so
in their chatter. An administrator turns the fallback off once Storage Quick Setup shows the
roles granted."""

from odoo import SUPERUSER_ID, _, api


def migrate(cr, version):
    if not version:
        return
    cr.execute("UPDATE cloud_storage SET shared_key_fallback = TRUE RETURNING id")
    ids = [row[0] for row in cr.fetchall()]
    if not ids:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    for storage in env["cloud.storage"].browse(ids):
        storage._message_log(
            body=_(
                "Upgraded: this location keeps signing with the storage account's key (Shared Key "
                "Fallback on), as before. Backups now work without any key through Microsoft Entra ID "
                "and the Storage Blob Data Contributor role: run Storage Quick Setup to check or assign "
                "it, then turn the fallback off."
            )
        )
