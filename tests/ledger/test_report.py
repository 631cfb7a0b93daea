"""Reports, export and replay against totals computed independently from the same events."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest

from pros_cli.ledger.audit import export_events, replay
from pros_cli.ledger.record import Ledger
from pros_cli.ledger.report import build_report
from tests.ledger.factory import expected, random_events

DAYS = ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]
D = dt.date.fromisoformat


@pytest.fixture
def recorded(redis_db: Any) -> list[dict[str, Any]]:
    events = random_events(600, days=DAYS, seed=11)
    ledger = Ledger(redis_db)
    for event in events[:450]:
        ledger.submit(event)
    ledger.record_many(ledger.prepare(e) for e in events[300:])  # overlaps: duplicates
    return events


def rows(report: Any) -> dict[tuple[Any, ...], dict[str, int]]:
    return dict(report.rows)


CASES = [
    ([], {}, "2026-10-01", "2026-11-30"),
    (["billing_code"], {}, "2026-10-01", "2026-11-30"),
    (["day"], {}, "2026-10-31", "2026-11-01"),  # across a month boundary
    (["company", "user"], {}, "2026-10-30", "2026-11-02"),
    (["user"], {"company": None}, "2026-10-30", "2026-11-02"),  # null company, not ""
    (["user"], {"user": ""}, "2026-10-30", "2026-11-02"),  # the empty string, not null
    (["region", "model", "day"], {"api": "openai"}, "2026-10-31", "2026-11-01"),
    (["billing_code", "company", "user", "region", "model", "deployment", "api", "day"], {}, *DAYS[::3]),
    (["deployment"], {"company": "=SUM(A1)", "day": "2026-11-01"}, "2026-10-01", "2026-11-30"),
    (["model"], {"model": None}, "2026-10-30", "2026-11-02"),
    ([], {"user": "a:b"}, "2026-10-30", "2026-11-02"),
]


@pytest.mark.parametrize(("by", "where", "start", "end"), CASES)
def test_report_matches_independent_totals(recorded, redis_db, by, where, start, end) -> None:
    report = build_report(redis_db, D(start), D(end), by=by, where=where)
    want = expected(recorded, by, where=where, start=start, end=end)
    assert want, "the case selects something"
    assert rows(report) == want
    total = {k: sum(m[k] for m in want.values()) for k in report.totals}
    assert report.totals == total


def test_empty_range_is_an_empty_report(recorded, redis_db) -> None:
    report = build_report(redis_db, D("2025-01-01"), D("2025-01-31"), by=["user"])
    assert report.rows == [] and report.totals["requests"] == 0 and report.groups == 0


def test_top_keeps_the_largest(recorded, redis_db) -> None:
    report = build_report(redis_db, D(DAYS[0]), D(DAYS[-1]), by=["user"], top=3)
    want = expected(recorded, ["user"])
    largest = sorted((m["total_tokens"] for m in want.values()), reverse=True)[:3]
    assert [m["total_tokens"] for _, m in report.rows] == largest
    assert report.groups == len(want)
    assert report.totals["total_tokens"] == sum(m["total_tokens"] for m in want.values())


def test_progress_is_reported_per_day(recorded, redis_db) -> None:
    seen: list[tuple[int, int]] = []
    build_report(redis_db, D("2026-09-01"), D("2026-11-30"), progress=lambda d, n: seen.append((d, n)))
    assert seen[-1] == (91, 91) and len(seen) > 1


def test_unknown_dimension_is_refused(redis_db) -> None:
    with pytest.raises(ValueError, match="unknown dimension 'colour'"):
        build_report(redis_db, D(DAYS[0]), D(DAYS[0]), by=["colour"])


def test_export_then_replay_into_an_empty_database(recorded, redis_db) -> None:
    lines = list(export_events(redis_db, D(DAYS[0]), D(DAYS[-1])))
    assert len(lines) == 600 and len({json.loads(x)["id"] for x in lines}) == 600
    assert [json.loads(x)["eventTime"][:10] for x in lines] == sorted(x["eventTime"][:10] for x in recorded)
    cases = [(["user", "day"], {}), (["billing_code"], {"region": "westus"}), ([], {})]
    before = [build_report(redis_db, D(DAYS[0]), D(DAYS[-1]), by=b, where=w).to_json() for b, w in cases]
    redis_db.flushdb()
    first = replay(Ledger(redis_db), io.StringIO("\n".join(lines)))
    assert (first.recorded, first.duplicates, first.invalid) == (600, 0, [])
    second = replay(Ledger(redis_db), lines)
    assert (second.recorded, second.duplicates) == (0, 600)  # the same file twice counts once
    after = [build_report(redis_db, D(DAYS[0]), D(DAYS[-1]), by=b, where=w).to_json() for b, w in cases]
    assert after == before


def test_replay_reports_bad_lines_and_takes_dead_letters(redis_db) -> None:
    events = random_events(3, days=["2026-11-02"], seed=5)
    letter = {"reason": "a bug, since fixed", "id": events[2]["id"], "payload": json.dumps(events[2])}
    lines = [
        json.dumps(events[0]),
        "not json",
        "",
        json.dumps({"id": "x"}),
        json.dumps(events[1]),
        json.dumps(letter),
    ]
    result = replay(Ledger(redis_db), lines)
    assert result.recorded == 3
    assert [n for n, _ in result.invalid] == [2, 4]
    assert result.invalid[0][1].startswith("not JSON")


@pytest.mark.parametrize(
    ("needed", "source"),
    [
        (set(), "total"),
        ({"billing_code"}, "by:account"),
        ({"billing_code", "company"}, "by:account"),
        ({"user"}, "by:user"),
        ({"region", "api"}, "by:route"),
        ({"model", "deployment", "region", "api"}, "by:route"),
        ({"user", "company"}, "tuples"),
        ({"billing_code", "region"}, "tuples"),
    ],
)
def test_a_report_reads_the_smallest_hash_that_holds_its_dimensions(needed, source) -> None:
    from pros_cli.ledger import keys as K
    from pros_cli.ledger.report import choose_source

    key_of, order = choose_source(needed)
    assert key_of(K.DayBucket(D("2026-11-02"), 3)).endswith("}:" + source)
    assert needed <= set(order)
