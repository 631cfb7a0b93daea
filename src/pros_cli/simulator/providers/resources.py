"""Microsoft.Resources: resource groups, and the resource listings of a subscription and of a
resource group.

The listings (Resources_List, Resources_ListByResourceGroup) show top-level tracked resources
only: not resource groups, not child resources (model deployments, containers, endpoints), not
extension resources (role assignments). ``$filter`` takes the clauses pros sends:
``<resourceType|name|resourceGroup|location> eq '<value>'`` joined by ``and``, or a tag filter
``tagName eq '<name>' and tagValue eq '<value>'``, which ARM does not combine with other clauses
("You can't use tagName/tagValue with other filters": Resources - List, $filter parameter in the
Microsoft.Resources REST reference).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmError, ArmPath, SimResponse, TypeSpec

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

API_VERSIONS = (
    "2025-04-01",
    "2025-03-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2022-09-01",
    "2021-04-01",
)
_LISTED_KEYS = ("id", "name", "type", "location", "kind", "sku", "identity")
_CLAUSE = re.compile(
    r"^\s*(resourceType|name|resourceGroup|location|tagName|tagValue)\s+eq\s+'([^']*)'\s*$", re.IGNORECASE
)


def _build(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    # Shape of ResourceGroups_Get: id, name, type, location, (tags), properties.provisioningState
    body["properties"] = {k: v for k, v in body["properties"].items() if k == "provisioningState"}
    return body


def _parse_filter(req: SimRequest) -> dict[str, str]:
    text = req.query.get("$filter")
    if text is None:
        return {}
    clauses: dict[str, str] = {}
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
        match = _CLAUSE.match(part)
        if match is None:
            raise ArmError(
                404,
                "SimulatorRouteNotImplemented",
                f"The pros ARM simulator does not implement the resource-list $filter {text!r} (it "
                "understands \"<resourceType|name|resourceGroup|location> eq '<value>'\" joined by 'and', "
                "or \"tagName eq '<name>' and tagValue eq '<value>'\"). This is a gap in the simulator, "
                "not an Azure answer.",
            )
        clauses[match.group(1).lower()] = match.group(2)
    tag = {"tagname", "tagvalue"} & set(clauses)
    if tag and ((tag != {"tagname"} and "tagname" not in clauses) or set(clauses) - {"tagname", "tagvalue"}):
        raise ArmError(
            400,
            "InvalidFilterInQueryString",
            f"Invalid $filter '{text}': tagName/tagValue cannot be combined with other filters, and "
            "tagValue needs tagName.",
        )
    return clauses


def _listed(sim: Simulator, stored: dict[str, Any]) -> bool:
    spec = sim.types.get(stored["type"].lower())
    if spec is None or spec.extension or not spec.tracked or spec.parent_type is not None:
        return False
    return stored["type"].count("/") == 1 and stored["type"].lower() != "microsoft.resources/resourcegroups"


def _matches(body: dict[str, Any], clauses: dict[str, str]) -> bool:
    from pros_cli import regions

    tags = body.get("tags") or {}
    if "tagname" in clauses:
        # Tag names are case-insensitive in ARM; values are compared as stored.
        found = {k.lower(): v for k, v in tags.items()}.get(clauses["tagname"].lower())
        if found is None:
            return False
        return "tagvalue" not in clauses or str(found) == clauses["tagvalue"]
    for prop, want in clauses.items():
        if prop == "resourcetype":
            have = body.get("type")
        elif prop == "name":
            have = body.get("name")
        elif prop == "resourcegroup":
            have = body["id"].split("/")[4]
        else:
            have = regions.normalize(str(body.get("location") or "")) or body.get("location")
            want = regions.normalize(want) or want
        if str(have or "").lower() != want.lower():
            return False
    return True


def _listing(sim: Simulator, req: SimRequest, prefix: str) -> SimResponse:
    clauses = _parse_filter(req)
    items = []
    for stored in sim.db["resources"].values():
        body = stored["body"]
        if not body["id"].lower().startswith(prefix.lower()) or not _listed(sim, stored):
            continue
        if not _matches(body, clauses):
            continue
        item = {k: body[k] for k in _LISTED_KEYS if k in body}
        item["tags"] = body.get("tags") or {}
        items.append(item)
    return SimResponse(200, {"value": sorted(items, key=lambda i: i["id"].lower())})


def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            "Microsoft.Resources/resourceGroups",
            API_VERSIONS,
            create_mode="sync",
            create_status=201,
            delete_mode="location",
            required=("location",),
            name_rule=(
                r"[-\w._()]{1,90}(?<!\.)",
                "Resource group names are 1-90 characters of letters, digits, "
                "'_', '-', '.', '(' and ')', and may not end with a period.",
            ),
            build=_build,
        )
    )

    @sim.route("GET", r"/subscriptions/([^/]+)/resourcegroups", api_versions=API_VERSIONS)
    def _list_groups(s: Simulator, req: SimRequest, sub: str) -> SimResponse:
        """ResourceGroups_List; its $filter takes tagName/tagValue only."""
        clauses = _parse_filter(req)
        if set(clauses) - {"tagname", "tagvalue"}:
            raise ArmError(
                400,
                "InvalidFilterInQueryString",
                "Resource groups can be filtered by tagName and tagValue only.",
            )
        groups = []
        for stored in s.resources_of_type("Microsoft.Resources/resourceGroups"):
            body = stored["body"]
            if body["id"].lower().startswith(f"/subscriptions/{sub}/".lower()) and _matches(body, clauses):
                groups.append(s.render(stored))
        return SimResponse(200, {"value": sorted(groups, key=lambda g: g["id"].lower())})

    @sim.route("GET", r"/subscriptions/([^/]+)/resources", api_versions=API_VERSIONS)
    def _list_resources(s: Simulator, req: SimRequest, sub: str) -> SimResponse:
        return _listing(s, req, f"/subscriptions/{sub}/")

    @sim.route("GET", r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/resources", api_versions=API_VERSIONS)
    def _list_group(s: Simulator, req: SimRequest, sub: str, group: str) -> SimResponse:
        if s.get_resource(f"/subscriptions/{sub}/resourceGroups/{group}") is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")
        return _listing(s, req, f"/subscriptions/{sub}/resourceGroups/{group}/")
