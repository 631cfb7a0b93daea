"""Entra ID tokens from the app's managed identity, cached until shortly before they expire.

A request never waits for a token fetch unless the cached token is within ``REFRESH_MARGIN`` of
its expiry (managed identity tokens live for hours, so that is one fetch per audience every few
hours). Concurrent requests that find the token stale share one fetch.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, Protocol

OPENAI_SCOPE = "https://cognitiveservices.azure.com/.default"
EVENTGRID_SCOPE = "https://eventgrid.azure.net/.default"
REFRESH_MARGIN = 300.0  # seconds before expiry at which a cached token is renewed

log = logging.getLogger("pros.openai_backend")


class Credential(Protocol):
    """What azure-identity's synchronous credentials offer."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...


def default_credential(client_id: str | None) -> Credential:
    """The app's managed identity (``client_id`` selects a user-assigned one). Outside Azure (no
    managed identity endpoint in the environment) the developer's own login, for local runs."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"):
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential(managed_identity_client_id=client_id)


class TokenError(Exception):
    """No token could be obtained (the message never carries one)."""


class TokenCache:
    """One audience's bearer token, fetched through a synchronous credential in a worker thread."""

    def __init__(self, credential: Credential, scope: str, *, margin: float = REFRESH_MARGIN):
        self.credential = credential
        self.scope = scope
        self.margin = margin
        self.fetches = 0
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock: asyncio.Lock | None = None

    def _fresh(self, now: float) -> bool:
        return self._token is not None and self._expires_on - now > self.margin

    async def token(self) -> str:
        if self._fresh(time.time()):
            return self._token  # type: ignore[return-value]
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = time.time()
            if self._fresh(now):
                return self._token  # type: ignore[return-value]
            try:
                access = await asyncio.to_thread(self.credential.get_token, self.scope)
            except Exception as exc:
                if self._token is not None and self._expires_on > now + 10:
                    # Still valid for a while: keep serving with it, renew on a later call.
                    log.warning(
                        "token renewal for %s failed (%s); using the cached token",
                        self.scope,
                        type(exc).__name__,
                    )
                    return self._token
                raise TokenError(f"no token for {self.scope}: {type(exc).__name__}") from exc
            self.fetches += 1
            self._token, self._expires_on = access.token, float(access.expires_on)
            return self._token
