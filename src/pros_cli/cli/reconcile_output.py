"""Printing a reconciliation: a table of the groups that differ, their causes, and the calls."""

from __future__ import annotations

from typing import Any

from pros_cli.cli.context import App


def print_reconciliation(app: App, result: Any, *, tolerance_source: str) -> None:
    from pros_cli.cli import render

    if app.json:
        render.print_json({**result.to_json(), "tolerance_source": tolerance_source})
        return
    from rich.table import Table

    console = render._console()
    differing = result.differences
    console.print(
        f"Ledger against Azure's LLM log, {result.start} to {result.end} (UTC): "
        f"{len(result.groups)} group(s) by day, region and model, {len(differing)} differ; "
        f"tolerance {result.tolerance} ({tolerance_source})",
        markup=False,
    )
    if differing:
        table = Table(box=None, pad_edge=False, show_edge=False)
        for column in (
            "day",
            "region",
            "model",
            "requests",
            "tokens",
            "difference",
            "verdict",
            "likely cause",
        ):
            table.add_column(column, overflow="fold")
        for g in differing:
            table.add_row(
                g.key.day.isoformat(),
                g.key.region,
                g.key.model or "-",
                f"{g.ledger.requests} / {g.azure.calls}",
                f"{g.ledger.total_tokens} / {g.azure.row_tokens}",
                f"{g.token_difference:+d}",
                g.verdict,
                "; ".join(c.text for c in g.causes) or "-",
            )
        console.print(table, markup=False)
        console.print("requests and tokens: ledger / Azure; difference: ledger minus Azure", markup=False)
    for day in result.calls:
        lines = [f"{request_id}  ledger only ({note})" for request_id, note in day.ledger_only]
        lines += [f"{request_id}  Azure only ({note})" for request_id, note in day.azure_only]
        lines += [f"{request_id}  Azure logged {rows} rows" for request_id, rows in day.duplicated]
        lines += [
            f"{request_id}  tokens ledger {mine} / Azure {theirs}" + (f" ({note})" if note else "")
            for request_id, mine, theirs, note in day.tokens
        ]
        console.print(f"Calls of {day.day}: " + ("none on one side only" if not lines else ""), markup=False)
        for line in lines:
            console.print(f"  {line}", markup=False)
    if result.exceeds:
        app.ui.err("a difference exceeds the tolerance (exit status 3)")
