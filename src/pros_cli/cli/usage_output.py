"""Rendering usage data: a rich table with totals, JSON, or CSV a spreadsheet opens safely."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from typing import Any

from pros_cli.cli import render

# The table's columns (CSV and JSON carry every column in report.COLUMNS).
TABLE_COLUMNS = (
    ("requests", "requests"),
    ("prompt_tokens", "prompt"),
    ("completion_tokens", "completion"),
    ("total_tokens", "total"),
    ("cached_tokens", "cached"),
    ("reasoning_tokens", "reasoning"),
    ("failovers", "failovers"),
    ("estimated_tokens", "estimated"),
)
# OWASP, CSV injection: a cell starting with one of these is run as a formula by spreadsheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell no spreadsheet runs as a formula: such text gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def printable(value: str) -> str:
    """Text any terminal or file encoding takes (lone surrogates escaped)."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _label(value: Any) -> str:
    if value is None:
        return "(none)"
    if value == "":
        return '""'
    return printable(str(value))


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return safe_cell(printable(value)) if isinstance(value, str) else value


def write_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            ["" if v is None else safe_cell(printable(v) if isinstance(v, str) else v) for v in row]
        )
    sys.stdout.flush()


def print_report(report: Any, output: str) -> None:
    from pros_cli.ledger.report import COLUMNS

    if output == "json":
        render.print_json(report.to_json())
        return
    if output == "csv":
        write_csv([*report.by, *COLUMNS], [[*group, *(m[c] for c in COLUMNS)] for group, m in report.rows])
        return
    from rich.table import Table

    title = f"Usage {report.start.isoformat()} to {report.end.isoformat()} (UTC days)"
    if report.where:
        title += "; where " + ", ".join(f"{k}={_label(v)}" for k, v in report.where.items())
    table = Table(title=title, title_justify="left", show_footer=bool(report.by), box=None, pad_edge=False)
    shown = len(report.rows)
    label = "total" if shown == report.groups else f"total ({report.groups} groups, {shown} shown)"
    for i, name in enumerate(report.by):
        table.add_column(name, footer=label if i == 0 else "", overflow="fold")
    for key, heading in TABLE_COLUMNS:
        table.add_column(heading, justify="right", footer=f"{report.totals[key]:,}")
    for group, metrics in report.rows:
        table.add_row(*(_label(v) for v in group), *(f"{metrics[k]:,}" for k, _ in TABLE_COLUMNS))
    render._console().print(table, markup=False)


def print_dead_letters(letters: list[dict[str, str]], output: str) -> None:
    if output == "json":
        render.print_json(letters)
        return
    if output == "csv":
        write_csv(
            ["at", "id", "reason", "payload"],
            [[d["at"], d["id"], d["reason"], d["payload"]] for d in letters],
        )
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("at", "id", "reason"):
        table.add_column(column, overflow="fold")
    for d in letters:
        table.add_row(d["at"], printable(d["id"]) or "-", printable(d["reason"]))
    render._console().print(table, markup=False)
