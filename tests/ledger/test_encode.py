"""The writer's fast encodings against their definitions: the packed script arguments against
redis-py's own packer, the raw event's JSON with and without orjson, the bounded value cache."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from redis.connection import PythonRespSerializer

from pros_cli.ledger import encode as E
from pros_cli.ledger import keys as K
from pros_cli.ledger import wire as W
from pros_cli.ledger.record import prepare
from tests.ledger.corpus import GOOD, NOW
from tests.ledger.factory import make_event, random_events, with_change

CLOCK = dt.datetime.fromisoformat(NOW.replace("Z", "+00:00"))
AWKWARD = [
    "Zürich Versicherung 株式会社",
    "😀",
    "a:b|c~1:x",
    "",
    "~",
    "0:",
    "\ud800",
    "=SUM(A1)",
    "\n\t\x00\x7f",
]


def events() -> list[dict[str, Any]]:
    out = [*GOOD.values(), *random_events(200, days=["2026-11-02", "2026-11-03"], seed=11)]
    for i, text in enumerate(AWKWARD):
        out.append(with_change(make_event(f"awk-{i}"), "data.username", text))
        out.append(with_change(make_event(f"awk-c{i}"), "data.companyName", text))
    return out


def redis_py_packed(*args: Any) -> bytes:
    """What redis-py itself sends for these arguments (its pure-Python packer)."""
    return b"".join(PythonRespSerializer(6000, lambda v: W.as_bytes(v)).pack(*args))


@pytest.mark.parametrize("event", events(), ids=lambda e: e["id"])
def test_the_packed_arguments_are_what_redis_py_packs(event: dict[str, Any]) -> None:
    rec = prepare(event, now=CLOCK)
    args = E.arguments(rec.id, rec.dimensions, rec.metrics, rec.raw)
    tail = E.tail(rec.id, rec.dimensions, rec.metrics, rec.raw)
    assert b"*%d\r\n" % len(args) + tail == redis_py_packed(*args)
    assert args[2] == K.encode_tuple(rec.dimensions)
    assert K.decode_values(args[2]) == rec.dimensions
    billing, company, user, region, model, deployment, api = (K.encode_value(v) for v in rec.dimensions)
    assert args[3:6] == [billing + company, user, region + model + deployment + api]
    assert K.unpack(args[1]) == list(rec.metrics)


def test_the_head_is_what_redis_py_packs() -> None:
    parts: list[Any] = ["EVALSHA", "ab" * 20, 7, "pros:usage:{2026-11-02:03}:seen", 1764806400, 604800]
    head = W.pack([W.as_bytes(p) for p in parts], count=len(parts) + 2)
    assert head + W.bulk(b"x") + W.bulk("Zürich".encode()) == redis_py_packed(*parts, b"x", "Zürich")


@pytest.mark.parametrize("event", events(), ids=lambda e: e["id"])
def test_raw_json_is_the_event(event: dict[str, Any]) -> None:
    raw = E.raw_json(event)
    assert json.loads(raw) == event
    assert raw == E.raw_json_stdlib(event)  # the same bytes with or without orjson


def test_orjson_is_what_the_function_runs_with() -> None:
    """The token processor's requirements name orjson, so the tests run its path too."""
    pytest.importorskip("orjson")
    assert E._orjson_dumps is not None


def test_a_lone_surrogate_is_kept_as_an_escape() -> None:
    event = with_change(make_event("sur-1"), "data.username", "x\ud800y")
    raw = E.raw_json(event)
    assert b"\\ud800" in raw and json.loads(raw)["data"]["username"] == "x\ud800y"


def test_non_ascii_is_written_as_utf8() -> None:
    raw = E.raw_json(with_change(make_event("utf-1"), "data.companyName", "Zürich"))
    assert "Zürich".encode() in raw


def test_the_value_cache_is_bounded_and_exact() -> None:
    E._values.clear()
    for i in range(E._CACHED + 500):
        assert E.value(f"user-{i}") == K.encode_value(f"user-{i}")
        assert len(E._values) <= E._CACHED
    assert E.value(None) == K.NULL and E.value("") == b"0:" and E.value("~") == b"1:~"
