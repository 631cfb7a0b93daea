"""``pros usage``: the numbers operators bill from, read from the Redis ledger.

``pros usage`` alone reports; ``dead-letters``, ``replay`` and ``export`` are subcommands.
Only Typer is imported here at start-up: redis, rich and azure.identity load when a command runs.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pros_cli.cli import options
from pros_cli.cli.context import App

HELP = """Usage per billing code, company, user, region, model, deployment, API and day, from the ledger
the token processor writes. Without a subcommand: a report (default: the current UTC month)."""

usage_app = typer.Typer(
    name="usage", help=HELP, invoke_without_command=True, no_args_is_help=False, rich_markup_mode=None
)

ALIASES = {
    "billing_code": "billing_code", "billing-code": "billing_code", "billingcode": "billing_code",
    "company": "company", "companyname": "company", "company_name": "company",
    "user": "user", "username": "user",
    "region": "region", "model": "model", "deployment": "deployment", "api": "api", "day": "day",
}  # fmt: skip
DIM_HELP = "billing-code, company, user, region, model, deployment, api, day"
LONG_RANGE_DAYS = 31

RedisUrl = options.RedisUrl
FromDay = Annotated[
    str | None,
    typer.Option("--from", metavar="DAY", help="First UTC day (YYYY-MM-DD); default: the month's 1st."),
]
ToDay = Annotated[
    str | None,
    typer.Option("--to", metavar="DAY", help="Last UTC day (YYYY-MM-DD); default: the month's end."),
]


def _usage_error(message: str, hint: str | None = None) -> Exception:
    from pros_cli.errors import UsageError

    return UsageError(message, hint=hint)


def dimension(name: str) -> str:
    key = name.strip().lower()
    if key not in ALIASES:
        raise _usage_error(f"unknown dimension {name!r}", hint=f"use one of: {DIM_HELP}")
    return ALIASES[key]


def parse_day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise _usage_error(f"{option} {text!r} is not a day", hint="write days as YYYY-MM-DD (UTC)") from None


def day_range(start: str | None, end: str | None, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """--from/--to as days; a missing end defaults to the month around the other (or today)."""
    today = today or dt.datetime.now(dt.UTC).date()
    lo = parse_day(start, "--from") if start else None
    hi = parse_day(end, "--to") if end else None
    anchor = lo or hi or today
    first = anchor.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    lo = lo or (first if hi is None or hi >= first else hi.replace(day=1))
    hi = hi or max(last, lo)
    if lo > hi:
        raise _usage_error(f"--from {lo} is after --to {hi}", hint="swap them")
    return lo, hi


def parse_by(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        for part in value.split(","):
            if part.strip():
                name = dimension(part)
                if name in out:
                    raise _usage_error(f"--by names {name} twice")
                out.append(name)
    return out


def parse_where(values: list[str] | None, nulls: list[str] | None) -> dict[str, str | None]:
    where: dict[str, str | None] = {}
    for value in values or []:
        name, sep, wanted = value.partition("=")
        if not sep:
            raise _usage_error(
                f"--where {value!r} is not DIM=VALUE",
                hint=f"for example --where company=Contoso ({DIM_HELP})",
            )
        key = dimension(name)
        if key in where:
            raise _usage_error(f"--where filters {key} twice")
        if key == "day":
            parse_day(wanted, "--where day=")
        where[key] = wanted
    for name in nulls or []:
        key = dimension(name)
        if key in where or key == "day":
            raise _usage_error(f"--where-null {key} contradicts another filter on {key}")
        where[key] = None
    return where


def _progress(app: App, verb: str, n_days: int) -> Any:
    if n_days <= LONG_RANGE_DAYS or app.settings.quiet:
        return None
    step = max(1, n_days // 10)
    shown = [0]

    def show(done: int, total: int) -> None:
        if done == total or done - shown[0] >= step:
            shown[0] = done
            app.ui.err(f"{verb} {done}/{total} days")

    return show


@usage_app.callback(invoke_without_command=True)
@options.command(csv=True)
def report(
    app: App,
    ctx: typer.Context,
    start: FromDay = None,
    end: ToDay = None,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", metavar="DIM", help=f"Group by these, repeat or comma-separate: {DIM_HELP}."),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where", metavar="DIM=VALUE", help="Only usage whose DIM is exactly VALUE (repeatable)."
        ),
    ] = None,
    where_null: Annotated[
        list[str] | None,
        typer.Option(
            "--where-null", metavar="DIM", help="Only usage where the caller gave no DIM (repeatable)."
        ),
    ] = None,
    top: Annotated[
        int | None, typer.Option("--top", min=1, metavar="N", help="Only the N groups with the most tokens.")
    ] = None,
    redis_url: RedisUrl = None,
) -> int:
    if ctx.invoked_subcommand is not None:
        if any(v not in (None, []) for v in (start, end, by, where, where_null, top)):
            raise _usage_error(
                f"report options go without a subcommand; 'pros usage {ctx.invoked_subcommand}' takes its own"
            )
        ctx.obj = app  # global options given here reach the subcommand
        return 0
    app.check()
    lo, hi = day_range(start, end)
    group_by, filters = parse_by(by), parse_where(where, where_null)
    from pros_cli.cli.usage_connect import open_connection, redis_errors
    from pros_cli.cli.usage_output import print_report
    from pros_cli.ledger.report import build_report

    conn = open_connection(app, redis_url)
    n_days = (hi - lo).days + 1
    with redis_errors(conn):
        result = build_report(
            conn.client, lo, hi, by=group_by, where=filters, top=top, progress=_progress(app, "read", n_days)
        )
    print_report(result, str(app.settings.output))
    return 0


@usage_app.command("dead-letters", help="List dead-lettered events (newest first) with the reason.")
@options.command(csv=True)
def dead_letters_command(
    app: App,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="How many to list.")] = 100,
    redis_url: RedisUrl = None,
) -> int:
    from pros_cli.cli.usage_connect import open_connection, redis_errors
    from pros_cli.cli.usage_output import print_dead_letters
    from pros_cli.ledger.audit import dead_letters

    app.check()
    conn = open_connection(app, redis_url)
    with redis_errors(conn):
        letters = dead_letters(conn.client, limit=limit)
    print_dead_letters(letters, str(app.settings.output))
    return 0


@usage_app.command(
    "replay",
    help="Re-submit events (JSON lines: exported events or dead letters) through the recording "
    "script; an event already counted is not counted again. FILE '-' reads stdin.",
)
@options.command
def replay_command(
    app: App,
    file: Annotated[str, typer.Argument(metavar="FILE", help="JSON lines, or - for stdin.")],
    redis_url: RedisUrl = None,
) -> int:
    from pros_cli.cli import render
    from pros_cli.cli.usage_connect import open_connection, redis_errors
    from pros_cli.ledger.audit import replay
    from pros_cli.ledger.record import Ledger

    app.check()
    if file == "-":
        stream = sys.stdin
    else:
        try:
            stream = Path(file).open(encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
        except OSError as exc:
            raise _usage_error(f"cannot read {file}: {exc.strerror}") from None
    conn = open_connection(app, redis_url)
    with stream, redis_errors(conn, write=True):
        result = replay(Ledger(conn.client), stream)
    for line, reason in result.invalid[:50]:
        app.ui.err(f"line {line}: not recorded: {reason}")
    if result.stale:
        app.ui.err(
            f"{result.stale} event(s) not recorded: their day is past the dedupe window and already has "
            "counts, so pros cannot tell whether they were counted"
        )
    if app.json:
        render.print_json(result.to_json())
    else:
        app.out(
            f"recorded {result.recorded}, already counted {result.duplicates}, "
            f"invalid {len(result.invalid)}, refused {result.stale}"
        )
    return 1 if result.invalid or result.stale else 0


def _attach_reconcile() -> None:
    from pros_cli.cli.reconcile import reconcile

    usage_app.command(
        "reconcile",
        help="Compare the ledger's totals per UTC day, region and model with Azure's own LLM log; exit 3 "
        "when a difference exceeds the tolerance.",
    )(reconcile)


@usage_app.command("export", help="Write the raw events recorded on [--from, --to] as JSON lines.")
@options.command
def export_command(
    app: App,
    start: FromDay = None,
    end: ToDay = None,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write here instead of stdout.")
    ] = None,
    redis_url: RedisUrl = None,
) -> int:
    from pros_cli.cli.usage_connect import open_connection, redis_errors
    from pros_cli.ledger.audit import export_events

    app.check()
    lo, hi = day_range(start, end)
    if out is not None and not out.parent.is_dir():
        raise _usage_error(f"--out {out}: the directory {out.parent} does not exist")
    conn = open_connection(app, redis_url)
    target = out.with_name(f".{out.name}.partial") if out else None
    count = 0
    sink = target.open("w", encoding="utf-8") if target else sys.stdout
    try:
        with redis_errors(conn):
            progress = _progress(app, "exported", (hi - lo).days + 1)
            for line in export_events(conn.client, lo, hi, progress=progress):
                sink.write(line + "\n")
                count += 1
    except BaseException:
        if target:
            sink.close()
            target.unlink(missing_ok=True)  # no half-written export left behind
        raise
    if target and out:
        sink.close()
        target.replace(out)
    sys.stdout.flush()
    app.ui.info(f"exported {count} event(s) from {lo} to {hi}" + (f" to {out}" if out else ""))
    return 0


_attach_reconcile()
