"""The writer's kept connection against the local Redis: what redis-py's pool does around each
command still happens (re-authentication, reconnecting, maintenance, forks, a busy connection)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import Any

import pytest
import redis
from redis.auth.token import SimpleToken

from pros_cli.ledger import Ledger
from pros_cli.ledger import wire as W
from pros_cli.ledger.connection import connect
from pros_cli.ledger.report import build_report
from tests.ledger.entra import AclUsers
from tests.ledger.factory import make_event
from tests.redisdb import REDIS_URL

CLIENT_ID = W.pack([b"CLIENT", b"ID"])
WHOAMI = W.pack([b"ACL", b"WHOAMI"])


def client_id(kept: W.KeptConnection) -> int:
    return int(kept.round_trip(CLIENT_ID))


def test_one_connection_is_kept_across_calls(redis_db: Any) -> None:
    kept = W.KeptConnection(redis_db.connection_pool)
    first = client_id(kept)
    assert [client_id(kept) for _ in range(5)] == [first] * 5
    assert kept.round_trip(W.pack([b"PING"])) in (b"PONG", "PONG", True)
    kept.close()
    assert redis_db.connection_pool._in_use_connections == set()


def test_a_busy_connection_is_not_waited_for(redis_db: Any) -> None:
    kept = W.KeptConnection(redis_db.connection_pool)
    mine = client_id(kept)
    with kept._lock:  # another thread's call in progress
        other = client_id(kept)
    assert other != mine and client_id(kept) == mine
    kept.close()


def test_a_dropped_connection_is_replaced_and_the_event_counted_once(redis_db: Any) -> None:
    ledger = Ledger(connect(REDIS_URL))  # the token processor's client: retries on connection errors
    assert ledger.submit(make_event("drop-1")).status == "recorded"
    before = client_id(ledger._conn)
    redis_db.execute_command("CLIENT", "KILL", "ID", before)  # the server closes it (idle timeout, failover)
    assert ledger.submit(make_event("drop-2")).status == "recorded"
    assert ledger.submit(make_event("drop-2")).status == "duplicate"
    assert client_id(ledger._conn) != before
    day = dt.date.fromisoformat(make_event("drop-1")["eventTime"][:10])
    assert build_report(redis_db, day, day).totals["requests"] == 2
    ledger.close()


def test_an_unreachable_server_raises_and_the_next_call_connects_again(redis_db: Any) -> None:
    kept = W.KeptConnection(redis.Redis(port=1, socket_connect_timeout=1).connection_pool)
    with pytest.raises(redis.ConnectionError):
        kept.round_trip(CLIENT_ID)
    assert kept._conn is None  # given back: the next call starts from a fresh connection
    live = W.KeptConnection(redis_db.connection_pool)
    assert client_id(live) > 0
    live.close()


def test_an_error_reply_keeps_the_connection(redis_db: Any) -> None:
    kept = W.KeptConnection(redis_db.connection_pool)
    mine, conn = client_id(kept), kept._conn
    with pytest.raises(redis.exceptions.NoScriptError):
        kept.round_trip(W.pack([b"EVALSHA", b"0" * 40, b"0"]))
    assert kept._conn is conn and conn in redis_db.connection_pool._in_use_connections
    assert client_id(kept) == mine
    kept.close()


def test_a_refreshed_token_authenticates_the_kept_connection_before_its_next_command(
    redis_db: Any, acl_users: AclUsers
) -> None:
    """The pool hands a refreshed token to checked-out connections; the kept one sends AUTH with
    it before its next command (as the pool does when a connection comes back)."""
    first, second = f"writer-{uuid.uuid4().hex[:8]}", f"writer-{uuid.uuid4().hex[:8]}"
    for name in (first, second):
        acl_users.names.append(name)
        acl_users.admin.acl_setuser(name, enabled=True, passwords=[f"+pw-{name}"], keys=["*"],
                                    commands=["+@all"])  # fmt: skip
    db = redis_db.connection_pool.connection_kwargs
    client = redis.Redis(host=db.get("host", "127.0.0.1"), port=db.get("port", 6379), db=db.get("db", 9),
                         username=first, password=f"pw-{first}")  # fmt: skip
    ledger = Ledger(client)
    assert ledger.submit(make_event("auth-1")).status == "recorded"
    assert ledger._conn.round_trip(WHOAMI) in (first, first.encode())
    client.connection_pool.re_auth_callback(SimpleToken(f"pw-{second}", -1, -1, {"oid": second}))
    assert ledger.submit(make_event("auth-2")).status == "recorded"
    assert ledger._conn.round_trip(WHOAMI) in (second, second.encode())
    ledger.close()
    client.close()


def test_announced_maintenance_reconnects(redis_db: Any) -> None:
    kept = W.KeptConnection(redis_db.connection_pool)
    mine = client_id(kept)
    kept._conn.mark_for_reconnect()  # what a maintenance notification does to a connection
    assert client_id(kept) == mine  # this call still goes out on it; then it is closed
    assert client_id(kept) != mine
    kept.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_uses_a_connection_of_its_own(redis_db: Any) -> None:
    kept = W.KeptConnection(redis_db.connection_pool)
    parent = client_id(kept)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the id its calls use, then leave without cleanup
        try:
            os.write(write, str(client_id(kept)).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64) or b"0")
    os.waitpid(pid, 0)
    os.close(read)
    assert child not in (0, parent)
    assert client_id(kept) == parent  # the parent's connection is untouched
    kept.close()


def test_a_single_connection_client_goes_through_the_script_object(redis_db: Any) -> None:
    db = redis_db.connection_pool.connection_kwargs
    single = redis.Redis(host=db.get("host", "127.0.0.1"), port=db.get("port", 6379), db=db.get("db", 9),
                         single_connection_client=True)  # fmt: skip
    ledger = Ledger(single)
    assert ledger._conn is None
    assert ledger.submit(make_event("single-1")).status == "recorded"
    assert ledger.submit(make_event("single-1")).status == "duplicate"
    single.close()
