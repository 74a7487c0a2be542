"""In-memory state of one emulator instance and the seeded sandbox.

Plain dicts on purpose: the control API dumps them as JSON and `reset()`
rebuilds them from the seed in microseconds.
"""

import copy
import uuid

from . import defaults as d

DEFAULT_CONFIG = {
    # An LRO reports InProgress to this many status polls (or resource GETs)
    # before it ends, and not before `lro_seconds` have passed.
    "lro_polls": 1,
    "lro_seconds": 0.0,
    # A provider asked to register answers Registering to this many reads of it
    # (a GET of the provider, or the list), then Registered: real registration
    # takes minutes (Learn, "Resolve errors for resource provider registration").
    # 0: registered at once.
    "registration_polls": 3,
    # azure-core prefers Retry-After over its polling_interval: keep it 0.
    "retry_after": 0,
    "code_ttl": 600,
    "access_token_ttl": 3600,
    "id_token_ttl": 3600,
    "refresh_token_ttl": 90 * 24 * 3600,
    "prices_page_size": 100,
    # Accept any http(s)://localhost|127.0.0.1:* redirect for apps without
    # exact redirect URIs.
    "loopback_redirects": True,
    # Seconds before Azure applies a new role assignment (minutes on Azure): 0, at once.
    "role_propagation_seconds": 0,
}


def new_id():
    return str(uuid.uuid4())


def tenant(tid, domain, name):
    return {"id": tid, "domain": domain, "name": name, "domains": [domain]}


def user(tid, email, name, oid=None, **extra):
    given, _, family = name.partition(" ")
    record = {
        "oid": oid or new_id(),
        "tenant": tid,
        "email": email,
        "upn": email,
        "name": name,
        "given_name": given,
        "family_name": family,
        "password_changed": None,
        "claims": {},
        # object ids of the groups the user is a direct member of (see seed "groups")
        "groups": [],
        # client_id -> app role values assigned to the user for that app
        "app_roles": {},
        # may grant tenant-wide admin consent (Privileged Role, Cloud Application or
        # Application Administrator); others see "Need admin approval" on adminconsent
        "consent_admin": False,
    }
    record.update(extra)
    return record


def app(client_id, name, secret=None, home_tenant=d.TENANT_ID, **extra):
    record = {
        "client_id": client_id,
        "name": name,
        "secrets": [secret] if secret else [],
        "home_tenant": home_tenant,
        # None: any loopback redirect (see config); a list: exact matches only.
        "redirect_uris": None,
        "implicit_id_token": False,
        "implicit_access_token": False,
        "multi_tenant": True,
        # "granted", "required" (the user is asked) or "admin_required".
        "consent": "granted",
        # API permissions > Microsoft Graph (delegated) of the registration, what
        # https://graph.microsoft.com/.default stands for: User.Read on a new one
        "graph_permissions": ["User.Read"],
        # Token configuration > groups claim: emit the user's (transitive) groups
        "groups_claim": False,
        # Above this many groups a JWT carries the overage claim instead
        # (Microsoft: 200; the implicit flow's limit is 6, IMPLICIT_GROUP_LIMIT)
        "group_overage_limit": 200,
        # group object id -> app role values assigned to that group's members
        "group_roles": {},
        # Front-channel logout URL (Authentication page of the app registration)
        "frontchannel_logout_url": None,
        # Certificates & secrets > Federated credentials: {"name", "issuer", "subject", "audiences"}
        # (managed_identity.check_assertion)
        "federated_credentials": [],
    }
    record.update(extra)
    return record


def subscription(sid, tid, name, providers=None, state="Enabled"):
    regs = {ns: "Registered" for ns in d.DEFAULT_PROVIDERS}
    regs.update(providers or {})
    return {
        "id": sid,
        "tenant": tid,
        "name": name,
        "state": state,
        "providers": regs,
        # family -> limit, per location; missing uses defaults.FAMILY_QUOTA.
        "quotas": {},
        "sku_restrictions": {},
    }


def seed(options=None):
    """The default sandbox; ``options`` are CLI/helper overrides."""
    options = options or {}
    redirect_uris = options.get("redirect_uris") or None
    tenants = {
        d.TENANT_ID: tenant(d.TENANT_ID, d.TENANT_DOMAIN, d.TENANT_NAME),
        d.OTHER_TENANT_ID: tenant(d.OTHER_TENANT_ID, d.OTHER_TENANT_DOMAIN, d.OTHER_TENANT_NAME),
    }
    users = [
        user(d.TENANT_ID, d.USER_EMAIL, d.USER_NAME, d.USER_OID, consent_admin=True),
        user(d.TENANT_ID, d.SECOND_USER_EMAIL, d.SECOND_USER_NAME, d.SECOND_USER_OID),
        user(d.OTHER_TENANT_ID, d.OTHER_USER_EMAIL, d.OTHER_USER_NAME, d.OTHER_USER_OID),
    ]
    signin_id = options.get("signin_client_id") or d.SIGNIN_CLIENT_ID
    cloud_id = options.get("cloud_client_id") or d.CLOUD_CLIENT_ID
    apps = {
        signin_id: app(
            signin_id,
            d.SIGNIN_APP_NAME,
            options.get("signin_client_secret") or d.SIGNIN_CLIENT_SECRET,
            implicit_id_token=True,
            implicit_access_token=True,
            redirect_uris=redirect_uris,
        ),
        cloud_id: app(
            cloud_id,
            d.CLOUD_APP_NAME,
            options.get("cloud_client_secret") or d.CLOUD_CLIENT_SECRET,
            redirect_uris=redirect_uris,
        ),
    }
    subs = {
        d.SUBSCRIPTION_ID: subscription(d.SUBSCRIPTION_ID, d.TENANT_ID, d.SUBSCRIPTION_NAME),
        d.UNREGISTERED_SUBSCRIPTION_ID: subscription(
            d.UNREGISTERED_SUBSCRIPTION_ID,
            d.TENANT_ID,
            d.UNREGISTERED_SUBSCRIPTION_NAME,
            providers={"Microsoft.Compute": "NotRegistered", "Microsoft.Network": "NotRegistered"},
        ),
    }
    config = dict(DEFAULT_CONFIG)
    config.update(options.get("config") or {})
    auto_consent = options.get("auto_consent")
    from .arm_authorization import seed_assignments  # pylint: disable=import-outside-toplevel

    return {
        "config": config,
        "tenants": tenants,
        "users": {u["oid"]: u for u in users},
        "apps": apps,
        "subscriptions": subs,
        # The user auto-consent answers as (None: show the consent page).
        "auto_consent": {"user": auto_consent, "action": "accept"} if auto_consent else None,
        # Emulated resources by lower-cased id; LRO operations by id.
        "resources": {},
        "operations": {},
        "codes": {},
        "refresh_tokens": {},
        "pending_authorizations": {},
        "faults": [],
        "lro_failures": [],
        "id_token_overrides": [],
        # group object id -> {"id", "displayName", "tenant", "member_of": [group ids]}
        "groups": {},
        # Entra sign-in sessions: sid -> {"user": oid, "apps": [client ids]}
        "sessions": {},
        "ip_counter": 10,
        # the managed identities of the host Odoo runs on, by client id, and the host's
        # IDENTITY_HEADER (managed_identity.py)
        "managed_identities": {d.MANAGED_IDENTITY_CLIENT_ID: _seed_identity()},
        "managed_identities_header": d.MANAGED_IDENTITY_HEADER,
        # Microsoft.Authorization role assignments by name (arm_authorization.py)
        "role_assignments": seed_assignments(subs, d.USER_OID),
    }


def _seed_identity():
    from .managed_identity import seed_identity  # pylint: disable=import-outside-toplevel

    return seed_identity()


class State:
    """Holds the live dict and the seed it can be reset to."""

    def __init__(self, options=None):
        self._seed = seed(options)
        self.data = copy.deepcopy(self._seed)

    def reset(self):
        self.data = copy.deepcopy(self._seed)

    def __getitem__(self, key):
        return self.data[key]

    def __setitem__(self, key, value):
        self.data[key] = value

    @property
    def config(self):
        return self.data["config"]

    def find_tenant(self, key):
        """A tenant by GUID or any of its domains (case-insensitive)."""
        if not key:
            return None
        key = key.lower()
        for t in self.data["tenants"].values():
            if t["id"] == key or key in (dom.lower() for dom in t["domains"]):
                return t
        return None

    def find_user(self, key):
        """A user by object id, email or UPN (case-insensitive)."""
        if not key:
            return None
        key = key.lower()
        for u in self.data["users"].values():
            if key in (u["oid"], u["email"].lower(), u["upn"].lower()):
                return u
        return None
