"""The one exit-status table and the error types that map onto it.

Every command ends through :func:`pros_cli.cli.app.main`, which turns a :class:`ProsError`
into its exit status; nothing else in the code calls ``sys.exit``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # an operation against Azure failed, or the plan was refused
    USAGE = 2  # bad input: options, spec, state file; nothing was changed
    UNHEALTHY = 3  # status found the deployment unhealthy or drifted
    INTERRUPTED = 130  # Ctrl-C / SIGTERM: in-flight work was recorded


class ProsError(Exception):
    """An error with a message for the operator and the exit status it maps to."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def render(self) -> str:
        text = f"error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(ProsError):
    """Bad input detected before any Azure call (exit 2)."""

    exit_code = ExitCode.USAGE


class StateError(UsageError):
    """The state file cannot be used as it is (corrupt, newer schema, wrong deployment)."""


class LockHeldError(ProsError):
    """Another pros run holds the deployment's lock."""

    exit_code = ExitCode.FAILED


class AzureOperationError(ProsError):
    """An Azure call failed in a way the operator has to act on."""

    exit_code = ExitCode.FAILED


class Interrupted(ProsError):
    exit_code = ExitCode.INTERRUPTED
