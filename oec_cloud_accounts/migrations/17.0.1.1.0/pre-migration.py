# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""17.0.1.1.0: the account form's Disconnect button is now action_confirm_disconnect (it asks
first). The DNS and Storage Quick Setup views placed their buttons before the old one: while
the account form is updated, Odoo checks it with the views inheriting it, and their old
versions no longer find their place. They are removed here, before the update, and made
again from their files."""

# views of this module whose place in the account form moved (no user view inherits them)
MOVED = ("cloud_account_view_form_dns", "cloud_account_view_form_storage")


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        DELETE FROM ir_ui_view
         WHERE id IN (SELECT res_id FROM ir_model_data
                       WHERE module = 'oec_cloud_accounts' AND model = 'ir.ui.view' AND name IN %s)
        """,
        (MOVED,),
    )
    cr.execute(
        "DELETE FROM ir_model_data"
        " WHERE module = 'oec_cloud_accounts' AND model = 'ir.ui.view' AND name IN %s",
        (MOVED,),
    )
