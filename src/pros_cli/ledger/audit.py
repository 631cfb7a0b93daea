"""The ledger's audit side: dead letters, export of the raw events, and replay.

Export reads each day's audit streams (one per bucket) and merges them in recording order, a
chunk at a time: memory stays flat however long the range. Replay feeds JSON lines back through
the recording script, so an event already counted is a duplicate, not a second count.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pros_cli.ledger import keys as K
from pros_cli.ledger.record import DUPLICATE, RECORDED, STALE, Ledger, Recordable
from pros_cli.ledger.report import days_between
from pros_cli.ledger.validate import InvalidEvent

_CHUNK = 1000


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def dead_letters(client: Any, *, limit: int = 100, prefix: str = K.PREFIX) -> list[dict[str, str]]:
    """The newest ``limit`` dead letters, newest first: at, reason, id, payload."""
    entries = client.xrevrange(K.dead_letter_key(prefix), count=limit)
    out = []
    for entry_id, fields in entries:
        record = {_text(k): _text(v) for k, v in fields.items()}
        fields_out = {k: record.get(k, "") for k in ("at", "reason", "id", "payload")}
        out.append({"entry": _text(entry_id), **fields_out})
    return out


def _stream(client: Any, key: str) -> Iterator[tuple[tuple[int, int], bytes]]:
    start = "-"
    while True:
        entries = client.xrange(key, min=start, max="+", count=_CHUNK)
        for entry_id, fields in entries:
            ms, seq = _text(entry_id).split("-")
            yield (int(ms), int(seq)), fields.get(b"e", fields.get("e", b""))
        if len(entries) < _CHUNK:
            return
        start = "(" + _text(entries[-1][0])


def export_events(
    client: Any,
    start: dt.date,
    end: dt.date,
    *,
    prefix: str = K.PREFIX,
    buckets: int = K.BUCKETS,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[str]:
    """The raw events recorded for [start, end], day by day, each day in recording order."""
    days = days_between(start, end)
    for n, day in enumerate(days, 1):
        streams = [_stream(client, K.DayBucket(day, b, prefix).log) for b in range(buckets)]
        for _, raw in heapq.merge(*streams, key=lambda item: item[0]):
            yield _text(raw)
        if progress is not None:
            progress(n, len(days))


@dataclass
class ReplayResult:
    recorded: int = 0
    duplicates: int = 0
    stale: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "stale": self.stale,
            "invalid": [{"line": n, "reason": r} for n, r in self.invalid],
        }


def _event_of(line: str) -> Any:
    """An event from one JSON line: an exported event, or a dead letter (its payload)."""
    obj = json.loads(line)
    if isinstance(obj, dict) and "payload" in obj and "reason" in obj and "eventType" not in obj:
        payload = obj["payload"]
        return json.loads(payload) if isinstance(payload, str) else payload
    return obj


def replay(ledger: Ledger, lines: Iterable[str], *, batch: int = 500) -> ReplayResult:
    """Re-submit JSON lines through the recording script; invalid lines are reported, not recorded."""
    result = ReplayResult()
    pending: list[Recordable] = []

    def flush() -> None:
        for status in ledger.record_many(pending, batch=batch):
            if status == RECORDED:
                result.recorded += 1
            elif status == DUPLICATE:
                result.duplicates += 1
            elif status == STALE:
                result.stale += 1
        pending.clear()

    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            pending.append(ledger.prepare(_event_of(line)))
        except InvalidEvent as exc:
            result.invalid.append((number, exc.reason))
        except json.JSONDecodeError as exc:
            result.invalid.append((number, f"not JSON ({exc.msg})"))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return result
