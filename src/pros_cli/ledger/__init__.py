"""The usage ledger: the one implementation of the Redis key schema, the recording script and the
reports, used by the token processor (which writes) and by ``pros usage`` (which reads).

Standard library and redis-py only (redis-entraid and azure-identity lazily, for Entra ID; orjson
when installed, see :mod:`.encode`): this package is vendored into the token processor's zip by
:func:`pros_cli.functions_package.build_package`.
"""

from __future__ import annotations

from pros_cli.ledger.keys import BUCKETS, DIMENSIONS, METRICS, DayBucket
from pros_cli.ledger.record import DEAD_LETTERED, DUPLICATE, RECORDED, STALE, Ledger, Outcome, prepare
from pros_cli.ledger.validate import InvalidEvent, check_event, problem

__all__ = [
    "BUCKETS",
    "DEAD_LETTERED",
    "DIMENSIONS",
    "DUPLICATE",
    "METRICS",
    "RECORDED",
    "STALE",
    "DayBucket",
    "InvalidEvent",
    "Ledger",
    "Outcome",
    "check_event",
    "prepare",
    "problem",
]
