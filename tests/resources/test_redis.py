"""Azure Cache for Redis (--cache-kind azure-cache-for-redis): TLS only, Entra ID on and access keys
off, converges once, drift is patched, and the key its create response carries never leaks."""

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


ACR = "azure-cache-for-redis"


def acr_spec(**overrides: Any) -> Any:
    return make_spec(regions=["eastus", "westus"], shared_region="westus", cache_kind=ACR, **overrides)


@pytest.fixture
def spec() -> Any:
    return acr_spec()


def cache(engine: Any, spec: Any) -> dict[str, Any]:
    return engine.clients.redis.redis.get(spec.resource_group, spec.names.redis(), cls=raw_json)


def test_converge_creates_a_tls_only_standard_c1_cache_with_entra_and_no_keys(engine, spec):
    result = engine.converge(graph(spec))
    assert not result.report.failed
    body = cache(engine, spec)
    props = body["properties"]
    assert body["location"] == "West US" and body["tags"] == spec.tags()
    assert props["sku"] == {"name": "Standard", "family": "C", "capacity": 1}
    assert props["enableNonSslPort"] is False
    assert props["minimumTlsVersion"] == "1.2"
    assert props["disableAccessKeyAuthentication"] is True
    assert props["redisConfiguration"]["aad-enabled"] == "true"
    assert result.report.outputs["redis"] == {
        "host_name": f"{spec.names.redis()}.redis.cache.windows.net",
        "port": 6380,
        "cache_kind": ACR,
    }


def test_second_converge_makes_no_writes(engine, spec):
    engine.converge(graph(spec))
    engine.sim.reset_log()
    again = engine.converge(graph(spec))
    assert engine.sim.writes() == []
    assert {c.action for c in again.plan.changes} == {"no-op"}


def test_premium_uses_the_p_family():
    r = RedisCache(acr_spec(redis_sku="Premium", redis_capacity=2), key="redis")
    assert r.desired()["properties"]["sku"] == {"name": "Premium", "family": "P", "capacity": 2}
    assert "--vm-size p2" in r.az_create()[0].render()


def test_drift_is_patched_back(engine, spec):
    engine.converge(graph(spec))
    redis = engine.clients.redis.redis
    drift = {
        "tags": {"owner": "ops", "pros-deployment": "demo"},
        "properties": {
            "enableNonSslPort": True,
            "minimumTlsVersion": "1.0",
            "disableAccessKeyAuthentication": False,
            "redisConfiguration": {"aad-enabled": "false"},
        },
    }
    redis.begin_update(spec.resource_group, spec.names.redis(), drift).result()
    engine.sim.reset_log()

    result = engine.converge(graph(spec))
    change = result.plan.by_key()["redis"]
    assert {d.path for d in change.diffs} == {
        "properties.enableNonSslPort",
        "properties.minimumTlsVersion",
        "properties.disableAccessKeyAuthentication",
        "properties.redisConfiguration.aad-enabled",
        "tags.managed-by",
    }
    assert [e["method"] for e in engine.sim.writes()] == ["PATCH"]
    props = cache(engine, spec)["properties"]
    assert props["enableNonSslPort"] is False and props["minimumTlsVersion"] == "1.2"
    assert props["disableAccessKeyAuthentication"] is True
    assert props["redisConfiguration"]["aad-enabled"] == "true"
    assert props["redisConfiguration"]["maxclients"] == "1000"  # the PATCH merged, it did not replace
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
            "disableAccessKeyAuthentication=true",
            "redisConfiguration.aad-enabled=true",
            "tags.managed-by=pros",
            "tags.owner=ops",
            "tags.pros-deployment=demo",
        ).render()
    ]


def test_capacity_change_scales_in_place(engine, spec):
    engine.converge(graph(spec))
    bigger = acr_spec(redis_capacity=2)
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
    scaled = acr_spec(redis_capacity=2)
    runs.append(engine.converge(graph(scaled), no_wait=True))  # an update: PATCH, keys in the answer
    assert runs[-1].plan.by_key()["redis"].action == "update"
    texts += [engine.state_path.read_text(), recorded_token()]
    runs.append(engine.converge(graph(scaled)))
    texts.append(engine.state_path.read_text())
    for run in runs:
        texts += [*run.echoed, json.dumps(run.report.outputs)]
    assert not [e for e in engine.sim.log_entries() if e["path"].lower().endswith("/listkeys")]
    keys = engine.clients.redis.redis.list_keys(spec.resource_group, spec.names.redis(), cls=raw_json)
    assert keys["primaryKey"].startswith(SECRET_MARKER)  # the cache has keys; pros never asked for one
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
    premium = RedisCache(acr_spec(redis_sku="Premium", redis_capacity=1), key="redis")
    lines = [*created.echoed, *[c.render() for c in r.az_update(drifted, r.diff(drifted))]]
    lines += [c.render() for c in [*r.az_delete(), r.az_read(), *premium.az_create()]]
    create = next(line for line in created.echoed if line.startswith("az redis create "))
    assert "--disable-access-keys true" in create
    assert """--redis-configuration '{"aad-enabled":"true"}'""" in create
    assert az_parser.failures(lines) == []


# ---- access policy assignments (Entra ID data access) ------------------------------------------
READER = "6497c918-11ad-41e7-bf0f-7c518a87d0b0"


def access_graph(spec: Any, readers: tuple[str, ...] = ()) -> list[Resource]:
    from pros_cli.resources.redis_access import (
        PROCESSOR_POLICY,
        READER_POLICY,
        Grantee,
        RedisAccessPolicyAssignment,
    )
    from tests.resources.test_rbac import IdentityAccount

    rg, cache = graph(spec)
    app = IdentityAccount(
        spec,
        key="app",
        name=spec.names.storage_account("westus"),
        region="westus",
        depends_on=("resource-group",),
        parent="resource-group",
    )
    grants = [
        RedisAccessPolicyAssignment(
            spec,
            key="redis/access/processor",
            scope=cache,
            policy=PROCESSOR_POLICY,
            grantee=Grantee.identity_of(app, label="the processor", alias="pros-token-processor"),
        )
    ]
    grants += [
        RedisAccessPolicyAssignment(
            spec,
            key=f"redis/access/reader/{oid}",
            scope=cache,
            policy=READER_POLICY,
            grantee=Grantee.user(oid),
        )
        for oid in readers
    ]
    return [rg, cache, app, *grants]


def test_processor_and_readers_get_data_access_policies(engine, spec):
    resources = access_graph(spec, readers=(READER,))
    result = engine.converge(resources)
    assert not result.report.failed, result.report.failed
    app = resources[2]
    principal = engine.sim.get_resource(app.arm_id())["body"]["identity"]["principalId"]
    bodies = {r.key: engine.sim.get_resource(r.arm_id())["body"]["properties"] for r in resources[3:]}
    assert bodies["redis/access/processor"] == {
        "accessPolicyName": "Data Contributor",
        "objectId": principal,
        "objectIdAlias": "pros-token-processor",
        "provisioningState": "Succeeded",
    }
    assert bodies[f"redis/access/reader/{READER}"]["accessPolicyName"] == "Data Reader"
    assert bodies[f"redis/access/reader/{READER}"]["objectId"] == READER
    # One access policy operation per cache at a time: the assignments share a serial group.
    assert resources[3].serial_group == resources[4].serial_group
    engine.sim.reset_log()
    again = engine.converge(access_graph(spec, readers=(READER,)))
    assert engine.sim.writes() == []
    assert {c.action for c in again.plan.changes} == {"no-op"}


def test_access_az_lines_parse_before_and_after_the_identity_exists(engine, spec, az_parser):
    resources = access_graph(spec, readers=(READER,))
    dry = [c.render() for r in resources[3:] for c in r.az_create()]
    assert '--object-id "$(az storage account show' in dry[0]  # the identity does not exist yet
    created = engine.converge(resources)
    lines = [
        *dry,
        *created.echoed,
        *[c.render() for r in resources[3:] for c in (*r.az_delete(), r.az_read())],
    ]
    assert sum(line.startswith("az redis access-policy-assignment create ") for line in created.echoed) == 2
    assert az_parser.failures(lines) == []
