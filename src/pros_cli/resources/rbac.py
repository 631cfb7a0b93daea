"""Role assignments: least-privilege grants from the deployment's managed identities.

pros never grants Contributor. Each grant is one role assignment (an ARM extension resource at
``<scope>/providers/Microsoft.Authorization/roleAssignments/<name>``) whose name is a uuid5 of
scope, role and the principal's *resource id*: known at plan time (unlike the principal GUID,
which exists only once the identity does), so every run finds the assignment it made before.

An assignment is never re-pointed: a different principal on our name (the identity's resource
was recreated, so its identity is new) is refused with a message, not silently reassigned.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import error_code, get_or_none
from pros_cli.echo import AzCommand, Subst, az, az_rest
from pros_cli.resources.base import FieldDiff, Resource, get_path
from pros_cli.spec import Spec


@dataclass(frozen=True)
class Role:
    """A built-in role definition: its display name and its GUID (the same in every tenant)."""

    name: str
    guid: str

    def definition_id(self, subscription_id: str) -> str:
        return (
            f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{self.guid}"
        )


# Ids checked against Microsoft's built-in roles reference (articles/role-based-access-control/
# built-in-roles/*.md: each role's JSON "id"/"name").
# Inference on model deployments (chat, completions, embeddings); cannot change the account.
COGNITIVE_SERVICES_OPENAI_USER = Role(
    "Cognitive Services OpenAI User", "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
)
# Only Microsoft.EventGrid/events/send/action on the topic.
EVENTGRID_DATA_SENDER = Role("EventGrid Data Sender", "d5a91429-5739-47e2-a06b-3470a27159e7")
# Functions host storage over an identity (AzureWebJobsStorage__accountName): Microsoft documents
# Storage Blob Data Owner as the minimum for the host (it creates containers and takes blob
# leases). Blob Data Contributor would do for the Flex deployment container alone, but both live
# on the app's own account, and Owner covers both, so one assignment, not two.
STORAGE_BLOB_DATA_OWNER = Role("Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b")
# Event Grid dead-lettering with the topic's identity: read, write and delete blobs, nothing more
# (Event Grid, "Grant managed identity access to Event Grid destinations": dead-letter storage).
STORAGE_BLOB_DATA_CONTRIBUTOR = Role("Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe")
# Reading the custom domain's certificate (a Key Vault secret) from the operator's vault.
KEY_VAULT_SECRETS_USER = Role("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6")
# Sending telemetry to Application Insights with Microsoft Entra ID (data actions
# Microsoft.Insights/Telemetry/Write and Metrics/Write; built-in-roles/monitor.md; "Microsoft Entra
# authentication for Application Insights": the role on the component, despite its name, publishes
# all telemetry).
MONITORING_METRICS_PUBLISHER = Role("Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb")

PRINCIPAL_TYPE = "ServicePrincipal"  # every principal pros grants to is a managed identity
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "pros:Microsoft.Authorization/roleAssignments")


def assignment_name(scope_id: str, role: Role, principal_resource_id: str) -> str:
    """Deterministic: the same scope, role and identity-bearing resource give the same name."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope_id.lower()}|{role.guid}|{principal_resource_id.lower()}"))


@dataclass(frozen=True, eq=False)
class Scope:
    """Where a role is granted: a fixed ARM id, or a node of the resource graph (the assignment
    then depends on it and exists only while it does). ``lookup``: the node's id is known only
    from its body, for a resource pros finds at plan time (the operator's Key Vault); before that
    an az line asks the node's ``az_read()`` for it with the JMESPath ``id_query`` (``[0].id``
    when that command lists)."""

    label: str
    arm_id: str | None = None
    node: Resource | None = None
    lookup: bool = False
    id_query: str = "id"

    @classmethod
    def fixed(cls, arm_id: str, label: str) -> Scope:
        return cls(label=label, arm_id=arm_id)

    @classmethod
    def of(
        cls, node: Resource, *, lookup: bool = False, id_query: str = "id", label: str | None = None
    ) -> Scope:
        return cls(label=label or node.describe(), node=node, lookup=lookup, id_query=id_query)


class PrincipalNotReplicated(RuntimeError):
    """Entra ID still answers PrincipalNotFound after every retry."""


class RoleAssignmentConflict(RuntimeError):
    """The same grant exists under a name pros does not manage."""


class RoleAssignment(Resource):
    typical_seconds = 10
    arm_type = "Microsoft.Authorization/roleAssignments"
    client_kind = "authorization"
    api_version = "2022-04-01"
    label = "role assignment"
    managed_fields = ("properties.roleDefinitionId", "properties.principalId")
    immutable_fields = managed_fields
    # Our name derives from the identity's resource id: a different principal under it means that
    # resource was recreated with a new identity, and the grant names a deleted one. Re-grant.
    replace_on = ("properties.principalId",)
    tagged = False  # ARM does not tag role assignments; one under our derived name is ours
    # A new managed identity takes seconds to minutes to replicate in Entra ID; ~90 s in all.
    retry_delays: ClassVar[tuple[float, ...]] = (2.0, 4.0, 8.0, 16.0, 30.0, 30.0)
    simulator_delay_scale: ClassVar[float] = 0.005

    def __init__(
        self,
        spec: Spec,
        *,
        key: str,
        scope: Scope,
        role: Role,
        principal: Resource,
        depends_on: tuple[str, ...] = (),
    ):
        """``principal``: the graph node whose body carries ``identity.principalId``."""
        if (scope.arm_id is None) == (scope.node is None):
            raise ValueError("a role assignment scope is either a fixed ARM id or a graph node")
        self.scope = scope
        self.role = role
        self.principal = principal
        self._looked_up: str | None = None
        self.reads_inputs = scope.lookup
        deps = (*depends_on, principal.key, *((scope.node.key,) if scope.node else ()))
        super().__init__(
            spec,
            key=key,
            name="",  # derived: see the ``name`` property
            region=None,
            depends_on=tuple(dict.fromkeys(deps)),
            parent=scope.node.key if scope.node else None,
        )

    # ---- identity -------------------------------------------------------------------------
    @property  # type: ignore[override]
    def name(self) -> str:
        return assignment_name(self.scope_id(), self.role, self.principal.arm_id())

    @name.setter
    def name(self, _value: str) -> None:
        """Resource.__init__ assigns a name; the derived one above is the only one."""

    def scope_known(self) -> bool:
        """False only for a looked-up scope before anything was read (offline plans)."""
        node = self.scope.node
        if node is None or not self.scope.lookup:
            return True
        return bool(self._looked_up or get_path(self.inputs.get(node.key), "id"))

    def scope_id(self) -> str:
        s = self.scope
        if s.node is None:
            return str(s.arm_id)
        if s.lookup:
            found = get_path(self.inputs.get(s.node.key), "id") or self._looked_up
            if found:
                return str(found)
        return s.node.arm_id()

    def arm_id(self) -> str:
        return f"{self.scope_id()}/providers/{self.arm_type}/{self.name}"

    def describe(self) -> str:
        return f"role assignment {self.role.name!r} for {self.principal.describe()} on {self.scope.label}"

    def display_name(self) -> str:
        """What it grants, not its GUID: role, who, on what."""
        return f"{self.role.name}: {self.principal.name} on {self.scope.label}"

    def principal_id(self) -> str | None:
        value = get_path(self.inputs.get(self.principal.key), "identity.principalId")
        return str(value) if value else None

    def role_definition_id(self) -> str:
        parts = self.scope_id().split("/")
        in_subscription = len(parts) > 2 and parts[1].lower() == "subscriptions"
        return self.role.definition_id(parts[2] if in_subscription else self.subscription_id)

    # ---- desired state and diff -------------------------------------------------------------
    def desired(self) -> dict[str, Any]:
        return {
            "properties": {
                "roleDefinitionId": self.role_definition_id(),
                "principalId": self.principal_id(),
                "principalType": PRINCIPAL_TYPE,
            }
        }

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        """By role GUID (ARM echoes the definition id in either of two forms) and principal; an
        assignment on our name whose identity is gone or about to be recreated is a change too."""
        have = current.get("properties") or {}
        diffs: list[FieldDiff] = []
        have_role = str(have.get("roleDefinitionId") or "")
        if have_role.rsplit("/", 1)[-1].lower() != self.role.guid:
            diffs.append(FieldDiff("properties.roleDefinitionId", have_role, self.role_definition_id(), True))
        have_principal = str(have.get("principalId") or "")
        want = self.principal_id()
        if want is None:
            diffs.append(
                FieldDiff(
                    "properties.principalId",
                    have_principal,
                    f"the identity {self.principal.describe()} will get (it does not exist yet)",
                    True,
                )
            )
        elif want.lower() != have_principal.lower():
            diffs.append(FieldDiff("properties.principalId", have_principal, want, True))
        return diffs

    # ---- calls ----------------------------------------------------------------------------
    def read(self, clients: Any) -> dict[str, Any] | None:
        node = self.scope.node
        if node is not None and not self.scope_known():
            # The engine fills inputs only after every read; a looked-up scope must be read first.
            body = node.read(clients)
            if body is None:
                return None
            self._looked_up = str(body["id"])
        return get_or_none(self.client(clients).role_assignments.get, self.scope_id(), self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        """A sync PUT, retried while Entra ID has not replicated a just-created identity."""
        principal_id = self.principal_id()
        if not principal_id:
            raise RuntimeError(
                f"{self.principal.describe()} has no system-assigned identity (identity.principalId is "
                f"empty), so it cannot be granted {self.role.name!r}"
            )
        scale = self.simulator_delay_scale if clients.settings.kind == "simulator" else 1.0
        delays = [d * scale for d in self.retry_delays]
        operations = self.client(clients).role_assignments
        attempt = 0
        while True:
            try:
                return operations.create(self.scope_id(), self.name, self.desired(), cls=raw_json)
            except Exception as exc:
                code = error_code(exc)
                if code == "RoleAssignmentExists":
                    raise self._conflict(clients, principal_id) from exc
                if code != "PrincipalNotFound":
                    raise
                if attempt == len(delays):
                    raise PrincipalNotReplicated(
                        f"PrincipalNotFound: Microsoft Entra ID still does not know the identity of "
                        f"{self.principal.describe()} (principal {principal_id}) after {attempt + 1} "
                        f"attempts over {sum(delays):.1f} s. A new managed identity can take a few minutes "
                        "to replicate: run pros again shortly; if it keeps failing, check that the resource "
                        "still has its system-assigned identity"
                    ) from exc
                time.sleep(delays[attempt])
                attempt += 1

    def _conflict(self, clients: Any, principal_id: str) -> RoleAssignmentConflict:
        operations = self.client(clients).role_assignments
        others = operations.list_for_scope(self.scope_id(), filter=f"principalId eq '{principal_id}'")
        scope = self.scope_id().lower()
        other_ids = [
            str(o.id)
            for o in others
            if str(o.scope or "").lower() == scope
            and str(o.role_definition_id or "").lower().endswith(self.role.guid)
        ]
        other = other_ids[0] if other_ids else "another assignment"
        return RoleAssignmentConflict(
            f"RoleAssignmentExists: {self.principal.describe()} already holds {self.role.name!r} on "
            f"{self.scope.label} through {other}, which pros did not create; pros manages the grant under "
            f"{self.arm_id()}. Delete the other one (az role assignment delete --ids {other}) and run again"
        )

    def delete(self, clients: Any) -> Any:
        self.client(clients).role_assignments.delete(self.scope_id(), self.name)
        return None

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        props = (current or {}).get("properties") or {}
        return {"role": self.role.name, "scope": props.get("scope"), "principal_id": props.get("principalId")}

    # ---- az ---------------------------------------------------------------------------------
    def az_read(self) -> AzCommand:
        return az_rest("GET", self.arm_id(), self.api_version)

    def az_create(self) -> list[AzCommand]:
        """The echo names the identity's principal id when pros knows it; the emitted script
        asks az for it when the line runs (Entra ID gives each new identity its own id, so a replay
        gets another one), as does a dry run's line before the identity exists. A looked-up scope
        not known yet is asked of az the same way."""
        principal = Subst(self.principal.az_read(), "identity.principalId", known=self.principal_id() or "")
        args: list[str | Subst] = [
            "role",
            "assignment",
            "create",
            "--assignee-object-id",
            principal,
            "--assignee-principal-type",
            PRINCIPAL_TYPE,
            "--role",
            self.role.guid,
        ]
        node = self.scope.node
        if node is not None and not self.scope_known():
            # The name derives from the scope's id; az picks a random one, which a later pros run
            # reports as a conflicting assignment rather than duplicating the grant.
            args += ["--scope", Subst(node.az_read(), self.scope.id_query)]
        else:
            args += ["--scope", self.scope_id(), "--name", self.name]
        return [az(*args)]

    def az_delete(self) -> list[AzCommand]:
        return [az("role", "assignment", "delete", "--ids", self.arm_id())]
