# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""17.0.1.2.0: provisioning starts the network security group and the virtual network at once
(step ``network``) instead of in the steps ``nsg`` and ``vnet``, which no longer exist. A server
that was at one of them, running or failed there, goes to ``network``: its PUTs are sent again
(a PUT of what exists changes nothing) and the operation it followed is forgotten (its token
was of one resource; the network step keeps those of both). Servers at ``public_ip`` or ``nic``
keep them: those steps remain for them (cloud_server.LEGACY_STEPS)."""

OLD_STEPS = ("nsg", "vnet")


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        UPDATE cloud_server
           SET step = 'network', lro_token = NULL, lro_kind = NULL
         WHERE step IN %s
        """,
        (OLD_STEPS,),
    )
    cr.execute("UPDATE cloud_server SET failed_step = 'network' WHERE failed_step IN %s", (OLD_STEPS,))
