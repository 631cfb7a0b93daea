"""Azure Managed Redis: cluster, default database and access policy assignments converge once,
drift is patched, immutable settings are refused, no key is ever read, and every az line parses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pros_cli.resources.base import Resource
from pros_cli.resources.graph import RG_KEY
from pros_cli.resources.redis_access import Grantee, assignment_name
from pros_cli.resources.redis_enterprise import (
    ManagedRedisAccessPolicyAssignment,
    ManagedRedisCluster,
    ManagedRedisDatabase,
)
from pros_cli.resources.resource_group import ResourceGroup
from pros_cli.simulator.core import SECRET_MARKER
from pros_cli.simulator.providers.redisenterprise import TYPE as SIM_TYPE
from tests.conftest import make_spec
from tests.resources.test_rbac import IdentityAccount

READER = "6497c918-11ad-41e7-bf0f-7c518a87d0b0"
OTHER_READER = "0d7c1b7e-3f43-4a55-9b54-5c0f7a3e2d11"


@pytest.fixture
def spec() -> Any:
    return make_spec(regions=["eastus", "westus"], shared_region="westus")


def graph(spec: Any, readers: tuple[str, ...] = ()) -> list[Resource]:
    """The resource group, the cluster and database, a resource with an identity standing in for
    the token processor, and the assignments: the processor's and one per reader."""
    rg = ResourceGroup(spec, key=RG_KEY, name=spec.resource_group, region=spec.primary_region)
    cluster = ManagedRedisCluster(spec, key="redis", depends_on=(RG_KEY,), parent=RG_KEY)
    database = ManagedRedisDatabase(spec, key="redis/database", cluster=cluster)
    app = IdentityAccount(
        spec,
        key="app",
        name=spec.names.storage_account("westus"),
        region="westus",
        depends_on=(RG_KEY,),
        parent=RG_KEY,
    )
    grants = [
        ManagedRedisAccessPolicyAssignment(
            spec,
            key="redis/access/processor",
            database=database,
            grantee=Grantee.identity_of(app, label="the processor", alias="pros-token-processor"),
        )
    ]
    grants += [
        ManagedRedisAccessPolicyAssignment(
            spec, key=f"redis/access/reader/{oid}", database=database, grantee=Grantee.user(oid)
        )
        for oid in readers
    ]
    return [rg, cluster, database, app, *grants]


def body(engine: Any, resource: Resource) -> dict[str, Any]:
    stored = engine.sim.get_resource(resource.arm_id())
    assert stored is not None, resource.arm_id()
    return engine.sim.render(stored)


def principal(engine: Any, app: Resource) -> str:
    return engine.sim.get_resource(app.arm_id())["body"]["identity"]["principalId"]


def test_converge_creates_cluster_database_and_the_processors_access(engine, spec):
    resources = graph(spec)
    result = engine.converge(resources)
    assert not result.report.failed, result.report.failed
    _, cluster, database, app, grant = resources
    got = body(engine, cluster)
    assert got["location"] == "West US" and got["tags"] == spec.tags()
    assert got["sku"] == {"name": "Balanced_B0"}
    props = got["properties"]
    assert props["minimumTlsVersion"] == "1.2" and props["highAvailability"] == "Enabled"
    assert props["publicNetworkAccess"] == "Enabled"
    assert props["hostName"] == f"{spec.names.redis()}.westus.redis.azure.net"
    db = body(engine, database)["properties"]
    assert {k: db[k] for k in database.desired()["properties"]} == {
        "clientProtocol": "Encrypted",
        "port": 10000,
        "clusteringPolicy": "EnterpriseCluster",
        "evictionPolicy": "NoEviction",
        "accessKeysAuthentication": "Disabled",
    }
    assignment = body(engine, grant)["properties"]
    assert assignment["accessPolicyName"] == "default"
    assert assignment["user"] == {"objectId": principal(engine, app)}
    outputs = result.report.outputs
    assert outputs["redis"] == {
        "host_name": f"{spec.names.redis()}.westus.redis.azure.net",
        "port": 10000,
        "cache_kind": "managed",
    }
    assert outputs["redis/access/processor"]["object_id"] == principal(engine, app)
    # The cluster first, then its database, then the assignment: each a PUT of its own.
    puts = [e["path"] for e in engine.sim.writes() if "redisEnterprise" in e["path"]]
    assert puts == [cluster.arm_id(), database.arm_id(), grant.arm_id()]


def test_second_converge_makes_no_writes(engine, spec):
    engine.converge(graph(spec, readers=(READER,)))
    engine.sim.reset_log()
    again = engine.converge(graph(spec, readers=(READER,)))
    assert engine.sim.writes() == []
    assert {c.action for c in again.plan.changes} == {"no-op"}


def test_adding_a_usage_reader_creates_exactly_one_assignment(engine, spec):
    engine.converge(graph(spec, readers=(READER,)))
    engine.sim.reset_log()
    result = engine.converge(graph(spec, readers=(READER, OTHER_READER)))
    writes = engine.sim.writes()
    assert [(e["method"], e["path"]) for e in writes] == [
        ("PUT", result.plan.by_key()[f"redis/access/reader/{OTHER_READER}"].resource.arm_id())
    ]
    stored = engine.sim.get_resource(writes[0]["path"])["body"]["properties"]
    assert stored == {
        "accessPolicyName": "default",
        "user": {"objectId": OTHER_READER},
        "provisioningState": "Succeeded",
    }


def test_assignment_names_are_derived_and_legal(spec):
    resources = graph(spec, readers=(READER,))
    grants = [r for r in resources if isinstance(r, ManagedRedisAccessPolicyAssignment)]
    names = [g.name for g in grants]
    assert len(set(names)) == 2
    for name in names:
        assert name.isalnum() and len(name) <= 60  # ^[A-Za-z0-9]{1,60}$: no hyphens, so not a GUID
    # The same database and identity give the same name on every run, before the identity exists.
    assert names == [
        g.name for g in graph(spec, readers=(READER,)) if isinstance(g, ManagedRedisAccessPolicyAssignment)
    ]
    assert grants[1].name == assignment_name(grants[1].scope.arm_id(), Grantee.user(READER.upper()))


def test_drift_is_patched_back(engine, spec):
    resources = graph(spec)
    engine.converge(resources)
    client = engine.clients.redisenterprise
    name = spec.names.redis()
    client.redis_enterprise.begin_update(
        spec.resource_group,
        name,
        {"tags": {"owner": "ops", "pros-deployment": "demo"}, "properties": {"highAvailability": "Disabled"}},
    ).result()
    client.databases.begin_update(
        spec.resource_group,
        name,
        "default",
        {"properties": {"evictionPolicy": "AllKeysLRU", "accessKeysAuthentication": "Enabled"}},
    ).result()
    engine.sim.reset_log()
    result = engine.converge(resources)
    plan = result.plan.by_key()
    assert {d.path for d in plan["redis"].diffs} == {
        "properties.highAvailability",
        "tags.managed-by",
    }
    assert {d.path for d in plan["redis/database"].diffs} == {
        "properties.evictionPolicy",
        "properties.accessKeysAuthentication",
    }
    assert [e["method"] for e in engine.sim.writes()] == ["PATCH", "PATCH"]
    assert body(engine, resources[1])["tags"] == {**spec.tags(), "owner": "ops"}
    db = body(engine, resources[2])["properties"]
    assert db["evictionPolicy"] == "NoEviction" and db["accessKeysAuthentication"] == "Disabled"
    patch = json.loads(result.echoed[-1].split("--body ", 1)[1].strip("'"))
    assert patch == {"properties": {"accessKeysAuthentication": "Disabled", "evictionPolicy": "NoEviction"}}


def test_a_bigger_sku_scales_the_cluster_in_place(engine, spec):
    engine.converge(graph(spec))
    bigger = make_spec(regions=["eastus", "westus"], shared_region="westus", redis_sku="Balanced_B5")
    engine.sim.reset_log()
    result = engine.converge(graph(bigger))
    assert [d.path for d in result.plan.by_key()["redis"].diffs] == ["sku.name"]
    assert [e["method"] for e in engine.sim.writes()] == ["PATCH"]
    assert body(engine, graph(bigger)[1])["sku"] == {"name": "Balanced_B5"}


def test_a_different_clustering_policy_is_refused_not_replaced(engine, spec):
    resources = graph(spec)
    rg, cluster = resources[0], resources[1]
    engine.converge([rg, cluster])
    engine.clients.redisenterprise.databases.begin_create(
        spec.resource_group,
        cluster.name,
        "default",
        {"properties": {"clusteringPolicy": "OSSCluster", "port": 10000}},
    ).result()
    engine.sim.reset_log()
    plan = engine.plan(resources)
    assert any("properties.clusteringPolicy" in e and "cannot change" in e for e in plan.errors), plan.errors
    assert engine.sim.writes() == []


def test_a_recreated_processor_identity_is_granted_again(engine, spec):
    resources = graph(spec)
    engine.converge(resources)
    grant = resources[-1]
    old = body(engine, grant)["properties"]["user"]["objectId"]
    stored = engine.sim.get_resource(resources[3].arm_id())  # the identity is new: replace the grant
    stored["body"]["identity"]["principalId"] = engine.sim.new_principal(resources[3].arm_id())
    engine.sim.reset_log()
    result = engine.converge(graph(spec))
    assert result.plan.by_key()["redis/access/processor"].action == "replace"
    assert [e["method"] for e in engine.sim.writes()] == ["DELETE", "PUT"]
    new = body(engine, grant)["properties"]["user"]["objectId"]
    assert new != old and new == principal(engine, resources[3])


def test_no_key_is_read_stored_or_echoed(engine, spec):
    runs = [engine.converge(graph(spec, readers=(READER,)), no_wait=True)]
    runs.append(engine.converge(graph(spec, readers=(READER,))))
    texts = [engine.state_path.read_text()]
    for run in runs:
        texts += [*run.echoed, json.dumps(run.report.outputs)]
    assert not [e for e in engine.sim.log_entries() if e["path"].lower().endswith("/listkeys")]
    assert not [t for t in texts if SECRET_MARKER in t]
    with pytest.raises(Exception) as err:  # and the database has no key to hand out
        engine.clients.redisenterprise.databases.list_keys(spec.resource_group, spec.names.redis(), "default")
    assert "disabled" in str(err.value).lower()


def test_no_wait_records_the_cluster_create_and_the_next_run_resumes_it(engine, spec):
    engine.sim.configure(profile="stuck")
    first = engine.converge(graph(spec), no_wait=True)
    assert "redis" in {r.key for r in first.report.with_status("started")}
    state = json.loads(engine.state_path.read_text())["resources"]
    assert state["redis"]["operation"]["continuation_token"]
    assert "redis/database" not in state  # waits for its cluster
    engine.sim.configure(profile="instant")
    engine.sim.fast_forward()
    engine.sim.reset_log()
    second = engine.converge(graph(spec))
    assert not second.report.failed
    cluster_puts = [e for e in engine.sim.writes() if e["path"] == graph(spec)[1].arm_id()]
    assert cluster_puts == []  # resumed, not created again
    assert body(engine, graph(spec)[1])["properties"]["provisioningState"] == "Succeeded"


def test_a_name_taken_in_the_region_fails_the_create_and_skips_what_depends_on_it(engine, spec):
    engine.sim.take_name(SIM_TYPE, spec.names.redis())
    result = engine.converge(graph(spec))
    failed = {f.key: f.error for f in result.report.failed}
    assert "NameNotAvailable" in failed["redis"]
    skipped = {r.key for r in result.report.with_status("skipped")}
    assert {"redis/database", "redis/access/processor"} <= skipped


def test_az_lines_parse(engine, spec, az_parser):
    resources = graph(spec, readers=(READER,))
    dry = [c.render() for r in resources for c in r.az_create()]  # before anything exists
    processor_line = next(line for line in dry if "accessPolicyAssignments/" + resources[4].name in line)
    assert "$(az storage account show" in processor_line  # the object id is asked of az when it runs
    created = engine.converge(resources)
    assert all(line.startswith("az rest ") for line in created.echoed if "redisEnterprise" in line)
    cluster, database, grant = resources[1], resources[2], resources[4]
    drifted = {**body(engine, database), "properties": {"evictionPolicy": "AllKeysLRU"}}
    lines = [*dry, *created.echoed]
    lines += [c.render() for c in database.az_update(drifted, database.diff(drifted))]
    lines += [c.render() for r in (cluster, database, grant) for c in (*r.az_delete(), r.az_read())]
    assert az_parser.failures(lines) == []
    notes = [c.note for r in (cluster, database, grant) for c in r.az_create()]
    assert all("az redisenterprise" in n and "extension" in n for n in notes)
