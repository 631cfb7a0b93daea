"""The az echo: every mutating call is announced as the az command line that does the same.

An :class:`AzCommand` is a list of arguments; :class:`Secret` arguments render as a shell
variable reference (``"$PROS_REDIS_KEY"``) so the line still pastes and parses while the value
never reaches the terminal. ``--emit-script FILE`` collects the same lines into a bash script,
where each secret variable is first filled by the az command that reads it.
"""

from __future__ import annotations

import json
import os
import shlex
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ARM = "https://management.azure.com"


@dataclass(frozen=True)
class Secret:
    """A secret argument: ``var`` names the shell variable, ``source`` is the az command that
    prints the value (used by ``--emit-script``); ``prefix`` is text that precedes it in the
    same argument, e.g. ``REDIS_KEY=``."""

    var: str
    source: str = ""
    prefix: str = ""

    def render(self) -> str:
        # Double quotes so the shell expands the variable; prefix is quoted for the shell too.
        safe_prefix = self.prefix.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
        return f'"{safe_prefix}${{{self.var}}}"'


@dataclass(frozen=True)
class Subst:
    """A value another az command prints when the line runs: ``"$(az ... --query Q --output tsv)"``.

    For values that do not exist until an earlier line of the same script has run, like the
    principal id of an identity created just before. Not a secret, so never hoisted."""

    command: AzCommand
    query: str

    def render(self) -> str:
        shown = AzCommand((*self.command.args, "--query", self.query, "--output", "tsv"), read_only=True)
        return f'"$({shown.render()})"'


@dataclass(frozen=True)
class JsonSubst:
    """A JSON argument (an ``az rest --body``) holding values another az command prints when the
    line runs: each ``placeholder`` string inside ``data`` becomes ``$(az ... --query Q)``. Rendered
    in double quotes, so the shell fills the values in and az still receives one JSON argument."""

    data: dict
    substs: tuple[tuple[str, Subst], ...]

    def render(self) -> str:
        text = json.dumps(self.data, separators=(",", ":"), sort_keys=True)
        for char in ("\\", '"', "$", "`"):
            text = text.replace(char, "\\" + char)
        for placeholder, subst in self.substs:
            text = text.replace(placeholder, subst.render()[1:-1])  # "$(...)" without its quotes
        return f'"{text}"'


Arg = str | Secret | Subst | JsonSubst


@dataclass(frozen=True)
class AzCommand:
    args: tuple[Arg, ...]
    read_only: bool = False
    note: str = ""  # why this command stands in for the SDK call, when not obvious

    def render(self) -> str:
        parts = []
        for arg in self.args:
            parts.append(shlex.quote(arg) if isinstance(arg, str) else arg.render())
        return " ".join(parts)

    @property
    def secrets(self) -> list[Secret]:
        return [a for a in self.args if isinstance(a, Secret)]

    def __str__(self) -> str:
        return self.render()


def az(*args: Arg, read_only: bool = False, note: str = "") -> AzCommand:
    flat: list[Arg] = ["az"]
    for arg in args:
        if arg is None:
            continue
        flat.append(arg)
    return AzCommand(tuple(flat), read_only=read_only, note=note)


def tags_args(tags: dict[str, str]) -> list[str]:
    """``--tags k=v ...``: az's space-separated tag syntax."""
    if not tags:
        return ["--tags", ""]
    return ["--tags", *[f"{k}={v}" for k, v in sorted(tags.items())]]


def az_rest(method: str, path: str, api_version: str, body: dict | None = None) -> AzCommand:
    """The ``az rest`` call for an ARM operation that az has no command for."""
    url = f"{ARM}{path}?api-version={api_version}"
    args: list[Arg] = ["rest", "--method", method.lower(), "--url", url]
    if body is not None:
        args += ["--body", json.dumps(body, separators=(",", ":"), sort_keys=True)]
    return az(*args, read_only=method.upper() in ("GET", "HEAD"))


@dataclass
class Echo:
    """Writes ``Executing: az ...`` lines to stderr and, optionally, into a bash script."""

    write: Callable[[str], None]
    quiet: bool = False
    verbose: bool = False
    script_path: Path | None = None
    lines: list[str] = field(default_factory=list)
    _secret_sources: dict[str, str] = field(default_factory=dict)
    _notes_shown: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, commands: Sequence[AzCommand] | AzCommand) -> None:
        if isinstance(commands, AzCommand):
            commands = [commands]
        with self._lock:
            for cmd in commands:
                if cmd.read_only and not self.verbose:
                    continue
                line = cmd.render()
                if not cmd.read_only:
                    if cmd.note:
                        self.lines.append(f"# {cmd.note}")
                    self.lines.append(line)
                    for secret in cmd.secrets:
                        if secret.source:
                            self._secret_sources.setdefault(secret.var, secret.source)
                if not self.quiet:
                    self.write(f"Executing: {line}")
                    if cmd.note and cmd.note not in self._notes_shown:  # each note once per run
                        self._notes_shown.add(cmd.note)
                        self.write(f"  note: {cmd.note}")
            if self.script_path is not None:
                self._write_script()

    def _write_script(self) -> None:
        head = [
            "#!/usr/bin/env bash",
            "# Written by pros --emit-script: the az commands equivalent to the calls pros made",
            "# (or, with --dry-run, would make), in the order it made them.",
            "set -euo pipefail",
            "",
        ]
        for var, source in self._secret_sources.items():
            head.append(f'{var}="$({source})"')
        if self._secret_sources:
            head.append("")
        body = "\n".join(head + self.lines) + "\n"
        from pros_cli.state import atomic_write

        atomic_write(self.script_path, body.encode())  # type: ignore[arg-type]
        os.chmod(self.script_path, 0o755)  # type: ignore[arg-type]
