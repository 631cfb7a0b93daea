"""Microsoft.Cache/redisEnterprise: Azure Managed Redis clusters, their databases and the
databases' access policy assignments.

Sources: the REST spec and its examples (azure-rest-api-specs, specification/redisenterprise/
resource-manager/Microsoft.Cache/RedisEnterprise/stable/2025-07-01/redisenterprise.json and
examples/*.json), and a recorded create (Azure/azure-cli-extensions, src/redisenterprise/
azext_redisenterprise/tests/latest/recordings/test_redisenterprise_scenario1.yaml):

- Cluster PUT: 201 with the body in provisioningState/resourceState "Creating" and an
  ``Azure-AsyncOperation`` header naming ``.../providers/Microsoft.Cache/locations/<loc>/
  operationsStatus/<id>`` (the recording; OperationsStatusGet.json has that path). PATCH and
  DELETE are long-running too (DELETE: 202 with Azure-AsyncOperation and Location,
  RedisEnterpriseDelete.json). ``sku.name`` from the spec's enum; ``publicNetworkAccess`` is
  required on create (ClusterCreateProperties.required); minimumTlsVersion "1.0"/"1.1" "are now
  completely obsolete -- you cannot use them". Names: ``^(?=.{1,60}$)[A-Za-z0-9]+(-[A-Za-z0-9]+)*$``,
  unique within their region (the host name is ``<name>.<region>.redis.azure.net``; Microsoft
  Learn quickstart: "Enter a name that is unique in the region").
- Database: a child of the cluster, created once the cluster is (its own long-running PUT,
  RedisEnterpriseDatabasesCreate.json: 201 "Creating"). Defaults from the spec: clientProtocol
  Encrypted, clusteringPolicy OSSCluster, evictionPolicy VolatileLRU, accessKeysAuthentication
  Disabled (DatabaseCreateProperties default). ``port``, ``modules`` and ``geoReplication`` are
  create-only (x-ms-mutability read, create); clusteringPolicy changes only from NoCluster.
  listKeys hands out the keys (new_secret) unless access keys are disabled.
- Access policy assignment: a child of the database; ``accessPolicyName`` and ``user`` are
  required and only the "default" policy exists; names ``^[A-Za-z0-9]{1,60}$``. PUT answers
  201 with provisioningState Succeeded (RedisEnterpriseAccessPolicyAssignmentCreateUpdate.json),
  DELETE 202 with Azure-AsyncOperation and Location (...AssignmentDelete.json); the response
  ``type`` is ``Microsoft.Cache/redisEnterprise/accessPolicyAssignments``.

Marked [I] where no source says it and the rule is inferred.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pros_cli import regions
from pros_cli.simulator.core import ArmError, ArmPath, SimResponse, TypeSpec, new_secret

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

Body = dict[str, Any]
TYPE = "Microsoft.Cache/redisEnterprise"
DATABASES = "Microsoft.Cache/redisEnterprise/databases"
ASSIGNMENTS = "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments"
API_VERSIONS = ("2025-07-01",)  # azure-mgmt-redisenterprise 3.1.0

# The spec's Sku.name enum (2025-07-01), independent of the list pros offers.
_SIZES = {
    "Enterprise": ("E1", "E5", "E10", "E20", "E50", "E100", "E200", "E400"),
    "EnterpriseFlash": ("F300", "F700", "F1500"),
    "Balanced": (
        "B0",
        "B1",
        "B3",
        "B5",
        "B10",
        "B20",
        "B50",
        "B100",
        "B150",
        "B250",
        "B350",
        "B500",
        "B700",
        "B1000",
    ),
    "MemoryOptimized": (
        "M10",
        "M20",
        "M50",
        "M100",
        "M150",
        "M250",
        "M350",
        "M500",
        "M700",
        "M1000",
        "M1500",
        "M2000",
    ),
    "ComputeOptimized": ("X3", "X5", "X10", "X20", "X50", "X100", "X150", "X250", "X350", "X500", "X700"),
    "FlashOptimized": ("A250", "A500", "A700", "A1000", "A1500", "A2000", "A4500"),
}
SKUS = tuple(f"{tier}_{size}" for tier, sizes in _SIZES.items() for size in sizes)
NAME_RE = r"(?=.{1,60}$)[A-Za-z0-9]+(-[A-Za-z0-9]+)*"
NAME_MSG = (
    "Name must be 1-60 characters long. Allowed characters(A-Z, a-z, 0-9) and hyphen(-). There can be "
    "no leading nor trailing nor consecutive hyphens."
)
ASSIGNMENT_NAME_RE = r"[A-Za-z0-9]{1,60}"
ASSIGNMENT_NAME_MSG = "Access policy assignment names are 1-60 letters and digits."
GUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ENUMS: dict[str, tuple[str, ...]] = {
    "clientProtocol": ("Encrypted", "Plaintext"),
    "clusteringPolicy": ("EnterpriseCluster", "OSSCluster", "NoCluster"),
    "evictionPolicy": (
        "AllKeysLFU",
        "AllKeysLRU",
        "AllKeysRandom",
        "VolatileLRU",
        "VolatileLFU",
        "VolatileTTL",
        "VolatileRandom",
        "NoEviction",
    ),
    "accessKeysAuthentication": ("Disabled", "Enabled"),
    "deferUpgrade": ("Deferred", "NotDeferred"),
}
CLUSTER_ENUMS: dict[str, tuple[str, ...]] = {
    "publicNetworkAccess": ("Enabled", "Disabled"),
    "highAvailability": ("Enabled", "Disabled"),
}
DATABASE_DEFAULTS: Body = {
    "clientProtocol": "Encrypted",
    "clusteringPolicy": "OSSCluster",
    "evictionPolicy": "VolatileLRU",
    "accessKeysAuthentication": "Disabled",
    "deferUpgrade": "NotDeferred",
    "port": 10000,  # "Defaults to an available port": the first one, on a new cluster
}
REDIS_VERSION = "7.4"  # [I] Azure Managed Redis runs Redis 7.4 (the examples still show 5 and 6.0)
RESOURCE_STATES = {
    "creating": "Creating",
    "updating": "Updating",
    "deleting": "Deleting",
    "succeeded": "Running",
    "failed": "CreateFailed",
    "canceled": "CreateFailed",
}


def bad(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


def _busy(sim: Simulator, stored: Body | None, what: str) -> None:
    """[I] One operation at a time on a cluster or database, as on every other Cache resource."""
    op_id = (stored or {}).get("operation")
    op = sim.db["operations"].get(op_id) if op_id else None
    if op and op["status"] == "InProgress":
        raise ArmError(
            409, "Conflict", f"{what} has an operation in progress ({op['kind']}); retry once it completes."
        )


def _enum(props: Body, name: str, allowed: tuple[str, ...]) -> None:
    value = props.get(name)
    if value is not None and str(value).lower() not in {a.lower() for a in allowed}:
        raise bad(f"The value '{value}' is not valid for {name}. Valid values: {', '.join(allowed)}.")


def _canon(value: str, allowed: tuple[str, ...]) -> str:
    return next((a for a in allowed if a.lower() == str(value).lower()), str(value))


# ---- cluster ------------------------------------------------------------------------------------
def _sku(body: Body) -> str:
    sku = body.get("sku") or {}
    name = next((s for s in SKUS if s.lower() == str(sku.get("name", "")).lower()), None)
    if name is None:
        raise bad(f"The SKU '{sku.get('name')}' is not valid. Valid SKUs: {', '.join(SKUS)}.")
    capacity = sku.get("capacity")
    tier = name.split("_", 1)[0]
    if capacity is not None and tier in ("Enterprise", "EnterpriseFlash"):
        # "Valid values are (2, 4, 6, ...) for Enterprise SKUs and (3, 9, 15, ...) for EnterpriseFlash SKUs."
        ok = capacity > 0 and (capacity % 2 == 0 if tier == "Enterprise" else capacity % 6 == 3)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not ok:
            raise bad(f"The capacity '{capacity}' is not valid for {name}.")
    return name


def _region(body: Body) -> str:
    return regions.normalize(str(body.get("location") or "")) or str(body.get("location") or "").lower()


def _validate_cluster(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    _sku(body)
    props = body.get("properties") or {}
    tls = props.get("minimumTlsVersion")
    if tls is not None and str(tls) != "1.2":
        raise bad(
            f"The value '{tls}' is not valid for minimumTlsVersion: TLS 1.0 and 1.1 are obsolete; use '1.2'."
            if str(tls) in ("1.0", "1.1")
            else f"The value '{tls}' is not valid for minimumTlsVersion."
        )
    for name, allowed in CLUSTER_ENUMS.items():
        _enum(props, name, allowed)
    if old is None:
        _check_regional_name(sim, parsed, body)


def _check_regional_name(sim: Simulator, parsed: ArmPath, body: Body) -> None:
    """The host name is <name>.<region>.redis.azure.net: a name is taken in its region, by any
    subscription. Names marked taken with Simulator.take_name are taken in every region."""
    name, region = parsed.name.lower(), _region(body)
    taken = name in sim.db["foreign_names"].get(TYPE.lower(), [])
    for other in sim.resources_of_type(TYPE):
        same = other["body"]["name"].lower() == name and _region(other["body"]) == region
        taken = taken or (same and other["body"]["id"].lower() != parsed.resource_id.lower())
    if taken:
        raise ArmError(
            409,
            "NameNotAvailable",
            f"The name '{parsed.name}' is already in use in region "
            f"'{region}' ({parsed.name}.{region}.redis.azure.net). Please choose a different name.",
        )


def _build_cluster(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    props = body["properties"]
    old_props = (old or {}).get("properties") or {}
    name = _sku(body)
    sku: Body = {"name": name}
    if (body.get("sku") or {}).get("capacity") is not None:
        sku["capacity"] = body["sku"]["capacity"]
    body["sku"] = sku
    tier = name.split("_", 1)[0]
    body["kind"] = "v1" if tier in ("Enterprise", "EnterpriseFlash") else "v2"  # [I] v2: Managed Redis
    region = _region(body)
    body["location"] = regions.display_name(region) if regions.normalize(region) else body.get("location")
    for key in ("minimumTlsVersion", "highAvailability", "publicNetworkAccess"):
        default = {"minimumTlsVersion": "1.2", "highAvailability": "Enabled"}.get(key)
        props[key] = props.get(key) or old_props.get(key) or default
        if key in CLUSTER_ENUMS and props[key] is not None:
            props[key] = _canon(props[key], CLUSTER_ENUMS[key])
    props["hostName"] = f"{body['name']}.{region}.redis.azure.net"
    props["redisVersion"] = REDIS_VERSION
    ha = props["highAvailability"] == "Enabled"
    props["redundancyMode"] = ("ZR" if body.get("zones") else "LR") if ha else "None"  # [I]
    props["privateEndpointConnections"] = old_props.get("privateEndpointConnections") or []
    return body


def _render_state(sim: Simulator, body: Body) -> Body:
    props = body.setdefault("properties", {})
    state = str(props.get("provisioningState") or "").lower()
    props["resourceState"] = RESOURCE_STATES.get(state, "Running")
    return body


def _before_delete_cluster(sim: Simulator, parsed: ArmPath, stored: Body) -> None:
    _busy(sim, stored, f"Cluster '{parsed.name}'")


# ---- database -----------------------------------------------------------------------------------
def _cluster_of(sim: Simulator, parsed: ArmPath) -> Body | None:
    return sim.get_resource(parsed.resource_id.split("/databases/", 1)[0])


def _validate_database(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    cluster = _cluster_of(sim, parsed)
    _busy(sim, cluster, f"Cluster '{parsed.names[0]}'")  # [I] a database waits for its cluster
    props = body.get("properties") or {}
    for name, allowed in ENUMS.items():
        _enum(props, name, allowed)
    port = props.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
        raise bad(f"The value '{port}' is not valid for port.")
    if old is None:
        return
    old_props = old.get("properties") or {}
    for key in ("port", "modules", "geoReplication"):  # x-ms-mutability: read, create
        if (
            key in props
            and props[key] != old_props.get(key)
            and not (key == "modules" and _same_modules(props[key], old_props.get(key)))
        ):
            raise bad(f"Property '{key}' can only be set when the database is created.")
    before = str(old_props.get("clusteringPolicy") or "")
    after = props.get("clusteringPolicy")
    if after is not None and str(after).lower() != before.lower() and before != "NoCluster":
        raise bad(f"clusteringPolicy {before} cannot be updated without deleting the database.")


def _same_modules(new: Any, old: Any) -> bool:
    names = [str(m.get("name")) for m in new or [] if isinstance(m, dict)]
    return names == [str(m.get("name")) for m in old or [] if isinstance(m, dict)]


def _build_database(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    props = body["properties"]
    old_props = (old or {}).get("properties") or {}
    for key, default in DATABASE_DEFAULTS.items():
        value = props.get(key, old_props.get(key, default))
        props[key] = _canon(value, ENUMS[key]) if key in ENUMS else value
    props["modules"] = [
        {"name": m.get("name"), "args": m.get("args", ""), "version": "1.0.0"}
        for m in (props.get("modules") if "modules" in props else old_props.get("modules")) or []
    ]
    props["persistence"] = (
        props.get("persistence") or old_props.get("persistence") or {"aofEnabled": False, "rdbEnabled": False}
    )
    props["redisVersion"] = REDIS_VERSION
    return body


def _render_database(sim: Simulator, body: Body) -> Body:
    cluster = body["id"].split("/redisEnterprise/", 1)[1].split("/", 1)[0]
    body["name"] = f"{cluster}/{body['name'].rsplit('/', 1)[-1]}"  # "cache1/default", as the examples
    return _render_state(sim, body)


def _list_keys(sim: Simulator, parsed: ArmPath, req: SimRequest, stored: Body) -> SimResponse:
    """[I] With access keys disabled there is no key to hand out."""
    if str(stored["body"]["properties"].get("accessKeysAuthentication")).lower() == "disabled":
        raise bad(
            "Access keys authentication is disabled for this database: enable accessKeysAuthentication "
            "to list keys, or connect with Microsoft Entra ID."
        )
    secrets = stored.setdefault("secrets", {"primaryKey": new_secret(), "secondaryKey": new_secret()})
    return SimResponse(200, dict(secrets))


def _before_delete_database(sim: Simulator, parsed: ArmPath, stored: Body) -> None:
    _busy(sim, stored, f"Database '{parsed.name}'")


# ---- access policy assignments --------------------------------------------------------------------
def _validate_assignment(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    props = body.get("properties") or {}
    policy = props.get("accessPolicyName")
    if str(policy) != "default":
        raise bad(f"Access policy '{policy}' does not exist. Only \"default\" policy is supported.")
    user = props.get("user")
    object_id = user.get("objectId") if isinstance(user, dict) else None
    if not re.fullmatch(GUID_RE, str(object_id or "")):
        raise bad(
            f"The value '{object_id}' is not valid for user.objectId: expected a Microsoft Entra object id."
        )


def _build_assignment(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    given = body["properties"]
    body["properties"] = {
        "accessPolicyName": given["accessPolicyName"],
        "user": {"objectId": str(given["user"]["objectId"]).lower()},
    }
    return body


def _render_assignment(sim: Simulator, body: Body) -> Body:
    body["type"] = "Microsoft.Cache/redisEnterprise/accessPolicyAssignments"  # as the examples spell it
    return body


def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            TYPE,
            API_VERSIONS,
            create_mode="async",
            create_status=201,
            update_mode="async",
            patch_mode="async",
            delete_mode="async",
            required=("location", "sku.name", "properties.publicNetworkAccess"),
            name_rule=(NAME_RE, NAME_MSG),
            validate=_validate_cluster,
            build=_build_cluster,
            render=_render_state,
            before_delete=_before_delete_cluster,
            status_segment="operationsStatus",
        )
    )
    sim.register_type(
        TypeSpec(
            DATABASES,
            API_VERSIONS,
            create_mode="async",
            create_status=201,
            update_mode="async",
            patch_mode="async",
            delete_mode="async",
            parent_type=TYPE,
            tracked=False,
            immutable=(),
            name_rule=(NAME_RE, NAME_MSG),
            validate=_validate_database,
            build=_build_database,
            render=_render_database,
            before_delete=_before_delete_database,
            actions={"listkeys": _list_keys},
            status_segment="operationsStatus",
        )
    )
    sim.register_type(
        TypeSpec(
            ASSIGNMENTS,
            API_VERSIONS,
            create_mode="sync",
            create_status=201,
            update_mode="sync",
            delete_mode="async",
            parent_type=DATABASES,
            tracked=False,
            immutable=(),
            required=("properties.accessPolicyName", "properties.user"),
            name_rule=(ASSIGNMENT_NAME_RE, ASSIGNMENT_NAME_MSG),
            validate=_validate_assignment,
            build=_build_assignment,
            render=_render_assignment,
            status_segment="operationsStatus",
        )
    )

    @sim.route(
        "GET",
        r"/subscriptions/[^/]+/providers/Microsoft\.Cache/locations/[^/]+/operationsStatus/([^/]+)",
        api_versions=API_VERSIONS,
    )
    def _status(s: Simulator, req: SimRequest, op_id: str) -> SimResponse:
        return s.operation_status(req, op_id)
