"""The ledger's side of a reconciliation, read through the ledger package's own reader API.

What it uses from :mod:`pros_cli.ledger` (the one implementation of the key schema):

* ``report.build_report(client, start, end, by=("day", "region", "model"))``: rows of
  ``((day, region, model), metrics)`` with ``requests``, ``prompt_tokens``, ``completion_tokens``,
  ``total_tokens``, ``estimated_requests``, ``estimated_tokens`` and ``failovers``;
* ``audit.dead_letters(client, limit=...)``: the dead-letter stream, newest first, each with
  ``at``, ``reason``, ``id`` and the event's ``payload`` (JSON text, possibly truncated);
* ``audit.export_events(client, day, day)``: the raw events recorded for a day (the audit stream),
  for the request ids of single calls;
* ``record.DEAD_LETTER_MAXLEN``: how many dead letters the stream keeps.

A dead letter belongs to the UTC day of its event's ``eventTime`` (the day the ledger would have
booked it), or, when its payload cannot be read, to the day it was dead-lettered.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pros_cli import regions
from pros_cli.reconcile import DeadLetter, GroupKey, LedgerCall, LedgerTally


def _day(text: Any) -> dt.date | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).date()


def _region(value: Any) -> str:
    text = str(value or "")
    return regions.normalize(text) or text


class RedisLedger:
    """:class:`pros_cli.reconcile.LedgerSide` over the Redis ledger (a redis-py client)."""

    def __init__(self, client: Any):
        self.client = client

    def totals(self, start: dt.date, end: dt.date) -> Mapping[GroupKey, LedgerTally]:
        from pros_cli.ledger.report import build_report

        report = build_report(self.client, start, end, by=("day", "region", "model"))
        out: dict[GroupKey, LedgerTally] = {}
        for (day, region, model), metrics in report.rows:
            key = GroupKey(dt.date.fromisoformat(day), _region(region), model or "")
            tally = out.setdefault(key, LedgerTally())
            tally.requests += metrics["requests"]
            tally.prompt_tokens += metrics["prompt_tokens"]
            tally.completion_tokens += metrics["completion_tokens"]
            tally.total_tokens += metrics["total_tokens"]
            tally.estimated_requests += metrics["estimated_requests"]
            tally.estimated_tokens += metrics["estimated_tokens"]
            tally.failovers += metrics["failovers"]
        return out

    def dead_letters(self, start: dt.date, end: dt.date) -> Sequence[DeadLetter]:
        from pros_cli.ledger.audit import dead_letters
        from pros_cli.ledger.record import DEAD_LETTER_MAXLEN

        out = []
        for letter in dead_letters(self.client, limit=DEAD_LETTER_MAXLEN):
            try:
                event = json.loads(letter.get("payload") or "")
            except ValueError:
                event = None
            data = event.get("data") if isinstance(event, dict) else None
            data = data if isinstance(data, dict) else {}
            day = _day(event.get("eventTime") if isinstance(event, dict) else None) or _day(letter.get("at"))
            if day is None or not start <= day <= end:
                continue
            region = data.get("region")
            out.append(
                DeadLetter(
                    id=letter.get("id") or None,
                    reason=str(letter.get("reason") or ""),
                    day=day,
                    region=_region(region) if isinstance(region, str) else None,
                    model=data.get("model") if isinstance(data.get("model"), str) else None,
                )
            )
        return out

    def calls(self, day: dt.date) -> Mapping[str, LedgerCall]:
        from pros_cli.ledger.audit import export_events

        out: dict[str, LedgerCall] = {}
        for line in export_events(self.client, day, day):
            event = json.loads(line)
            data = event["data"]
            out[str(event["id"])] = LedgerCall(
                id=str(event["id"]),
                region=_region(data.get("region")),
                model=str(data.get("model") or ""),
                total_tokens=int(data.get("totalTokens") or 0),
                estimated=data.get("accuracy") == "estimated",
                failover=data.get("failover") is True,
            )
        return out
