"""A fake Microsoft Entra ID for the local Redis: JWT-shaped tokens, a TokenCredential that hands
them out, and Redis ACL users named by the token's object id with the token as password."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from tests.redisdb import client


def mint(oid: str, lifetime: int = 3600) -> AccessToken:
    """A token shaped like Entra's (header.claims.signature), naming ``oid``; unsigned."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "oid": oid,
        "aud": "https://redis.azure.com",
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    return AccessToken(f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl", now + lifetime)


class FakeCredential:
    """A TokenCredential: returns ``issue()`` for the Redis scope, or fails like azure-identity."""

    def __init__(self, issue: Callable[[], AccessToken] | None = None, *, error: str | None = None):
        self.issue = issue
        self.error = error
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        if self.error or self.issue is None:
            raise ClientAuthenticationError(self.error or "no token")
        return self.issue()


class AclUsers:
    """Redis ACL users made for one test, all deleted at its end."""

    def __init__(self) -> None:
        self.admin = client()
        self.names: list[str] = []

    def allow(
        self, oid: str, *tokens: AccessToken, reset: bool = False, commands: tuple[str, ...] = ("+@all",)
    ) -> None:
        if oid not in self.names:
            self.names.append(oid)
        self.admin.acl_setuser(
            oid,
            enabled=True,
            reset_passwords=reset,
            passwords=[f"+{t.token}" for t in tokens],
            keys=["pros:*"],
            commands=list(commands),
        )

    def kill_connections(self, oid: str) -> int:
        return int(self.admin.execute_command("CLIENT", "KILL", "USER", oid))

    def cleanup(self) -> None:
        for name in self.names:
            self.admin.acl_deluser(name)
        self.admin.close()


@pytest.fixture
def acl_users() -> Iterator[AclUsers]:
    users = AclUsers()
    yield users
    users.cleanup()
