"""Serving ASGI apps on loopback under uvicorn, each in a thread with its own event loop.

Used by the streaming function's tests and by ``benchmarks/bench_streaming.py``: the function's
real handler, the fake Azure OpenAI, the fake Event Grid topic and the fake managed identity
endpoint all run as real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn


class InFlight:
    """ASGI wrapper counting requests whose app call (for a streamed answer: the whole stream)
    has not returned yet."""

    def __init__(self, app: Any):
        self.app = app
        self.count = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self._lock:
            self.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.count -= 1


class Served:
    """One app under uvicorn on an ephemeral loopback port."""

    def __init__(self, app: Any, *, name: str = "server"):
        self.app = InFlight(app)
        # proto IPPROTO_TCP, as ``loop.create_server(host, port)`` would make it: asyncio turns
        # Nagle's algorithm off (TCP_NODELAY) only on sockets that say they are TCP, and a proto-0
        # socket holds each small event back until the peer's delayed ACK (~40 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", loop="asyncio", http="h11", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, args=(sock,), name=name, daemon=True)
        self._thread.start()
        wait_until(lambda: self.server.started, what=f"{name} to start")

    def _run(self, sock: socket.socket) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            await self.server.serve(sockets=[sock])

        asyncio.run(serve())

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's loop and wait for its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def wait_quiet(self, timeout: float = 30.0) -> None:
        """Until no request is being served."""
        wait_until(lambda: self.app.count == 0, timeout=timeout, what="requests to finish")

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)


def wait_until(condition: Callable[[], bool], *, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll until ``condition()`` holds; fail loudly (not a timing assertion: a hang guard)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)
