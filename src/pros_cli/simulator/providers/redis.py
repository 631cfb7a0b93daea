"""Microsoft.Cache: Azure Cache for Redis, its access keys, name availability and access policy
assignments (Microsoft Entra ID data access).

Like Azure, the response to a create or update carries the access keys in
``properties.accessKeys`` (RedisCacheCreate.json; the spec: "not set if this object is not the
response to Create or Update redis cache"), while a GET never does. Since that response is also
the initial response of a long-running operation, the keys end up inside the SDK poller's
continuation token, which is what pros's state file must never store.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pros_cli import regions
from pros_cli.simulator.core import ArmError, ArmPath, SimResponse, TypeSpec, new_secret

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

Body = dict[str, Any]
TYPE = "Microsoft.Cache/Redis"
ASSIGNMENTS = "Microsoft.Cache/Redis/accessPolicyAssignments"
API_VERSIONS = ("2024-11-01", "2024-03-01", "2023-08-01", "2023-04-01")
SKUS = {"Basic": "C", "Standard": "C", "Premium": "P"}
CAPACITY = {"C": (0, 6), "P": (1, 5)}
RANK = {"Basic": 0, "Standard": 1, "Premium": 2}
TLS = ("1.0", "1.1", "1.2")
NAME_RE = r"(?!.*--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
NAME_MSG = ("Redis cache names are 1-63 letters, digits and hyphens, start and end with a letter or digit, "
            "and have no consecutive hyphens.")
CONFIG_DEFAULTS = {"maxclients": "1000", "maxmemory-reserved": "30", "maxmemory-delta": "30"}
# The built-in access policies every cache has (az redis access-policy list; Microsoft Learn,
# "Configure role-based access control with Data Access Policy").
BUILTIN_POLICIES = {
    "Data Owner": "+@all allkeys",
    "Data Contributor": "+@all -@dangerous +cluster|info +cluster|nodes +cluster|slots allkeys",
    "Data Reader": "+@read +@connection +cluster|info +cluster|nodes +cluster|slots allkeys",
}
# azure-mgmt-redis 14.5.0 (api 2024-11-01) validates assignment names: 3-63 characters.
ASSIGNMENT_NAME_RE = r"(?=.{3,63}$)([a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]|[a-zA-Z0-9])"
ASSIGNMENT_NAME_MSG = "Access policy assignment names are 3-63 letters, digits and hyphens."
GUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def bad(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


def _sku(props: Body) -> tuple[str, str, int]:
    sku = props.get("sku") or {}
    name = next((s for s in SKUS if s.lower() == str(sku.get("name", "")).lower()), None)
    if name is None:
        raise bad(f"The SKU name '{sku.get('name')}' is invalid. Valid values are: {', '.join(SKUS)}.")
    family = str(sku.get("family", "")).upper()
    if family != SKUS[name]:
        raise bad(f"The family '{sku.get('family')}' is not valid for the {name} SKU; use '{SKUS[name]}'.")
    capacity = sku.get("capacity")
    low, high = CAPACITY[family]
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not low <= capacity <= high:
        raise bad(f"The capacity '{capacity}' is not valid for family {family}: {low} to {high}.")
    return name, family, capacity


def _validate(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    props = body.get("properties") or {}
    name, _, _ = _sku(props)
    tls = props.get("minimumTlsVersion")
    if tls is not None and str(tls) not in TLS:
        raise bad(f"The value '{tls}' is not valid for minimumTlsVersion. Valid values: {', '.join(TLS)}.")
    for flag in ("enableNonSslPort", "disableAccessKeyAuthentication"):
        if flag in props and not isinstance(props[flag], bool):
            raise bad(f"{flag} must be true or false.")
    aad = (props.get("redisConfiguration") or {}).get("aad-enabled")
    if aad is not None and str(aad).lower() not in ("true", "false"):
        raise bad(f"The value '{aad}' is not valid for redisConfiguration.aad-enabled: 'true' or 'false'.")
    before = (((old or {}).get("properties") or {}).get("sku") or {}).get("name")
    if before and RANK[name] < RANK[before]:
        raise bad(f"Scaling a {before} cache down to {name} is not supported.")


def _instances(sku: str, props: Body, zones: list[str]) -> list[Body]:
    """One primary plus its replicas per shard (Basic: a single node), as RedisCacheCreate.json."""
    replicas = 0 if sku == "Basic" else int(props.get("replicasPerPrimary") or 1)
    shards = int(props.get("shardCount") or 0)
    out: list[Body] = []
    for shard in range(max(shards, 1)):
        for replica in range(replicas + 1):
            n = len(out)
            node: Body = {"sslPort": 15000 + n, "nonSslPort": 13000 + n}
            if zones:
                node["zone"] = zones[n % len(zones)]
            if shards:
                node["shardId"] = shard
            node.update(isMaster=replica == 0, isPrimary=replica == 0)
            out.append(node)
    return out


def _build(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    props = body["properties"]
    old_props = (old or {}).get("properties") or {}
    name, family, capacity = _sku(props)
    props["sku"] = {"name": name, "family": family, "capacity": capacity}
    props.pop("accessKeys", None)  # read-only, and never stored with the resource
    props.setdefault("enableNonSslPort", old_props.get("enableNonSslPort", False))
    props.setdefault("minimumTlsVersion", old_props.get("minimumTlsVersion", "1.2"))
    props.setdefault("publicNetworkAccess", old_props.get("publicNetworkAccess", "Enabled"))
    # RedisCommonProperties.disableAccessKeyAuthentication: "Default value is false".
    props.setdefault("disableAccessKeyAuthentication", old_props.get("disableAccessKeyAuthentication", False))
    props["redisConfiguration"] = {**CONFIG_DEFAULTS, **(old_props.get("redisConfiguration") or {}),
                                   **(props.get("redisConfiguration") or {})}
    version = str(props.get("redisVersion") or old_props.get("redisVersion") or "6")
    props["redisVersion"] = version if "." in version else f"{version}.0"
    props["hostName"] = f"{body['name']}.redis.cache.windows.net"
    props["port"] = 6379
    props["sslPort"] = 6380
    if name != "Basic":
        props["replicasPerMaster"] = props["replicasPerPrimary"] = int(props.get("replicasPerPrimary") or 1)
    props["instances"] = _instances(name, props, [str(z) for z in body.get("zones") or []])
    props["linkedServers"] = []
    props["updateChannel"] = props.get("updateChannel") or old_props.get("updateChannel") or "Stable"
    location = regions.normalize(str(body.get("location") or ""))
    if location:
        body["location"] = regions.display_name(location)  # ARM answers "East US" for "eastus"
    return body


def _keys(stored: Body) -> Body:
    return stored.setdefault("secrets", {"primaryKey": new_secret(), "secondaryKey": new_secret()})


def _list_keys(sim: Simulator, parsed: ArmPath, req: SimRequest, stored: Body) -> SimResponse:
    return SimResponse(200, dict(_keys(stored)))


def _respond(sim: Simulator, stored: Body, response: SimResponse) -> SimResponse:
    """Azure hands out the keys in the response to a create or update (never to a GET)."""
    if isinstance(response.body, dict):
        response.body.setdefault("properties", {})["accessKeys"] = dict(_keys(stored))
    return response


def _check_name(sim: Simulator, req: SimRequest, *_: str) -> SimResponse:
    """200 with no body when free; the service answers a taken name with 409 NameNotAvailable
    rather than a nameAvailable flag (azure-rest-api-specs #2981)."""
    body = req.body if isinstance(req.body, dict) else {}
    name = str(body.get("name") or "")
    if str(body.get("type") or "").lower() != TYPE.lower():
        raise bad(f"The resource type '{body.get('type')}' is invalid; the only supported type is "
                  "'Microsoft.Cache/redis'.")
    if not re.fullmatch(NAME_RE, name):
        raise ArmError(400, "InvalidResourceName", f"{name!r}: {NAME_MSG}")
    free, _ = sim.name_available(TYPE, name)
    if not free:
        raise ArmError(409, "NameNotAvailable",
                       f"The name '{name}' is not available: a Redis cache with this name already exists. "
                       "Please choose a different name.")
    return SimResponse(200)


# ---- access policy assignments ------------------------------------------------------------------
def _validate_assignment(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    """The policy must exist; one policy per object id and cache (Azure/AzureCacheForRedis #14);
    one access policy operation at a time, so not while the cache is busy (Azure/bicep #11465:
    "Redis is busy processing a previous update request or is undergoing system maintenance")."""
    props = body.get("properties") or {}
    cache = sim.get_resource(parsed.parent_id or "")
    op_id = (cache or {}).get("operation")
    op = sim.db["operations"].get(op_id) if op_id else None
    if op and op["status"] == "InProgress":
        raise ArmError(409, "Conflict", "Redis is busy processing a previous update request or is undergoing "
                       "system maintenance. Please try again later.")
    policy = str(props.get("accessPolicyName") or "")
    if policy not in BUILTIN_POLICIES:
        raise ArmError(404, "NotFound", f"Access policy '{policy}' does not exist on this cache. Built-in "
                       f"policies: {', '.join(BUILTIN_POLICIES)}.")
    object_id = str(props.get("objectId") or "")
    if not re.fullmatch(GUID_RE, object_id):
        raise bad(f"The value '{object_id}' is not valid for objectId: expected a Microsoft Entra object id.")
    prefix = f"{parsed.parent_id or ''}/accesspolicyassignments/".lower()
    for other in sim.resources_of_type(ASSIGNMENTS):
        other_id = other["body"]["id"].lower()
        if other_id.startswith(prefix) and other_id != parsed.resource_id.lower() and str(
                other["body"]["properties"].get("objectId")).lower() == object_id.lower():
            raise bad("An invalid access policy assignment was detected due to duplicate entries. Please "
                      "review and ensure that each assignment has a unique combination of assignmentName, "
                      "policyName and ObjectId to avoid such duplicates.")


def _build_assignment(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    given = body["properties"]
    body["properties"] = {
        "accessPolicyName": given["accessPolicyName"],
        "objectId": str(given["objectId"]).lower(),
        "objectIdAlias": str(given["objectIdAlias"]),
    }
    return body


def _render_assignment(sim: Simulator, body: Body) -> Body:
    body["type"] = ASSIGNMENTS  # "Microsoft.Cache/Redis/accessPolicyAssignments", as the example
    return body


def register(sim: Simulator) -> None:
    # Create/update answer 200/201 with provisioningState Succeeded, delete 202 with a Location
    # (RedisCacheAccessPolicyAssignmentCreateUpdate.json, ...Delete.json, 2024-11-01).
    sim.register_type(
        TypeSpec(
            ASSIGNMENTS,
            API_VERSIONS,
            create_mode="sync",
            create_status=201,
            update_mode="sync",
            delete_mode="location",
            parent_type=TYPE,
            tracked=False,
            immutable=(),
            required=("properties.accessPolicyName", "properties.objectId", "properties.objectIdAlias"),
            name_rule=(ASSIGNMENT_NAME_RE, ASSIGNMENT_NAME_MSG),
            validate=_validate_assignment,
            build=_build_assignment,
            render=_render_assignment,
        )
    )
    sim.register_type(
        TypeSpec(
            TYPE,
            API_VERSIONS,
            # RedisCacheCreate.json: 201 (or 200 for an update) with the cache and no polling header;
            # the SDK polls the cache's provisioningState.
            create_mode="body",
            create_status=201,
            update_mode="body",
            patch_mode="async",
            delete_mode="location",
            required=("location", "properties.sku.name", "properties.sku.family", "properties.sku.capacity"),
            global_name=True,
            name_taken_code="NameNotAvailable",
            name_rule=(NAME_RE, NAME_MSG),
            validate=_validate,
            build=_build,
            actions={"listkeys": _list_keys},
            respond=_respond,
        )
    )
    sim.route("POST", r"/subscriptions/[^/]+/providers/Microsoft\.Cache/CheckNameAvailability",
              api_versions=API_VERSIONS)(_check_name)
