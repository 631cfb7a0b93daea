"""Validation of one usage event against the contract (docs/usage-events.md).

Written with the standard library only (the token processor's zip carries no jsonschema): the
checks mirror ``usage_event.schema.json`` keyword for keyword, then the invariants the schema
cannot express. ``tests/ledger/test_validate.py`` runs this validator and jsonschema over the
same good and bad events, so the two cannot drift apart.

:func:`check_event` first tries :func:`quick_check`, straight-line code for the common shape of a
well-formed event (exact types, UTC time) that only ever says "valid" or "not sure"; anything it
is not sure of goes through the keyword-by-keyword checks, which give the reason. So the quick
path can make the validator faster, never more lenient, and never changes a reason (the tests
hold it against the full checks and jsonschema over the corpus and a fuzz of every field).

A problem is reported without the offending value: reasons end up in logs and in the
dead-letter list, and a caller's value has no business there.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from pros_cli.contract import DATA_VERSION, EVENT_TYPE, MAX_DIMENSION_LENGTH, MAX_TOKENS

# JSON Schema's "pattern" is an ECMA-262 regex: "$" matches only at the very end, so fullmatch.
_ID = re.compile(r"[A-Za-z0-9._:-]+", re.ASCII)
_REGION = re.compile(r"[a-z0-9]{2,40}", re.ASCII)
# RFC 3339 date-time (the schema's "format": "date-time"); "T" and "Z" in either case.
_RFC3339 = re.compile(
    r"(\d{4})-(0[1-9]|1[0-2])-(\d{2})[Tt]([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(\.\d+)?"
    r"([Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)",
    re.ASCII,
)
FUTURE_LIMIT = dt.timedelta(hours=24)

TOP_FIELDS = ("id", "eventType", "subject", "eventTime", "dataVersion", "topic", "metadataVersion", "data")
TOP_REQUIRED = ("id", "eventType", "subject", "eventTime", "dataVersion", "data")
DATA_REQUIRED = (
    "requestId", "source", "region", "api", "operation", "status", "accuracy",
    "promptTokens", "completionTokens", "totalTokens",
)  # fmt: skip


class InvalidEvent(ValueError):
    """The event breaks the contract; ``reason`` says how (without the caller's values)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _name(key: object) -> str:
    text = str(key)
    return repr(text[:64] + ("..." if len(text) > 64 else ""))


def _is_int(value: Any) -> bool:
    # JSON Schema 2020-12: an integer is a number with a zero fractional part; booleans are not.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _string(obj: Mapping[str, Any], key: str, where: str, *, lo: int = 0, hi: int | None = None,
            nullable: bool = False, pattern: re.Pattern[str] | None = None) -> None:  # fmt: skip
    value = obj[key]
    if value is None and nullable:
        return
    if not isinstance(value, str):
        kind = "a string or null" if nullable else "a string"
        raise InvalidEvent(f"{where}{key} must be {kind}")
    if len(value) < lo:
        raise InvalidEvent(f"{where}{key} must not be empty")
    if hi is not None and len(value) > hi:
        raise InvalidEvent(f"{where}{key} is longer than {hi} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise InvalidEvent(f"{where}{key} has characters or a shape the contract does not allow")


def _integer(obj: Mapping[str, Any], key: str, lo: int, hi: int) -> None:
    value = obj[key]
    if not _is_int(value):
        raise InvalidEvent(f"data.{key} must be an integer")
    if not lo <= value <= hi:
        raise InvalidEvent(f"data.{key} must be between {lo:,} and {hi:,}")


def _enum(obj: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(obj[key], str) or obj[key] not in allowed:
        raise InvalidEvent(f"data.{key} must be one of {', '.join(allowed)}")


def parse_event_time(text: str) -> dt.datetime:
    """An RFC 3339 date-time with an offset, as an aware datetime; InvalidEvent otherwise."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise InvalidEvent("eventTime is not an RFC 3339 date-time with an offset")
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    if year == 0 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise InvalidEvent("eventTime is not a calendar date")
    micro = int((m[7] or ".0")[1:7].ljust(6, "0"))
    offset = m[8].upper()
    tz = dt.UTC
    if offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        tz = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    try:
        return dt.datetime(year, month, day, int(m[4]), int(m[5]), int(m[6]), micro, tzinfo=tz)
    except (ValueError, OverflowError) as exc:  # pragma: no cover - the regex rules these out
        raise InvalidEvent("eventTime is not a valid date-time") from exc


def check_schema(event: Any) -> dt.datetime:
    """The schema's rules, keyword by keyword (raises InvalidEvent at the first problem); returns
    the event time."""
    if not isinstance(event, Mapping):
        raise InvalidEvent("the event is not a JSON object")
    for key in event:
        if key not in TOP_FIELDS:
            raise InvalidEvent(f"unknown field {_name(key)}")
    for key in TOP_REQUIRED:
        if key not in event:
            raise InvalidEvent(f"{key} is missing")
    _string(event, "id", "", lo=1, hi=128, pattern=_ID)
    if event["eventType"] != EVENT_TYPE or not isinstance(event["eventType"], str):
        raise InvalidEvent(f"eventType must be {EVENT_TYPE}")
    _string(event, "subject", "", lo=1, hi=512)
    _string(event, "eventTime", "", hi=40)
    when = parse_event_time(event["eventTime"])  # the schema's "format": "date-time"
    if event["dataVersion"] != DATA_VERSION or not isinstance(event["dataVersion"], str):
        raise InvalidEvent(f"dataVersion must be {DATA_VERSION}")
    for key in ("topic", "metadataVersion"):
        if key in event:
            _string(event, key, "")
    data = event["data"]
    if not isinstance(data, Mapping):
        raise InvalidEvent("data is not a JSON object")
    for key in data:
        if key not in DATA_FIELDS:
            raise InvalidEvent(f"unknown field {_name('data.' + str(key))}")
    for key in DATA_REQUIRED:
        if key not in data:
            raise InvalidEvent(f"data.{key} is missing")
    for key, check in DATA_FIELDS.items():
        if key in data:
            check(data, key)
    return when


DATA_FIELDS: dict[str, Any] = {
    "requestId": lambda d, k: _string(d, k, "data.", lo=1, hi=128),
    "source": lambda d, k: _enum(d, k, ("apim", "function")),
    "billingCode": lambda d, k: _string(d, k, "data.", hi=MAX_DIMENSION_LENGTH, nullable=True),
    "companyName": lambda d, k: _string(d, k, "data.", hi=MAX_DIMENSION_LENGTH, nullable=True),
    "username": lambda d, k: _string(d, k, "data.", hi=MAX_DIMENSION_LENGTH, nullable=True),
    "region": lambda d, k: _string(d, k, "data.", pattern=_REGION),
    "gatewayRegion": lambda d, k: _string(d, k, "data.", pattern=_REGION),
    "geography": lambda d, k: _string(d, k, "data.", hi=64, nullable=True),
    "model": lambda d, k: _string(d, k, "data.", hi=128, nullable=True),
    "deployment": lambda d, k: _string(d, k, "data.", hi=128, nullable=True),
    "api": lambda d, k: _string(d, k, "data.", lo=1, hi=64),
    "operation": lambda d, k: _string(d, k, "data.", lo=1, hi=128),
    "status": lambda d, k: _integer(d, k, 100, 599),
    "latencyMs": lambda d, k: _integer(d, k, 0, 86_400_000),
    "streamed": lambda d, k: _boolean(d, k),
    "failover": lambda d, k: _boolean(d, k),
    "accuracy": lambda d, k: _enum(d, k, ("exact", "estimated")),
    "promptTokens": lambda d, k: _integer(d, k, 0, MAX_TOKENS),
    "completionTokens": lambda d, k: _integer(d, k, 0, MAX_TOKENS),
    "totalTokens": lambda d, k: _integer(d, k, 0, MAX_TOKENS),
    "cachedTokens": lambda d, k: _integer(d, k, 0, MAX_TOKENS),
    "reasoningTokens": lambda d, k: _integer(d, k, 0, MAX_TOKENS),
}


def _boolean(obj: Mapping[str, Any], key: str) -> None:
    if not isinstance(obj[key], bool):
        raise InvalidEvent(f"data.{key} must be true or false")


def check_invariants(
    event: Mapping[str, Any], now: dt.datetime, when: dt.datetime | None = None
) -> dt.datetime:
    """The rules beyond the schema; returns the event time (aware). Call after check_schema."""
    data = event["data"]
    prompt, completion = int(data["promptTokens"]), int(data["completionTokens"])
    if int(data["totalTokens"]) != prompt + completion:
        raise InvalidEvent("data.totalTokens is not promptTokens + completionTokens")
    if int(data.get("cachedTokens", 0)) > prompt:
        raise InvalidEvent("data.cachedTokens is more than data.promptTokens")
    if int(data.get("reasoningTokens", 0)) > completion:
        raise InvalidEvent("data.reasoningTokens is more than data.completionTokens")
    if data["requestId"] != event["id"]:
        raise InvalidEvent("data.requestId differs from id")
    when = when or parse_event_time(event["eventTime"])
    if when - now > FUTURE_LIMIT:
        raise InvalidEvent("eventTime is more than 24 hours in the future")
    return when


def check_event(event: Any, now: dt.datetime | None = None) -> dt.datetime:
    """Raise InvalidEvent when ``event`` breaks the contract; return its time (aware) otherwise."""
    now = now or dt.datetime.now(dt.UTC)
    when = quick_check(event, now)
    if when is not None:
        return when
    when = check_schema(event)
    return check_invariants(event, now, when)


# ---- the quick path --------------------------------------------------------------------------
_TOP_ALL, _TOP_REQUIRED = frozenset(TOP_FIELDS), frozenset(TOP_REQUIRED)
_DATA_REQUIRED = frozenset(DATA_REQUIRED)
# The UTC forms producers and the Functions worker write ("Z", or "+00:00" from isoformat()),
# with the full check's ranges; datetime.fromisoformat then rejects what is not a calendar date.
_UTC_TIME = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|\+00:00)",
    re.ASCII,
)
_MAX_DIMENSION = MAX_DIMENSION_LENGTH


def quick_check(event: Any, now: dt.datetime) -> dt.datetime | None:
    """The event time (UTC) when ``event`` is certainly valid; None when it is not sure.

    Exact types only (``type(x) is int``: no bool, no integral float, no str subclass), the
    common UTC time forms, every rule of :func:`check_schema` and :func:`check_invariants`. None
    means "ask the full checks", which decide and say why.
    """
    if type(event) is not dict or not _TOP_REQUIRED <= event.keys() <= _TOP_ALL:
        return None
    data = event["data"]
    if type(data) is not dict or not _DATA_REQUIRED <= data.keys() <= _DATA_FIELD_NAMES:
        return None
    event_id, text = event["id"], event["eventTime"]
    if (
        type(event_id) is not str
        or len(event_id) > 128
        or _ID.fullmatch(event_id) is None
        or data["requestId"] != event_id
        or type(data["requestId"]) is not str
        or event["eventType"] != EVENT_TYPE
        or type(event["eventType"]) is not str
        or event["dataVersion"] != DATA_VERSION
        or type(event["dataVersion"]) is not str
        or type(event["subject"]) is not str
        or not 0 < len(event["subject"]) <= 512
        or type(event.get("topic", "")) is not str
        or type(event.get("metadataVersion", "")) is not str
        or type(text) is not str
        or _UTC_TIME.fullmatch(text) is None
    ):
        return None
    source, accuracy, status = data["source"], data["accuracy"], data["status"]
    region, api, operation = data["region"], data["api"], data["operation"]
    if (
        type(source) is not str
        or (source != "apim" and source != "function")
        or type(accuracy) is not str
        or (accuracy != "exact" and accuracy != "estimated")
        or type(status) is not int
        or not 100 <= status <= 599
        or type(region) is not str
        or _REGION.fullmatch(region) is None
        or type(api) is not str
        or not 0 < len(api) <= 64
        or type(operation) is not str
        or not 0 < len(operation) <= 128
    ):
        return None
    for key, limit in _OPTIONAL_TEXT:
        value = data.get(key)
        if value is not None and (type(value) is not str or len(value) > limit):
            return None
    prompt, completion, total = data["promptTokens"], data["completionTokens"], data["totalTokens"]
    cached, reasoning = data.get("cachedTokens", 0), data.get("reasoningTokens", 0)
    latency = data.get("latencyMs", 0)
    if (
        type(prompt) is not int
        or type(completion) is not int
        or type(total) is not int
        or type(cached) is not int
        or type(reasoning) is not int
        or type(latency) is not int
        or not 0 <= prompt <= MAX_TOKENS
        or not 0 <= completion <= MAX_TOKENS
        or total > MAX_TOKENS
        or total != prompt + completion
        or not 0 <= cached <= prompt
        or not 0 <= reasoning <= completion
        or not 0 <= latency <= 86_400_000
        or type(data.get("streamed", False)) is not bool
        or type(data.get("failover", False)) is not bool
    ):
        return None
    gateway = data.get("gatewayRegion", region)  # optional, but never null
    if gateway is not region and (type(gateway) is not str or _REGION.fullmatch(gateway) is None):
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:  # not a calendar date: the full check says so
        return None
    if when - now > FUTURE_LIMIT:
        return None
    return when


_DATA_FIELD_NAMES = frozenset(DATA_FIELDS)
# Optional text fields: None or a string of at most this many characters.
_OPTIONAL_TEXT = (
    ("billingCode", _MAX_DIMENSION),
    ("companyName", _MAX_DIMENSION),
    ("username", _MAX_DIMENSION),
    ("geography", 64),
    ("model", 128),
    ("deployment", 128),
)


def problem(event: Any, now: dt.datetime | None = None) -> str | None:
    """The reason ``event`` would be dead-lettered, or None when it is valid."""
    try:
        check_event(event, now)
    except InvalidEvent as exc:
        return exc.reason
    return None
