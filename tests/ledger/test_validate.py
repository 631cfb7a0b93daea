"""The contract validator (stdlib only) against jsonschema over the same events: no drift."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from pros_cli.contract import load_schema
from pros_cli.ledger.validate import InvalidEvent, check_event, check_schema, parse_event_time, problem
from tests.ledger.corpus import GOOD, INVARIANT_BAD, NOW, SCHEMA_BAD

CLOCK = dt.datetime.fromisoformat(NOW.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def schema_validator() -> Draft202012Validator:
    checker = FormatChecker()
    assert "date-time" in checker.checkers, "jsonschema checks date-time only with rfc3339-validator"
    return Draft202012Validator(load_schema(), format_checker=checker)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_events_pass_both(name: str, schema_validator: Draft202012Validator) -> None:
    event = GOOD[name]
    assert schema_validator.is_valid(event), list(schema_validator.iter_errors(event))
    check_event(event, CLOCK)  # raises when the validator disagrees


@pytest.mark.parametrize("name", sorted(SCHEMA_BAD))
def test_schema_violations_fail_both(name: str, schema_validator: Draft202012Validator) -> None:
    event = SCHEMA_BAD[name]
    assert not schema_validator.is_valid(event)
    with pytest.raises(InvalidEvent) as caught:
        check_schema(event)
    assert caught.value.reason


@pytest.mark.parametrize("name", sorted(INVARIANT_BAD))
def test_invariants_beyond_the_schema(name: str, schema_validator: Draft202012Validator) -> None:
    event = INVARIANT_BAD[name]
    assert schema_validator.is_valid(event)  # the schema cannot express these rules
    check_schema(event)
    assert problem(event, CLOCK)


def test_corpus_is_broad() -> None:
    assert len(SCHEMA_BAD) + len(INVARIANT_BAD) >= 40


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (SCHEMA_BAD["missing eventTime"], "eventTime is missing"),
        (SCHEMA_BAD["negative prompt tokens"], "data.promptTokens must be between 0"),
        (SCHEMA_BAD["oversized user name"], "data.username is longer than 256"),
        (SCHEMA_BAD["unknown data field"], "unknown field 'data.prompt'"),
        (SCHEMA_BAD["wrong event type"], "eventType must be Pros.Usage.ModelCall"),
        (
            INVARIANT_BAD["total is not prompt + completion"],
            "totalTokens is not promptTokens + completionTokens",
        ),
    ],
)
def test_reasons_name_the_problem(event: Any, words: str) -> None:
    assert words in (problem(event, CLOCK) or "")


def test_reasons_never_repeat_the_callers_value() -> None:
    secretish = "sk-this-must-not-appear-" + "x" * 300
    reason = problem({**GOOD["the contract's example"], "data": {"username": secretish}}, CLOCK) or ""
    assert reason and secretish[:20] not in reason
    reason = problem(SCHEMA_BAD["unknown top-level field"], CLOCK) or ""
    assert "hello" not in reason


def test_event_time_is_booked_in_utc() -> None:
    when = parse_event_time("2026-11-30T23:30:00-05:00")
    assert when.astimezone(dt.UTC).date() == dt.date(2026, 12, 1)
    assert parse_event_time("2026-11-30T14:03:07.1234567Z").microsecond == 123456


def test_future_limit_is_24_hours() -> None:
    event = GOOD["the contract's example"]
    just_inside = dict(event, eventTime="2026-12-01T14:59:59Z")
    just_inside["data"] = dict(event["data"])
    assert problem(just_inside, CLOCK) is None
    assert problem(dict(just_inside, eventTime="2026-12-01T15:00:01Z"), CLOCK)


def test_jsonschema_is_the_real_library() -> None:
    assert jsonschema.Draft202012Validator is Draft202012Validator
