"""The Redis server and databases the tests use.

``REDIS_URL`` (when set) is used as is, by every test. Otherwise the local server on
127.0.0.1:6379, each test module on a database of its own (the ledger tests 9, reconcile 10, the
journey 11, ...); a fixture empties its one database (FLUSHDB, never FLUSHALL) before and after.
On a machine where nothing listens there, the tests start ``redis-server`` on a free port for
the session (nothing kept on disk), or fail with a message saying what to install or set.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 6379


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((DEFAULT_HOST, 0))
        return int(sock.getsockname()[1])


@cache
def server() -> tuple[str, int]:
    """(host, port) of a Redis server for the tests: the local one, or one started for them."""
    if _listening(DEFAULT_HOST, DEFAULT_PORT):
        return DEFAULT_HOST, DEFAULT_PORT
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            f"no Redis server listens on {DEFAULT_HOST}:{DEFAULT_PORT} and redis-server is not installed: "
            "install it (apt-get install redis-server) or point REDIS_URL at a Redis server",
            pytrace=False,
        )
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--bind", DEFAULT_HOST, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(proc.terminate)
    deadline = time.monotonic() + 20
    while not _listening(DEFAULT_HOST, port):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"redis-server did not start on {DEFAULT_HOST}:{port}", pytrace=False)
        time.sleep(0.05)
    return DEFAULT_HOST, port


def url_for(db: int) -> str:
    """The URL of the tests' database ``db`` (REDIS_URL, when set, for every test)."""
    env = os.environ.get("REDIS_URL")
    if env:
        return env
    host, port = server()
    return f"redis://{host}:{port}/{db}"


REDIS_URL = url_for(9)  # the ledger tests' database


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
