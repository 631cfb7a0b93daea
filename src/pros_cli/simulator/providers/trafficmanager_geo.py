"""Traffic Manager's geographic routing and nested profiles, as the simulator enforces them.

- ``GET /providers/Microsoft.Network/trafficManagerGeographicHierarchies/default`` answers with
  Microsoft's published hierarchy (pros_cli.geo.hierarchy; shape: azure-rest-api-specs
  GeographicHierarchy-GET-default.json).
- Every ``geoMapping`` code must be in that hierarchy. Geography codes may be given to the
  endpoints of a profile of any routing method (which ignores them: Traffic Manager FAQ, "Can I
  assign geographic regions to endpoints in a profile that is not configured to do geographic
  routing?").
- In a profile with the Geographic method every endpoint must have at least one code, and a code
  may be on one endpoint only (FAQ: "All the endpoints under a profile with geographic routing
  need to have at least one region mapped to it"; "A region can be assigned to only one endpoint
  within a profile if it is using the geographic routing method"). So changing a profile to
  Geographic while an endpoint has no codes is refused (FAQ: "Why am I getting an error when I
  try to change the routing method of an existing profile to Geographic?").
- A nested endpoint's ``targetResourceId`` must be an existing Traffic Manager profile, never
  the profile itself or one that nests it ("'Loops' are not permitted", "Nested Traffic Manager
  profiles" FAQ); ``minChildEndpoints`` defaults to 1 (same page); its ``target`` reads back as
  the child's FQDN, as in Azure PowerShell's recorded nested-endpoint session
  (TestNestedEndpointsCreateUpdate.json).
- A nested endpoint's monitor status comes from its child profile (the table in "How does
  Traffic Manager compute the health of a nested endpoint in a parent profile?"): Stopped when
  the child is disabled or has no enabled endpoint; otherwise Online when at least
  minChildEndpoints child endpoints are Online, CheckingEndpoint when Online plus CheckingEndpoint
  reach it, else Degraded.

Traffic Manager's exact message texts for these refusals are not published; the simulator
answers 400 BadRequest (the code Traffic Manager uses for invalid endpoint configurations,
e.g. a missing endpoint location) with a message naming the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pros_cli.geo import hierarchy
from pros_cli.simulator.core import ArmError, SimResponse

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

Body = dict[str, Any]
PROFILE = "Microsoft.Network/trafficManagerProfiles"
MAX_NESTING = 10  # "You can nest profiles up to 10 levels deep"
API_VERSIONS = ("2026-09-01", "2022-04-01", "2018-08-01", "2018-04-01", "2017-09-01-preview", "2017-05-01",
                "2017-03-01")  # fmt: skip


def bad(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


def check_codes(name: str, props: Body) -> None:
    """Every code of one endpoint is in the hierarchy, given once."""
    codes = props.get("geoMapping")
    if codes is None:
        return
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise bad(f"The geoMapping of endpoint '{name}' must be a list of geographic region codes.")
    known = hierarchy.parents()
    unknown = [c for c in codes if c.upper() not in known]
    if unknown:
        raise bad(
            f"The geographic region code(s) {', '.join(repr(c) for c in unknown)} of endpoint '{name}' "
            "are not valid. Get the valid codes from the trafficManagerGeographicHierarchies/default "
            "resource."
        )
    upper = [c.upper() for c in codes]
    twice = sorted({c for c in upper if upper.count(c) > 1})
    if twice:
        raise bad(
            f"The geographic region code(s) {', '.join(twice)} appear more than once in endpoint '{name}'."
        )


def check_layout(routing: str, endpoints: Iterable[tuple[str, Body]]) -> None:
    """The endpoints a profile would have, against its routing method."""
    if routing != "Geographic":
        return
    owner: dict[str, str] = {}
    for name, props in endpoints:
        codes = props.get("geoMapping") or []
        if not codes:
            raise bad(
                f"The endpoint '{name}' has no geographic regions: every endpoint of a profile with the "
                "'Geographic' traffic routing method must have at least one region in its geoMapping."
            )
        for code in codes:
            other = owner.setdefault(code.upper(), name)
            if other != name:
                raise bad(
                    f"The geographic region '{code}' is mapped to both endpoint '{other}' and endpoint "
                    f"'{name}'. In a profile with the 'Geographic' traffic routing method a region can be "
                    "mapped to only one endpoint."
                )


def check_nested(sim: Simulator, profile_id: str, name: str, props: Body) -> None:
    target = str(props.get("targetResourceId") or "")
    if not target:
        return  # the generic check names the missing targetResourceId
    child = sim.get_resource(target)
    if child is None or str(child["body"].get("type") or "").lower() != PROFILE.lower():
        raise bad(
            f"The targetResourceId '{target}' of nested endpoint '{name}' is not an existing Traffic Manager "
            "profile."
        )
    if _reaches(sim, child["body"]["id"], profile_id, MAX_NESTING):
        raise bad(
            f"The nested endpoint '{name}' would create a loop of nested profiles: "
            f"'{child['body']['name']}' is this profile or nests it."
        )
    minimum = props.get("minChildEndpoints", 1)
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
        raise bad(
            f"The value '{minimum}' for minChildEndpoints of endpoint '{name}' must be a non-negative "
            "integer."
        )


def _reaches(sim: Simulator, start: str, goal: str, depth: int) -> bool:
    if start.lower() == goal.lower():
        return True
    if depth <= 0:
        return False
    for child in sim.children_of(start):
        target = str((child["body"].get("properties") or {}).get("targetResourceId") or "")
        nested = str(child["body"].get("type") or "").lower().endswith("/nestedendpoints")
        if nested and target and _reaches(sim, target, goal, depth - 1):
            return True
    return False


def fill_nested(sim: Simulator, props: Body) -> None:
    """Read-only and defaulted fields of a nested endpoint, as Azure returns them."""
    props.setdefault("minChildEndpoints", 1)
    props.setdefault("minChildEndpointsIPv4", 0)
    props.setdefault("minChildEndpointsIPv6", 0)
    child = sim.get_resource(str(props.get("targetResourceId") or ""))
    if child is not None:
        props["target"] = ((child["body"].get("properties") or {}).get("dnsConfig") or {}).get("fqdn")


def nested_status(sim: Simulator, props: Body, probe: Any) -> str:
    """The monitor status of an enabled nested endpoint, from its child profile's endpoints."""
    child = sim.get_resource(str(props.get("targetResourceId") or ""))
    if child is None:
        return "Stopped"
    if ((child["body"].get("properties") or {}).get("profileStatus")) == "Disabled":
        return "Stopped"
    statuses = []
    for endpoint in sim.children_of(child["body"]["id"]):
        child_props = endpoint["body"].get("properties") or {}
        if child_props.get("endpointStatus") == "Enabled":
            statuses.append(probe(sim, child_props))
    if not statuses:
        return "Stopped"
    needed = int(props.get("minChildEndpoints") or 1)
    online = statuses.count("Online")
    checking = sum(1 for s in statuses if s.startswith("CheckingEndpoint"))
    if online >= needed:
        return "Online"
    if online + checking >= needed:
        return "CheckingEndpoint"
    return "Degraded"


def _hierarchy(sim: Simulator, req: SimRequest, *_: str) -> SimResponse:
    return SimResponse(200, hierarchy.rest_body())


def register(sim: Simulator) -> None:
    path = r"/providers/Microsoft\.Network/trafficManagerGeographicHierarchies/default"
    sim.route("GET", path, api_versions=API_VERSIONS)(_hierarchy)
