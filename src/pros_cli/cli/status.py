"""``pros status``: every resource of the deployment, its health, and drift from its settings."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pros_cli.cli import options
from pros_cli.cli.context import App

STATUS_HELP = (
    "Read every resource in one parallel round: provisioning state, health where Azure exposes it "
    "(gateway status path, Traffic Manager probes, app state, model capacity) and drift from the "
    "recorded settings. Exit 0 healthy, 3 anything degraded, missing or drifted, 1 could not look."
)


@options.command
def status(
    app: App,
    discover: Annotated[
        bool,
        typer.Option(
            "--discover",
            help="Also find everything in the subscription carrying this base name's pros tags (works "
            "without a state file).",
        ),
    ] = False,
    write_state: Annotated[
        bool,
        typer.Option(
            "--write-state",
            help="With --discover: rebuild a lost state file from what was found, so status and teardown "
            "work again.",
        ),
    ] = False,
) -> int:
    from pros_cli.errors import ExitCode, UsageError

    app.check()
    if write_state and not discover:
        raise UsageError("--write-state rebuilds the state file from --discover", hint="add --discover")
    base_name, subscription = app.deployment()
    if discover:
        from pros_cli.discovery import discover_and_report

        return discover_and_report(app, base_name, subscription, write_state=write_state)
    from pros_cli.deployment import recorded_spec
    from pros_cli.resources.graph import full_graph, provision_keys
    from pros_cli.state import StateStore, load_state_file

    path = app.state_path(base_name)
    if load_state_file(path) is None:
        raise UsageError(
            f"no deployment {base_name!r} is recorded ({path} does not exist)",
            hint="run pros provision, or pros status --discover [--write-state] to find it in Azure",
        )
    state = StateStore.open(
        path, base_name=base_name, subscription_id=subscription, cloud=app.cloud, writable=False
    )
    if state.data.get("torn_down_at") and not state.resources:
        return _report_gone(app, base_name, subscription, state.data)
    spec = recorded_spec(state, base_name=base_name, subscription_id=subscription)
    wanted = provision_keys(spec) | set(state.resources)
    resources = [r for r in full_graph(spec) if r.key in wanted]
    code = show(app, base_name, subscription, resources, dict(state.items()), spec=spec)
    return int(code if code is not None else ExitCode.OK)


def show(
    app: App,
    base_name: str,
    subscription: str,
    resources: list[Any],
    recorded: dict[str, Any],
    report: Any = None,
    spec: Any = None,
) -> int:
    """Collect (unless ``report`` already has the rows) and print the status; the exit status.
    With ``spec``: also warn about deployed models that retire, or stop taking new deployments,
    within 60 days (the model catalog is read in the same round as the resources)."""
    from concurrent.futures import ThreadPoolExecutor

    from pros_cli import catalog
    from pros_cli.errors import ExitCode
    from pros_cli.status import Report, collect

    if report is None:
        clients = app.clients(subscription)
        echo = app.make_echo()
        if app.settings.verbose:
            for r in resources:
                echo(r.az_read())
        with ThreadPoolExecutor(max_workers=1) as pool:
            lifecycle = (
                pool.submit(catalog.deployed_model_warnings, clients, spec, today=catalog.today_for(app))
                if spec is not None
                else None
            )
            report = collect(resources, clients=clients, recorded=recorded)
            if lifecycle is not None:
                try:
                    report.warnings.extend(lifecycle.result())
                except Exception as exc:  # the catalog is advice: its failure does not hide the status
                    from pros_cli.azure.errors import describe

                    report.warnings.append(f"could not read the model catalog: {describe(exc)}")
    else:
        keep = {r.key for r in resources}
        report = Report([row for row in report.rows if row.key in keep], report.errors, report.warnings)
    report.routing = _routing(spec, report.rows)
    if app.json:
        from pros_cli.cli import render

        render.print_json(
            {
                "base_name": base_name,
                "subscription_id": subscription,
                "healthy": report.healthy,
                "summary": report.counts(),
                "resources": [row.to_json() for row in report.rows],
                "errors": report.errors,
                "warnings": report.warnings,
                **({"routing": report.routing} if report.routing is not None else {}),
            }
        )
    else:
        _table(report, base_name, subscription)
    for warning in report.warnings:
        app.ui.warn(warning)
    for error in report.errors:
        app.ui.err(f"error: {error}")
    if report.errors:
        return int(ExitCode.FAILED)
    return int(ExitCode.OK if report.healthy else ExitCode.UNHEALTHY)


def _table(report: Any, base_name: str, subscription: str) -> None:
    from rich.table import Table

    from pros_cli.cli.render import _console

    console = _console()
    console.print(f"Deployment {base_name} (subscription {subscription})", markup=False)
    groups: dict[str, list[Any]] = {}
    for row in report.rows:
        groups.setdefault(row.resource.region or "global", []).append(row)
    for region in sorted(groups, key=lambda g: (g == "global", g)):
        table = Table(title=region, title_justify="left", box=None, pad_edge=False, show_edge=False)
        for column in ("health", "kind", "name", "state", "detail"):
            table.add_column(column, overflow="fold")
        for row in groups[region]:
            detail = row.detail
            if row.drift:
                detail = (detail + "; " if detail else "") + "DRIFT: " + "; ".join(row.drift)
            health = row.health if not row.drift or row.health != "ok" else "drifted"
            table.add_row(health, row.resource.label, row.resource.display_name(), row.state, detail)
        console.print(table, markup=False)
    counts = report.counts()
    word = "healthy" if report.healthy else "NOT healthy"
    parts = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    console.print(f"Status: {word} ({parts}).", markup=False)
    if report.routing is not None:
        console.print(_routing_lines(report.routing), markup=False)


def _routing(spec: Any, rows: list[Any]) -> dict[str, Any] | None:
    """How Traffic Manager routes the deployment (None without the recorded spec)."""
    from pros_cli.status import routing_view

    return routing_view(spec, rows) if spec is not None else None


def _routing_lines(routing: dict[str, Any]) -> str:
    """Each geography: its codes, its regions, and its endpoint with the probe status."""
    lines = [f"Routing: {routing['method']} (failover scope {routing['failover_scope']})"]
    for geography in routing["geographies"]:
        where = f"endpoint {geography['endpoint'] or '-'}"
        if geography["nested"]:
            where = f"nested endpoint {geography['endpoint'] or '-'} -> profile {geography['profile'] or '-'}"
        lines.append(
            f"  {geography['name']}: {', '.join(geography['codes'])} -> {', '.join(geography['regions'])} "
            f"({where}: {geography['endpoint_status']})"
        )
    return "\n".join(lines)


def _report_gone(app: App, base_name: str, subscription: str, data: dict[str, Any]) -> int:
    """A torn-down deployment: check that nothing carrying its tag is left in the subscription.
    Exit 0 when nothing is (the deployment is as the teardown left it), 3 when something is."""
    from pros_cli.cli import render
    from pros_cli.discovery import find_tagged

    when = data.get("torn_down_at")
    left = find_tagged(app.clients(subscription), base_name)
    rows = [{"id": i.get("id"), "type": i.get("type"), "name": i.get("name")} for i in left]
    if app.json:
        render.print_json(
            {
                "base_name": base_name,
                "subscription_id": subscription,
                "deleted": True,
                "torn_down_at": when,
                "healthy": not rows,
                "resources": rows,
                "summary": {"left": len(rows)},
            }
        )
    elif rows:
        app.out(
            f"Deployment {base_name} was torn down at {when}, but {len(rows)} resource(s) carrying its "
            "tag are still in Azure:"
        )
        for row in rows:
            app.out(f"  {row['type']} {row['name']}")
    else:
        app.out(f"Deployment {base_name} was torn down at {when}; nothing carrying its tag is left in Azure.")
    return 3 if rows else 0
