"""The operator's Key Vault and role assignments on it, as tests set them up in the simulator."""

from __future__ import annotations

import time
import uuid
from typing import Any

from pros_cli.simulator.core import TENANT_ID, Simulator
from tests.conftest import SUB

SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
ROLE_DEFINITIONS = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions"
VAULT_API = "2024-11-01"


def vault_body(*, rbac: bool = True, policies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "location": "eastus",
        "properties": {
            "tenantId": TENANT_ID,
            "sku": {"family": "A", "name": "standard"},
            "enableRbacAuthorization": rbac,
            "accessPolicies": policies or [],
        },
    }


def make_vault(
    clients: Any, vault_id: str, *, rbac: bool = True, policies: list[dict[str, Any]] | None = None
) -> None:
    """The operator's vault, in the operator's resource group (named in ``vault_id``)."""
    resource_group = vault_id.split("/")[4]
    clients.resource.resource_groups.create_or_update(resource_group, {"location": "eastus"})
    body = vault_body(rbac=rbac, policies=policies)
    clients.resource.resources.begin_create_or_update_by_id(vault_id, body, api_version=VAULT_API).result()


def grant(sim: Simulator, principal_id: str, scope: str, role: str = SECRETS_USER) -> None:
    """A role assignment as the authorization provider stores one (in the full graph another node
    writes it)."""
    name = str(uuid.uuid4())
    rid = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    sim.db["resources"][rid.lower()] = {
        "type": "Microsoft.Authorization/roleAssignments",
        "created": time.time(),
        "body": {
            "id": rid,
            "name": name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": f"{ROLE_DEFINITIONS}/{role}",
                "principalId": principal_id,
                "principalType": "ServicePrincipal",
                "scope": scope,
            },
        },
    }
