"""Microsoft.OperationalInsights workspaces, Microsoft.Insights components and diagnostic settings.

Shapes and rules from azure-rest-api-specs:

* Workspaces (OperationalInsights stable/2025-07-01 Workspaces.json, WorkspacesGet.json): PUT is a
  long-running operation; ``properties.customerId`` is the workspace id the query API takes;
  ``retentionInDays`` defaults to 30 and is 30-730 on PerGB2018; DELETE is soft: the name stays
  reserved for 14 days and a PUT of the same name, resource group and location recovers it.
* Components (ApplicationInsights stable/2020-02-02 components_API.json, ComponentsCreate.json):
  PUT answers 200, no long-running operation; ``kind`` and ``Application_Type`` are required and
  ``WorkspaceResourceId`` is "required to create an application with this API version";
  ``Application_Type`` is create-only; ``InstrumentationKey``, ``AppId`` and ``ConnectionString``
  are read-only. The key is an identifier Azure returns on any GET (no listKeys action; Microsoft:
  ikeys "aren't considered secrets"), so the simulator does not hand it out as a secret.
* Diagnostic settings (Insights preview/2021-05-01-preview diagnosticsSettings_API.json,
  createOrUpdateDiagnosticSetting.json): an extension resource under any resource
  (``{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}``), PUT answers 200 with no
  location, tags or provisioning state; errors are ``{"code", "message"}`` without an ``error``
  wrapper. Categories are checked against the resource type's published list (Azure Monitor
  reference, supported logs); for a resource type not listed here the simulator refuses loudly.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import TENANT_ID, ArmError, ArmPath, TypeSpec, utcnow

if TYPE_CHECKING:
    from pros_cli.simulator.core import Simulator

Body = dict[str, Any]
WORKSPACE = "Microsoft.OperationalInsights/workspaces"
COMPONENT = "Microsoft.Insights/components"
DIAGNOSTIC_SETTING = "Microsoft.Insights/diagnosticSettings"
WORKSPACE_APIS = ("2025-07-01", "2025-02-01", "2023-09-01", "2022-10-01", "2021-12-01-preview", "2020-08-01")
COMPONENT_APIS = ("2020-02-02", "2020-02-02-preview")
DIAGNOSTIC_APIS = ("2021-05-01-preview",)
WORKSPACE_SKUS = (
    "Free",
    "Standard",
    "Premium",
    "PerNode",
    "PerGB2018",
    "Standalone",
    "CapacityReservation",
    "LACluster",
)
WORKSPACE_NAME = r"[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]"
WORKSPACE_NAME_MSG = (
    "Workspace name should include 4-63 letters, digits or '-'. The '-' shouldn't be the first "
    "or the last symbol."
)
NETWORK_ACCESS = ("Enabled", "Disabled", "SecuredByPerimeter")
# Log categories (and groups) per resource type: Azure Monitor reference, "Supported logs for
# Microsoft.ApiManagement/service" (GatewayLogs -> ApiManagementGatewayLogs, GatewayLlmLogs ->
# ApiManagementGatewayLlmLog, ...) and "... Microsoft.Web/sites" (FunctionAppLogs).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "microsoft.apimanagement/service": (
        "GatewayLogs",
        "GatewayLlmLogs",
        "GatewayMCPLogs",
        "WebSocketConnectionLogs",
        "DeveloperPortalAuditLogs",
    ),
    "microsoft.web/sites": ("FunctionAppLogs", "AppServiceAuthenticationLogs"),
}
CATEGORY_GROUPS = ("allLogs", "audit")
METRIC_CATEGORIES = ("AllMetrics",)
MAX_SETTINGS_PER_RESOURCE = 5  # "You can create up to five diagnostic settings per resource"


def _bad(message: str, code: str = "BadRequest") -> ArmError:
    return ArmError(400, code, message)


def _choice(props: Body, key: str, allowed: tuple[str, ...], default: str | None = None) -> None:
    value = props.get(key)
    if value is None:
        if default is not None:
            props[key] = default
        return
    for option in allowed:
        if str(value).lower() == option.lower():
            props[key] = option
            return
    raise _bad(f"The value '{value}' is not valid for {key}. Valid values are: {', '.join(allowed)}.")


# ---- workspaces ------------------------------------------------------------------------------
def _validate_workspace(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    props = body.get("properties") or {}
    sku = str((props.get("sku") or {}).get("name") or "PerGB2018")
    if sku.lower() not in {s.lower() for s in WORKSPACE_SKUS}:
        raise _bad(f"The SKU '{sku}' is not valid. Valid values are: {', '.join(WORKSPACE_SKUS)}.")
    retention = props.get("retentionInDays")
    if retention is not None:
        low, high = (7, 7) if sku.lower() == "free" else (30, 730)
        if not isinstance(retention, int) or isinstance(retention, bool) or not low <= retention <= high:
            raise _bad(
                f"Retention period of {retention} days is not valid for the {sku} pricing tier; "
                f"allowed: {low} to {high} days.",
                "InvalidParameter",
            )


def _build_workspace(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    props = body["properties"]
    old_props = (old or {}).get("properties") or {}
    deleted = sim.db.setdefault("deleted_workspaces", {}).pop(body["id"].lower(), None)
    if deleted is not None:  # created again within 14 days: recovered, with its customerId
        old_props = deleted.get("properties") or {}
    props["sku"] = {"name": str((props.get("sku") or old_props.get("sku") or {}).get("name") or "PerGB2018")}
    props.setdefault("retentionInDays", old_props.get("retentionInDays", 30))
    features = {**(old_props.get("features") or {}), **(props.get("features") or {})}
    features.setdefault("enableLogAccessUsingOnlyResourcePermissions", True)
    props["features"] = features
    for key in ("publicNetworkAccessForIngestion", "publicNetworkAccessForQuery"):
        _choice(props, key, NETWORK_ACCESS, old_props.get(key) or "Enabled")
    props["customerId"] = old_props.get("customerId") or str(uuid.uuid4())
    props["createdDate"] = old_props.get("createdDate") or utcnow()
    props["modifiedDate"] = utcnow()
    props.setdefault("workspaceCapping", old_props.get("workspaceCapping") or {"dailyQuotaGb": -1.0})
    return body


def _workspace_deleted(sim: Simulator, stored: Body) -> None:
    # Soft delete: kept for recovery (Workspaces_Delete: "The name is kept for 14 days").
    sim.db.setdefault("deleted_workspaces", {})[stored["body"]["id"].lower()] = stored["body"]
    sim.db.setdefault("llm_logs", {}).pop(str(stored["body"]["properties"].get("customerId")), None)


def workspace_by_customer_id(sim: Simulator, customer_id: str) -> Body | None:
    for stored in sim.resources_of_type(WORKSPACE):
        if str(stored["body"]["properties"].get("customerId")).lower() == customer_id.lower():
            return stored["body"]
    return None


# ---- components ------------------------------------------------------------------------------
def _validate_component(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    props = body.get("properties") or {}
    if not body.get("kind"):
        raise _bad("The request content is missing the required property 'kind'.", "InvalidRequestContent")
    app_type = props.get("Application_Type")
    if str(app_type).lower() not in ("web", "other"):
        raise _bad(f"The value '{app_type}' is not valid for Application_Type. Valid values are: web, other.")
    before = ((old or {}).get("properties") or {}).get("Application_Type")
    if before and str(before).lower() != str(app_type).lower():
        raise ArmError(
            409, "PropertyChangeNotAllowed", "Changing property 'Application_Type' is not allowed."
        )
    workspace = props.get("WorkspaceResourceId")
    if not workspace:
        raise _bad("WorkspaceResourceId is required to create an application with this API version.")
    if sim.get_resource(str(workspace)) is None:
        raise _bad(f"Workspace '{workspace}' was not found.", "WorkspaceNotFound")
    for key in ("InstrumentationKey", "AppId", "ConnectionString"):
        given, had = props.get(key), ((old or {}).get("properties") or {}).get(key)
        if given and given != had:
            raise _bad(f"You cannot specify a different value for {key} in the Put operation.")
    if "DisableLocalAuth" in props and not isinstance(props["DisableLocalAuth"], bool):
        raise _bad("DisableLocalAuth must be true or false.")


def _build_component(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    props = body["properties"]
    old_props = (old or {}).get("properties") or {}
    region = str(body["location"]).replace(" ", "").lower()
    ikey = old_props.get("InstrumentationKey") or str(uuid.uuid4())
    app_id = old_props.get("AppId") or str(uuid.uuid4())
    props["Application_Type"] = str(props["Application_Type"]).lower()
    props.setdefault("Flow_Type", "Bluefield")
    props.setdefault("Request_Source", "rest")
    props.setdefault("IngestionMode", "LogAnalytics")
    props.setdefault("DisableLocalAuth", False)
    props.setdefault("DisableIpMasking", False)
    props.setdefault("SamplingPercentage", 100)
    props.setdefault("RetentionInDays", old_props.get("RetentionInDays", 90))
    for key in ("publicNetworkAccessForIngestion", "publicNetworkAccessForQuery"):
        _choice(props, key, ("Enabled", "Disabled"), old_props.get(key) or "Enabled")
    props.update(
        {
            "AppId": app_id,
            "ApplicationId": body["name"],
            "InstrumentationKey": ikey,
            "ConnectionString": (
                f"InstrumentationKey={ikey};IngestionEndpoint=https://{region}-1.in.applicationinsights.azure.com/;"
                f"LiveEndpoint=https://{region}.livediagnostics.monitor.azure.com/;ApplicationId={app_id}"
            ),
            "CreationDate": old_props.get("CreationDate") or utcnow(),
            "TenantId": TENANT_ID,
            "HockeyAppId": "",
            "HockeyAppToken": "",
        }
    )
    return body


# ---- diagnostic settings -------------------------------------------------------------------------
def _validate_setting(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    scope = sim.get_resource(parsed.parent_id or "")
    if scope is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource '{parsed.parent_id}' was not found.")
    scope_type = scope["type"].lower()
    allowed = CATEGORIES.get(scope_type)
    if allowed is None:
        raise ArmError(
            404,
            "SimulatorRouteNotImplemented",
            f"The pros ARM simulator does not know the diagnostic log categories of {scope['type']}. "
            "This is a gap in the simulator, not an Azure answer.",
        )
    props = body.get("properties") or {}
    destinations = [
        props.get(k)
        for k in (
            "workspaceId",
            "storageAccountId",
            "eventHubAuthorizationRuleId",
            "marketplacePartnerId",
            "serviceBusRuleId",
        )
    ]
    if not any(destinations):
        raise _bad(
            "At least one storage account, event hub, workspace or partner solution must be specified."
        )
    workspace = props.get("workspaceId")
    if workspace and sim.get_resource(str(workspace)) is None:
        raise _bad(
            f"Resource '{workspace}' was not found or you do not have access to it.",
            "LinkedInvalidPropertyId",
        )
    destination = props.get("logAnalyticsDestinationType")
    if destination is not None and str(destination) not in ("Dedicated", "AzureDiagnostics"):
        raise _bad(f"The value '{destination}' is not valid for logAnalyticsDestinationType.")
    for entry in props.get("logs") or []:
        name, group = entry.get("category"), entry.get("categoryGroup")
        if "enabled" not in entry:
            raise _bad("The request content is missing the required property 'logs.enabled'.")
        if bool(name) == bool(group):
            raise _bad("Each log setting needs exactly one of category and categoryGroup.")
        if name and name.lower() not in {c.lower() for c in allowed}:
            raise _bad(f"Category '{name}' is not supported.")
        if group and group not in CATEGORY_GROUPS:
            raise _bad(f"Category group '{group}' is not supported.")
    for entry in props.get("metrics") or []:
        if entry.get("category") and entry["category"] not in METRIC_CATEGORIES:
            raise _bad(f"Category '{entry['category']}' is not supported.")
    siblings = [
        s
        for s in sim.resources_of_type(DIAGNOSTIC_SETTING)
        if s["body"]["id"].lower().startswith(scope["body"]["id"].lower() + "/providers/")
        and s["body"]["id"].lower() != parsed.resource_id.lower()
    ]
    if old is None and len(siblings) >= MAX_SETTINGS_PER_RESOURCE:
        raise _bad(f"Resource can have at most {MAX_SETTINGS_PER_RESOURCE} diagnostic settings.")
    mine = {str(e.get("category") or "").lower() for e in props.get("logs") or [] if e.get("enabled")}
    for other in siblings:
        theirs = other["body"]["properties"]
        if workspace and str(theirs.get("workspaceId") or "").lower() == str(workspace).lower():
            both = mine & {
                str(e.get("category") or "").lower() for e in theirs.get("logs") or [] if e.get("enabled")
            }
            if both:
                raise _bad(
                    f"Data sink '{workspace}' is already used in diagnostic setting "
                    f"'{other['body']['name']}' for category '{sorted(both)[0]}'. Data sinks can't be reused "
                    "in different settings on the same category for the same resource."
                )


def _build_setting(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    props = body["properties"]
    for key in ("logs", "metrics"):
        props[key] = [
            {**e, "retentionPolicy": e.get("retentionPolicy") or {"enabled": False, "days": 0}}
            for e in props.get(key) or []
        ]
    body["type"] = DIAGNOSTIC_SETTING
    return body


def _render_setting(sim: Simulator, body: Body) -> Body:
    body.get("properties", {}).pop("provisioningState", None)
    return body


def log_routes(sim: Simulator, resource_id: str, category: str) -> list[tuple[str, str]]:
    """Where a resource's log category goes: (workspace ARM id, destination type) per setting."""
    out = []
    prefix = resource_id.lower() + "/providers/"
    for stored in sim.resources_of_type(DIAGNOSTIC_SETTING):
        if not stored["body"]["id"].lower().startswith(prefix):
            continue
        props = stored["body"]["properties"]
        enabled = any(
            str(e.get("category") or "").lower() == category.lower() and e.get("enabled")
            for e in props.get("logs") or []
        )
        if enabled and props.get("workspaceId"):
            out.append(
                (
                    str(props["workspaceId"]),
                    str(props.get("logAnalyticsDestinationType") or "AzureDiagnostics"),
                )
            )
    return out


def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            WORKSPACE,
            WORKSPACE_APIS,
            create_mode="async",
            create_status=201,
            update_mode="async",
            delete_mode="async",
            required=("location",),
            name_rule=(WORKSPACE_NAME, WORKSPACE_NAME_MSG),
            validate=_validate_workspace,
            build=_build_workspace,
            on_deleted=_workspace_deleted,
        )
    )
    sim.register_type(
        TypeSpec(
            COMPONENT,
            COMPONENT_APIS,
            create_mode="sync",
            create_status=200,
            required=("location", "properties"),
            validate=_validate_component,
            build=_build_component,
        )
    )
    sim.register_type(
        TypeSpec(
            DIAGNOSTIC_SETTING,
            DIAGNOSTIC_APIS,
            create_mode="sync",
            create_status=200,
            extension=True,
            tracked=False,
            immutable=(),
            validate=_validate_setting,
            build=_build_setting,
            render=_render_setting,
        )
    )
