"""Microsoft.KeyVault vaults (control plane only).

pros never creates a vault: it finds the operator's vault by name with the subscription's
resource listing (see providers/resources.py) and API Management reads the custom-domain
certificate from it with its managed identity. So the simulator needs vaults that tests can PUT
and GET, the listing, and :func:`secret_reader_denial` for the APIM provider: whether a principal
may read secrets, by the vault's own permission model (Azure RBAC or access policies).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmError, ArmPath, TypeSpec

if TYPE_CHECKING:
    from pros_cli.simulator.core import Simulator

TYPE = "Microsoft.KeyVault/vaults"
API_VERSIONS = (
    "2026-02-01",
    "2025-05-01",
    "2024-11-01",
    "2024-04-01-preview",
    "2023-07-01",
    "2023-02-01",
    "2022-07-01",
    "2021-10-01",
    "2019-09-01",
)
NAME_RE = r"(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]"
NAME_MSG = (
    "Vault name must be between 3-24 alphanumeric characters. The name must begin with a letter, end "
    "with a letter or digit, and not contain consecutive hyphens."
)
SKUS = ("standard", "premium")
SECRET_URL_RE = re.compile(
    r"^https://(?P<vault>[a-zA-Z0-9-]+)\.vault\.azure\.net/secrets/(?P<name>[a-zA-Z0-9-]+)(?:/(?P<version>\w+))?/?$",
    re.IGNORECASE,
)

# Built-in roles whose data actions include reading secret values
# (Microsoft.KeyVault/vaults/secrets/getSecret/action).
SECRET_READER_ROLES = {
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
}
ROLE_ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"


def _validate(sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None) -> None:
    props = body.get("properties") or {}
    sku = props.get("sku") or {}
    if str(sku.get("name") or "").lower() not in SKUS:
        raise ArmError(
            400,
            "BadRequest",
            f"The value '{sku.get('name')}' is not valid for "
            f"properties.sku.name; allowed: {', '.join(SKUS)}.",
        )
    if str(sku.get("family") or "") != "A":
        raise ArmError(
            400, "BadRequest", f"The value '{sku.get('family')}' is not valid for properties.sku.family."
        )
    for policy in props.get("accessPolicies") or []:
        if not policy.get("objectId") or not policy.get("tenantId"):
            raise ArmError(400, "BadRequest", "An access policy needs tenantId and objectId.")


def _build(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    props = body["properties"]
    old_props = (old or {}).get("properties") or {}
    props["sku"] = {"family": "A", "name": str(props["sku"]["name"]).lower()}
    props.setdefault("accessPolicies", old_props.get("accessPolicies", []))
    props.setdefault("enableRbacAuthorization", old_props.get("enableRbacAuthorization", False))
    props.setdefault("enabledForDeployment", old_props.get("enabledForDeployment", False))
    props.setdefault("enabledForDiskEncryption", old_props.get("enabledForDiskEncryption", False))
    props.setdefault("enabledForTemplateDeployment", old_props.get("enabledForTemplateDeployment", False))
    props["enableSoftDelete"] = True  # cannot be turned off any more
    props.setdefault("softDeleteRetentionInDays", old_props.get("softDeleteRetentionInDays", 90))
    props.setdefault("publicNetworkAccess", old_props.get("publicNetworkAccess", "Enabled"))
    props["vaultUri"] = f"https://{body['name'].lower()}.vault.azure.net/"
    return body


def find_vault(sim: Simulator, name: str) -> dict[str, Any] | None:
    """Vault names are global (they are DNS names), so a name finds at most one vault."""
    for stored in sim.resources_of_type(TYPE):
        if stored["body"]["name"].lower() == name.lower():
            return stored["body"]
    return None


def _scope_of(assignment: dict[str, Any]) -> str:
    scope = (assignment.get("properties") or {}).get("scope")
    if scope:
        return str(scope)
    return str(assignment.get("id") or "").split("/providers/Microsoft.Authorization/roleAssignments/", 1)[0]


def _covers(scope: str, resource_id: str) -> bool:
    scope, resource_id = scope.rstrip("/").lower(), resource_id.lower()
    return resource_id == scope or resource_id.startswith(scope + "/")


PROPAGATION_KEY = "rbac_propagation_seconds"  # in sim.db["config"]: overrides the profile's


def rbac_propagation(sim: Simulator) -> float:
    """Seconds before a new role assignment grants data-plane access (profile, or set_rbac_propagation)."""
    value = sim.db["config"].get(PROPAGATION_KEY)
    return float(value) if value is not None else sim.profile.rbac_propagation_seconds


def set_rbac_propagation(sim: Simulator, seconds: float | None) -> None:
    with sim.transaction():
        if seconds is None:
            sim.db["config"].pop(PROPAGATION_KEY, None)
        else:
            sim.db["config"][PROPAGATION_KEY] = float(seconds)


def secret_reader_denial(sim: Simulator, vault: dict[str, Any], principal_id: str) -> str | None:
    """None when ``principal_id`` may read the vault's secrets, else why not. RBAC vaults honour
    role assignments at the vault or any parent scope once they have propagated (Key Vault's RBAC
    guide, articles/key-vault/general/rbac-guide.md, "Known limits and performance": "it will take up
    to 10 minutes (600 seconds) after role assignments is changed for role to be applied");
    access-policy vaults honour only their access policies (role assignments do not grant data
    access there)."""
    props = vault.get("properties") or {}
    if props.get("enableRbacAuthorization"):
        pending = None
        for stored in sim.resources_of_type(ROLE_ASSIGNMENT_TYPE):
            ra = stored["body"]
            ra_props = ra.get("properties") or {}
            role = str(ra_props.get("roleDefinitionId") or "").rstrip("/").rsplit("/", 1)[-1].lower()
            if (
                str(ra_props.get("principalId") or "").lower() == principal_id.lower()
                and role in SECRET_READER_ROLES
                and _covers(_scope_of(ra), vault["id"])
            ):
                age = time.time() - float(stored.get("created") or 0)
                if age >= rbac_propagation(sim):
                    return None
                pending = age
        if pending is not None:
            return (f"a role assignment made {pending:.1f} s ago grants it, but Azure RBAC has not "
                    "propagated it to Key Vault yet")
        return "no role assignment grants it Key Vault Secrets User (or a role including it) on the vault"
    for policy in props.get("accessPolicies") or []:
        secrets = [str(p).lower() for p in ((policy.get("permissions") or {}).get("secrets") or [])]
        mine = str(policy.get("objectId") or "").lower() == principal_id.lower()
        if mine and ("get" in secrets or "all" in secrets):
            return None
    return "the vault's access policies do not give it GET on secrets"


def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            TYPE,
            API_VERSIONS,
            create_mode="sync",
            create_status=200,
            required=("location", "properties.tenantId", "properties.sku.name"),
            global_name=True,
            name_taken_code="VaultAlreadyExists",
            name_rule=(NAME_RE, NAME_MSG),
            validate=_validate,
            build=_build,
        )
    )
