"""Managed identities: the host's token endpoints, and client assertions at Entra ID's token endpoint.

* App Service / Container Apps (``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``): ``GET /msi/token``
  with ``api-version=2019-08-01``, ``resource``, optional ``client_id`` / ``principal_id`` /
  ``mi_res_id`` and the header ``X-IDENTITY-HEADER``; the answer carries ``expires_on`` (epoch
  seconds). Microsoft Learn, "How to use managed identities for App Service and Azure Functions",
  REST endpoint reference.
* The instance metadata service of a VM: ``GET /metadata/identity/oauth2/token`` with
  ``api-version=2018-02-01``, ``resource``, optional ``client_id`` / ``object_id`` / ``msi_res_id``
  and the header ``Metadata: true``; served on the plain-http listener (msal reaches it at
  ``AZURE_POD_IDENTITY_AUTHORITY_HOST``, else 169.254.169.254). Microsoft Learn, "How to use
  managed identities for Azure resources on an Azure VM to acquire an access token".

Their tokens are signed with the emulator's Entra keys, issued by ``<authority>/<tenant>/v2.0``
with the identity's object id as subject: what an app registration's federated identity
credential names (issuer, subject, audiences; set with the control API ``PATCH /apps/<id>``
``federated_credentials``). ``check_assertion`` is the token endpoint's side of it.
"""

import time

import jwt

from . import defaults as d
from .http import Response
from .tokens import TokenError

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
WORKLOAD_IDENTITY_DOC = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
TOKEN_TTL = 24 * 3600  # managed identity tokens live about a day (Learn, "Managed identities FAQ")


def seed_identity(tenant=d.TENANT_ID):
    return {
        "client_id": d.MANAGED_IDENTITY_CLIENT_ID,
        "principal_id": d.MANAGED_IDENTITY_PRINCIPAL_ID,
        "tenant": tenant,
        # system-assigned: answers a request naming no identity
        "system_assigned": True,
    }


def issuer(emu, tenant_id):
    return "%s/%s/v2.0" % (emu.url, tenant_id)


def _find(emu, params):
    """The identity a request names (client_id, object/principal id, resource id), else the
    system-assigned one; None when there is no such identity on this host."""
    identities = list(emu.state["managed_identities"].values())
    wanted = {
        params.get("client_id"),
        params.get("object_id"),
        params.get("principal_id"),
        params.get("msi_res_id"),
        params.get("mi_res_id"),
    } - {None, ""}
    if wanted:
        for identity in identities:
            if wanted & {identity["client_id"], identity["principal_id"], identity.get("resource_id")}:
                return identity
        return None
    return next((i for i in identities if i.get("system_assigned")), None)


def _mint(emu, identity, resource):
    now = int(time.time())
    claims = {
        "aud": resource,
        "iss": issuer(emu, identity["tenant"]),
        "sub": identity["principal_id"],
        "oid": identity["principal_id"],
        "appid": identity["client_id"],
        "azp": identity["client_id"],
        "tid": identity["tenant"],
        "idtyp": "app",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_TTL,
        "ver": "2.0",
        "emu_instance": emu.instance_id,
    }
    token = emu.keys.sign(claims)
    emu.remember("managed_identity_token", token)
    return token, claims


def app_service_token(req):
    """IDENTITY_ENDPOINT: App Service, Functions, Container Apps."""
    emu = req.emu
    if req.header("X-IDENTITY-HEADER") != emu.state["managed_identities_header"]:
        # a request without the secret header, or another's: not from this host
        return Response.json(401, {"statusCode": 401, "message": "Unauthorized request"})
    if req.query.get("api-version") != "2019-08-01" or not req.query.get("resource"):
        return Response.json(
            400, {"statusCode": 400, "message": "Missing or invalid api-version or resource"}
        )
    identity = _find(emu, req.query)
    if identity is None:
        return Response.json(
            400,
            {
                "statusCode": 400,
                "message": "No managed identity found for the specified client id or resource id",
            },
        )
    token, claims = _mint(emu, identity, req.query["resource"])
    return Response.json(
        200,
        {
            "access_token": token,
            "expires_on": str(claims["exp"]),
            "resource": req.query["resource"],
            "token_type": "Bearer",
            "client_id": identity["client_id"],
        },
    )


def imds_token(req):
    """The instance metadata service of a VM (169.254.169.254)."""
    emu = req.emu
    if (req.header("Metadata") or "").lower() != "true":
        return Response.json(
            400, {"error": "invalid_request", "error_description": "Required metadata header not specified"}
        )
    if not req.query.get("resource"):
        return Response.json(
            400,
            {
                "error": "invalid_resource",
                "error_description": "AADSTS50001: The application named  was not found.",
            },
        )
    identity = _find(emu, req.query)
    if identity is None:
        return Response.json(400, {"error": "invalid_request", "error_description": "Identity not found"})
    token, claims = _mint(emu, identity, req.query["resource"])
    return Response.json(
        200,
        {
            "access_token": token,
            "client_id": identity["client_id"],
            "expires_in": str(claims["exp"] - claims["iat"]),
            "expires_on": str(claims["exp"]),
            "ext_expires_in": str(claims["exp"] - claims["iat"]),
            "not_before": str(claims["nbf"]),
            "resource": req.query["resource"],
            "token_type": "Bearer",
        },
    )


def check_assertion(emu, app, assertion):
    """None when ``assertion`` (a jwt-bearer client assertion) matches one of the app's federated
    identity credentials, else (AADSTS code, message) as Entra answers it (invalid_client, 401).

    Sources of the codes and texts: AADSTS70021 (no record for the issuer / audience) and
    AADSTS700024 (expired) in Microsoft Learn's Azure DevOps "Troubleshoot workload identity
    service connections"; AADSTS700213 (the subject differs, matched case-sensitively) in the
    answers quoted by Azure/login#482 and Azure/azure-workload-identity#1200.
    """
    try:
        header = jwt.get_unverified_header(assertion)
        key = emu.keys.known.get(header.get("kid"))
        if key is None:
            raise TokenError("unknown_key", "unknown signing key")
        claims = jwt.decode(
            assertion,
            key.key.public_key(),
            algorithms=["RS256"],
            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except (jwt.InvalidTokenError, TokenError):
        return "50027", "JWT token is invalid or malformed."
    iss, sub, aud = claims.get("iss"), claims.get("sub"), claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    now = time.time()
    if claims.get("exp", 0) < now:
        return (
            "700024",
            "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, "
            "expiry time of assertion %s."
            % (_iso(now), _iso(claims.get("nbf") or claims.get("iat") or 0), _iso(claims.get("exp", 0))),
        )
    records = [
        fic
        for fic in app.get("federated_credentials") or ()
        if fic.get("issuer") == iss
        and set(fic.get("audiences") or [d.TOKEN_EXCHANGE_AUDIENCE]) & set(audiences)
    ]
    if not records:
        return (
            "70021",
            "No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. "
            "Assertion Subject: '%s'. Assertion Audience: '%s'." % (iss, sub, ",".join(map(str, audiences))),
        )
    if not any(fic.get("subject") == sub for fic in records):
        return (
            "700213",
            "No matching federated identity record found for presented assertion subject '%s'. Check your "
            "federated identity credential Subject, Audience and Issuer against the presented assertion. %s"
            % (sub, WORKLOAD_IDENTITY_DOC),
        )
    return None


def federated_token(emu, issuer_url, subject, audience=d.TOKEN_EXCHANGE_AUDIENCE, ttl=3600):
    """A token of another issuer (a Kubernetes service account's, written to
    AZURE_FEDERATED_TOKEN_FILE), signed with the emulator's keys."""
    now = int(time.time())
    claims = {"iss": issuer_url, "sub": subject, "aud": [audience], "iat": now, "nbf": now, "exp": now + ttl}
    token = emu.keys.sign(claims)
    emu.remember("federated_token", token)
    return token


def _iso(ts):
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(ts))


def register(router):
    router.add("GET", r"/msi/token", app_service_token)
    router.add("GET", r"/metadata/identity/oauth2/token", imds_token)
