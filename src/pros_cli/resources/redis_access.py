"""Redis data access for Microsoft Entra identities: access policy assignments.

Both kinds of Redis pros deploys authenticate clients with Entra tokens, never keys: a client
sends ``AUTH <object id> <token>`` and the cache lets it in as the Redis user an *access policy
assignment* made for that object id. This module holds what both kinds share
(:class:`Grantee`, :class:`AccessAssignment`) and the Azure Cache for Redis assignment
(``Microsoft.Cache/redis/accessPolicyAssignments``); the Managed Redis one is in
:mod:`pros_cli.resources.redis_enterprise`.

Like a role assignment (:mod:`pros_cli.resources.rbac`), an assignment's name is derived at plan
time from where it is and *who* it is for (the grantee node's resource id, or the fixed object
id), so every run finds the assignment it made before. Neither kind updates an assignment in
place: a different object id or policy under our name is replaced (nothing is lost by that).

Azure Cache for Redis has three built-in access policies (``az redis access-policy list``;
Microsoft Learn "Configure role-based access control with Data Access Policy"):
Data Owner ``+@all allkeys``, Data Contributor ``+@all -@dangerous +cluster|info +cluster|nodes
+cluster|slots allkeys``, Data Reader ``+@read +@connection +cluster|info +cluster|nodes
+cluster|slots allkeys``. The token processor gets Data Contributor: it writes and runs the
ledger's Lua script (EVAL is @scripting, not @dangerous), but has no FLUSHALL, CONFIG or KEYS.
Usage readers get Data Reader. Azure Cache for Redis runs one access policy operation per cache
at a time (terraform-provider-azurerm #26085), so the assignments on one cache run one after
another; pros does the same on a Managed Redis database, where no source says whether parallel
assignments are accepted (the few assignments pros makes cost seconds, not minutes, in series).
"""

from __future__ import annotations

import uuid
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, Subst, az
from pros_cli.resources.base import FieldDiff, Resource, get_path
from pros_cli.spec import Spec

PROCESSOR_POLICY = "Data Contributor"  # Azure Cache for Redis built-ins; Managed Redis has "default" only
READER_POLICY = "Data Reader"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "pros:Microsoft.Cache/accessPolicyAssignments")


@dataclass(frozen=True, eq=False)
class Grantee:
    """Who an assignment lets in: the system-assigned identity of a graph node (its object id,
    ``identity.principalId``, exists only once the node does) or a fixed Entra object id (an
    operator reading usage)."""

    label: str
    alias: str  # a short name without spaces (Azure Cache for Redis's objectIdAlias)
    node: Resource | None = None
    fixed_object_id: str | None = None

    @classmethod
    def identity_of(cls, node: Resource, label: str, alias: str) -> Grantee:
        return cls(label=label, alias=alias, node=node)

    @classmethod
    def user(cls, object_id: str) -> Grantee:
        oid = object_id.lower()
        return cls(label=f"usage reader {oid}", alias=f"pros-usage-reader-{oid[:8]}", fixed_object_id=oid)

    def seed(self) -> str:
        """What the assignment's name derives from: known at plan time, unlike a new identity."""
        return self.node.arm_id().lower() if self.node is not None else str(self.fixed_object_id)

    def object_id(self, inputs: dict[str, dict[str, Any] | None]) -> str | None:
        if self.node is None:
            return self.fixed_object_id
        value = get_path(inputs.get(self.node.key), "identity.principalId")
        return str(value).lower() if value else None

    def az_object_id(self, inputs: dict[str, dict[str, Any] | None]) -> str | Subst:
        """A fixed object id, or, for an identity pros makes, the az query that prints its
        principal id (shown as the id pros knows, if it does; the emitted script always asks, as a
        new identity gets a new id in a replay, and a dry run's line before the identity exists)."""
        if self.node is None:
            return str(self.fixed_object_id)
        return Subst(self.node.az_read(), "identity.principalId", known=self.object_id(inputs) or "")


def assignment_name(scope_id: str, grantee: Grantee) -> str:
    """32 hex characters: legal for both kinds (Managed Redis allows only [A-Za-z0-9]{1,60})."""
    return uuid.uuid5(_NAMESPACE, f"{scope_id.lower()}|{grantee.seed()}").hex


class AccessAssignment(Resource):
    """One access policy assignment on ``scope`` (the cache, or the Managed Redis database) for
    ``grantee``, under ``policy``. Subclasses give the request body and the calls."""

    tagged = False  # a proxy resource: no tags; one under our derived name is ours
    typical_seconds = 30.0
    object_id_path: ClassVar[str] = ""
    policy_path: ClassVar[str] = "properties.accessPolicyName"

    def __init__(self, spec: Spec, *, key: str, scope: Resource, grantee: Grantee, policy: str):
        self.scope = scope
        self.grantee = grantee
        self.policy = policy
        deps = (scope.key, *((grantee.node.key,) if grantee.node is not None else ()))
        super().__init__(spec, key=key, name="", region=None, depends_on=deps, parent=scope.key)
        self.serial_group = f"redis-access:{scope.arm_id().lower()}"

    # ---- identity -------------------------------------------------------------------------
    @property  # type: ignore[override]
    def name(self) -> str:
        return assignment_name(self.scope.arm_id(), self.grantee)

    @name.setter
    def name(self, _value: str) -> None:
        """Resource.__init__ assigns a name; the derived one above is the only one."""

    def arm_id(self) -> str:
        return f"{self.scope.arm_id()}/accessPolicyAssignments/{self.name}"

    def describe(self) -> str:
        return f"Redis access {self.policy!r} for {self.grantee.label}"

    def object_id(self) -> str | None:
        return self.grantee.object_id(self.inputs)

    # ---- desired state and diff -------------------------------------------------------------
    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        """Policy and object id; an assignment on our name whose identity is gone (its node is
        about to be created again, with a new identity) is replaced too."""
        diffs: list[FieldDiff] = []
        have_policy = get_path(current, self.policy_path)
        if str(have_policy or "").lower() != self.policy.lower():
            diffs.append(FieldDiff(self.policy_path, have_policy, self.policy, True))
        have = str(get_path(current, self.object_id_path) or "")
        want = self.object_id()
        if want is None:
            where = self.grantee.node.describe() if self.grantee.node is not None else self.grantee.label
            diffs.append(FieldDiff(self.object_id_path, have, f"the identity {where} will get", True))
        elif want != have.lower():
            diffs.append(FieldDiff(self.object_id_path, have, want, True))
        return diffs

    def _require_object_id(self) -> str:
        oid = self.object_id()
        if not oid:
            raise RuntimeError(
                f"{self.grantee.label} has no system-assigned identity (identity.principalId is empty), so "
                f"it cannot be given Redis access"
            )
        return oid

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "access_policy": get_path(current, self.policy_path),
            "object_id": get_path(current, self.object_id_path),
            "grantee": self.grantee.label,
        }

    @abstractmethod
    def desired(self) -> dict[str, Any]: ...


class RedisAccessPolicyAssignment(AccessAssignment):
    """``Microsoft.Cache/redis/accessPolicyAssignments`` (azure-mgmt-redis, api 2024-11-01):
    ``accessPolicyName``, ``objectId`` and ``objectIdAlias`` are all required (Bicep reference
    for microsoft.cache/redis/accesspolicyassignments)."""

    arm_type = "Microsoft.Cache/redis/accessPolicyAssignments"
    client_kind = "redis"
    api_version = "2024-11-01"
    label = "Redis access policy assignment"
    managed_fields = ("properties.accessPolicyName", "properties.objectId")
    immutable_fields = managed_fields
    replace_on = managed_fields
    object_id_path = "properties.objectId"

    def desired(self) -> dict[str, Any]:
        return {
            "properties": {
                "accessPolicyName": self.policy,
                "objectId": self.object_id(),
                "objectIdAlias": self.grantee.alias,
            }
        }

    def _ops(self, clients: Any) -> Any:
        return self.client(clients).access_policy_assignment

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self._ops(clients).get, self.resource_group, self.scope.name, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        if continuation_token is None:
            self._require_object_id()
        return self._ops(clients).begin_create_update(
            self.resource_group,
            self.scope.name,
            self.name,
            self.desired(),
            cls=raw_json,
            continuation_token=continuation_token,
        )

    def delete(self, clients: Any) -> Any:
        return self._ops(clients).begin_delete(self.resource_group, self.scope.name, self.name)

    # ---- az ---------------------------------------------------------------------------------
    def _where(self) -> list[str]:
        return [
            "--resource-group",
            self.resource_group,
            "--name",
            self.scope.name,
            "--policy-assignment-name",
            self.name,
        ]

    def az_read(self) -> AzCommand:
        return az("redis", "access-policy-assignment", "show", *self._where(), read_only=True)

    def az_create(self) -> list[AzCommand]:
        return [
            az(
                "redis",
                "access-policy-assignment",
                "create",
                *self._where(),
                "--access-policy-name",
                self.policy,
                "--object-id",
                self.grantee.az_object_id(self.inputs),
                "--object-id-alias",
                self.grantee.alias,
            )
        ]

    def az_delete(self) -> list[AzCommand]:
        return [az("redis", "access-policy-assignment", "delete", *self._where())]
