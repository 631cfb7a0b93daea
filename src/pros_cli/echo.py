"""The az echo: every mutating call is announced as the az command line that does the same.

An :class:`AzCommand` is a list of arguments; :class:`Secret` arguments render as a shell
variable reference (``"$PROS_REDIS_KEY"``) so the line still pastes and parses while the value
never reaches the terminal. ``--emit-script FILE`` collects the same lines into a bash script
that runs top to bottom against an empty subscription: each secret variable is filled by the az
command that reads it right before the first line that uses it (so after the lines that create
its source), and values like principal ids are ``$(az ...)`` substitutions on the line itself.
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


def _in_double_quotes(text: str) -> str:
    """``text`` escaped to stand inside a double-quoted shell word as itself."""
    for char in ("\\", '"', "$", "`"):
        text = text.replace(char, "\\" + char)
    return text


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
        return f'"{_in_double_quotes(self.prefix)}${{{self.var}}}"'


@dataclass(frozen=True)
class Subst:
    """A value another az command prints when the line runs: ``"$(az ... --query Q --output tsv)"``.

    For values that do not exist until an earlier line of the same script has run, like the
    principal id of an identity created just before. Not a secret, so never hoisted."""

    command: AzCommand
    query: str
    # The value as pros saw it, when it did (the terminal echo shows it); the emitted script always
    # asks az, since a replay into another subscription gets other values (a new identity's id).
    known: str = ""

    def lookup(self) -> str:
        shown = AzCommand((*self.command.args, "--query", self.query, "--output", "tsv"), read_only=True)
        return f'"$({shown.render()})"'

    def render(self) -> str:
        return shlex.quote(self.known) if self.known else self.lookup()


@dataclass(frozen=True)
class JsonSubst:
    """A JSON argument (an ``az rest --body``) holding values another az command prints when the
    line runs: each ``placeholder`` string inside ``data`` becomes ``$(az ... --query Q)``. Rendered
    in double quotes, so the shell fills the values in and az still receives one JSON argument."""

    data: dict
    substs: tuple[tuple[str, Subst], ...]

    def render(self, variables: dict[str, str] | None = None) -> str:
        """With ``variables`` (placeholder -> shell variable), the values come from variables a
        script filled on lines of their own instead of from inline substitutions."""
        text = _in_double_quotes(json.dumps(self.data, separators=(",", ":"), sort_keys=True))
        for placeholder, subst in self.substs:
            if variables and placeholder in variables:
                text = text.replace(placeholder, "${" + variables[placeholder] + "}")
            elif subst.known:
                text = text.replace(placeholder, _in_double_quotes(subst.known))
            else:
                text = text.replace(placeholder, subst.lookup()[1:-1])  # "$(...)" without its quotes
        return f'"{text}"'


Arg = str | Secret | Subst | JsonSubst


@dataclass(frozen=True)
class AzCommand:
    args: tuple[Arg, ...]
    read_only: bool = False
    note: str = ""  # why this command stands in for the SDK call, when not obvious
    # For the emitted script: a read-only az command that succeeds only when this one has work to do
    # (the script runs this one only then), so a re-run after a failure does not fail on a command
    # whose work is done, e.g. a purge of a name already purged. The terminal echo shows the command.
    guard: AzCommand | None = None

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


# Waits until the resource an ``az rest`` PUT wrote has finished provisioning (or has no
# provisioningState at all: a proxy resource that is done when the PUT answers).
_SETTLED = "properties.provisioningState == null || properties.provisioningState == 'Succeeded'"


def wait_after(cmd: AzCommand) -> AzCommand | None:
    """For the emitted script: ``az rest`` sends one request and returns, where pros's SDK call polls
    a long-running PUT or DELETE to its end. The line after it waits the same way (``az resource
    wait``), so a later line finds the resource finished (or gone) rather than still in progress."""
    args = [a for a in cmd.args if isinstance(a, str)]
    if args[:2] != ["az", "rest"] or cmd.read_only or "--url" not in args:
        return None
    method = args[args.index("--method") + 1].lower() if "--method" in args else "get"
    url = args[args.index("--url") + 1]
    if method not in ("put", "delete") or not url.startswith(ARM + "/"):
        return None
    path, _, query = url[len(ARM) :].partition("?")
    version = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("api-version")
    if not version:
        return None
    if method == "delete":
        return az("resource", "wait", "--deleted", "--ids", path, "--api-version", version)
    return az("resource", "wait", "--ids", path, "--api-version", version, "--custom", _SETTLED)


@dataclass
class Echo:
    """Writes ``Executing: az ...`` lines to stderr and, optionally, into a bash script."""

    write: Callable[[str], None]
    quiet: bool = False
    verbose: bool = False
    script_path: Path | None = None
    lines: list[str] = field(default_factory=list)
    _fetched: set[str] = field(default_factory=set)
    _values: dict[str, str] = field(default_factory=dict)  # Subst line -> the script variable holding it
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
                    # A secret is read right before its first use: by then the lines that create
                    # its source have run (pros echoes a call only once its dependencies exist).
                    for secret in cmd.secrets:
                        if secret.source and secret.var not in self._fetched:
                            self._fetched.add(secret.var)
                            self.lines.append(f'{secret.var}="$({secret.source})"')
                    if cmd.note:
                        self.lines.append(f"# {cmd.note}")
                    self.lines.append(self._guarded(cmd, self._script_line(cmd)))
                    wait = wait_after(cmd)
                    if wait is not None:
                        self.lines.append(wait.render())
                if not self.quiet:
                    self.write(f"Executing: {line}")
                    if cmd.note and cmd.note not in self._notes_shown:  # each note once per run
                        self._notes_shown.add(cmd.note)
                        self.write(f"  note: {cmd.note}")
            if self.script_path is not None:
                self._write_script()

    def _value_var(self, subst: Subst) -> str:
        """The script variable holding a value az prints (a principal id, a resource id), filled on a
        line of its own right before its first use: a failing or empty lookup stops the script there
        (``set -e`` does not see a failure inside a ``$(...)`` that is part of an argument)."""
        key = subst.lookup()
        var = self._values.get(key)
        if var is None:
            var = self._values[key] = f"PROS_VALUE_{len(self._values) + 1}"
            self.lines.append(f"{var}={key}")
            self.lines.append(f': "${{{var}:?the line above printed no value}}"')
        return var

    def _script_line(self, cmd: AzCommand) -> str:
        parts = []
        for arg in cmd.args:
            if isinstance(arg, str):
                parts.append(shlex.quote(arg))
            elif isinstance(arg, Subst):
                parts.append(f'"${{{self._value_var(arg)}}}"')
            elif isinstance(arg, JsonSubst):
                parts.append(arg.render({p: self._value_var(sub) for p, sub in arg.substs}))
            else:
                parts.append(arg.render())
        return " ".join(parts)

    def _guarded(self, cmd: AzCommand, line: str) -> str:
        if cmd.guard is None:
            return line
        return f"if {self._script_line(cmd.guard)} --output none 2>/dev/null; then {line}; fi"

    def _write_script(self) -> None:
        head = [
            "#!/usr/bin/env bash",
            "# Written by pros --emit-script: the az commands equivalent to the calls pros made",
            "# (or, with --dry-run, would make), in the order it made them.",
            "set -euo pipefail",
            "",
        ]
        body = "\n".join(head + self.lines) + "\n"
        from pros_cli.state import atomic_write

        atomic_write(self.script_path, body.encode())  # type: ignore[arg-type]
        os.chmod(self.script_path, 0o755)  # type: ignore[arg-type]
