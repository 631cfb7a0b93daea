"""Reconciling the usage ledger with Azure's own LLM log: the logic, against two small interfaces.

The ledger (what customers are billed from) and API Management's ``ApiManagementGatewayLlmLog``
(what the gateway itself saw) are compared per UTC day, region and model. Every difference gets
its likely cause, with the evidence that supports it:

* ``duplicate-rows``: Azure's log has several rows for one call (same ``CorrelationId``); Azure
  Monitor can ingest a record twice, and with LLM message logging on a call spans several rows.
  The ledger counts a request id once. Proven from the log itself, so it is explained.
* ``failover``: the ledger books a call on the region whose model served it, Azure's log on the
  gateway that took it. When a day and model add up across regions and the ledger recorded
  failovers, the regions' differences are explained.
* ``in-flight``: the day includes the last hour; events may not have reached the ledger (Event
  Grid retries) nor rows Azure's log (ingestion takes minutes). Reported, never failed on.
* ``dead-lettered``: the ledger dead-lettered events of that day (``pros usage dead-letters``):
  they reached the ledger and were not counted.
* ``estimated``: the same calls, different tokens, where the ledger holds estimated tokens (streamed
  calls API Management could only estimate) or Azure logged streamed completions.
* ``missing-in-ledger`` / ``missing-in-azure`` / ``tokens-differ``: what is left; ``--calls`` lists
  the request ids on one side only (the event's ``id`` is the gateway's request id, which Azure
  logs as ``CorrelationId``).

A group *exceeds* when its token difference not explained by evidence is larger than the
tolerance (``reconcile_tolerance``: N tokens, or P% of Azure's count); in-flight groups never do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pros_cli.errors import UsageError

IN_FLIGHT = dt.timedelta(hours=1)
_TOLERANCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


# ---- tolerance ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Tolerance:
    tokens: int = 0
    percent: float | None = None

    def allowed(self, reference: int) -> float:
        return reference * self.percent / 100 if self.percent is not None else float(self.tokens)

    def __str__(self) -> str:
        if self.percent is not None:
            return f"{self.percent:g}%"
        return f"{self.tokens} tokens"


def parse_tolerance(text: str | None) -> Tolerance:
    """``N`` (tokens) or ``P%`` (of Azure's count for the group, 0-100)."""
    match = _TOLERANCE.match(str(text if text is not None else "0"))
    if match is None:
        raise UsageError(
            f"invalid reconcile tolerance {text!r}",
            hint="write a number of tokens (e.g. 1000) or a percentage of Azure's count (e.g. 0.5%)",
        )
    number, percent = match.groups()
    if percent:
        value = float(number)
        if value > 100:
            raise UsageError(f"invalid reconcile tolerance {text!r}: a percentage is at most 100%")
        return Tolerance(percent=value)
    if "." in number:
        raise UsageError(f"invalid reconcile tolerance {text!r}: tokens are a whole number")
    return Tolerance(tokens=int(number))


# ---- what each side reports --------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class GroupKey:
    day: dt.date
    region: str
    model: str  # "" when the call named no model

    def label(self) -> str:
        return f"{self.day} {self.region} {self.model or '-'}"


@dataclass
class LedgerTally:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated_requests: int = 0
    estimated_tokens: int = 0
    failovers: int = 0


@dataclass
class AzureTally:
    calls: int = 0  # distinct correlation ids
    rows: int = 0
    total_tokens: int = 0  # one row per call
    row_tokens: int = 0  # every row, as a plain sum over the log would count
    prompt_tokens: int = 0
    completion_tokens: int = 0
    streamed_calls: int = 0


@dataclass(frozen=True)
class DeadLetter:
    id: str | None
    reason: str
    day: dt.date
    region: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class LedgerCall:
    id: str
    region: str
    model: str
    total_tokens: int
    estimated: bool = False
    failover: bool = False


@dataclass(frozen=True)
class AzureCall:
    id: str
    region: str
    model: str
    total_tokens: int
    rows: int = 1
    streamed: bool = False


class LedgerSide(Protocol):
    def totals(self, start: dt.date, end: dt.date) -> Mapping[GroupKey, LedgerTally]: ...
    def dead_letters(self, start: dt.date, end: dt.date) -> Sequence[DeadLetter]: ...
    def calls(self, day: dt.date) -> Mapping[str, LedgerCall]: ...


class AzureSide(Protocol):
    def totals(self, start: dt.date, end: dt.date) -> Mapping[GroupKey, AzureTally]: ...
    def calls(self, day: dt.date) -> Mapping[str, AzureCall]: ...


# ---- the result -------------------------------------------------------------------------------
MATCH, EXPLAINED, IN_FLIGHT_VERDICT, WITHIN, EXCEEDS = (
    "match",
    "explained",
    "in flight",
    "within tolerance",
    "exceeds",
)


@dataclass(frozen=True)
class Cause:
    code: str
    text: str


@dataclass
class Group:
    key: GroupKey
    ledger: LedgerTally
    azure: AzureTally
    causes: list[Cause] = field(default_factory=list)
    verdict: str = MATCH
    unexplained_tokens: int = 0

    @property
    def request_difference(self) -> int:
        return self.ledger.requests - self.azure.calls

    @property
    def token_difference(self) -> int:
        """Ledger minus Azure, Azure counted as a plain sum over its log rows."""
        return self.ledger.total_tokens - self.azure.row_tokens

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.key.day.isoformat(),
            "region": self.key.region,
            "model": self.key.model or None,
            "verdict": self.verdict,
            "ledger": dataclasses.asdict(self.ledger),
            "azure": dataclasses.asdict(self.azure),
            "request_difference": self.request_difference,
            "token_difference": self.token_difference,
            "unexplained_tokens": self.unexplained_tokens,
            "causes": [dataclasses.asdict(c) for c in self.causes],
        }


@dataclass
class CallDifferences:
    day: dt.date
    ledger_only: list[tuple[str, str]] = field(default_factory=list)  # (request id, note)
    azure_only: list[tuple[str, str]] = field(default_factory=list)
    duplicated: list[tuple[str, int]] = field(default_factory=list)  # (correlation id, rows)
    tokens: list[tuple[str, int, int, str]] = field(default_factory=list)  # (id, ledger, azure, note)

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "ledger_only": [{"request_id": i, "note": n} for i, n in self.ledger_only],
            "azure_only": [{"request_id": i, "note": n} for i, n in self.azure_only],
            "duplicated": [{"request_id": i, "rows": r} for i, r in self.duplicated],
            "tokens_differ": [
                {"request_id": i, "ledger": a, "azure": b, "note": n} for i, a, b, n in self.tokens
            ],
        }


@dataclass
class Reconciliation:
    start: dt.date
    end: dt.date
    tolerance: Tolerance
    now: dt.datetime
    groups: list[Group]
    calls: list[CallDifferences] = field(default_factory=list)

    @property
    def differences(self) -> list[Group]:
        return [g for g in self.groups if g.verdict != MATCH]

    @property
    def exceeds(self) -> bool:
        return any(g.verdict == EXCEEDS for g in self.groups)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "tolerance": str(self.tolerance),
            "checked_at": self.now.isoformat(),
            "exceeds": self.exceeds,
            "groups": [g.to_json() for g in self.groups],
            "calls": [c.to_json() for c in self.calls],
        }


# ---- the comparison ---------------------------------------------------------------------------
def in_flight(day: dt.date, now: dt.datetime, window: dt.timedelta = IN_FLIGHT) -> bool:
    """Does the UTC day overlap the last ``window`` before ``now``?"""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return start <= now and start + dt.timedelta(days=1) > now - window


def reconcile(
    ledger: LedgerSide,
    azure: AzureSide,
    start: dt.date,
    end: dt.date,
    *,
    tolerance: Tolerance,
    now: dt.datetime,
    with_calls: bool = False,
) -> Reconciliation:
    ledger_totals = ledger.totals(start, end)
    azure_totals = azure.totals(start, end)
    letters: dict[dt.date, list[DeadLetter]] = defaultdict(list)
    for letter in ledger.dead_letters(start, end):
        letters[letter.day].append(letter)
    keys = sorted(set(ledger_totals) | set(azure_totals))
    groups = [
        Group(k, ledger_totals.get(k) or LedgerTally(), azure_totals.get(k) or AzureTally()) for k in keys
    ]
    _explain_failovers(groups)
    for group in groups:
        if group.verdict == MATCH:
            _explain(group, letters.get(group.key.day, []), tolerance, now)
    result = Reconciliation(start, end, tolerance, now, groups)
    if with_calls:
        days = sorted({g.key.day for g in result.differences})
        result.calls = [_calls(day, ledger, azure, letters.get(day, []), now) for day in days]
    return result


def _differs(g: Group) -> bool:
    return bool(g.request_difference or g.token_difference or g.azure.rows != g.azure.calls)


def _explain_failovers(groups: list[Group]) -> None:
    """Per day and model, differences between regions that cancel out where the ledger recorded
    failovers: the same calls, booked on the serving region by one side and the gateway's by the
    other."""
    by_day_model: dict[tuple[dt.date, str], list[Group]] = defaultdict(list)
    for g in groups:
        by_day_model[(g.key.day, g.key.model)].append(g)
    for members in by_day_model.values():
        differing = [g for g in members if _differs(g)]
        failovers = sum(g.ledger.failovers for g in members)
        if len(differing) < 2 or not failovers:
            continue
        if any(g.azure.rows != g.azure.calls for g in differing):
            continue  # duplicates too: explain group by group instead
        if sum(g.request_difference for g in differing) or sum(g.token_difference for g in differing):
            continue
        for g in differing:
            g.causes.append(
                Cause(
                    "failover",
                    f"failover: the ledger books a call on the region that served it ({failovers} failover "
                    "call(s) that day for this model), Azure's log on the gateway that took it; the regions' "
                    "differences cancel out",
                )
            )
            g.verdict = EXPLAINED


def _explain(group: Group, letters: list[DeadLetter], tolerance: Tolerance, now: dt.datetime) -> None:
    if not _differs(group):
        return
    L, A = group.ledger, group.azure
    causes = group.causes
    extra_rows = A.rows - A.calls
    if extra_rows > 0:
        causes.append(
            Cause(
                "duplicate-rows",
                f"duplicated log rows: Azure's log has {extra_rows} extra row(s) for calls it already "
                f"logged (same CorrelationId), {A.row_tokens - A.total_tokens} token(s) counted twice there; "
                "the ledger counts each request id once",
            )
        )
    requests = L.requests - A.calls
    tokens = L.total_tokens - A.total_tokens
    group.unexplained_tokens = tokens
    flight = in_flight(group.key.day, now)
    if flight and (requests or tokens):
        causes.append(
            Cause(
                "in-flight",
                f"events still in flight: the day includes the last hour (since {(now - IN_FLIGHT):%H:%M} "
                "UTC); events may not have reached the ledger, nor rows Azure's log",
            )
        )
    if requests < 0:
        mine = [
            d
            for d in letters
            if d.region in (None, group.key.region) and (d.model or "") in ("", group.key.model)
        ]
        if mine:
            causes.append(
                Cause(
                    "dead-lettered",
                    f"dead-lettered events: the ledger dead-lettered {len(mine)} event(s) of this day "
                    f"(see pros usage dead-letters; first reason: {mine[0].reason})",
                )
            )
        elif not flight:
            causes.append(
                Cause(
                    "missing-in-ledger",
                    f"{-requests} call(s) in Azure's log have no usage event in the ledger (dropped before "
                    "the ledger); --calls lists their request ids",
                )
            )
    elif requests > 0 and not flight:
        causes.append(
            Cause(
                "missing-in-azure",
                f"{requests} call(s) in the ledger are not in Azure's LLM log (calls before the diagnostic "
                "setting existed, or a gateway whose LLM logs are off); --calls lists their request ids",
            )
        )
    elif requests == 0 and tokens:
        if L.estimated_requests or A.streamed_calls:
            causes.append(
                Cause(
                    "estimated",
                    f"streamed calls API Management only estimated: the ledger holds {L.estimated_tokens} "
                    f"estimated token(s) from {L.estimated_requests} call(s); Azure's log has "
                    f"{A.streamed_calls} streamed call(s)",
                )
            )
        else:
            causes.append(
                Cause("tokens-differ", "the same calls with different token counts; --calls lists them")
            )
    if flight and (requests or tokens):
        group.verdict = IN_FLIGHT_VERDICT
    elif not requests and not tokens:
        group.verdict = EXPLAINED
    elif abs(tokens) <= tolerance.allowed(A.total_tokens):
        group.verdict = WITHIN
    else:
        group.verdict = EXCEEDS


def _calls(
    day: dt.date, ledger: LedgerSide, azure: AzureSide, letters: list[DeadLetter], now: dt.datetime
) -> CallDifferences:
    mine, theirs = ledger.calls(day), azure.calls(day)
    dead = {d.id: d.reason for d in letters if d.id}
    flight = in_flight(day, now)
    out = CallDifferences(day)
    for request_id in sorted(set(theirs) - set(mine)):
        if request_id in dead:
            note = f"dead-lettered: {dead[request_id]}"
        elif flight:
            note = "in flight: not in the ledger yet"
        else:
            note = "no usage event reached the ledger"
        out.azure_only.append((request_id, note))
    for request_id in sorted(set(mine) - set(theirs)):
        out.ledger_only.append((request_id, "not in Azure's log yet" if flight else "not in Azure's LLM log"))
    for request_id in sorted(theirs):
        call = theirs[request_id]
        if call.rows > 1:
            out.duplicated.append((request_id, call.rows))
        if request_id in mine and mine[request_id].total_tokens != call.total_tokens:
            own = mine[request_id]
            note = (
                "estimated by API Management"
                if own.estimated
                else ("streamed: Azure logged API Management's count" if call.streamed else "")
            )
            out.tokens.append((request_id, own.total_tokens, call.total_tokens, note))
    return out
