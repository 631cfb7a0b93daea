"""The token processor: records each usage event from Event Grid in the Redis ledger, once.

Event Grid delivers at least once, out of order, and retries for 24 hours. For each delivery:
a valid event is recorded atomically and counted once however often it comes; a malformed one is
dead-lettered in Redis with the reason and acknowledged (so it is not retried forever); when Redis
cannot be written (unreachable, credential failing) the function raises and Event Grid retries.

Connection: REDIS_HOST / REDIS_PORT / REDIS_SSL / REDIS_AUTH=entra with the app's managed
identity, or REDIS_URL for a local run. Logs carry event ids and outcomes only: no event
payload, no setting value.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import azure.functions as func

from pros_cli.ledger import Ledger
from pros_cli.ledger.connection import connect_from_env

app = func.FunctionApp()
log = logging.getLogger("token_processor")

_lock = threading.Lock()
_ledger: Ledger | None = None


def ledger() -> Ledger:
    """One ledger (and Redis connection pool) per worker process, built on first use."""
    global _ledger
    built = _ledger
    if built is not None:  # every call after the first: no lock
        return built
    with _lock:
        if _ledger is None:
            _ledger = Ledger(connect_from_env())
        return _ledger


def reset() -> None:
    """Drop the cached ledger (the next event connects again with the current settings)."""
    global _ledger
    with _lock:
        if _ledger is not None:
            _ledger.close()
            _ledger.client.close()
        _ledger = None


def _time_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        # The worker parses eventTime; a value without an offset comes back naive and stays
        # without one here, so the contract check rejects it.
        return value.isoformat()
    return value


def event_dict(event: func.EventGridEvent) -> dict[str, Any]:
    """The delivered event in the contract's shape (Event Grid schema); absent fields left out."""
    out: dict[str, Any] = {
        "id": event.id,
        "eventType": event.event_type,
        "subject": event.subject,
        "eventTime": _time_text(event.event_time),
        "dataVersion": event.data_version,
        "data": event.get_json(),
    }
    topic = event.topic
    if topic is not None:
        out["topic"] = topic
    if None in out.values():  # rare (a malformed delivery): copy only then
        return {k: v for k, v in out.items() if v is not None}
    return out


@app.function_name("token_processor")
@app.event_grid_trigger(arg_name="event")
def token_processor(event: func.EventGridEvent) -> None:
    outcome = ledger().submit(event_dict(event))
    if outcome.reason:
        log.warning("usage event %r %s: %s", outcome.event_id, outcome.status, outcome.reason)
    else:
        log.info("usage event %r %s", outcome.event_id, outcome.status)
