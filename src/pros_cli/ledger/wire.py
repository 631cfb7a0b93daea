"""One command, packed by the writer, sent over redis-py's connection pool: the recording hot path.

redis-py's ``execute_command`` packs every argument in Python and wraps each call in its command
machinery (observability hooks, a retry closure, response callbacks), and its pool checks a
connection out and back in around every command (a lock, a poll of the socket, bookkeeping);
for one EVALSHA of 17 arguments that is about as much client CPU as the rest of recording. The
writer instead packs the command itself (RESP: ``*<count>`` then ``$<length>`` + bytes per
argument; the part that is the same for every event of a day-bucket is packed once and cached)
and sends it on one connection it keeps checked out of the client's own pool
(:class:`KeptConnection`), as redis-py's own single-connection clients and pub/sub do; a second
thread that finds it busy takes a pooled connection for its call instead of waiting.

Everything the pool and the connection do stays: connecting (TLS, AUTH through the Entra ID
credential provider), the health check of a connection idle past ``health_check_interval``,
AUTH with a refreshed token before the next command (the pool hands a refreshed token to
connections that are checked out; the pool itself sends it when one comes back, here it is sent
before the next call), reconnecting when the server announces maintenance, the client's retry
policy on a connection error, and errors raised as redis-py raises them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any


def bulk(value: bytes) -> bytes:
    """One RESP bulk string."""
    return b"$%d\r\n%b\r\n" % (len(value), value)


def pack(parts: Sequence[bytes], count: int | None = None) -> bytes:
    """A RESP array header for ``count`` arguments (default: the parts given) and the parts.

    With a larger ``count`` the result is the head of a command whose remaining arguments follow.
    """
    return b"*%d\r\n" % (len(parts) if count is None else count) + b"".join(map(bulk, parts))


def as_bytes(value: str | int | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")


def pool_of(client: Any) -> Any:
    """The client's connection pool when commands may go over it directly, else None (a client
    bound to one connection, or one that is not redis-py's plain ``Redis``)."""
    pool = getattr(client, "connection_pool", None)
    if pool is None or getattr(client, "connection", None) is not None:
        return None
    if not callable(getattr(pool, "get_connection", None)):
        return None
    return pool


def _call(conn: Any, command: bytes) -> Any:
    """One round trip on ``conn``: a connection error disconnects and is retried per the
    connection's retry policy (as ``execute_command`` does), then raised; a Redis error reply is
    raised as redis-py's exception (the reply is read: the connection stays usable)."""

    def send_and_read() -> Any:
        conn.send_packed_command((command,))
        return conn.read_response()

    return conn.retry.call_with_retry(send_and_read, lambda _error: conn.disconnect())


def round_trip(pool: Any, command: bytes) -> Any:
    """Send one packed command on a connection checked out of ``pool`` for the call."""
    conn = pool.get_connection()
    try:
        return _call(conn, command)
    finally:
        pool.release(conn)


_forks = 0  # how many times this process is a forked child (no getpid() system call per command)


def _forked() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_forked)


class KeptConnection:
    """One connection of a pool, kept checked out for a writer's calls (see the module's doc)."""

    def __init__(self, pool: Any):
        self.pool = pool
        self._lock = threading.Lock()
        self._conn: Any = None
        self._fork = _forks

    def round_trip(self, command: bytes) -> Any:
        if not self._lock.acquire(blocking=False):
            return round_trip(self.pool, command)  # busy with another thread's call
        try:
            conn = self._conn
            if conn is None or self._fork != _forks:  # first call, or in a forked child
                conn = self._conn = self.pool.get_connection()  # (the pool resets after a fork)
                self._fork = _forks
            try:
                conn.re_auth()  # a token that arrived while it was checked out (no-op otherwise)
                reply = _call(conn, command)
            except Exception as exc:
                if not _is_reply_error(exc):  # anything but an error reply: start afresh next time
                    self._drop()
                raise
            except BaseException:
                self._drop()
                raise
            if getattr(conn, "should_reconnect", _never)():  # maintenance announced (redis-py 6+)
                conn.disconnect()
            return reply
        finally:
            self._lock.release()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._fork == _forks:
            self.pool.release(conn)

    def close(self) -> None:
        """Give the connection back to the pool."""
        with self._lock:
            self._drop()


def _never() -> bool:
    return False


def _is_reply_error(exc: Exception) -> bool:
    from redis.exceptions import ResponseError

    return isinstance(exc, ResponseError)
