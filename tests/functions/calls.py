"""Calling the served function the way API Management does: the official openai library, with the
headers the gateway sets (and the function key it sends), and checking events against the contract."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import openai

from pros_cli.contract import load_schema

API_VERSION = "2024-10-21"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FUNCTION_KEY = "function-key-held-by-apim"
CALLER_KEY = "caller-subscription-key"


def gateway_headers(request_id: str, **extra: str) -> dict[str, str]:
    headers = {
        "x-functions-key": FUNCTION_KEY,
        "x-pros-request-id": request_id,
        "x-pros-billing-code": "CC-1001",
        "x-pros-company-name": "Contoso",
        "x-pros-username": "jane@contoso.com",
        "x-pros-gateway-region": "East US",
    }
    headers.update(extra)
    return headers


def azure_client(url: str, headers: dict[str, str]) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=url,
        api_version=API_VERSION,
        api_key=CALLER_KEY,
        max_retries=0,
        default_headers=headers,
    )


def v1_client(url: str, headers: dict[str, str]) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=url + "/openai/v1", api_key=CALLER_KEY, max_retries=0, default_headers=headers
    )


def validate(event: dict[str, Any]) -> None:
    """The schema, then the consumer's own rules (docs/usage-events.md)."""
    jsonschema.Draft202012Validator(load_schema(), format_checker=jsonschema.FormatChecker()).validate(event)
    data = event["data"]
    assert RFC3339.match(event["eventTime"])  # jsonschema checks "date-time" only with an extra package
    when = datetime.fromisoformat(event["eventTime"])
    assert when.tzinfo is not None and when <= datetime.now(UTC) + timedelta(hours=24)
    assert event["id"] == data["requestId"]
    assert data["totalTokens"] == data["promptTokens"] + data["completionTokens"]
    assert data.get("cachedTokens", 0) <= data["promptTokens"]
    assert data.get("reasoningTokens", 0) <= data["completionTokens"]


MESSAGES = [{"role": "user", "content": "PROMPT-TEXT-never-logged: tell me about tokens"}]
PROMPT_TEXT = "PROMPT-TEXT-never-logged"
