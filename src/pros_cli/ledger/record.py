"""Recording usage events: one Redis round trip per event, atomic, counted once.

The recording script runs server-side (EVALSHA; redis-py loads it when the server does not know
it yet) over the keys of one day-bucket, all in one cluster slot (see :mod:`.keys`):

1. dedupe: SADD the id to the day-bucket's ``seen`` set; already there means a redelivery, and
   nothing else happens. When ``seen`` is gone but the day-bucket already has counts (its dedupe
   window is over, or Redis evicted it), the script refuses ("stale") instead of guessing: the
   event may have been counted.
2. counters: the packed counters of the full tuple, of each rollup (keys.ROLLUPS) and of the
   day-bucket total.
3. audit: the raw event appended to the day-bucket's capped stream.

A connection or credential failure raises (redis-py's ConnectionError, AuthenticationError):
the token processor lets it propagate so that Event Grid retries, and the retry is still
counted once.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pros_cli.ledger import keys as K
from pros_cli.ledger.validate import InvalidEvent, check_event

DEDUPE_SECONDS = 7 * 86_400  # >= Event Grid's 24 h retry period, with room for replays
AUDIT_SECONDS = 35 * 86_400  # the audit stream of a day is kept a billing month and a few days
STREAM_MAXLEN = 200_000  # per day-bucket (MAXLEN ~): 3.2 million events a day in 16 buckets
DEAD_LETTER_MAXLEN = 10_000
PAYLOAD_LIMIT = 8_192  # characters of a dead letter's payload kept

RECORDED, DUPLICATE, STALE = "recorded", "duplicate", "stale"
DEAD_LETTERED = "dead-lettered"
STALE_REASON = (
    "the event's day is past the dedupe window and already has counts: it may have been counted "
    "before, so it was not counted again"
)

# KEYS: seen, tuples, by:<rollup> for each of keys.ROLLUPS, total, log.
# ARGV: id, end of the event's day (unix seconds), dedupe seconds, audit seconds, stream maxlen,
#       raw event, packed counters, the encoded tuple. Each rollup's field is cut from the tuple
#       here (its values are length-prefixed, see keys.py), which keeps the call small.
# Expiry times count from the later of the day's end and the server's clock (TIME), so a day
# replayed long after it ended is still deduplicated for the whole window; they are set when
# the day-bucket's dedupe set is created.
RECORD_SCRIPT = """
local seen, total, log = KEYS[1], KEYS[#KEYS - 1], KEYS[#KEYS]
local fresh = redis.call('EXISTS', seen) == 0
if fresh and redis.call('EXISTS', total) == 1 then
  return -1
end
if redis.call('SADD', seen, ARGV[1]) == 0 then
  return 0
end
local packed, tuple = ARGV[7], ARGV[8]
local F = 'i8i8i8i8i8i8i8i8i8'
local a1, a2, a3, a4, a5, a6, a7, a8, a9 = struct.unpack('<' .. F, packed)
local function bump(key, field)
  local cur = redis.call('HGET', key, field)
  if not cur then
    redis.call('HSET', key, field, packed)
    return
  end
  if #cur < #packed then cur = cur .. string.rep('\0', #packed - #cur) end
  local b1, b2, b3, b4, b5, b6, b7, b8, b9 = struct.unpack('<' .. F, cur)
  redis.call('HSET', key, field, struct.pack('<' .. F,
    a1 + b1, a2 + b2, a3 + b3, a4 + b4, a5 + b5, a6 + b6, a7 + b7, a8 + b8, a9 + b9))
end
bump(KEYS[2], tuple)
local parts, pos = {}, 1
for d = 1, NDIMS do
  if string.byte(tuple, pos) == 126 then
    parts[d], pos = '~', pos + 1
  else
    local colon = string.find(tuple, ':', pos, true)
    local stop = colon + tonumber(string.sub(tuple, pos, colon - 1))
    parts[d], pos = string.sub(tuple, pos, stop), stop + 1
  end
end
ROLLUP_BUMPS
bump(total, '*')
redis.call('XADD', log, 'MAXLEN', '~', ARGV[5], '*', 'e', ARGV[6])
if fresh then
  local horizon = math.max(tonumber(ARGV[2]), tonumber(redis.call('TIME')[1]))
  redis.call('EXPIREAT', seen, horizon + tonumber(ARGV[3]))
  redis.call('EXPIREAT', log, horizon + tonumber(ARGV[4]))
end
return 1
"""
_STATUS = {1: RECORDED, 0: DUPLICATE, -1: STALE}


def _rollup_bumps() -> str:
    lines = []
    for n, dims in enumerate(K.ROLLUPS.values()):
        field = " .. ".join(f"parts[{K.DIMENSIONS.index(d) + 1}]" for d in dims)
        lines.append(f"bump(KEYS[{n + 3}], {field})")
    return "\n".join(lines)


RECORD_SCRIPT = RECORD_SCRIPT.replace("NDIMS", str(len(K.DIMENSIONS)))
RECORD_SCRIPT = RECORD_SCRIPT.replace("ROLLUP_BUMPS", _rollup_bumps())


@dataclass(frozen=True)
class Recordable:
    """A valid event, reduced to what the script needs."""

    id: str
    day: dt.date
    bucket: int
    dimensions: tuple[str | None, ...]  # in keys.DIMENSIONS order
    metrics: tuple[int, ...]  # in keys.METRICS order
    raw: bytes  # the event as JSON, for the audit stream


@dataclass(frozen=True)
class Outcome:
    status: str  # recorded, duplicate, dead-lettered (or stale, from record_many)
    event_id: str | None = None
    reason: str | None = None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def prepare(event: Any, now: dt.datetime | None = None, buckets: int = K.BUCKETS) -> Recordable:
    """Validate ``event`` (InvalidEvent when it breaks the contract) and reduce it for recording."""
    when = check_event(event, now)
    data = event["data"]
    estimated = data["accuracy"] == "estimated"
    total = int(data["totalTokens"])
    metrics = (
        1,
        int(data["promptTokens"]),
        int(data["completionTokens"]),
        total,
        int(data.get("cachedTokens", 0)),
        int(data.get("reasoningTokens", 0)),
        1 if data.get("failover") is True else 0,
        1 if estimated else 0,
        total if estimated else 0,
    )
    raw = json.dumps(event, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return Recordable(
        id=event["id"],
        day=when.astimezone(dt.UTC).date(),
        bucket=K.bucket_of(event["id"], buckets),
        dimensions=tuple(data.get(K.EVENT_FIELDS[d]) for d in K.DIMENSIONS),
        metrics=metrics,
        raw=raw,
    )


@functools.lru_cache(maxsize=64)
def _day_end(day: dt.date) -> int:
    return int(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp())


def payload_text(event: Any) -> str:
    """What a dead letter keeps of the event: JSON (or its text), at most PAYLOAD_LIMIT characters."""
    if isinstance(event, bytes | bytearray):
        text = bytes(event).decode("utf-8", "replace")
    elif isinstance(event, str):
        text = event
    else:
        try:
            text = json.dumps(event, separators=(",", ":"), ensure_ascii=True, default=str)
        except (TypeError, ValueError):
            text = repr(event)
    if len(text) > PAYLOAD_LIMIT:
        text = text[:PAYLOAD_LIMIT] + f"...[truncated, {len(text)} characters in all]"
    return text


class Ledger:
    """The writer's side of the ledger, over one redis-py client (bytes in, bytes out)."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = K.PREFIX,
        buckets: int = K.BUCKETS,
        dedupe_seconds: int = DEDUPE_SECONDS,
        audit_seconds: int = AUDIT_SECONDS,
        stream_maxlen: int = STREAM_MAXLEN,
        clock: Callable[[], dt.datetime] = utc_now,
    ):
        self.client = client
        self.prefix = prefix
        self.buckets = buckets
        self.dedupe_seconds = dedupe_seconds
        self.audit_seconds = audit_seconds
        self.stream_maxlen = stream_maxlen
        self.clock = clock
        self._script = client.register_script(RECORD_SCRIPT)

    # ---- one event -------------------------------------------------------------------------
    def prepare(self, event: Any) -> Recordable:
        return prepare(event, self.clock(), self.buckets)

    def _call(self, rec: Recordable) -> tuple[Sequence[str], list[Any]]:
        args = [
            rec.id,
            _day_end(rec.day),
            self.dedupe_seconds,
            self.audit_seconds,
            self.stream_maxlen,
            rec.raw,
            K.pack(rec.metrics),
            K.encode_tuple(rec.dimensions),
        ]
        return K.event_keys(self.prefix, rec.day, rec.bucket), args

    def record(self, rec: Recordable) -> str:
        """Record one prepared event: recorded, duplicate or stale. Raises when Redis fails."""
        keys, args = self._call(rec)
        return _STATUS[int(self._script(keys=keys, args=args))]

    def submit(self, event: Any) -> Outcome:
        """What the token processor does with each delivery: validate, record once, or dead-letter.

        Never raises for a bad event; raises when Redis cannot be written (so it is retried).
        """
        event_id = event.get("id") if isinstance(event, Mapping) else None
        event_id = event_id[:128] if isinstance(event_id, str) else None
        try:
            rec = self.prepare(event)
        except InvalidEvent as exc:
            self.dead_letter(event, exc.reason, event_id=event_id)
            return Outcome(DEAD_LETTERED, event_id, exc.reason)
        status = self.record(rec)
        if status == STALE:
            self.dead_letter(event, STALE_REASON, event_id=event_id)
            return Outcome(DEAD_LETTERED, event_id, STALE_REASON)
        return Outcome(status, event_id)

    def dead_letter(self, event: Any, reason: str, *, event_id: str | None = None) -> None:
        fields = {
            "at": self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "reason": reason[:1000],
            "id": event_id or "",
            "payload": payload_text(event),
        }
        self.client.xadd(
            K.dead_letter_key(self.prefix),
            {k: v.encode("utf-8", "backslashreplace") for k, v in fields.items()},
            maxlen=DEAD_LETTER_MAXLEN,
            approximate=True,
        )

    # ---- many events -----------------------------------------------------------------------
    def record_many(self, recs: Iterable[Recordable], *, batch: int = 500) -> list[str]:
        """Record prepared events through the same script, pipelined ``batch`` at a time."""
        statuses: list[str] = []
        chunk: list[Recordable] = []

        def flush() -> None:
            pipe = self.client.pipeline(transaction=False)
            for rec in chunk:
                keys, args = self._call(rec)
                self._script(keys=keys, args=args, client=pipe)
            statuses.extend(_STATUS[int(r)] for r in pipe.execute())
            chunk.clear()

        for rec in recs:
            chunk.append(rec)
            if len(chunk) >= batch:
                flush()
        if chunk:
            flush()
        return statuses
