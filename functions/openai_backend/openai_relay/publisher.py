"""Publishes usage events to the deployment's Event Grid topic, in the background.

``publish`` returns at once; the POST runs as a task on the event loop, so the caller's stream is
never held up by it. Event Grid takes a JSON array of events in the Event Grid schema at the
topic endpoint with ``api-version=2018-01-01``
(https://learn.microsoft.com/azure/event-grid/post-to-custom-topic), authenticated with a bearer
token for ``https://eventgrid.azure.net`` (the topic has local auth disabled; the app's identity
holds "EventGrid Data Sender" on it). A failed POST is retried; an event that still cannot be
delivered is logged whole (it holds no prompt text and no secret) so it can be replayed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx

from .identity import TokenCache

API_VERSION = "2018-01-01"
RETRY_DELAYS = (0.5, 2.0, 5.0)  # seconds before the 2nd, 3rd and 4th attempt

log = logging.getLogger("pros.openai_backend")


class EventGridPublisher:
    def __init__(
        self,
        endpoint: str,
        tokens: TokenCache,
        client: Callable[[], httpx.AsyncClient],
        *,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ):
        self.endpoint = endpoint
        self.tokens = tokens
        self._client = client
        self.retry_delays = retry_delays
        self._tasks: set[asyncio.Task[bool]] = set()
        self.published = 0
        self.failed = 0

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def publish(self, event: dict[str, Any]) -> None:
        """Send ``event`` in the background (call from the event loop)."""
        task = asyncio.get_running_loop().create_task(self.send(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def send(self, event: dict[str, Any]) -> bool:
        body = json.dumps([event], separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        problem = ""
        delays = self.retry_delays
        for attempt in range(len(delays) + 1):
            if attempt:
                await asyncio.sleep(delays[attempt - 1])
            try:
                token = await self.tokens.token()
                response = await self._client().post(
                    self.endpoint,
                    params={"api-version": API_VERSION},
                    content=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                )
            except Exception as exc:  # network errors, no token: retried like a 5xx
                problem = type(exc).__name__
                continue
            if response.is_success:
                self.published += 1
                log.info("usage event %s published", event["id"])
                return True
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code not in (408, 429):
                break  # the topic refuses this event (auth, schema): retrying cannot help
        self.failed += 1
        log.error(
            "usage event %s not published (%s); the event, for replay: %s",
            event["id"],
            problem,
            json.dumps(event, separators=(",", ":"), ensure_ascii=False),
        )
        return False
