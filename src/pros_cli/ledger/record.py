"""Recording usage events: one Redis round trip per event, atomic, counted once.

The recording script runs server-side (EVALSHA; the writer loads it when the server does not know
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
from typing import Any, NamedTuple

from pros_cli.ledger import encode as E
from pros_cli.ledger import keys as K
from pros_cli.ledger import wire as W
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
# ARGV: end of the event's day (unix seconds), dedupe seconds, audit seconds, stream maxlen (the
#       four are the same for every event of a day-bucket, so the writer sends them from a cached
#       prefix), id, packed counters, the encoded tuple, each rollup's field (cut from the tuple
#       by the writer: cheaper there than in Lua), raw event.
# Expiry times count from the later of the day's end and the server's clock (TIME), so a day
# replayed long after it ended is still deduplicated for the whole window; they are set when
# the day-bucket's dedupe set is created.
RECORD_SCRIPT = """
local seen, total, log = KEYS[1], KEYS[#KEYS - 1], KEYS[#KEYS]
local fresh = redis.call('EXISTS', seen) == 0
if fresh and redis.call('EXISTS', total) == 1 then
  return -1
end
if redis.call('SADD', seen, ARGV[5]) == 0 then
  return 0
end
local F, packed = '<i8i8i8i8i8i8i8i8i8', ARGV[6]
local a1, a2, a3, a4, a5, a6, a7, a8, a9 = struct.unpack(F, packed)
local function bump(key, field)
  local cur = redis.call('HGET', key, field)
  if not cur then
    redis.call('HSET', key, field, packed)
    return
  end
  if #cur < #packed then cur = cur .. string.rep('\\0', #packed - #cur) end
  local b1, b2, b3, b4, b5, b6, b7, b8, b9 = struct.unpack(F, cur)
  redis.call('HSET', key, field, struct.pack(F,
    a1 + b1, a2 + b2, a3 + b3, a4 + b4, a5 + b5, a6 + b6, a7 + b7, a8 + b8, a9 + b9))
end
bump(KEYS[2], ARGV[7])
ROLLUP_BUMPS
bump(total, '*')
redis.call('XADD', log, 'MAXLEN', '~', ARGV[4], '*', 'e', ARGV[#ARGV])
if fresh then
  local horizon = math.max(tonumber(ARGV[1]), tonumber(redis.call('TIME')[1]))
  redis.call('EXPIREAT', seen, horizon + tonumber(ARGV[2]))
  redis.call('EXPIREAT', log, horizon + tonumber(ARGV[3]))
end
return 1
"""
_STATUS = {1: RECORDED, 0: DUPLICATE, -1: STALE}
_NARGS = 7 + len(K.ROLLUPS) + 1  # ARGV of the script
_HEADS_KEPT = 4096  # packed command heads cached, one per day-bucket seen


def _rollup_bumps() -> str:
    return "\n".join(f"bump(KEYS[{n + 3}], ARGV[{n + 8}])" for n in range(len(K.ROLLUPS)))


RECORD_SCRIPT = RECORD_SCRIPT.replace("ROLLUP_BUMPS", _rollup_bumps())
assert len(K.METRICS) == 9, "the recording script adds nine packed counters"


class Recordable(NamedTuple):
    """A valid event, reduced to what the script needs (a named tuple: cheap to make)."""

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
    return Recordable(
        event["id"],
        (when if when.tzinfo is dt.UTC else when.astimezone(dt.UTC)).date(),
        K.bucket_of(event["id"], buckets),
        tuple(map(data.get, _DIMENSION_FIELDS)),
        metrics,
        E.raw_json(event),
    )


_DIMENSION_FIELDS = tuple(K.EVENT_FIELDS[d] for d in K.DIMENSIONS)


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
        self._script = client.register_script(RECORD_SCRIPT)  # pipelines (record_many)
        self._sha = self._script.sha
        pool = W.pool_of(client)  # None: every event through the Script object
        self._conn = W.KeptConnection(pool) if pool is not None else None
        self._heads: dict[tuple[dt.date, int], bytes] = {}
        from redis.exceptions import NoScriptError  # here: importing the ledger loads no redis

        self._noscript = NoScriptError

    # ---- one event -------------------------------------------------------------------------
    def prepare(self, event: Any) -> Recordable:
        return prepare(event, self.clock(), self.buckets)

    def _constants(self, day: dt.date) -> tuple[int, ...]:
        """ARGV[1..4]: the same for every event of a day-bucket."""
        return _day_end(day), self.dedupe_seconds, self.audit_seconds, self.stream_maxlen

    def _call(self, rec: Recordable) -> tuple[Sequence[str], list[Any]]:
        """KEYS and ARGV for redis-py's Script object (pipelines)."""
        keys = K.event_keys(self.prefix, rec.day, rec.bucket)
        return keys, [*self._constants(rec.day), *E.arguments(rec.id, rec.dimensions, rec.metrics, rec.raw)]

    def _head(self, day: dt.date, bucket: int) -> bytes:
        """The packed start of the EVALSHA of a day-bucket: script, keys and ARGV[1..4]."""
        head = self._heads.get((day, bucket))
        if head is None:
            if len(self._heads) >= _HEADS_KEPT:
                self._heads.clear()
            keys = K.event_keys(self.prefix, day, bucket)
            parts = [b"EVALSHA", self._sha.encode("ascii"), b"%d" % len(keys), *keys, *self._constants(day)]
            head = W.pack([W.as_bytes(p) for p in parts], count=len(parts) + _NARGS - 4)
            self._heads[(day, bucket)] = head
        return head

    def record(self, rec: Recordable) -> str:
        """Record one prepared event: recorded, duplicate or stale, in one round trip (the
        script's EVALSHA; on NOSCRIPT the script is loaded and the EVALSHA sent again). Raises
        when Redis fails."""
        if self._conn is None:
            keys, args = self._call(rec)
            return _STATUS[int(self._script(keys=keys, args=args))]
        tail = E.tail(rec.id, rec.dimensions, rec.metrics, rec.raw)
        try:
            reply = self._conn.round_trip(self._head(rec.day, rec.bucket) + tail)
        except self._noscript:  # a new or restarted server, or a failover: load it, send again
            self._sha = self._script.sha = W.as_bytes(self.client.script_load(RECORD_SCRIPT)).decode()
            self._heads.clear()
            reply = self._conn.round_trip(self._head(rec.day, rec.bucket) + tail)
        return _STATUS[int(reply)]

    def close(self) -> None:
        """Give the writer's connection back to the client's pool (the client stays open)."""
        if self._conn is not None:
            self._conn.close()

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
