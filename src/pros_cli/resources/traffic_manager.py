"""Traffic Manager: one global DNS name in front of the regional API Management gateways.

Two kinds of graph node:

- :class:`TrafficManagerProfile`: the deployment's routing method (performance, priority or
  geographic: the ``routing_method`` setting), an HTTPS health probe on APIM's status path, a
  globally unique relative DNS name.
- :class:`TrafficManagerEndpoint`: one external endpoint per region, pointing at that region's
  APIM gateway host (with its priority, or the geography codes it serves).

Geographic routing with several regions in one geography adds nested profiles
(:mod:`pros_cli.resources.traffic_manager_geo`).

Endpoints live inside the profile, and a profile PUT replaces the whole endpoint list: a PUT
without ``endpoints`` deletes them all (terraform-provider-azurerm #6041). So the profile is
changed with PATCH (which ARM refuses to accept ``endpoints`` in), and its create PUT carries
whatever endpoints already exist, so no write of the profile can ever drop one. The one
exception is a change of the routing method or of which geography each endpoint serves: Traffic
Manager checks a profile's endpoints against its method (a geographic profile's endpoints must
each have their geography codes, and a code may be on one endpoint only), so no order of
separate endpoint and profile writes gets there without a refusal or a moment in which some
callers are sent to the wrong geography. That change is one PUT carrying the routing method and
the endpoint list the profile ends with, which Traffic Manager checks as a whole.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pros_cli import regions
from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, az, az_rest, tags_args
from pros_cli.geo import ROUTING_METHODS
from pros_cli.resources.base import FieldDiff, Resource, get_path
from pros_cli.spec import Spec

PROFILE_TYPE = "Microsoft.Network/trafficmanagerprofiles"
# azure-mgmt-trafficmanager 2.0.0's default: a stable version (azure-rest-api-specs
# specification/trafficmanager/.../TrafficManager/stable/2026-09-01/trafficmanager.json).
API_VERSION = "2026-09-01"
APIM_STATUS_PATH = "/status-0123456789abcdef"  # every APIM gateway answers 200 here
ENDPOINT_KIND = "ExternalEndpoints"  # the SDK's EndpointType for the path segment
# Endpoint names pros gives (regional gateways, nested geographies): an endpoint of the profile
# with another name is someone else's and is carried over untouched.
OWN_ENDPOINT_PREFIXES = ("apim-", "nested-")
LAYOUT = "properties.endpoints"  # the diff path of the endpoint list a layout change rewrites
MONITOR = {
    "protocol": "HTTPS",
    "port": 443,
    "path": APIM_STATUS_PATH,
    # Azure's standard probing: a failed gateway leaves DNS answers after about
    # interval x tolerated failures + TTL, roughly two minutes.
    "intervalInSeconds": 30,
    "timeoutInSeconds": 10,
    "toleratedNumberOfFailures": 3,
}
_PROFILE_FLAGS = {
    "properties.trafficRoutingMethod": "--routing-method",
    "properties.profileStatus": "--status",
    "properties.dnsConfig.ttl": "--ttl",
    "properties.monitorConfig.protocol": "--protocol",
    "properties.monitorConfig.port": "--port",
    "properties.monitorConfig.path": "--path",
    "properties.monitorConfig.intervalInSeconds": "--interval",
    "properties.monitorConfig.timeoutInSeconds": "--timeout",
    "properties.monitorConfig.toleratedNumberOfFailures": "--max-failures",
}


def _monitor_level(status: str) -> str:
    """Traffic Manager's monitor statuses: Online is healthy; CheckingEndpoint(s) is the first
    probe round after a change; anything else (Degraded, Stopped, Inactive, Disabled) is not."""
    if status == "Online":
        return "ok"
    if status.startswith("CheckingEndpoint"):
        return "pending"
    return "degraded"


def _get(call: Any, *args: Any) -> dict[str, Any] | None:
    return get_or_none(call, *args)


class TrafficManagerProfile(Resource):
    """``Microsoft.Network/trafficmanagerprofiles``: location ``global``, the deployment's routing
    method (``routing`` overrides it: a nested geography profile always routes by performance)."""

    typical_seconds = 5
    arm_type = PROFILE_TYPE
    client_kind = "trafficmanager"
    api_version = API_VERSION
    label = "Traffic Manager profile"
    managed_fields = ("location", *_PROFILE_FLAGS, "properties.dnsConfig.relativeName")
    immutable_fields = ("location", "properties.dnsConfig.relativeName")
    patch_whole = ("properties.dnsConfig", "properties.monitorConfig")
    globally_unique = True  # the relative DNS name, under trafficmanager.net

    def __init__(self, spec: Spec, *, key: str, depends_on: tuple[str, ...] = (), parent: str | None = None,
                 name: str | None = None, dns_name: str | None = None, routing: str | None = None):
        super().__init__(spec, key=key, name=name or spec.names.traffic_manager(), region=None,
                         depends_on=depends_on, parent=parent)
        self._dns_name = dns_name or spec.names.traffic_manager_dns()
        self.routing = routing or ROUTING_METHODS[spec.routing_method]
        # The endpoint nodes of this profile (set by the graph): a routing-method or geography
        # change writes them with the profile in one PUT.
        self.endpoints: list[Resource] = []

    @property
    def dns_name(self) -> str:
        return self._dns_name

    def describe(self) -> str:
        return f"{self.label} {self.name} ({self.dns_name}.trafficmanager.net)"

    def desired(self) -> dict[str, Any]:
        return {
            "location": "global",
            "tags": self.desired_tags(),
            "properties": {
                "profileStatus": "Enabled",
                "trafficRoutingMethod": self.routing,
                "dnsConfig": {"relativeName": self.dns_name, "ttl": 30},
                "monitorConfig": dict(MONITOR),
            },
        }

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"fqdn": get_path(current, "properties.dnsConfig.fqdn")}

    def health(self, current: dict[str, Any], clients: Any) -> tuple[str, str]:
        status = str(get_path(current, "properties.monitorConfig.profileMonitorStatus") or "")
        method = get_path(current, "properties.trafficRoutingMethod") or "unknown"
        return _monitor_level(status), f"profile monitor status {status or 'unknown'}; {method} routing"

    # ---- the endpoint layout ----------------------------------------------------------------
    def layout(self, body: dict[str, Any] | None) -> str:
        """Which of pros's endpoints the profile has and the geography codes of each, as text
        (``apim-eastus=GEO-NA,WORLD; nested-geo-eu=GEO-EU``)."""
        entries = []
        for endpoint in get_path(body, "properties.endpoints") or []:
            name = str(endpoint.get("name") or "")
            if name.startswith(OWN_ENDPOINT_PREFIXES):
                codes = get_path(endpoint, "properties.geoMapping") or []
                entries.append(f"{name}={','.join(codes)}")
        return "; ".join(sorted(entries)) or "-"

    def desired_layout(self) -> str:
        return self.layout({"properties": {"endpoints": [e.desired() for e in self.endpoints]}})

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        """The fields, and with geographic routing (before or after) the endpoint layout: which
        endpoints serve which geography codes is the profile's to keep consistent."""
        diffs = super().diff(current, adopted=adopted)
        geographic = "Geographic" in (self.routing, get_path(current, "properties.trafficRoutingMethod"))
        if self.endpoints and geographic:
            have, want = self.layout(current), self.desired_layout()
            if have != want:
                diffs.append(FieldDiff(LAYOUT, have, want))
        return diffs

    def _rewrites_endpoints(self, diffs: list[FieldDiff]) -> bool:
        return bool(self.endpoints) and any(
            d.path in (LAYOUT, "properties.trafficRoutingMethod") for d in diffs
        )

    def put_body(self, current: dict[str, Any]) -> dict[str, Any]:
        """The PUT of a routing or layout change: the desired profile with the endpoint list it
        ends with (pros's endpoints as desired, anyone else's as they are)."""
        body = self.desired()
        body["tags"] = self.merged_tags(current)
        mine = [e.desired() for e in self.endpoints]
        theirs = [
            {k: v for k, v in e.items() if k in ("name", "type", "properties")}
            for e in get_path(current, "properties.endpoints") or []
            if not str(e.get("name") or "").startswith(OWN_ENDPOINT_PREFIXES)
        ]
        body["properties"]["endpoints"] = mine + theirs
        return body

    # ---- calls ------------------------------------------------------------------------------
    def read(self, clients: Any) -> dict[str, Any] | None:
        return _get(self.client(clients).profiles.get, self.resource_group, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        """PUT the profile. A PUT replaces the endpoint list, so if the profile exists after all
        (a run that raced this one, a re-apply), its endpoints are carried over unchanged."""
        body = self.desired()
        existing = self.read(clients)
        if existing is not None:
            body["tags"] = self.merged_tags(existing)
            body["properties"]["endpoints"] = get_path(existing, "properties.endpoints") or []
        profiles = self.client(clients).profiles
        return profiles.create_or_update(self.resource_group, self.name, body, cls=raw_json)

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        """PATCH only what differs (a PUT would drop the endpoints); a routing or layout change is
        the one PUT that carries the endpoint list along (see the module's docstring)."""
        profiles = self.client(clients).profiles
        if self._rewrites_endpoints(diffs):
            body = self.put_body(current)
            return profiles.create_or_update(self.resource_group, self.name, body, cls=raw_json)
        return profiles.update(self.resource_group, self.name, self.patch_body(current, diffs), cls=raw_json)

    def delete(self, clients: Any) -> Any:
        self.client(clients).profiles.delete(self.resource_group, self.name)
        return None

    def check_name(self, clients: Any) -> str | None:
        result = self.client(clients).profiles.check_traffic_manager_relative_dns_name_availability(
            {"name": self.dns_name, "type": "Microsoft.Network/trafficManagerProfiles"}, cls=raw_json
        )
        if result.get("nameAvailable"):
            return None
        return f"{result.get('reason') or 'unavailable'}: {result.get('message') or 'the DNS name is taken'}"

    # ---- az ---------------------------------------------------------------------------------
    def _az(self, verb: str, *args: str, read_only: bool = False) -> AzCommand:
        return az("network", "traffic-manager", "profile", verb, "--name", self.name,
                  "--resource-group", self.resource_group, *args, read_only=read_only)

    def az_read(self) -> AzCommand:
        return self._az("show", read_only=True)

    def az_create(self) -> list[AzCommand]:
        desired = self.desired()
        args = ["--unique-dns-name", self.dns_name]
        for path, flag in _PROFILE_FLAGS.items():
            args += [flag, str(get_path(desired, path))]
        return [self._az("create", *args, *tags_args(self.desired_tags()))]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        if self._rewrites_endpoints(diffs):
            rest = az_rest("PUT", self.arm_id(), self.api_version, self.put_body(current))
            note = ("a change of routing method or of the geographies endpoints serve is one PUT with the "
                    "endpoint list, which Traffic Manager checks as a whole (no order of az endpoint and "
                    "profile updates gets there without a refusal)")
            return [AzCommand(rest.args, note=note)]
        args: list[str] = []
        for d in diffs:
            if d.path in _PROFILE_FLAGS:
                args += [_PROFILE_FLAGS[d.path], str(d.desired)]
        if any(d.path.startswith("tags.") for d in diffs):
            args += tags_args(self.merged_tags(current))
        return [self._az("update", *args)]

    def az_delete(self) -> list[AzCommand]:
        return [self._az("delete")]


class TrafficManagerEndpoint(Resource):
    """One ``externalEndpoints`` entry: the APIM gateway host of one region.

    Performance routing sends each client to the endpoint whose ``endpointLocation`` is closest
    in network latency, so every endpoint carries its region. Priority routing gives each its
    ``priority`` (the order of --region); geographic routing the geography codes it serves
    (``geoMapping``). Endpoints are not tagged resources.
    """

    typical_seconds = 5
    arm_type = f"{PROFILE_TYPE}/externalEndpoints"
    client_kind = "trafficmanager"
    api_version = API_VERSION
    label = "Traffic Manager endpoint"
    managed_fields = (
        "properties.target",
        "properties.endpointLocation",
        "properties.endpointStatus",
        "properties.priority",
        "properties.geoMapping",
    )
    immutable_fields = ()
    tagged = False
    endpoint_type = "externalEndpoints"  # the REST path segment (and az's --type)
    sdk_kind = ENDPOINT_KIND  # the SDK's EndpointType

    def __init__(self, spec: Spec, *, key: str, region: str | None, profile_key: str,
                 apim_key: str | None = None, depends_on: tuple[str, ...] | None = None,
                 name: str | None = None, profile_name: str | None = None,
                 priority: int | None = None, geo_mapping: tuple[str, ...] = ()):
        if depends_on is None:
            depends_on = (profile_key, apim_key) if apim_key else (profile_key,)
        super().__init__(spec, key=key, name=name or f"apim-{region}", region=region, depends_on=depends_on,
                         parent=profile_key)
        self.apim_key = apim_key
        self._profile_name = profile_name or spec.names.traffic_manager()
        self.priority = priority
        self.geo_mapping = tuple(geo_mapping)

    @property
    def profile_name(self) -> str:
        return self._profile_name

    def arm_id(self) -> str:
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/"
                f"{PROFILE_TYPE}/{self.profile_name}/{self.endpoint_type}/{self.name}")

    def describe(self) -> str:
        where = f" ({self.region})" if self.region else ""
        return f"{self.label} {self.name} of {self.profile_name}{where}"

    def display_name(self) -> str:
        """``profile/endpoint``: a region's endpoint may be in the deployment's profile or in its
        geography's profile."""
        return f"{self.profile_name}/{self.name}"

    @property
    def target(self) -> str:
        """The gateway host: from the APIM service's gatewayUrl once it is known, else its
        default host name, which is the same thing for a service that does not exist yet."""
        apim = self.inputs.get(self.apim_key) if self.apim_key else None
        url = get_path(apim, "properties.gatewayUrl")
        host = urlsplit(str(url)).hostname if url else None
        return host or f"{self.spec.names.apim(str(self.region)).lower()}.azure-api.net"

    def endpoint_properties(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "endpointLocation": regions.display_name(str(self.region)),
            "endpointStatus": "Enabled",
        }

    def desired(self) -> dict[str, Any]:
        props = self.endpoint_properties()
        if self.priority is not None:
            props["priority"] = self.priority
        if self.geo_mapping:
            props["geoMapping"] = list(self.geo_mapping)
        return {"name": self.name, "type": f"{PROFILE_TYPE}/{self.endpoint_type}", "properties": props}

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"target": get_path(current, "properties.target")}

    def health(self, current: dict[str, Any], clients: Any) -> tuple[str, str]:
        status = str(get_path(current, "properties.endpointMonitorStatus") or "")
        detail = f"endpoint monitor status {status or 'unknown'}"
        codes = get_path(current, "properties.geoMapping") or []
        if codes and self.spec.routing_method == "geographic":
            detail += f"; serves {', '.join(codes)}"
        return _monitor_level(status), detail

    # ---- calls ------------------------------------------------------------------------------
    def _args(self) -> tuple[str, str, str, str]:
        return (self.resource_group, self.profile_name, self.sdk_kind, self.name)

    def read(self, clients: Any) -> dict[str, Any] | None:
        return _get(self.client(clients).endpoints.get, *self._args())

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        """PUT this one endpoint (also the update: it replaces this endpoint only)."""
        return self.client(clients).endpoints.create_or_update(*self._args(), self.desired(), cls=raw_json)

    def delete(self, clients: Any) -> Any:
        self.client(clients).endpoints.delete(*self._args())
        return None

    # ---- az ---------------------------------------------------------------------------------
    def _az(self, verb: str, *args: str, read_only: bool = False) -> AzCommand:
        return az("network", "traffic-manager", "endpoint", verb, "--name", self.name,
                  "--profile-name", self.profile_name, "--resource-group", self.resource_group,
                  "--type", self.endpoint_type, *args, read_only=read_only)

    def az_args(self) -> list[str]:
        """The flags that set what :meth:`desired` holds."""
        args = ["--target", self.target, "--endpoint-location", str(self.region)]
        args += ["--endpoint-status", "Enabled"]
        if self.priority is not None:
            args += ["--priority", str(self.priority)]
        if self.geo_mapping:
            args += ["--geo-mapping", *self.geo_mapping]
        return args

    def az_read(self) -> AzCommand:
        return self._az("show", read_only=True)

    def az_create(self) -> list[AzCommand]:
        return [self._az("create", *self.az_args())]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        return [self._az("update", *self.az_args())]

    def az_delete(self) -> list[AzCommand]:
        return [self._az("delete")]
