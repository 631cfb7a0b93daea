"""Microsoft.ApiManagement service: slow creation, soft delete, custom domains from Key Vault.

What pros has to cope with, and so what the simulator does: a create answers 201 with
``provisioningState: Created`` / ``targetProvisioningState: Activating`` and GETs keep reporting
``Activating`` until the operation ends (30-90 minutes in Azure); a deleted service keeps its
name for 48 hours (recreating it fails with ``ServiceAlreadyExistsInSoftDeletedState`` unless
the PUT says ``properties.restore: true``, which brings the deleted service back as it was);
and a gateway hostname whose certificate lives in Key Vault is refused unless the service's
managed identity may read the vault's secrets.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
import time
from typing import TYPE_CHECKING, Any

from pros_cli import regions
from pros_cli.simulator.core import ARM_HOST, ArmError, ArmPath, SimResponse, TypeSpec, retry_headers
from pros_cli.simulator.providers.keyvault import SECRET_URL_RE, find_vault, secret_reader_denial

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

TYPE = "Microsoft.ApiManagement/service"
DELETED_TYPE = "Microsoft.ApiManagement/deletedservices"
# 2024-05-01 is what azure-mgmt-apimanagement 5.0.0 sends; the others are versions ARM serves too.
API_VERSIONS = (
    "2024-05-01",
    "2025-09-01-preview",
    "2025-03-01-preview",
    "2024-10-01-preview",
    "2024-06-01-preview",
    "2023-09-01-preview",
    "2023-05-01-preview",
    "2023-03-01-preview",
    "2022-08-01",
    "2021-08-01",
)
LATENCY_KEY = TYPE.lower()  # the slowest entry of the "realistic" profile
SKU_FAMILIES = {
    "Developer": "classic",
    "Basic": "classic",
    "Standard": "classic",
    "Premium": "classic",
    "BasicV2": "v2",
    "StandardV2": "v2",
    "Consumption": "consumption",
}
MAX_CAPACITY = {
    "Developer": 1,
    "Basic": 2,
    "Standard": 4,
    "Premium": 12,
    "BasicV2": 10,
    "StandardV2": 10,
    "Consumption": 0,
}
HOSTNAME_TYPES = ("Proxy", "Portal", "Management", "Scm", "DeveloperPortal", "ConfigurationApi")
WRITE_ONLY_HOSTNAME_KEYS = ("encodedCertificate", "certificatePassword")  # never read back
SOFT_DELETE_SECONDS = 48 * 3600
NAME_RE = r"[a-zA-Z](?:[a-zA-Z0-9-]{0,48}[a-zA-Z0-9])?"
NAME_MSG = (
    "The name must be 1-50 characters, start with a letter, contain only letters, digits and hyphens "
    "and end with a letter or digit."
)
# Soft-deleted services as they were, so that a restore brings them back unchanged.
RESTORABLE_KEY = "apim_restorable"
_ASSIGNED_ON_ACTIVATION = (
    "gatewayRegionalUrl",
    "portalUrl",
    "developerPortalUrl",
    "managementApiUrl",
    "scmUrl",
    "publicIPAddresses",
    "customProperties",
)
_DEFAULT_TLS = {
    f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.{k}": "False"
    for k in (
        "Protocols.Tls10",
        "Protocols.Tls11",
        "Protocols.Ssl30",
        "Ciphers.TripleDes168",
        "Backend.Protocols.Tls10",
        "Backend.Protocols.Tls11",
        "Backend.Protocols.Ssl30",
    )
} | {"Microsoft.WindowsAzure.ApiManagement.Gateway.Protocols.Server.Http2": "False"}


def _invalid(message: str) -> ArmError:
    return ArmError(400, "ValidationError", f"One or more fields contain incorrect values: {message}")


def default_host(name: str) -> str:
    return f"{name.lower()}.azure-api.net"


# ---- validation ---------------------------------------------------------------------------------
def _validate(sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None) -> None:
    props = body.get("properties") or {}
    if props.get("restore") and old is None:
        return  # a restore ignores every other property
    sku = body.get("sku") or {}
    name = sku.get("name")
    if name not in SKU_FAMILIES:
        raise _invalid(f"The value '{name}' is not valid for sku.name; allowed: {', '.join(SKU_FAMILIES)}.")
    capacity = sku.get("capacity")
    least = 0 if name == "Consumption" else 1
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < least:
        raise _invalid(f"sku.capacity must be a whole number of units (at least {least}), got {capacity!r}.")
    if capacity > MAX_CAPACITY[name]:
        raise _invalid(f"The {name} SKU allows at most {MAX_CAPACITY[name]} unit(s); got {capacity}.")
    old_sku = ((old or {}).get("sku") or {}).get("name")
    if old_sku in SKU_FAMILIES and SKU_FAMILIES[old_sku] != SKU_FAMILIES[name]:
        raise _invalid(f"Changing the SKU from {old_sku} to {name} is not supported; create a new service.")
    for key in ("publisherEmail", "publisherName"):
        value = props.get(key)
        if not value:
            raise _invalid(f"properties.{key} is required.")
        if len(str(value)) > 100:
            raise _invalid(f"properties.{key} is longer than 100 characters.")
    if "@" not in str(props["publisherEmail"]):
        raise _invalid(f"properties.publisherEmail '{props['publisherEmail']}' is not an e-mail address.")
    _validate_hostnames(sim, parsed, body, old)


def _validate_hostnames(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> None:
    entries = (body.get("properties") or {}).get("hostnameConfigurations") or []
    seen: set[str] = set()
    old_entries = ((old or {}).get("properties") or {}).get("hostnameConfigurations") or []
    before = {_entry_key(e) for e in old_entries}
    for entry in entries:
        kind, host = entry.get("type"), str(entry.get("hostName") or "")
        if kind not in HOSTNAME_TYPES:
            raise _invalid(f"'{kind}' is not a valid hostname type; allowed: {', '.join(HOSTNAME_TYPES)}.")
        if not host:
            raise _invalid("hostnameConfigurations[].hostName is required.")
        if host.lower() in seen:
            raise _invalid(f"Hostname '{host}' is configured more than once.")
        seen.add(host.lower())
        if host.lower().endswith(".azure-api.net"):
            continue  # built-in hostnames carry Azure's certificate
        if not any(entry.get(k) for k in ("keyVaultId", "encodedCertificate", "certificate")):
            raise _invalid(f"Hostname '{host}' needs a certificate: keyVaultId or encodedCertificate.")
        if entry.get("keyVaultId") and _entry_key(entry) not in before:
            _check_key_vault_access(sim, body, old, entry)


def _entry_key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (
        str(entry.get("type")).lower(),
        str(entry.get("hostName")).lower(),
        str(entry.get("keyVaultId") or "").rstrip("/").lower(),
    )


def _check_key_vault_access(
    sim: Simulator, body: dict[str, Any], old: dict[str, Any] | None, entry: dict[str, Any]
) -> None:
    """APIM fetches the certificate with its managed identity when the hostname is set, and fails
    the request if it cannot (the usual cause: the role assignment is missing or not yet made)."""
    secret_id = str(entry["keyVaultId"])
    match = SECRET_URL_RE.match(secret_id)
    if match is None:
        raise _invalid(
            f"'{secret_id}' is not a Key Vault secret identifier (https://<vault>.vault.azure.net/"
            "secrets/<name>)."
        )
    identity = body.get("identity") or {}
    kind = "UserAssigned"
    if entry.get("identityClientId"):
        client_id = str(entry["identityClientId"]).lower()
        users = identity.get("userAssignedIdentities") or {}
        found = [u for u in users.values() if str((u or {}).get("clientId")).lower() == client_id]
        if not found:
            raise _invalid(
                f"Can not find Managed Identity with provided IdentityClientId : {client_id}. "
                "For more information please see aka.ms/apimmsi."
            )
        principal = str(found[0].get("principalId"))
    else:
        kind = "SystemAssigned"
        old_principal = ((old or {}).get("identity") or {}).get("principalId")
        principal = str(identity.get("principalId") or old_principal or "")
        if "systemassigned" not in str(identity.get("type") or "").replace(" ", "").lower() or not principal:
            raise ArmError(
                400,
                "InvalidOperation",
                f"Failed to access KeyVault Secret {secret_id} using Managed Service Identity "
                "(http://aka.ms/apimmsi) of Api Management service: the service has no "
                "system-assigned managed identity yet. Enable it, grant it access to the vault, "
                "then set the hostname.",
            )
    vault = find_vault(sim, match.group("vault"))
    why = "the vault does not exist" if vault is None else secret_reader_denial(sim, vault, principal)
    if why:
        raise ArmError(
            400,
            "InvalidOperation",
            f"Failed to access KeyVault Secret {secret_id} using Managed Service Identity "
            "(http://aka.ms/apimmsi) of Api Management service. Check if Managed Identity of "
            f"Type: {kind} and ObjectId: {principal} has GET permissions on secrets in the "
            f"KeyVault ({why}).",
        )


# ---- read-only properties -------------------------------------------------------------------------
def _fake_ip(name: str) -> str:
    digest = hashlib.sha256(name.lower().encode()).digest()
    return f"20.{digest[0]}.{digest[1]}.{max(1, digest[2])}"


def _certificate(entry: dict[str, Any], old_entries: list[dict[str, Any]]) -> dict[str, Any]:
    for old in old_entries:
        if _entry_key(old) == _entry_key(entry) and old.get("certificate"):
            return old["certificate"]
    source = str(entry.get("keyVaultId") or entry.get("hostName"))
    expiry = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=365)
    return {
        "expiry": expiry.isoformat(),
        "thumbprint": hashlib.sha1(source.encode()).hexdigest().upper(),
        "subject": f"CN={entry.get('hostName')}",
    }


def _hostnames(
    name: str, entries: list[dict[str, Any]], old_entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The default gateway hostname is always there; certificates are described, never returned."""
    out: list[dict[str, Any]] = []
    default = default_host(name)
    if not any(str(e.get("hostName")).lower() == default for e in entries):
        entries = [{"type": "Proxy", "hostName": default}, *entries]
    for raw in entries:
        entry = {k: v for k, v in copy.deepcopy(raw).items() if k not in WRITE_ONLY_HOSTNAME_KEYS}
        entry.setdefault("negotiateClientCertificate", False)
        entry.setdefault("defaultSslBinding", False)
        if str(entry.get("hostName")).lower() == default:
            entry["certificateSource"] = "BuiltIn"
            entry.pop("certificate", None)
        else:
            entry["certificateSource"] = "KeyVault" if entry.get("keyVaultId") else "Custom"
            entry["certificate"] = _certificate(entry, old_entries)
        out.append(entry)
    if not any(e["defaultSslBinding"] for e in out if e["type"] == "Proxy"):
        for entry in out:
            if str(entry["hostName"]).lower() == default:
                entry["defaultSslBinding"] = True
    return out


def _build(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    props = body["properties"]
    if props.pop("restore", None) and old is None:
        restored = sim.db.setdefault(RESTORABLE_KEY, {}).pop(parsed.name.lower(), None)
        if restored is not None:
            for key in ("location", "tags", "sku"):
                body[key] = copy.deepcopy(restored[key])
            props = body["properties"] = {
                k: v for k, v in copy.deepcopy(restored["properties"]).items() if k != "provisioningState"
            }
    name = body["name"]
    old_props = (old or {}).get("properties") or {}
    host = default_host(name)
    loc = regions.normalize(str(body["location"])) or str(body["location"]).replace(" ", "").lower()
    props.setdefault("notificationSenderEmail", "apimgmt-noreply@mail.windowsazure.com")
    props["createdAtUtc"] = old_props.get("createdAtUtc") or props.get("createdAtUtc") or _now()
    props["gatewayUrl"] = f"https://{host}"
    props["gatewayRegionalUrl"] = f"https://{name.lower()}-{loc}-01.regional.azure-api.net"
    props["portalUrl"] = f"https://{name.lower()}.portal.azure-api.net"
    props["developerPortalUrl"] = f"https://{name.lower()}.developer.azure-api.net"
    props["managementApiUrl"] = f"https://{name.lower()}.management.azure-api.net"
    props["scmUrl"] = f"https://{name.lower()}.scm.azure-api.net"
    props["hostnameConfigurations"] = _hostnames(
        name, props.get("hostnameConfigurations") or [], old_props.get("hostnameConfigurations") or []
    )
    props["publicIPAddresses"] = [_fake_ip(name)]
    props["customProperties"] = {**_DEFAULT_TLS, **(props.get("customProperties") or {})}
    props.setdefault("virtualNetworkType", "None")
    props.setdefault("disableGateway", False)
    props.setdefault("publicNetworkAccess", "Enabled")
    family = SKU_FAMILIES.get(str((body.get("sku") or {}).get("name")))
    props["platformVersion"] = "mtv1" if family == "v2" else "stv2"
    body["etag"] = hashlib.sha256(repr(sorted(props.items())).encode()).hexdigest()[:12]
    return body


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _render(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    """The operation in flight shows in the body: a create reports Created in its 201 and
    Activating once polled; a delete keeps Succeeded with targetProvisioningState Deleting."""
    props = body.setdefault("properties", {})
    stored = sim.get_resource(body["id"]) or {}
    op = sim.db["operations"].get(stored.get("operation") or "")
    target = ""
    if op and op["status"] == "InProgress":
        if op["kind"] == "create":
            target = "Activating"
            if op["polls_left"] < sim.profile.for_type(LATENCY_KEY, "create").polls:
                props["provisioningState"] = "Activating"
            # Not activated yet: only the gateway URL is known (ApiManagementCreateService.json, 201).
            for key in _ASSIGNED_ON_ACTIVATION:
                props.pop(key, None)
            props["platformVersion"] = "undetermined"
        elif op["kind"] == "delete":
            target = "Deleting"
    props["targetProvisioningState"] = target
    return body


def _respond(sim: Simulator, stored: dict[str, Any], response: SimResponse) -> SimResponse:
    """ApiManagementService_Update answers 200 with the service or 202 with no body, only where to
    poll (apimdeployment.json 2024-05-01; ApiManagementUpdateServiceDisableTls10.json shows the 202
    with Location and Azure-AsyncOperation headers and no body)."""
    if response.status == 202:
        return SimResponse(202, None, response.headers)
    return response


# ---- soft delete --------------------------------------------------------------------------------
def _on_deleted(sim: Simulator, stored: dict[str, Any]) -> None:
    body = copy.deepcopy(stored["body"])
    sim.db.setdefault(RESTORABLE_KEY, {})[body["name"].lower()] = body


def _deleted_entry(sim: Simulator, name: str) -> dict[str, Any] | None:
    """The soft-deleted service by name; one past its 48 hours is purged on the way."""
    deleted = sim.db["deleted"].get(TYPE.lower(), {})
    entry = deleted.get(name.lower())
    if entry is not None and time.time() - entry["deleted_at"] > SOFT_DELETE_SECONDS:
        deleted.pop(name.lower(), None)
        sim.db.setdefault(RESTORABLE_KEY, {}).pop(name.lower(), None)
        return None
    return entry


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _deleted_contract(sub: str, entry: dict[str, Any]) -> dict[str, Any]:
    body = entry["body"]
    loc = regions.normalize(str(body["location"])) or str(body["location"])
    scope = f"/subscriptions/{sub}/providers/Microsoft.ApiManagement/locations/{loc}"
    return {
        "id": f"{scope}/deletedservices/{body['name']}",
        "name": body["name"],
        "type": DELETED_TYPE,
        "location": regions.display_name(loc) if loc in regions.REGIONS else body["location"],
        "properties": {
            "serviceId": body["id"],
            "scheduledPurgeDate": _iso(entry["deleted_at"] + SOFT_DELETE_SECONDS),
            "deletionDate": _iso(entry["deleted_at"]),
        },
    }


def _deleted_in(sim: Simulator, location: str, name: str) -> dict[str, Any]:
    entry = _deleted_entry(sim, name)
    if entry is None or regions.normalize(str(entry["body"]["location"])) != regions.normalize(location):
        raise ArmError(
            404,
            "ResourceNotFound",
            f"Api Management service '{name}' is not among the deleted services in '{location}'.",
        )
    return entry


# ---- registration -----------------------------------------------------------------------------
def register(sim: Simulator) -> None:
    spec = TypeSpec(
        TYPE,
        API_VERSIONS,
        create_mode="async",
        create_status=201,
        update_mode="async",
        patch_mode="async",
        delete_mode="location",
        provisioning_creating="Created",
        provisioning_updating="Updating",
        provisioning_deleting="Succeeded",
        required=("location", "sku.name"),
        global_name=True,
        name_taken_code="ServiceAlreadyExists",
        name_rule=(NAME_RE, NAME_MSG),
        soft_delete=True,
        soft_deleted_code="ServiceAlreadyExistsInSoftDeletedState",
        validate=_validate,
        build=_build,
        render=_render,
        respond=_respond,
        on_deleted=_on_deleted,
        latency_key=LATENCY_KEY,
    )
    sim.register_type(spec)
    # Purges are not resources; this spec only names their operations and latency.
    purge_spec = TypeSpec(DELETED_TYPE, API_VERSIONS, latency_key=DELETED_TYPE.lower())
    base = r"/subscriptions/([^/]+)/providers/Microsoft\.ApiManagement"

    @sim.route("GET", base + r"/locations/([^/]+)/deletedservices/([^/]+)", api_versions=API_VERSIONS)
    def _get_deleted(s: Simulator, req: SimRequest, sub: str, location: str, name: str) -> SimResponse:
        return SimResponse(200, _deleted_contract(sub, _deleted_in(s, location, name)))

    @sim.route("DELETE", base + r"/locations/([^/]+)/deletedservices/([^/]+)", api_versions=API_VERSIONS)
    def _purge(s: Simulator, req: SimRequest, sub: str, location: str, name: str) -> SimResponse:
        entry = _deleted_in(s, location, name)
        contract = _deleted_contract(sub, entry)
        s.db["deleted"][TYPE.lower()].pop(name.lower(), None)  # the name is free once the purge is accepted
        s.db.setdefault(RESTORABLE_KEY, {}).pop(name.lower(), None)
        op = s.start_operation({"body": {"id": contract["id"], "location": location}}, "purge", purge_spec)
        headers = retry_headers(s.poll_interval)
        headers["Location"] = (
            f"https://{ARM_HOST}{contract['id']}/operationresults/{op['id']}?api-version={req.api_version}"
        )
        return SimResponse(202, contract, headers)

    @sim.route("GET", base + r"/deletedservices", api_versions=API_VERSIONS)
    def _list_deleted(s: Simulator, req: SimRequest, sub: str) -> SimResponse:
        names = list(s.db["deleted"].get(TYPE.lower(), {}))
        entries = [e for e in (_deleted_entry(s, n) for n in names) if e is not None]
        return SimResponse(200, {"value": [_deleted_contract(sub, e) for e in entries]})

    @sim.route("POST", base + r"/checkNameAvailability", api_versions=API_VERSIONS)
    def _check_name(s: Simulator, req: SimRequest, sub: str) -> SimResponse:
        name = str((req.body or {}).get("name") or "") if isinstance(req.body, dict) else ""
        if not re.fullmatch(NAME_RE, name):
            return SimResponse(200, {"nameAvailable": False, "reason": "Invalid", "message": NAME_MSG})
        free, _ = s.name_available(TYPE, name)
        if free and _deleted_entry(s, name) is None:
            return SimResponse(200, {"nameAvailable": True, "reason": "Valid", "message": ""})
        return SimResponse(
            200, {"nameAvailable": False, "reason": "AlreadyExists", "message": f"{name} is already in use."}
        )
