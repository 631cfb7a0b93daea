"""Apply: walk the dependency graph with bounded parallelism and record every step.

For each change: echo the az equivalent, record the start in the state file, call the SDK,
record the continuation token of a long-running operation, wait for it (or, with --no-wait,
return once it has started), record the end. A dependent of a failure is skipped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pros_cli.azure.errors import describe
from pros_cli.echo import Echo
from pros_cli.engine.dag import NodeFailed, NodeInterrupted, NodeResult, NodeStarted, run_dag
from pros_cli.engine.plan import Change, Plan, PlanOptions, decide
from pros_cli.resources.base import KeepInstead, Resource
from pros_cli.state import StateStore


@dataclass
class ApplyOptions:
    parallelism: int = 8
    no_wait: bool = False
    purge: bool = False  # purge soft-deleted resources right after deleting them
    poll_seconds: float = 0.25  # how often a waiting worker checks the stop event
    resume_poll_seconds: float = 5.0  # GET-polling a resource that has no continuation token


@dataclass
class ApplyReport:
    results: dict[str, NodeResult]
    changes: dict[str, Change]
    interrupted: bool = False
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def with_status(self, *statuses: str) -> list[NodeResult]:
        return [r for r in self.results.values() if r.status in statuses]

    @property
    def failed(self) -> list[NodeResult]:
        return self.with_status("failed")

    @property
    def result(self) -> str:
        """One word for the run: interrupted, failed, started (work left running), succeeded."""
        if self.interrupted:
            return "interrupted"
        if self.failed:
            return "failed"
        if self.with_status("started", "deferred"):
            return "started"
        return "succeeded"

    def summary(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for key, result in self.results.items():
            change = self.changes[key]
            if change.read_only:
                continue
            label = result.status
            if result.status == "succeeded":
                label = {
                    "create": "created",
                    "update": "updated",
                    "replace": "replaced",
                    "resume": "resumed",
                }.get(change.action, "ok")
            elif result.status == "noop":
                label = "unchanged"
            out[label] = out.get(label, 0) + 1
        return out


def critical_path_priority(changes: list[Change], deps: Mapping[str, tuple[str, ...]]) -> dict[str, float]:
    """For each node: its own typical duration plus the longest chain of work waiting on it.

    Starting the nodes with the longest remaining chain first (API Management: 30+ minutes)
    keeps the total close to the critical path when parallelism is the limit.
    """
    own = {c.key: (c.resource.typical_seconds if c.action != "no-op" else 0.0) for c in changes}
    dependents: dict[str, list[str]] = {key: [] for key in deps}
    for key, needs in deps.items():
        for need in needs:
            dependents[need].append(key)
    memo: dict[str, float] = {}

    def longest(key: str) -> float:
        if key not in memo:
            memo[key] = own[key] + max((longest(d) for d in dependents[key]), default=0.0)
        return memo[key]

    return {key: longest(key) for key in deps}


def _run_after(change: Change, keys: set[str]) -> tuple[str, ...]:
    """What a change waits for: its dependencies; for a delete, the reverse: everything that
    depended on the resource in the deployment it is leaving (their deletes, or the updates that
    stop them referring to it) runs first."""
    if change.action == "delete" or change.forget:
        return tuple(k for k in change.resource.delete_after if k in keys)
    return tuple(d for d in change.resource.depends_on if d in keys)


def _is_poller(value: Any) -> bool:
    return hasattr(value, "continuation_token") and hasattr(value, "done") and hasattr(value, "wait")


class Applier:
    def __init__(
        self,
        *,
        clients: Any,
        state: StateStore,
        echo: Echo,
        options: ApplyOptions,
        stop: threading.Event,
        on_event: Callable[[str, Change, NodeResult | None], None] | None = None,
        tick: Callable[[], None] | None = None,
    ):
        self.clients = clients
        self.state = state
        self.echo = echo
        self.options = options
        self.stop = stop
        self.on_event = on_event
        self.tick = tick
        self.deleted_ids: set[str] = set()

    # ---- one node ---------------------------------------------------------------------------
    def _wait(self, poller: Any, r: Resource) -> Any:
        while not poller.done():
            if self.stop.is_set():
                raise NodeInterrupted(
                    f"{r.describe()}: interrupted while waiting; the operation keeps "
                    "running in Azure and the next run resumes it"
                )
            poller.wait(self.options.poll_seconds)
        return poller.result()

    def _finish(self, change: Change, value: Any) -> Any:
        r = change.resource
        current = value if isinstance(value, dict) else None
        if current is None:
            current = r.read(self.clients)
        self.state.record_done(r.key, r.identity(), origin=change.origin, outputs=r.outputs(current))
        return current

    def _start(self, change: Change, action: str) -> Any:
        r = change.resource
        self.echo(change.az_commands())
        self.state.record_start(r.key, r.identity(), action=action, origin=change.origin)
        r.announce = self.echo
        if change.action == "update" and change.diffs:
            return r.update(self.clients, change.current or {}, change.diffs)
        if change.action == "replace":
            deleting = r.delete(self.clients)
            if _is_poller(deleting):
                self._wait(deleting, r)
        return r.create(self.clients)

    def _run_operation(self, change: Change, result: Any) -> Any:
        r = change.resource
        if _is_poller(result):
            try:
                self.state.record_token(r.key, result.continuation_token())
            except Exception:
                self.state.record_token(r.key, None)
            if self._leave_running(r):
                raise NodeStarted(r.arm_id())
            result = self._wait(result, r)
        return self._finish(change, result)

    def _leave_running(self, r: Resource) -> bool:
        """--no-wait leaves a long-running operation to Azure, except in a serial group: Azure runs
        one such operation at a time (the model deployments of one account answer 409
        RequestConflict to a second), so the next member can start only once this one is done."""
        return self.options.no_wait and r.serial_group is None

    def _resume(self, change: Change) -> Any:
        r = change.resource
        if change.continuation_token:
            poller = r.create(self.clients, continuation_token=change.continuation_token)
            if self._leave_running(r):
                raise NodeStarted(r.arm_id())
            return self._finish(change, self._wait(poller, r))
        # No token (e.g. killed before it was recorded): poll the resource itself until done.
        while True:
            current = r.read(self.clients)
            if current is None or not r.in_progress(current):
                break
            if self._leave_running(r):
                raise NodeStarted(r.arm_id())
            deadline = time.monotonic() + self.options.resume_poll_seconds
            while time.monotonic() < deadline:
                if self.stop.is_set():
                    raise NodeInterrupted(f"{r.describe()}: interrupted while waiting")
                time.sleep(min(self.options.poll_seconds, self.options.resume_poll_seconds))
        again, refusal = decide(
            r, current, self.state.get(r.key), PlanOptions(adopt=change.origin == "pre-existing")
        )
        if refusal:
            raise NodeFailed(refusal)
        if again.action == "no-op":
            return self._finish(again, current)
        again.origin = change.origin
        return self._run_operation(again, self._start(again, again.action))

    def _delete(self, change: Change) -> Any:
        r = change.resource
        try:
            r.check_delete(self.clients, frozenset(self.deleted_ids))
        except KeepInstead as kept:
            self.state.forget(r.key, event="kept")
            return NodeResult(r.key, "noop", value=None, detail={"kept": str(kept)})
        self.echo(change.az_commands())
        self.state.record_start(r.key, r.identity(), action="delete", origin=change.origin)
        poller = r.delete(self.clients)
        if _is_poller(poller):
            self._wait(poller, r)
        self.deleted_ids.add(r.arm_id().lower())
        purge = getattr(r, "purge", None)
        if self.options.purge and purge is not None:
            # Soft-deleted (API Management, Azure OpenAI): free the name now, not in 48 hours.
            self.echo(r.az_purge())
            poller = purge(self.clients)
            if _is_poller(poller):
                self._wait(poller, r)
            self.state.forget(r.key, event="deleted and purged")
        else:
            self.state.forget(r.key, event="deleted")
        return None

    def run_change(self, key: str, results: Mapping[str, NodeResult], changes: Mapping[str, Change]) -> Any:
        change = changes[key]
        r = change.resource
        for dep in r.depends_on:
            if dep in results and isinstance(results[dep].value, dict):
                r.inputs[dep] = results[dep].value
        if change.forget:
            self.state.forget(key, event=change.forget)
            return NodeResult(key, "noop", value=None)
        if change.read_only:  # another command's resource: read for its body, never recorded here
            return NodeResult(key, "noop", value=change.current)
        if change.action == "no-op":
            recorded = self.state.get(key)
            outputs = r.outputs(change.current)
            if (
                recorded is None
                or recorded.get("status") != "succeeded"
                or recorded.get("outputs") != outputs
                or recorded.get("origin") != change.origin
            ):
                self.state.record_done(key, r.identity(), origin=change.origin, outputs=outputs)
            return NodeResult(key, "noop", value=change.current)
        if self.stop.is_set():
            raise NodeInterrupted("not started")
        try:
            if change.action == "resume":
                return self._resume(change)
            if change.action == "delete":
                return self._delete(change)
            action = change.action if change.action in ("create", "replace") else "update"
            return self._run_operation(change, self._start(change, action))
        except (NodeStarted, NodeInterrupted, NodeFailed):
            raise
        except Exception as exc:
            message = f"{r.describe()}: {change.action} failed: {describe(exc)}"
            self.state.record_failed(key, message)
            raise NodeFailed(message) from exc

    # ---- the walk ---------------------------------------------------------------------------
    def apply(self, plan: Plan) -> ApplyReport:
        changes = plan.by_key()
        keys = set(changes)
        deps = {c.key: _run_after(c, keys) for c in plan.changes}

        def on_event(kind: str, key: str, result: NodeResult | None) -> None:
            if self.on_event:
                self.on_event(kind, changes[key], result)

        results = run_dag(
            deps,
            lambda key, res: self.run_change(key, res, changes),
            parallelism=self.options.parallelism,
            stop=self.stop,
            on_event=on_event,
            tick=self.tick,
            groups={c.key: c.resource.serial_group for c in plan.changes},
            priority=critical_path_priority(plan.changes, deps),
        )
        report = ApplyReport(results, changes, interrupted=self.stop.is_set())
        for key in results:
            entry = self.state.get(key)
            if entry and entry.get("outputs"):
                report.outputs[key] = entry["outputs"]
        return report
