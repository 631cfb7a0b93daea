"""Azure's side of a reconciliation: the gateways' LLM log, queried in the Log Analytics workspace.

``azure-monitor-query``'s ``LogsQueryClient`` posts the query to
``https://api.loganalytics.io/v1/workspaces/{workspaceId}/query`` with the operator's identity
(token audience ``https://api.loganalytics.io``; the operator needs read access to the workspace,
e.g. "Log Analytics Reader"). The queries group each call's rows by ``CorrelationId`` first, so a
call logged on several rows (a duplicated record, or LLM message chunks) is counted once, and the
number of extra rows is known.

``ApiManagementGatewayLlmLog`` columns used (learn.microsoft.com, Azure Monitor tables reference):
``TimeGenerated`` (when the gateway started processing the request), ``CorrelationId`` (the id the
gateway logs for the request, the usage event's ``id``), ``Region`` (the gateway's), ``ModelName``,
``PromptTokens``, ``CompletionTokens``, ``TotalTokens``, ``IsStreamCompletion``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pros_cli import regions
from pros_cli.errors import ProsError
from pros_cli.reconcile import AzureCall, AzureTally, GroupKey

TABLE = "ApiManagementGatewayLlmLog"


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def _kql_time(when: dt.datetime) -> str:
    return f"datetime({when:%Y-%m-%dT%H:%M:%SZ})"


def _per_call(start: dt.date, end: dt.date, *, by_day: bool) -> str:
    lo, hi = _start(start), _start(end + dt.timedelta(days=1))
    day = ", Day = bin(TimeGenerated, 1d)" if by_day else ""
    return (
        f"{TABLE}\n"
        f"| where TimeGenerated >= {_kql_time(lo)} and TimeGenerated < {_kql_time(hi)}\n"
        "| summarize Rows = count(), RowTokens = sum(TotalTokens), PromptTokens = max(PromptTokens), "
        "CompletionTokens = max(CompletionTokens), TotalTokens = max(TotalTokens), "
        f"StreamedRows = countif(IsStreamCompletion == true) by CorrelationId{day}, Region, ModelName"
    )


def totals_query(start: dt.date, end: dt.date) -> str:
    """Per UTC day, gateway region and model: calls, rows and tokens."""
    return (
        _per_call(start, end, by_day=True) + "\n"
        "| summarize Calls = count(), Rows = sum(Rows), RowTokens = sum(RowTokens), "
        "PromptTokens = sum(PromptTokens), CompletionTokens = sum(CompletionTokens), "
        "TotalTokens = sum(TotalTokens), StreamedCalls = countif(StreamedRows > 0) by Day, Region, ModelName"
    )


def calls_query(day: dt.date) -> str:
    """Every call of one UTC day, by correlation id."""
    return _per_call(day, day, by_day=False)


def _region(value: Any) -> str:
    text = str(value or "")
    return regions.normalize(text) or text.replace(" ", "").lower()


def _int(value: Any) -> int:
    return int(float(value)) if value not in (None, "") else 0


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()


class LogAnalyticsSide:
    """:class:`pros_cli.reconcile.AzureSide` over a ``LogsQueryClient`` and one workspace."""

    def __init__(self, client: Any, workspace_id: str):
        self.client = client
        self.workspace_id = workspace_id

    def _rows(self, query: str, start: dt.date, end: dt.date) -> list[Mapping[str, Any]]:
        from azure.monitor.query import LogsQueryStatus

        result = self.client.query_workspace(
            self.workspace_id, query, timespan=(_start(start), _start(end + dt.timedelta(days=1)))
        )
        if result.status != LogsQueryStatus.SUCCESS:
            error = getattr(result, "partial_error", None)
            raise ProsError(
                f"Azure's log query returned a partial result ({getattr(error, 'message', error)}); "
                "totals from part of the log would be wrong",
                hint="run the reconciliation again, or over fewer days",
            )
        table = result.tables[0] if result.tables else None
        if table is None:
            return []
        return [dict(zip(table.columns, list(row), strict=True)) for row in table.rows]

    def totals(self, start: dt.date, end: dt.date) -> Mapping[GroupKey, AzureTally]:
        out: dict[GroupKey, AzureTally] = {}
        for row in self._rows(totals_query(start, end), start, end):
            key = GroupKey(_day(row["Day"]), _region(row["Region"]), str(row["ModelName"] or ""))
            tally = out.setdefault(key, AzureTally())
            tally.calls += _int(row["Calls"])
            tally.rows += _int(row["Rows"])
            tally.row_tokens += _int(row["RowTokens"])
            tally.prompt_tokens += _int(row["PromptTokens"])
            tally.completion_tokens += _int(row["CompletionTokens"])
            tally.total_tokens += _int(row["TotalTokens"])
            tally.streamed_calls += _int(row["StreamedCalls"])
        return out

    def calls(self, day: dt.date) -> Mapping[str, AzureCall]:
        out: dict[str, AzureCall] = {}
        for row in self._rows(calls_query(day), day, day):
            call_id = str(row["CorrelationId"] or "")
            out[call_id] = AzureCall(
                id=call_id,
                region=_region(row["Region"]),
                model=str(row["ModelName"] or ""),
                total_tokens=_int(row["TotalTokens"]),
                rows=_int(row["Rows"]),
                streamed=_int(row["StreamedRows"]) > 0,
            )
        return out


def logs_client(clients: Any) -> Any:
    """A ``LogsQueryClient`` with the run's credential, transport and retry settings (over the
    simulator when ``PROS_CLOUD=simulator``)."""
    from azure.monitor.query import LogsQueryClient

    kwargs = dict(clients.client_kwargs())
    kwargs.pop("polling_interval", None)
    return LogsQueryClient(clients.credential, **kwargs)
