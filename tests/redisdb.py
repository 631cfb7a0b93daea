"""The Redis database the ledger tests use: db 9 of the local server, or REDIS_URL.

The fixture empties that one database (FLUSHDB, never FLUSHALL) before and after each test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/9"


def client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL)


@pytest.fixture
def redis_db() -> Iterator[Any]:
    db = client()
    db.flushdb()
    yield db
    db.flushdb()
    db.close()
