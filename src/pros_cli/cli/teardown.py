"""``pros teardown``: delete exactly what pros made for the deployment, nothing else."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from pros_cli.cli import options
from pros_cli.cli.context import App

SOFT_DELETE_HOURS = 48


@options.command
def teardown(
    app: App,
    purge: Annotated[
        bool,
        typer.Option(
            "--purge",
            help="Also purge the soft-deleted API Management services and OpenAI accounts, so their "
            "names can be reused at once (otherwise Azure keeps them reserved for 48 hours).",
        ),
    ] = False,
) -> int:
    from pros_cli.cli import render
    from pros_cli.deployment import teardown_target
    from pros_cli.engine.runner import RunOptions, converge
    from pros_cli.errors import ExitCode, UsageError
    from pros_cli.state import load_state_file

    app.check()
    s = app.settings
    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    if not s.dry_run and not s.yes and not interactive:
        raise UsageError(
            "teardown deletes the deployment's resources and asks for confirmation, but this run is not "
            "interactive",
            hint="pass --yes to confirm in scripts and CI, or --dry-run to see what would be deleted",
        )
    base_name, subscription = app.deployment()
    path = app.state_path(base_name)
    data = load_state_file(path)
    if data is None:
        raise UsageError(
            f"no deployment {base_name!r} is recorded ({path} does not exist); pros deletes only what it "
            "recorded",
            hint="if the state file was lost, rebuild it with pros status --discover --write-state",
        )
    if data.get("torn_down_at") and not data.get("resources"):
        app.ui.info(f"deployment {base_name} was already torn down at {data['torn_down_at']}; nothing to do")
        if app.json:
            render.print_json({"base_name": base_name, "result": "succeeded", "deleted": [], "kept": []})
        return int(ExitCode.OK)

    def confirm(plan: Any) -> bool:
        if s.yes:
            return True
        app.ui.err(f"pros teardown will delete {len(plan.deletes)} resource(s) of deployment {base_name}:")
        for change in plan.deletes:
            app.ui.err(f"  - {change.resource.describe()}")
        answer = typer.prompt("Delete them? [y/N]", default="N", err=True, show_default=False)
        return answer.strip().lower() in ("y", "yes")

    result = converge(
        app,
        base_name=base_name,
        subscription_id=subscription,
        prepare=lambda state: teardown_target(state, base_name=base_name, subscription_id=subscription),
        options=RunOptions(
            dry_run=s.dry_run, parallelism=s.parallelism, prune=True, purge=purge, confirm=confirm
        ),
    )
    plan, report, target = result.plan, result.report, result.target
    for key in target.unknown if target else []:
        app.ui.warn(f"the state file records {key!r}, which this version of pros cannot remove: left alone")
    if s.dry_run or report is None:
        render.show_unapplied(app, plan)
        return int(result.exit_code)

    kept = [r.detail["kept"] for r in report.results.values() if r.detail.get("kept")]
    deleted = [
        report.changes[k]
        for k, r in report.results.items()
        if r.status == "succeeded" and report.changes[k].action == "delete"
    ]
    reserved = [c.resource for c in deleted if hasattr(c.resource, "purge")]
    if app.json:
        render.print_json(
            {
                "base_name": base_name,
                "result": report.result,
                "summary": report.summary(),
                "resources": render.apply_rows(report),
                "kept": kept,
                "purged": purge,
                "reserved_names": [] if purge else [_reserved(r) for r in reserved],
            }
        )
    else:
        render.print_apply(report, f"Teardown of {base_name} (subscription {subscription})")
    for line in kept:
        app.ui.warn(line)
    if reserved and not purge:
        app.ui.info(
            f"note: Azure keeps {len(reserved)} deleted resource(s) for {SOFT_DELETE_HOURS} hours and their "
            "names stay reserved until then (a provision with this base name stops with the purge command); "
            "purge them now with:"
        )
        for r in reserved:
            app.ui.info(f"  {r.az_purge().render()}")
    for failure in report.failed:
        app.ui.err(f"error: {failure.error}")
    if report.failed or report.interrupted:
        app.ui.err("teardown did not finish: what is still there stays recorded; run pros teardown again")
    return int(result.exit_code)


def _reserved(resource: Any) -> dict[str, Any]:
    return {
        "name": resource.name,
        "type": resource.arm_type,
        "region": resource.region,
        "purge": resource.az_purge().render(),
    }
