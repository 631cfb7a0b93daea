"""Fixtures of the token processor tests."""

from tests.redisdb import redis_db  # noqa: F401
