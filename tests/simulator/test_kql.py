"""The simulator's KQL subset: the queries pros sends give the right answer, and anything outside
the subset is refused by name."""

from __future__ import annotations

import datetime as dt

import pytest

from pros_cli.reconcile_azure import calls_query, totals_query
from pros_cli.simulator import kql
from pros_cli.simulator.providers.loganalytics_query import LLM_COLUMNS, LLM_TABLE

DAY = dt.date(2026, 11, 2)


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


def row(
    call: str,
    when: dt.datetime,
    tokens: int,
    *,
    region: str = "East US",
    model: str = "gpt-4o",
    streamed: bool = False,
) -> dict:
    return {
        "TimeGenerated": when,
        "CorrelationId": call,
        "Region": region,
        "ModelName": model,
        "PromptTokens": tokens - 10,
        "CompletionTokens": 10,
        "TotalTokens": tokens,
        "IsStreamCompletion": streamed,
        "SequenceNumber": 0,
    }


def run(query: str, rows: list[dict]) -> list[dict]:
    result, _types = kql.evaluate(query, {LLM_TABLE: (LLM_COLUMNS, rows)})
    return result


ROWS = [
    row("a", at(DAY, 1), 100),
    row("b", at(DAY, 23), 200, streamed=True),
    row("b", at(DAY, 23), 200, streamed=True),  # a duplicated record
    row("c", at(DAY, 5), 50, region="West US"),
    row("d", at(DAY + dt.timedelta(days=1), 0), 70),  # next day
    row("e", at(DAY - dt.timedelta(days=1), 23), 90),  # before the range
]


def test_the_totals_query_counts_calls_rows_and_tokens_per_day_region_and_model():
    result, types = kql.evaluate(
        totals_query(DAY, DAY + dt.timedelta(days=1)), {LLM_TABLE: (LLM_COLUMNS, ROWS)}
    )
    assert list(types) == [
        "Day",
        "Region",
        "ModelName",
        "Calls",
        "Rows",
        "RowTokens",
        "PromptTokens",
        "CompletionTokens",
        "TotalTokens",
        "StreamedCalls",
    ]
    assert types["Day"] == "datetime" and types["Calls"] == "long" and types["TotalTokens"] == "long"
    by_key = {(r["Day"].date(), r["Region"]): r for r in result}
    assert set(by_key) == {(DAY, "East US"), (DAY, "West US"), (DAY + dt.timedelta(days=1), "East US")}
    east = by_key[(DAY, "East US")]
    assert (east["Calls"], east["Rows"], east["RowTokens"], east["TotalTokens"], east["StreamedCalls"]) == (
        2,
        3,
        500,
        300,
        1,
    )
    assert by_key[(DAY + dt.timedelta(days=1), "East US")]["TotalTokens"] == 70


def test_the_calls_query_lists_each_call_once_with_its_rows():
    result = run(calls_query(DAY), ROWS)
    assert {r["CorrelationId"]: (r["Rows"], r["TotalTokens"], r["StreamedRows"]) for r in result} == {
        "a": (1, 100, 0),
        "b": (2, 200, 2),
        "c": (1, 50, 0),
    }


def test_predicates_nulls_and_bins():
    rows = [row("a", at(DAY, 3), 10), {**row("b", at(DAY, 4), 20), "ModelName": None}]
    assert [
        r["c"]
        for r in run(
            f"{LLM_TABLE} | where ModelName == 'gpt-4o' or TotalTokens > 15 | summarize c = count()", rows
        )
    ] == [2]
    assert (
        run(f"{LLM_TABLE} | where ModelName != 'x' | summarize c = count()", rows)[0]["c"] == 1
    )  # null: not kept
    assert (
        run(f"{LLM_TABLE} | where (TotalTokens >= 10 and TotalTokens < 20) | summarize c = count()", rows)[0][
            "c"
        ]
        == 1
    )
    hours = run(f"{LLM_TABLE} | summarize n = count() by H = bin(TimeGenerated, 1h)", rows)
    assert [r["H"] for r in hours] == [at(DAY, 3), at(DAY, 4)]
    assert run(
        f"{LLM_TABLE} | summarize count(), sum(TotalTokens), max(TotalTokens), min(TotalTokens)", rows
    ) == [{"count_": 2, "sum_TotalTokens": 30, "max_TotalTokens": 20, "min_TotalTokens": 10}]
    assert run(f"{LLM_TABLE} | where TotalTokens > 100 | summarize n = count()", rows) == [{"n": 0}]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        (f"{LLM_TABLE} | extend X = 1", "KQL operator 'extend'"),
        (f"{LLM_TABLE} | project CorrelationId", "KQL operator 'project'"),
        (f"{LLM_TABLE} | take 10", "KQL operator 'take'"),
        (f"{LLM_TABLE} | summarize dcount(CorrelationId)", "aggregation function 'dcount()'"),
        (f"{LLM_TABLE} | where isnotempty(ModelName)", "function 'isnotempty()'"),
        (f"{LLM_TABLE} | summarize count() by tostring(Region)", "function 'tostring()'"),
    ],
)
def test_anything_outside_the_subset_is_refused_by_name(query, named):
    with pytest.raises(kql.Unsupported, match=named.replace("(", r"\(").replace(")", r"\)")):
        run(query, ROWS)


@pytest.mark.parametrize(
    ("query", "kind", "text"),
    [
        ("Nothing | summarize count()", "SemanticError", "table or column expression named 'Nothing'"),
        (f"{LLM_TABLE} | where Tokens > 1", "SemanticError", "named 'Tokens'"),
        (f"{LLM_TABLE} | where TotalTokens >", "SyntaxError", "expected"),
        (f"{LLM_TABLE} | where TimeGenerated > datetime(yesterday)", "SyntaxError", "datetime literal"),
        (f"{LLM_TABLE} | where Region == 1", "SemanticError", "Cannot compare"),
    ],
)
def test_queries_azure_would_refuse(query, kind, text):
    with pytest.raises(kql.KqlError) as exc:
        run(query, [row("a", at(DAY, 1), 10)])
    assert exc.value.kind == kind and text in exc.value.message
