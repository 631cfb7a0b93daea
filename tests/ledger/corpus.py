"""Good and bad usage events, shared by the validator's tests and the drift test against jsonschema."""

from __future__ import annotations

from typing import Any

from tests.ledger.factory import make_event, with_change

BASE = make_event(
    "0b6a8c52-5b1f-4a53-9c1e-2f3d4e5a6b7c",
    when="2026-11-30T14:03:07.125Z",
    prompt=1200,
    completion=350,
    cached=1024,
    reasoning=128,
)


def _minimal() -> dict[str, Any]:
    event = make_event("min-1")
    optional = "billingCode companyName username gatewayRegion geography model deployment latencyMs"
    for key in (*optional.split(), "streamed", "failover", "cachedTokens", "reasoningTokens"):
        event["data"].pop(key, None)
    return event


GOOD: dict[str, dict[str, Any]] = {
    "the contract's example": BASE,
    "required fields only": _minimal(),
    "null dimensions": with_change(with_change(BASE, "data.billingCode", None), "data.username", None),
    "empty-string dimensions": with_change(BASE, "data.companyName", ""),
    "256-character dimension": with_change(BASE, "data.username", "u" * 256),
    "separators inside values": with_change(BASE, "data.billingCode", "a:b|c~1:x"),
    "non-ASCII values": with_change(BASE, "data.companyName", "Zürich Versicherung 株式会社"),
    "offset time": with_change(BASE, "eventTime", "2026-11-30T09:03:07-05:00"),
    "lower-case t and z": with_change(BASE, "eventTime", "2026-11-30t14:03:07z"),
    "nanosecond fraction": with_change(BASE, "eventTime", "2026-11-30T14:03:07.123456789Z"),
    "topic and metadataVersion from Event Grid": {
        **BASE,
        "topic": "/subscriptions/x/topics/t",
        "metadataVersion": "1",
    },
    "integral float tokens": with_change(
        with_change(BASE, "data.promptTokens", 1200.0), "data.totalTokens", 1550.0
    ),
    "zero tokens (embeddings-style completion)": make_event("emb-1", prompt=10, completion=0),
    "the maximum token count": make_event("max-1", prompt=10_000_000, completion=0),
    "estimated accuracy": with_change(BASE, "data.accuracy", "estimated"),
    "geography given": with_change(BASE, "data.geography", "europe"),
    "function source": with_change(BASE, "data.source", "function"),
}

SCHEMA_BAD: dict[str, Any] = {
    "not an object": ["an", "array"],
    "a string": "not json",
    "null": None,
    "missing id": with_change(BASE, "id", delete=True),
    "missing eventType": with_change(BASE, "eventType", delete=True),
    "missing eventTime": with_change(BASE, "eventTime", delete=True),
    "missing data": with_change(BASE, "data", delete=True),
    "missing subject": with_change(BASE, "subject", delete=True),
    "missing dataVersion": with_change(BASE, "dataVersion", delete=True),
    "unknown top-level field": {**BASE, "prompt": "hello"},
    "wrong event type": with_change(BASE, "eventType", "Microsoft.Storage.BlobCreated"),
    "wrong data version": with_change(BASE, "dataVersion", "2.0"),
    "numeric data version": with_change(BASE, "dataVersion", 1.0),
    "empty id": with_change(BASE, "id", ""),
    "id with a space": with_change(BASE, "id", "has space"),
    "id with a slash": with_change(BASE, "id", "a/b"),
    "id too long": with_change(BASE, "id", "a" * 129),
    "numeric id": with_change(BASE, "id", 12345),
    "empty subject": with_change(BASE, "subject", ""),
    "eventTime without offset": with_change(BASE, "eventTime", "2026-11-30T14:03:07"),
    "eventTime as a date": with_change(BASE, "eventTime", "2026-11-30"),
    "eventTime garbage": with_change(BASE, "eventTime", "yesterday at noon"),
    "eventTime as a number": with_change(BASE, "eventTime", 1764511387),
    "eventTime month 13": with_change(BASE, "eventTime", "2026-13-01T00:00:00Z"),
    "eventTime February 30": with_change(BASE, "eventTime", "2026-02-30T00:00:00Z"),
    "eventTime hour 24": with_change(BASE, "eventTime", "2026-11-30T24:00:00Z"),
    "eventTime with a space": with_change(BASE, "eventTime", "2026-11-30 14:03:07Z"),
    "eventTime too long": with_change(BASE, "eventTime", "2026-11-30T14:03:07." + "1" * 40 + "Z"),
    "data is a string": with_change(BASE, "data", '{"promptTokens": 1'),
    "data is a list": with_change(BASE, "data", [1, 2]),
    "unknown data field": with_change(BASE, "data.prompt", "the caller's question"),
    "missing requestId": with_change(BASE, "data.requestId", delete=True),
    "missing promptTokens": with_change(BASE, "data.promptTokens", delete=True),
    "missing accuracy": with_change(BASE, "data.accuracy", delete=True),
    "missing region": with_change(BASE, "data.region", delete=True),
    "negative prompt tokens": with_change(BASE, "data.promptTokens", -1),
    "huge completion tokens": with_change(BASE, "data.completionTokens", 10_000_001),
    "astronomic total tokens": with_change(BASE, "data.totalTokens", 10**30),
    "fractional tokens": with_change(BASE, "data.promptTokens", 12.5),
    "tokens as a string": with_change(BASE, "data.promptTokens", "1200"),
    "tokens as a boolean": with_change(BASE, "data.cachedTokens", True),
    "null tokens": with_change(BASE, "data.reasoningTokens", None),
    "status 99": with_change(BASE, "data.status", 99),
    "status 600": with_change(BASE, "data.status", 600),
    "latency negative": with_change(BASE, "data.latencyMs", -5),
    "streamed as a string": with_change(BASE, "data.streamed", "false"),
    "failover as a number": with_change(BASE, "data.failover", 0),
    "accuracy unknown": with_change(BASE, "data.accuracy", "guessed"),
    "source unknown": with_change(BASE, "data.source", "proxy"),
    "oversized billing code": with_change(BASE, "data.billingCode", "b" * 257),
    "oversized user name": with_change(BASE, "data.username", "u" * 10_000),
    "numeric company": with_change(BASE, "data.companyName", 42),
    "region with capitals": with_change(BASE, "data.region", "EastUS"),
    "region too short": with_change(BASE, "data.region", "e"),
    "null region": with_change(BASE, "data.region", None),
    "empty api": with_change(BASE, "data.api", ""),
    "oversized model": with_change(BASE, "data.model", "m" * 129),
    "geography too long": with_change(BASE, "data.geography", "g" * 65),
    "topic not a string": {**BASE, "topic": 7},
}

INVARIANT_BAD: dict[str, dict[str, Any]] = {
    "total is not prompt + completion": with_change(BASE, "data.totalTokens", 1549),
    "cached more than prompt": with_change(BASE, "data.cachedTokens", 1201),
    "reasoning more than completion": with_change(BASE, "data.reasoningTokens", 351),
    "requestId differs from id": with_change(BASE, "data.requestId", "someone-else"),
    "eventTime two days ahead": with_change(BASE, "eventTime", "2026-12-02T14:03:07Z"),
}
NOW = "2026-11-30T15:00:00Z"  # the clock the corpus is judged against
