"""Usage events for tests: valid by default, any field overridable, and an independent oracle
that sums events by any dimensions the way a report must."""

from __future__ import annotations

import copy
import datetime as dt
import random
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

FIELD = {
    "billing_code": "billingCode",
    "company": "companyName",
    "user": "username",
    "region": "region",
    "model": "model",
    "deployment": "deployment",
    "api": "api",
}


def make_event(
    event_id: str | None = None,
    *,
    when: str = "2026-11-02T12:00:00Z",
    prompt: int = 100,
    completion: int = 50,
    cached: int = 0,
    reasoning: int = 0,
    **data: Any,
) -> dict[str, Any]:
    event_id = event_id or str(uuid.uuid4())
    body: dict[str, Any] = {
        "requestId": event_id,
        "source": "apim",
        "billingCode": "CC-1001",
        "companyName": "Contoso",
        "username": "jane@contoso.com",
        "region": "eastus",
        "gatewayRegion": "eastus",
        "model": "gpt-4o",
        "deployment": "chat",
        "api": "openai",
        "operation": "chat-completions",
        "status": 200,
        "latencyMs": 812,
        "streamed": False,
        "failover": False,
        "accuracy": "exact",
        "promptTokens": prompt,
        "completionTokens": completion,
        "totalTokens": prompt + completion,
        "cachedTokens": cached,
        "reasoningTokens": reasoning,
    }
    body.update(data)
    return {
        "id": event_id,
        "eventType": "Pros.Usage.ModelCall",
        "subject": f"/regions/{body['region']}/apis/openai/operations/chat-completions",
        "eventTime": when,
        "dataVersion": "1.0",
        "data": body,
    }


def with_change(
    event: dict[str, Any], path: str, value: Any = None, *, delete: bool = False
) -> dict[str, Any]:
    """A deep copy of ``event`` with ``path`` ("data.promptTokens") set to ``value`` or deleted."""
    out = copy.deepcopy(event)
    *parents, last = path.split(".")
    target = out
    for part in parents:
        target = target[part]
    if delete:
        del target[last]
    else:
        target[last] = value
    return out


def random_events(
    n: int, *, days: Sequence[str], seed: int = 7, users: int = 12, companies: int = 3
) -> list[dict[str, Any]]:
    """A mixed workload with awkward dimension values (separators, nulls, empty strings)."""
    rng = random.Random(seed)
    user_names = [f"user{i}@example.com" for i in range(users)] + ["a:b", "a", "", "x|y", "~", "1:a"]
    company_names = [f"Company {i}" for i in range(companies)] + [None, "Comp:any", "=SUM(A1)"]
    out = []
    for i in range(n):
        day = rng.choice(days)
        prompt = rng.randrange(0, 5000)
        completion = rng.randrange(0, 2000)
        estimated = rng.random() < 0.2
        event = make_event(
            f"ev-{seed}-{i:06d}",
            when=f"{day}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z",
            prompt=prompt,
            completion=completion,
            cached=rng.randrange(0, prompt + 1),
            reasoning=rng.randrange(0, completion + 1),
            billingCode=rng.choice(["CC-1", "CC-2", None, "", "-1"]),
            companyName=rng.choice(company_names),
            username=rng.choice(user_names),
            region=rng.choice(["eastus", "westus"]),
            model=rng.choice(["gpt-4o", "gpt-5.1", None]),
            deployment=rng.choice(["chat", "chat2"]),
            api=rng.choice(["openai", "openai-v1"]),
            failover=rng.random() < 0.1,
            accuracy="estimated" if estimated else "exact",
        )
        out.append(event)
    return out


def day_of(event: dict[str, Any]) -> str:
    when = dt.datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
    return when.astimezone(dt.UTC).date().isoformat()


def expected(
    events: Iterable[dict[str, Any]],
    by: Sequence[str],
    *,
    where: dict[str, Any] | None = None,
    start: str | None = None,
    end: str | None = None,
) -> dict[tuple[Any, ...], dict[str, int]]:
    """Sums computed straight from the events, independently of the ledger."""
    out: dict[tuple[Any, ...], dict[str, int]] = {}
    seen: set[str] = set()
    for event in events:
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        day = day_of(event)
        if (start and day < start) or (end and day > end):
            continue
        data = event["data"]

        def value(dim: str, data: dict[str, Any] = data, day: str = day) -> Any:
            return day if dim == "day" else data.get(FIELD[dim])

        if any(value(d) != v for d, v in (where or {}).items()):
            continue
        group = tuple(value(d) for d in by)
        acc = out.setdefault(group, dict.fromkeys(METRIC_NAMES, 0))
        est = data["accuracy"] == "estimated"
        acc["requests"] += 1
        acc["prompt_tokens"] += data["promptTokens"]
        acc["completion_tokens"] += data["completionTokens"]
        acc["total_tokens"] += data["totalTokens"]
        acc["cached_tokens"] += data.get("cachedTokens", 0)
        acc["reasoning_tokens"] += data.get("reasoningTokens", 0)
        acc["failovers"] += 1 if data.get("failover") else 0
        acc["estimated_requests"] += 1 if est else 0
        acc["estimated_tokens"] += data["totalTokens"] if est else 0
        acc["exact_tokens"] += 0 if est else data["totalTokens"]
    return out


METRIC_NAMES = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "failovers",
    "estimated_requests",
    "estimated_tokens",
    "exact_tokens",
)
