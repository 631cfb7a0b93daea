"""Microsoft.Authorization: role assignments, an extension resource on any scope.

Enforces what ARM and Entra ID enforce for a role assignment: the scope must exist, the name is a
GUID, the role definition id is well formed and names a built-in role, the principal is a service
principal the simulator created (a new one stays unknown for a few attempts: replication delay) unless
the body says ``principalType`` (then ARM skips the directory lookup: Azure/AgentBaker#8251 and the
PrincipalNotFound message itself),
one assignment per scope + role + principal, and an assignment is never re-pointed in place.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import TENANT_ID, ArmError, ArmPath, SimResponse, TypeSpec, utcnow

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

TYPE = "Microsoft.Authorization/roleAssignments"
# azure-mgmt-authorization 4.0.0 sends 2022-04-01; the Get example is 2020-10-01-preview (same shape).
API_VERSIONS = ("2022-04-01", "2020-10-01-preview")

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ROLE_DEFINITION_RE = re.compile(
    rf"^(?:/subscriptions/{_GUID})?/providers/Microsoft\.Authorization/roleDefinitions/({_GUID})$",
    re.IGNORECASE,
)
_ONE = r"(/subscriptions/.+)/providers/Microsoft\.Authorization/roleAssignments/([^/]+)"
_MANY = r"(/subscriptions/.+)/providers/Microsoft\.Authorization/roleAssignments"

# Built-in role definitions (name -> id), independent of the ids pros uses, so a wrong id in pros
# fails here as it would in Azure. Ids from Microsoft's built-in roles reference.
BUILTIN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd": "Cognitive Services OpenAI User",
    "a001fd3d-188f-4b5d-821b-7da978bf7442": "Cognitive Services OpenAI Contributor",
    "d5a91429-5739-47e2-a06b-3470a27159e7": "EventGrid Data Sender",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")
# The object id of whoever calls the simulated ARM (createdBy/updatedBy): one fixed caller.
CALLER_OBJECT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "pros-simulator:caller"))


def _role_guid(role_definition_id: str) -> str:
    match = _ROLE_DEFINITION_RE.match(role_definition_id or "")
    if match is None:
        raise ArmError(
            400, "InvalidRoleDefinitionId", f"The role definition ID '{role_definition_id}' is not valid."
        )
    return match.group(1).lower()


def _principal_not_found(principal_id: str) -> ArmError:
    return ArmError(
        400,
        "PrincipalNotFound",
        f"Principal {principal_id.replace('-', '')} does not exist in the directory {TENANT_ID}. Check that "
        "you have the correct principal ID. If you are creating this principal and then immediately "
        "assigning a role, this error might be related to a replication delay. In this case, set the role "
        "assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See "
        "https://aka.ms/docs-principaltype",
    )


def _lookup_principal(sim: Simulator, principal_id: str) -> None:
    """Entra ID's view: unknown ids fail; a new identity fails until it has replicated."""
    principal = sim.db.setdefault("principals", {}).get(str(principal_id).lower())
    if principal is None:
        raise _principal_not_found(principal_id)
    if principal.get("pending_lookups", 0) > 0:
        principal["pending_lookups"] -= 1
        raise _principal_not_found(principal_id)


def _validate(sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None) -> None:
    if not re.fullmatch(_GUID, parsed.name):
        raise ArmError(
            400, "InvalidRoleAssignmentId",
            f"The role assignment ID '{parsed.name}' is not valid. The role assignment ID must be a GUID.",
        )
    props = body.get("properties") or {}
    role = _role_guid(str(props.get("roleDefinitionId") or ""))
    if role not in BUILTIN_ROLES:
        raise ArmError(
            400, "RoleDefinitionDoesNotExist",
            f"The specified role definition with ID '{role}' does not exist.",
        )
    principal_type = props.get("principalType")
    if principal_type is not None and principal_type not in PRINCIPAL_TYPES:
        raise ArmError(
            400, "InvalidRequestContent", f"The value '{principal_type}' is not valid for principalType."
        )
    principal_id = str(props.get("principalId") or "").lower()
    if old is not None:
        old_props = old.get("properties") or {}
        same_role = _role_guid(old_props["roleDefinitionId"]) == role
        if old_props.get("principalId", "").lower() != principal_id or not same_role:
            raise ArmError(
                400, "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            )
    if principal_type is None:
        # With principalType, ARM does not look the principal up in Entra ID at all, which is why
        # Microsoft's PrincipalNotFound message (aka.ms/docs-principaltype) prescribes it for a principal
        # that was just created; without it, a new identity fails until it has replicated.
        _lookup_principal(sim, principal_id)
    scope = (parsed.parent_id or "").lower()
    for other in sim.resources_of_type(TYPE):
        other_props = other["body"].get("properties") or {}
        if (
            other["body"]["id"].lower() != parsed.resource_id.lower()
            and other_props.get("scope", "").lower() == scope
            and other_props.get("principalId", "").lower() == principal_id
            and _role_guid(other_props["roleDefinitionId"]) == role
        ):
            raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")


def _build(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    """Shape of RoleAssignments_CreateForResource: the scope it sits on, the role definition id in
    its subscription-scoped form, and who created it when."""
    given = body["properties"]
    old_props = (old or {}).get("properties") or {}
    now = utcnow()
    props: dict[str, Any] = {
        "roleDefinitionId": (
            f"/subscriptions/{parsed.subscription}/providers/Microsoft.Authorization/roleDefinitions/"
            f"{_role_guid(given['roleDefinitionId'])}"
        ),
        "principalId": str(given["principalId"]).lower(),
        "principalType": given.get("principalType") or "ServicePrincipal",
        "scope": parsed.parent_id,
        "createdOn": old_props.get("createdOn") or now,
        "updatedOn": now,
        "createdBy": old_props.get("createdBy") or CALLER_OBJECT_ID,
        "updatedBy": CALLER_OBJECT_ID,
    }
    if given.get("description"):
        props["description"] = str(given["description"])
    body["properties"] = props
    return body


def _render(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    # The core marks every stored resource with provisioningState; role assignments have none.
    body.get("properties", {}).pop("provisioningState", None)
    return body


def _assignment_id(scope: str, name: str) -> str:
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"


def _check_scope(sim: Simulator, scope: str) -> None:
    if scope.count("/") > 2 and sim.get_resource(scope) is None:
        raise ArmError(404, "ResourceNotFound", f"The scope '{scope}' does not exist.")


def _matches_filter(sim: Simulator, req: SimRequest, list_scope: str, assignment: dict[str, Any]) -> bool:
    """ListForScope: assignments at, above and below the scope; ``atScope()`` keeps those at or
    above it; ``principalId eq '<id>'`` / ``assignedTo('<id>')`` keep one principal's."""
    props = assignment.get("properties") or {}
    scope = str(props.get("scope") or "").lower()
    here = list_scope.lower()
    at_or_above = here == scope or here.startswith(scope + "/")
    below = scope.startswith(here + "/")
    keep = at_or_above or below
    text = (req.query.get("$filter") or "").strip()
    for term in [t.strip() for t in re.split(r"\s+and\s+", text, flags=re.IGNORECASE) if t.strip()]:
        if term.lower() == "atscope()":
            keep = keep and at_or_above
            continue
        match = re.fullmatch(r"(?:principalId\s+eq\s+'([^']+)'|assignedTo\('([^']+)'\))", term, re.IGNORECASE)
        if match is None:
            raise sim.not_implemented(req)
        wanted = (match.group(1) or match.group(2)).lower()
        keep = keep and str(props.get("principalId") or "").lower() == wanted
    return keep


def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            TYPE,
            API_VERSIONS,
            create_mode="sync",
            create_status=201,
            update_mode="sync",
            extension=True,
            tracked=False,
            immutable=(),
            required=("properties.roleDefinitionId", "properties.principalId"),
            validate=_validate,
            build=_build,
            render=_render,
        )
    )

    @sim.route("GET", _ONE, api_versions=API_VERSIONS)
    def _get(s: Simulator, req: SimRequest, scope: str, name: str) -> SimResponse:
        stored = s.get_resource(_assignment_id(scope, name))
        if stored is None:
            raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")
        return SimResponse(200, s.render(stored))

    @sim.route("DELETE", _ONE, api_versions=API_VERSIONS)
    def _delete(s: Simulator, req: SimRequest, scope: str, name: str) -> SimResponse:
        # RoleAssignments_Delete: 200 with the deleted assignment, 204 when there was none.
        stored = s.db["resources"].pop(_assignment_id(scope, name).lower(), None)
        if stored is None:
            return SimResponse(204)
        return SimResponse(200, s.render(stored))

    @sim.route("GET", _MANY, api_versions=API_VERSIONS)
    def _list(s: Simulator, req: SimRequest, scope: str) -> SimResponse:
        _check_scope(s, scope)
        items = [
            s.render(r) for r in s.resources_of_type(TYPE) if _matches_filter(s, req, scope, r["body"])
        ]
        return SimResponse(200, {"value": items})
