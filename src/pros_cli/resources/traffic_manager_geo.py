"""Traffic Manager's part of the graph, and what geographic routing adds to it.

With geographic routing each geography is served by one endpoint of the deployment's profile,
carrying the geography's codes (``geoMapping``). A geography with one region is that region's
external endpoint. A geography with several regions is a nested endpoint whose target is a
profile of its own (:class:`GeographyProfile`, performance routing among the geography's regions):
Traffic Manager's way of combining geographic routing at the top with performance routing inside
a geography (learn.microsoft.com, "Nested Traffic Manager profiles"; FAQ: "There may be scenarios
where you might need both performance and geographic routing capabilities ... nested profiles").
A nested endpoint counts as available while at least ``minChildEndpoints`` of its child
profile's endpoints are (default 1), so a geography stays served while any of its regions is,
and never falls over to another geography's endpoint.

Node keys: ``traffic-manager`` (the profile), ``traffic-manager/endpoints/<region>`` (an
external endpoint of the profile), ``traffic-manager/nested/<geography>`` (a nested endpoint),
``traffic-manager/geographies/<geography>`` (the geography's profile) and
``.../endpoints/<region>`` below it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pros_cli import regions
from pros_cli.errors import UsageError
from pros_cli.geo import Geography, check_codes
from pros_cli.geo.hierarchy import codes_of
from pros_cli.resources.base import Resource, get_path
from pros_cli.resources.traffic_manager import (
    PROFILE_TYPE,
    TrafficManagerEndpoint,
    TrafficManagerProfile,
    _monitor_level,
)
from pros_cli.spec import Spec

TM_KEY = "traffic-manager"
MIN_CHILD_ENDPOINTS = 1  # a geography is served while one of its regions is


def endpoint_key(region: str) -> str:
    return f"{TM_KEY}/endpoints/{region}"


def nested_key(geography: Geography) -> str:
    return f"{TM_KEY}/nested/{geography.slug}"


def geography_key(geography: Geography) -> str:
    return f"{TM_KEY}/geographies/{geography.slug}"


class GeographyProfile(TrafficManagerProfile):
    """The profile of one geography with several regions: performance routing among them, the
    same health probe as the deployment's profile, a DNS name of its own (Traffic Manager needs
    one for every profile; callers use the deployment's)."""

    label = "Traffic Manager geography profile"

    def __init__(self, spec: Spec, geography: Geography, *, rg_key: str):
        names = spec.names
        super().__init__(
            spec,
            key=geography_key(geography),
            depends_on=(rg_key,),
            parent=rg_key,
            name=f"{names.traffic_manager()}-{geography.slug}",
            dns_name=f"{names.traffic_manager()}-{geography.slug}-{names.suffix}",
            routing="Performance",
        )
        self.geography = geography

    def describe(self) -> str:
        return f"{super().describe()} for geography {self.geography.describe()}"

    def health(self, current: dict[str, Any], clients: Any) -> tuple[str, str]:
        level, detail = super().health(current, clients)
        return level, f"{detail}; geography {self.geography.name} ({', '.join(self.geography.regions)})"


class GeographyEndpoint(TrafficManagerEndpoint):
    """A region's gateway inside its geography's profile; deleting the profile deletes it."""

    deleted_with_parent = True

    def health(self, current: dict[str, Any], clients: Any) -> tuple[str, str]:
        level, detail = super().health(current, clients)
        return level, f"{detail}; in geography {self.geography} ({self.profile_name})"

    @property
    def geography(self) -> str:
        found = self.spec.geography_of(str(self.region))
        return found.name if found else "-"


class NestedEndpoint(TrafficManagerEndpoint):
    """The deployment profile's endpoint for a geography with several regions: its target is the
    geography's profile, it serves the geography's codes, and it counts as healthy while at least
    ``minChildEndpoints`` of the child's endpoints are. ``endpointLocation`` is the geography's
    first region, which performance routing needs if the profile ever changes method."""

    arm_type = f"{PROFILE_TYPE}/nestedEndpoints"
    label = "Traffic Manager nested endpoint"
    managed_fields = (
        "properties.targetResourceId",
        "properties.endpointLocation",
        "properties.endpointStatus",
        "properties.minChildEndpoints",
        "properties.geoMapping",
    )
    endpoint_type = "nestedEndpoints"
    sdk_kind = "NestedEndpoints"

    def __init__(
        self,
        spec: Spec,
        geography: Geography,
        *,
        profile_key: str,
        child: GeographyProfile,
        child_endpoints: tuple[str, ...],
    ):
        super().__init__(
            spec,
            key=nested_key(geography),
            region=None,
            profile_key=profile_key,
            depends_on=(profile_key, child.key, *child_endpoints),
            name=f"nested-{geography.slug}",
            geo_mapping=geography.codes,
        )
        self.geography = geography
        self.child = child

    def endpoint_properties(self) -> dict[str, Any]:
        return {
            "targetResourceId": self.child.arm_id(),
            "endpointLocation": regions.display_name(self.geography.regions[0]),
            "endpointStatus": "Enabled",
            "minChildEndpoints": MIN_CHILD_ENDPOINTS,
        }

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"target": get_path(current, "properties.target"), "child": self.child.name}

    def health(self, current: dict[str, Any], clients: Any) -> tuple[str, str]:
        """Traffic Manager computes a nested endpoint's status from its child profile's endpoints
        (Nested profiles FAQ: Online while at least minChildEndpoints of them are Online)."""
        status = str(get_path(current, "properties.endpointMonitorStatus") or "")
        needed = get_path(current, "properties.minChildEndpoints") or MIN_CHILD_ENDPOINTS
        codes = ", ".join(get_path(current, "properties.geoMapping") or [])
        return _monitor_level(status), (
            f"nested profile {self.child.name} ({', '.join(self.geography.regions)}): endpoint monitor "
            f"status {status or 'unknown'}, needs {needed} healthy region(s); serves {codes or '-'}"
        )

    def az_args(self) -> list[str]:
        return [
            "--target-resource-id", self.child.arm_id(),
            "--min-child-endpoints", str(MIN_CHILD_ENDPOINTS),
            "--endpoint-location", self.geography.regions[0],
            "--endpoint-status", "Enabled",
            "--geo-mapping", *self.geography.codes,
        ]  # fmt: skip


def traffic_manager_nodes(spec: Spec, *, rg_key: str, apims: Mapping[str, Resource]) -> list[Resource]:
    """The profile, its endpoints and (geographic routing) the geographies' profiles, each listed
    after what it depends on. With geographic or priority routing the deployment's profile waits
    for the gateways and the geography profiles with their endpoints, so a change of routing never
    points callers at an empty profile or a gateway that does not answer yet."""
    out: list[Resource] = []
    children: dict[str, tuple[GeographyProfile, tuple[str, ...]]] = {}
    for geography in spec.geographies:
        if not geography.nested:
            continue
        child = GeographyProfile(spec, geography, rg_key=rg_key)
        members = [
            GeographyEndpoint(
                spec, key=f"{child.key}/endpoints/{r}", region=r, profile_key=child.key,
                profile_name=child.name, apim_key=apims[r].key,
            )
            for r in geography.regions
        ]  # fmt: skip
        out += [child, *members]
        children[geography.name] = (child, tuple(m.key for m in members))
    waits = tuple(key for child, members in children.values() for key in (child.key, *members))
    if spec.routing_method != "performance":
        # A routing or layout change writes every endpoint with the profile: a geography (or the
        # first priority) is never pointed at a gateway that is still being created.
        waits += tuple(apims[r].key for r in spec.regions)
    profile = TrafficManagerProfile(spec, key=TM_KEY, depends_on=(rg_key, *waits), parent=rg_key)
    out.append(profile)
    endpoints: list[TrafficManagerEndpoint] = []
    if spec.routing_method == "geographic":
        for geography in spec.geographies:
            if geography.nested:
                child, members = children[geography.name]
                nested = NestedEndpoint(
                    spec, geography, profile_key=profile.key, child=child, child_endpoints=members
                )
                endpoints.append(nested)
            else:
                (region,) = geography.regions
                endpoints.append(
                    TrafficManagerEndpoint(
                        spec, key=endpoint_key(region), region=region, profile_key=profile.key,
                        apim_key=apims[region].key, geo_mapping=geography.codes,
                    )
                )  # fmt: skip
    else:
        for position, region in enumerate(spec.regions, start=1):
            endpoints.append(
                TrafficManagerEndpoint(
                    spec, key=endpoint_key(region), region=region, profile_key=profile.key,
                    apim_key=apims[region].key,
                    priority=position if spec.routing_method == "priority" else None,
                )
            )  # fmt: skip
    profile.endpoints = list(endpoints)
    return [*out, *endpoints]


# ---- the live hierarchy ----------------------------------------------------------------------------
def hierarchy_check(spec: Spec) -> Callable[[Any], None] | None:
    """For geographic routing: a check run with the clients before the plan, that reads Traffic
    Manager's geographic hierarchy (``geographic_hierarchies.get_default``) and refuses a code it
    does not list. Every code was already checked offline against the documented hierarchy; this
    catches a code Azure has since retired."""
    if spec.routing_method != "geographic":
        return None

    def check(clients: Any) -> None:
        from pros_cli.azure.clients import raw_json

        body = clients.get("trafficmanager").geographic_hierarchies.get_default(cls=raw_json)
        live = codes_of(get_path(body, "properties.geographicHierarchy"))
        if not live:
            raise UsageError(
                "Traffic Manager answered with an empty geographic hierarchy; the mapping cannot be checked",
                hint="run again later",
            )
        check_codes(spec.geo, frozenset(live))

    return check
