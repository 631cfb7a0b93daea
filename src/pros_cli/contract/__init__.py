"""The usage event contract shared by every producer and consumer of token-usage events.

Producers: the API Management policy (non-streamed calls) and the regional streaming function
(streamed calls). Consumer: the token processor, which records events in the Redis ledger that
``pros usage`` reads. docs/usage-events.md explains each field; ``usage_event.schema.json`` beside
this module is the machine-readable form (JSON Schema 2020-12), and tests hold every producer's
events against it.

Only the standard library here: this package is vendored into the token processor's zip.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("usage_event.schema.json")
EVENT_TYPE = "Pros.Usage.ModelCall"
DATA_VERSION = "1.0"
# Caller-supplied dimensions: the query parameters the gateway strips before forwarding.
QUERY_DIMENSIONS = {"billingCode": "billingCode", "companyName": "companyName", "username": "username"}
TOKEN_FIELDS = ("promptTokens", "completionTokens", "totalTokens", "cachedTokens", "reasoningTokens")
MAX_TOKENS = 10_000_000
MAX_DIMENSION_LENGTH = 256
ACCURACY = ("exact", "estimated")
SOURCES = ("apim", "function")


@cache
def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
