"""Microsoft.Storage: storage accounts, their keys and name availability, and blob containers.

A blob container lives under the account's one blob service (``blobServices/default``), which
Azure creates with the account; the simulator checks the account itself rather than storing the
service as a resource. Deleting the account deletes its containers.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmError, ArmPath, SimResponse, TypeSpec, new_secret, utcnow

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

TYPE = "Microsoft.Storage/storageAccounts"
CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
API_VERSIONS = ("2026-09-01", "2025-08-01", "2025-06-01", "2025-01-01", "2024-01-01", "2023-05-01")
KINDS = ("Storage", "StorageV2", "BlobStorage", "FileStorage", "BlockBlobStorage")
SKUS = (
    "Standard_LRS",
    "Standard_GRS",
    "Standard_RAGRS",
    "Standard_ZRS",
    "Premium_LRS",
    "Premium_ZRS",
    "Standard_GZRS",
    "Standard_RAGZRS",
)
TLS = ("TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3")
NAME_RE = r"[a-z0-9]{3,24}"
NAME_MSG = (
    "Storage account names must be between 3 and 24 characters in length and use numbers and "
    "lower-case letters only."
)
CONTAINER_NAME_RE = r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]"
CONTAINER_NAME_MSG = (
    "Container names are 3-63 lowercase letters, numbers and hyphens, start and end with a "
    "letter or number, and have no consecutive hyphens."
)
PUBLIC_ACCESS = ("None", "Blob", "Container")
CONTAINER_DEFAULTS: dict[str, Any] = {
    "leaseStatus": "Unlocked",
    "leaseState": "Available",
    "hasImmutabilityPolicy": False,
    "hasLegalHold": False,
    "deleted": False,
    "remainingRetentionDays": 0,
    "defaultEncryptionScope": "$account-encryption-key",
    "denyEncryptionScopeOverride": False,
}


def _validate(sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None) -> None:
    if body.get("kind") not in KINDS:
        raise ArmError(
            400, "InvalidRequestPropertyValue", f"The value '{body.get('kind')}' is not valid for kind."
        )
    sku = (body.get("sku") or {}).get("name")
    if sku not in SKUS:
        raise ArmError(400, "InvalidRequestPropertyValue", f"The value '{sku}' is not valid for sku.name.")
    tls = (body.get("properties") or {}).get("minimumTlsVersion")
    if tls is not None and tls not in TLS:
        raise ArmError(
            400, "InvalidRequestPropertyValue", f"The value '{tls}' is not valid for minimumTlsVersion."
        )
    if old is not None and old.get("kind") == "StorageV2" and body.get("kind") == "Storage":
        raise ArmError(
            409, "StorageAccountKindDowngradeNotAllowed", "A StorageV2 account cannot become Storage."
        )


def _build(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    name = body["name"]
    props = body["properties"]
    old_props = (old or {}).get("properties") or {}
    props.setdefault("minimumTlsVersion", old_props.get("minimumTlsVersion", "TLS1_2"))
    props.setdefault("allowBlobPublicAccess", old_props.get("allowBlobPublicAccess", False))
    props.setdefault("supportsHttpsTrafficOnly", old_props.get("supportsHttpsTrafficOnly", True))
    props["creationTime"] = old_props.get("creationTime") or utcnow()
    props["keyCreationTime"] = old_props.get("keyCreationTime") or {
        "key1": props["creationTime"],
        "key2": props["creationTime"],
    }
    props["encryption"] = old_props.get("encryption") or {
        "keySource": "Microsoft.Storage",
        "services": {
            "blob": {"enabled": True, "keyType": "Account", "lastEnabledTime": props["creationTime"]},
            "file": {"enabled": True, "keyType": "Account", "lastEnabledTime": props["creationTime"]},
        },
    }
    props["primaryEndpoints"] = {
        svc: f"https://{name}.{svc}.core.windows.net/"
        for svc in ("blob", "dfs", "file", "queue", "table", "web")
    }
    props["primaryLocation"] = body["location"]
    props["statusOfPrimary"] = "available"
    sku = dict(body.get("sku") or {})
    sku["tier"] = "Premium" if str(sku.get("name", "")).startswith("Premium") else "Standard"
    body["sku"] = sku
    return body


def _list_keys(sim: Simulator, parsed: ArmPath, req: SimRequest, stored: dict[str, Any]) -> SimResponse:
    secrets = stored.setdefault("secrets", {"key1": new_secret(), "key2": new_secret()})
    return SimResponse(
        200,
        {"keys": [{"keyName": k, "value": v, "permissions": "FULL"} for k, v in sorted(secrets.items())]},
    )


def _account_of(sim: Simulator, parsed: ArmPath) -> dict[str, Any]:
    account_id = parsed.resource_id.split("/blobServices/", 1)[0]
    account = sim.get_resource(account_id)
    if account is None:
        raise ArmError(
            404,
            "ParentResourceNotFound",
            f"Can not perform requested operation on nested resource. Parent resource "
            f"'{parsed.names[0]}' not found.",
        )
    return account


def _validate_container(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> None:
    account = _account_of(sim, parsed)
    if parsed.names[1] != "default":
        raise ArmError(
            400, "InvalidResourceName", "The blob service of a storage account is named 'default'."
        )
    access = (body.get("properties") or {}).get("publicAccess", "None")
    if access not in PUBLIC_ACCESS:
        raise ArmError(
            400, "InvalidRequestPropertyValue", f"The value '{access}' is not valid for publicAccess."
        )
    if access != "None" and not account["body"]["properties"].get("allowBlobPublicAccess"):
        raise ArmError(
            409, "PublicAccessNotPermitted", "Public access is not permitted on this storage account."
        )


def _build_container(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    # Shape of BlobContainers_Get: etag and the container's read-only properties.
    old_props = (old or {}).get("properties") or {}
    props = body["properties"]
    props.setdefault("publicAccess", old_props.get("publicAccess", "None"))
    for key, default in CONTAINER_DEFAULTS.items():
        props[key] = old_props.get(key, default)
    props["lastModifiedTime"] = utcnow()
    body["etag"] = '"0x' + uuid.uuid4().hex[:15].upper() + '"'
    return body


def _render_container(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    body["properties"].pop("provisioningState", None)  # containers have none
    return body


def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            CONTAINERS,
            API_VERSIONS,
            create_mode="sync",
            create_status=201,
            delete_mode="sync",
            tracked=False,
            immutable=(),
            name_rule=(CONTAINER_NAME_RE, CONTAINER_NAME_MSG),
            validate=_validate_container,
            build=_build_container,
            render=_render_container,
        )
    )
    sim.register_type(
        TypeSpec(
            TYPE,
            API_VERSIONS,
            create_mode="location",
            create_status=202,
            update_mode="sync",
            patch_mode="sync",
            delete_mode="sync",
            required=("location", "kind", "sku.name"),
            global_name=True,
            name_taken_code="StorageAccountAlreadyTaken",
            name_rule=(NAME_RE, NAME_MSG),
            immutable=("location",),
            validate=_validate,
            build=_build,
            actions={"listkeys": _list_keys},
        )
    )

    @sim.route(
        "POST",
        r"/subscriptions/([^/]+)/providers/Microsoft\.Storage/checkNameAvailability",
        api_versions=API_VERSIONS,
    )
    def _check_name(s: Simulator, req: SimRequest, sub: str) -> SimResponse:
        body = req.body if isinstance(req.body, dict) else {}
        name = str(body.get("name") or "")
        if (body.get("type") or "").lower() != TYPE.lower():
            raise ArmError(
                400, "InvalidRequestPropertyValue", "type must be Microsoft.Storage/storageAccounts"
            )
        if not re.fullmatch(NAME_RE, name):
            return SimResponse(
                200, {"nameAvailable": False, "reason": "AccountNameInvalid", "message": NAME_MSG}
            )
        free, reason = s.name_available(TYPE, name)
        if free:
            return SimResponse(200, {"nameAvailable": True})
        return SimResponse(
            200,
            {
                "nameAvailable": False,
                "reason": reason,
                "message": f"The storage account named {name} is already taken.",
            },
        )
