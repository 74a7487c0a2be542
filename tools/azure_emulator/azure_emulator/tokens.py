"""JWT minting and checking shared by Entra ID, Graph and ARM."""

import hashlib
import secrets
import time

import jwt
from jwt.utils import base64url_decode, base64url_encode

from . import defaults as d
from .certs import SigningKey

ID_TOKEN_PRESETS = (
    "expired",
    "not_yet_valid",
    "wrong_aud",
    "wrong_iss",
    "wrong_tid",
    "bad_signature",
    "unknown_kid",
    "no_nonce",
    "wrong_nonce",
)


# Microsoft: above 6 groups an implicit-flow id_token says `hasgroups`
# instead of listing them (the URL would be too long).
IMPLICIT_GROUP_LIMIT = 6
LOGIN_HINT_PREFIX = "O.emu."


class TokenError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def b64url(data):
    return base64url_encode(data).decode()


def pairwise_sub(oid, client_id):
    """Entra's `sub` is per (user, application): derive it the same way."""
    return b64url(hashlib.sha256(("%s:%s" % (oid, client_id)).encode()).digest())


class KeyRing:
    """The published signing keys (JWKS), the active one and every key ever
    used, so tokens signed before a rotation stay verifiable by ARM."""

    def __init__(self, saved=None):
        """``saved``: what ``dump()`` gave (the sandbox's saved state), else new keys."""
        if saved:
            self.known = {k["kid"]: SigningKey.load(k) for k in saved["known"]}
            self._seed = [self.known[kid] for kid in saved["seed"]]
        else:
            self._seed = [SigningKey(), SigningKey()]
            self.known = {k.kid: k for k in self._seed}
        self.rogue = None
        # called with every token signed (the emulator keeps the list of what it issued)
        self.on_sign = None
        self.reset()
        if saved:
            self.published = [self.known[kid] for kid in saved["published"]]
            self.active = self.known[saved["active"]]

    def dump(self):
        """Every key ever used (tokens signed before a restart stay valid), as JSON values."""
        return {
            "known": [k.dump() for k in self.known.values()],
            "seed": [k.kid for k in self._seed],
            "published": [k.kid for k in self.published],
            "active": self.active.kid,
        }

    def reset(self):
        self.published = list(self._seed)
        self.active = self._seed[0]

    def rotate(self, mode="swap"):
        if mode == "new":
            fresh = SigningKey()
            self.known[fresh.kid] = fresh
            self.published = [fresh, self.active]
            self.active = fresh
        else:
            others = [k for k in self.published if k is not self.active]
            self.active = others[0] if others else self.active
        return self.active.kid

    def unpublished_key(self):
        # Made on first use: only "unknown_kid" tests need it.
        if self.rogue is None:
            self.rogue = SigningKey()
        return self.rogue

    def sign(self, claims, key=None):
        key = key or self.active
        headers = {"typ": "JWT", "kid": key.kid, "x5t": key.x5t}
        token = jwt.encode(claims, key.pem, algorithm="RS256", headers=headers)
        if self.on_sign is not None:
            self.on_sign(token)
        return token

    def verify(self, token, audiences):
        """Claims of a token this emulator issued, or TokenError (ARM codes)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenError("InvalidAuthenticationToken", "The access token is invalid.") from exc
        key = self.known.get(header.get("kid"))
        if key is None:
            raise TokenError(
                "InvalidAuthenticationToken",
                "The access token is invalid. Signing key '%s' is not known." % header.get("kid"),
            )
        try:
            claims = jwt.decode(
                token,
                key.key.public_key(),
                algorithms=["RS256"],
                # only the signature here: expiry and audience are checked below with ARM's
                # codes; iat and nbf are not checked (PyJWT would call a token minted "later"
                # than a test's frozen clock a bad signature)
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError as exc:
            raise TokenError(
                "InvalidAuthenticationToken", "The access token has an invalid signature."
            ) from exc
        now = time.time()
        if claims.get("exp", 0) < now:
            raise TokenError(
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time '%s' is earlier than current UTC time '%s'."
                % (
                    time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(claims.get("exp", 0))),
                    time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(now)),
                ),
            )
        if claims.get("aud") not in audiences:
            raise TokenError(
                "InvalidAuthenticationTokenAudience",
                "The access token has been obtained for wrong audience or resource '%s'. It should exactly "
                "match with one of the allowed audiences '%s'." % (claims.get("aud"), "','".join(audiences)),
            )
        return claims


def resource_of(scope):
    """The resource (audience) a scope belongs to, None for OIDC/Graph scopes."""
    if "://" not in scope:
        return None
    resource, _, _perm = scope.rpartition("/")
    return resource + "/"


def split_scopes(scope_param):
    scopes = [s for s in (scope_param or "").split() if s]
    resources = {resource_of(s) for s in scopes} - {None}
    return scopes, resources


def is_graph(resource):
    return bool(resource) and resource.rstrip("/") == d.GRAPH_RESOURCE.rstrip("/")


def graph_permissions(app, scopes):
    """The permissions of a Graph token: exactly the ones asked for, by their
    bare names (a token asked for ``openid profile email`` carries ``scp:
    openid profile email``, no User.Read: Microsoft Learn, "Scopes and
    permissions in the Microsoft identity platform", OpenID Connect scopes are
    hosted on Graph and give a token for the UserInfo endpoint). ``.default``
    stands for the Graph permissions of the app registration (its
    ``graph_permissions``, User.Read on a new registration); offline_access is
    no permission of the token."""
    names = []
    for scope in scopes:
        name = scope.rpartition("/")[2] if "://" in scope else scope
        for permission in app.get("graph_permissions", []) if name == ".default" else [name]:
            if permission != "offline_access" and permission not in names:
                names.append(permission)
    return names


def access_token_claims(emu, user, app, tenant_id, resource, scopes, now):
    is_arm = resource and resource.rstrip("/") + "/" in (a.rstrip("/") + "/" for a in d.ARM_AUDIENCES)
    if resource and not is_graph(resource):
        aud = d.ARM_RESOURCE if is_arm else resource
        scp = (
            " ".join(sorted({s.rpartition("/")[2] for s in scopes if resource_of(s)} - {".default"}))
            or "user_impersonation"
        )
    else:
        aud = resource or d.GRAPH_APP_ID
        scp = " ".join(graph_permissions(app, scopes) or ["openid"])
    ttl = emu.state.config["access_token_ttl"]
    claims = {
        "aud": aud,
        "iss": "https://sts.windows.net/%s/" % tenant_id,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "appid": app["client_id"],
        "app_displayname": app["name"],
        "tid": tenant_id,
        "uti": secrets.token_urlsafe(16),
        "ver": "1.0",
        "emu_instance": emu.instance_id,
    }
    if user is None:
        claims.update(
            {"idtyp": "app", "oid": app.get("service_principal_oid", app["client_id"]), "roles": []}
        )
    else:
        claims.update(
            {
                "idtyp": "user",
                "oid": user["oid"],
                "sub": pairwise_sub(user["oid"], app["client_id"]),
                "upn": user["upn"],
                "unique_name": user["upn"],
                "name": user["name"],
                "given_name": user["given_name"],
                "family_name": user["family_name"],
                "scp": scp,
            }
        )
    return claims, ttl


def transitive_groups(state, user):
    """Object ids of every group the user is a member of, directly or through
    nested groups, in a stable order (what Graph's transitiveMemberOf lists)."""
    seen = []
    todo = list(user.get("groups") or ())
    while todo:
        gid = todo.pop(0)
        if gid in seen:
            continue
        seen.append(gid)
        todo.extend((state["groups"].get(gid) or {}).get("member_of") or ())
    return seen


def user_app_roles(state, user, app):
    """App role values assigned to the user for ``app``, directly or through
    one of their groups (Enterprise applications > Users and groups)."""
    roles = list((user.get("app_roles") or {}).get(app["client_id"]) or ())
    for gid in transitive_groups(state, user):
        for value in (app.get("group_roles") or {}).get(gid) or ():
            if value not in roles:
                roles.append(value)
    return roles


def directory_claims(emu, user, app, implicit):
    """`roles` and `groups` of an id_token, with Entra's overage forms:
    `hasgroups` in the implicit flow, `_claim_names`/`_claim_sources` else."""
    claims = {}
    roles = user_app_roles(emu.state, user, app)
    if roles:
        claims["roles"] = roles
    if app.get("groups_claim"):
        groups = transitive_groups(emu.state, user)
        limit = IMPLICIT_GROUP_LIMIT if implicit else app.get("group_overage_limit", 200)
        if not groups:
            pass  # like Entra: no claim at all for a user without groups
        elif len(groups) <= limit:
            claims["groups"] = groups
        elif implicit:
            claims["hasgroups"] = True
        else:
            claims["_claim_names"] = {"groups": "src1"}
            claims["_claim_sources"] = {
                "src1": {
                    "endpoint": "https://graph.windows.net/%s/users/%s/getMemberObjects"
                    % (user["tenant"], user["oid"])
                }
            }
    return claims


def id_token_claims(emu, user, app, tenant_id, scopes, nonce, now, implicit=False, sid=None):
    claims = {
        "aud": app["client_id"],
        "iss": "%s/%s/v2.0" % (emu.url, tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + emu.state.config["id_token_ttl"],
        "name": user["name"],
        "oid": user["oid"],
        "preferred_username": user["upn"],
        "rh": "0.emulator." + secrets.token_urlsafe(8),
        "sub": user.get("sub") or pairwise_sub(user["oid"], app["client_id"]),
        "tid": tenant_id,
        "uti": secrets.token_urlsafe(16),
        "ver": "2.0",
    }
    if "email" in scopes and user.get("email"):
        claims["email"] = user["email"]
    if nonce:
        claims["nonce"] = nonce
    if sid:
        claims["sid"] = sid
        # the optional login_hint claim: opaque, what end_session's logout_hint takes
        claims["login_hint"] = LOGIN_HINT_PREFIX + sid
    claims.update(directory_claims(emu, user, app, implicit))
    claims.update(user.get("claims") or {})
    return claims


def sign_id_token(emu, claims):
    """Sign, applying the next queued override (control API) if any."""
    keyring = emu.keys
    overrides = emu.state["id_token_overrides"]
    if not overrides:
        return keyring.sign(claims)
    override = overrides[0]
    override["count"] -= 1
    if override["count"] <= 0:
        overrides.pop(0)
    claims = dict(claims)
    preset = override.get("preset")
    now = claims["iat"]
    if preset == "expired":
        claims.update(iat=now - 7200, nbf=now - 7200, exp=now - 3600)
    elif preset == "not_yet_valid":
        claims.update(iat=now + 3600, nbf=now + 3600, exp=now + 7200)
    elif preset == "wrong_aud":
        claims["aud"] = "00000000-0000-0000-0000-00000000bad0"
    elif preset == "wrong_iss":
        claims["iss"] = "https://login.evil.test/%s/v2.0" % claims["tid"]
    elif preset == "wrong_tid":
        claims["tid"] = d.OTHER_TENANT_ID
        claims["iss"] = "%s/%s/v2.0" % (emu.url, d.OTHER_TENANT_ID)
    elif preset == "no_nonce":
        claims.pop("nonce", None)
    elif preset == "wrong_nonce":
        claims["nonce"] = "not-the-nonce-you-sent"
    claims.update(override.get("claims") or {})
    for name in override.get("remove") or ():
        claims.pop(name, None)
    if preset == "unknown_kid":
        return keyring.sign(claims, keyring.unpublished_key())
    token = keyring.sign(claims)
    if preset == "bad_signature":
        head, body, sig = token.split(".")
        # Flip bits in the middle of the signature: still base64url, never valid.
        raw = bytearray(base64url_decode(sig))
        raw[len(raw) // 2] ^= 0xFF
        token = "%s.%s.%s" % (head, body, b64url(bytes(raw)))
    return token
