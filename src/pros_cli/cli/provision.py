"""``pros provision``: bring a subscription to the desired deployment; a re-run changes nothing."""

from __future__ import annotations

from pathlib import Path
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
            "--region",
            "-l",
            metavar="REGION",
            help="Region to deploy to; repeat for several (default: eastus and westus).",
            envvar="PROS_REGIONS",
            show_envvar=True,
        ),
    ] = None,
    shared_region: Annotated[
        str | None,
        typer.Option(
            "--shared-region",
            metavar="REGION",
            help="Region of the shared resources (default: the first region).",
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            metavar="[NAME=]MODEL[:VERSION]",
            help="Model deployment on every OpenAI account; repeat for several. Without a version: the "
            "newest generally available one every region offers (default: a current chat model and "
            "text-embedding-3-small, chosen from Azure's model catalog; see `pros models`).",
        ),
    ] = None,
    model_capacity: Annotated[
        int | None, typer.Option("--model-capacity", help="Capacity of each --model deployment (default 30).")
    ] = None,
    model_sku: Annotated[
        str | None,
        typer.Option("--model-sku", help="Deployment type of each model (default GlobalStandard)."),
    ] = None,
    apim_sku: Annotated[
        str | None, typer.Option("--apim-sku", help="API Management SKU (default Developer).")
    ] = None,
    apim_capacity: Annotated[
        int | None, typer.Option("--apim-capacity", help="API Management units (default 1).")
    ] = None,
    publisher_email: Annotated[
        str | None, typer.Option("--publisher-email", help="API Management publisher email.")
    ] = None,
    publisher_name: Annotated[
        str | None, typer.Option("--publisher-name", help="API Management publisher name.")
    ] = None,
    function_plan: Annotated[
        str | None,
        typer.Option(
            "--function-plan",
            metavar="flex|consumption",
            help="Function App hosting: flex (Flex Consumption, default) or consumption (Linux "
            "Consumption, retiring 2028).",
        ),
    ] = None,
    python_version: Annotated[
        str | None, typer.Option("--python-version", help="Function App Python version (default 3.11).")
    ] = None,
    redis_sku: Annotated[
        str | None, typer.Option("--redis-sku", help="Azure Cache for Redis SKU (default Standard).")
    ] = None,
    redis_capacity: Annotated[
        int | None, typer.Option("--redis-capacity", help="Redis size: 1 for C1 (default).")
    ] = None,
    storage_sku: Annotated[
        str | None, typer.Option("--storage-sku", help="SKU of the storage accounts (default Standard_LRS).")
    ] = None,
    custom_domain: Annotated[
        str | None,
        typer.Option(
            "--custom-domain",
            metavar="HOST",
            help="Gateway host name to configure on every APIM (needs --certificate-secret-id); "
            "pros prints the CNAME to create.",
        ),
    ] = None,
    certificate_secret_id: Annotated[
        str | None,
        typer.Option(
            "--certificate-secret-id",
            metavar="ID",
            help="Key Vault secret id of the custom domain's certificate.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            envvar="PROS_CONFIG",
            show_envvar=True,
            help="TOML file with any of these settings; options given here win.",
        ),
    ] = None,
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
) -> int:
    from pros_cli import catalog
    from pros_cli.azure.clients import resolve_subscription
    from pros_cli.cli import render
    from pros_cli.cli.summary import build_summary, summary_lines
    from pros_cli.config import load_config
    from pros_cli.engine.runner import RunOptions, converge
    from pros_cli.errors import UsageError
    from pros_cli.resources.graph import build_resources
    from pros_cli.spec import build_spec, parse_model, validate_base_name
    from pros_cli.state import load_state_file

    app.check()
    s = app.settings
    if offline and not s.dry_run:
        raise UsageError("--offline only plans: it cannot change anything", hint="add --dry-run")
    if offline and app.cloud == "simulator":
        raise UsageError(
            "--offline plans without any cloud; PROS_CLOUD=simulator contradicts it",
            hint="drop --offline to plan against the simulator, or unset PROS_CLOUD",
        )
    base_name = validate_base_name(app.base_name(required=True) or "")
    settings = load_config(config) if config is not None else {}
    given = {
        "regions": region,
        "shared_region": shared_region,
        "storage_sku": storage_sku,
        "apim_sku": apim_sku,
        "apim_capacity": apim_capacity,
        "publisher_email": publisher_email,
        "publisher_name": publisher_name,
        "function_plan": function_plan,
        "python_version": python_version,
        "redis_sku": redis_sku,
        "redis_capacity": redis_capacity,
        "custom_domain": custom_domain,
        "certificate_secret_id": certificate_secret_id,
    }
    settings.update({k: v for k, v in given.items() if v is not None})
    # ---- models (issue 7): requests here; concrete versions come from Azure's model catalog ----------
    asked = tuple(parse_model(m) for m in model) if model else settings.pop("models", None)
    requests = catalog.with_sku_and_capacity(catalog.requests_for(asked), model_sku, model_capacity)
    settings["models"] = catalog.placeholder_models(requests)
    # ---------------------------------------------------------------------------------------------------
    subscription, _source = resolve_subscription(s.subscription, offline=offline, cloud=app.cloud)
    spec = build_spec(
        base_name=base_name,
        subscription_id=subscription,
        restore_soft_deleted=restore_soft_deleted,
        **settings,
    )
    # ---- models (issue 7): resolve from the catalog, check catalog and quota before any write ----------
    # `pinned`: the versions an earlier run recorded, so a re-run never upgrades silently. The settings
    # rework (issue 6) is to supply these from the recorded settings instead.
    pinned = catalog.pinned_from_state(load_state_file(app.state_path(spec.base_name)))
    spec = catalog.prepare_models(app, spec, requests, pinned=pinned, offline=offline)
    # ---------------------------------------------------------------------------------------------------
    if "publisher_email" not in settings:
        app.ui.info(
            f"note: API Management publisher email defaults to {spec.publisher_email}; Azure sends the "
            "service's notifications there: pass --publisher-email (or set it in --config)"
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
    if not plan.changes and plan.errors:  # nothing could be read: the errors say why
        for error in plan.errors:
            app.ui.err(f"error: {error}")
        return int(result.exit_code)
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
