"""Event Grid topic: Entra-only, converges once, drift is patched, the schema is never replaced."""

from __future__ import annotations

from typing import Any

import pytest

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.resources.base import Resource
from pros_cli.resources.eventgrid import EventGridTopic
from pros_cli.resources.resource_group import ResourceGroup
from pros_cli.simulator.core import Simulator
from pros_cli.state import scrub_continuation_token
from tests.conftest import SUB, make_spec


def graph(spec: Any) -> list[Resource]:
    return [
        ResourceGroup(spec, key="resource-group", name=spec.resource_group, region=spec.primary_region),
        EventGridTopic(spec, key="eventgrid-topic", depends_on=("resource-group",), parent="resource-group"),
    ]


@pytest.fixture
def spec() -> Any:
    return make_spec(regions=["westus", "eastus"], shared_region="eastus")


def topic(engine: Any, spec: Any) -> dict[str, Any]:
    return engine.clients.eventgrid.topics.get(
        spec.resource_group, spec.names.eventgrid_topic(), cls=raw_json
    )


def test_converge_creates_an_entra_only_topic_in_the_shared_region(engine, spec):
    result = engine.converge(graph(spec))
    assert not result.report.failed
    body = topic(engine, spec)
    assert body["location"] == "eastus"
    assert body["tags"] == spec.tags()
    props = body["properties"]
    assert props["disableLocalAuth"] is True
    assert props["inputSchema"] == "EventGridSchema"
    assert props["publicNetworkAccess"] == "Enabled"
    assert props["minimumTlsVersionAllowed"] == "1.2"
    endpoint = result.report.outputs["eventgrid-topic"]["endpoint"]
    assert endpoint == props["endpoint"] and endpoint.endswith("/api/events")
    assert endpoint.startswith(f"https://{spec.names.eventgrid_topic()}.eastus-")


def test_second_converge_makes_no_writes(engine, spec):
    engine.converge(graph(spec))
    engine.sim.reset_log()
    again = engine.converge(graph(spec))
    assert engine.sim.writes() == []
    assert {c.action for c in again.plan.changes} == {"no-op"}


def test_local_auth_turned_back_on_is_patched_off(engine, spec):
    engine.converge(graph(spec))
    topics = engine.clients.eventgrid.topics
    rg, name = spec.resource_group, spec.names.eventgrid_topic()
    drift = {
        "tags": {"owner": "ops", "pros-deployment": "demo"},
        "properties": {"disableLocalAuth": False, "minimumTlsVersionAllowed": "1.0"},
    }
    topics.begin_update(rg, name, drift).result()
    engine.sim.reset_log()

    result = engine.converge(graph(spec))
    change = result.plan.by_key()["eventgrid-topic"]
    assert change.action == "update"
    assert {d.path for d in change.diffs} == {
        "properties.disableLocalAuth",
        "properties.minimumTlsVersionAllowed",
        "tags.managed-by",
    }
    assert [e["method"] for e in engine.sim.writes()] == ["PATCH"]
    body = topic(engine, spec)
    assert body["properties"]["disableLocalAuth"] is True
    assert body["properties"]["minimumTlsVersionAllowed"] == "1.2"
    assert body["tags"] == {**spec.tags(), "owner": "ops"}
    # az eventgrid topic update cannot set disableLocalAuth: the echo is the same PATCH via az rest.
    assert len(result.echoed) == 1 and result.echoed[0].startswith("az rest --method patch")
    assert '"disableLocalAuth":true' in result.echoed[0]


def test_tag_or_network_drift_echoes_az_eventgrid_topic_update(engine, spec):
    resources = graph(spec)
    engine.converge(resources)
    topics = engine.clients.eventgrid.topics
    topics.begin_update(
        spec.resource_group,
        spec.names.eventgrid_topic(),
        {"tags": {"pros-deployment": "demo"}, "properties": {"publicNetworkAccess": "Disabled"}},
    ).result()
    result = engine.converge(resources)
    assert result.echoed[0].startswith("az eventgrid topic update ")
    assert "--public-network-access enabled" in result.echoed[0]
    assert topic(engine, spec)["properties"]["publicNetworkAccess"] == "Enabled"


def test_another_input_schema_is_refused_not_replaced(engine, spec):
    engine.converge(graph(spec)[:1])
    body = EventGridTopic(spec, key="eventgrid-topic").desired()
    body["properties"]["inputSchema"] = "CloudEventSchemaV1_0"
    engine.clients.eventgrid.topics.begin_create_or_update(
        spec.resource_group, spec.names.eventgrid_topic(), body
    ).result()
    engine.sim.reset_log()
    plan = engine.plan(graph(spec))
    assert any("cannot change properties.inputSchema" in e for e in plan.errors)
    assert engine.sim.writes() == []


def test_a_create_left_running_is_resumed_from_its_recorded_token(spec):
    """--no-wait, then a later run: the token rebuilds the poller; no second PUT is sent."""
    sim = Simulator(profile="stuck")  # operations finish only when time is fast-forwarded
    clients = ClientFactory(SUB, cloud="simulator", simulator=sim)
    rg, t = graph(spec)
    rg.create(clients)
    token = scrub_continuation_token(t.create(clients).continuation_token())
    assert token is not None
    assert t.in_progress(t.read(clients))
    sim.fast_forward()
    body = t.create(clients, continuation_token=token).result()
    assert body["properties"]["provisioningState"] == "Succeeded"
    assert [e["method"] for e in sim.writes()] == ["PUT", "PUT"]  # the group and the topic, once


def test_delete_is_a_long_running_operation(engine, spec):
    resources = graph(spec)
    engine.converge(resources)
    resources[1].delete(engine.clients).result()
    assert resources[1].read(engine.clients) is None


def test_az_lines_parse(engine, spec, az_parser):
    resources = graph(spec)
    created = engine.converge(resources)
    t = resources[1]
    current = topic(engine, spec)
    lines = [*created.echoed]
    for drift in ({"disableLocalAuth": False}, {"publicNetworkAccess": "Disabled"}):
        changed = {**current, "tags": {}, "properties": {**current["properties"], **drift}}
        lines += [c.render() for c in t.az_update(changed, t.diff(changed))]
    lines += [c.render() for c in t.az_delete()] + [t.az_read().render()]
    assert any(line.startswith("az rest --method put") for line in created.echoed)
    assert az_parser.failures(lines) == []
