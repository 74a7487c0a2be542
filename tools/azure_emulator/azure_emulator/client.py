"""Thin Python client for the control API (stdlib only, trusts the emulator CA)."""

import contextlib
import json
import ssl
import urllib.error
import urllib.request
from urllib.parse import quote


class ControlError(Exception):
    pass


class ControlClient:
    def __init__(self, base_url, ca_path=None, timeout=10):
        self.base_url = base_url.rstrip("/") + "/_emulator"
        self.timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_path) if base_url.startswith("https") else None
        # Never through a proxy: the emulator is on loopback.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self._context)
        )

    def call(self, method, path, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ControlError("%s %s -> %s: %s" % (method, path, exc.code, exc.read()[:500])) from exc

    # -- inspection ------------------------------------------------------------------------------
    def state(self):
        return self.call("GET", "/state")

    def requests(self):
        return self.call("GET", "/requests")["requests"]

    def reset(self):
        return self.call("POST", "/reset")

    def issued_secrets(self):
        """[{"kind", "value"}]: every token, code, refresh token, storage key, client secret and
        SAS signature (seen on the blob endpoint) the emulator handed out since it started."""
        return self.call("GET", "/secrets")["secrets"]

    # -- directory -------------------------------------------------------------------------------
    def add_user(self, email=None, name=None, tenant=None, oid=None, **extra):
        """``extra``: e.g. ``claims={...}`` merged into every id_token, ``sub``."""
        return self.call("POST", "/users", dict(extra, email=email, name=name, tenant=tenant, oid=oid))

    def update_user(self, user, **changes):
        """``password_changed=True`` invalidates the user's refresh tokens (AADSTS50173)."""
        return self.call("PATCH", "/users/" + quote(user, safe=""), changes)

    def add_group(self, id=None, name=None, tenant=None, members=None, member_of=None):
        """A directory group; ``members``: user emails or oids; ``member_of``: parent group ids.
        Users' own memberships: ``update_user(user, groups=[ids])``; app roles:
        ``update_user(user, app_roles={client_id: [values]})``."""
        payload = {"id": id, "name": name, "tenant": tenant, "members": members, "member_of": member_of}
        return self.call("POST", "/groups", payload)

    def frontchannel_logout(self, user=None, sid=None):
        """End the user's (or one) Entra session(s) and call the apps' front-channel
        logout URLs as a browser would: ``{"calls": [{"url", "status"}]}``."""
        return self.call("POST", "/frontchannel_logout", {"user": user, "sid": sid})

    def update_app(self, client_id, **changes):
        """e.g. ``redirect_uris=[...]``, ``implicit_id_token=False``,
        ``consent="admin_required"``, ``secret=``."""
        return self.call("PATCH", "/apps/" + quote(client_id, safe=""), changes)

    def add_managed_identity(self, client_id=None, principal_id=None, system_assigned=False, **extra):
        """A managed identity of the host (user-assigned unless ``system_assigned``); the seeded
        system-assigned one is defaults.MANAGED_IDENTITY_*."""
        payload = dict(extra, client_id=client_id, principal_id=principal_id, system_assigned=system_assigned)
        return self.call("POST", "/managed_identities", payload)

    def remove_managed_identity(self, client_id):
        return self.call("DELETE", "/managed_identities/" + quote(client_id, safe=""))

    def set_identity_header(self, value):
        """The host's IDENTITY_HEADER (App Service): requests without it are refused."""
        return self.call("POST", "/managed_identities", {"identity_header": value})

    def trust_managed_identity(self, client_id, subject, issuer, audiences=None, name="odoo-host"):
        """Certificates & secrets > Federated credentials of the app ``client_id``: trust tokens of
        ``issuer`` with this ``subject`` (a managed identity's object id); replaces the list."""
        credential = {
            "name": name,
            "issuer": issuer,
            "subject": subject,
            "audiences": audiences or ["api://AzureADTokenExchange"],
        }
        return self.update_app(client_id, federated_credentials=[credential])

    def federated_token(self, issuer, subject, audience=None, ttl=3600):
        """A token of another issuer (Kubernetes workload identity's file), signed by the emulator."""
        payload = {"issuer": issuer, "subject": subject, "audience": audience, "ttl": ttl}
        return self.call("POST", "/federated_tokens", payload)["token"]

    def add_subscription(self, id=None, tenant=None, name=None, providers=None, state="Enabled", users=None):
        payload = {"id": id, "tenant": tenant, "name": name, "providers": providers, "state": state}
        if users is not None:
            payload["users"] = users
        return self.call("POST", "/subscriptions", payload)

    def update_subscription(self, subscription_id, **changes):
        """``quotas={"westeurope": {"standardBSFamily": 2}}``,
        ``sku_restrictions={"westeurope": ["Standard_B2s"]}``, ``state="Disabled"``."""
        return self.call("PATCH", "/subscriptions/" + subscription_id, changes)

    def set_provider_state(self, namespace, state="Registered", subscription=None):
        return self.call(
            "POST", "/providers", {"namespace": namespace, "state": state, "subscription": subscription}
        )

    # -- tokens ----------------------------------------------------------------------------------
    def revoke_refresh_tokens(self, user=None, client_id=None, token=None):
        return self.call(
            "POST", "/refresh_tokens/revoke", {"user": user, "client_id": client_id, "token": token}
        )

    def expire_refresh_tokens(self, user=None, client_id=None, token=None):
        return self.call(
            "POST", "/refresh_tokens/expire", {"user": user, "client_id": client_id, "token": token}
        )

    def expire_codes(self):
        return self.call("POST", "/codes/expire")

    def next_id_token_claims(self, claims=None, remove=None, preset=None, count=1):
        """Override the next ``count`` id_tokens. Presets: expired, not_yet_valid,
        wrong_aud, wrong_iss, wrong_tid, bad_signature, unknown_kid, no_nonce, wrong_nonce."""
        return self.call(
            "POST",
            "/id_token_overrides",
            {"claims": claims, "remove": remove, "preset": preset, "count": count},
        )

    def rotate_keys(self, mode="swap"):
        """``swap``: sign with the other published key; ``new``: publish and use a new kid."""
        return self.call("POST", "/keys/rotate", {"mode": mode})

    def set_auto_consent(self, user=None, action="accept"):
        """Answer the authorize page at once as ``user`` (None: show the page);
        ``action="cancel"`` answers access_denied/AADSTS65004."""
        return self.call("POST", "/auto_consent", {"user": user, "action": action})

    @contextlib.contextmanager
    def auto_consent(self, user=None, action="accept"):
        """Within the block, the authorize endpoint answers at once as ``user``
        (as Entra does for a person already signed in who consented), so that a
        browser test goes from Odoo to Microsoft and back without a page to click."""
        self.set_auto_consent(user, action)
        try:
            yield
        finally:
            self.set_auto_consent(None)

    def issue_token(self, user=None, scope=None, client_id=None, offset=0, claims=None):
        """An access token minted directly (``offset=-7200`` gives an expired one)."""
        return self.call(
            "POST",
            "/tokens",
            {"user": user, "scope": scope, "client_id": client_id, "offset": offset, "claims": claims},
        )

    # -- faults and timing -----------------------------------------------------------------------
    def inject_fault(
        self,
        path=".*",
        method=".*",
        status=None,
        code=None,
        message=None,
        count=1,
        service="any",
        headers=None,
        delay=None,
        drop=False,
        aadsts=None,
        details=None,
        body=None,
        content_type=None,
        hold=None,
    ):
        """The next ``count`` requests (None: all) whose method matches and whose
        path (+query) matches the regex get ``status``/``code``, or are delayed
        (``delay`` seconds) or dropped. ``service``: any, arm, entra, graph, blob, prices.
        ``body`` (with ``content_type``, default text/html): answer that raw text instead
        of the service's error shape, as a proxy's or firewall's error page would. ``hold``:
        "before" keeps the request waiting before it is served, "after" serves it and keeps its
        answer waiting, until ``release(fault id)`` (``holds()`` tells which arrived). A 429 on a
        Microsoft.Compute path with no ``code`` answers Compute's throttling body (see README)."""
        return self.call(
            "POST",
            "/faults",
            {
                "path": path,
                "method": method,
                "status": status,
                "code": code,
                "message": message,
                "count": count,
                "service": service,
                "headers": headers,
                "delay": delay,
                "drop": drop,
                "aadsts": aadsts,
                "details": details,
                "body": body,
                "content_type": content_type,
                "hold": hold,
            },
        )

    def holds(self):
        """The hold faults: ``[{id, path, stage, arrived: [{method, path, time}], released}]``."""
        return self.call("GET", "/holds")["holds"]

    def release(self, fault_id):
        return self.call("POST", "/holds/%s/release" % quote(fault_id, safe=""))

    def counters(self):
        """``{"refresh_tokens": {token: {redeemed, parent, user, issued}}, "operations":
        {"PUT /subscriptions/...": count}}``: counted since the start (or the last reset)."""
        return self.call("GET", "/counters")

    def mint_refresh_token(self, user=None, client_id=None, scope=None):
        """A refresh token for ``user`` (default: the sandbox administrator), as a sign-in would
        issue: ``{"refresh_token", "user", "tenant"}``."""
        return self.call("POST", "/refresh_tokens", {"user": user, "client_id": client_id, "scope": scope})

    def clear_faults(self):
        return self.call("DELETE", "/faults")

    def lro_fail(self, path=".*", code="InternalServerError", message=None, method="*", count=1):
        """The next LRO started by a matching request ends Failed with ``code``."""
        return self.call(
            "POST",
            "/lro_failures",
            {"path": path, "code": code, "message": message, "method": method, "count": count},
        )

    def assign_role(self, principal, role, scope, delay=0, name=None):
        """Assign a built-in role (defaults.ROLE_*) at ``scope``, effective after ``delay`` seconds."""
        payload = {"principal": principal, "role": role, "scope": scope, "delay": delay}
        if name:
            payload["name"] = name
        return self.call("POST", "/role_assignments", payload)

    def apply_role_assignments(self):
        """End the propagation delay of every role assignment made so far (Azure applied them)."""
        return self.call("POST", "/role_assignments/apply", {})

    def configure(self, **config):
        """e.g. ``lro_polls=3``, ``lro_seconds=1.5``, ``registration_polls=0``, ``retry_after=0``,
        ``code_ttl``, ``prices_page_size``."""
        return self.call("POST", "/config", config)
