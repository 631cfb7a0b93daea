"""One converge run: open and lock the state, plan, stop (dry run) or apply, report.

Shared by every command that brings Azure to a desired state. The CLI module builds the spec and
the resource list and renders what comes back; the SDK calls all happen below this module.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pros_cli.engine.apply import Applier, ApplyOptions, ApplyReport
from pros_cli.engine.plan import SYMBOLS, Plan, PlanOptions, make_plan, offline_plan
from pros_cli.errors import ExitCode
from pros_cli.resources.base import Resource
from pros_cli.spec import OFFLINE_SUBSCRIPTION, Spec
from pros_cli.state import DeploymentLock, StateStore, describe_command


@dataclass
class RunOptions:
    dry_run: bool = False
    offline: bool = False
    no_wait: bool = False
    adopt: bool = False
    parallelism: int = 8
    # Keys this run may change; the rest of the resources are only read (None: all).
    scope: frozenset[str] | None = None


@dataclass
class RunResult:
    plan: Plan
    report: ApplyReport | None
    exit_code: ExitCode


@contextlib.contextmanager
def interruptible(ui: Any) -> Iterator[threading.Event]:
    """First Ctrl-C (or SIGTERM): stop starting work, record what is in flight. Second: stop now."""
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        ui.warn(
            "interrupted: no new operations will start; recording what is in flight "
            "(press Ctrl-C again to stop at once)"
        )

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def converge(
    app: Any,
    spec: Spec,
    resources: Sequence[Resource],
    options: RunOptions,
) -> RunResult:
    ui = app.ui
    if options.offline:
        ui.warn(
            "offline: planned against an empty subscription, without network or credentials; "
            "every resource shows as a create"
        )
        if spec.subscription_id == OFFLINE_SUBSCRIPTION:
            ui.warn(
                "offline with no subscription: globally unique names carry the suffix of a placeholder "
                "subscription and will differ once you pass --subscription"
            )
        plan = offline_plan(resources)
        return RunResult(plan, None, ExitCode.OK)

    path = app.state_path(spec.base_name)
    state = StateStore.open(
        path,
        base_name=spec.base_name,
        subscription_id=spec.subscription_id,
        cloud=app.cloud,
        writable=not options.dry_run,
    )
    lock = None if options.dry_run else DeploymentLock(path, describe_command())
    if lock is not None:
        lock.acquire()
    try:
        clients = app.clients(spec.subscription_id)
        echo = app.make_echo()
        with interruptible(ui) as stop:
            plan = make_plan(
                resources,
                clients=clients,
                recorded=state.get,
                options=PlanOptions(
                    adopt=options.adopt, parallelism=options.parallelism, scope=options.scope
                ),
                stop=stop,
                on_read=(lambda r: echo(r.az_read())) if app.settings.verbose else None,
            )
            if stop.is_set():
                return RunResult(plan, None, ExitCode.INTERRUPTED)
            if options.dry_run or plan.errors:
                return RunResult(plan, None, ExitCode.FAILED if plan.errors else ExitCode.OK)
            state.set_spec(spec.to_state())
            ui.info(plan.summary_line())
            applier_options = ApplyOptions(parallelism=options.parallelism, no_wait=options.no_wait)
            with ui.tracker(f"pros: {spec.base_name}") as tracker:

                def on_event(kind: str, change: Any, result: Any) -> None:
                    if change.action == "no-op":
                        return
                    what = change.resource.describe()
                    symbol = SYMBOLS[change.action]
                    if kind == "start":
                        tracker.start(change.key, symbol, what, change.action)
                    else:
                        tracker.finish(change.key, symbol, what, change.action, result)

                applier = Applier(
                    clients=clients,
                    state=state,
                    echo=echo,
                    options=applier_options,
                    stop=stop,
                    on_event=on_event,
                    tick=tracker.tick,
                )
                report = applier.apply(plan)
        if report.interrupted:
            code = ExitCode.INTERRUPTED
        elif report.failed:
            code = ExitCode.FAILED
        else:
            code = ExitCode.OK
        return RunResult(plan, report, code)
    finally:
        if lock is not None:
            lock.release()
