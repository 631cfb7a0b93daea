"""One converge run: open and lock the state, plan, stop (dry run) or apply, report.

Shared by every command that brings Azure to a desired state. The CLI module builds the spec and
the resource list and renders what comes back; the SDK calls all happen below this module.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
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
    prune: bool = False  # let the run delete what the deployment no longer has
    purge: bool = False  # purge soft-deleted resources right after deleting them
    # Asked with the plan before anything is applied; False: the run changes nothing.
    confirm: Callable[[Plan], bool] | None = None


@dataclass
class Target:
    """What one run brings Azure to, built from the state it found once it held the lock."""

    spec: Spec
    resources: Sequence[Resource]
    # Recorded resources the deployment no longer has, each with the reason (planned as deletes).
    removed: Sequence[tuple[Resource, str]] = ()
    settings: Any = None  # pros_cli.settings.Settings to record when the run succeeds
    setting_changes: list[Any] = field(default_factory=list)
    # Called when the run applied without failure (teardown records that the deployment is gone).
    on_success: Callable[[StateStore, ApplyReport], None] | None = None
    # Recorded keys this version of pros has no resource kind for (left alone, reported).
    unknown: list[str] = field(default_factory=list)
    # The keys this run may change; the other resources are only read, for their bodies (a
    # command that builds on what provision made). None: every resource.
    scope: frozenset[str] | None = None
    # Checks that need Azure but must pass before the plan (each raises UsageError to refuse the
    # run, e.g. geography codes against Traffic Manager's live hierarchy); skipped offline.
    checks: Sequence[Callable[[Any], None]] = ()
    # What the operator should know about the settings (shown with the plan's warnings).
    warnings: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    plan: Plan
    report: ApplyReport | None
    exit_code: ExitCode
    target: Target | None = None


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
    *,
    base_name: str,
    subscription_id: str,
    prepare: Callable[[StateStore], Target],
    options: RunOptions,
) -> RunResult:
    """Lock the deployment, read its state, let ``prepare`` build the target from it, plan, and
    apply (unless a dry run). The state (and so the recorded settings) is read only once the
    lock is held, so a run that gets the lock just after another finished works from what that
    run wrote. Dry runs take no lock and write nothing."""
    ui = app.ui
    path = app.state_path(base_name)
    lock = None if options.dry_run else DeploymentLock(path, describe_command())
    if lock is not None:
        lock.acquire()
    try:
        state = StateStore.open(
            path,
            base_name=base_name,
            subscription_id=subscription_id,
            cloud="azure" if options.offline else app.cloud,
            writable=not options.dry_run,
        )
        target = prepare(state)
        if options.offline:
            return _offline(ui, target)
        return _run(app, state, target, options)
    finally:
        if lock is not None:
            lock.release()


def _offline(ui: Any, target: Target) -> RunResult:
    ui.warn(
        "offline: planned against an empty subscription, without network or credentials; "
        "every resource shows as a create"
    )
    if target.spec.subscription_id == OFFLINE_SUBSCRIPTION:
        ui.warn(
            "offline with no subscription: globally unique names carry the suffix of a placeholder "
            "subscription and will differ once you pass --subscription"
        )
    plan = offline_plan(target.resources)
    plan.settings = list(target.setting_changes)
    plan.notes = list(target.warnings)
    for warning in plan.notes:
        ui.warn(warning)
    return RunResult(plan, None, ExitCode.OK, target)


def _run(app: Any, state: StateStore, target: Target, options: RunOptions) -> RunResult:
    ui = app.ui
    spec = target.spec
    clients = app.clients(spec.subscription_id)
    echo = app.make_echo()
    for check in target.checks:
        check(clients)
    with interruptible(ui) as stop:
        plan = make_plan(
            target.resources,
            clients=clients,
            recorded=state.get,
            options=PlanOptions(adopt=options.adopt, parallelism=options.parallelism, scope=target.scope),
            stop=stop,
            on_read=(lambda r: echo(r.az_read())) if app.settings.verbose else None,
            removed=target.removed,
        )
        plan.settings = list(target.setting_changes)
        plan.notes = list(target.warnings)
        for warning in plan.warnings:
            ui.warn(warning)
        if stop.is_set():
            return RunResult(plan, None, ExitCode.INTERRUPTED, target)
        if not plan.errors and plan.deletes and not options.prune and not options.dry_run:
            plan.errors.append(prune_refusal(plan))
            return RunResult(plan, None, ExitCode.USAGE, target)
        if options.dry_run or plan.errors:
            return RunResult(plan, None, ExitCode.FAILED if plan.errors else ExitCode.OK, target)
        if options.confirm is not None and not options.confirm(plan):
            plan.errors.append("not confirmed: nothing was changed")
            return RunResult(plan, None, ExitCode.FAILED, target)
        if target.settings is not None:
            state.record_attempt(target.settings.record())
        ui.info(plan.summary_line())
        applier_options = ApplyOptions(
            parallelism=options.parallelism, no_wait=options.no_wait, purge=options.purge
        )
        with ui.tracker(f"pros: {spec.base_name}") as tracker:
            tracker.expect(
                [
                    (c.key, SYMBOLS[c.action], c.resource.describe(), c.action, c.resource.typical_seconds)
                    for c in plan.pending
                ]
            )

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
        # Recorded only now: a failed, interrupted or refused run leaves the recorded settings as
        # they were. A --no-wait run that started its work records them, so the run that resumes
        # it works toward the same settings.
        if target.settings is not None:
            state.record_settings(target.settings.record(), spec.to_state())
        if target.on_success is not None:
            target.on_success(state, report)
    return RunResult(plan, report, code, target)


def prune_refusal(plan: Plan) -> str:
    lines = [f"  - {c.resource.describe()}: {'; '.join(c.reasons)}" for c in plan.deletes]
    return (
        f"this run would delete {len(plan.deletes)} resource(s) the deployment no longer has; pros "
        "deletes only when told to. Nothing was changed. To delete them, run again with --prune; to "
        "keep them, pass the settings that include them again (e.g. every --region).\n" + "\n".join(lines)
    )
