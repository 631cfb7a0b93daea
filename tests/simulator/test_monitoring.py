"""The simulator's workspaces, components, diagnostic settings, APIM diagnostics and LLM log:
Azure's shapes and rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from pros_cli.azure.clients import raw_json
from pros_cli.resources.apim import ApiManagementService
from pros_cli.resources.observability import gateway_logging, workspace_and_component
from pros_cli.resources.resource_group import ResourceGroup
from tests.conftest import SUB, make_spec
from tests.simulator.shapes import shape_errors

EXAMPLES = Path(__file__).parent / "examples"
RG = "rg-demo"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())["responses"]["200"]["body"]


@pytest.fixture
def deployed(engine) -> dict[str, Any]:
    """Resource group, one gateway, the workspace, the component and the gateway's logging."""
    spec = make_spec(regions=["eastus"])
    rg = ResourceGroup(spec, key="resource-group", name=spec.resource_group, region="eastus")
    apim = ApiManagementService(spec, key="apim/eastus", region="eastus", depends_on=(rg.key,), parent=rg.key)
    workspace, component = workspace_and_component(spec, rg_key=rg.key)
    logging = gateway_logging(spec, {"eastus": apim}, workspace)
    done = engine.converge([rg, apim, workspace, component, *logging])
    assert not done.report.failed
    return {"spec": spec, "apim": apim, "workspace": workspace, "component": component, "logging": logging}


def error(exc: pytest.ExceptionInfo) -> tuple[int, str, str]:
    body = json.loads(exc.value.response.text())
    err = body.get("error") or body
    return exc.value.status_code, err.get("code"), err.get("message")


def test_shapes_follow_the_rest_examples(engine, deployed):
    workspace = engine.clients.loganalytics.workspaces.get(RG, deployed["workspace"].name, cls=raw_json)
    assert not shape_errors(
        workspace,
        example("WorkspacesGet.json"),
        allow_extra=(
            "tags",
            "properties.features",
            "properties.createdDate",
            "properties.modifiedDate",
            "properties.workspaceCapping",
        ),
    )
    assert workspace["properties"]["retentionInDays"] == 90
    component = engine.clients.appinsights.components.get(RG, deployed["component"].name, cls=raw_json)
    assert not shape_errors(
        component,
        example("ComponentsCreate.json"),
        allow_extra=("properties.DisableLocalAuth", "properties.RetentionInDays"),
    )
    assert component["properties"]["DisableLocalAuth"] is True
    assert component["properties"]["ConnectionString"].startswith(
        f"InstrumentationKey={component['properties']['InstrumentationKey']};IngestionEndpoint=https://eastus"
    )
    setting = engine.clients.monitor.diagnostic_settings.get(
        deployed["apim"].arm_id().lstrip("/"), "pros-logs", cls=raw_json
    )
    # The example routes a category group; "category" is its sibling in LogSettings.
    assert not shape_errors(
        setting,
        example("createOrUpdateDiagnosticSetting.json"),
        allow_extra=("properties.logs[0].category", "properties.logs[1].category"),
    )
    assert setting["properties"]["logs"] == [
        {"category": "GatewayLogs", "enabled": True, "retentionPolicy": {"enabled": False, "days": 0}},
        {"category": "GatewayLlmLogs", "enabled": True, "retentionPolicy": {"enabled": False, "days": 0}},
    ]
    assert "provisioningState" not in setting["properties"]


def _put_setting(engine, deployed, name: str, logs: list[dict], **props: Any) -> Any:
    body = {"properties": {"workspaceId": deployed["workspace"].arm_id(), "logs": logs, **props}}
    return engine.clients.monitor.diagnostic_settings.create_or_update(
        deployed["apim"].arm_id().lstrip("/"), name, body, cls=raw_json
    )


def test_diagnostic_settings_check_categories_destinations_and_sinks(engine, deployed):
    with pytest.raises(HttpResponseError) as exc:
        _put_setting(engine, deployed, "other", [{"category": "GatewayLog", "enabled": True}])
    assert error(exc) == (400, "BadRequest", "Category 'GatewayLog' is not supported.")
    with pytest.raises(HttpResponseError) as exc:
        engine.clients.monitor.diagnostic_settings.create_or_update(
            deployed["apim"].arm_id().lstrip("/"),
            "other",
            {"properties": {"logs": [{"category": "GatewayLogs", "enabled": True}]}},
            cls=raw_json,
        )
    assert "At least one storage account" in error(exc)[2]
    with pytest.raises(HttpResponseError) as exc:  # the same category to the same workspace twice
        _put_setting(engine, deployed, "other", [{"category": "GatewayLlmLogs", "enabled": True}])
    assert "can't be reused" in error(exc)[2]
    ok = _put_setting(engine, deployed, "other", [{"categoryGroup": "audit", "enabled": True}])
    assert ok["properties"]["logs"][0]["categoryGroup"] == "audit"


def test_diagnostic_settings_on_an_unknown_resource_type_are_refused_loudly(engine, deployed):
    storage_scope = (
        f"subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.OperationalInsights/workspaces/"
        f"{deployed['workspace'].name}"
    )
    with pytest.raises(HttpResponseError) as exc:
        engine.clients.monitor.diagnostic_settings.create_or_update(
            storage_scope,
            "x",
            {"properties": {"workspaceId": deployed["workspace"].arm_id(), "logs": []}},
            cls=raw_json,
        )
    assert error(exc)[1] == "SimulatorRouteNotImplemented"


def test_components_require_a_workspace_and_keep_their_type_and_key(engine, deployed):
    components = engine.clients.appinsights.components
    with pytest.raises(HttpResponseError) as exc:
        components.create_or_update(
            RG,
            "appi-x",
            {"location": "eastus", "kind": "web", "properties": {"Application_Type": "web"}},
            cls=raw_json,
        )
    assert "WorkspaceResourceId is required" in error(exc)[2]
    body = deployed["component"].desired()
    body["properties"]["Application_Type"] = "other"
    with pytest.raises(HttpResponseError) as exc:
        components.create_or_update(RG, deployed["component"].name, body, cls=raw_json)
    assert error(exc)[:2] == (409, "PropertyChangeNotAllowed")
    before = components.get(RG, deployed["component"].name, cls=raw_json)["properties"]
    again = components.create_or_update(
        RG, deployed["component"].name, deployed["component"].desired(), cls=raw_json
    )["properties"]
    assert again["InstrumentationKey"] == before["InstrumentationKey"] and again["AppId"] == before["AppId"]


def test_workspace_retention_limits_and_soft_delete_recovery(engine, deployed):
    workspaces = engine.clients.loganalytics.workspaces
    body = deployed["workspace"].desired()
    body["properties"]["retentionInDays"] = 10
    with pytest.raises(HttpResponseError) as exc:
        workspaces.begin_create_or_update(RG, deployed["workspace"].name, body, cls=raw_json).result()
    assert error(exc)[0] == 400 and "not valid for the PerGB2018" in error(exc)[2]
    customer = workspaces.get(RG, deployed["workspace"].name, cls=raw_json)["properties"]["customerId"]
    workspaces.begin_delete(RG, deployed["workspace"].name).result()
    recovered = workspaces.begin_create_or_update(
        RG, deployed["workspace"].name, deployed["workspace"].desired(), cls=raw_json
    ).result()
    assert recovered["properties"]["customerId"] == customer


def test_apim_diagnostics_validate_like_api_management(engine, deployed):
    resources = engine.clients.resource.resources
    diagnostic = deployed["logging"][1]
    body = diagnostic.desired()
    body["properties"]["frontend"]["request"]["body"]["bytes"] = 9000
    with pytest.raises(HttpResponseError) as exc:
        resources.begin_create_or_update_by_id(
            diagnostic.arm_id().lstrip("/"), body, api_version="2024-10-01-preview"
        ).result()
    assert error(exc)[1] == "ValidationError" and "8192" in error(exc)[2]
    body = diagnostic.desired()
    body["properties"]["largeLanguageModel"]["requests"] = {"messages": "some", "maxSizeInBytes": 100}
    with pytest.raises(HttpResponseError) as exc:
        resources.begin_create_or_update_by_id(
            diagnostic.arm_id().lstrip("/"), body, api_version="2024-10-01-preview"
        ).result()
    assert "only supported value is 'all'" in error(exc)[2]


def _row(deployed, call: str = "c1") -> dict[str, Any]:
    return {
        "TimeGenerated": "2026-11-02T10:00:00Z",
        "CorrelationId": call,
        "Region": "East US",
        "ModelName": "gpt-4o",
        "PromptTokens": 10,
        "CompletionTokens": 5,
        "TotalTokens": 15,
        "_ResourceId": deployed["apim"].arm_id(),
    }


def _customer_id(engine, deployed) -> str:
    body = engine.clients.loganalytics.workspaces.get(RG, deployed["workspace"].name, cls=raw_json)
    return body["properties"]["customerId"]


def test_llm_rows_are_accepted_only_where_azure_would_write_them(engine, deployed):
    sim, customer = engine.sim, _customer_id(engine, deployed)
    assert sim.record_llm_log(customer, [_row(deployed)]) == 1
    with pytest.raises(ValueError, match="has no column Tokens"):
        sim.record_llm_log(customer, [{**_row(deployed), "Tokens": 1}])
    # Without LLM logs enabled in the gateway's azuremonitor diagnostic, the gateway writes none.
    diagnostic = deployed["logging"][1]
    off = diagnostic.desired()
    off["properties"]["largeLanguageModel"]["logs"] = "disabled"
    engine.clients.resource.resources.begin_create_or_update_by_id(
        diagnostic.arm_id().lstrip("/"), off, api_version="2024-10-01-preview"
    ).result()
    with pytest.raises(ValueError, match="does not enable largeLanguageModel logs"):
        sim.record_llm_log(customer, [_row(deployed, "c2")])
    # Rows to AzureDiagnostics (no resource-specific tables) never reach ApiManagementGatewayLlmLog.
    setting = deployed["logging"][0]
    engine.clients.monitor.diagnostic_settings.create_or_update(
        deployed["apim"].arm_id().lstrip("/"),
        setting.name,
        {
            "properties": {
                **setting.desired()["properties"],
                "logAnalyticsDestinationType": "AzureDiagnostics",
            }
        },
        cls=raw_json,
    )
    with pytest.raises(ValueError, match="resource-specific tables"):
        sim.record_llm_log(customer, [_row(deployed, "c3")])


def test_query_answers_in_the_shape_of_the_query_api(engine, deployed):
    from azure.monitor.query import LogsQueryClient

    customer = _customer_id(engine, deployed)
    engine.sim.record_llm_log(customer, [_row(deployed, "c1"), _row(deployed, "c2")])
    client = LogsQueryClient(
        engine.clients.credential,
        **{k: v for k, v in engine.clients.client_kwargs().items() if k != "polling_interval"},
    )
    import datetime as dt

    span = (dt.datetime(2026, 11, 2, tzinfo=dt.UTC), dt.datetime(2026, 11, 3, tzinfo=dt.UTC))
    result = client.query_workspace(
        customer,
        "ApiManagementGatewayLlmLog | summarize Calls = count(), Tokens = sum(TotalTokens) by ModelName",
        timespan=span,
    )
    table = result.tables[0]
    assert (table.name, table.columns, table.columns_types) == (
        "PrimaryResult",
        ["ModelName", "Calls", "Tokens"],
        ["string", "long", "long"],
    )
    assert [list(r) for r in table.rows] == [["gpt-4o", 2, 30]]
    earlier = (dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    assert (
        client.query_workspace(customer, "ApiManagementGatewayLlmLog | summarize count()", timespan=earlier)
        .tables[0]
        .rows[0][0]
        == 0
    )
    raw = engine.sim.handle(
        "POST",
        f"https://api.loganalytics.io/v1/workspaces/{customer}/query",
        {},
        json.dumps({"query": "ApiManagementGatewayLlmLog | summarize count()"}).encode(),
    )
    expected = json.loads((EXAMPLES / "oms-post-example.json").read_text())["responses"]["200"]["body"]
    # Cells are compared by value above: the example quotes numbers, the live service does not.
    assert not shape_errors({"tables": [{**t, "rows": []} for t in raw.body["tables"]]}, expected)
    assert raw.body["tables"][0]["columns"] == [{"name": "count_", "type": "long"}]
    with pytest.raises(HttpResponseError) as exc:
        client.query_workspace(customer, "ApiManagementGatewayLlmLog | extend X = 1", timespan=span)
    assert exc.value.status_code == 501 and "KQL operator 'extend'" in str(exc.value)
    with pytest.raises(HttpResponseError) as exc:
        client.query_workspace(customer, "ApiManagementGatewayLlmLog | where Nope == 1", timespan=span)
    assert exc.value.status_code == 400 and "named 'Nope'" in exc.value.response.text()
    with pytest.raises(HttpResponseError) as exc:
        client.query_workspace(
            "00000000-0000-0000-0000-000000000001", "ApiManagementGatewayLlmLog", timespan=span
        )
    assert exc.value.status_code == 404
