"""The Log Analytics query API (data plane): ``POST https://api.loganalytics.io/v1/workspaces/{id}/query``.

This is what azure-monitor-query's ``LogsQueryClient.query_workspace`` calls (endpoint
``https://api.loganalytics.io``, api version path ``v1``, operation ``/workspaces/{workspaceId}/query``,
body ``{"query", "timespan", "workspaces"}``). The answer has the shape of the v1 examples in
azure-rest-api-specs (OperationalInsights data-plane stable/v1, oms-post-example.json):
``{"tables": [{"name": "PrimaryResult", "columns": [{"name", "type"}], "rows": [[...]]}]}``; numbers
are JSON numbers, as the live service sends them. The ``timespan`` applies on top of the query.

The simulator holds the one table pros queries, ``ApiManagementGatewayLlmLog`` (columns from the
Azure Monitor tables reference), filled by tests through :func:`record_rows`
(``sim.record_llm_log``). Rows are accepted only where Azure would have written them: a gateway
whose diagnostic setting sends ``GatewayLlmLogs`` to this workspace in resource-specific tables
(``Dedicated``; otherwise they would land in ``AzureDiagnostics``), with LLM logs enabled in its
``azuremonitor`` diagnostic. The query is evaluated by :mod:`pros_cli.simulator.kql`; anything
outside its subset gets 501 ``SimulatorQueryNotImplemented`` naming what is missing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pros_cli.simulator import kql
from pros_cli.simulator.core import ArmError, SimResponse
from pros_cli.simulator.providers.apim_diagnostics import llm_logging
from pros_cli.simulator.providers.monitoring import log_routes, workspace_by_customer_id

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

LLM_TABLE = "ApiManagementGatewayLlmLog"
LLM_COLUMNS: dict[str, str] = {
    "TenantId": "string",
    "TimeGenerated": "datetime",
    "OperationName": "string",
    "ApiVersion": "string",
    "CorrelationId": "string",
    "DeploymentName": "string",
    "IsStreamCompletion": "bool",
    "ModelName": "string",
    "PromptTokens": "int",
    "CompletionTokens": "int",
    "TotalTokens": "int",
    "Region": "string",
    "RequestId": "string",
    "RequestMessages": "dynamic",
    "ResponseMessages": "dynamic",
    "SequenceNumber": "int",
    "SourceSystem": "string",
    "Type": "string",
    "_ResourceId": "string",
    "_SubscriptionId": "string",
}
QUERY_PATH = r"api\.loganalytics\.io/v1/workspaces/([^/]+)/query"


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_rows(sim: Simulator, workspace_id: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Add rows to the workspace's LLM log as the gateway named in each row's ``_ResourceId``
    would; ValueError when Azure would not have logged them (and why)."""
    with sim.transaction():
        workspace = workspace_by_customer_id(sim, workspace_id)
        if workspace is None:
            raise ValueError(f"no Log Analytics workspace has the id {workspace_id}")
        stored = []
        for given in rows:
            unknown = sorted(set(given) - set(LLM_COLUMNS))
            if unknown:
                raise ValueError(f"{LLM_TABLE} has no column {', '.join(unknown)}")
            gateway = str(given.get("_ResourceId") or "")
            if sim.get_resource(gateway) is None:
                raise ValueError(f"row names no existing gateway in _ResourceId ({gateway!r})")
            routes = log_routes(sim, gateway, "GatewayLlmLogs")
            if (workspace["id"].lower(), "Dedicated") not in [(w.lower(), d) for w, d in routes]:
                raise ValueError(
                    f"Azure would not write these rows to {LLM_TABLE} of {workspace['name']}: no diagnostic "
                    f"setting of {gateway} sends GatewayLlmLogs there into resource-specific tables"
                )
            enabled, _messages = llm_logging(sim, gateway)
            if not enabled:
                raise ValueError(
                    f"Azure would not log LLM calls of {gateway}: its azuremonitor diagnostic "
                    "does not enable largeLanguageModel logs"
                )
            when = kql.parse_datetime(str(given["TimeGenerated"]))
            row = {
                "TenantId": workspace["properties"]["customerId"],
                "OperationName": "chat.completions",
                "IsStreamCompletion": False,
                "SequenceNumber": 0,
                "SourceSystem": "Azure",
                "Type": LLM_TABLE,
                "RequestId": str(uuid.uuid4()),
                "_SubscriptionId": gateway.split("/")[2],
                **given,
                "TimeGenerated": _iso(when),
            }
            stored.append(row)
        sim.db.setdefault("llm_logs", {}).setdefault(workspace_id.lower(), []).extend(stored)
    return len(stored)


def _timespan(text: str | None) -> tuple[dt.datetime, dt.datetime] | None:
    if not text:
        return None
    start, sep, end = str(text).partition("/")
    if not sep or end.upper().startswith("P") or start.upper().startswith("P"):
        raise kql.Unsupported(f"the simulator takes a timespan as start/end only, not {text!r}")
    return kql.parse_datetime(start), kql.parse_datetime(end)


def _bad_query(error: kql.KqlError) -> SimResponse:
    return SimResponse(
        400,
        {
            "error": {
                "message": "The request had some invalid properties",
                "code": "BadArgumentError",
                "correlationId": str(uuid.uuid4()),
                "innererror": {"code": error.kind, "message": error.message},
            }
        },
    )


def _value(value: Any, kind: str) -> Any:
    if kind == "datetime" and isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def query(sim: Simulator, req: SimRequest, workspace_id: str) -> SimResponse:
    body = req.body if isinstance(req.body, dict) else {}
    if not isinstance(body.get("query"), str) or not body["query"].strip():
        return SimResponse(400, {"error": {"code": "BadArgumentError", "message": "The query is missing."}})
    if body.get("workspaces"):
        return SimResponse(
            501,
            {
                "error": {
                    "code": "SimulatorQueryNotImplemented",
                    "message": "The pros simulator does not query several workspaces.",
                }
            },
        )
    if workspace_by_customer_id(sim, workspace_id) is None:
        raise ArmError(404, "WorkspaceNotFoundError", f"Workspace '{workspace_id}' could not be found.")
    try:
        window = _timespan(body.get("timespan"))
        rows = []
        for stored in sim.db.get("llm_logs", {}).get(workspace_id.lower(), []):
            row = dict(stored)
            row["TimeGenerated"] = kql.parse_datetime(row["TimeGenerated"])
            if window is None or window[0] <= row["TimeGenerated"] < window[1]:
                rows.append(row)
        result, columns = kql.evaluate(body["query"], {LLM_TABLE: (LLM_COLUMNS, rows)})
    except kql.KqlError as exc:
        return _bad_query(exc)
    except kql.Unsupported as exc:
        return SimResponse(
            501,
            {
                "error": {
                    "code": "SimulatorQueryNotImplemented",
                    "message": f"{exc}. This is a gap in the simulator, not an Azure answer.",
                }
            },
        )
    names = list(columns)
    return SimResponse(
        200,
        {
            "tables": [
                {
                    "name": "PrimaryResult",
                    "columns": [{"name": n, "type": columns[n]} for n in names],
                    "rows": [[_value(r.get(n), columns[n]) for n in names] for r in result],
                }
            ]
        },
    )


def register(sim: Simulator) -> None:
    sim.route("POST", QUERY_PATH)(query)
