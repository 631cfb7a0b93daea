"""Provision's observability: the workspace and component, Entra-only telemetry from every
Function App, the gateways' logs in the workspace without bodies or prompts; idempotent, echoed
with az lines az accepts, and no connection string printed or stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.resources.base import FieldDiff
from pros_cli.resources.rbac import MONITORING_METRICS_PUBLISHER
from pros_cli.simulator.core import Simulator
from tests.conftest import SUB, assert_no_secrets, load_state, run_pros, state_file

WRITES = ("PUT", "PATCH", "DELETE")
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-demo"
WORKSPACE_ID = f"{RG_ID}/providers/Microsoft.OperationalInsights/workspaces/log-demo"
COMPONENT_ID = f"{RG_ID}/providers/Microsoft.Insights/components/appi-demo"


def body(sim: Simulator, arm_id: str) -> dict[str, Any]:
    sim.reload()
    stored = sim.get_resource(arm_id)
    assert stored is not None, arm_id
    return stored["body"]


def of_type(sim: Simulator, arm_type: str) -> list[dict[str, Any]]:
    sim.reload()
    return [r["body"] for r in sim.resources_of_type(arm_type)]


def app_settings(sim: Simulator) -> dict[str, dict[str, str]]:
    """Each Function App's settings, as the simulator stores them."""
    from pros_cli.azure.clients import ClientFactory

    web = ClientFactory(SUB, cloud="simulator", simulator=sim).web
    return {
        site["name"]: web.web_apps.list_application_settings("rg-demo", site["name"], cls=raw_json)[
            "properties"
        ]
        for site in of_type(sim, "Microsoft.Web/sites")
    }


def test_provision_connects_every_app_and_gateway_to_the_workspace(sim, az_parser, no_secret_leaks):
    run = run_pros("provision", "-n", "demo", "--emit-script", "replay.sh")
    assert run.code == 0, run.err
    workspace = body(sim, WORKSPACE_ID)
    assert workspace["properties"]["features"]["disableLocalAuth"] is True
    assert workspace["properties"]["retentionInDays"] == 90
    component = body(sim, COMPONENT_ID)["properties"]
    assert component["DisableLocalAuth"] is True
    assert component["WorkspaceResourceId"].lower() == WORKSPACE_ID.lower()

    settings = app_settings(sim)
    assert len(settings) == 3  # two regional apps and the token processor
    for values in settings.values():
        assert values["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "Authorization=AAD"
        assert values["APPLICATIONINSIGHTS_CONNECTION_STRING"] == component["ConnectionString"]
    principals = {s["identity"]["principalId"] for s in of_type(sim, "Microsoft.Web/sites")}
    granted = {
        a["properties"]["principalId"]
        for a in of_type(sim, "Microsoft.Authorization/roleAssignments")
        if a["properties"]["scope"].lower() == COMPONENT_ID.lower()
        and a["properties"]["roleDefinitionId"].endswith(MONITORING_METRICS_PUBLISHER.guid)
    }
    assert granted == principals

    gateways = of_type(sim, "Microsoft.ApiManagement/service")
    assert len(gateways) == 2
    for gateway in gateways:
        setting = body(sim, f"{gateway['id']}/providers/Microsoft.Insights/diagnosticSettings/pros-logs")
        props = setting["properties"]
        assert props["workspaceId"].lower() == WORKSPACE_ID.lower()
        assert props["logAnalyticsDestinationType"] == "Dedicated"
        assert sorted(e["category"] for e in props["logs"] if e["enabled"]) == [
            "GatewayLlmLogs",
            "GatewayLogs",
        ]
        diagnostic = body(sim, f"{gateway['id']}/diagnostics/azuremonitor")["properties"]
        assert diagnostic["largeLanguageModel"] == {"logs": "enabled"}  # no request/response messages
        for side in ("frontend", "backend"):
            for part in ("request", "response"):
                assert diagnostic[side][part] == {"headers": [], "body": {"bytes": 0}}
        assert diagnostic["sampling"] == {"samplingType": "fixed", "percentage": 100}

    # The connection string (and the key inside it) is never printed, echoed or stored.
    secret_bits = [component["ConnectionString"], component["InstrumentationKey"]]
    script = Path("replay.sh").read_text()
    for text in (run.out, run.err, state_file().read_text(), script):
        assert not any(bit in text for bit in secret_bits)
    assert_no_secrets(run.out, run.err)
    assert 'PROS_APPINSIGHTS_CONNECTION_STRING="$(az resource show --ids ' in script
    echoed = [line for line in run.echoed if "APPLICATIONINSIGHTS" in line]
    assert len(echoed) == 3
    assert all(
        '"APPLICATIONINSIGHTS_CONNECTION_STRING=${PROS_APPINSIGHTS_CONNECTION_STRING}"' in e for e in echoed
    )
    assert az_parser.failures(run.echoed) == []


def test_a_rerun_after_provision_makes_zero_writes(sim):
    assert run_pros("provision", "-n", "demo").code == 0
    writes = sim.count(*WRITES)
    plan = run_pros("provision", "--dry-run", "-o", "json")
    assert plan.code == 0, plan.err
    assert {c["action"] for c in plan.json()["changes"]} == {"no-op"}
    again = run_pros("provision")
    assert again.code == 0, again.err
    assert again.echoed == []
    assert sim.count(*WRITES) == writes


def test_retention_is_a_setting_that_changes_only_the_workspace(sim, az_parser):
    assert run_pros("provision", "-n", "demo").code == 0
    writes = sim.count(*WRITES)
    plan = run_pros("provision", "--log-retention-days", "120", "--dry-run", "-o", "json").json()
    assert plan["settings"] == [{"name": "log_retention_days", "from": 90, "to": 120, "source": "flag"}]
    assert [(c["action"], c["type"]) for c in plan["changes"] if c["action"] != "no-op"] == [
        ("update", "Microsoft.OperationalInsights/workspaces")
    ]
    run = run_pros("provision", "--log-retention-days", "120")
    assert run.code == 0, run.err
    assert run.echoed == [
        "az monitor log-analytics workspace update --resource-group rg-demo --workspace-name log-demo "
        "--retention-time 120"
    ]
    assert az_parser.failures(run.echoed) == []
    assert sim.count(*WRITES) == writes + 1
    assert body(sim, WORKSPACE_ID)["properties"]["retentionInDays"] == 120
    assert load_state()["settings"]["log_retention_days"] == 120
    shown = run_pros("settings", "-o", "json").json()["settings"]
    assert {r["name"]: (r["value"], r["source"]) for r in shown}["log_retention_days"] == (120, "state")


def test_an_impossible_retention_is_bad_input_before_any_call(sim):
    run = run_pros("provision", "-n", "demo", "--log-retention-days", "14")
    assert run.code == 2
    assert "30 to 730 days" in run.err
    assert sim.count() == 0


def test_body_or_prompt_logging_turned_on_by_hand_is_put_back(sim, az_parser):
    assert run_pros("provision", "-n", "demo").code == 0
    gateway = of_type(sim, "Microsoft.ApiManagement/service")[0]["id"]
    with sim.transaction():  # an operator turns on body and prompt logging in the portal
        noisy = sim.db["resources"][f"{gateway}/diagnostics/azuremonitor".lower()]["body"]["properties"]
        noisy["backend"]["response"]["body"]["bytes"] = 8192
        noisy["largeLanguageModel"]["requests"] = {"messages": "all", "maxSizeInBytes": 32768}
    plan = run_pros("provision", "--dry-run", "-o", "json").json()
    (change,) = [c for c in plan["changes"] if c["action"] != "no-op"]
    assert change["type"] == "Microsoft.ApiManagement/service/diagnostics"
    assert any("backend.response.body.bytes" in r for r in change["reasons"])
    assert any("largeLanguageModel.requests" in r for r in change["reasons"])
    run = run_pros("provision")
    assert run.code == 0, run.err
    assert az_parser.failures(run.echoed) == []
    restored = body(sim, f"{gateway}/diagnostics/azuremonitor")["properties"]
    assert restored["backend"]["response"]["body"]["bytes"] == 0
    assert "requests" not in restored["largeLanguageModel"]


def test_a_gateway_whose_llm_logs_were_switched_off_gets_them_back(sim):
    assert run_pros("provision", "-n", "demo").code == 0
    gateway = of_type(sim, "Microsoft.ApiManagement/service")[0]["id"]
    setting_id = f"{gateway}/providers/Microsoft.Insights/diagnosticSettings/pros-logs"
    with sim.transaction():
        stored = sim.db["resources"][setting_id.lower()]["body"]
        stored["properties"]["logs"] = [
            e for e in stored["properties"]["logs"] if e["category"] == "GatewayLogs"
        ]
    run = run_pros("provision")
    assert run.code == 0, run.err
    (line,) = run.echoed
    assert line.startswith("az monitor diagnostic-settings create --name pros-logs")
    logs = body(sim, setting_id)["properties"]["logs"]
    assert sorted(e["category"] for e in logs) == ["GatewayLlmLogs", "GatewayLogs"]


def test_settings_lists_the_new_settings_with_their_defaults(sim):
    rows = {r["name"]: r for r in run_pros("settings", "-n", "demo", "-o", "json").json()["settings"]}
    assert (rows["log_retention_days"]["value"], rows["log_retention_days"]["source"]) == (90, "default")
    assert (rows["reconcile_tolerance"]["value"], rows["reconcile_tolerance"]["source"]) == ("0", "default")


def test_update_and_delete_lines_of_the_new_kinds_parse(az_parser):
    from pros_cli.resources.graph import build_resources
    from tests.conftest import make_spec

    resources = build_resources(make_spec())
    kinds = (
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.Insights/components",
        "Microsoft.Insights/diagnosticSettings",
        "Microsoft.ApiManagement/service/diagnostics",
    )
    lines = []
    for r in resources:
        if r.arm_type not in kinds:
            continue
        lines += [c.render() for c in r.az_delete()]
        lines.append(r.az_read().render())
        current = {"tags": {"owner": "ops"}, **r.desired()}
        diffs = [
            FieldDiff("properties.features.disableLocalAuth", False, True),
            FieldDiff("tags.x", None, "y"),
        ]
        lines += [c.render() for c in r.az_update(current, diffs)]
    workspace = next(r for r in resources if r.arm_type == kinds[0])
    lines += [
        c.render() for c in workspace.az_update({"tags": {}}, [FieldDiff("tags.managed-by", None, "pros")])
    ]
    assert any("log-analytics workspace delete" in line for line in lines)
    assert lines[-1].startswith("az monitor log-analytics workspace update ") and "--tags" in lines[-1]
    assert az_parser.failures(lines) == []
