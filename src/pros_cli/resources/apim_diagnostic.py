"""What API Management writes into its Azure Monitor logs: the service-wide ``azuremonitor``
diagnostic (``Microsoft.ApiManagement/service/diagnostics/azuremonitor``).

A diagnostic setting on the service decides *where* resource logs go; this entity decides *what*
the gateway puts in them, for every API (an API-level ``apis/{api}/diagnostics/azuremonitor``
would override it; pros creates none). pros manages it so that:

* LLM logs are on (``largeLanguageModel.logs: enabled``): token counts, model and correlation id
  of every call in ``ApiManagementGatewayLlmLog``;
* no prompt or completion is logged: ``largeLanguageModel.requests`` / ``responses`` (the "Log LLM
  messages" switch, whose only ``messages`` value is ``all``) are left out;
* no request or response body and no header is logged (``frontend``/``backend`` body bytes 0):
  bodies would carry prompts, and logging a response body makes the gateway buffer it, which
  breaks streaming;
* every request is logged (fixed sampling at 100 %), or the gateway's own count would not add up
  against the ledger.

The portal creates this entity with defaults that log no bodies (learn.microsoft.com, "Monitor
API Management", Modify API logging settings), but nothing stops an operator from enabling body
or message logging there later; managing it makes that drift visible and puts it back.
``largeLanguageModel`` exists from api-version 2024-06-01-preview (templates change log for
service/apis/diagnostics); azure-mgmt-apimanagement 5.0.0 stops at 2024-05-01 and would drop the
field, so the entity goes through the generic resources API at a preview version.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, az_rest
from pros_cli.resources.base import FieldDiff, Resource, get_path
from pros_cli.spec import Spec

DIAGNOSTIC_API = "2024-10-01-preview"
NAME = "azuremonitor"
_NO_AZ = "az apim has no diagnostics command (and no largeLanguageModel field); the same PUT through az rest"
_PIPELINE = ("frontend.request", "frontend.response", "backend.request", "backend.response")


class ApimMonitorDiagnostic(Resource):
    """The ``azuremonitor`` diagnostic of one regional API Management service."""

    arm_type = "Microsoft.ApiManagement/service/diagnostics"
    client_kind = "resource"
    api_version = DIAGNOSTIC_API
    label = "API Management log settings"
    tagged = False
    immutable_fields = ()
    deleted_with_parent = True  # an entity inside the service
    typical_seconds = 3.0

    def __init__(self, spec: Spec, *, key: str, apim: Resource):
        super().__init__(
            spec, key=key, name=NAME, region=apim.region, depends_on=(apim.key,), parent=apim.key
        )
        self.apim = apim

    def arm_id(self) -> str:
        return f"{self.apim.arm_id()}/diagnostics/{self.name}"

    def describe(self) -> str:
        return f"{self.label} of {self.apim.describe()}"

    def logger_id(self) -> str:
        # The service's built-in Azure Monitor logger, which every diagnostic setting feeds.
        return f"{self.apim.arm_id()}/loggers/azuremonitor"

    def desired(self) -> dict[str, Any]:
        quiet = {"headers": [], "body": {"bytes": 0}}
        return {
            "properties": {
                "loggerId": self.logger_id(),
                "alwaysLog": "allErrors",
                "logClientIp": False,
                "verbosity": "information",
                "sampling": {"samplingType": "fixed", "percentage": 100},
                "frontend": {"request": dict(quiet), "response": dict(quiet)},
                "backend": {"request": dict(quiet), "response": dict(quiet)},
                "largeLanguageModel": {"logs": "enabled"},
            }
        }

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        """What would log more (or less) than pros wants, each with its path."""
        props = current.get("properties") or {}
        out: list[FieldDiff] = []
        logger = str(props.get("loggerId") or "")
        if not logger.lower().endswith("/loggers/azuremonitor"):
            out.append(FieldDiff("properties.loggerId", logger or None, self.logger_id()))
        for path in _PIPELINE:
            section = get_path(props, path) or {}
            size = int(get_path(section, "body.bytes") or 0)
            if size:
                out.append(FieldDiff(f"properties.{path}.body.bytes", size, 0))
            if section.get("headers"):
                out.append(FieldDiff(f"properties.{path}.headers", section["headers"], []))
        sampling = props.get("sampling") or {}
        percentage = sampling.get("percentage")
        if percentage is not None and float(percentage) != 100:
            out.append(FieldDiff("properties.sampling.percentage", sampling.get("percentage"), 100))
        if props.get("logClientIp"):
            out.append(FieldDiff("properties.logClientIp", True, False))
        llm = props.get("largeLanguageModel") or {}
        if str(llm.get("logs") or "").lower() != "enabled":
            out.append(FieldDiff("properties.largeLanguageModel.logs", llm.get("logs"), "enabled"))
        for part in ("requests", "responses"):
            if get_path(llm, f"{part}.messages"):
                out.append(FieldDiff(f"properties.largeLanguageModel.{part}", llm[part], None))
        return out

    # ---- calls ------------------------------------------------------------------------------
    def _resources(self, clients: Any) -> Any:
        return self.client(clients).resources

    def _id(self) -> str:
        # The SDK writes "/{resourceId}" without escaping it.
        return self.arm_id().lstrip("/")

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self._resources(clients).get_by_id, self._id(), api_version=self.api_version)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return self._resources(clients).begin_create_or_update_by_id(
            self._id(),
            self.desired(),
            api_version=self.api_version,
            cls=raw_json,
            continuation_token=continuation_token,
        )

    def delete(self, clients: Any) -> Any:
        return self._resources(clients).begin_delete_by_id(self._id(), api_version=self.api_version)

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"llm_logs": get_path(current, "properties.largeLanguageModel.logs")}

    # ---- az ---------------------------------------------------------------------------------
    def az_read(self) -> AzCommand:
        return az_rest("GET", self.arm_id(), self.api_version)

    def az_create(self) -> list[AzCommand]:
        return [
            dataclasses.replace(az_rest("put", self.arm_id(), self.api_version, self.desired()), note=_NO_AZ)
        ]

    def az_delete(self) -> list[AzCommand]:
        return [az_rest("delete", self.arm_id(), self.api_version)]
