"""Reports over the ledger: any grouping of the dimensions and the day, with filters.

The cost is days x buckets x groups, never events: a report reads one hash per day-bucket. A
grouping (and filters) within one rollup's dimensions reads that rollup, which holds a few fields
(keys.ROLLUPS); any other grouping reads the full tuples; either is aggregated here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pros_cli.ledger import keys as K

DAY = "day"
GROUPABLE: tuple[str, ...] = (*K.DIMENSIONS, DAY)
# What a report shows per group: the stored counters, and the exact tokens derived from them.
COLUMNS: tuple[str, ...] = (*K.METRICS, "exact_tokens")
_PIPELINE_KEYS = 128  # HGETALLs per round trip


@dataclass
class Report:
    start: dt.date
    end: dt.date
    by: tuple[str, ...]
    where: dict[str, str | None]
    rows: list[tuple[tuple[Any, ...], dict[str, int]]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    groups: int = 0  # groups before --top

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.by, group, strict=True)) | metrics for group, metrics in self.rows]

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "by": list(self.by),
            "where": self.where,
            "groups": self.groups,
            "rows": self.as_dicts(),
            "totals": self.totals,
        }


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _metrics(numbers: Sequence[int]) -> dict[str, int]:
    out = dict(zip(K.METRICS, numbers, strict=True))
    out["exact_tokens"] = out["total_tokens"] - out["estimated_tokens"]
    return out


def _b(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


def fetch_hashes(
    client: Any,
    days: Sequence[dt.date],
    key_of: Callable[[K.DayBucket], str],
    *,
    prefix: str = K.PREFIX,
    buckets: int = K.BUCKETS,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[dt.date, dict[bytes, bytes]]]:
    """HGETALL of one key per day-bucket, pipelined; yields (day, hash) for non-empty ones."""
    cells = K.day_buckets(days, prefix, buckets)
    done_days = 0
    for start in range(0, len(cells), _PIPELINE_KEYS):
        part = cells[start : start + _PIPELINE_KEYS]
        pipe = client.pipeline(transaction=False)
        for cell in part:
            pipe.hgetall(key_of(cell))
        for cell, found in zip(part, pipe.execute(), strict=True):
            if found:
                yield cell.day, {_b(k): _b(v) for k, v in found.items()}
        done = (start + len(part)) // buckets
        if progress is not None and done != done_days:
            done_days = done
            progress(done, len(days))


def choose_source(needed: set[str]) -> tuple[Callable[[K.DayBucket], str], tuple[str, ...]]:
    """The cheapest hash that holds ``needed``: the total, the smallest rollup, or the tuples."""
    if not needed:
        return (lambda cell: cell.total), ()
    fits = sorted((len(dims), name) for name, dims in K.ROLLUPS.items() if needed <= set(dims))
    if fits:
        name = fits[0][1]
        return (lambda cell: cell.rollup(name)), K.ROLLUPS[name]
    return (lambda cell: cell.tuples), K.DIMENSIONS


def build_report(
    client: Any,
    start: dt.date,
    end: dt.date,
    *,
    by: Sequence[str] = (),
    where: Mapping[str, str | None] | None = None,
    top: int | None = None,
    prefix: str = K.PREFIX,
    buckets: int = K.BUCKETS,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Sum the ledger over [start, end] (UTC days) grouped by ``by``, filtered by ``where``.

    ``where`` maps a dimension (or ``day``) to the exact value wanted; None selects events
    where the caller gave no value. ``top`` keeps the N groups with the most total tokens.
    """
    where = dict(where or {})
    for name in (*by, *where):
        if name not in GROUPABLE:
            raise ValueError(f"unknown dimension {name!r}; known: {', '.join(GROUPABLE)}")
    if len(set(by)) != len(by):
        raise ValueError("a dimension is named twice in --by")
    days = days_between(start, end)
    if DAY in where:
        wanted = where[DAY]
        days = [d for d in days if d.isoformat() == wanted]
    dims = [d for d in by if d != DAY]
    filters = {d: v for d, v in where.items() if d != DAY}
    needed = set(dims) | set(filters)

    key_of, order = choose_source(needed)
    index = {d: order.index(d) for d in needed}
    positions = [index[d] for d in dims]
    checks = [(index[d], v) for d, v in filters.items()]

    sums: dict[tuple[Any, ...], list[int]] = {}
    decoded: dict[bytes, tuple[str | None, ...] | None] = {}
    day_at = by.index(DAY) if DAY in by else None
    for day, fields in fetch_hashes(client, days, key_of, prefix=prefix, buckets=buckets, progress=progress):
        for name, packed in fields.items():
            if needed:
                values = decoded.get(name, False)
                if values is False:
                    values = K.decode_values(name)
                    if any(values[i] != v for i, v in checks):
                        values = None
                    decoded[name] = values
                if values is None:
                    continue
                group: tuple[Any, ...] = tuple(values[i] for i in positions)
            else:
                group = ()
            if day_at is not None:
                group = (*group[:day_at], day.isoformat(), *group[day_at:])
            numbers = K.unpack(packed)
            acc = sums.get(group)
            if acc is None:
                sums[group] = numbers
            else:
                for i, n in enumerate(numbers):
                    acc[i] += n

    totals = [0] * len(K.METRICS)
    for numbers in sums.values():
        for i, n in enumerate(numbers):
            totals[i] += n
    rows = [(group, _metrics(numbers)) for group, numbers in sums.items()]
    rows.sort(key=lambda row: tuple(("", "") if v is None else ("~", v) for v in row[0]))
    if top is not None:
        rows.sort(key=lambda row: -row[1]["total_tokens"])  # stable: ties keep the group order
        rows = rows[:top]
    return Report(start, end, tuple(by), where, rows, _metrics(totals), len(sums))
