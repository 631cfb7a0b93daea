"""The ledger's Redis key schema: one definition for the writer (token processor) and the reader.

Every key one event touches carries one hash tag made of the event's UTC day and a bucket (the
CRC-32 of the event id modulo :data:`BUCKETS`): on a clustered Redis they all live in one slot,
so the recording script may touch them together, and a busy day spreads over up to
:data:`BUCKETS` slots instead of one hot slot. A report reads days x buckets keys, never events.

Per day and bucket, ``pros:usage:{2026-11-30:07}:<suffix>``:

==============  =======  =======================================================================
suffix          type     content
==============  =======  =======================================================================
``seen``        set      ids of the events counted (dedupe); expires 7 days after the day ends
``tuples``      hash     field: the full dimension tuple; value: the packed counters
``by:<name>``   hash     a rollup (see :data:`ROLLUPS`): field: the values of a few dimensions
``total``       hash     field ``*``: the packed counters of the whole day-bucket
``log``         stream   the raw events as recorded (audit, export, replay), capped, expires
==============  =======  =======================================================================

Dead letters live in one capped stream, ``pros:usage:dead-letters``.

Values are arbitrary caller strings, so the encoding is length-prefixed and binary: a value is
``<utf-8 byte length>:<bytes>``, a missing (null) value is ``~``. Nothing inside a value can be
mistaken for a separator, two values never merge, and null differs from the empty string
(``0:``). Counters are packed as little-endian signed 64-bit integers in :data:`METRICS` order
(the recording script adds them with Lua's ``struct``: cheaper than text).
"""

from __future__ import annotations

import datetime as dt
import functools
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PREFIX = "pros:usage"
BUCKETS = 16
DEAD_LETTERS = "dead-letters"
TOTAL_FIELD = b"*"

# Report dimensions, in tuple order, with the event field each comes from.
DIMENSIONS: tuple[str, ...] = ("billing_code", "company", "user", "region", "model", "deployment", "api")
EVENT_FIELDS: dict[str, str] = {
    "billing_code": "billingCode",
    "company": "companyName",
    "user": "username",
    "region": "region",
    "model": "model",
    "deployment": "deployment",
    "api": "api",
}
# Rollups: projections of the tuple onto a few dimensions, written with it, so that a report by
# (any subset of) one rollup's dimensions reads a few fields per day-bucket instead of every
# tuple. Dimensions that go together share one (a billing code belongs to a company; region,
# model, deployment and API have few values), which keeps the writes per event at five hashes.
ROLLUPS: dict[str, tuple[str, ...]] = {
    "account": ("billing_code", "company"),
    "user": ("user",),
    "route": ("region", "model", "deployment", "api"),
}
METRICS: tuple[str, ...] = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "failovers",
    "estimated_requests",
    "estimated_tokens",
)
NULL = b"~"


def bucket_of(event_id: str, buckets: int = BUCKETS) -> int:
    return zlib.crc32(event_id.encode("utf-8", "surrogatepass")) % buckets


def hash_tag(day: dt.date, bucket: int) -> str:
    return f"{{{day.isoformat()}:{bucket:02d}}}"


@dataclass(frozen=True)
class DayBucket:
    """The keys of one UTC day and bucket."""

    day: dt.date
    bucket: int
    prefix: str = PREFIX

    def _key(self, suffix: str) -> str:
        return f"{self.prefix}:{hash_tag(self.day, self.bucket)}:{suffix}"

    @property
    def seen(self) -> str:
        return self._key("seen")

    @property
    def tuples(self) -> str:
        return self._key("tuples")

    def rollup(self, name: str) -> str:
        return self._key(f"by:{name}")

    @property
    def total(self) -> str:
        return self._key("total")

    @property
    def log(self) -> str:
        return self._key("log")

    def event_keys(self) -> list[str]:
        """Every key the recording script touches, in KEYS order."""
        return [self.seen, self.tuples, *(self.rollup(r) for r in ROLLUPS), self.total, self.log]


@functools.lru_cache(maxsize=1024)
def event_keys(prefix: str, day: dt.date, bucket: int) -> tuple[str, ...]:
    """The recording script's KEYS for one day-bucket (cached: the writer's hot path)."""
    return tuple(DayBucket(day, bucket, prefix).event_keys())


def dead_letter_key(prefix: str = PREFIX) -> str:
    return f"{prefix}:{DEAD_LETTERS}"


def day_buckets(days: Iterable[dt.date], prefix: str = PREFIX, buckets: int = BUCKETS) -> list[DayBucket]:
    return [DayBucket(day, b, prefix) for day in days for b in range(buckets)]


# ---- values --------------------------------------------------------------------------------------
def encode_value(value: str | None) -> bytes:
    if value is None:
        return NULL
    raw = value.encode("utf-8", "surrogatepass")
    return b"%d:%b" % (len(raw), raw)


def encode_tuple(values: Sequence[str | None]) -> bytes:
    return b"".join(encode_value(v) for v in values)


def decode_values(field: bytes) -> tuple[str | None, ...]:
    """Inverse of :func:`encode_tuple` (and of :func:`encode_value` for one value)."""
    out: list[str | None] = []
    i, n = 0, len(field)
    while i < n:
        if field[i : i + 1] == NULL:
            out.append(None)
            i += 1
            continue
        colon = field.index(b":", i)
        length = int(field[i:colon])
        start = colon + 1
        if start + length > n:
            raise ValueError("truncated ledger field")
        out.append(field[start : start + length].decode("utf-8", "surrogatepass"))
        i = start + length
    return tuple(out)


_PACKED = struct.Struct(f"<{len(METRICS)}q")
PACKED_SIZE = _PACKED.size


def pack(metrics: Sequence[int]) -> bytes:
    """Counters as little-endian signed 64-bit integers, in METRICS order (the script's format)."""
    return _PACK(*metrics)


_PACK = _PACKED.pack


def unpack(value: bytes) -> list[int]:
    """Inverse of :func:`pack`; a shorter value (written before a metric was added) reads as zeros."""
    if len(value) < _PACKED.size:
        value = value + bytes(_PACKED.size - len(value))
    return list(_PACKED.unpack_from(value))
