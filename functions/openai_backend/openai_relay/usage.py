"""Usage events (docs/usage-events.md): who called, from the gateway's headers, and the backend's
exact token counts.

The gateway (API Management) deletes any incoming header of the names below and sets its own, so
a caller cannot forge them; the function trusts them because only the gateway holds its key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .settings import region_name

# The contract's constants (pros_cli.contract holds the same; a test keeps them equal).
EVENT_TYPE = "Pros.Usage.ModelCall"
DATA_VERSION = "1.0"
MAX_TOKENS = 10_000_000

H_REQUEST_ID = "x-pros-request-id"
H_BILLING_CODE = "x-pros-billing-code"
H_COMPANY = "x-pros-company-name"
H_USERNAME = "x-pros-username"
H_GATEWAY_REGION = "x-pros-gateway-region"
H_GEOGRAPHY = "x-pros-geography"
H_API = "x-pros-api"
H_OPERATION = "x-pros-operation"
H_EMIT_EVENT = "x-pros-emit-event"
GATEWAY_HEADERS = (
    H_REQUEST_ID,
    H_BILLING_CODE,
    H_COMPANY,
    H_USERNAME,
    H_GATEWAY_REGION,
    H_GEOGRAPHY,
    H_API,
    H_OPERATION,
    H_EMIT_EVENT,
)

_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_REGION = re.compile(r"^[a-z0-9]{2,40}$")


class BadGatewayHeaders(Exception):
    """The call did not come through the gateway, or the gateway sent an unusable value."""


def _text(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value as the gateway sent it. HTTP servers decode header bytes as Latin-1; the
    gateway sends UTF-8, so a non-ASCII billing code or name is re-decoded as such."""
    value = headers.get(name)
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


@dataclass(frozen=True)
class CallContext:
    """The gateway's view of the call: identity, dimensions and names for the event."""

    request_id: str
    billing_code: str | None
    company_name: str | None
    username: str | None
    gateway_region: str | None
    geography: str | None
    api: str
    operation: str
    emit_event: bool

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], *, default_operation: str) -> CallContext:
        request_id = (headers.get(H_REQUEST_ID) or "").strip()
        if not request_id:
            raise BadGatewayHeaders(
                f"missing {H_REQUEST_ID}: this function serves calls through the pros gateway only "
                "(the gateway sets the request id that identifies the call's usage event)"
            )
        if not _ID.match(request_id):
            raise BadGatewayHeaders(f"{H_REQUEST_ID} must be 1-128 of A-Z a-z 0-9 . _ : -")
        gateway_region = _text(headers, H_GATEWAY_REGION)
        if gateway_region is not None:
            gateway_region = region_name(gateway_region)
            if not _REGION.match(gateway_region):
                raise BadGatewayHeaders(f"{H_GATEWAY_REGION} must be an Azure region name such as eastus")
        return cls(
            request_id=request_id,
            billing_code=_text(headers, H_BILLING_CODE),
            company_name=_text(headers, H_COMPANY),
            username=_text(headers, H_USERNAME),
            gateway_region=gateway_region,
            geography=_text(headers, H_GEOGRAPHY),
            api=(_text(headers, H_API) or "").strip() or "openai",
            operation=(_text(headers, H_OPERATION) or "").strip() or default_operation,
            emit_event=(headers.get(H_EMIT_EVENT) or "").strip().lower() == "true",
        )


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
        return None
    return value


def _detail(usage: Mapping[str, Any], details: str, field: str) -> int:
    inner = usage.get(details)
    value = inner.get(field) if isinstance(inner, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def token_counts(usage: Any) -> dict[str, int] | None:
    """The contract's token fields from a backend ``usage`` object: chat, completions and
    embeddings (``prompt_tokens``...) or the Responses API (``input_tokens``...). None when the
    object is not a readable usage report."""
    if not isinstance(usage, Mapping):
        return None
    if "input_tokens" in usage:  # Responses API
        prompt, completion = _count(usage.get("input_tokens")), _count(usage.get("output_tokens"))
        total = _count(usage.get("total_tokens"))
        cached = _detail(usage, "input_tokens_details", "cached_tokens")
        reasoning = _detail(usage, "output_tokens_details", "reasoning_tokens")
    else:
        prompt = _count(usage.get("prompt_tokens"))
        # Embeddings report no completion tokens.
        completion = _count(usage.get("completion_tokens", 0))
        total = _count(usage.get("total_tokens"))
        cached = _detail(usage, "prompt_tokens_details", "cached_tokens")
        reasoning = _detail(usage, "completion_tokens_details", "reasoning_tokens")
    if prompt is None or completion is None:
        return None
    return {
        "promptTokens": prompt,
        "completionTokens": completion,
        "totalTokens": prompt + completion if total is None else total,
        "cachedTokens": cached,
        "reasoningTokens": reasoning,
    }


def event_time(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_event(
    ctx: CallContext,
    *,
    region: str,
    model: str | None,
    deployment: str | None,
    status: int,
    latency_ms: int,
    streamed: bool,
    counts: Mapping[str, int],
    now: datetime | None = None,
) -> dict[str, Any]:
    """One usage event in the Event Grid schema, following docs/usage-events.md."""
    data: dict[str, Any] = {
        "requestId": ctx.request_id,
        "source": "function",
        "billingCode": ctx.billing_code,
        "companyName": ctx.company_name,
        "username": ctx.username,
        "region": region,
    }
    if ctx.gateway_region is not None:
        data["gatewayRegion"] = ctx.gateway_region
    data |= {
        "geography": ctx.geography,
        "model": model or None,
        "deployment": deployment or None,
        "api": ctx.api,
        "operation": ctx.operation,
        "status": status,
        "latencyMs": max(0, latency_ms),
        "streamed": streamed,
        "failover": ctx.gateway_region is not None and ctx.gateway_region != region,
        "accuracy": "exact",
        **counts,
    }
    return {
        "id": ctx.request_id,
        "eventType": EVENT_TYPE,
        "subject": f"/regions/{region}/apis/{ctx.api}/operations/{ctx.operation}",
        "eventTime": event_time(now),
        "dataVersion": DATA_VERSION,
        "data": data,
    }
