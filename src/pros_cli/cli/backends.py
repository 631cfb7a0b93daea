"""``pros backends``: in every gateway, the named values, the regional backends with their circuit
breaker, the two priority pools, the OpenAI API imported from its OpenAPI document, and the
product that publishes it. The deployment ``pros provision`` made is read, never changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pros_cli.cli import options
from pros_cli.cli.context import App
from pros_cli.settings import names_for

ConfigFile = options.config_file(
    "TOML file with deployment settings (as provision reads it); options and PROS_* variables win."
)


@options.command(settings=names_for("backends"))
def backends(app: App, flags: dict[str, Any], config: ConfigFile = None) -> int:
    from pros_cli.resources.gateway_graph import check_gateway, command_graph

    app.check()
    result = run_part(
        app, flags, config, "backends", lambda spec: command_graph(spec, "backends")[0], check=check_gateway
    )
    return show_result(app, result.target.spec, result, command="backends")


def run_part(
    app: App, flags: dict[str, Any], config: Path | None, command: str, build: Any, *, check: Any = None
) -> Any:
    """Converge one command's part of the deployment: its settings from the flags, the rest from
    the recorded deployment; only its own resources change."""
    from pros_cli.config import load_config
    from pros_cli.deployment import Request, target_for
    from pros_cli.engine.runner import RunOptions, converge

    if flags.get("spec_file"):
        flags = {**flags, "spec_file": str(Path(flags["spec_file"]).resolve())}
    base_name, subscription = app.deployment()
    request = Request(flags=flags, config=load_config(config) if config is not None else {})
    s = app.settings
    return converge(
        app,
        base_name=base_name,
        subscription_id=subscription,
        prepare=lambda state: target_for(
            state,
            request,
            base_name=base_name,
            subscription_id=subscription,
            build=build,
            command=command,
            check=check,
        ),
        options=RunOptions(dry_run=s.dry_run, parallelism=s.parallelism),
    )


def show_result(app: App, spec: Any, result: Any, *, command: str, dry_run_data: Any = None) -> int:
    """The plan (dry run, or a refused plan) or what was applied, as a table or JSON; errors on
    stderr. ``dry_run_data`` replaces the plan on stdout for a dry run (policies' diffs)."""
    from pros_cli.cli import render
    from pros_cli.engine.plan import Plan

    plan = result.plan
    own = Plan(plan.in_scope, errors=plan.errors, settings=plan.settings, notes=plan.notes)
    if result.report is None:
        render.show_unapplied(app, own, dry_run_data=dry_run_data)
        return int(result.exit_code)

    report = result.report
    rows = [row for row in render.apply_rows(report) if not report.changes[row["key"]].read_only]
    if app.json:
        render.print_json(
            {
                "base_name": spec.base_name,
                "command": command,
                "result": report.result,
                "settings": [c.to_json() for c in plan.settings],
                "summary": report.summary(),
                "resources": rows,
            }
        )
    else:
        _print_rows(rows, f"Deployment {spec.base_name}: pros {command}")
    for failure in report.failed:
        app.ui.err(f"error: {failure.error}")
    skipped = [r for r in rows if r["status"] == "skipped"]
    if skipped:
        app.ui.err(f"{len(skipped)} resource(s) skipped because something they depend on failed")
    if report.interrupted:
        app.ui.err(f"interrupted: run 'pros {command}' again to finish")
    return int(result.exit_code)


def _print_rows(rows: list[dict[str, Any]], header: str) -> None:
    from rich.table import Table

    from pros_cli.cli.render import _console

    console = _console()
    console.print(header, markup=False)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("status", "action", "type", "name", "region"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["status"], row["action"], row["type"].rsplit("/", 1)[-1], row["display"], row["region"] or "-"
        )
    console.print(table, markup=False)
