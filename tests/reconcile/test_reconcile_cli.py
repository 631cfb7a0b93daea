"""pros usage reconcile end to end: a deployment in the simulator (whose gateways log to the
workspace), the ledger written by the ledger's own recording code in the local Redis, and Azure's
LLM log answered by the simulator's query endpoint from the rows each test records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_state, run_pros
from tests.reconcile.conftest import REDIS_URL, llm_row, usage_event

NOW = dt.datetime.now(dt.UTC)
DAY = (NOW - dt.timedelta(days=3)).date()
AT = dt.datetime.combine(DAY, dt.time(10, 0), dt.UTC)


@pytest.fixture
def deployment(sim: Any) -> dict[str, Any]:
    run = run_pros("provision", "-n", "demo")
    assert run.code == 0, run.err
    state = load_state()
    return {
        "workspace": state["resources"]["log-analytics"]["outputs"]["customer_id"],
        "eastus": state["resources"]["apim/eastus"]["id"],
        "westus": state["resources"]["apim/westus"]["id"],
    }


def record(redis_db: Any, *events: dict[str, Any]) -> list[str]:
    from pros_cli.ledger.record import Ledger

    ledger = Ledger(redis_db)
    return [ledger.submit(e).status for e in events]


def reconcile(*args: str) -> Any:
    return run_pros(
        "usage",
        "reconcile",
        "--from",
        DAY.isoformat(),
        "--to",
        DAY.isoformat(),
        "--redis-url",
        REDIS_URL,
        "-o",
        "json",
        *args,
    )


def calls(n: int, prefix: str = "req") -> list[str]:
    return [f"{prefix}-{i:03d}" for i in range(n)]


def test_equal_totals_exit_0(sim, deployment, redis_db):
    ids = calls(5)
    assert (
        record(redis_db, *(usage_event(i, AT, prompt=100 + k) for k, i in enumerate(ids))) == ["recorded"] * 5
    )
    sim.record_llm_log(
        deployment["workspace"],
        [llm_row(i, AT, deployment["eastus"], prompt=100 + k) for k, i in enumerate(ids)],
    )
    run = reconcile()
    assert run.code == 0, run.err
    data = run.json()
    assert data["exceeds"] is False
    assert [g["verdict"] for g in data["groups"]] == ["match"]
    group = data["groups"][0]
    assert (group["region"], group["model"]) == ("eastus", "gpt-4o")
    assert group["ledger"]["requests"] == group["azure"]["calls"] == 5
    assert group["ledger"]["total_tokens"] == group["azure"]["row_tokens"] == sum(150 + k for k in range(5))


def test_a_dropped_event_is_missing_from_the_ledger_and_listed_by_request_id(sim, deployment, redis_db):
    ids = calls(4)
    record(redis_db, *(usage_event(i, AT) for i in ids[:3]))  # the fourth event never arrived
    sim.record_llm_log(deployment["workspace"], [llm_row(i, AT, deployment["eastus"]) for i in ids])
    run = reconcile("--calls")
    assert run.code == 3, run.err
    data = run.json()
    (group,) = data["groups"]
    assert group["verdict"] == "exceeds"
    assert (group["request_difference"], group["token_difference"]) == (-1, -150)
    assert [c["code"] for c in group["causes"]] == ["missing-in-ledger"]
    (day,) = data["calls"]
    assert day["azure_only"] == [{"request_id": ids[3], "note": "no usage event reached the ledger"}]
    assert day["ledger_only"] == [] and day["duplicated"] == []


def test_a_dead_lettered_event_is_named_with_its_reason(sim, deployment, redis_db):
    ids = calls(3)
    broken = usage_event(ids[2], AT)
    broken["data"]["totalTokens"] = 999  # breaks totalTokens == prompt + completion: dead-lettered
    assert record(redis_db, usage_event(ids[0], AT), usage_event(ids[1], AT), broken) == [
        "recorded",
        "recorded",
        "dead-lettered",
    ]
    sim.record_llm_log(deployment["workspace"], [llm_row(i, AT, deployment["eastus"]) for i in ids])
    run = reconcile("--calls")
    assert run.code == 3, run.err
    data = run.json()
    (group,) = data["groups"]
    assert [c["code"] for c in group["causes"]] == ["dead-lettered"]
    assert "totalTokens" in group["causes"][0]["text"]
    (note,) = data["calls"][0]["azure_only"]
    assert note["request_id"] == ids[2] and note["note"].startswith("dead-lettered: ")


def test_a_duplicated_log_row_is_explained_not_failed(sim, deployment, redis_db):
    ids = calls(3)
    record(redis_db, *(usage_event(i, AT) for i in ids))
    rows = [llm_row(i, AT, deployment["eastus"]) for i in ids]
    sim.record_llm_log(deployment["workspace"], [*rows, rows[1]])  # Azure ingested one record twice
    run = reconcile("--calls")
    assert run.code == 0, run.err
    data = run.json()
    (group,) = data["groups"]
    assert group["verdict"] == "explained"
    assert group["token_difference"] == -150  # what a plain sum over Azure's rows says
    assert group["unexplained_tokens"] == 0
    assert (group["azure"]["rows"], group["azure"]["calls"]) == (4, 3)
    assert [c["code"] for c in group["causes"]] == ["duplicate-rows"]
    assert data["calls"][0]["duplicated"] == [{"request_id": ids[1], "rows": 2}]


def test_a_streamed_call_counted_only_as_an_estimate(sim, deployment, redis_db):
    ids = calls(3)
    record(
        redis_db,
        usage_event(ids[0], AT),
        usage_event(ids[1], AT),
        usage_event(ids[2], AT, prompt=120, completion=400, accuracy="estimated", streamed=True),
    )
    sim.record_llm_log(
        deployment["workspace"],
        [
            llm_row(ids[0], AT, deployment["eastus"]),
            llm_row(ids[1], AT, deployment["eastus"]),
            llm_row(ids[2], AT, deployment["eastus"], prompt=120, completion=430, streamed=True),
        ],
    )
    run = reconcile("--calls")
    assert run.code == 3, run.err
    data = run.json()
    (group,) = data["groups"]
    assert (group["request_difference"], group["token_difference"]) == (0, -30)
    assert [c["code"] for c in group["causes"]] == ["estimated"]
    assert "520 estimated token(s) from 1 call(s)" in group["causes"][0]["text"]
    assert data["calls"][0]["tokens_differ"] == [
        {"request_id": ids[2], "ledger": 520, "azure": 550, "note": "estimated by API Management"}
    ]
    # The same difference is accepted under a tolerance of 10 % of Azure's count (850 tokens).
    tolerant = reconcile("--reconcile-tolerance", "10%")
    assert tolerant.code == 0, tolerant.err
    assert tolerant.json()["groups"][0]["verdict"] == "within tolerance"
    assert tolerant.json()["tolerance_source"] == "flag"


def test_calls_still_in_flight_are_reported_but_never_fail(sim, deployment, redis_db):
    recent = NOW - dt.timedelta(minutes=10)
    record(redis_db, usage_event("done", recent))
    sim.record_llm_log(
        deployment["workspace"],
        [llm_row("done", recent, deployment["eastus"]), llm_row("late", recent, deployment["eastus"])],
    )
    day = recent.date().isoformat()
    run = run_pros("usage",
        "reconcile", "--from", day, "--to", day, "--redis-url", REDIS_URL, "-o", "json")
    assert run.code == 0, run.err
    (group,) = run.json()["groups"]
    assert group["verdict"] == "in flight"
    assert [c["code"] for c in group["causes"]] == ["in-flight"]


def test_a_failover_books_regions_differently_and_is_explained(sim, deployment, redis_db):
    record(redis_db, usage_event("a", AT), usage_event("b", AT, region="westus", gateway="eastus"))
    sim.record_llm_log(
        deployment["workspace"],
        [llm_row("a", AT, deployment["eastus"]), llm_row("b", AT, deployment["eastus"])],
    )
    run = reconcile()
    assert run.code == 0, run.err
    groups = {g["region"]: g for g in run.json()["groups"]}
    assert groups["eastus"]["request_difference"] == -1 and groups["westus"]["request_difference"] == 1
    assert {g["verdict"] for g in groups.values()} == {"explained"}
    assert all([c["code"] for c in g["causes"]] == ["failover"] for g in groups.values())


def test_the_tolerance_is_a_recorded_setting(sim, deployment, redis_db):
    assert run_pros("provision", "--reconcile-tolerance", "200").code == 0
    assert load_state()["settings"]["reconcile_tolerance"] == "200"
    record(redis_db, usage_event("a", AT))
    sim.record_llm_log(
        deployment["workspace"],
        [llm_row("a", AT, deployment["eastus"]), llm_row("b", AT, deployment["eastus"])],
    )
    run = reconcile()
    assert run.code == 0, run.err
    data = run.json()
    assert (data["tolerance"], data["tolerance_source"]) == ("200 tokens", "state")
    assert data["groups"][0]["verdict"] == "within tolerance"
    config = Path("pros.toml")
    config.write_text('reconcile_tolerance = "0"\n')
    from_file = reconcile("--config", str(config))
    assert from_file.code == 3 and from_file.json()["tolerance_source"] == "config"
    strict = run_pros(
        "usage",
        "reconcile",
        "--from",
        DAY.isoformat(),
        "--to",
        DAY.isoformat(),
        "--redis-url",
        REDIS_URL,
        env={"PROS_RECONCILE_TOLERANCE": "0"},
    )
    assert strict.code == 3
    assert "exceeds" in strict.out and "missing" not in strict.err


def test_the_table_names_differences_and_causes(sim, deployment, redis_db):
    record(redis_db, usage_event("a", AT))
    sim.record_llm_log(
        deployment["workspace"],
        [llm_row("a", AT, deployment["eastus"]), llm_row("b", AT, deployment["eastus"])],
    )
    run = run_pros(
        "usage",
        "reconcile",
        "--from",
        DAY.isoformat(),
        "--to",
        DAY.isoformat(),
        "--redis-url",
        REDIS_URL,
        "--calls",
    )
    assert run.code == 3
    assert "1 differ" in run.out
    assert "1 / 2" in run.out and "-150" in run.out and "exceeds" in run.out
    assert "b  Azure only (no usage event reached the ledger)" in run.out
    assert "exceeds the tolerance" in run.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-11-05", "--to", "2026-11-01"), "is after --to"),
        (("--from", "2026-13-01"), "is not a day"),
        (("--from", "2026-01-01", "--to", "2026-12-31"), "at most 92"),
        (("--reconcile-tolerance", "five"), "invalid reconcile tolerance"),
        (("--reconcile-tolerance", "150%"), "at most 100%"),
    ],
)
def test_bad_input_exits_2(sim, deployment, redis_db, args, message):
    run = run_pros("usage",
        "reconcile", "--redis-url", REDIS_URL, *args)
    assert run.code == 2, (run.out, run.err)
    assert message in run.err


def test_without_a_deployment_it_asks_for_the_workspace(sim, redis_db):
    run = run_pros("usage",
        "reconcile", "--redis-url", REDIS_URL)
    assert run.code == 2
    assert "--workspace-id" in run.err
