"""Azure Managed Redis (``Microsoft.Cache/redisEnterprise``): the cluster, its ``default``
database and the access policy assignments that let Entra identities in. No access keys.

Facts from the REST spec (azure-rest-api-specs, specification/redisenterprise/resource-manager/
Microsoft.Cache/RedisEnterprise/stable/2025-07-01/redisenterprise.json, which
azure-mgmt-redisenterprise 3.1.0 sends):

- Cluster: ``sku.name`` (Balanced_B0 ... FlashOptimized_A4500; see :mod:`pros_cli.cache_kinds`),
  ``properties.minimumTlsVersion`` ("1.0" and "1.1" "are now completely obsolete -- you cannot
  use them"), ``properties.publicNetworkAccess`` (required on create in this api-version),
  ``properties.highAvailability`` (Enabled by default; disabled means "increases the risk of data
  loss"). Create and update are long-running; the host name is ``<name>.<region>.redis.azure.net``.
- Database (a proxy resource under the cluster, its own long-running create):
  ``clientProtocol: Encrypted`` (TLS only), ``port`` (create-only; 10000),
  ``clusteringPolicy: EnterpriseCluster`` (one endpoint that speaks the classic protocol, so a
  plain redis-py client works; cannot be changed without deleting the database),
  ``evictionPolicy: NoEviction`` (the usage ledger must never lose a key: a full database refuses
  writes instead of dropping data), ``accessKeysAuthentication: Disabled`` (Entra ID only).
- Access policy assignments (``databases/default/accessPolicyAssignments``): only the
  ``default`` policy exists ("Only "default" policy is supported for now"); names are
  ``^[A-Za-z0-9]{1,60}$`` (no hyphens, so not a GUID: azure-cli issue #33568).

az: ``az redisenterprise`` is an az *extension*, not part of azure-cli itself, so its lines fail
az's parser wherever the extension is not installed. pros echoes the faithful ``az rest`` call for
every Managed Redis write, with a note naming the extension command that does the same by hand.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.cache_kinds import MANAGED
from pros_cli.echo import ARM, AzCommand, JsonSubst, az, az_rest
from pros_cli.resources.base import FieldDiff, Resource, get_path
from pros_cli.resources.redis_access import AccessAssignment, Grantee
from pros_cli.spec import Spec

CLUSTER_TYPE = "Microsoft.Cache/redisEnterprise"
API_VERSION = "2025-07-01"  # what azure-mgmt-redisenterprise 3.1.0 sends
DATABASE = "default"
PORT = 10000
MIN_TLS = "1.2"
ACCESS_POLICY = "default"


def host_name(cluster: str, region: str) -> str:
    return f"{cluster}.{region}.redis.azure.net"


def _note(command: str) -> str:
    return (
        f"by hand: az redisenterprise {command} (an az extension, not part of az: az extension add "
        "--name redisenterprise); pros echoes the REST call it makes"
    )


def _rest(method: str, arm_id: str, body: dict[str, Any] | None, command: str) -> AzCommand:
    return dataclasses.replace(az_rest(method, arm_id, API_VERSION, body), note=_note(command))


class ManagedRedisCluster(Resource):
    """The cluster, in the shared region: TLS 1.2, high availability, public endpoint (the token
    processor reaches it over TLS with an Entra token; there is no key to steal)."""

    typical_seconds = 600  # several minutes (Azure Cache for Redis took 15-20)
    arm_type = CLUSTER_TYPE
    client_kind = "redisenterprise"
    api_version = API_VERSION
    label = "Managed Redis"
    managed_fields = (
        "location",
        "sku.name",
        "properties.minimumTlsVersion",
        "properties.highAvailability",
        "properties.publicNetworkAccess",
    )
    immutable_fields = ("location",)
    patch_whole = ("sku",)

    def __init__(self, spec: Spec, *, key: str, depends_on: tuple[str, ...] = (), parent: str | None = None):
        super().__init__(
            spec,
            key=key,
            name=spec.names.redis(),
            region=spec.shared_region,
            depends_on=depends_on,
            parent=parent,
        )

    def desired(self) -> dict[str, Any]:
        return {
            "location": self.region,
            "tags": self.desired_tags(),
            "sku": {"name": self.spec.redis_sku},
            "properties": {
                "minimumTlsVersion": MIN_TLS,
                "highAvailability": "Enabled",
                "publicNetworkAccess": "Enabled",
            },
        }

    def host_name(self) -> str:
        return host_name(self.name, str(self.region))

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        """Where clients connect (never a key): the `pros usage` command reads these."""
        return {
            "host_name": get_path(current, "properties.hostName") or self.host_name(),
            "port": PORT,
            "cache_kind": MANAGED,
        }

    # ---- calls ------------------------------------------------------------------------------
    def _ops(self, clients: Any) -> Any:
        return self.client(clients).redis_enterprise

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self._ops(clients).get, self.resource_group, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return self._ops(clients).begin_create(
            self.resource_group,
            self.name,
            self.desired(),
            cls=raw_json,
            continuation_token=continuation_token,
        )

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        """PATCH (RedisEnterprise_Update) only what differs; a SKU change scales in place."""
        return self._ops(clients).begin_update(
            self.resource_group, self.name, self.patch_body(current, diffs), cls=raw_json
        )

    def delete(self, clients: Any) -> Any:
        return self._ops(clients).begin_delete(self.resource_group, self.name)

    # ---- az ---------------------------------------------------------------------------------
    def az_read(self) -> AzCommand:
        return az_rest("GET", self.arm_id(), API_VERSION)

    def az_create(self) -> list[AzCommand]:
        return [_rest("PUT", self.arm_id(), self.desired(), "create")]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        return [_rest("PATCH", self.arm_id(), self.patch_body(current, diffs), "update")]

    def az_delete(self) -> list[AzCommand]:
        return [_rest("DELETE", self.arm_id(), None, "delete")]


class ManagedRedisDatabase(Resource):
    """The cluster's ``default`` database: TLS only on port 10000, one endpoint
    (EnterpriseCluster), never evicts, Entra ID only."""

    typical_seconds = 120
    arm_type = "Microsoft.Cache/redisEnterprise/databases"
    client_kind = "redisenterprise"
    api_version = API_VERSION
    label = "Managed Redis database"
    tagged = False  # a proxy resource: ARM keeps no tags on it
    managed_fields = (
        "properties.clientProtocol",
        "properties.port",
        "properties.clusteringPolicy",
        "properties.evictionPolicy",
        "properties.accessKeysAuthentication",
    )
    # Port: create-only. Clustering policy: "cannot be updated without deleting the database".
    immutable_fields = ("properties.port", "properties.clusteringPolicy")

    def __init__(self, spec: Spec, *, key: str, cluster: ManagedRedisCluster):
        super().__init__(
            spec, key=key, name=DATABASE, region=None, depends_on=(cluster.key,), parent=cluster.key
        )
        self.cluster = cluster

    def arm_id(self) -> str:
        return f"{self.cluster.arm_id()}/databases/{self.name}"

    def describe(self) -> str:
        return f"{self.label} {self.name} of {self.cluster.name}"

    def desired(self) -> dict[str, Any]:
        return {
            "properties": {
                "clientProtocol": "Encrypted",
                "port": PORT,
                "clusteringPolicy": "EnterpriseCluster",
                "evictionPolicy": "NoEviction",
                "accessKeysAuthentication": "Disabled",
            }
        }

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "port": get_path(current, "properties.port"),
            "client_protocol": get_path(current, "properties.clientProtocol"),
            "access_keys_authentication": get_path(current, "properties.accessKeysAuthentication"),
        }

    # ---- calls ------------------------------------------------------------------------------
    def _ops(self, clients: Any) -> Any:
        return self.client(clients).databases

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self._ops(clients).get, self.resource_group, self.cluster.name, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return self._ops(clients).begin_create(
            self.resource_group,
            self.cluster.name,
            self.name,
            self.desired(),
            cls=raw_json,
            continuation_token=continuation_token,
        )

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self._ops(clients).begin_update(
            self.resource_group, self.cluster.name, self.name, self.patch_body(current, diffs), cls=raw_json
        )

    def delete(self, clients: Any) -> Any:
        return self._ops(clients).begin_delete(self.resource_group, self.cluster.name, self.name)

    # ---- az ---------------------------------------------------------------------------------
    def az_read(self) -> AzCommand:
        return az_rest("GET", self.arm_id(), API_VERSION)

    def az_create(self) -> list[AzCommand]:
        return [_rest("PUT", self.arm_id(), self.desired(), "database create")]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        return [_rest("PATCH", self.arm_id(), self.patch_body(current, diffs), "database update")]

    def az_delete(self) -> list[AzCommand]:
        return [_rest("DELETE", self.arm_id(), None, "database delete")]


class ManagedRedisAccessPolicyAssignment(AccessAssignment):
    """Lets one Entra identity into the database as a Redis user under the ``default`` policy."""

    arm_type = "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments"
    client_kind = "redisenterprise"
    api_version = API_VERSION
    label = "Managed Redis access policy assignment"
    managed_fields = ("properties.accessPolicyName", "properties.user.objectId")
    immutable_fields = managed_fields
    replace_on = managed_fields
    object_id_path = "properties.user.objectId"

    def __init__(self, spec: Spec, *, key: str, database: ManagedRedisDatabase, grantee: Grantee):
        super().__init__(spec, key=key, scope=database, grantee=grantee, policy=ACCESS_POLICY)
        self.database = database

    def desired(self) -> dict[str, Any]:
        return {"properties": {"accessPolicyName": self.policy, "user": {"objectId": self.object_id()}}}

    def _ops(self, clients: Any) -> Any:
        return self.client(clients).access_policy_assignment

    def _where(self) -> tuple[str, str, str, str]:
        return self.resource_group, self.database.cluster.name, self.database.name, self.name

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self._ops(clients).get, *self._where())

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        if continuation_token is None:
            self._require_object_id()
        return self._ops(clients).begin_create_update(
            *self._where(), self.desired(), cls=raw_json, continuation_token=continuation_token
        )

    def delete(self, clients: Any) -> Any:
        return self._ops(clients).begin_delete(*self._where())

    # ---- az ---------------------------------------------------------------------------------
    def az_read(self) -> AzCommand:
        return az_rest("GET", self.arm_id(), API_VERSION)

    def az_create(self) -> list[AzCommand]:
        """With the identity not there yet (a dry run), the body asks az for its object id."""
        oid = self.grantee.az_object_id(self.inputs)
        if isinstance(oid, str):
            return [_rest("PUT", self.arm_id(), self.desired(), "database access-policy-assignment create")]
        placeholder = "@OBJECT_ID@"
        body = {"properties": {"accessPolicyName": self.policy, "user": {"objectId": placeholder}}}
        url = f"{ARM}{self.arm_id()}?api-version={API_VERSION}"
        cmd = az("rest", "--method", "put", "--url", url, "--body", JsonSubst(body, ((placeholder, oid),)))
        return [dataclasses.replace(cmd, note=_note("database access-policy-assignment create"))]

    def az_delete(self) -> list[AzCommand]:
        return [_rest("DELETE", self.arm_id(), None, "database access-policy-assignment delete")]
