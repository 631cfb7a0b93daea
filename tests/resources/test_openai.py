"""Azure OpenAI accounts and model deployments, converged through the engine."""

from __future__ import annotations

from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.resources.base import Resource
from pros_cli.resources.openai import ModelDeployment, OpenAIAccount
from pros_cli.resources.resource_group import ResourceGroup
from pros_cli.simulator.core import SECRET_MARKER
from pros_cli.simulator.providers.cognitive import set_quota
from pros_cli.spec import ModelDeployment as Model
from pros_cli.spec import Spec
from tests.conftest import make_spec

RG = "resource-group"
WRITES = ("PUT", "PATCH", "DELETE")


def openai_graph(spec: Spec) -> list[Resource]:
    """What the lead wires into the resource graph: an account per region, its deployments under it."""
    out: list[Resource] = [ResourceGroup(spec, key=RG, name=spec.resource_group, region=spec.primary_region)]
    for region in spec.regions:
        account = f"openai/{region}"
        out.append(OpenAIAccount(spec, key=account, region=region, depends_on=(RG,), parent=RG))
        for model in spec.models:
            out.append(ModelDeployment(spec, model, key=f"{account}/deployments/{model.name}", region=region,
                                       depends_on=(account,), parent=account))
    return out


def by_key(resources: list[Resource]) -> dict[str, Any]:
    return {r.key: r for r in resources}


def write_paths(sim: Any) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in sim.writes()]


def statuses(converged: Any) -> dict[str, str]:
    return {k: r.status for k, r in converged.report.results.items()}


def test_fresh_create_is_keyless_and_a_second_converge_writes_nothing(engine, memsim):
    spec = make_spec()
    first = engine.converge(openai_graph(spec))
    assert set(statuses(first).values()) == {"succeeded"}
    cog = engine.clients.cognitive
    for region in spec.regions:
        name = spec.names.openai(region)
        account = cog.accounts.get("rg-demo", name, cls=raw_json)
        assert account["kind"] == "OpenAI" and account["sku"]["name"] == "S0"
        assert account["properties"]["customSubDomainName"] == name
        assert account["properties"]["disableLocalAuth"] is True
        assert account["properties"]["publicNetworkAccess"] == "Enabled"
        assert account["identity"]["type"] == "SystemAssigned"
        assert account["tags"] == {"managed-by": "pros", "pros-deployment": "demo"}
        outputs = first.report.outputs[f"openai/{region}"]
        assert outputs == {"endpoint": f"https://{name}.openai.azure.com/",
                           "principal_id": account["identity"]["principalId"]}
        deployment = cog.deployments.get("rg-demo", name, "gpt-5.2", cls=raw_json)
        assert deployment["sku"] == {"name": "GlobalStandard", "capacity": 30}
        model = {"format": "OpenAI", "name": "gpt-5.2", "version": "2025-12-11"}
        assert deployment["properties"]["model"] == model
        assert deployment["properties"]["versionUpgradeOption"] == "OnceCurrentVersionExpired"
    assert not [e for e in memsim.log_entries() if e["path"].lower().endswith("/listkeys")]
    assert SECRET_MARKER not in engine.state_path.read_text()

    memsim.reset_log()
    second = engine.converge(openai_graph(spec))
    assert write_paths(memsim) == []
    assert {c.action for c in second.plan.changes} == {"no-op"}
    assert second.echoed == []


def test_version_and_capacity_change_in_place_with_one_put(engine, memsim):
    # text-embedding-ada-002 has two versions open to new deployments in eastus with regional Standard.
    older = (Model("emb", "text-embedding-ada-002", "1", "Standard"),)
    engine.converge(openai_graph(make_spec(regions=["eastus"], models=older)))
    newer = (Model("emb", "text-embedding-ada-002", "2", "Standard", capacity=40),)
    spec = make_spec(regions=["eastus"], models=newer)
    memsim.reset_log()
    converged = engine.converge(openai_graph(spec))
    change = converged.plan.by_key()["openai/eastus/deployments/emb"]
    assert change.action == "update"
    assert sorted(change.reasons) == ["change properties.model.version: '1' -> '2'",
                                      "change sku.capacity: 30 -> 40"]
    name = spec.names.openai("eastus")
    assert write_paths(memsim) == [
        f"PUT /subscriptions/{spec.subscription_id}/resourceGroups/rg-demo/providers/"
        f"Microsoft.CognitiveServices/accounts/{name}/deployments/emb"
    ]
    got = engine.clients.cognitive.deployments.get("rg-demo", name, "emb", cls=raw_json)
    assert got["sku"]["capacity"] == 40 and got["properties"]["model"]["version"] == "2"


def test_capacity_changed_outside_pros_is_put_back(engine, memsim):
    spec = make_spec(regions=["eastus"])
    engine.converge(openai_graph(spec))
    name = spec.names.openai("eastus")
    cog = engine.clients.cognitive
    shrink = {"sku": {"name": "GlobalStandard", "capacity": 5}}
    cog.deployments.begin_update("rg-demo", name, "gpt-5.2", shrink).result()
    converged = engine.converge(openai_graph(spec))
    change = converged.plan.by_key()["openai/eastus/deployments/gpt-5.2"]
    assert change.reasons == ["change sku.capacity: 5 -> 30"]
    assert cog.deployments.get("rg-demo", name, "gpt-5.2", cls=raw_json)["sku"]["capacity"] == 30


def test_account_drift_is_patched_back_keeping_user_tags(engine, memsim):
    spec = make_spec(regions=["eastus"])
    engine.converge(openai_graph(spec))
    name = spec.names.openai("eastus")
    cog = engine.clients.cognitive
    principal = cog.accounts.get("rg-demo", name, cls=raw_json)["identity"]["principalId"]
    drift = {"tags": {"owner": "ops", "managed-by": "pros", "pros-deployment": "demo"},
             "properties": {"disableLocalAuth": False, "publicNetworkAccess": "Disabled"}}
    cog.accounts.begin_update("rg-demo", name, drift).result()
    memsim.reset_log()
    converged = engine.converge(openai_graph(spec))
    assert sorted(converged.plan.by_key()["openai/eastus"].reasons) == [
        "change properties.disableLocalAuth: False -> True",
        "change properties.publicNetworkAccess: 'Disabled' -> 'Enabled'",
    ]
    assert [e["method"] for e in memsim.writes()] == ["PATCH"]
    account = cog.accounts.get("rg-demo", name, cls=raw_json)
    assert account["properties"]["disableLocalAuth"] is True
    assert account["properties"]["publicNetworkAccess"] == "Enabled"
    assert account["tags"]["owner"] == "ops"
    assert account["identity"]["principalId"] == principal


def test_model_name_drift_is_refused_not_replaced(engine, memsim):
    engine.converge(openai_graph(make_spec(regions=["eastus"])))
    swapped = (Model("gpt-5.2", "gpt-5.2-chat", "2025-12-11"),
               Model("text-embedding-3-small", "text-embedding-3-small", "1"))
    memsim.reset_log()
    plan = engine.plan(openai_graph(make_spec(regions=["eastus"], models=swapped)))
    assert len(plan.errors) == 1
    assert "model deployment gpt-5.2 on" in plan.errors[0] and "(eastus)" in plan.errors[0]
    assert "cannot change properties.model.name: 'gpt-5.2' -> 'gpt-5.2-chat'" in plan.errors[0]
    assert write_paths(memsim) == []


def test_account_kind_drift_is_refused(engine):
    spec = make_spec(regions=["eastus"])
    engine.converge(openai_graph(spec))
    name = spec.names.openai("eastus")
    # Azure lets an OpenAI account become AIServices in place; pros does not follow it there.
    engine.clients.cognitive.accounts.begin_update("rg-demo", name, {"kind": "AIServices"}).result()
    plan = engine.plan(openai_graph(spec))
    assert any("cannot change kind: 'AIServices' -> 'OpenAI'" in e for e in plan.errors), plan.errors


def test_taken_subdomain_stops_the_plan(engine, memsim):
    spec = make_spec(regions=["eastus"])
    memsim.take_name("Microsoft.CognitiveServices/accounts", spec.names.openai("eastus"))
    plan = engine.plan(openai_graph(spec))
    assert len(plan.errors) == 1
    assert f"the name '{spec.names.openai('eastus')}' for OpenAI account is not available" in plan.errors[0]
    assert "custom subdomain" in plan.errors[0]


def _create_then_delete_account(engine: Any, spec: Spec) -> str:
    graph = [r for r in openai_graph(spec) if not isinstance(r, ModelDeployment)]
    engine.converge(graph)
    name = spec.names.openai("eastus")
    engine.clients.cognitive.accounts.begin_delete("rg-demo", name).result()
    return name


def test_soft_deleted_name_stops_the_create_with_the_purge_command(engine, memsim):
    spec = make_spec(regions=["eastus"])
    name = _create_then_delete_account(engine, spec)
    memsim.reset_log()
    plan = engine.plan(openai_graph(spec))
    assert len(plan.errors) == 1
    error = plan.errors[0]
    assert "soft-deleted" in error and "--restore-soft-deleted" in error
    purge = f"az cognitiveservices account purge -l eastus -g rg-demo -n {name}"
    assert purge in error
    assert write_paths(memsim) == []
    # The command it gives works: after the purge the same plan is clean.
    engine.clients.cognitive.deleted_accounts.begin_purge("eastus", "rg-demo", name).result()
    assert engine.plan(openai_graph(spec)).errors == []


def test_restore_soft_deleted_brings_the_account_back(engine, memsim):
    name = _create_then_delete_account(engine, make_spec(regions=["eastus"]))
    spec = make_spec(regions=["eastus"], restore_soft_deleted=True)
    memsim.reset_log()
    converged = engine.converge(openai_graph(spec))
    assert set(statuses(converged).values()) == {"succeeded", "noop"}
    assert converged.echoed[0] == (f"az cognitiveservices account recover --name {name} "
                                   "--resource-group rg-demo --location eastus")
    cog = engine.clients.cognitive
    account = cog.accounts.get("rg-demo", name, cls=raw_json)
    assert account["properties"]["disableLocalAuth"] is True
    assert account["tags"] == {"managed-by": "pros", "pros-deployment": "demo"}
    puts = [e["status"] for e in memsim.log_entries() if e["method"] == "PUT" and e["path"].endswith(name)]
    assert puts == [201]
    assert list(cog.deleted_accounts.list()) == []


def test_restore_flag_without_a_deleted_account_creates_normally(engine):
    spec = make_spec(regions=["eastus"], restore_soft_deleted=True)
    converged = engine.converge(openai_graph(spec))
    assert converged.echoed[1].startswith("az cognitiveservices account create ")


def test_quota_failure_names_the_region_and_a_rerun_finishes_only_what_failed(engine, memsim):
    spec = make_spec(regions=["eastus", "westus"])
    set_quota(memsim, "westus", "gpt-5.2", "GlobalStandard", 0)
    first = engine.converge(openai_graph(spec))
    results = first.report.results
    failed = results["openai/westus/deployments/gpt-5.2"]
    assert failed.status == "failed"
    west = spec.names.openai("westus")
    where = f"model deployment gpt-5.2 on {west} (westus)"
    assert failed.error.startswith(f"{where}: create failed: InsufficientQuota: ")
    assert "quota Tokens Per Minute (thousands) - GPT-5.2 - GlobalStandard" in failed.error
    assert "require 30 new capacity" in failed.error and "available capacity 0" in failed.error
    others = {k: r.status for k, r in results.items() if k != "openai/westus/deployments/gpt-5.2"}
    assert others == dict.fromkeys(
        ["resource-group", "openai/eastus", "openai/eastus/deployments/gpt-5.2",
         "openai/eastus/deployments/text-embedding-3-small", "openai/westus",
         "openai/westus/deployments/text-embedding-3-small"], "succeeded")

    set_quota(memsim, "westus", "gpt-5.2", "GlobalStandard", 100)
    memsim.reset_log()
    second = engine.converge(openai_graph(spec))
    assert {r.status for r in second.report.results.values()} == {"succeeded", "noop"}
    assert write_paths(memsim) == [
        f"PUT /subscriptions/{spec.subscription_id}/resourceGroups/rg-demo/providers/"
        f"Microsoft.CognitiveServices/accounts/{west}/deployments/gpt-5.2"
    ]


def test_deployments_of_one_account_share_a_serial_group_and_all_succeed(engine, memsim):
    pairs = (("gpt-5.2", "2025-12-11"), ("gpt-5.2-chat", "2025-12-11"), ("text-embedding-3-small", "1"),
             ("text-embedding-3-large", "1"))
    models = tuple(Model(n, n, v) for n, v in pairs)
    spec = make_spec(models=models)
    graph = openai_graph(spec)
    groups = {r.serial_group for r in graph if isinstance(r, ModelDeployment)}
    assert groups == {by_key(graph)[f"openai/{region}"].arm_id() for region in spec.regions}
    converged = engine.converge(graph)
    assert set(statuses(converged).values()) == {"succeeded"}
    assert not [e for e in memsim.log_entries() if e.get("code") == "RequestConflict"]


def _every_az_line(engine: Any) -> list[str]:
    spec = make_spec(regions=["eastus"])
    graph = openai_graph(spec)
    engine.converge(graph)
    cog = engine.clients.cognitive
    name = spec.names.openai("eastus")
    drift = {"tags": {"owner": "ops", "pros-deployment": "demo"}, "properties": {"disableLocalAuth": False},
             "identity": {"type": "None"}}
    cog.accounts.begin_update("rg-demo", name, drift).result()
    shrink = {"sku": {"name": "GlobalStandard", "capacity": 7}}
    cog.deployments.begin_update("rg-demo", name, "gpt-5.2", shrink).result()
    lines = engine.converge(graph).echoed
    account = by_key(graph)["openai/eastus"]
    assert any(line.startswith("az cognitiveservices account update ") for line in lines)
    assert any(line.startswith("az cognitiveservices account identity assign ") for line in lines)
    restore_spec = make_spec(regions=["eastus"], restore_soft_deleted=True)
    restoring = OpenAIAccount(restore_spec, key="r", region="eastus")
    restoring.soft_deleted = True
    commands = [*restoring.az_create(), account.purge_command()]
    for r in graph:
        commands += [*r.az_create(), *r.az_delete(), r.az_read()]
    return lines + [c.render() for c in commands]


def test_every_az_line_passes_the_az_parser(engine, az_parser):
    lines = _every_az_line(engine)
    assert any(" account recover " in line for line in lines)
    assert any(" deployment delete " in line for line in lines)
    assert az_parser.failures(lines) == []
