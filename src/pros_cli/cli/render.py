"""Rendering data for stdout: plans and apply results, as tables or JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

from pros_cli.engine.plan import SYMBOLS, Plan


def _console() -> Any:
    from rich.console import Console

    tty = sys.stdout.isatty()
    return Console(file=sys.stdout, width=None if tty else 200, no_color=not tty, highlight=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def print_setting_changes(changes: list[Any], console: Any) -> None:
    """The settings a run changes, before the resource changes they cause."""
    from rich.table import Table

    from pros_cli.settings import BY_NAME
    from pros_cli.settings import render as show

    table = Table(title="Settings", title_justify="left", box=None, pad_edge=False, show_edge=False)
    for column in ("setting", "from", "to", "source"):
        table.add_column(column, overflow="fold")
    for change in changes:
        d = BY_NAME[change.name]
        table.add_row(change.name, show(d, change.before), show(d, change.after), change.source)
    console.print(table, markup=False)
    console.print("", markup=False)


def shared_reasons(changes: list[Any]) -> list[str]:
    """Reasons every row gives (said once, under the table, instead of on every row)."""
    if len(changes) < 2:
        return []
    common = set(changes[0].reasons)
    for change in changes[1:]:
        common &= set(change.reasons)
    return [r for r in changes[0].reasons if r in common]


def print_plan(plan: Plan) -> None:
    from rich.table import Table

    if plan.settings:
        print_setting_changes(plan.settings, _console())
    shared = shared_reasons(plan.changes)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("", "action", "type", "name", "region", "reasons"):
        table.add_column(column, overflow="fold")
    for change in plan.changes:
        r = change.resource
        own = [reason for reason in change.reasons if reason not in shared]
        table.add_row(
            SYMBOLS[change.action],
            change.action,
            r.arm_type,
            r.display_name(),
            r.region or "-",
            "; ".join(own) or ("(see below)" if shared else ""),
        )
    console = _console()
    console.print(table, markup=False)
    for reason in shared:
        console.print(f"Every change above: {reason}.", markup=False)
    console.print(plan.summary_line(), markup=False)


def apply_rows(report: Any) -> list[dict[str, Any]]:
    rows = []
    for key, result in report.results.items():
        change = report.changes[key]
        r = change.resource
        rows.append(
            {
                "key": key,
                "action": change.action,
                "status": result.status,
                "type": r.arm_type,
                "name": r.name,
                "display": r.display_name(),
                "id": r.arm_id(),
                "region": r.region,
                "error": result.error,
                "cause": result.cause,
                "elapsed_seconds": round(result.elapsed, 3),
            }
        )
    return rows


def print_apply(report: Any, header: str) -> None:
    from rich.table import Table

    console = _console()
    console.print(header, markup=False)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("status", "action", "type", "name", "region"):
        table.add_column(column, overflow="fold")
    for row in apply_rows(report):
        table.add_row(row["status"], row["action"], row["type"], row["display"], row["region"] or "-")
    console.print(table, markup=False)


def show_unapplied(app: Any, plan: Plan, *, dry_run_data: Any = None) -> None:
    """A run that applied nothing (a dry run, or one refused before any write): the plan on stdout
    (or ``dry_run_data()``, a command's own dry-run view), its az lines in ``--emit-script``, its
    errors on stderr, and, for a refused real run, that nothing was changed."""
    settings = app.settings
    if settings.emit_script is not None:
        script = app.make_echo()
        script.quiet = True
        for change in plan.pending:
            script(change.az_commands())
    if dry_run_data is not None and not plan.errors:
        dry_run_data()
    elif app.json:
        print_json(plan.to_json())
    else:
        print_plan(plan)
    for error in plan.errors:
        app.ui.err(f"error: {error}")
    if plan.errors and not settings.dry_run:
        app.ui.err("nothing was changed")
