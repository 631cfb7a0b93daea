"""Azure Cache for Redis: TLS only, converges once, drift is patched, and its key never leaks."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.echo import az
from pros_cli.resources.base import Resource
from pros_cli.resources.redis import RedisCache
from pros_cli.resources.resource_group import ResourceGroup
from pros_cli.simulator.core import SECRET_MARKER, Simulator
from pros_cli.simulator.providers.redis import TYPE as SIM_TYPE
from pros_cli.state import scrub_continuation_token
from tests.conftest import SUB, make_spec


def token_text(token: str) -> str:
    """Everything an azure-core continuation token holds: its JSON and the response body in it."""
    outer = base64.b64decode(token).decode()
    content = json.loads(outer)["data"]["response"].get("content") or ""
    return outer + base64.b64decode(content).decode(errors="replace")


def graph(spec: Any) -> list[Resource]:
    return [
        ResourceGroup(spec, key="resource-group", name=spec.resource_group, region=spec.primary_region),
        RedisCache(spec, key="redis", depends_on=("resource-group",), parent="resource-group"),
    ]


@pytest.fixture
def spec() -> Any:
    return make_spec(regions=["eastus", "westus"], shared_region="westus")


def cache(engine: Any, spec: Any) -> dict[str, Any]:
    return engine.clients.redis.redis.get(spec.resource_group, spec.names.redis(), cls=raw_json)


def test_converge_creates_a_tls_only_standard_c1_cache(engine, spec):
    result = engine.converge(graph(spec))
    assert not result.report.failed
    body = cache(engine, spec)
    props = body["properties"]
    assert body["location"] == "West US" and body["tags"] == spec.tags()
    assert props["sku"] == {"name": "Standard", "family": "C", "capacity": 1}
    assert props["enableNonSslPort"] is False
    assert props["minimumTlsVersion"] == "1.2"
    assert result.report.outputs["redis"] == {
        "host_name": f"{spec.names.redis()}.redis.cache.windows.net",
        "ssl_port": 6380,
    }


def test_second_converge_makes_no_writes(engine, spec):
    engine.converge(graph(spec))
    engine.sim.reset_log()
    again = engine.converge(graph(spec))
    assert engine.sim.writes() == []
    assert {c.action for c in again.plan.changes} == {"no-op"}


def test_premium_uses_the_p_family():
    r = RedisCache(make_spec(redis_sku="Premium", redis_capacity=2), key="redis")
    assert r.desired()["properties"]["sku"] == {"name": "Premium", "family": "P", "capacity": 2}
    assert "--vm-size p2" in r.az_create()[0].render()


def test_drift_is_patched_back(engine, spec):
    engine.converge(graph(spec))
    redis = engine.clients.redis.redis
    drift = {
        "tags": {"owner": "ops", "pros-deployment": "demo"},
        "properties": {"enableNonSslPort": True, "minimumTlsVersion": "1.0"},
    }
    redis.begin_update(spec.resource_group, spec.names.redis(), drift).result()
    engine.sim.reset_log()

    result = engine.converge(graph(spec))
    change = result.plan.by_key()["redis"]
    assert {d.path for d in change.diffs} == {
        "properties.enableNonSslPort",
        "properties.minimumTlsVersion",
        "tags.managed-by",
    }
    assert [e["method"] for e in engine.sim.writes()] == ["PATCH"]
    props = cache(engine, spec)["properties"]
    assert props["enableNonSslPort"] is False and props["minimumTlsVersion"] == "1.2"
    assert cache(engine, spec)["tags"] == {**spec.tags(), "owner": "ops"}
    assert result.echoed == [
        az(
            "redis",
            "update",
            "--name",
            spec.names.redis(),
            "--resource-group",
            spec.resource_group,
            "--set",
            "enableNonSslPort=false",
            "minimumTlsVersion=1.2",
            "tags.managed-by=pros",
            "tags.owner=ops",
            "tags.pros-deployment=demo",
        ).render()
    ]


def test_capacity_change_scales_in_place(engine, spec):
    engine.converge(graph(spec))
    bigger = make_spec(regions=["eastus", "westus"], shared_region="westus", redis_capacity=2)
    result = engine.converge(graph(bigger))
    assert [d.path for d in result.plan.by_key()["redis"].diffs] == ["properties.sku.capacity"]
    assert cache(engine, spec)["properties"]["sku"] == {"name": "Standard", "family": "C", "capacity": 2}
    assert "--sku Standard --vm-size c2" in result.echoed[0]


def test_the_access_key_never_reaches_state_echo_or_outputs(engine, spec):
    """The create and update responses carry the keys; each is recorded with its continuation
    token while it runs (--no-wait), then finished by a later run."""

    def recorded_token() -> str:
        token = json.loads(engine.state_path.read_text())["resources"]["redis"]["operation"][
            "continuation_token"
        ]
        assert token  # recorded (scrubbed), so a later run can resume
        return token_text(token)

    runs = [engine.converge(graph(spec), no_wait=True)]
    texts = [engine.state_path.read_text(), recorded_token()]
    runs.append(engine.converge(graph(spec)))
    scaled = make_spec(regions=["eastus", "westus"], shared_region="westus", redis_capacity=2)
    runs.append(engine.converge(graph(scaled), no_wait=True))  # an update: PATCH, keys in the answer
    assert runs[-1].plan.by_key()["redis"].action == "update"
    texts += [engine.state_path.read_text(), recorded_token()]
    runs.append(engine.converge(graph(scaled)))
    texts.append(engine.state_path.read_text())
    for run in runs:
        texts += [*run.echoed, json.dumps(run.report.outputs)]
    key = RedisCache(spec, key="redis").primary_key(engine.clients)
    assert key.startswith(SECRET_MARKER)
    assert not [t for t in texts if SECRET_MARKER in t]


def test_the_raw_create_token_does_hold_the_key(spec):
    """Why the scrubbing matters: azure-core's token embeds the create response, keys included.
    The scrubbed token has no key and still resumes the operation."""
    sim = Simulator(profile="stuck")  # operations finish only when time is fast-forwarded
    clients = ClientFactory(SUB, cloud="simulator", simulator=sim)
    rg, redis = graph(spec)
    rg.create(clients)
    raw = redis.create(clients).continuation_token()
    raw_text = token_text(raw)
    assert raw_text.count(SECRET_MARKER) == 4  # both keys, in the response body and in its parsed copy
    scrubbed = scrub_continuation_token(raw)
    assert scrubbed and SECRET_MARKER not in token_text(scrubbed)
    sim.fast_forward()
    body = redis.create(clients, continuation_token=scrubbed).result()
    assert body["properties"]["provisioningState"] == "Succeeded"
    assert "accessKeys" not in body["properties"]
    assert [e["method"] for e in sim.writes()] == ["PUT", "PUT"]  # the group and the cache, once


def test_primary_key_is_echoed_as_a_variable_filled_by_az(engine, spec):
    engine.converge(graph(spec))
    r = RedisCache(spec, key="redis")
    keys = engine.clients.redis.redis.list_keys(spec.resource_group, spec.names.redis(), cls=raw_json)
    assert r.primary_key(engine.clients) == keys["primaryKey"]
    secret = r.primary_key_secret(prefix="REDIS_KEY=")
    line = az("functionapp", "config", "appsettings", "set", "--settings", secret).render()
    assert line.endswith('"REDIS_KEY=${PROS_REDIS_KEY}"') and keys["primaryKey"] not in line
    assert secret.source == (
        f"az redis list-keys --resource-group {spec.resource_group} --name {spec.names.redis()} "
        "--query primaryKey --output tsv"
    )


def test_a_taken_name_fails_the_plan_before_any_write(engine, spec):
    engine.sim.take_name(SIM_TYPE, spec.names.redis())
    plan = engine.plan(graph(spec))
    assert any("is not available in Azure" in e and "NameNotAvailable" in e for e in plan.errors)
    assert engine.sim.writes() == []


def test_delete_is_a_long_running_operation(engine, spec):
    resources = graph(spec)
    engine.converge(resources)
    resources[1].delete(engine.clients).result()
    assert resources[1].read(engine.clients) is None


def test_az_lines_parse(engine, spec, az_parser):
    resources = graph(spec)
    created = engine.converge(resources)
    r = resources[1]
    current = cache(engine, spec)
    drifted = {
        **current,
        "tags": {},
        "properties": {
            **current["properties"],
            "enableNonSslPort": True,
            "sku": {"name": "Standard", "family": "C", "capacity": 3},
        },
    }
    premium = RedisCache(make_spec(redis_sku="Premium", redis_capacity=1), key="redis")
    lines = [*created.echoed, *[c.render() for c in r.az_update(drifted, r.diff(drifted))]]
    lines += [c.render() for c in [*r.az_delete(), r.az_read(), *premium.az_create()]]
    lines.append(r.primary_key_command())
    assert any(line.startswith("az redis create ") for line in created.echoed)
    assert az_parser.failures(lines) == []
