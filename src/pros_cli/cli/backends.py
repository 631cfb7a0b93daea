"""``pros backends``: in every gateway, the named values, the regional backends with their circuit
breaker, the two priority pools, the OpenAI API imported from its OpenAPI document, and the
product that publishes it. The deployment ``pros provision`` made is read, never changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pros_cli.cli import options
from pros_cli.cli.context import App

CONFIG_OPTION = typer.Option(
    "--config",
    metavar="FILE",
    envvar="PROS_CONFIG",
    show_envvar=True,
    help="TOML file with any of these settings; options given here win.",
)
SPEC_FILE_OPTION = typer.Option(
    "--spec-file",
    metavar="FILE",
    help="OpenAPI document to import as the OpenAI API (default: the one pros ships in templates/).",
)


@options.command
def backends(
    app: App,
    spec_file: Annotated[Path | None, SPEC_FILE_OPTION] = None,
    breaker_failures: Annotated[
        int | None,
        typer.Option(
            "--breaker-failures",
            metavar="N",
            help="Failures (429 or 5xx) within --breaker-interval that trip a backend (default 1).",
        ),
    ] = None,
    breaker_interval: Annotated[
        int | None,
        typer.Option(
            "--breaker-interval", metavar="SECONDS", help="Window the failures are counted in (default 60)."
        ),
    ] = None,
    breaker_trip: Annotated[
        int | None,
        typer.Option(
            "--breaker-trip",
            metavar="SECONDS",
            help="How long a tripped backend rests, unless its Retry-After says otherwise (default 60).",
        ),
    ] = None,
    circuit_breaker: Annotated[
        bool | None,
        typer.Option(
            "--circuit-breaker/--no-circuit-breaker",
            help="Give every regional backend the circuit breaker (default); the Consumption tier has none.",
        ),
    ] = None,
    config: Annotated[Path | None, CONFIG_OPTION] = None,
) -> int:
    from pros_cli.cli.deployment import deployment_spec
    from pros_cli.engine.runner import RunOptions, converge
    from pros_cli.resources.gateway_graph import check_gateway, command_graph

    app.check()
    spec = deployment_spec(
        app,
        overrides={
            "spec_file": str(spec_file.resolve()) if spec_file is not None else None,
            "breaker_failures": breaker_failures,
            "breaker_interval_seconds": breaker_interval,
            "breaker_trip_seconds": breaker_trip,
            "circuit_breaker": circuit_breaker,
        },
        config=config,
    )
    check_gateway(spec)
    resources, scope = command_graph(spec, "backends")
    s = app.settings
    result = converge(
        app, spec, resources, RunOptions(dry_run=s.dry_run, parallelism=s.parallelism, scope=scope)
    )
    return show_result(app, spec, result, command="backends")


def show_result(app: App, spec: Any, result: Any, *, command: str, dry_run_data: Any = None) -> int:
    """The plan (dry run, or a refused plan) or what was applied, as a table or JSON; errors on
    stderr. ``dry_run_data`` replaces the plan on stdout for a dry run (policies' diffs)."""
    from pros_cli.cli import render
    from pros_cli.engine.plan import Plan

    plan = result.plan
    own = Plan(plan.in_scope, errors=plan.errors)
    s = app.settings
    if result.report is None:
        if s.emit_script is not None:
            script = app.make_echo()
            script.quiet = True
            for change in own.pending:
                script(change.az_commands())
        if dry_run_data is not None and not plan.errors:
            dry_run_data()
        elif app.json:
            render.print_json(own.to_json())
        else:
            render.print_plan(own)
        for error in plan.errors:
            app.ui.err(f"error: {error}")
        if plan.errors and not s.dry_run:
            app.ui.err("nothing was changed")
        return int(result.exit_code)

    report = result.report
    rows = [row for row in render.apply_rows(report) if not report.changes[row["key"]].read_only]
    if app.json:
        render.print_json(
            {
                "base_name": spec.base_name,
                "command": command,
                "result": report.result,
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
            row["status"], row["action"], row["type"].rsplit("/", 1)[-1], row["name"], row["region"] or "-"
        )
    console.print(table, markup=False)
