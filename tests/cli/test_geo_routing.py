"""Geographic routing against the simulator (issue 14): three regions in two geographies, bad
mappings refused before any request, pools kept inside a geography, a live switch of routing
method that keeps the profile, and the probe status of nested profiles in pros status."""

from __future__ import annotations

from typing import Any

import pytest

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.geo import hierarchy
from pros_cli.simulator.core import Simulator
from tests.cli.gateway_helpers import pool_members, spec
from tests.conftest import SUB, load_state, run_pros, state_file

REGIONS = ("-l", "westeurope", "-l", "swedencentral", "-l", "eastus")
GEO = ("--geo", "westeurope=GEO-EU", "--geo", "swedencentral=GEO-EU", "--geo", "eastus=GEO-NA,WORLD")
GEOGRAPHIC = ("--routing-method", "geographic", *GEO)
PROFILE = "Microsoft.Network/trafficmanagerprofiles"


def tm(sim: Simulator) -> Any:
    return ClientFactory(SUB, cloud="simulator", simulator=sim).trafficmanager


def profile(sim: Simulator, name: str) -> dict[str, Any]:
    return tm(sim).profiles.get("rg-demo", name, cls=raw_json)


def endpoints(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in body["properties"]["endpoints"]}


def writes(sim: Simulator) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in sim.writes() if not e.get("fault")]


def provision(*args: str) -> Any:
    run = run_pros("provision", "-n", "demo", *args)
    assert run.code == 0, run.err
    return run


def check_az(az_parser: Any, *runs: Any) -> None:
    lines = [line for run in runs for line in run.echoed]
    assert lines
    assert az_parser.failures(lines) == []


def test_three_regions_in_two_geographies(sim, az_parser):
    dry = run_pros("provision", "-n", "demo", *REGIONS, *GEOGRAPHIC, "--dry-run", "-o", "json")
    assert dry.code == 0, dry.err
    planned = {(c["type"], c["name"]): c for c in dry.json()["changes"]}
    parent = planned[(PROFILE, "tm-demo")]
    child = planned[(PROFILE, "tm-demo-geo-eu")]
    assert "--routing-method Geographic" in parent["az"][0]
    assert "--routing-method Performance" in child["az"][0]
    nested = planned[(f"{PROFILE}/nestedEndpoints", "nested-geo-eu")]["az"][0]
    assert "--type nestedEndpoints" in nested and "--min-child-endpoints 1" in nested
    assert nested.endswith("--geo-mapping GEO-EU") and "--profile-name tm-demo " in nested
    eastus = planned[(f"{PROFILE}/externalEndpoints", "apim-eastus")]["az"][0]
    assert "--profile-name tm-demo " in eastus and eastus.endswith("--geo-mapping GEO-NA WORLD")
    members = [
        c
        for (t, _), c in planned.items()
        if t.endswith("externalEndpoints") and c["az"][0].count("tm-demo-geo-eu")
    ]
    assert sorted(c["region"] for c in members) == ["swedencentral", "westeurope"]
    assert all("--geo-mapping" not in c["az"][0] for c in members)  # performance inside the geography

    run = provision(*REGIONS, *GEOGRAPHIC)
    top = profile(sim, "tm-demo")
    assert top["properties"]["trafficRoutingMethod"] == "Geographic"
    top_endpoints = endpoints(top)
    assert set(top_endpoints) == {"nested-geo-eu", "apim-eastus"}
    eu = top_endpoints["nested-geo-eu"]["properties"]
    inner = profile(sim, "tm-demo-geo-eu")
    assert eu["targetResourceId"].lower() == inner["id"].lower()
    assert eu["geoMapping"] == ["GEO-EU"] and eu["minChildEndpoints"] == 1
    assert eu["target"] == inner["properties"]["dnsConfig"]["fqdn"]
    assert top_endpoints["apim-eastus"]["properties"]["geoMapping"] == ["GEO-NA", "WORLD"]
    assert inner["properties"]["trafficRoutingMethod"] == "Performance"
    assert inner["tags"] == {"managed-by": "pros", "pros-deployment": "demo"}
    s = spec("westeurope", "swedencentral", "eastus")
    assert {name: e["properties"]["target"] for name, e in endpoints(inner).items()} == {
        f"apim-{r}": f"{s.names.apim(r)}.azure-api.net" for r in ("westeurope", "swedencentral")
    }
    assert all("geoMapping" not in e["properties"] for e in endpoints(inner).values())
    recorded = load_state()["settings"]
    assert recorded["routing_method"] == "geographic"
    # As given (list settings split at commas; a code without REGION= belongs to the region before it).
    assert recorded["geo"] == ["westeurope=GEO-EU", "swedencentral=GEO-EU", "eastus=GEO-NA", "WORLD"]

    before = writes(sim)
    again = run_pros("provision")
    assert again.code == 0, again.err
    assert again.echoed == [] and writes(sim) == before
    plan = run_pros("provision", "--dry-run", "-o", "json").json()
    assert plan["settings"] == [] and {c["action"] for c in plan["changes"]} == {"no-op"}
    check_az(az_parser, dry, run)


BAD = [
    (
        ("--geo", "westeurope=GEO-EU", "--geo", "swedencentral=GEO-EU", "--geo", "eastus=GEO-XX,WORLD"),
        "GEO-XX",
    ),
    (
        ("--geo", "westeurope=GEO-EU", "--geo", "swedencentral=GEO-EU,FR", "--geo", "eastus=GEO-NA,WORLD"),
        "twice",
    ),
    (("--geo", "westeurope=GEO-EU,WORLD", "--geo", "swedencentral=GEO-EU", "--geo", "eastus=WORLD"), "twice"),
    (("--geo", "westeurope=GEO-EU", "--geo", "eastus=GEO-NA,WORLD"), "swedencentral has none"),
    (("--geo", "westeurope=GEO-EU", "--geo", "swedencentral=GEO-EU", "--geo", "eastus=GEO-NA"), "WORLD"),
]


@pytest.mark.parametrize(("geo", "message"), BAD)
def test_each_bad_mapping_exits_2_with_zero_requests(sim, geo, message):
    for args in (("--dry-run",), ()):
        count = sim.count()
        run = run_pros("provision", "-n", "demo", *REGIONS, "--routing-method", "geographic", *geo, *args)
        assert run.code == 2, run.err
        assert message in run.err and "hint" in run.err.lower()
        assert sim.count() == count  # not one request: the mapping is checked offline
    # The same on a live deployment: nothing is read, nothing changes, the settings stay.
    provision(*REGIONS)
    recorded = load_state()["settings"]
    count = sim.count()
    run = run_pros("provision", "--routing-method", "geographic", *geo)
    assert run.code == 2, run.err
    assert sim.count() == count
    assert load_state()["settings"] == recorded


def test_a_code_azure_no_longer_lists_is_refused_before_any_write(sim, monkeypatch):
    provision(*REGIONS)
    live = hierarchy.rest_body()
    europe = next(r for r in live["properties"]["geographicHierarchy"]["regions"] if r["code"] == "GEO-EU")
    europe["regions"] = [r for r in europe["regions"] if r["code"] != "FR"]
    monkeypatch.setattr(hierarchy, "rest_body", lambda: live)  # the simulator's answer, without FR
    writes_before = writes(sim)
    reads_before = sim.count("GET", path_contains="trafficManagerGeographicHierarchies")
    run = run_pros(
        "provision", "--routing-method", "geographic",
        "--geo", "westeurope=GEO-EU", "--geo", "swedencentral=FR", "--geo", "eastus=GEO-NA,WORLD",
    )  # fmt: skip
    assert run.code == 2, run.err
    assert "FR" in run.err and "hierarchy" in run.err
    assert writes(sim) == writes_before
    assert sim.count("GET", path_contains="trafficManagerGeographicHierarchies") == reads_before + 1


def test_with_geography_failover_scope_each_pool_holds_exactly_its_geography(sim, az_parser):
    provision(*REGIONS, *GEOGRAPHIC)
    run = run_pros("backends", "--failover-scope", "geography")
    assert run.code == 0, run.err
    assert "geography GEO-NA has one region (eastus)" in run.err
    assert "failover within it is impossible" in run.err
    s = spec("westeurope", "swedencentral", "eastus")
    europe = ("westeurope", "swedencentral")
    expected = {"westeurope": europe, "swedencentral": europe, "eastus": ("eastus",)}
    for gateway, regions in expected.items():
        for pool, prefix in (("openai-pool", "openai"), ("functions-pool", "func")):
            members = {name: priority for name, priority, _ in pool_members(sim, s, gateway, pool)}
            assert members == {f"{prefix}-{r}": 1 if r == gateway else 2 for r in regions}
    assert load_state()["settings"]["failover_scope"] == "geography"
    # provision manages the pools with the recorded scope: nothing to do.
    before = writes(sim)
    again = run_pros("provision", "--dry-run", "-o", "json")
    assert {c["action"] for c in again.json()["changes"]} == {"no-op"}
    assert any("failover within it is impossible" in w for w in again.json()["warnings"])
    assert run_pros("provision").code == 0 and writes(sim) == before
    # Back to global: every pool holds every region again.
    wide = run_pros("backends", "--failover-scope", "global")
    assert wide.code == 0, wide.err
    members = {name for name, _, _ in pool_members(sim, s, "eastus", "openai-pool")}
    assert members == {"openai-westeurope", "openai-swedencentral", "openai-eastus"}
    check_az(az_parser, run, wide)


def test_switching_performance_to_geographic_updates_the_same_profile(sim, az_parser):
    provision(*REGIONS)
    before = profile(sim, "tm-demo")
    assert before["properties"]["trafficRoutingMethod"] == "Performance"
    plan = run_pros("provision", *GEOGRAPHIC, "--dry-run", "-o", "json")
    assert plan.code == 0, plan.err
    data = plan.json()
    assert {s["name"]: (s["from"], s["to"]) for s in data["settings"]} == {
        "routing_method": ("performance", "geographic"),
        "geo": ([], ["westeurope=GEO-EU", "swedencentral=GEO-EU", "eastus=GEO-NA", "WORLD"]),
    }
    changes = {(c["type"], c["name"], c["action"]) for c in data["changes"] if c["action"] != "no-op"}
    assert (PROFILE, "tm-demo", "update") in changes
    assert not any(name == "tm-demo" and action != "update" for _, name, action in changes)
    top = next(c for c in data["changes"] if c["name"] == "tm-demo")
    assert any("trafficRoutingMethod: 'Performance' -> 'Geographic'" in r for r in top["reasons"])
    # The regions of the shared geography move into its profile: their old endpoints go, with --prune.
    refused = run_pros("provision", *GEOGRAPHIC)
    assert refused.code == 2 and "--prune" in refused.err
    assert "apim-westeurope of tm-demo" in refused.err and "apim-swedencentral of tm-demo" in refused.err
    assert refused.echoed == []

    count_writes = len(writes(sim))
    run = run_pros("provision", *GEOGRAPHIC, "--prune")
    assert run.code == 0, run.err
    after = profile(sim, "tm-demo")
    assert after["id"] == before["id"]
    assert after["properties"]["dnsConfig"]["fqdn"] == before["properties"]["dnsConfig"]["fqdn"]
    assert after["properties"]["trafficRoutingMethod"] == "Geographic"
    assert set(endpoints(after)) == {"nested-geo-eu", "apim-eastus"}
    profile_writes = [
        w for w in writes(sim)[count_writes:] if w.lower().endswith("/trafficmanagerprofiles/tm-demo")
    ]
    assert profile_writes == [w for w in profile_writes if w.startswith("PUT ")] and len(profile_writes) == 1
    assert not any(w.startswith("DELETE") and w.lower().endswith("/tm-demo") for w in writes(sim))
    again = run_pros("provision")
    assert again.code == 0 and again.echoed == []

    # And back: performance again, the geography's profile goes (with --prune), same DNS name.
    back = run_pros("provision", "--routing-method", "performance", "--prune")
    assert back.code == 0, back.err
    assert "kept but not used" in back.err
    final = profile(sim, "tm-demo")
    assert final["properties"]["trafficRoutingMethod"] == "Performance"
    assert set(endpoints(final)) == {"apim-westeurope", "apim-swedencentral", "apim-eastus"}
    assert final["properties"]["dnsConfig"]["fqdn"] == before["properties"]["dnsConfig"]["fqdn"]
    assert "tm-demo-geo-eu" not in {p.name for p in tm(sim).profiles.list_by_resource_group("rg-demo")}
    check_az(az_parser, plan, run, back)


def test_moving_a_code_between_geographies_is_one_update(sim, az_parser):
    provision(*REGIONS, *GEOGRAPHIC)
    # WORLD moves from eastus to the European geography: two endpoints change at once.
    run = run_pros(
        "provision",
        "--geo",
        "westeurope=GEO-EU,WORLD",
        "--geo",
        "swedencentral=GEO-EU,WORLD",
        "--geo",
        "eastus=GEO-NA",
    )
    assert run.code == 0, run.err
    top = endpoints(profile(sim, "tm-demo"))
    assert top["nested-geo-eu"]["properties"]["geoMapping"] == ["GEO-EU", "WORLD"]
    assert top["apim-eastus"]["properties"]["geoMapping"] == ["GEO-NA"]
    assert run_pros("provision").echoed == []
    check_az(az_parser, run)


def test_priority_routing_follows_the_order_of_the_regions(sim, az_parser):
    run = provision("-l", "eastus", "-l", "westus", "--routing-method", "priority")
    top = profile(sim, "tm-demo")
    assert top["properties"]["trafficRoutingMethod"] == "Priority"
    assert {n: e["properties"]["priority"] for n, e in endpoints(top).items()} == {
        "apim-eastus": 1,
        "apim-westus": 2,
    }
    swapped = run_pros("provision", "-l", "westus", "-l", "eastus")
    assert swapped.code == 0, swapped.err
    top = profile(sim, "tm-demo")
    assert {n: e["properties"]["priority"] for n, e in endpoints(top).items()} == {
        "apim-eastus": 2,
        "apim-westus": 1,
    }
    check_az(az_parser, run, swapped)


def test_status_shows_geographies_and_the_probe_status_of_nested_profiles(sim):
    provision(*REGIONS, *GEOGRAPHIC)
    data = run_pros("status", "-o", "json").json()
    routing = data["routing"]
    assert routing["method"] == "geographic"
    assert routing["regions"] == {"westeurope": "GEO-EU", "swedencentral": "GEO-EU", "eastus": "GEO-NA"}
    eu = next(g for g in routing["geographies"] if g["name"] == "GEO-EU")
    assert eu["nested"] and eu["profile"] == "tm-demo-geo-eu" and eu["endpoint_status"] == "Online"
    rows = {r["key"]: r for r in data["resources"]}
    assert "serves GEO-NA, WORLD" in rows["traffic-manager/endpoints/eastus"]["detail"]
    assert (
        "in geography GEO-EU" in rows["traffic-manager/geographies/geo-eu/endpoints/swedencentral"]["detail"]
    )

    # One European gateway down: the geography is still served (one healthy region is enough).
    s = spec("westeurope", "swedencentral", "eastus")
    stop_gateway(sim, s.names.apim("westeurope"))
    one = run_pros("status", "-o", "json").json()
    assert (
        next(g for g in one["routing"]["geographies"] if g["name"] == "GEO-EU")["endpoint_status"] == "Online"
    )
    assert {r["key"]: r["health"] for r in one["resources"]}["traffic-manager/nested/geo-eu"] == "ok"
    # Both down: Traffic Manager degrades the nested endpoint, and status says so (exit 3).
    stop_gateway(sim, s.names.apim("swedencentral"))
    both = run_pros("status")
    assert both.code == 3
    assert "GEO-EU: GEO-EU -> westeurope, swedencentral" in both.out and "Degraded" in both.out
    rows = {r["key"]: r for r in run_pros("status", "-o", "json").json()["resources"]}
    assert rows["traffic-manager/nested/geo-eu"]["health"] == "degraded"
    assert "endpoint monitor status Degraded" in rows["traffic-manager/nested/geo-eu"]["detail"]


def stop_gateway(sim: Simulator, name: str) -> None:
    """What an unavailable gateway looks like to the probes: its status path stops answering."""
    with sim.transaction():
        for stored in sim.resources_of_type("microsoft.apimanagement/service"):
            if stored["body"]["name"] == name:
                stored["body"]["properties"]["provisioningState"] = "Failed"


def test_teardown_removes_the_geography_profiles_too(sim, az_parser):
    provision(*REGIONS, *GEOGRAPHIC)
    down = run_pros("teardown", "--yes")
    assert down.code == 0, down.err
    assert list(tm(sim).profiles.list_by_resource_group("rg-demo")) == []
    deletes = [w for w in writes(sim) if w.startswith("DELETE") and "trafficmanagerprofiles" in w.lower()]
    # The nested endpoint leaves the deployment's profile, which goes before the geography's profile.
    order = [w.rsplit("/", 1)[-1] for w in deletes]
    assert order.index("tm-demo") < order.index("tm-demo-geo-eu")
    check_az(az_parser, down)


def test_discover_reads_the_routing_back_from_traffic_manager(sim):
    provision(*REGIONS, *GEOGRAPHIC)
    original = load_state()
    state_file().unlink()
    rebuilt = run_pros("status", "-n", "demo", "--discover", "--write-state", "-o", "json")
    assert rebuilt.code == 0, rebuilt.err
    assert "not part of the deployment" not in rebuilt.err  # the geography profile is recognised
    settings = load_state()["settings"]
    assert settings["routing_method"] == "geographic"
    assert dict(token.split("=") for token in settings["geo"] if "=" in token) == {
        "westeurope": "GEO-EU",
        "swedencentral": "GEO-EU",
        "eastus": "GEO-NA",
    }
    assert set(load_state()["resources"]) == set(original["resources"])
    plan = run_pros("provision", "--dry-run", "-o", "json").json()
    assert {c["action"] for c in plan["changes"]} == {"no-op"}


def test_a_new_region_gets_its_geography_once_its_gateway_exists(sim, az_parser):
    provision(*REGIONS, *GEOGRAPHIC)
    start = len(sim.log_entries())
    run = run_pros("provision", *REGIONS, "-l", "japaneast", *GEO, "--geo", "japaneast=GEO-AS")
    assert run.code == 0, run.err
    assert endpoints(profile(sim, "tm-demo"))["apim-japaneast"]["properties"]["geoMapping"] == ["GEO-AS"]
    log = [e for e in sim.log_entries()[start:] if not e.get("fault")]
    apim = spec("japaneast").names.apim("japaneast").lower()
    # The gateway's create finished (its last poll) before the profile sent Asia's callers to it.
    gateway_done = max(  # the service itself (its diagnostics and other children come later)
        i for i, e in enumerate(log) if e["path"].lower().endswith(apim) and e["method"] in ("PUT", "GET")
    )
    layout = next(
        i
        for i, e in enumerate(log)
        if e["method"] == "PUT" and e["path"].lower().endswith("/trafficmanagerprofiles/tm-demo")
    )
    assert gateway_done < layout
    assert run_pros("provision").echoed == []
    check_az(az_parser, run)
