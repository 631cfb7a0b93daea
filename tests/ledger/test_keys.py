"""The key schema: unambiguous value encoding, and one cluster slot per event."""

from __future__ import annotations

import datetime as dt
import itertools
import struct

import pytest
from redis.crc import key_slot

from pros_cli.ledger import keys as K
from pros_cli.ledger.record import Ledger, prepare
from tests.ledger.factory import make_event

AWKWARD = [None, "", "a", "a:b", "1:a", "~", "~~", "0:", "x|y", "a" * 256, "Zürich", "😀", "\ud800", "3:abc"]


@pytest.mark.parametrize("values", [*itertools.product(AWKWARD[:8], repeat=2), tuple(AWKWARD)])
def test_tuples_round_trip(values: tuple[str | None, ...]) -> None:
    assert K.decode_values(K.encode_tuple(values)) == values


def test_distinct_tuples_never_share_a_field() -> None:
    tuples = list(itertools.product(AWKWARD, repeat=2))
    fields = {K.encode_tuple(t) for t in tuples}
    assert len(fields) == len(set(tuples))
    # Concatenations that a naive separator scheme would merge stay apart.
    assert K.encode_tuple(["a:b", "c"]) != K.encode_tuple(["a", "b:c"])
    assert K.encode_value(None) != K.encode_value("")
    assert K.encode_value("~") != K.encode_value(None)


def test_counters_pack_in_metric_order() -> None:
    numbers = list(range(1, len(K.METRICS) + 1))
    assert K.unpack(K.pack(numbers)) == numbers
    older = struct.pack("<2q", 5, 6)  # written before more metrics were added
    assert K.unpack(older) == [5, 6] + [0] * (len(K.METRICS) - 2)
    assert K.unpack(K.pack([2**40, *numbers[1:]]))[0] == 2**40


def test_every_key_of_one_event_is_in_one_slot() -> None:
    for i in range(200):
        rec = prepare(make_event(f"slot-{i}"))
        slots = {key_slot(k.encode()) for k in K.DayBucket(rec.day, rec.bucket).event_keys()}
        assert len(slots) == 1


def test_events_of_one_day_spread_over_many_slots() -> None:
    slots, buckets = set(), set()
    for i in range(400):
        rec = prepare(make_event(f"spread-{i}"))
        buckets.add(rec.bucket)
        slots.add(key_slot(K.DayBucket(rec.day, rec.bucket).seen.encode()))
    assert buckets == set(range(K.BUCKETS))
    assert len(slots) == K.BUCKETS  # one slot per bucket: a busy day spreads over the shards


def test_the_recording_script_only_touches_declared_keys(redis_db) -> None:
    """Recording one event creates exactly the keys of its day-bucket, all in one slot."""
    ledger = Ledger(redis_db)
    event = make_event("keys-1", when="2026-11-29T10:00:00Z")
    assert ledger.submit(event).status == "recorded"
    rec = prepare(event)
    declared = set(K.DayBucket(rec.day, rec.bucket).event_keys())
    present = {k.decode() for k in redis_db.keys("*")}
    assert present == declared
    assert len({key_slot(k.encode()) for k in present}) == 1
    assert rec.day == dt.date(2026, 11, 29)


def test_the_script_adds_to_a_shorter_older_value(redis_db) -> None:
    ledger = Ledger(redis_db)
    first = make_event("old-1", when="2026-11-29T10:00:00Z", prompt=10, completion=5)
    ledger.submit(first)
    rec = prepare(first)
    key = K.DayBucket(rec.day, rec.bucket).total
    redis_db.hset(key, K.TOTAL_FIELD, struct.pack("<2q", 7, 700))  # requests, prompt only
    second = make_event("old-2", when="2026-11-29T11:00:00Z", prompt=3, completion=2)
    second["id"] = second["data"]["requestId"] = next(
        f"old-{i}" for i in range(2, 999) if K.bucket_of(f"old-{i}") == rec.bucket
    )
    assert ledger.submit(second).status == "recorded"
    assert K.unpack(redis_db.hget(key, K.TOTAL_FIELD))[:4] == [8, 703, 2, 5]
