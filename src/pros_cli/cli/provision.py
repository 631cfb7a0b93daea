"""``pros provision``: bring a subscription to the desired deployment; a re-run changes nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from pros_cli.cli import options
from pros_cli.cli.context import App


@options.command
def provision(
    app: App,
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region", "-l",
            help="Region to deploy to; repeat for several (default: eastus and westus). The first "
            "holds the shared resources.",
            envvar="PROS_REGIONS",
            show_envvar=True,
        ),
    ] = None,
    storage_sku: Annotated[
        str, typer.Option("--storage-sku", help="SKU of the storage accounts.")
    ] = "Standard_LRS",
    offline: Annotated[
        bool,
        typer.Option("--offline", help="With --dry-run: plan against an empty subscription, without network "
                     "or credentials."),
    ] = False,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="Return once every long-running create has started; the next run "
                     "resumes waiting for them instead of starting them again."),
    ] = False,
    adopt: Annotated[
        bool,
        typer.Option("--adopt", help="Manage resources with our names that pros did not create; they are "
                     "recorded as pre-existing and teardown never deletes them."),
    ] = False,
) -> int:
    from pros_cli.azure.clients import resolve_subscription
    from pros_cli.cli import render
    from pros_cli.engine.runner import RunOptions, converge
    from pros_cli.errors import UsageError
    from pros_cli.resources.graph import build_resources
    from pros_cli.spec import build_spec, validate_base_name

    app.check()
    s = app.settings
    if offline and not s.dry_run:
        raise UsageError("--offline only plans: it cannot change anything", hint="add --dry-run")
    if offline and app.cloud == "simulator":
        raise UsageError("--offline plans without any cloud; PROS_CLOUD=simulator contradicts it",
                         hint="drop --offline to plan against the simulator, or unset PROS_CLOUD")
    base_name = validate_base_name(app.base_name(required=True) or "")
    subscription, _source = resolve_subscription(s.subscription, offline=offline, cloud=app.cloud)
    spec = build_spec(
        base_name=base_name,
        subscription_id=subscription,
        regions=region or ["eastus", "westus"],
        storage_sku=storage_sku,
    )
    resources = build_resources(spec)
    result = converge(
        app,
        spec,
        resources,
        RunOptions(
            dry_run=s.dry_run, offline=offline, no_wait=no_wait, adopt=adopt, parallelism=s.parallelism
        ),
    )
    plan = result.plan
    if s.dry_run or result.report is None:
        if s.emit_script is not None:
            script = app.make_echo()
            script.quiet = True
            for change in plan.pending:
                script(change.az_commands())
        if app.json:
            render.print_json(plan.to_json())
        else:
            render.print_plan(plan)
        for error in plan.errors:
            app.ui.err(f"error: {error}")
        if plan.errors and not s.dry_run:
            app.ui.err("nothing was changed")
        return int(result.exit_code)

    report = result.report
    header = f"Deployment {spec.base_name} (subscription {spec.subscription_id}, resource group {spec.resource_group})"
    if app.json:
        render.print_json(
            {
                "base_name": spec.base_name,
                "subscription_id": spec.subscription_id,
                "resource_group": spec.resource_group,
                "result": _result_word(report),
                "summary": report.summary(),
                "resources": render.apply_rows(report),
                "outputs": report.outputs,
            }
        )
    else:
        render.print_apply(report, header)
    started = report.with_status("started")
    if started:
        app.ui.info(
            f"{len(started)} long-running operation(s) started and still running in Azure; run "
            "'pros provision' again to wait for them (it resumes, it does not start them again)"
        )
    for failure in report.failed:
        app.ui.err(f"error: {failure.error}")
    skipped = report.with_status("skipped")
    if skipped:
        app.ui.err(f"{len(skipped)} resource(s) skipped because something they depend on failed")
    if report.interrupted:
        app.ui.err("interrupted: operations in flight are recorded; run 'pros provision' again to resume")
    return int(result.exit_code)


def _result_word(report: object) -> str:
    if getattr(report, "interrupted", False):
        return "interrupted"
    if getattr(report, "failed", None):
        return "failed"
    if report.with_status("started", "deferred"):  # type: ignore[attr-defined]
        return "started"
    return "succeeded"
