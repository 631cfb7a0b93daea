"""Helpers for the pros backends / pros policies tests: provision, then read what the gateways hold."""

from __future__ import annotations

from typing import Any

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.simulator.core import Simulator
from pros_cli.spec import Spec, build_spec
from tests.conftest import SUB, run_pros

WRITES = ("PUT", "PATCH", "DELETE")


def spec(*regions: str, **overrides: Any) -> Spec:
    return build_spec(
        base_name="demo", subscription_id=SUB, regions=list(regions or ("eastus", "westus")), **overrides
    )


def provision(*regions: str, extra: tuple[str, ...] = ()) -> None:
    args = ["provision", "--base-name", "demo", "-q"]
    for region in regions or ("eastus", "westus"):
        args += ["--region", region]
    run = run_pros(*args, *extra)
    assert run.code == 0, run.err


def apim(sim: Simulator) -> Any:
    return ClientFactory(SUB, cloud="simulator", simulator=sim).apim


def web(sim: Simulator) -> Any:
    return ClientFactory(SUB, cloud="simulator", simulator=sim).web


def service(s: Spec, region: str) -> tuple[str, str]:
    return "rg-demo", s.names.apim(region)


def backend(sim: Simulator, s: Spec, region: str, name: str) -> dict[str, Any]:
    return apim(sim).backend.get(*service(s, region), name, cls=raw_json)


def pool_members(sim: Simulator, s: Spec, region: str, pool: str) -> list[tuple[str, int, int]]:
    """(member backend id, priority, weight), sorted by priority then id."""
    services = backend(sim, s, region, pool)["properties"]["pool"]["services"]
    return sorted((m["id"].rsplit("/", 1)[-1], m["priority"], m["weight"]) for m in services)


def writes(sim: Simulator) -> list[str]:
    return [
        f"{e['method']} {e['path']}"
        for e in sim.log_entries()
        if e["method"] in WRITES and not e.get("fault")
    ]


def topic_endpoint(sim: Simulator, s: Spec) -> str:
    topics = ClientFactory(SUB, cloud="simulator", simulator=sim).eventgrid.topics
    return str(topics.get("rg-demo", s.names.eventgrid_topic()).endpoint)


def rotate_function_key(sim: Simulator, s: Spec, region: str, value: str) -> None:
    """What regenerating an app's default function key does (the simulator's host keys)."""
    app = s.names.function_app(region)
    site_id = f"/subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.Web/sites/{app}"
    with sim.transaction():
        site = sim.get_resource(site_id)
        assert site is not None
        site["body"]["_hostKeys"]["functionKeys"]["default"] = value
