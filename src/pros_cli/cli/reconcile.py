"""``pros usage reconcile``: the ledger's totals against Azure's own LLM log.

Registered on the ``usage`` group (cli/usage.py). Exit 0 when every difference is explained or
within the tolerance, 3 when one exceeds it, 2 on bad input.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from pros_cli.cli import options
from pros_cli.cli.context import App

ConfigFile = options.config_file(
    "TOML file with deployment settings (reconcile_tolerance), as provision reads it."
)
RedisUrl = options.RedisUrl
WORKSPACE_STATE_KEY = "log-analytics"
MAX_DAYS = 92


def _day(text: str, option: str) -> dt.date:
    from pros_cli.errors import UsageError

    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a day", hint="write days as YYYY-MM-DD (UTC)") from None


def day_range(start: str | None, end: str | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """Default: yesterday and today (UTC)."""
    from pros_cli.errors import UsageError

    hi = _day(end, "--to") if end else today
    lo = _day(start, "--from") if start else min(hi, today - dt.timedelta(days=1))
    if lo > hi:
        raise UsageError(f"--from {lo} is after --to {hi}", hint="swap them")
    if (hi - lo).days + 1 > MAX_DAYS:
        raise UsageError(
            f"--from {lo} --to {hi} spans {(hi - lo).days + 1} days; reconcile at most {MAX_DAYS} at a time",
            hint="split the range (a month at a time is what billing needs)",
        )
    return lo, hi


@options.command(settings=("reconcile_tolerance",))
def reconcile(
    app: App,
    flags: dict[str, Any],
    start: Annotated[
        str | None, typer.Option("--from", metavar="DAY", help="First UTC day (default: yesterday).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", metavar="DAY", help="Last UTC day (default: today).")
    ] = None,
    calls: Annotated[
        bool,
        typer.Option("--calls", help="For days that differ, list the request ids found on one side only."),
    ] = False,
    workspace_id: Annotated[
        str | None,
        typer.Option(
            "--workspace-id",
            metavar="GUID",
            help="Log Analytics workspace id (default: the deployment's, from its state file).",
        ),
    ] = None,
    config: ConfigFile = None,
    redis_url: RedisUrl = None,
) -> int:
    """Compare the ledger's totals per UTC day, region and model with Azure's LLM log."""
    from pros_cli import settings as settings_mod
    from pros_cli.errors import UsageError
    from pros_cli.reconcile import parse_tolerance
    from pros_cli.state import load_state_file

    app.check()
    now = dt.datetime.now(dt.UTC)
    lo, hi = day_range(start, end, now.date())
    base = app.base_name(required=False)
    data = (load_state_file(app.state_path(base)) if base else None) or {}
    recorded = settings_mod.recorded_settings(data)
    from pros_cli.config import load_config

    file_settings = load_config(config) if config is not None else {}
    effective = settings_mod.resolve(flags=flags, config=file_settings, recorded=recorded)
    tolerance = parse_tolerance(effective["reconcile_tolerance"])
    if workspace_id is None:
        entry = (data.get("resources") or {}).get(WORKSPACE_STATE_KEY) or {}
        workspace_id = (entry.get("outputs") or {}).get("customer_id")
    if not workspace_id:
        raise UsageError(
            "no Log Analytics workspace to query: the deployment's state file records none",
            hint="run 'pros provision' (it creates the workspace), pass --base-name for the deployment, "
            "or pass --workspace-id",
        )
    from pros_cli.azure.clients import resolve_subscription
    from pros_cli.cli.usage_connect import open_connection, redis_errors
    from pros_cli.reconcile import reconcile as compare
    from pros_cli.reconcile_azure import LogAnalyticsSide, logs_client
    from pros_cli.reconcile_ledger import RedisLedger

    subscription, _ = resolve_subscription(
        app.settings.subscription, offline=True, cloud=app.cloud, recorded=data.get("subscription_id")
    )
    azure = LogAnalyticsSide(logs_client(app.clients(subscription)), workspace_id)
    conn = open_connection(app, redis_url)
    with redis_errors(conn), _azure_errors():
        result = compare(
            RedisLedger(conn.client), azure, lo, hi, tolerance=tolerance, now=now, with_calls=calls
        )
    from pros_cli.cli.reconcile_output import print_reconciliation

    print_reconciliation(app, result, tolerance_source=effective.source("reconcile_tolerance"))
    return 3 if result.exceeds else 0


@contextlib.contextmanager
def _azure_errors() -> Iterator[None]:
    """An Azure query failure as one operator-facing error (no request dump)."""
    from azure.core.exceptions import HttpResponseError

    try:
        yield
    except HttpResponseError as exc:
        from pros_cli.azure.errors import describe, status_code
        from pros_cli.errors import ProsError

        hint = (
            "your identity needs read access to the workspace (e.g. the Log Analytics Reader role)"
            if status_code(exc) in (401, 403)
            else None
        )
        raise ProsError(f"querying Azure's LLM log failed: {describe(exc)}", hint=hint) from None
