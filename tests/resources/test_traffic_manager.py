"""Traffic Manager profile and endpoints: converge, idempotence, drift without losing endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from pros_cli.azure.clients import raw_json
from pros_cli.resources.base import Resource
from pros_cli.resources.resource_group import ResourceGroup
from pros_cli.resources.traffic_manager import APIM_STATUS_PATH, TrafficManagerEndpoint, TrafficManagerProfile
from pros_cli.simulator.providers.trafficmanager import PROFILE
from tests.conftest import make_spec

REGIONS = ["eastus", "westeurope"]


def graph(spec: Any) -> list[Resource]:
    rg = ResourceGroup(spec, key="resource-group", name=spec.resource_group, region=spec.primary_region)
    profile = TrafficManagerProfile(
        spec, key="traffic-manager", depends_on=("resource-group",), parent="resource-group"
    )
    endpoints = [
        TrafficManagerEndpoint(
            spec, key=f"traffic-manager/{r}", region=r, profile_key="traffic-manager", apim_key=f"apim/{r}"
        )
        for r in spec.regions
    ]
    return [rg, profile, *endpoints]


def profile_body(engine: Any, spec: Any) -> dict[str, Any]:
    tm = engine.clients.trafficmanager
    return tm.profiles.get(spec.resource_group, spec.names.traffic_manager(), cls=raw_json)


def writes_to(engine: Any, fragment: str) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in engine.sim.writes() if fragment.lower() in e["path"].lower()]


@pytest.fixture
def spec() -> Any:
    return make_spec(regions=REGIONS)


def test_converge_builds_profile_and_one_endpoint_per_region(engine, spec):
    result = engine.converge(graph(spec))
    assert not result.report.failed
    body = profile_body(engine, spec)
    props = body["properties"]
    assert body["location"] == "global"
    assert body["tags"] == spec.tags()
    assert props["trafficRoutingMethod"] == "Performance"
    assert props["dnsConfig"]["relativeName"] == spec.names.traffic_manager_dns()
    assert props["dnsConfig"]["ttl"] == 30
    monitor = props["monitorConfig"]
    assert (monitor["protocol"], monitor["port"], monitor["path"]) == ("HTTPS", 443, APIM_STATUS_PATH)
    endpoints = {e["name"]: e["properties"] for e in props["endpoints"]}
    assert set(endpoints) == {"apim-eastus", "apim-westeurope"}
    assert endpoints["apim-westeurope"]["target"] == f"{spec.names.apim('westeurope')}.azure-api.net"
    assert endpoints["apim-westeurope"]["endpointLocation"] == "West Europe"
    assert all(e["endpointStatus"] == "Enabled" for e in endpoints.values())
    fqdn = f"{spec.names.traffic_manager_dns()}.trafficmanager.net"
    assert result.report.outputs["traffic-manager"] == {"fqdn": fqdn}


def test_second_converge_makes_no_writes(engine, spec):
    engine.converge(graph(spec))
    engine.sim.reset_log()
    again = engine.converge(graph(spec))
    assert engine.sim.writes() == []
    assert {c.action for c in again.plan.changes} == {"no-op"}
    assert again.echoed == []


def test_drift_is_patched_and_never_drops_endpoints(engine, spec):
    engine.converge(graph(spec))
    tm = engine.clients.trafficmanager
    name = spec.names.traffic_manager()
    drift = {
        "tags": {"owner": "ops", "pros-deployment": "demo"},
        "properties": {
            "dnsConfig": {"ttl": 300},
            "monitorConfig": {"path": "/", "protocol": "HTTP", "port": 80},
        },
    }
    tm.profiles.update(spec.resource_group, name, drift)
    engine.sim.reset_log()

    result = engine.converge(graph(spec))
    profile_change = result.plan.by_key()["traffic-manager"]
    assert profile_change.action == "update"
    assert {d.path for d in profile_change.diffs} >= {
        "properties.dnsConfig.ttl",
        "properties.monitorConfig.path",
        "tags.managed-by",
    }
    # One PATCH of the profile, no PUT (a PUT would replace, and so drop, the endpoint list).
    assert writes_to(engine, f"trafficmanagerprofiles/{name}") == [
        (
            "PATCH",
            f"/subscriptions/{spec.subscription_id}/resourceGroups/{spec.resource_group}/providers/"
            f"Microsoft.Network/trafficmanagerprofiles/{name}",
        )
    ]
    props = profile_body(engine, spec)["properties"]
    assert props["dnsConfig"]["ttl"] == 30
    assert (props["monitorConfig"]["protocol"], props["monitorConfig"]["path"]) == ("HTTPS", APIM_STATUS_PATH)
    assert sorted(e["name"] for e in props["endpoints"]) == ["apim-eastus", "apim-westeurope"]
    assert profile_body(engine, spec)["tags"] == {**spec.tags(), "owner": "ops"}  # user tags are kept
    assert any(line.startswith("az network traffic-manager profile update") for line in result.echoed)


def test_create_over_an_existing_profile_carries_its_endpoints(engine, spec):
    """The create PUT is the one write that could replace the endpoint list; it never empties it."""
    resources = graph(spec)
    engine.converge(resources)
    resources[1].create(engine.clients)
    assert len(profile_body(engine, spec)["properties"]["endpoints"]) == len(REGIONS)


def test_endpoint_drift_is_put_back_and_touches_only_that_endpoint(engine, spec):
    engine.converge(graph(spec))
    tm = engine.clients.trafficmanager
    rg, name = spec.resource_group, spec.names.traffic_manager()
    tm.endpoints.update(
        rg,
        name,
        "ExternalEndpoints",
        "apim-eastus",
        {"properties": {"target": "elsewhere.example.net", "endpointStatus": "Disabled"}},
    )
    engine.sim.reset_log()
    result = engine.converge(graph(spec))
    assert result.plan.by_key()["traffic-manager/eastus"].action == "update"
    assert [e["method"] for e in engine.sim.writes()] == ["PUT"]
    assert writes_to(engine, "apim-eastus") and not writes_to(engine, "apim-westeurope")
    east = tm.endpoints.get(rg, name, "ExternalEndpoints", "apim-eastus", cls=raw_json)["properties"]
    assert (east["target"], east["endpointStatus"]) == (
        f"{spec.names.apim('eastus')}.azure-api.net",
        "Enabled",
    )


def test_target_is_the_host_of_the_apim_gateway_url(spec):
    ep = TrafficManagerEndpoint(
        spec,
        key="traffic-manager/eastus",
        region="eastus",
        profile_key="traffic-manager",
        apim_key="apim/eastus",
    )
    assert ep.depends_on == ("traffic-manager", "apim/eastus")
    assert ep.parent == "traffic-manager"
    assert ep.target == f"{spec.names.apim('eastus')}.azure-api.net"
    ep.inputs = {"apim/eastus": {"properties": {"gatewayUrl": "https://gw-eastus.contoso.net"}}}
    assert ep.desired()["properties"]["target"] == "gw-eastus.contoso.net"
    assert ep.arm_id().endswith(
        f"/trafficmanagerprofiles/{spec.names.traffic_manager()}/externalEndpoints/apim-eastus"
    )


def test_a_taken_dns_name_fails_the_plan_before_any_write(engine, spec):
    engine.sim.take_name(PROFILE, spec.names.traffic_manager_dns())
    plan = engine.plan(graph(spec))
    assert any("is not available in Azure" in e and "AlreadyExists" in e for e in plan.errors)
    assert engine.sim.writes() == []


def test_a_different_dns_name_is_refused_not_replaced(engine, spec):
    engine.converge(graph(spec)[:1])
    tm = engine.clients.trafficmanager
    body = TrafficManagerProfile(spec, key="traffic-manager").desired()
    body["properties"]["dnsConfig"]["relativeName"] = "someone-changed-it"
    tm.profiles.create_or_update(spec.resource_group, spec.names.traffic_manager(), body)
    plan = engine.plan(graph(spec))
    assert any("cannot change properties.dnsConfig.relativeName" in e for e in plan.errors)


def test_delete_removes_profile_and_endpoints(engine, spec):
    resources = graph(spec)
    engine.converge(resources)
    assert resources[2].delete(engine.clients) is None
    assert resources[2].read(engine.clients) is None
    assert resources[1].delete(engine.clients) is None
    assert resources[1].read(engine.clients) is None
    assert resources[3].read(engine.clients) is None


def test_az_lines_parse(engine, spec, az_parser):
    resources = graph(spec)
    created = engine.converge(resources)
    profile, endpoint = resources[1], resources[2]
    current = profile_body(engine, spec)
    diffs = profile.diff(
        {**current, "tags": {}, "properties": {**current["properties"], "dnsConfig": {"ttl": 5}}}
    )
    lines = [*created.echoed, *[c.render() for c in profile.az_update(current, diffs)]]
    lines += [c.render() for c in endpoint.az_update({}, [])]
    for r in resources[1:]:
        lines += [c.render() for c in r.az_delete()] + [r.az_read().render()]
    assert any(" traffic-manager endpoint create " in line for line in created.echoed)
    assert az_parser.failures(lines) == []
