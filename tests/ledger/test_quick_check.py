"""The validator's quick path may say "valid" only where the full checks (and jsonschema) agree;
every other event goes through the full checks, so reasons never change."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from pros_cli.contract import load_schema
from pros_cli.ledger.validate import (
    DATA_FIELDS,
    TOP_FIELDS,
    InvalidEvent,
    check_event,
    check_invariants,
    check_schema,
    quick_check,
)
from tests.ledger.corpus import GOOD, INVARIANT_BAD, NOW, SCHEMA_BAD
from tests.ledger.factory import make_event, random_events

CLOCK = dt.datetime.fromisoformat(NOW.replace("Z", "+00:00"))


class Text(str):
    """A str subclass: the quick path leaves it to the full checks."""


VALUES: list[Any] = [
    None, "", "x", "x" * 64, "x" * 65, "x" * 128, "x" * 129, "x" * 256, "x" * 257, "x" * 513,
    0, -1, 1, 99, 100, 599, 600, 86_400_000, 86_400_001, 10_000_000, 10_000_001, 2**70,
    0.0, 1.0, 1.5, 1200.0, True, False, [], {}, ["a"], {"a": 1}, Text("eastus"),
    "eastus", "EastUS", "e", "a" * 41, "exact", "estimated", "apim", "function", "Pros.Usage.ModelCall",
    "1.0", "a b", "a/b", "0b6a8c52-5b1f-4a53-9c1e-2f3d4e5a6b7c",
]  # fmt: skip
TIMES = [
    "2026-11-30T14:03:07Z", "2026-11-30T14:03:07.125Z", "2026-11-30T14:03:07.125+00:00",
    "2026-11-30T14:03:07+00:00", "2026-11-30T14:03:07.1234567Z", "2026-11-30T14:03:07-05:00",
    "2026-11-30t14:03:07z", "2026-02-30T00:00:00Z", "2028-02-29T00:00:00Z", "2026-02-29T00:00:00Z",
    "0000-01-01T00:00:00Z", "2026-11-30T24:00:00Z", "2026-11-30T23:60:00Z", "2026-11-30T23:59:60Z",
    "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-11-00T00:00:00Z", "2026-12-01T14:59:59Z",
    "2026-12-01T15:00:01Z", "2026-11-30 14:03:07Z", "2026-11-30T14:03:07.Z", "2026-11-30T14:03:07+0000",
    "2026-11-30T14:03Z", "20261130T140307Z", "2026-W48-1T14:03:07Z",
    "\uff12\uff10\uff12\uff16-11-30T14:03:07Z",  # full-width digits
]  # fmt: skip


@pytest.fixture(scope="module")
def schema() -> Draft202012Validator:
    return Draft202012Validator(load_schema(), format_checker=FormatChecker())


def bases() -> list[dict[str, Any]]:
    delivered = copy.deepcopy(GOOD["the contract's example"])  # as the token processor builds it
    delivered.update(eventTime="2026-11-30T14:03:07.125000+00:00", topic="/t", metadataVersion="1")
    return [
        GOOD["the contract's example"],
        GOOD["required fields only"],
        GOOD["null dimensions"],
        GOOD["non-ASCII values"],
        delivered,
    ]


def variants() -> Iterator[dict[str, Any]]:
    """Every field of each base set to each value, deleted, and an unknown field added."""
    for base in bases():
        for key in (*TOP_FIELDS, "extra"):
            for value in [*VALUES, *(TIMES if key == "eventTime" else ())]:
                yield {**base, key: value}
            event = dict(base)
            event.pop(key, None)
            yield event
        for key in (*DATA_FIELDS, "extra"):
            for value in VALUES:
                yield {**base, "data": {**base["data"], key: value}}
            data = dict(base["data"])
            data.pop(key, None)
            yield {**base, "data": data}
    for event in (*SCHEMA_BAD.values(), *INVARIANT_BAD.values()):
        yield event


def full(event: Any) -> dt.datetime | None:
    try:
        return check_invariants(event, CLOCK, check_schema(event))
    except InvalidEvent:
        return None


def test_the_quick_path_is_never_more_lenient(schema: Draft202012Validator) -> None:
    accepted = rejected = 0
    for event in variants():
        when = quick_check(event, CLOCK)
        if when is None:
            rejected += 1
            continue
        accepted += 1
        assert full(event) == when, event  # the full checks accept it too, with the same time
        assert schema.is_valid(event), event
    assert accepted > 500 and rejected > 2000  # both sides were exercised


def test_the_quick_path_takes_the_common_events() -> None:
    for event in (*bases(), *random_events(100, days=["2026-11-30"], seed=5)):
        assert quick_check(event, CLOCK) == full(event) is not None
    bench_like = make_event("q-1", when="2026-11-30T10:00:00.000Z")
    assert quick_check(bench_like, CLOCK) is not None


def test_what_the_quick_path_declines_gets_the_full_checks_reason() -> None:
    odd = copy.deepcopy(GOOD["the contract's example"])
    odd["eventTime"] = "2026-11-30T09:03:07-05:00"  # valid, but not a UTC form: the full checks
    assert quick_check(odd, CLOCK) is None
    assert check_event(odd, CLOCK) == full(odd)
    for name, event in SCHEMA_BAD.items():
        with pytest.raises(InvalidEvent) as via_check_event:
            check_event(event, CLOCK)
        with pytest.raises(InvalidEvent) as via_schema:
            check_schema(event)
        assert via_check_event.value.reason == via_schema.value.reason, name
