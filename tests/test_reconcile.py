"""The reconciliation logic on its own. The two sides here are in-memory fakes holding test data
(the end-to-end tests in tests/reconcile use the real ledger in Redis and the simulator's log)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pytest

from pros_cli.errors import UsageError
from pros_cli.reconcile import (
    AzureCall,
    AzureTally,
    DeadLetter,
    GroupKey,
    LedgerCall,
    LedgerTally,
    Tolerance,
    in_flight,
    parse_tolerance,
    reconcile,
)

DAY = dt.date(2026, 11, 2)
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
EAST = GroupKey(DAY, "eastus", "gpt-4o")
WEST = GroupKey(DAY, "westus", "gpt-4o")


class FakeLedger:
    """Test data standing in for the ledger: totals, dead letters and calls as given."""

    def __init__(
        self,
        totals: Mapping[GroupKey, LedgerTally],
        letters: Sequence[DeadLetter] = (),
        calls: Mapping[str, LedgerCall] | None = None,
    ):
        self._totals, self._letters, self._calls = totals, letters, calls or {}

    def totals(self, start: dt.date, end: dt.date) -> Mapping[GroupKey, LedgerTally]:
        return {k: v for k, v in self._totals.items() if start <= k.day <= end}

    def dead_letters(self, start: dt.date, end: dt.date) -> Sequence[DeadLetter]:
        return [d for d in self._letters if start <= d.day <= end]

    def calls(self, day: dt.date) -> Mapping[str, LedgerCall]:
        return self._calls


class FakeAzure:
    """Test data standing in for Azure's LLM log."""

    def __init__(self, totals: Mapping[GroupKey, AzureTally], calls: Mapping[str, AzureCall] | None = None):
        self._totals, self._calls = totals, calls or {}
        self.calls_asked: list[dt.date] = []

    def totals(self, start: dt.date, end: dt.date) -> Mapping[GroupKey, AzureTally]:
        return {k: v for k, v in self._totals.items() if start <= k.day <= end}

    def calls(self, day: dt.date) -> Mapping[str, AzureCall]:
        self.calls_asked.append(day)
        return self._calls


def ledger(requests: int, tokens: int, **kw: int) -> LedgerTally:
    return LedgerTally(requests=requests, total_tokens=tokens, **kw)


def azure(
    calls: int, tokens: int, rows: int | None = None, row_tokens: int | None = None, **kw: int
) -> AzureTally:
    return AzureTally(
        calls=calls,
        rows=rows if rows is not None else calls,
        total_tokens=tokens,
        row_tokens=row_tokens if row_tokens is not None else tokens,
        **kw,
    )


def run(led: FakeLedger, az: FakeAzure, tolerance: str = "0", **kw: object):
    return reconcile(led, az, DAY, DAY, tolerance=parse_tolerance(tolerance), now=NOW, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", Tolerance(tokens=0)),
        ("1500", Tolerance(tokens=1500)),
        (" 2.5% ", Tolerance(percent=2.5)),
        ("100%", Tolerance(percent=100.0)),
    ],
)
def test_tolerance_forms(text, expected):
    assert parse_tolerance(text) == expected


@pytest.mark.parametrize("text", ["-1", "1.5", "abc", "101%", "5 tokens", ""])
def test_bad_tolerances_are_usage_errors(text):
    with pytest.raises(UsageError):
        parse_tolerance(text)


def test_percent_tolerance_scales_with_azures_count():
    assert parse_tolerance("1%").allowed(20_000) == 200
    assert parse_tolerance("300").allowed(20_000) == 300


def test_in_flight_is_the_day_that_overlaps_the_last_hour():
    just_after_midnight = dt.datetime(2026, 11, 3, 0, 30, tzinfo=dt.UTC)
    assert in_flight(dt.date(2026, 11, 3), just_after_midnight)
    assert in_flight(dt.date(2026, 11, 2), just_after_midnight)  # 23:30-24:00 is within the hour
    assert not in_flight(dt.date(2026, 11, 2), dt.datetime(2026, 11, 3, 1, 0, 1, tzinfo=dt.UTC))
    assert not in_flight(dt.date(2026, 11, 4), just_after_midnight)  # the future is not in flight


def test_matching_groups_are_no_difference_and_calls_are_not_fetched():
    az = FakeAzure({EAST: azure(3, 450)})
    result = run(FakeLedger({EAST: ledger(3, 450)}), az, with_calls=True)
    assert [g.verdict for g in result.groups] == ["match"]
    assert result.differences == [] and not result.exceeds
    assert az.calls_asked == []


def test_calls_in_the_ledger_but_not_in_azure():
    result = run(FakeLedger({EAST: ledger(3, 450)}), FakeAzure({EAST: azure(2, 300)}))
    (group,) = result.groups
    assert [c.code for c in group.causes] == ["missing-in-azure"]
    assert group.verdict == "exceeds"


def test_a_group_only_one_side_has():
    result = run(FakeLedger({}), FakeAzure({WEST: azure(2, 300)}))
    (group,) = result.groups
    assert (group.request_difference, group.token_difference) == (-2, -300)
    assert [c.code for c in group.causes] == ["missing-in-ledger"]


def test_same_calls_other_tokens_without_estimates():
    result = run(FakeLedger({EAST: ledger(3, 450)}), FakeAzure({EAST: azure(3, 460)}), tolerance="10")
    (group,) = result.groups
    assert [c.code for c in group.causes] == ["tokens-differ"]
    assert group.verdict == "within tolerance"


def test_dead_letters_of_another_region_or_day_are_not_the_cause():
    letters = [
        DeadLetter("x", "bad", DAY, region="westus", model="gpt-4o"),
        DeadLetter("y", "bad", DAY - dt.timedelta(days=1), region="eastus", model="gpt-4o"),
    ]
    result = run(FakeLedger({EAST: ledger(2, 300)}, letters), FakeAzure({EAST: azure(3, 450)}))
    assert [c.code for c in result.groups[0].causes] == ["missing-in-ledger"]
    unknown_region = [DeadLetter(None, "not JSON", DAY)]
    result = run(FakeLedger({EAST: ledger(2, 300)}, unknown_region), FakeAzure({EAST: azure(3, 450)}))
    assert [c.code for c in result.groups[0].causes] == ["dead-lettered"]


def test_failover_differences_that_do_not_cancel_are_not_explained_by_failover():
    led = FakeLedger({EAST: ledger(1, 150), WEST: ledger(1, 150, failovers=1)})
    az = FakeAzure({EAST: azure(3, 450)})  # one more call than the ledger has at all
    result = run(led, az)
    assert {g.key.region: g.verdict for g in result.groups} == {"eastus": "exceeds", "westus": "exceeds"}
    assert all("failover" not in [c.code for c in g.causes] for g in result.groups)


def test_without_recorded_failovers_regions_are_not_netted():
    led = FakeLedger({EAST: ledger(1, 150), WEST: ledger(1, 150)})
    result = run(led, FakeAzure({EAST: azure(2, 300)}))
    assert {g.verdict for g in result.groups} == {"exceeds"}


def test_calls_name_each_side_and_each_kind_of_difference():
    led = FakeLedger(
        {EAST: ledger(3, 600, estimated_requests=1, estimated_tokens=200)},
        [DeadLetter("dead", "schema: data.status is missing", DAY, "eastus", "gpt-4o")],
        {
            "both": LedgerCall("both", "eastus", "gpt-4o", 200),
            "est": LedgerCall("est", "eastus", "gpt-4o", 200, estimated=True),
            "mine": LedgerCall("mine", "eastus", "gpt-4o", 200),
        },
    )
    az = FakeAzure(
        {EAST: azure(4, 810, rows=5, row_tokens=1010)},
        {
            "both": AzureCall("both", "eastus", "gpt-4o", 200, rows=2),
            "est": AzureCall("est", "eastus", "gpt-4o", 210, streamed=True),
            "dead": AzureCall("dead", "eastus", "gpt-4o", 200),
            "lost": AzureCall("lost", "eastus", "gpt-4o", 200),
        },
    )
    result = run(led, az, with_calls=True)
    (day,) = result.calls
    assert day.azure_only == [
        ("dead", "dead-lettered: schema: data.status is missing"),
        ("lost", "no usage event reached the ledger"),
    ]
    assert day.ledger_only == [("mine", "not in Azure's LLM log")]
    assert day.duplicated == [("both", 2)]
    assert day.tokens == [("est", 200, 210, "estimated by API Management")]
    codes = [c.code for c in result.groups[0].causes]
    assert codes == ["duplicate-rows", "dead-lettered"]
    as_json = result.to_json()
    assert as_json["calls"][0]["duplicated"] == [{"request_id": "both", "rows": 2}]
    assert as_json["groups"][0]["causes"][0]["code"] == "duplicate-rows"
