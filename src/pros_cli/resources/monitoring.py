"""Monitoring: the Log Analytics workspace, the workspace-based Application Insights component,
and diagnostic settings that send a resource's logs to the workspace.

* The workspace (``Microsoft.OperationalInsights/workspaces``) holds everything: the gateways'
  resource logs (``ApiManagementGatewayLogs``, ``ApiManagementGatewayLlmLog``) and, through the
  component, the Function Apps' telemetry. Shared keys are off (``features.disableLocalAuth``);
  retention is the ``log_retention_days`` setting. Deleting it is soft: the name stays reserved
  for 14 days and creating it again recovers it (Workspaces.json, Workspaces_Delete).
* The component (``Microsoft.Insights/components``, api 2020-02-02, where ``WorkspaceResourceId``
  is required) takes telemetry only from Microsoft Entra identities (``DisableLocalAuth``): the
  Function Apps send with their managed identity and the "Monitoring Metrics Publisher" role.
* A diagnostic setting (``Microsoft.Insights/diagnosticSettings``) is an extension resource on the
  resource whose logs it routes; pros sends the chosen categories to resource-specific tables
  (``logAnalyticsDestinationType: Dedicated``).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, az, az_rest, tags_args
from pros_cli.resources.base import FieldDiff, Resource, get_path, same
from pros_cli.spec import Spec

WORKSPACE_API = "2025-07-01"  # azure-mgmt-loganalytics 14.0.0
COMPONENT_API = "2020-02-02"  # azure-mgmt-applicationinsights 4.1.0, operation group "components"
DIAGNOSTIC_SETTINGS_API = "2021-05-01-preview"  # azure-mgmt-monitor 6.x, "diagnostic_settings"
WORKSPACE_SKU = "PerGB2018"
# az monitor app-insights is an az extension (application-insights), not core az.
_NO_AZ_COMPONENT = "az monitor app-insights is an az extension; the same PUT through az rest"
_NO_AZ_FEATURES = (
    "az monitor log-analytics workspace create has no flag for features.disableLocalAuth; the same PUT "
    "through az rest"
)


class LogAnalyticsWorkspace(Resource):
    """The deployment's Log Analytics workspace, in the shared region."""

    arm_type = "Microsoft.OperationalInsights/workspaces"
    client_kind = "loganalytics"
    api_version = WORKSPACE_API
    label = "Log Analytics workspace"
    typical_seconds = 30.0
    managed_fields = (
        "location",
        "properties.sku.name",
        "properties.retentionInDays",
        "properties.features.disableLocalAuth",
        "properties.features.enableLogAccessUsingOnlyResourcePermissions",
        "properties.publicNetworkAccessForIngestion",
        "properties.publicNetworkAccessForQuery",
    )
    immutable_fields = ("location",)

    def __init__(self, spec: Spec, *, key: str, depends_on: tuple[str, ...] = (), parent: str | None = None):
        super().__init__(
            spec,
            key=key,
            name=spec.names.log_workspace(),
            region=spec.shared_region,
            depends_on=depends_on,
            parent=parent,
        )

    def desired(self) -> dict[str, Any]:
        return {
            "location": self.region,
            "tags": self.desired_tags(),
            "properties": {
                "sku": {"name": WORKSPACE_SKU},
                "retentionInDays": self.spec.log_retention_days,
                "features": {"enableLogAccessUsingOnlyResourcePermissions": True, "disableLocalAuth": True},
                "publicNetworkAccessForIngestion": "Enabled",
                "publicNetworkAccessForQuery": "Enabled",
            },
        }

    def _workspaces(self, clients: Any) -> Any:
        return self.client(clients).workspaces

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self._workspaces(clients).get, self.resource_group, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return self._put(clients, self.desired(), continuation_token)

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self._put(clients, {**self.desired(), "tags": self.merged_tags(current)})

    def _put(self, clients: Any, body: dict[str, Any], token: str | None = None) -> Any:
        return self._workspaces(clients).begin_create_or_update(
            self.resource_group, self.name, body, cls=raw_json, continuation_token=token
        )

    def delete(self, clients: Any) -> Any:
        # Soft delete: recoverable for 14 days by creating it again with the same name.
        return self._workspaces(clients).begin_delete(self.resource_group, self.name)

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        # customerId is the workspace id queries go to (api.loganalytics.io/v1/workspaces/{id}).
        return {"customer_id": get_path(current, "properties.customerId")}

    # ---- az ---------------------------------------------------------------------------------
    def _az(self, verb: str, *args: str, read_only: bool = False) -> AzCommand:
        return az(
            "monitor",
            "log-analytics",
            "workspace",
            verb,
            "--resource-group",
            self.resource_group,
            "--workspace-name",
            self.name,
            *args,
            read_only=read_only,
        )

    def az_read(self) -> AzCommand:
        return self._az("show", read_only=True)

    def az_create(self) -> list[AzCommand]:
        return [
            dataclasses.replace(
                az_rest("put", self.arm_id(), self.api_version, self.desired()), note=_NO_AZ_FEATURES
            )
        ]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        fields = [d for d in diffs if not d.path.startswith("tags.")]
        if any(d.path != "properties.retentionInDays" for d in fields):
            body = {**self.desired(), "tags": self.merged_tags(current)}
            return [
                dataclasses.replace(
                    az_rest("put", self.arm_id(), self.api_version, body), note=_NO_AZ_FEATURES
                )
            ]
        args = ["--retention-time", str(self.spec.log_retention_days)] if fields else []
        if len(fields) < len(diffs):
            args += tags_args(self.merged_tags(current))
        return [self._az("update", *args)]

    def az_delete(self) -> list[AzCommand]:
        return [self._az("delete", "--yes")]


class ApplicationInsights(Resource):
    """A workspace-based Application Insights component that accepts Entra-authenticated
    telemetry only. Its connection string (instrumentation key and ingestion endpoint) is not a
    credential (learn.microsoft.com, "Connection strings in Application Insights": ikeys "aren't
    considered secrets"), and with local authentication disabled it cannot be used to send; pros
    still keeps it out of its output, echo and state (see :func:`telemetry_settings`)."""

    arm_type = "Microsoft.Insights/components"
    client_kind = "appinsights"
    api_version = COMPONENT_API
    label = "Application Insights component"
    typical_seconds = 10.0
    managed_fields = (
        "location",
        "kind",
        "properties.Application_Type",
        "properties.WorkspaceResourceId",
        "properties.IngestionMode",
        "properties.DisableLocalAuth",
        "properties.publicNetworkAccessForIngestion",
        "properties.publicNetworkAccessForQuery",
    )
    # components_API.json: Application_Type is x-ms-mutability read/create; location is create-only.
    immutable_fields = ("location", "properties.Application_Type")

    def __init__(
        self,
        spec: Spec,
        *,
        key: str,
        workspace: LogAnalyticsWorkspace,
        depends_on: tuple[str, ...] = (),
        parent: str | None = None,
    ):
        super().__init__(
            spec,
            key=key,
            name=spec.names.app_insights(),
            region=spec.shared_region,
            depends_on=tuple(dict.fromkeys((*depends_on, workspace.key))),
            parent=parent,
        )
        self.workspace = workspace

    def desired(self) -> dict[str, Any]:
        return {
            "location": self.region,
            "kind": "web",
            "tags": self.desired_tags(),
            "properties": {
                "Application_Type": "web",
                "Flow_Type": "Bluefield",
                "Request_Source": "rest",
                "WorkspaceResourceId": self.workspace.arm_id(),
                "IngestionMode": "LogAnalytics",
                "DisableLocalAuth": True,
                "publicNetworkAccessForIngestion": "Enabled",
                "publicNetworkAccessForQuery": "Enabled",
            },
        }

    def _components(self, clients: Any) -> Any:
        return self.client(clients).components

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self._components(clients).get, self.resource_group, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        # Components_CreateOrUpdate is a plain PUT answered 200 (no long-running operation).
        return self._components(clients).create_or_update(
            self.resource_group, self.name, self.desired(), cls=raw_json
        )

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        body = {**self.desired(), "tags": self.merged_tags(current)}
        return self._components(clients).create_or_update(self.resource_group, self.name, body, cls=raw_json)

    def delete(self, clients: Any) -> Any:
        self._components(clients).delete(self.resource_group, self.name)
        return None

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"app_id": get_path(current, "properties.AppId")}

    def connection_string(self, clients: Any) -> str | None:
        """The component's connection string, fetched when an app setting needs it (None: the
        component does not exist yet)."""
        body = self.read(clients)
        value = get_path(body, "properties.ConnectionString")
        return str(value) if value else None

    def connection_string_command(self) -> str:
        """The core az command that prints it (``az monitor app-insights`` is an extension)."""
        return az(
            "resource",
            "show",
            "--ids",
            self.arm_id(),
            "--api-version",  # the version pros reads with; without it az asks the provider for one
            self.api_version,
            "--query",
            "properties.ConnectionString",
            "--output",
            "tsv",
        ).render()

    # ---- az ---------------------------------------------------------------------------------
    def _put(self, body: dict[str, Any]) -> AzCommand:
        return dataclasses.replace(
            az_rest("put", self.arm_id(), self.api_version, body), note=_NO_AZ_COMPONENT
        )

    def az_create(self) -> list[AzCommand]:
        return [self._put(self.desired())]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        return [self._put({**self.desired(), "tags": self.merged_tags(current)})]

    def az_delete(self) -> list[AzCommand]:
        return [az("resource", "delete", "--ids", self.arm_id(), "--api-version", self.api_version)]


class DiagnosticSetting(Resource):
    """Sends ``categories`` of ``scope``'s resource logs to ``workspace``, into resource-specific
    tables. No metrics and no other destination."""

    arm_type = "Microsoft.Insights/diagnosticSettings"
    client_kind = "monitor"
    api_version = DIAGNOSTIC_SETTINGS_API
    label = "diagnostic setting"
    tagged = False  # an extension resource without tags
    immutable_fields = ()
    typical_seconds = 5.0
    DESTINATION = "Dedicated"

    def __init__(
        self,
        spec: Spec,
        *,
        key: str,
        scope: Resource,
        workspace: LogAnalyticsWorkspace,
        categories: tuple[str, ...],
        name: str = "pros-logs",
    ):
        super().__init__(
            spec,
            key=key,
            name=name,
            region=scope.region,
            depends_on=(scope.key, workspace.key),
            parent=scope.key,
        )
        self.scope = scope
        self.workspace = workspace
        self.categories = categories

    def arm_id(self) -> str:
        return f"{self.scope.arm_id()}/providers/{self.arm_type}/{self.name}"

    def describe(self) -> str:
        return f"{self.label} {self.name} of {self.scope.describe()}"

    def _logs(self) -> list[dict[str, Any]]:
        return [{"category": c, "enabled": True} for c in self.categories]

    def desired(self) -> dict[str, Any]:
        return {
            "properties": {
                "workspaceId": self.workspace.arm_id(),
                "logAnalyticsDestinationType": self.DESTINATION,
                "logs": self._logs(),
                "metrics": [],
            }
        }

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        """By destination and by the set of enabled categories (ARM echoes each log entry with a
        retention policy, in its own order)."""
        props = current.get("properties") or {}
        out: list[FieldDiff] = []
        want = self.workspace.arm_id()
        if not same(props.get("workspaceId") or "", want):
            out.append(FieldDiff("properties.workspaceId", props.get("workspaceId"), want))
        if not same(props.get("logAnalyticsDestinationType") or "", self.DESTINATION):
            out.append(
                FieldDiff(
                    "properties.logAnalyticsDestinationType",
                    props.get("logAnalyticsDestinationType"),
                    self.DESTINATION,
                )
            )
        enabled = sorted(
            str(entry.get("category") or entry.get("categoryGroup"))
            for entry in props.get("logs") or []
            if entry.get("enabled")
        )
        if sorted(c.lower() for c in enabled) != sorted(c.lower() for c in self.categories):
            out.append(FieldDiff("properties.logs", enabled, sorted(self.categories)))
        if any(entry.get("enabled") for entry in props.get("metrics") or []):
            out.append(FieldDiff("properties.metrics", "enabled", []))
        for key in ("storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId"):
            if props.get(key):
                out.append(FieldDiff(f"properties.{key}", props[key], None))
        return out

    # ---- calls ------------------------------------------------------------------------------
    def _uri(self) -> str:
        # The SDK puts resourceUri into the path unescaped after a "/".
        return self.scope.arm_id().lstrip("/")

    def _settings(self, clients: Any) -> Any:
        return self.client(clients).diagnostic_settings

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self._settings(clients).get, self._uri(), self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return self._settings(clients).create_or_update(self._uri(), self.name, self.desired(), cls=raw_json)

    def delete(self, clients: Any) -> Any:
        self._settings(clients).delete(self._uri(), self.name)
        return None

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "categories": list(self.categories),
            "workspace_id": get_path(current, "properties.workspaceId"),
        }

    # ---- az ---------------------------------------------------------------------------------
    def _where(self) -> list[str]:
        return ["--name", self.name, "--resource", self.scope.arm_id()]

    def az_read(self) -> AzCommand:
        return az("monitor", "diagnostic-settings", "show", *self._where(), read_only=True)

    def az_create(self) -> list[AzCommand]:
        logs = json.dumps(self._logs(), separators=(",", ":"))
        return [
            az(
                "monitor",
                "diagnostic-settings",
                "create",
                *self._where(),
                "--workspace",
                self.workspace.arm_id(),
                "--export-to-resource-specific",
                "true",
                "--logs",
                logs,
            )
        ]

    def az_delete(self) -> list[AzCommand]:
        return [az("monitor", "diagnostic-settings", "delete", *self._where())]
