"""Fixtures of the ledger tests."""

from tests.redisdb import redis_db  # noqa: F401
