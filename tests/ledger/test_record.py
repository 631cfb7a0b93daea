"""Recording: counted once, atomically, in one round trip; dead letters; failures raise."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import redis
from redis.connection import Connection

from pros_cli.ledger import keys as K
from pros_cli.ledger.audit import dead_letters
from pros_cli.ledger.connection import connect
from pros_cli.ledger.record import DEDUPE_SECONDS, PAYLOAD_LIMIT, STALE_REASON, Ledger, prepare
from pros_cli.ledger.report import build_report
from tests.ledger.factory import expected, make_event, random_events

DAY = dt.date(2026, 11, 2)


def totals(db: Any, start: dt.date = DAY, end: dt.date = DAY) -> dict[str, int]:
    return build_report(db, start, end).totals


def test_three_deliveries_count_once(redis_db: Any) -> None:
    ledger = Ledger(redis_db)
    event = make_event("once-1", prompt=700, completion=300)
    outcomes = [ledger.submit(event).status for _ in range(3)]
    assert outcomes == ["recorded", "duplicate", "duplicate"]
    t = totals(redis_db)
    assert (t["requests"], t["prompt_tokens"], t["completion_tokens"], t["total_tokens"]) == (
        1,
        700,
        300,
        1000,
    )
    rec = prepare(event)
    assert redis_db.xlen(K.DayBucket(rec.day, rec.bucket).log) == 1


def test_one_round_trip_per_event(redis_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted on the wire: what every connection sends and reads while one event is recorded."""
    ledger = Ledger(redis_db)
    ledger.submit(make_event("warm-up"))  # the script is loaded, the connection open
    sent: list[bytes] = []
    reads: list[Any] = []
    real_send, real_read = Connection.send_packed_command, Connection.read_response

    def send(self: Connection, command: Any, check_health: bool = True) -> None:
        sent.append(b"".join([command] if isinstance(command, bytes | str) else command))
        real_send(self, command, check_health)

    def read(self: Connection, *args: Any, **kwargs: Any) -> Any:
        reads.append(real_read(self, *args, **kwargs))
        return reads[-1]

    monkeypatch.setattr(Connection, "send_packed_command", send)
    monkeypatch.setattr(Connection, "read_response", read)
    assert ledger.submit(make_event("one-trip")).status == "recorded"
    assert len(sent) == 1 and sent[0].split(b"\r\n")[2] == b"EVALSHA"
    assert reads == [1]
    # What goes out is the RESP that redis-py itself would pack for the same arguments.
    rec = prepare(make_event("one-trip"))
    keys, args = ledger._call(rec)
    packed = redis_db.connection_pool.get_connection()
    try:
        assert sent[0] == b"".join(packed.pack_command("EVALSHA", ledger._sha, len(keys), *keys, *args))
    finally:
        redis_db.connection_pool.release(packed)


def test_unknown_script_is_loaded_then_run(redis_db: Any) -> None:
    ledger = Ledger(redis_db)
    ledger._sha = "0" * 40  # as if the server had never seen it (or had restarted)
    assert ledger.submit(make_event("noscript-1")).status == "recorded"
    assert ledger._sha == ledger._script.sha != "0" * 40
    assert totals(redis_db)["requests"] == 1


def test_counters_keep_estimated_and_exact_apart(redis_db: Any) -> None:
    ledger = Ledger(redis_db)
    events = [
        make_event("e1", prompt=100, completion=20, cached=30, reasoning=5),
        make_event("e2", prompt=50, completion=50, accuracy="estimated", failover=True),
        make_event("e3", prompt=1, completion=1, accuracy="estimated"),
    ]
    for event in events:
        ledger.submit(event)
    t = totals(redis_db)
    assert t == expected(events, [])[()]
    assert (t["estimated_requests"], t["estimated_tokens"], t["exact_tokens"]) == (2, 102, 120)
    assert (t["cached_tokens"], t["reasoning_tokens"], t["failovers"]) == (30, 5, 1)


def test_dedupe_window_covers_event_grid_retries(redis_db: Any) -> None:
    ledger = Ledger(redis_db)
    event = make_event("ttl-1", when=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    ledger.submit(event)
    rec = prepare(event)
    ttl = redis_db.ttl(K.DayBucket(rec.day, rec.bucket).seen)
    assert 24 * 3600 < DEDUPE_SECONDS <= ttl <= DEDUPE_SECONDS + 86_400
    # A day long past (a replay) is deduplicated for the whole window from now on.
    old = make_event("ttl-2", when="2026-01-05T00:00:00Z")
    ledger.submit(old)
    rec = prepare(old)
    assert redis_db.ttl(K.DayBucket(rec.day, rec.bucket).seen) > DEDUPE_SECONDS - 60


def test_lost_dedupe_set_refuses_rather_than_counting_twice(redis_db: Any) -> None:
    ledger = Ledger(redis_db)
    event = make_event("stale-1")
    ledger.submit(event)
    rec = prepare(event)
    redis_db.delete(K.DayBucket(rec.day, rec.bucket).seen)  # expired, or evicted
    outcome = ledger.submit(event)
    assert (outcome.status, outcome.reason) == ("dead-lettered", STALE_REASON)
    assert totals(redis_db)["requests"] == 1
    assert dead_letters(redis_db)[0]["reason"] == STALE_REASON


def test_malformed_event_is_dead_lettered_never_raised(redis_db: Any) -> None:
    ledger = Ledger(redis_db)
    bad = make_event("bad-1", prompt=-4)
    huge = {"junk": "x" * (PAYLOAD_LIMIT * 3)}
    assert ledger.submit(bad).status == "dead-lettered"
    assert ledger.submit(huge).status == "dead-lettered"
    assert ledger.submit(b"\xff not json").status == "dead-lettered"
    assert ledger.submit(make_event("good-1")).status == "recorded"
    letters = dead_letters(redis_db)
    assert [d["id"] for d in letters] == ["", "", "bad-1"]  # newest first
    assert letters[2]["reason"].startswith("data.promptTokens must be between 0")
    assert len(letters[1]["payload"]) < PAYLOAD_LIMIT + 100 and "truncated" in letters[1]["payload"]
    assert totals(redis_db)["requests"] == 1


def test_audit_stream_is_capped(redis_db: Any) -> None:
    ledger = Ledger(redis_db, buckets=1, stream_maxlen=50)
    for i in range(400):
        ledger.submit(make_event(f"cap-{i}"))
    length = redis_db.xlen(K.DayBucket(DAY, 0).log)
    assert length < 400
    assert build_report(redis_db, DAY, DAY, buckets=1).totals["requests"] == 400


def test_unreachable_redis_raises_then_redelivery_counts_once(redis_db: Any) -> None:
    events = random_events(30, days=["2026-11-02"])
    down = Ledger(connect("redis://127.0.0.1:1/9", socket_timeout=1))
    for event in events[:10]:
        with pytest.raises(redis.ConnectionError):
            down.submit(event)
    up = Ledger(redis_db)
    for event in events[:20]:  # the first ten again (Event Grid's retry), ten more
        up.submit(event)
    for event in events:  # and every one of them once more
        up.submit(event)
    assert totals(redis_db) == expected(events, [])[()]


def test_pipelined_recording_matches_one_by_one(redis_db: Any) -> None:
    events = random_events(300, days=["2026-11-02", "2026-11-03"], seed=3)
    ledger = Ledger(redis_db)
    statuses = ledger.record_many(prepare(e) for e in events + events[:50])
    assert statuses.count("recorded") == 300 and statuses.count("duplicate") == 50
    got = build_report(redis_db, DAY, dt.date(2026, 11, 3), by=["user"])
    want = expected(events, ["user"])
    assert {g: m for g, m in got.rows} == want
