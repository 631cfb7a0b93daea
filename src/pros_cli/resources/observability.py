"""How the deployment is observed: which monitoring resources it has and how they connect.

* One Log Analytics workspace and one workspace-based Application Insights component, in the
  shared region.
* Every Function App sends its telemetry to the component with its managed identity: the app
  settings ``APPLICATIONINSIGHTS_CONNECTION_STRING`` (where to send) and
  ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD`` (authenticate with the
  system-assigned identity), and the role "Monitoring Metrics Publisher" on the component
  (learn.microsoft.com, "Microsoft Entra authentication for Application Insights"; Functions:
  includes/functions-app-insights-disable-local-note.md). No instrumentation key is needed to send:
  the component refuses unauthenticated telemetry (``DisableLocalAuth``).
* Every gateway has a diagnostic setting that sends its gateway logs (``GatewayLogs``:
  ``ApiManagementGatewayLogs``) and its LLM logs (``GatewayLlmLogs``: ``ApiManagementGatewayLlmLog``,
  tokens per call, model, correlation id) to the workspace, in resource-specific tables
  (learn.microsoft.com, supported logs for Microsoft.ApiManagement/service), and its ``azuremonitor``
  diagnostic that turns LLM logs on and keeps bodies and prompts out
  (:mod:`pros_cli.resources.apim_diagnostic`).

The connection string holds the instrumentation key and the ingestion endpoint. Microsoft
documents the key as an identifier, "not considered secrets", and with local authentication
disabled it authenticates nothing. pros nevertheless passes it as a secret setting (never in a
plan, the echo or the state file; the echo reads it with ``az resource show``): it costs one read
of the component, and the key would become usable again the moment someone re-enables local
authentication on the component.
"""

from __future__ import annotations

from collections.abc import Mapping

from pros_cli.resources.apim_diagnostic import ApimMonitorDiagnostic
from pros_cli.resources.base import Resource
from pros_cli.resources.functions import SecretSetting
from pros_cli.resources.monitoring import ApplicationInsights, DiagnosticSetting, LogAnalyticsWorkspace
from pros_cli.resources.rbac import MONITORING_METRICS_PUBLISHER, RoleAssignment, Scope
from pros_cli.spec import Spec

WORKSPACE_KEY = "log-analytics"
COMPONENT_KEY = "app-insights"
CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUTHENTICATION_STRING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
CONNECTION_STRING_VAR = "PROS_APPINSIGHTS_CONNECTION_STRING"
# Microsoft.ApiManagement/service log categories (azure-monitor reference, supported logs).
GATEWAY_CATEGORIES = ("GatewayLogs", "GatewayLlmLogs")


def workspace_and_component(spec: Spec, *, rg_key: str) -> tuple[LogAnalyticsWorkspace, ApplicationInsights]:
    below_rg = {"depends_on": (rg_key,), "parent": rg_key}
    workspace = LogAnalyticsWorkspace(spec, key=WORKSPACE_KEY, **below_rg)
    component = ApplicationInsights(spec, key=COMPONENT_KEY, workspace=workspace, **below_rg)
    return workspace, component


def telemetry_settings(component: ApplicationInsights) -> dict[str, str | SecretSetting]:
    """The app settings that send a Function App's telemetry to the component with Entra ID."""
    return {
        CONNECTION_STRING: SecretSetting(
            name=CONNECTION_STRING,
            resolve=component.connection_string,
            var=CONNECTION_STRING_VAR,
            source=component.connection_string_command(),
        ),
        AUTHENTICATION_STRING: "Authorization=AAD",
    }


def gateway_logging(
    spec: Spec, apims: Mapping[str, Resource], workspace: LogAnalyticsWorkspace
) -> list[Resource]:
    """Per gateway: the diagnostic setting to the workspace and the ``azuremonitor`` diagnostic."""
    out: list[Resource] = []
    for apim in apims.values():
        out.append(
            DiagnosticSetting(
                spec,
                key=f"{apim.key}/diagnostic-setting",
                scope=apim,
                workspace=workspace,
                categories=GATEWAY_CATEGORIES,
            )
        )
        out.append(ApimMonitorDiagnostic(spec, key=f"{apim.key}/diagnostics/azuremonitor", apim=apim))
    return out


def telemetry_roles(
    spec: Spec, apps: Mapping[str, Resource], component: ApplicationInsights
) -> list[Resource]:
    """Each Function App's identity may publish telemetry to the component, nothing more."""
    return [
        RoleAssignment(
            spec,
            key=f"rbac/func-appinsights/{suffix}",
            scope=Scope.of(component),
            role=MONITORING_METRICS_PUBLISHER,
            principal=app,
        )
        for suffix, app in apps.items()
    ]
