"""pros usage over events recorded by the real token processor, against the local Redis."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests import redisdb
from tests.conftest import run_pros
from tests.functions.harness import deliver, module
from tests.ledger.factory import expected, make_event, random_events
from tests.redisdb import REDIS_URL

DAYS = ["2026-09-29", "2026-09-30", "2026-10-01", "2026-10-02"]
LEDGER = ["--redis-url", REDIS_URL]

redis_db = redisdb.redis_db  # the fixture


@pytest.fixture
def processor_env(monkeypatch: pytest.MonkeyPatch, redis_db: Any) -> Any:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    module().reset()
    yield
    module().reset()


@pytest.fixture
def events(processor_env: Any) -> list[dict[str, Any]]:
    """400 events (and 100 redeliveries) through the token processor function itself."""
    batch = random_events(400, days=DAYS, seed=21)
    for event in batch + batch[::4]:
        deliver(event)
    return batch


def report(*args: str) -> dict[str, Any]:
    run = run_pros("usage", *LEDGER, "-o", "json", *args)
    assert run.code == 0, run.err
    return run.json()


def as_rows(data: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, int]]:
    out = {}
    for row in data["rows"]:
        group = tuple(row.pop(d) for d in data["by"])
        out[group] = row
    return out


@pytest.mark.parametrize(
    ("args", "by", "where", "start", "end"),
    [
        (
            ["--from", "2026-09-01", "--to", "2026-10-31", "--by", "billing-code"],
            ["billing_code"],
            {},
            None,
            None,
        ),
        (
            ["--from", "2026-09-30", "--to", "2026-10-01", "--by", "day"],
            ["day"],
            {},
            "2026-09-30",
            "2026-10-01",
        ),
        (
            ["--from", "2026-09-29", "--to", "2026-10-02", "--by", "company,user"],
            ["company", "user"],
            {},
            None,
            None,
        ),
        (
            [
                "--from",
                "2026-09-30",
                "--to",
                "2026-10-02",
                "--by",
                "region",
                "--by",
                "model",
                "--where",
                "api=openai",
            ],
            ["region", "model"],
            {"api": "openai"},
            "2026-09-30",
            None,
        ),
        (
            ["--from", "2026-09-29", "--to", "2026-10-02", "--by", "user", "--where-null", "company"],
            ["user"],
            {"company": None},
            None,
            None,
        ),
        (
            ["--from", "2026-09-29", "--to", "2026-10-02", "--by", "deployment", "--where", "billing-code="],
            ["deployment"],
            {"billing_code": ""},
            None,
            None,
        ),
        (["--from", "2026-10-01", "--to", "2026-10-01"], [], {}, "2026-10-01", "2026-10-01"),
    ],
)
def test_reports_match_the_events(events, args, by, where, start, end) -> None:
    data = report(*args)
    want = expected(events, by, where=where, start=start, end=end)
    assert want and as_rows(data) == want
    assert data["totals"]["requests"] == sum(m["requests"] for m in want.values())


def test_empty_range_is_an_empty_report(events) -> None:
    data = report("--from", "2025-02-01", "--to", "2025-02-28", "--by", "user")
    assert data["rows"] == [] and data["totals"]["total_tokens"] == 0
    table = run_pros("usage", *LEDGER, "--from", "2025-02-01", "--to", "2025-02-28", "--by", "user")
    assert table.code == 0 and "total" in table.out


def test_default_range_is_the_current_month(processor_env) -> None:
    now = dt.datetime.now(dt.UTC)
    deliver(make_event("today-1", when=now.strftime("%Y-%m-%dT%H:%M:%SZ"), prompt=7, completion=3))
    data = report()
    first = now.date().replace(day=1)
    assert data["from"] == first.isoformat() and data["to"][:7] == first.isoformat()[:7]
    assert data["totals"]["total_tokens"] == 10


def test_top_and_table(events) -> None:
    data = report("--from", DAYS[0], "--to", DAYS[-1], "--by", "user", "--top", "2")
    totals = sorted((m["total_tokens"] for m in expected(events, ["user"]).values()), reverse=True)
    assert [r["total_tokens"] for r in data["rows"]] == totals[:2]
    table = run_pros("usage", *LEDGER, "--from", DAYS[0], "--to", DAYS[-1], "--by", "user", "--top", "2")
    assert table.code == 0 and "2 shown" in table.out and f"{sum(totals):,}" in table.out


def test_csv_has_the_json_numbers_and_no_formulas(events) -> None:
    args = ["--from", DAYS[0], "--to", DAYS[-1], "--by", "company", "--by", "billing-code"]
    data = report(*args)
    run = run_pros("usage", *LEDGER, "-o", "csv", *args)
    assert run.code == 0
    reader = list(csv.reader(io.StringIO(run.out)))
    header, body = reader[0], reader[1:]
    assert header[:2] == ["company", "billing_code"] and header[2:5] == [
        "requests",
        "prompt_tokens",
        "completion_tokens",
    ]
    assert len(body) == len(data["rows"])
    for cells, row in zip(body, data["rows"], strict=True):
        assert {h: int(c) for h, c in zip(header[2:], cells[2:], strict=True)} == {
            h: row[h] for h in header[2:]
        }
        for cell, raw in zip(cells[:2], (row["company"], row["billing_code"]), strict=True):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
            assert cell == ("" if raw is None else ("'" + raw if raw[:1] in "=+-@\t\r" and raw else raw))
    assert any(c[0] == "'=SUM(A1)" for c in body) and any(c[1] == "'-1" for c in body)


def test_replay_twice_counts_once_and_export_rebuilds_the_report(events, redis_db, tmp_path: Path) -> None:
    period = ["--from", DAYS[0], "--to", DAYS[-1]]
    before = [report(*period, "--by", by) for by in ("user,day", "billing-code", "model")]
    out = tmp_path / "usage.jsonl"
    run = run_pros("usage", *LEDGER, "export", *period, "--out", str(out))
    assert run.code == 0 and "exported 400 event(s)" in run.err
    redis_db.flushdb()
    first = run_pros("usage", *LEDGER, "-o", "json", "replay", str(out))
    assert first.code == 0 and first.json()["recorded"] == 400
    second = run_pros("usage", *LEDGER, "replay", str(out))
    assert second.code == 0 and "recorded 0, already counted 400" in second.out
    assert [report(*period, "--by", by) for by in ("user,day", "billing-code", "model")] == before


def test_replay_of_a_bad_file(processor_env, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(make_event("r-1")) + "\n{broken\n")
    run = run_pros("usage", *LEDGER, "replay", str(path))
    assert run.code == 1 and "line 2: not recorded: not JSON" in run.err and "recorded 1" in run.out
    missing = run_pros("usage", *LEDGER, "replay", str(tmp_path / "nope.jsonl"))
    assert missing.code == 2 and "cannot read" in missing.err
    nowhere = run_pros("usage", *LEDGER, "export", "--out", str(tmp_path / "no" / "such" / "dir.jsonl"))
    assert nowhere.code == 2 and "does not exist" in nowhere.err


def test_dead_letters_are_listed_with_reasons(processor_env) -> None:
    deliver(make_event("dl-1", prompt=5, completion=5, totalTokens=11))
    deliver(make_event("ok-1"))
    run = run_pros("usage", *LEDGER, "dead-letters")
    assert (
        run.code == 0
        and "dl-1" in run.out
        and "totalTokens is not promptTokens + completionTokens" in run.out
    )
    listed = run_pros("usage", *LEDGER, "-o", "json", "dead-letters").json()
    assert [d["id"] for d in listed] == ["dl-1"] and json.loads(listed[0]["payload"])["id"] == "dl-1"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--by", "colour"], "unknown dimension 'colour'"),
        (["--where", "user"], "is not DIM=VALUE"),
        (["--from", "2026-10-05", "--to", "2026-10-01"], "is after --to"),
        (["--from", "yesterday"], "is not a day"),
        (["--by", "user,user"], "names user twice"),
        (["--where", "user=a", "--where-null", "user"], "contradicts"),
    ],
)
def test_bad_input_exits_2(processor_env, args, words) -> None:
    run = run_pros("usage", *LEDGER, *args)
    assert run.code == 2 and words in run.err


def test_csv_is_refused_where_there_is_no_table(isolated) -> None:
    run = run_pros("-o", "csv", "provision", "--base-name", "demo")
    assert run.code == 2 and "no tabular data for -o csv" in run.err
    run = run_pros("usage", "replay", "-", "-o", "csv")
    assert run.code == 2


def test_no_ledger_configured_is_bad_input(isolated, monkeypatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    run = run_pros("usage")
    assert run.code == 2 and "--redis-url" in run.err


def test_unreachable_redis_is_a_clear_failure(isolated, monkeypatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    run = run_pros("usage", "--redis-url", "redis://user:hunter2@127.0.0.1:1/9")
    assert run.code == 1 and "cannot reach Redis at redis://user:***@127.0.0.1:1/9" in run.err
    assert "hunter2" not in run.err + run.out


@pytest.mark.parametrize(
    ("start", "end", "want"),
    [
        (None, None, ("2026-11-01", "2026-11-30")),  # the current UTC month
        ("2026-01-05", None, ("2026-01-05", "2026-01-31")),
        (None, "2026-10-31", ("2026-10-01", "2026-10-31")),
        ("2026-10-31", "2026-11-01", ("2026-10-31", "2026-11-01")),
        ("2024-02-10", None, ("2024-02-10", "2024-02-29")),
    ],
)
def test_day_range_defaults(start, end, want) -> None:
    from pros_cli.cli.usage import day_range

    lo, hi = day_range(start, end, dt.date(2026, 11, 30))
    assert (lo.isoformat(), hi.isoformat()) == want


def test_a_long_range_shows_progress_on_stderr(events) -> None:
    run = run_pros("usage", *LEDGER, "-o", "json", "--from", "2026-08-01", "--to", "2026-10-29")
    assert run.code == 0 and run.json()["totals"]["requests"] > 0
    lines = [line for line in run.err.splitlines() if line.startswith("read ")]
    assert lines[-1] == "read 90/90 days" and len(lines) >= 3
    quiet = run_pros("usage", *LEDGER, "-q", "--from", "2026-08-01", "--to", "2026-10-29")
    assert "read " not in quiet.err
