"""``pros provision``: bring a subscription to the desired deployment; a re-run changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pros_cli.cli import options
from pros_cli.cli.context import App
from pros_cli.settings import SETTINGS

ConfigFile = options.config_file(
    "TOML file with deployment settings; options and PROS_* variables win over it, it wins "
    "over the recorded settings."
)

SETTING_NAMES = tuple(s.name for s in SETTINGS)


def _provision(
    app: App,
    flags: dict[str, Any],
    model_capacity: Annotated[
        int | None,
        typer.Option(
            "--model-capacity",
            help="Capacity of every model deployment (the models stay as given or recorded).",
            rich_help_panel=options.SETTINGS_PANEL,
        ),
    ] = None,
    model_sku: Annotated[
        str | None,
        typer.Option(
            "--model-sku",
            help="SKU of every model deployment (the models stay as given or recorded).",
            rich_help_panel=options.SETTINGS_PANEL,
        ),
    ] = None,
    config: ConfigFile = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="With --dry-run: plan against an empty subscription, without network or credentials.",
        ),
    ] = False,
    no_wait: Annotated[
        bool,
        typer.Option(
            "--no-wait",
            help="Return once every long-running create has started; the next run "
            "resumes waiting for them instead of starting them again.",
        ),
    ] = False,
    adopt: Annotated[
        bool,
        typer.Option(
            "--adopt",
            help="Manage resources with our names that pros did not create; they are "
            "recorded as pre-existing and teardown never deletes them.",
        ),
    ] = False,
    restore_soft_deleted: Annotated[
        bool,
        typer.Option(
            "--restore-soft-deleted",
            help="Restore a soft-deleted APIM or OpenAI account that holds one of our names, "
            "instead of stopping.",
        ),
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Delete what the deployment no longer has after a settings change (e.g. a removed "
            "region); without it such a run changes nothing and lists what it would delete.",
        ),
    ] = False,
) -> int:
    from pros_cli.resources.graph import deployment_graph

    return converge_deployment(
        app,
        flags,
        command="provision",
        build_for=lambda state: lambda spec: deployment_graph(spec, set(state.resources)),
        model_capacity=model_capacity,
        model_sku=model_sku,
        config=config,
        offline=offline,
        no_wait=no_wait,
        adopt=adopt,
        restore_soft_deleted=restore_soft_deleted,
        prune=prune,
    )


provision = options.command(settings=SETTING_NAMES)(_provision)


def converge_deployment(
    app: App,
    flags: dict[str, Any],
    *,
    command: str,
    build_for: Any,
    model_capacity: int | None = None,
    model_sku: str | None = None,
    config: Path | None = None,
    offline: bool = False,
    no_wait: bool = False,
    adopt: bool = False,
    restore_soft_deleted: bool = False,
    prune: bool = False,
    check: Any = None,
) -> int:
    """Bring the whole deployment to its settings (provision, or up): resolve the settings once the
    lock is held (``build_for(state)`` gives the resource builder), plan, apply, report."""
    from pros_cli import catalog
    from pros_cli.cache_kinds import AZURE_CACHE, RETIREMENT_NOTE
    from pros_cli.cli import render
    from pros_cli.cli.summary import build_summary, summary_lines
    from pros_cli.config import load_config
    from pros_cli.deployment import Request, target_for
    from pros_cli.engine.runner import RunOptions, converge
    from pros_cli.errors import UsageError

    app.check()
    s = app.settings
    if offline and not s.dry_run:
        raise UsageError("--offline only plans: it cannot change anything", hint="add --dry-run")
    if offline and app.cloud == "simulator":
        raise UsageError(
            "--offline plans without any cloud; PROS_CLOUD=simulator contradicts it",
            hint="drop --offline to plan against the simulator, or unset PROS_CLOUD",
        )
    base_name, subscription = app.deployment(offline=offline)
    request = Request(
        flags=flags,
        config=load_config(config) if config is not None else {},
        model_capacity=model_capacity,
        model_sku=model_sku,
    )
    result = converge(
        app,
        base_name=base_name,
        subscription_id=subscription,
        prepare=lambda state: target_for(
            state,
            request,
            base_name=base_name,
            subscription_id=subscription,
            build=build_for(state),
            command=command,
            check=check,
            restore_soft_deleted=restore_soft_deleted,
            models=lambda spec, requests, pinned: catalog.prepare_models(
                app, spec, requests, pinned=pinned, offline=offline
            ),
        ),
        options=RunOptions(
            dry_run=s.dry_run,
            offline=offline,
            no_wait=no_wait,
            adopt=adopt,
            parallelism=s.parallelism,
            prune=prune,
        ),
    )
    spec = result.target.spec
    if spec.cache_kind == AZURE_CACHE:
        app.ui.warn(RETIREMENT_NOTE)
    if result.target.settings.source("publisher_email") == "default":
        app.ui.info(
            f"note: API Management publisher email defaults to {spec.publisher_email}; Azure sends the "
            "service's notifications there: pass --publisher-email (or set it in --config)"
        )
    plan = result.plan
    if not plan.changes and plan.errors:  # nothing could be read: the errors say why
        for error in plan.errors:
            app.ui.err(f"error: {error}")
        return int(result.exit_code)
    if s.dry_run or result.report is None:
        render.show_unapplied(app, plan)
        return int(result.exit_code)

    report = result.report
    header = (
        f"Deployment {spec.base_name} (subscription {spec.subscription_id}, "
        f"resource group {spec.resource_group})"
    )
    endpoints = build_summary(spec, report.outputs)
    if app.json:
        render.print_json(
            {
                "base_name": spec.base_name,
                "subscription_id": spec.subscription_id,
                "resource_group": spec.resource_group,
                "result": report.result,
                "settings": [c.to_json() for c in plan.settings],
                "summary": report.summary(),
                "endpoints": endpoints,
                "resources": render.apply_rows(report),
                "outputs": report.outputs,
            }
        )
    else:
        render.print_apply(report, header)
        app.out("\n".join(summary_lines(endpoints)))
    started = report.with_status("started")
    if started:
        app.ui.info(
            f"{len(started)} long-running operation(s) started and still running in Azure; run "
            f"'pros {command}' again to wait for them (it resumes, it does not start them again)"
        )
    for failure in report.failed:
        app.ui.err(f"error: {failure.error}")
    skipped = report.with_status("skipped")
    if skipped:
        app.ui.err(f"{len(skipped)} resource(s) skipped because something they depend on failed")
    if report.interrupted:
        app.ui.err(f"interrupted: operations in flight are recorded; run 'pros {command}' again to resume")
    return int(result.exit_code)
