"""``pros models``: what Azure OpenAI can deploy in each region, until when, within which quota."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pros_cli.cli import options
from pros_cli.cli.context import App

DEFAULT_REGIONS = ("eastus", "westus")


@options.command
def models(
    app: App,
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            "-l",
            metavar="REGION",
            help="Region to list; repeat for several (default: the deployment's regions when its state "
            "file exists, else eastus and westus).",
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", metavar="MODEL", help="Only this model; repeat for several."),
    ] = None,
    show_all: Annotated[
        bool,
        typer.Option("--all", help="Also list versions closed to new deployments and retired ones."),
    ] = False,
) -> int:
    from pros_cli import catalog
    from pros_cli.azure.clients import resolve_subscription
    from pros_cli.spec import validate_regions

    app.check()
    regions = validate_regions(region or _deployment_regions(app) or list(DEFAULT_REGIONS))
    subscription, _ = resolve_subscription(app.settings.subscription, offline=False, cloud=app.cloud)
    clients = app.clients(subscription)
    found = catalog.read_catalogs(
        clients,
        regions,
        echo=app.make_echo() if app.settings.verbose else None,
        parallelism=app.settings.parallelism,
    )
    today = catalog.today_for(app)
    rows = [
        _row(found[r], offer, today)
        for r in regions
        for offer in _ordered(found[r].offers)
        if (not model or offer.model in model)
        and (show_all or any(offer.open_for_new(today, s) for s in offer.sku_names))
    ]
    if app.json:
        from pros_cli.cli import render

        render.print_json({"date": today.isoformat(), "regions": list(regions), "models": rows})
    else:
        _print_table(rows)
    for r in regions:
        if not found[r].offers:
            app.ui.warn(f"{r} offers no Azure OpenAI models to this subscription")
    if not rows:
        app.ui.warn(
            "no model matches" + ("" if show_all else " (--all includes deprecated and retired ones)")
        )
    return 0


def _deployment_regions(app: App) -> list[str] | None:
    """The regions recorded in the selected deployment's state file, if there is one."""
    from pros_cli.state import load_state_file

    base = app.base_name(required=False)
    if not base:
        return None
    data = load_state_file(app.state_path(base))
    regions = ((data or {}).get("spec") or {}).get("regions")
    return [str(r) for r in regions] if regions else None


def _ordered(offers: Any) -> list[Any]:
    """By model name, each model's newest version first."""
    from pros_cli.catalog.offers import version_key

    newest_first = sorted(offers, key=lambda o: version_key(o.version), reverse=True)
    return sorted(newest_first, key=lambda o: o.model)


def _row(region_catalog: Any, offer: Any, today: Any) -> dict[str, Any]:
    closed = offer.closed_from()
    return {
        "region": region_catalog.region,
        "model": offer.model,
        "version": offer.version,
        "lifecycle": offer.lifecycle,
        "state": offer.state(today),
        "default_version": offer.is_default,
        "capabilities": sorted(offer.capabilities),
        "no_new_deployments_from": closed.isoformat() if closed else None,
        "retirement": offer.retirement.isoformat() if offer.retirement else None,
        "retirement_tentative": offer.retirement_tentative,
        "replacement": offer.replacement,
        "skus": [
            {
                "name": s.name,
                "max_capacity": s.max_capacity,
                "quota": (q := region_catalog.quota(s.usage_name)) and q.name,
                "quota_limit": q.limit if q else None,
                "quota_left": q.left if q else None,
            }
            for s in offer.skus
        ],
    }


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from pros_cli.cli.render import _console

    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in (
        "region",
        "model",
        "version",
        "state",
        "no new from",
        "retires",
        "replacement",
        "SKUs (quota left)",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        retires = row["retirement"] or "-"
        if row["retirement"] and row["retirement_tentative"]:
            retires = f">= {retires}"
        skus = ", ".join(
            s["name"] + (f" ({s['quota_left']}/{s['quota_limit']})" if s["quota_limit"] is not None else "")
            for s in row["skus"]
        )
        table.add_row(
            row["region"],
            row["model"],
            row["version"] + (" *" if row["default_version"] else ""),
            row["state"],
            row["no_new_deployments_from"] or "-",
            retires,
            row["replacement"] or "-",
            skus,
        )
    console = _console()
    console.print(table, markup=False)
    console.print(
        "* Azure's default version; quota in thousands of tokens per minute (left/limit)", markup=False
    )
