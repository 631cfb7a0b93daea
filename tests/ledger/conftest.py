"""Fixtures of the ledger tests."""

from tests.ledger.entra import acl_users  # noqa: F401
from tests.redisdb import redis_db  # noqa: F401
