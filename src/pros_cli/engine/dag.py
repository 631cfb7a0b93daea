"""A bounded-parallel walk of a dependency graph.

A node runs when all its dependencies succeeded. A dependent of a failure is reported
``skipped`` (naming the root cause), so the operator sees root causes only. A dependent of work
that was only started (``--no-wait``) is ``deferred``. When the stop event is set (Ctrl-C), no new
node starts; running nodes are asked to stop and the rest are reported ``not-started``.

Workers are daemon threads: a run that is interrupted never hangs the interpreter on exit.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

OK_STATUSES = {"succeeded", "noop"}


@dataclass
class NodeResult:
    key: str
    status: str  # succeeded | noop | failed | skipped | started | deferred | interrupted | not-started
    value: Any = None
    error: str | None = None
    cause: str | None = None  # the root failure (for skipped) or running node (for deferred)
    elapsed: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)


class NodeFailed(Exception):
    """Raised by a node function for an expected failure with an operator-facing message."""


class NodeInterrupted(Exception):
    """Raised by a node function that noticed the stop event."""


class NodeStarted(Exception):
    """Raised by a node function that started long-running work and did not wait (--no-wait)."""

    def __init__(self, value: Any = None):
        super().__init__("started")
        self.value = value


NodeFn = Callable[[str, Mapping[str, NodeResult]], Any]
EventFn = Callable[[str, str, NodeResult | None], None]


def run_dag(
    deps: Mapping[str, tuple[str, ...]],
    fn: NodeFn,
    *,
    parallelism: int,
    stop: threading.Event | None = None,
    on_event: EventFn | None = None,
    tick: Callable[[], None] | None = None,
    settle_seconds: float = 30.0,
    groups: Mapping[str, str | None] | None = None,
    priority: Mapping[str, float] | None = None,
) -> dict[str, NodeResult]:
    """Run ``fn(key, results_so_far)`` for every node, dependencies first.

    ``fn`` returns a value (succeeded), a :class:`NodeResult` (used as is), or raises
    :class:`NodeFailed` / :class:`NodeInterrupted` / :class:`NodeStarted`. Any other exception is
    a failure too, reported with its text. Nodes that share a group (``groups[key]``) never run
    at the same time. Among ready nodes, higher ``priority`` starts first (the apply passes the
    length of the longest chain of work that waits on each node, so the critical path starts
    first).
    """
    groups = groups or {}
    stop = stop or threading.Event()
    for key, needs in deps.items():
        for need in needs:
            if need not in deps:
                raise ValueError(f"node {key!r} depends on unknown node {need!r}")
    order = list(deps)
    if priority:
        rank = {key: i for i, key in enumerate(order)}
        schedule = sorted(order, key=lambda k: (-priority.get(k, 0.0), rank[k]))
    else:
        schedule = order
    results: dict[str, NodeResult] = {}
    running: dict[str, float] = {}
    tasks: queue.Queue[str | None] = queue.Queue()
    done: queue.Queue[NodeResult] = queue.Queue()
    width = max(1, min(parallelism, len(order) or 1))
    stop_seen_at: float | None = None

    def worker() -> None:
        while True:
            key = tasks.get()
            if key is None:
                return
            started = time.monotonic()
            try:
                value = fn(key, results)
                result = value if isinstance(value, NodeResult) else NodeResult(key, "succeeded", value=value)
            except NodeFailed as exc:
                result = NodeResult(key, "failed", error=str(exc))
            except NodeInterrupted as exc:
                result = NodeResult(key, "interrupted", error=str(exc) or "interrupted")
            except NodeStarted as exc:
                result = NodeResult(key, "started", value=exc.value)
            except Exception as exc:
                result = NodeResult(key, "failed", error=f"{type(exc).__name__}: {exc}")
            result.key = key
            result.elapsed = time.monotonic() - started
            done.put(result)

    threads = [threading.Thread(target=worker, name=f"pros-worker-{i}", daemon=True) for i in range(width)]
    for thread in threads:
        thread.start()

    def blocked_by(key: str) -> NodeResult | None:
        """Return a synthetic result when a dependency rules this node out, else None."""
        for need in deps[key]:
            dep = results.get(need)
            if dep is None:
                continue
            if dep.status in ("failed", "skipped"):
                return NodeResult(key, "skipped", cause=dep.cause or need)
            if dep.status in ("started", "deferred"):
                return NodeResult(key, "deferred", cause=dep.cause if dep.status == "deferred" else need)
            if dep.status in ("interrupted", "not-started"):
                return NodeResult(key, "not-started")
        return None

    try:
        while len(results) < len(order):
            progressed = True
            while progressed:
                progressed = False
                for key in schedule:
                    if key in results or key in running:
                        continue
                    blocked = blocked_by(key)
                    if blocked is not None:
                        results[key] = blocked
                        if on_event:
                            on_event("finish", key, blocked)
                        progressed = True
                        continue
                    if stop.is_set():
                        if not running:
                            results[key] = NodeResult(key, "not-started")
                            progressed = True
                        continue
                    if all(
                        results.get(n) is not None and results[n].status in OK_STATUSES for n in deps[key]
                    ):
                        if len(running) >= width:
                            continue
                        group = groups.get(key)
                        if group is not None and any(groups.get(other) == group for other in running):
                            continue
                        running[key] = time.monotonic()
                        if on_event:
                            on_event("start", key, None)
                        tasks.put(key)
            if len(results) >= len(order):
                break
            if stop.is_set() and not running:
                for key in order:
                    results.setdefault(key, NodeResult(key, "not-started"))
                break
            try:
                result = done.get(timeout=0.1)
            except queue.Empty:
                if tick:
                    tick()
                if stop.is_set() and running:
                    if stop_seen_at is None:
                        stop_seen_at = time.monotonic()
                    elif time.monotonic() - stop_seen_at > settle_seconds:
                        for key in list(running):
                            results[key] = NodeResult(key, "interrupted", error="still running at exit")
                            running.pop(key)
                continue
            running.pop(result.key, None)
            if result.key in results:  # given up on after a stop; ignore the late answer
                continue
            results[result.key] = result
            if on_event:
                on_event("finish", result.key, result)
    finally:
        for _ in threads:
            tasks.put(None)
    return {key: results[key] for key in order}
