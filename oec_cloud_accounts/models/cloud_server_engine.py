"""The servers' state machine: one short, repeatable step per transaction.

A step either finishes at once (a PUT Azure answers synchronously, a read) or
starts long-running operations whose continuation tokens are stored on the
server; the next passes ask Azure once each where they stand. Names are
deterministic and every write is a PUT, so a step that ran but whose
transaction was lost (Odoo killed, database restarted) is simply sent again.

Provisioning waits for as few operations one after the other as Azure allows:
the resource group (synchronous), then the network security group and the
virtual network at once (``network``: both tokens kept, polled together), then
the VM, with which Compute creates its NIC (carrying the NSG) and its public IP
in the same request (``vm``), then ``finalize``. With every operation lasting T,
Provision to Running takes about 2 T (tools/bench/bench_provision.py). The next
look at an operation is scheduled when Azure's ``Retry-After`` says it may be
over (the configured poll interval when Azure says nothing), never slept.
"""

import json
import logging
import re
import time
from collections import namedtuple
from datetime import datetime, timedelta

from odoo import _, api, fields, models
from odoo.exceptions import RedirectWarning, UserError
from odoo.tools import SQL

from ..services import AzureError
from ..services.cloud_init import cloud_config, custom_data, master_password_hash
from ..services.compute import NIC, NSG, PUBLIC_IP, SUBNET, VNET, ComputeClient
from ..services.errors import KIND_TRANSIENT
from .cloud_account import RECONNECT
from .cloud_account_tokens import ACTIVITY_TYPE
from .cloud_server import LEGACY_STEPS, PROVISION_STEPS, computer_name, parse_cidrs, parse_ssh_public_key

_logger = logging.getLogger(__name__)

# how the resources this addon creates are recognised (and the only ones it deletes)
TAG_CREATOR = "created-by"
TAG_CREATOR_VALUE = "odoo-oec_cloud_accounts"
TAG_DATABASE = "odoo-database-uuid"
TAG_SERVER = "odoo-server-id"
POLL_PARAM = "oec_cloud_accounts.server_poll_seconds"
POLL_DEFAULT = 10  # seconds between two looks at a running Azure operation
_ORDER = [key for key, _label in PROVISION_STEPS]
NEXT_STEP = dict(zip(_ORDER, [*_ORDER[1:], None], strict=True))
NEXT_STEP.update(vm_action="finalize", delete_group=None)
# servers upgraded while at a step of 17.0.1.1.0's chain go on along it (migrations/17.0.1.2.0)
NEXT_STEP.update(public_ip="nic", nic="vm")
assert set(NEXT_STEP) >= {key for key, _label in LEGACY_STEPS}
# the operations of the network step, started together (lro_kind "network": lro_token holds
# {kind: token} of those still running)
NETWORK = "network"
# not finished: look again in ``retry_after`` seconds (None: Azure did not say)
Pending = namedtuple("Pending", "retry_after")

# the key of an AzureError (its message is in azure_messages.py)
FOREIGN_GROUP = "server.foreign_group"


class CloudServer(models.Model):
    # a concern file of cloud.server, named in ARCHITECTURE.md
    _inherit = "cloud.server"  # pylint: disable=consider-merging-classes-inherited

    # -- pre-flight: before anything is created ---------------------------------------------------

    def _preflight(self):
        """Refuse early, with the numbers, what Azure would refuse minutes later."""
        for server in self:
            account = server.account_id
            if account.state != "active":
                raise UserError(_("The account %s is not active: reconnect it first.", account.display_name))
            sub = server.subscription_id
            with account._azure_errors():
                arm = account._arm(ComputeClient)
                providers = arm.get_providers(sub, ("Microsoft.Compute", "Microsoft.Network"))
                missing = [ns for ns, p in providers.items() if p["state"] != "Registered"]
                if missing:
                    server._missing_providers(missing)
                sizes = {size["name"]: size for size in arm.list_vm_sizes(sub, server.location)}
                size = sizes.get(server.vm_size)
                if not size:
                    raise UserError(
                        _(
                            "The size %(size)s is not available to this subscription in %(region)s "
                            "(SkuNotAvailable): pick another size or region.",
                            size=server.vm_size,
                            region=server.location_label,
                        )
                    )
                usages = arm.get_usages(sub, server.location)
            for key in (size["family"], "cores"):
                usage = usages.get(key)
                if usage and usage["current"] + size["vcpus"] > usage["limit"]:
                    raise UserError(
                        _(
                            "Not enough quota for %(size)s in %(region)s: %(label)s uses %(current)s of "
                            "%(limit)s vCPUs and this size needs %(need)s more. Ask Azure for more in the "
                            "portal (Subscription > Usage + quotas > Request increase), or pick a smaller "
                            "size or another region.",
                            size=server.vm_size,
                            region=server.location_label,
                            label=usage["label"],
                            current=usage["current"],
                            limit=usage["limit"],
                            need=size["vcpus"],
                        )
                    )
            server.write({"vcpus": size["vcpus"], "memory_gb": size["memory_gb"]})

    def _missing_providers(self, missing):
        action_record = self.env.ref("oec_cloud_accounts.cloud_account_subscription_action")
        message = _(
            "%(providers)s must be registered on the subscription %(sub)s before a server can be created "
            "(MissingSubscriptionRegistration): click Register on the subscription, wait a few minutes, "
            "then provision again.",
            providers=", ".join(missing),
            sub=self.subscription_line_id.name,
        )
        raise RedirectWarning(
            message,
            action_record.id,
            _("Open the subscriptions"),
            {"search_default_account_id": self.account_id.id},
        )

    # -- scheduled action ---------------------------------------------------------------------------

    @api.model
    def _cron_advance(self, batch_size=20, budget=0):
        """Advance due servers one step each, one transaction per step.

        Rows are picked by cloud.job.mixin (FOR UPDATE SKIP LOCKED): several cron workers share
        the servers, never run one server's step twice at once, and never wait
        on each other. ``budget``: seconds this run may go on while Azure works,
        waking for each server when it is due (the scheduled action passes 50:
        Odoo's cron thread looks at future triggers only once a minute, which
        would make every Azure operation last a minute or more).
        """
        deadline = time.monotonic() + budget
        total = 0
        while True:
            count = self._advance_due(batch_size)
            total += count
            wait = 0 if count == batch_size else self._seconds_to_next()
            if wait is None:
                return total
            if time.monotonic() + wait >= deadline:
                self._schedule_next_pass(more=count == batch_size)
                return total
            # nothing held while Azure works: no lock, no open transaction
            self.env.cr.commit()  # pylint: disable=invalid-commit
            time.sleep(wait)

    @api.model
    def _due_condition(self):
        """SQL: the servers in progress, but those of an account that needs Reconnect: they keep their
        state and step, untried, until it is reconnected."""
        return SQL("operation IS NOT NULL AND state != 'failed' AND %s", self._job_account_active())

    @api.model
    def _advance_due(self, batch_size):
        return self._job_run_due(
            self._name,
            # the clock of this process, not the transaction's start (now() in SQL)
            SQL(
                "%s AND (next_run_at IS NULL OR next_run_at <= %s)",
                self._due_condition(),
                _now(),
            ),
            SQL("next_run_at NULLS FIRST, id"),
            "step",
            lambda server: server._advance(),
            batch_size,
        )

    @api.model
    def _next_due_at(self):
        """When the next server in progress is due (None: none is)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT min(coalesce(next_run_at, %s)) FROM cloud_server WHERE %s",
                _now(),
                self._due_condition(),
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _seconds_to_next(self):
        when = self._next_due_at()
        if when is None:
            return None
        return max((when - _now()).total_seconds(), 0.2)

    @api.model
    def _schedule_next_pass(self, more=False):
        """Wake the scheduled action when the next server is due (at once if more are)."""
        cron = self.env.ref("oec_cloud_accounts.ir_cron_cloud_server")
        if more:
            cron._trigger()
            return
        when = self._next_due_at()
        if when:
            cron._trigger(at=max(when, fields.Datetime.now()))

    def _advance(self):
        self.ensure_one()
        step = self.step
        finished = getattr(self, "_step_" + step)()
        # the step went through: the last failure (a transient one, a wait for the account) is over
        done = {"retry_count": 0, "last_error": False, "last_error_code": False}
        if finished is not True:
            self.write(dict(done, next_run_at=self._next_look(finished)))
            return
        following = NEXT_STEP[step]
        if following:
            self.write(dict(done, step=following, next_run_at=False))
        else:
            self._finish()

    def _next_look(self, pending):
        """When to ask Azure again: when its Retry-After says the operation may be over (to the
        microsecond: next_run_at keeps them), else after the configured poll interval."""
        wait = getattr(pending, "retry_after", None)
        if wait is None:
            wait = float(self.env["ir.config_parameter"].sudo().get_param(POLL_PARAM, POLL_DEFAULT))
        return _now() + timedelta(seconds=max(wait, 0))

    def _finish(self):
        labels = dict(self._fields["operation"]._description_selection(self.env))
        operation = self.operation
        self.write(
            {
                "operation": False,
                "step": False,
                "next_run_at": False,
                "retry_count": 0,
                "last_error": False,
                "last_error_code": False,
            }
        )
        elapsed = (
            fields.Datetime.now() - (self.operation_started_at or fields.Datetime.now())
        ).total_seconds()
        if operation != "refresh":
            self._message_log(body=_("%(op)s done in %(seconds)d s.", op=labels[operation], seconds=elapsed))
        self.activity_feedback([ACTIVITY_TYPE], feedback=_("The server's operation succeeded."))

    # -- the steps (True: finished, go on; False: Azure is still working) ---------------------------

    def _step_resource_group(self):
        arm = self._client()
        group = self._resource_group_name()
        existing = arm.get_resource_group(self.subscription_id, group)
        if existing is not None and not self._ours(existing["tags"]):
            raise AzureError(FOREIGN_GROUP, code="ForeignResourceGroup", params={"group": group})
        arm.create_resource_group(self.subscription_id, group, self.location, self._tags())
        self.write({"resource_group": group, "vm_name": computer_name(self)})
        return True

    def _step_network(self):
        """The network security group and the virtual network at once: neither needs the other
        (the NSG goes on the VM's NIC, not on the subnet)."""
        cidrs = parse_cidrs(self.ssh_allowed_cidrs)
        sub, group, location, tags = self.subscription_id, self.resource_group, self.location, self._tags()
        return self._lros(
            NETWORK,
            {
                "nsg": lambda arm: arm.begin_create_nsg(sub, group, location, cidrs, tags, https=self.https),
                "vnet": lambda arm: arm.begin_create_vnet(sub, group, location, None, tags),
            },
        )

    def _step_public_ip(self):
        """17.0.1.1.0's chain (a server upgraded while at this step): the public IP on its own."""
        finished = self._lro(
            "public_ip",
            lambda arm: arm.begin_create_public_ip(
                self.subscription_id, self.resource_group, self.location, self._tags()
            ),
        )
        if finished is True:
            self._record_public_ip()
        return finished

    def _step_nic(self):
        """17.0.1.1.0's chain: the NIC on its own, on the public IP made on its own."""
        sub, group = self.subscription_id, self.resource_group
        subnet_id = ComputeClient.resource_id(sub, group, "Microsoft.Network/virtualNetworks", VNET, SUBNET)
        ip_id = ComputeClient.resource_id(sub, group, "Microsoft.Network/publicIPAddresses", PUBLIC_IP)
        # the NSG on the NIC as well: the subnet has it only if the virtual network was made before
        nsg_id = ComputeClient.resource_id(sub, group, "Microsoft.Network/networkSecurityGroups", NSG)
        return self._lro(
            "nic",
            lambda arm: arm.begin_create_nic(
                sub, group, self.location, subnet_id, ip_id, self._tags(), nsg_id=nsg_id
            ),
        )

    def _step_vm(self):
        """The VM, with its NIC and public IP made by Compute in the same request; the A record
        as soon as the address exists, while the VM is being created (its first boot asks Let's
        Encrypt for the name's certificate, and tries again for minutes)."""
        sub, group = self.subscription_id, self.resource_group
        finished = self._lro(
            "vm", lambda arm: arm.begin_create_vm(sub, group, self.vm_name, self._vm_spec(arm), self._tags())
        )
        if not self.public_ip:
            self._record_public_ip()
        return finished

    def _vm_spec(self, arm):
        sub, group = self.subscription_id, self.resource_group
        spec = {
            "location": self.location,
            "size": self.vm_size,
            "image": self.image,
            "admin_username": self.admin_username,
            # the one key line checked, its comment bounded
            "ssh_public_key": parse_ssh_public_key(self.ssh_public_key)[2],
            "os_disk_gb": self.os_disk_gb,
            "computer_name": self.vm_name,
            "custom_data": custom_data(self._cloud_config()),
        }
        if arm.nic_exists(sub, group, NIC):
            # made on its own by 17.0.1.1.0's chain (with its public IP): the VM takes it as it is
            spec["nic_id"] = ComputeClient.resource_id(sub, group, "Microsoft.Network/networkInterfaces", NIC)
        else:
            spec["subnet_id"] = ComputeClient.resource_id(
                sub, group, "Microsoft.Network/virtualNetworks", VNET, SUBNET
            )
            spec["nsg_id"] = ComputeClient.resource_id(
                sub, group, "Microsoft.Network/networkSecurityGroups", NSG
            )
        return spec

    def _record_public_ip(self):
        """The public IP's address on the server and in its A record, once Azure has one."""
        address = self._client().get_public_ip(self.subscription_id, self.resource_group)
        if address:
            self.write({"public_ip": address})
            self._sync_dns()

    def _step_vm_action(self):
        return self._lro(
            self.operation,
            lambda arm: arm.begin_vm_action(
                self.subscription_id, self.resource_group, self.vm_name, self.operation
            ),
        )

    def _step_finalize(self):
        arm = self._client()
        vm = arm.get_vm_state(self.subscription_id, self.resource_group, self.vm_name)
        if vm is None:
            raise AzureError(
                "server.vm_gone",
                code="ResourceNotFound",
            )
        power = vm["power_state"]
        address = arm.get_public_ip(self.subscription_id, self.resource_group)
        state = "running" if power in ("running", "starting") else "stopped"
        if self.state in ("running", "stopped") and self.state != state or self.public_ip != address:
            self._message_log(
                body=_(
                    "Azure reports the VM's power state: %(power)s; public IP: %(ip)s.",
                    power=self._power_state_words(power),
                    ip=address or "-",
                )
            )
        self.write({"power_state": power, "public_ip": address, "state": state})
        self._sync_dns()
        return True

    def _step_delete_group(self):
        if not self.lro_token:
            # first pass: the A record goes first, while the server still knows its zone
            self._remove_dns()
        if not self.resource_group:
            # failed before its resource group was made: nothing of ours exists in Azure
            self.write({"state": "deleted", "public_ip": False, "power_state": False})
            return True
        arm = self._client()
        if self.lro_token and self.lro_kind == "resource_group_delete":
            finished = arm.poll(self.subscription_id, "resource_group_delete", self.lro_token)
        else:
            existing = arm.get_resource_group(self.subscription_id, self.resource_group)
            if existing is not None and not self._ours(existing["tags"]):
                raise AzureError(
                    FOREIGN_GROUP, code="ForeignResourceGroup", params={"group": self.resource_group}
                )
            token = existing and arm.begin_delete_resource_group(self.subscription_id, self.resource_group)
            self.write({"lro_token": token or False, "lro_kind": token and "resource_group_delete"})
            finished = not token
        if finished:
            self.write(
                {
                    "lro_token": False,
                    "lro_kind": False,
                    "state": "deleted",
                    "public_ip": False,
                    "power_state": False,
                }
            )
            return True
        return Pending(arm.retry_after)

    # -- helpers ------------------------------------------------------------------------------------

    def _lro(self, kind, begin):
        """Start the operation once (keeping its token), then ask once per pass how it goes:
        True when it is over, else Pending (when to look again, as Azure said)."""
        arm = self._client()
        if self.lro_token and self.lro_kind == kind:
            finished = arm.poll(self.subscription_id, kind, self.lro_token)
        else:
            token = begin(arm)
            finished = token is None
            self.write({"lro_token": token or False, "lro_kind": kind})
        if finished:
            self.write({"lro_token": False, "lro_kind": False})
            return True
        return Pending(arm.retry_after)

    def _lros(self, kind, begins):
        """Several operations at once: ``begins`` {kind: begin}. All are started in the first pass
        (their tokens kept together under ``kind``), then each pass asks about those still running;
        True once all are over. One that fails fails the step: Retry sends every PUT again (a PUT
        of what exists changes nothing)."""
        arm = self._client()
        waits = []
        if self.lro_token and self.lro_kind == kind:
            tokens = json.loads(self.lro_token)
            for name, token in list(tokens.items()):
                if arm.poll(self.subscription_id, name, token):
                    del tokens[name]
                else:
                    waits.append(arm.retry_after)
        else:
            tokens = {}
            for name, begin in begins.items():
                token = begin(arm)
                if token:
                    tokens[name] = token
                    waits.append(arm.retry_after)
        self.write(
            {"lro_token": json.dumps(tokens) if tokens else False, "lro_kind": kind if tokens else False}
        )
        if not tokens:
            return True
        # the first one Azure may have finished by then (None: one of them did not say)
        return Pending(None if None in waits else min(waits))

    def _client(self):
        return self.account_id._arm(ComputeClient)

    def _cloud_config(self):
        return cloud_config(
            (self.host_name or "").rstrip(".").lower(),
            master_password_hash(self._ensure_master_password()),
            vcpus=self.vcpus or 2,
            memory_gb=self.memory_gb or 4.0,
            https=self.https,
            email=self._certificate_email(),
        )

    def _certificate_email(self):
        """Where Let's Encrypt writes about the certificate: who provisioned the server, or its company."""
        for email in (self.create_uid.email, self.company_id.email):
            email = (email or "").strip()
            if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                return email
        return None

    def _resource_group_name(self):
        uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid", "")
        return "oec-%s-%s-%d" % (computer_name(self)[:60], uuid[:8], self.id)

    def _tags(self):
        return {
            TAG_CREATOR: TAG_CREATOR_VALUE,
            TAG_DATABASE: self.env["ir.config_parameter"].sudo().get_param("database.uuid", ""),
            TAG_SERVER: str(self.id),
        }

    def _ours(self, tags):
        """A resource group this server created (same database, same record)."""
        wanted = self._tags()
        return all((tags or {}).get(key) == value for key, value in wanted.items())

    def _job_account(self):
        return self.account_id

    def _job_record_failure(self, error, what):
        """A failed step (the account's own failures wait for it instead: cloud.job.mixin).
        Transient: retry the same step later, with backoff. Anything else: Failed, with
        Azure's code, the step and what to do; Retry goes on from that step."""
        self.ensure_one()
        error = self._job_azure_error(error)
        if error.key == RECONNECT:
            # the account was disconnected or archived meanwhile: the server waits for Reconnect as it is
            return
        message = self.account_id._azure_error_message(error, reference=True)
        if error.detail and error.detail not in message:
            message = "%s\n%s" % (message, error.detail)
        if error.kind == KIND_TRANSIENT:
            self._job_retry_later(error, message)
            return
        values = {"last_error": message, "last_error_code": error.code}
        step_labels = dict(self._fields["step"]._description_selection(self.env))
        values.update(
            state="failed",
            failed_step=self.step,
            lro_token=False,
            lro_kind=False,
            next_run_at=False,
            retry_count=0,
        )
        self.write(values)
        note = _(
            "Failed at step %(step)s: %(error)s Retry goes on from that step; Delete removes what was "
            "created.",
            step=step_labels.get(self.failed_step, self.failed_step),
            error=message,
        )
        self._message_log(body=note)
        self.activity_schedule(
            ACTIVITY_TYPE,
            summary=_("Server operation failed"),
            note=note,
            user_id=(self.create_uid or self.env.user).id,
        )


def _now():
    """This process's clock to the microsecond (fields.Datetime.now() drops them: a poll due at
    12:00:05.3 would wait for 12:00:06)."""
    return datetime.now()
