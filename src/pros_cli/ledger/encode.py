"""What the writer sends per event, made cheaply: the raw event's JSON and the script's arguments.

These run once per event on the token processor's hot path, so they are written for speed (see
docs/benchmarks.md, "Usage ledger"); what they produce is defined elsewhere and tested equal:

* :func:`raw_json`: the event as compact JSON in UTF-8, for the audit stream. orjson when it is
  installed (the token processor's requirements name it), else the standard library, written so
  both give the same bytes; a string JSON cannot carry as UTF-8 (a lone surrogate) falls back to
  ASCII escapes.
* :func:`arguments` / :func:`tail`: the recording script's per-event arguments (ARGV[5..]) as a
  list, and as packed RESP bulk strings. Dimension values repeat from event to event (the same
  users, companies, models), so each value's encoding (keys.encode_value) is kept in a bounded
  cache.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pros_cli.ledger import keys as K

try:  # the token processor's requirements.txt installs it; everything works without it
    from orjson import dumps as _orjson_dumps
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    _orjson_dumps = None

_UTF8 = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_ASCII = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


def raw_json_stdlib(event: Any) -> bytes:
    """:func:`raw_json` without orjson."""
    try:
        return _UTF8.encode(event).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: valid JSON only as an escape
        return _ASCII.encode(event).encode("ascii")


def raw_json(event: Any) -> bytes:
    """The event as compact JSON (UTF-8 bytes), the same bytes with or without orjson."""
    if _orjson_dumps is not None:
        try:
            return _orjson_dumps(event)
        except TypeError:  # orjson.JSONEncodeError (a TypeError): lone surrogates, huge ints
            pass
    return raw_json_stdlib(event)


# ---- the script's per-event arguments --------------------------------------------------------------
_ROLLUP_INDEXES = tuple(tuple(K.DIMENSIONS.index(d) for d in dims) for dims in K.ROLLUPS.values())
# tail() below is written out for these rollups (account, user, route); a change to keys.ROLLUPS
# must change it too (arguments() is generic, and a test holds the two equal).
assert _ROLLUP_INDEXES == ((0, 1), (2,), (3, 4, 5, 6)), "tail() is written for keys.ROLLUPS"
_CACHED = 4096
_values: dict[str | None, bytes] = {}


def value(v: str | None) -> bytes:
    """keys.encode_value, cached."""
    out = _values.get(v)
    if out is None:
        if len(_values) >= _CACHED:
            _values.clear()
        out = _values[v] = K.encode_value(v)
    return out


def arguments(
    event_id: str, dimensions: Sequence[str | None], metrics: Sequence[int], raw: bytes
) -> list[bytes]:
    """ARGV[5..]: id, packed counters, the encoded tuple, each rollup's field, raw event."""
    values = [value(v) for v in dimensions]
    rollups = [b"".join([values[i] for i in indexes]) for indexes in _ROLLUP_INDEXES]
    return [event_id.encode("ascii"), K.pack(metrics), b"".join(values), *rollups, raw]


_TAIL = b"$%d\r\n%b\r\n" + b"$" + str(K.PACKED_SIZE).encode() + b"\r\n%b\r\n" + b"$%d\r\n%b\r\n" * 5
_pack = K.pack


def tail(event_id: str, dimensions: Sequence[str | None], metrics: Sequence[int], raw: bytes) -> bytes:
    """:func:`arguments` packed as RESP bulk strings, in one step."""
    get = _values.get
    values = [get(v) or value(v) for v in dimensions]
    billing, company, user, region, model, deployment, api = values
    ident = event_id.encode("ascii")
    fields = b"".join(values)
    account, route = billing + company, region + model + deployment + api
    return _TAIL % (
        len(ident), ident, _pack(metrics), len(fields), fields, len(account), account,
        len(user), user, len(route), route, len(raw), raw,
    )  # fmt: skip
