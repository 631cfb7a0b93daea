"""Geographic routing and nested profiles in the simulator, through the real SDK: the published
hierarchy, the rules Traffic Manager applies to geography codes and nested endpoints, and the
status of a nested endpoint computed from its child profile."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.azure.errors import error_code, status_code
from pros_cli.geo import hierarchy
from pros_cli.simulator.core import Simulator
from tests.conftest import SUB
from tests.simulator.test_tm_eventgrid_redis import PROFILE_BODY, RG, clients, endpoint

EXTERNAL = "ExternalEndpoints"
NESTED = "NestedEndpoints"


@pytest.fixture
def tm(memsim: Simulator) -> Any:
    return clients(memsim).trafficmanager


def profile(tm: Any, name: str, routing: str = "Geographic", endpoints: list | None = None) -> dict[str, Any]:
    body = copy.deepcopy(PROFILE_BODY)
    body["properties"]["trafficRoutingMethod"] = routing
    body["properties"]["dnsConfig"]["relativeName"] = f"{name}-dns"
    if endpoints is not None:
        body["properties"]["endpoints"] = endpoints
    return tm.profiles.create_or_update(RG, name, body, cls=raw_json)


def geo_endpoint(name: str, *codes: str) -> dict[str, Any]:
    body = endpoint(name, f"{name}.example.net")
    body["properties"]["geoMapping"] = list(codes)
    return body


def refused(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(HttpResponseError) as err:
        call(*args, **kwargs, cls=raw_json)
    assert status_code(err.value) == 400 and error_code(err.value) == "BadRequest"
    return str(err.value)


def profile_id(name: str) -> str:
    return (
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/trafficManagerProfiles/{name}"
    )


def test_the_geographic_hierarchy_is_microsofts(tm):
    body = tm.geographic_hierarchies.get_default(cls=raw_json)
    # GeographicHierarchy-GET-default.json (azure-rest-api-specs): a tenant-level resource whose
    # properties hold a tree of {code, name, regions} rooted at WORLD.
    assert body["id"] == "/providers/Microsoft.Network/trafficManagerGeographicHierarchies/default"
    assert body["name"] == "default"
    assert body["type"] == "Microsoft.Network/trafficManagerGeographicHierarchies"
    root = body["properties"]["geographicHierarchy"]
    assert (root["code"], root["name"]) == ("WORLD", "World")
    groupings = {r["code"]: r for r in root["regions"]}
    assert set(groupings) == {"GEO-EU", "GEO-ME", "GEO-NA", "GEO-AS", "GEO-AF", "GEO-AN", "GEO-SA", "GEO-AP"}
    europe = {r["code"]: r["name"] for r in groupings["GEO-EU"]["regions"]}
    assert europe["FR"] == "France" and europe["DE"] == "Germany" and "US" not in europe
    us = next(r for r in groupings["GEO-NA"]["regions"] if r["code"] == "US")
    assert {"US-CA", "US-NY", "US-WA"} <= {r["code"] for r in us["regions"]}
    assert hierarchy.codes_of(root) == hierarchy.parents()
    # The SDK's model reads it too.
    model = tm.geographic_hierarchies.get_default()
    assert model.geographic_hierarchy.code == "WORLD"


def test_unknown_codes_are_refused_in_any_profile(tm):
    profile(tm, "perf", "Performance")
    message = refused(
        tm.endpoints.create_or_update, RG, "perf", EXTERNAL, "a", geo_endpoint("a", "GEO-EU", "GEO-XX")
    )
    assert "GEO-XX" in message
    # A known code on a performance profile is accepted and ignored (Traffic Manager FAQ).
    made = tm.endpoints.create_or_update(RG, "perf", EXTERNAL, "a", geo_endpoint("a", "GEO-EU"), cls=raw_json)
    assert made["properties"]["geoMapping"] == ["GEO-EU"]


def test_a_code_belongs_to_one_endpoint_of_a_geographic_profile(tm):
    profile(tm, "geo", endpoints=[geo_endpoint("eu", "GEO-EU"), geo_endpoint("world", "WORLD")])
    message = refused(
        tm.endpoints.create_or_update, RG, "geo", EXTERNAL, "fr", geo_endpoint("fr", "FR", "GEO-EU")
    )
    assert "GEO-EU" in message and "'eu'" in message
    # A more specific code is another code: France may go elsewhere than the rest of Europe.
    tm.endpoints.create_or_update(RG, "geo", EXTERNAL, "fr", geo_endpoint("fr", "FR"))
    # The same rule holds for a PUT of the whole profile.
    refused(
        tm.profiles.create_or_update,
        RG,
        "geo2",
        {
            **copy.deepcopy(PROFILE_BODY),
            "properties": {
                **copy.deepcopy(PROFILE_BODY["properties"]),
                "trafficRoutingMethod": "Geographic",
                "dnsConfig": {"relativeName": "geo2-dns"},
                "endpoints": [geo_endpoint("a", "WORLD"), geo_endpoint("b", "WORLD")],
            },
        },
    )


def test_every_endpoint_of_a_geographic_profile_needs_codes(tm):
    profile(tm, "geo", endpoints=[geo_endpoint("world", "WORLD")])
    message = refused(tm.endpoints.create_or_update, RG, "geo", EXTERNAL, "x", endpoint("x", "x.example.net"))
    assert "'x'" in message and "geoMapping" in message


def test_changing_to_geographic_needs_every_endpoint_mapped_first(tm):
    profile(
        tm, "p", "Performance", endpoints=[endpoint("a", "a.example.net"), endpoint("b", "b.example.net")]
    )
    refused(tm.profiles.update, RG, "p", {"properties": {"trafficRoutingMethod": "Geographic"}})
    assert tm.profiles.get(RG, "p", cls=raw_json)["properties"]["trafficRoutingMethod"] == "Performance"
    for name, codes in (("a", ("GEO-EU",)), ("b", ("GEO-NA", "WORLD"))):
        body = endpoint(name, f"{name}.example.net")
        body["properties"]["geoMapping"] = list(codes)
        tm.endpoints.create_or_update(RG, "p", EXTERNAL, name, body)
    changed = tm.profiles.update(
        RG, "p", {"properties": {"trafficRoutingMethod": "Geographic"}}, cls=raw_json
    )
    assert changed["properties"]["trafficRoutingMethod"] == "Geographic"
    assert changed["properties"]["dnsConfig"]["fqdn"] == "p-dns.trafficmanager.net"  # the same profile


def test_nested_endpoints_point_at_an_existing_profile_without_loops(tm):
    profile(tm, "child", "Performance", endpoints=[endpoint("a", "a.example.net")])
    profile(tm, "parent", endpoints=[geo_endpoint("world", "WORLD")])
    nested = {
        "name": "eu",
        "type": "Microsoft.Network/trafficManagerProfiles/nestedEndpoints",
        "properties": {
            "targetResourceId": profile_id("missing"),
            "endpointStatus": "Enabled",
            "endpointLocation": "West Europe",
            "geoMapping": ["GEO-EU"],
        },
    }
    assert "not an existing" in refused(tm.endpoints.create_or_update, RG, "parent", NESTED, "eu", nested)
    nested["properties"]["targetResourceId"] = profile_id("parent")
    assert "loop" in refused(tm.endpoints.create_or_update, RG, "parent", NESTED, "eu", nested)
    nested["properties"]["targetResourceId"] = profile_id("child")
    made = tm.endpoints.create_or_update(RG, "parent", NESTED, "eu", nested, cls=raw_json)
    props = made["properties"]
    assert props["minChildEndpoints"] == 1  # Azure's default
    assert props["target"] == "child-dns.trafficmanager.net"
    assert made["type"] == "Microsoft.Network/trafficManagerProfiles/nestedEndpoints"
    # The child may not nest its parent back.
    back = copy.deepcopy(nested)
    back["properties"] = {"targetResourceId": profile_id("parent"), "endpointLocation": "East US"}
    assert "loop" in refused(tm.endpoints.create_or_update, RG, "child", NESTED, "up", back)


def test_a_nested_endpoints_status_comes_from_its_child(tm):
    profile(tm, "child", "Performance")
    profile(tm, "parent", endpoints=[geo_endpoint("world", "WORLD")])
    nested = {
        "name": "eu",
        "type": "Microsoft.Network/trafficManagerProfiles/nestedEndpoints",
        "properties": {
            "targetResourceId": profile_id("child"),
            "endpointStatus": "Enabled",
            "geoMapping": ["GEO-EU"],
            "minChildEndpoints": 2,
        },
    }
    tm.endpoints.create_or_update(RG, "parent", NESTED, "eu", nested)

    def status() -> str:
        return tm.endpoints.get(RG, "parent", NESTED, "eu", cls=raw_json)["properties"][
            "endpointMonitorStatus"
        ]

    assert status() == "Stopped"  # the child has no endpoints (Inactive)
    # External targets the simulator does not probe stay CheckingEndpoint: two of them reach 2.
    for name in ("a", "b"):
        tm.endpoints.create_or_update(RG, "child", EXTERNAL, name, endpoint(name, f"{name}.example.net"))
    assert status() == "CheckingEndpoint"
    disabled = endpoint("b", "b.example.net")
    disabled["properties"]["endpointStatus"] = "Disabled"
    tm.endpoints.create_or_update(RG, "child", EXTERNAL, "b", disabled)
    assert status() == "Degraded"  # one enabled child endpoint, two needed
    tm.profiles.update(RG, "child", {"properties": {"profileStatus": "Disabled"}})
    assert status() == "Stopped"  # a disabled child: Stopped, not Disabled


def test_the_hierarchy_route_is_tenant_level(memsim):
    other = ClientFactory("0f0e0d0c-0b0a-0908-0706-050403020100", cloud="simulator", simulator=memsim)
    body = other.trafficmanager.geographic_hierarchies.get_default(cls=raw_json)
    assert body["properties"]["geographicHierarchy"]["code"] == "WORLD"
