"""Traffic Manager: one global DNS name in front of the regional API Management gateways.

Two kinds of graph node:

- :class:`TrafficManagerProfile`: performance routing, an HTTPS health probe on APIM's status
  path, a globally unique relative DNS name.
- :class:`TrafficManagerEndpoint`: one external endpoint per region, pointing at that region's
  APIM gateway host.

Endpoints live inside the profile, and a profile PUT replaces the whole endpoint list: a PUT
without ``endpoints`` deletes them all (terraform-provider-azurerm #6041). So the profile is
changed with PATCH (which ARM refuses to accept ``endpoints`` in), and its create PUT carries
whatever endpoints already exist, so no write of the profile can ever drop one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pros_cli import regions
from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, az, tags_args
from pros_cli.resources.base import FieldDiff, Resource, get_path
from pros_cli.spec import Spec

PROFILE_TYPE = "Microsoft.Network/trafficmanagerprofiles"
# azure-mgmt-trafficmanager 2.0.0's default: a stable version (azure-rest-api-specs
# specification/trafficmanager/.../TrafficManager/stable/2026-09-01/trafficmanager.json).
API_VERSION = "2026-09-01"
APIM_STATUS_PATH = "/status-0123456789abcdef"  # every APIM gateway answers 200 here
ENDPOINT_KIND = "ExternalEndpoints"  # the SDK's EndpointType for the path segment
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


def _get(call: Any, *args: Any) -> dict[str, Any] | None:
    return get_or_none(call, *args)


def _profile_az(verb: str, spec: Spec, *args: str, read_only: bool = False) -> AzCommand:
    return az("network", "traffic-manager", "profile", verb, "--name", spec.names.traffic_manager(),
              "--resource-group", spec.resource_group, *args, read_only=read_only)


class TrafficManagerProfile(Resource):
    """``Microsoft.Network/trafficmanagerprofiles``: location ``global``, performance routing."""

    typical_seconds = 5
    arm_type = PROFILE_TYPE
    client_kind = "trafficmanager"
    api_version = API_VERSION
    label = "Traffic Manager profile"
    managed_fields = ("location", *_PROFILE_FLAGS, "properties.dnsConfig.relativeName")
    immutable_fields = ("location", "properties.dnsConfig.relativeName")
    patch_whole = ("properties.dnsConfig", "properties.monitorConfig")
    globally_unique = True  # the relative DNS name, under trafficmanager.net

    def __init__(self, spec: Spec, *, key: str, depends_on: tuple[str, ...] = (), parent: str | None = None):
        super().__init__(spec, key=key, name=spec.names.traffic_manager(), region=None,
                         depends_on=depends_on, parent=parent)

    @property
    def dns_name(self) -> str:
        return self.spec.names.traffic_manager_dns()

    def describe(self) -> str:
        return f"{self.label} {self.name} ({self.dns_name}.trafficmanager.net)"

    def desired(self) -> dict[str, Any]:
        return {
            "location": "global",
            "tags": self.desired_tags(),
            "properties": {
                "profileStatus": "Enabled",
                "trafficRoutingMethod": "Performance",
                "dnsConfig": {"relativeName": self.dns_name, "ttl": 30},
                "monitorConfig": dict(MONITOR),
            },
        }

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"fqdn": get_path(current, "properties.dnsConfig.fqdn")}

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
        """PATCH only what differs: never a PUT, which would drop the endpoints."""
        return self.client(clients).profiles.update(
            self.resource_group, self.name, self.patch_body(current, diffs), cls=raw_json
        )

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
    def az_read(self) -> AzCommand:
        return _profile_az("show", self.spec, read_only=True)

    def az_create(self) -> list[AzCommand]:
        desired = self.desired()
        args = ["--unique-dns-name", self.dns_name]
        for path, flag in _PROFILE_FLAGS.items():
            args += [flag, str(get_path(desired, path))]
        return [_profile_az("create", self.spec, *args, *tags_args(self.desired_tags()))]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        args: list[str] = []
        for d in diffs:
            if d.path in _PROFILE_FLAGS:
                args += [_PROFILE_FLAGS[d.path], str(d.desired)]
        if any(d.path.startswith("tags.") for d in diffs):
            args += tags_args(self.merged_tags(current))
        return [_profile_az("update", self.spec, *args)]

    def az_delete(self) -> list[AzCommand]:
        return [_profile_az("delete", self.spec)]


class TrafficManagerEndpoint(Resource):
    """One ``externalEndpoints`` entry: the APIM gateway host of one region.

    Performance routing sends each client to the endpoint whose ``endpointLocation`` is closest
    in network latency, so every endpoint carries its region. Endpoints are not tagged resources.
    """

    typical_seconds = 5
    arm_type = f"{PROFILE_TYPE}/externalEndpoints"
    client_kind = "trafficmanager"
    api_version = API_VERSION
    label = "Traffic Manager endpoint"
    managed_fields = ("properties.target", "properties.endpointLocation", "properties.endpointStatus")
    immutable_fields = ()
    tagged = False

    def __init__(self, spec: Spec, *, key: str, region: str, profile_key: str, apim_key: str | None = None,
                 depends_on: tuple[str, ...] | None = None):
        if depends_on is None:
            depends_on = (profile_key, apim_key) if apim_key else (profile_key,)
        super().__init__(spec, key=key, name=f"apim-{region}", region=region, depends_on=depends_on,
                         parent=profile_key)
        self.apim_key = apim_key

    @property
    def profile_name(self) -> str:
        return self.spec.names.traffic_manager()

    def arm_id(self) -> str:
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/"
                f"{PROFILE_TYPE}/{self.profile_name}/externalEndpoints/{self.name}")

    @property
    def target(self) -> str:
        """The gateway host: from the APIM service's gatewayUrl once it is known, else its
        default host name, which is the same thing for a service that does not exist yet."""
        apim = self.inputs.get(self.apim_key) if self.apim_key else None
        url = get_path(apim, "properties.gatewayUrl")
        host = urlsplit(str(url)).hostname if url else None
        return host or f"{self.spec.names.apim(str(self.region)).lower()}.azure-api.net"

    def desired(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
            "properties": {
                "target": self.target,
                "endpointLocation": regions.display_name(str(self.region)),
                "endpointStatus": "Enabled",
            },
        }

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"target": get_path(current, "properties.target")}

    # ---- calls ------------------------------------------------------------------------------
    def _args(self) -> tuple[str, str, str, str]:
        return (self.resource_group, self.profile_name, ENDPOINT_KIND, self.name)

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
                  "--type", "externalEndpoints", *args, read_only=read_only)

    def az_read(self) -> AzCommand:
        return self._az("show", read_only=True)

    def az_create(self) -> list[AzCommand]:
        return [self._az("create", "--target", self.target, "--endpoint-location", str(self.region),
                         "--endpoint-status", "Enabled")]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        return [self._az("update", "--target", self.target, "--endpoint-location", str(self.region),
                         "--endpoint-status", "Enabled")]

    def az_delete(self) -> list[AzCommand]:
        return [self._az("delete")]
