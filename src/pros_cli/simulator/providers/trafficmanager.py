"""Microsoft.Network Traffic Manager: profiles, their endpoints and relative DNS name checks.

Endpoints live inside the profile, and ARM treats them that way: a profile PUT replaces the whole
endpoint list (a PUT without ``endpoints`` deletes every endpoint: terraform-provider-azurerm
#6041/#7470), a profile PATCH may not name ``endpoints`` at all, and an endpoint PUT changes one
endpoint. The simulator stores endpoints as child resources and renders them into the profile,
so the profile view and the endpoint view always agree.

Traffic Manager answers synchronously, has no ``provisioningState``, lives in location ``global``
and answers a DELETE with a JSON body the SDK parses. The generic resource handling does not
know these rules, so profile PUT/PATCH and DELETEs go through routes that apply them around it.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import time
from typing import TYPE_CHECKING, Any

from pros_cli import regions
from pros_cli.simulator.core import ArmError, ArmPath, SimResponse, TypeSpec, parse_arm_path
from pros_cli.simulator.providers import trafficmanager_geo as geo

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

Body = dict[str, Any]
PROFILE = "Microsoft.Network/trafficManagerProfiles"
# 2026-09-01 is what azure-mgmt-trafficmanager 2.0.0 sends (stable spec in azure-rest-api-specs,
# specification/trafficmanager/.../TrafficManager/stable/2026-09-01); the others are the earlier
# stable versions ARM still serves.
API_VERSIONS = ("2026-09-01", "2022-04-01", "2018-08-01", "2018-04-01")
# Path segment (lowercase) -> canonical segment as ARM returns it in ids and types.
ENDPOINT_KINDS = {
    "externalendpoints": "externalEndpoints",
    "azureendpoints": "azureEndpoints",
    "nestedendpoints": "nestedEndpoints",
}
ROUTING = ("Performance", "Priority", "Weighted", "Geographic", "MultiValue", "Subnet")
PROTOCOLS = ("HTTP", "HTTPS", "TCP")
STATUSES = ("Enabled", "Disabled")
DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
PATCH_ENDPOINTS = (
    "The 'endpoints' property cannot be specified when updating a profile using PATCH. "
    "Please use PUT to update the profile instead."
)
MONITOR_DEFAULTS = {"protocol": "HTTP", "port": 80, "path": "/", "intervalInSeconds": 30,
                    "timeoutInSeconds": 10, "toleratedNumberOfFailures": 3}


def bad(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


def _choice(value: Any, allowed: tuple[str, ...], what: str) -> str:
    """ARM accepts enum values in any case and answers with its own casing."""
    for option in allowed:
        if str(value).lower() == option.lower():
            return option
    raise bad(f"The value '{value}' is not valid for {what}. Valid values are: {', '.join(allowed)}.")


def _int_in(value: Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad(f"The value '{value}' for {what} must be a whole number from {low} to {high}.")
    return value


def endpoint_type(kind: str) -> str:
    return f"{PROFILE}/{ENDPOINT_KINDS[kind.lower()]}"


def _kind_of(type_name: Any) -> str:
    """'Microsoft.network/TrafficManagerProfiles/ExternalEndpoints' -> 'externalEndpoints'."""
    last = str(type_name or "").rsplit("/", 1)[-1].lower()
    if not str(type_name or "").lower().startswith(PROFILE.lower() + "/") or last not in ENDPOINT_KINDS:
        raise bad(
            f"The type '{type_name}' specified for an endpoint is invalid. Valid endpoint types are: "
            + ", ".join(f"'{endpoint_type(k)}'" for k in ENDPOINT_KINDS) + "."
        )
    return ENDPOINT_KINDS[last]


def _canonical_profile_id(resource_id: str) -> str:
    return re.sub(r"/trafficmanagerprofiles/", "/trafficManagerProfiles/", resource_id, flags=re.IGNORECASE)


# ---- endpoints --------------------------------------------------------------------------------


def _check_endpoint(name: str, kind: str, props: Body, routing: str) -> None:
    if not name.strip() or len(name) > 260:
        raise bad(f"Endpoint name '{name}' is invalid. Endpoint names cannot be empty or all whitespace, and "
                  "must be up to 260 characters long.")
    if "endpointStatus" in props:
        _choice(props["endpointStatus"], STATUSES, "endpointStatus")
    if kind == "externalEndpoints" and not props.get("target"):
        raise bad(f"The endpoint '{name}' of type 'externalEndpoints' must have a target.")
    if kind in ("azureEndpoints", "nestedEndpoints") and not props.get("targetResourceId"):
        raise bad(f"The endpoint '{name}' of type '{kind}' must have a targetResourceId.")
    location = props.get("endpointLocation")
    if location is not None and regions.normalize(str(location)) is None:
        raise bad(f"The endpoint location '{location}' of endpoint '{name}' is not a valid Azure region.")
    if routing == "Performance" and kind != "azureEndpoints" and not location:
        raise bad(f"The endpoint '{name}' must have an endpointLocation: profiles with the 'Performance' "
                  "traffic routing method need the location of every external and nested endpoint.")
    geo.check_codes(name, props)  # geographic routing: trafficmanager_geo.py


def _endpoint_body(sim: Simulator, endpoint_id: str, name: str, kind: str, props: Body,
                   old: Body | None, priority: int) -> Body:
    """An endpoint as ARM returns it (Endpoint-GET-External-WithLocation.json)."""
    out = copy.deepcopy(props)
    if kind == "nestedEndpoints":
        geo.fill_nested(sim, out)
    out.pop("endpointMonitorStatus", None)  # read-only
    old_props = (old or {}).get("properties") or {}
    out["endpointStatus"] = _choice(out.get("endpointStatus") or old_props.get("endpointStatus") or "Enabled",
                                    STATUSES, "endpointStatus")
    out["endpointMonitorStatus"] = "CheckingEndpoint" if out["endpointStatus"] == "Enabled" else "Disabled"
    out.setdefault("weight", old_props.get("weight", 1))
    out.setdefault("priority", old_props.get("priority", priority))
    if out.get("endpointLocation"):
        out["endpointLocation"] = regions.display_name(regions.normalize(str(out["endpointLocation"])) or "")
    return {"id": endpoint_id, "name": name, "type": f"{PROFILE}/{kind}", "properties": out}


def _profile_routing(sim: Simulator, profile_id: str) -> str:
    stored = sim.get_resource(profile_id)
    return str(((stored or {}).get("body", {}).get("properties") or {}).get("trafficRoutingMethod") or "")


def _validate_endpoint(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    kind = ENDPOINT_KINDS[parsed.arm_type.rsplit("/", 1)[-1].lower()]
    profile_id = parsed.parent_id or ""
    routing = _profile_routing(sim, profile_id)
    props = body.get("properties") or {}
    _check_endpoint(parsed.name, kind, props, routing)
    if kind == "nestedEndpoints":
        geo.check_nested(sim, profile_id, parsed.name, props)
    me = parsed.resource_id.lower()
    others = [(c["body"]["name"], c["body"].get("properties") or {}) for c in sim.children_of(profile_id)
              if c["body"]["id"].lower() != me]
    geo.check_layout(routing, [*others, (parsed.name, props)])


def _build_endpoint(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    kind = ENDPOINT_KINDS[parsed.arm_type.rsplit("/", 1)[-1].lower()]
    profile_id = _canonical_profile_id(parsed.parent_id or "")
    me = parsed.resource_id.lower()
    siblings = [c["body"] for c in sim.children_of(profile_id) if c["body"]["id"].lower() != me]
    taken = [int((s.get("properties") or {}).get("priority") or 0) for s in siblings]
    endpoint_id = f"{profile_id}/{kind}/{parsed.name}"
    props = body.get("properties") or {}
    return _endpoint_body(sim, endpoint_id, parsed.name, kind, props, old, 1 + max(taken, default=0))


def _render_endpoint(sim: Simulator, body: Body) -> Body:
    props = body.get("properties") or {}
    props.pop("provisioningState", None)  # Traffic Manager has none
    if str(body.get("type") or "").endswith("/nestedEndpoints"):
        geo.fill_nested(sim, props)
        enabled = props.get("endpointStatus") == "Enabled"
        props["endpointMonitorStatus"] = geo.nested_status(sim, props, _probe) if enabled else "Disabled"
    else:
        props["endpointMonitorStatus"] = _probe(sim, props)
    return body


def _probe(sim: Simulator, props: Body) -> str:
    """The endpoint's monitor status as Traffic Manager's probes would find it: an enabled
    endpoint whose target is an API Management gateway answering its status path is Online, one
    that does not answer is Degraded; other targets are not probed by the simulator (they stay
    CheckingEndpoint, the status of an endpoint not probed yet)."""
    from pros_cli.simulator.providers.gateway_status import gateway_answers

    if props.get("endpointStatus") != "Enabled":
        return "Disabled"
    target = str(props.get("target") or "").lower()
    if not target.endswith(".azure-api.net"):
        return "CheckingEndpoint"
    return "Online" if gateway_answers(sim, target) else "Degraded"


# ---- profiles ---------------------------------------------------------------------------------


def _dns_taken(sim: Simulator, relative_name: str, profile_id: str) -> bool:
    wanted = relative_name.lower()
    for other in sim.resources_of_type(PROFILE):
        dns = ((other["body"].get("properties") or {}).get("dnsConfig") or {}).get("relativeName")
        if str(dns or "").lower() == wanted and other["body"]["id"].lower() != profile_id.lower():
            return True
    return wanted in sim.db["foreign_names"].get(PROFILE.lower(), [])


def _check_monitor(monitor: Body) -> None:
    if "protocol" in monitor:
        _choice(monitor["protocol"], PROTOCOLS, "monitorConfig.protocol")
    if "port" in monitor:
        _int_in(monitor["port"], 1, 65535, "monitorConfig.port")
    interval = monitor.get("intervalInSeconds", 30)
    if interval not in (10, 30):
        raise bad(f"The value '{interval}' for monitorConfig.intervalInSeconds must be 10 or 30.")
    if "timeoutInSeconds" in monitor:
        _int_in(monitor["timeoutInSeconds"], 5, 10 if interval == 30 else 9, "monitorConfig.timeoutInSeconds")
    if "toleratedNumberOfFailures" in monitor:
        _int_in(monitor["toleratedNumberOfFailures"], 0, 9, "monitorConfig.toleratedNumberOfFailures")
    path = monitor.get("path")
    probes_http = str(monitor.get("protocol", "HTTP")).upper() != "TCP"
    if path is not None and probes_http and not str(path).startswith("/"):
        raise bad(f"The monitor path '{path}' must start with '/'.")


def _validate_profile(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    props = body.get("properties") or {}
    routing = _choice(props.get("trafficRoutingMethod"), ROUTING, "trafficRoutingMethod")
    if "profileStatus" in props:
        _choice(props["profileStatus"], STATUSES, "profileStatus")
    dns = props.get("dnsConfig") or {}
    relative = str(dns.get("relativeName") or "")
    if not re.fullmatch(DNS_LABEL, relative):
        raise bad(f"The relative DNS name '{relative}' is invalid: 1-63 letters, digits and hyphens, "
                  "starting and ending with a letter or digit.")
    old_relative = (((old or {}).get("properties") or {}).get("dnsConfig") or {}).get("relativeName")
    if old_relative and old_relative.lower() != relative.lower():
        raise bad("The relative DNS name of a Traffic Manager profile cannot be changed.")
    if not old_relative and _dns_taken(sim, relative, parsed.resource_id):
        raise ArmError(409, "Conflict", f"Domain name {relative}.trafficmanager.net is not available. "
                                        "Please choose a different DNS prefix.")
    if "ttl" in dns:
        _int_in(dns["ttl"], 0, 2147483647, "dnsConfig.ttl")
    _check_monitor(props.get("monitorConfig") or {})
    if "endpoints" in props:
        entries = props["endpoints"] or []
        names = [str(e.get("name") or "") for e in entries]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise bad("There are duplicates in the list of endpoints. The following endpoint(s) appear more "
                      f"than once: {', '.join(dupes)}.")
        for entry in entries:
            kind, entry_props = _kind_of(entry.get("type")), entry.get("properties") or {}
            _check_endpoint(str(entry.get("name") or ""), kind, entry_props, routing)
            if kind == "nestedEndpoints":
                geo.check_nested(sim, parsed.resource_id, str(entry.get("name")), entry_props)
        geo.check_layout(routing, [(str(e.get("name") or ""), e.get("properties") or {}) for e in entries])
    else:
        children = sim.children_of(parsed.resource_id)
        if routing == "Performance":
            for child in children:
                kind = str(child["body"]["type"]).rsplit("/", 1)[-1]
                _check_endpoint(child["body"]["name"], kind, child["body"].get("properties") or {}, routing)
        # A PATCH of the routing method is checked against the endpoints the profile has.
        geo.check_layout(routing, [(c["body"]["name"], c["body"].get("properties") or {}) for c in children])


def _sync_endpoints(sim: Simulator, profile_id: str, entries: list[Body]) -> None:
    """A profile PUT: the endpoints are exactly the ones listed, no more."""
    keep: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        kind = _kind_of(entry.get("type"))
        name = str(entry["name"])
        endpoint_id = f"{profile_id}/{kind}/{name}"
        old = sim.get_resource(endpoint_id)
        body = _endpoint_body(sim, endpoint_id, name, kind, entry.get("properties") or {},
                              old["body"] if old else None, position)
        sim.db["resources"][endpoint_id.lower()] = {
            "type": f"{PROFILE}/{kind}",
            "created": old["created"] if old else time.time(),
            "body": body,
        }
        keep.add(endpoint_id.lower())
    for child in sim.children_of(profile_id):
        if child["body"]["id"].lower() not in keep:
            sim.db["resources"].pop(child["body"]["id"].lower(), None)


def _build_profile(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    body["id"] = _canonical_profile_id(body["id"])
    body.pop("location", None)  # always "global": added when rendered (see the PUT route)
    props = body["properties"]
    props["trafficRoutingMethod"] = _choice(props["trafficRoutingMethod"], ROUTING, "trafficRoutingMethod")
    props["profileStatus"] = _choice(props.get("profileStatus") or "Enabled", STATUSES, "profileStatus")
    dns = props["dnsConfig"]
    dns["fqdn"] = f"{dns['relativeName'].lower()}.trafficmanager.net"
    monitor = {**MONITOR_DEFAULTS, **(props.get("monitorConfig") or {})}
    monitor["protocol"] = _choice(monitor["protocol"], PROTOCOLS, "monitorConfig.protocol")
    monitor.pop("profileMonitorStatus", None)  # read-only: computed when rendered
    props["monitorConfig"] = monitor
    if "endpoints" in props:
        _sync_endpoints(sim, body["id"], props.pop("endpoints") or [])
    return body


def _render_profile(sim: Simulator, body: Body) -> Body:
    props = body.get("properties") or {}
    props.pop("provisioningState", None)
    children = sorted(sim.children_of(body["id"]), key=lambda c: c.get("created", 0))
    props["endpoints"] = [sim.render(c) for c in children]
    enabled = [c for c in children if (c["body"].get("properties") or {}).get("endpointStatus") == "Enabled"]
    probed = [str((sim.render(c)["properties"]).get("endpointMonitorStatus")) for c in enabled]
    if props.get("profileStatus") == "Disabled":
        status = "Disabled"
    elif not enabled:
        status = "Inactive"
    elif "Online" in probed:
        # traffic-manager-monitoring.md: the profile stays Online while an endpoint is Online (DNS
        # still answers with it); it degrades when no endpoint is.
        status = "Online"
    else:
        status = "Degraded" if "Degraded" in probed else "CheckingEndpoints"
    props.setdefault("monitorConfig", {})["profileMonitorStatus"] = status
    return {"id": body["id"], "name": body["name"], "type": body["type"], "location": "global",
            "tags": body.get("tags") or {}, "properties": props}


def _request_body(req: SimRequest) -> Body:
    if not isinstance(req.body, dict):
        raise ArmError(400, "InvalidRequestContent",
                       "The request content was invalid and could not be deserialized.")
    return copy.deepcopy(req.body)


def _check_location(body: Body, required: bool) -> None:
    location = body.pop("location", None)
    if location is None:
        if required:
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        return
    if str(location).lower() != "global":
        raise ArmError(400, "LocationNotAvailableForResourceType",
                       f"The provided location '{location}' is not available for resource type "
                       f"'{PROFILE}'. List of available regions for the resource type is 'global'.")


def _profile_spec(sim: Simulator) -> TypeSpec:
    return sim.types[PROFILE.lower()]


def _put_profile(sim: Simulator, req: SimRequest, *_: str) -> SimResponse:
    body = _request_body(req)
    _check_location(body, required=True)
    props = body.setdefault("properties", {})
    if not isinstance(props, dict):
        raise ArmError(400, "InvalidRequestContent", "The 'properties' of a profile must be an object.")
    props.setdefault("endpoints", [])  # a PUT replaces the endpoint list, absent means none
    parsed = parse_arm_path(req.path)
    assert parsed is not None
    # The generic PUT does the rest (parent, required properties, validate/build hooks, store).
    return sim.put_resource(parsed, _profile_spec(sim), dataclasses.replace(req, body=body))


def _patch_profile(sim: Simulator, req: SimRequest, *_: str) -> SimResponse:
    body = _request_body(req)
    if "endpoints" in (body.get("properties") or {}):
        raise bad(PATCH_ENDPOINTS)
    _check_location(body, required=False)
    parsed = parse_arm_path(req.path)
    assert parsed is not None
    return sim.patch_resource(parsed, _profile_spec(sim), dataclasses.replace(req, body=body))


def _delete(sim: Simulator, req: SimRequest, *_: str) -> SimResponse:
    """A profile or endpoint DELETE answers 200 with a JSON body (Profile-DELETE.json), which the
    SDK parses, or 204 when there was nothing to delete."""
    parsed = parse_arm_path(req.path)
    assert parsed is not None
    response = sim.delete_resource(parsed, sim.types[parsed.type_key], req)
    if response.status == 200 and response.body is None:
        response = dataclasses.replace(response, body={})
    return response


def _name_availability(sim: Simulator, req: SimRequest, *_: str) -> SimResponse:
    body = req.body if isinstance(req.body, dict) else {}
    name = str(body.get("name") or "")
    if str(body.get("type") or "").lower() != PROFILE.lower():
        raise bad(f"The resource type '{body.get('type')}' is invalid; expected '{PROFILE}'.")
    result: Body = {"name": name, "type": PROFILE, "nameAvailable": True}
    if _dns_taken(sim, name, ""):
        result.update(nameAvailable=False, reason="AlreadyExists",
                      message=f"Domain name {name}.trafficmanager.net already exists. Please choose a "
                              "different DNS prefix.")
    return SimResponse(200, result)


def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            PROFILE,
            API_VERSIONS,
            create_mode="sync",
            create_status=201,
            delete_mode="sync",
            delete_status=200,
            required=("properties.trafficRoutingMethod", "properties.dnsConfig.relativeName"),
            immutable=(),
            validate=_validate_profile,
            build=_build_profile,
            render=_render_profile,
        )
    )
    for kind in ENDPOINT_KINDS:
        sim.register_type(
            TypeSpec(
                endpoint_type(kind),
                API_VERSIONS,
                create_mode="sync",
                create_status=201,
                delete_mode="sync",
                delete_status=200,
                tracked=False,
                immutable=(),
                parent_type=PROFILE,
                validate=_validate_endpoint,
                build=_build_endpoint,
                render=_render_endpoint,
            )
        )
    profile_path = (r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network"
                    r"/trafficManagerProfiles/[^/]+")
    sim.route("PUT", profile_path, api_versions=API_VERSIONS)(_put_profile)
    sim.route("PATCH", profile_path, api_versions=API_VERSIONS)(_patch_profile)
    sim.route("DELETE", profile_path, api_versions=API_VERSIONS)(_delete)
    endpoint_path = profile_path + r"/(?:azure|external|nested)Endpoints/[^/]+"
    sim.route("DELETE", endpoint_path, api_versions=API_VERSIONS)(_delete)
    # Relative DNS names are global: the first check is tenant-wide, V2 is subscription-scoped.
    check = r"/providers/Microsoft\.Network/checkTrafficManagerNameAvailability"
    sim.route("POST", check, api_versions=API_VERSIONS)(_name_availability)
    sim.route("POST", r"/subscriptions/[^/]+" + check + "V2", api_versions=API_VERSIONS)(_name_availability)
