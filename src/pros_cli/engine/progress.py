"""Everything pros writes to stderr: echo lines, progress, warnings.

On a terminal, apply shows a live table (rich): every change of the run, waiting, running (with
its elapsed time and, for the slow kinds such as API Management, the time Azure usually takes) or
done; the echo lines scroll above it. Otherwise (CI logs, pipes) it writes one plain line per state
change, each with its UTC timestamp and the time since the run started.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from typing import Any

from pros_cli.engine.dag import NodeResult

STATUS_TEXT = {
    "succeeded": "done",
    "noop": "unchanged",
    "failed": "FAILED",
    "skipped": "skipped",
    "started": "started (not waiting)",
    "deferred": "deferred",
    "interrupted": "interrupted",
    "not-started": "not started",
}


SLOW_SECONDS = 120.0  # kinds that usually take longer show how long Azure usually takes


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes >= 2 else f"{round(seconds)} s"


class Ui:
    def __init__(self, *, quiet: bool = False, stream: Any = None, force_plain: bool = False):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = (not force_plain) and bool(getattr(self.stream, "isatty", lambda: False)())
        self._live: Any = None
        self._lock = threading.Lock()

    def err(self, line: str) -> None:
        """Write one line to stderr (above the live display when there is one)."""
        with self._lock:
            if self._live is not None:
                self._live.console.print(line, markup=False, highlight=False, soft_wrap=True)
            else:
                self.stream.write(line + "\n")
                self.stream.flush()

    def info(self, line: str) -> None:
        if not self.quiet:
            self.err(line)

    def warn(self, line: str) -> None:
        self.err(f"warning: {line}")

    def tracker(self, title: str) -> Tracker:
        return Tracker(self, title)


class Tracker:
    """Per-resource progress for one apply."""

    def __init__(self, ui: Ui, title: str):
        self.ui = ui
        self.title = title
        self.started = time.monotonic()
        self.rows: dict[str, dict[str, Any]] = {}

    def __enter__(self) -> Tracker:
        if self.ui.tty and not self.ui.quiet:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.ui.stream, stderr=True)
            self.ui._live = Live(self._render(), console=console, refresh_per_second=4, transient=False)
            self.ui._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        live = self.ui._live
        if live is not None:
            live.update(self._render())
            live.stop()
            self.ui._live = None

    def _elapsed(self) -> float:
        return time.monotonic() - self.started

    def _stamp(self) -> str:
        """A CI log line's prefix: the UTC time, and the time since the run started."""
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{now} [{self._elapsed():6.1f}s]"

    def expect(self, rows: list[tuple[str, str, str, str, float]]) -> None:
        """The run's changes before any starts: (key, symbol, what, action, typical seconds). On a
        terminal each shows as waiting until it starts."""
        for key, symbol, what, action, typical in rows:
            self.rows.setdefault(
                key,
                {"symbol": symbol, "what": what, "action": action, "status": "waiting", "typical": typical},
            )
        if self.ui._live is not None:
            self.ui._live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table

        table = Table(title=self.title, title_justify="left", expand=False, box=None, pad_edge=False)
        table.add_column("")
        table.add_column("resource")
        table.add_column("action")
        table.add_column("status")
        table.add_column("time", justify="right")
        now = time.monotonic()
        waiting = 0
        for row in self.rows.values():
            if "start" not in row:
                waiting += 1
                table.add_row(row["symbol"], row["what"], row["action"], "waiting", "")
                continue
            end = row.get("end") or now
            status = row["status"]
            if status == "running" and row.get("typical", 0) >= SLOW_SECONDS:
                status = f"running (Azure usually takes ~{_duration(row['typical'])})"
            table.add_row(row["symbol"], row["what"], row["action"], status, f"{end - row['start']:.1f}s")
        if waiting:
            table.caption = f"{waiting} waiting for what they depend on"
        return table

    def start(self, key: str, symbol: str, what: str, action: str) -> None:
        row = self.rows.setdefault(key, {"symbol": symbol, "what": what, "action": action})
        row.update(status="running", start=time.monotonic())
        if self.ui._live is not None:
            self.ui._live.update(self._render())
        else:
            typical = row.get("typical", 0)
            expected = f" (Azure usually takes ~{_duration(typical)})" if typical >= SLOW_SECONDS else ""
            self.ui.info(f"{self._stamp()} {symbol} {what}: {action} ...{expected}")

    def finish(self, key: str, symbol: str, what: str, action: str, result: NodeResult) -> None:
        row = self.rows.setdefault(key, {"symbol": symbol, "what": what, "action": action})
        row.setdefault("start", time.monotonic())  # never started (skipped, deferred): no time of its own
        row["end"] = time.monotonic()
        status = STATUS_TEXT.get(result.status, result.status)
        if result.status == "skipped" and result.cause:
            status = f"skipped: depends on {result.cause}, which failed"
        if result.status == "deferred" and result.cause:
            status = f"deferred: waits for {result.cause}, still running"
        row["status"] = status
        if self.ui._live is not None:
            self.ui._live.update(self._render())
            if result.status == "failed" and result.error:
                self.ui.err(f"  {result.error}")
        elif result.status not in ("noop", "not-started"):
            line = f"{self._stamp()} {symbol} {what}: {status} ({result.elapsed:.1f}s)"
            if result.status == "failed" and result.error:
                line += f"\n    {result.error}"
            if result.status == "failed":
                self.ui.err(line)
            else:
                self.ui.info(line)

    def tick(self) -> None:
        if self.ui._live is not None:
            self.ui._live.update(self._render())
