"""Fixtures of the reconcile tests: the local Redis (database 10, or REDIS_URL) the ledger's own
recording code writes to, and builders for usage events and for Azure's LLM log rows. No fake
ledger: the ledger side of every end-to-end test is written by the ledger's own ``Ledger.submit``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from tests.redisdb import url_for

REDIS_URL = url_for(10)


@pytest.fixture
def redis_db() -> Iterator[Any]:
    """The test database, emptied (FLUSHDB: this database only) before and after."""
    import redis

    db = redis.Redis.from_url(REDIS_URL)
    db.flushdb()
    yield db
    db.flushdb()
    db.close()


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def usage_event(
    request_id: str,
    when: dt.datetime,
    *,
    region: str = "eastus",
    gateway: str | None = None,
    model: str = "gpt-4o",
    prompt: int = 100,
    completion: int = 50,
    accuracy: str = "exact",
    streamed: bool = False,
) -> dict[str, Any]:
    """One usage event as docs/usage-events.md defines it."""
    gateway = gateway or region
    return {
        "id": request_id,
        "eventType": "Pros.Usage.ModelCall",
        "subject": f"/regions/{gateway}/apis/openai/operations/chat-completions",
        "eventTime": iso(when),
        "dataVersion": "1.0",
        "data": {
            "requestId": request_id,
            "source": "apim",
            "billingCode": "CC-1001",
            "companyName": "Contoso",
            "username": "jane@contoso.com",
            "region": region,
            "gatewayRegion": gateway,
            "model": model,
            "deployment": "chat",
            "api": "openai",
            "operation": "chat-completions",
            "status": 200,
            "latencyMs": 420,
            "streamed": streamed,
            "failover": region != gateway,
            "accuracy": accuracy,
            "promptTokens": prompt,
            "completionTokens": completion,
            "totalTokens": prompt + completion,
        },
    }


def llm_row(
    request_id: str,
    when: dt.datetime,
    gateway_id: str,
    *,
    region: str = "East US",
    model: str = "gpt-4o",
    prompt: int = 100,
    completion: int = 50,
    streamed: bool = False,
) -> dict[str, Any]:
    """One row of ApiManagementGatewayLlmLog as the gateway writes it for a call."""
    return {
        "TimeGenerated": iso(when),
        "CorrelationId": request_id,
        "Region": region,
        "ModelName": model,
        "DeploymentName": "chat",
        "PromptTokens": prompt,
        "CompletionTokens": completion,
        "TotalTokens": prompt + completion,
        "IsStreamCompletion": streamed,
        "_ResourceId": gateway_id,
    }
