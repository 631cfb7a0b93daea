"""The monitoring kinds on their own: what each compares, what it refuses, what it echoes."""

from __future__ import annotations

from pros_cli.azure.clients import raw_json
from pros_cli.resources.apim import ApiManagementService
from pros_cli.resources.observability import gateway_logging, workspace_and_component
from pros_cli.resources.resource_group import ResourceGroup
from tests.conftest import make_spec

RG = "rg-demo"


def graph(**overrides: object) -> dict:
    spec = make_spec(regions=["eastus"], **overrides)
    rg = ResourceGroup(spec, key="resource-group", name=spec.resource_group, region="eastus")
    apim = ApiManagementService(spec, key="apim/eastus", region="eastus", depends_on=(rg.key,), parent=rg.key)
    workspace, component = workspace_and_component(spec, rg_key=rg.key)
    setting, diagnostic = gateway_logging(spec, {"eastus": apim}, workspace)
    return {
        "rg": rg,
        "apim": apim,
        "workspace": workspace,
        "component": component,
        "setting": setting,
        "diagnostic": diagnostic,
    }


def converge(engine, g: dict) -> object:
    done = engine.converge(list(g.values()))
    assert not done.report.failed, [r.error for r in done.report.failed]
    return done


def test_second_converge_is_all_no_op_and_writes_nothing(engine):
    converge(engine, graph())
    writes = len(engine.sim.writes())
    again = converge(engine, graph())
    assert {c.action for c in again.plan.changes} == {"no-op"}
    assert len(engine.sim.writes()) == writes and again.echoed == []


def test_diagnostic_setting_compares_categories_as_a_set_and_flags_other_destinations():
    setting = graph()["setting"]
    same = {
        "properties": {
            "workspaceId": setting.workspace.arm_id().lower(),
            "logAnalyticsDestinationType": "Dedicated",
            "logs": [
                {"category": "gatewayllmlogs", "enabled": True, "retentionPolicy": {"days": 0}},
                {"category": "GatewayLogs", "enabled": True},
            ],
        }
    }
    assert setting.diff(same) == []
    other = {
        "properties": {
            **same["properties"],
            "storageAccountId": "/subscriptions/x/storage",
            "logAnalyticsDestinationType": None,
            "logs": [
                {"category": "GatewayLogs", "enabled": True},
                {"category": "GatewayLlmLogs", "enabled": False},
            ],
            "metrics": [{"category": "AllMetrics", "enabled": True}],
        }
    }
    paths = {d.path for d in setting.diff(other)}
    assert paths == {
        "properties.logs",
        "properties.logAnalyticsDestinationType",
        "properties.storageAccountId",
        "properties.metrics",
    }


def test_apim_diagnostic_names_everything_that_would_log_more():
    diagnostic = graph()["diagnostic"]
    assert diagnostic.diff(diagnostic.desired()) == []
    noisy = diagnostic.desired()
    props = noisy["properties"]
    props["frontend"]["request"] = {"headers": ["Authorization"], "body": {"bytes": 1024}}
    props["sampling"]["percentage"] = 25
    props["logClientIp"] = True
    props["largeLanguageModel"] = {
        "logs": "disabled",
        "responses": {"messages": "all", "maxSizeInBytes": 100},
    }
    props["loggerId"] = "/subscriptions/x/loggers/appinsights"
    reasons = {d.path: d.desired for d in diagnostic.diff(noisy)}
    assert reasons == {
        "properties.loggerId": diagnostic.logger_id(),
        "properties.frontend.request.body.bytes": 0,
        "properties.frontend.request.headers": [],
        "properties.sampling.percentage": 100,
        "properties.logClientIp": False,
        "properties.largeLanguageModel.logs": "enabled",
        "properties.largeLanguageModel.responses": None,
    }


def test_changing_the_component_type_is_refused_not_replaced(engine):
    g = graph()
    converge(engine, g)
    body = g["component"].desired()
    body["properties"]["Application_Type"] = "other"
    # Someone recreated it as "other" out of band (the simulator's store, as Azure would hold it).
    stored = engine.sim.get_resource(g["component"].arm_id())
    stored["body"]["properties"]["Application_Type"] = "other"
    plan = engine.plan(list(graph().values()))
    assert any("cannot change properties.Application_Type" in e for e in plan.errors), plan.errors


def test_local_auth_turned_back_on_is_put_back(engine):
    g = graph()
    converge(engine, g)
    stored = engine.sim.get_resource(g["component"].arm_id())
    stored["body"]["properties"]["DisableLocalAuth"] = False
    again = converge(engine, graph())
    (change,) = [c for c in again.plan.changes if c.action != "no-op"]
    assert change.resource.arm_type == "Microsoft.Insights/components"
    assert "DisableLocalAuth" in change.reasons[0]
    got = engine.clients.appinsights.components.get(RG, g["component"].name, cls=raw_json)
    assert got["properties"]["DisableLocalAuth"] is True


def test_outputs_hold_ids_not_keys(engine):
    g = graph()
    converge(engine, g)
    state = engine.state()
    assert set(state.get("log-analytics")["outputs"]) == {"customer_id"}
    assert set(state.get("app-insights")["outputs"]) == {"app_id"}
    ikey = engine.clients.appinsights.components.get(RG, g["component"].name, cls=raw_json)["properties"][
        "InstrumentationKey"
    ]
    assert ikey not in engine.state_path.read_text()
