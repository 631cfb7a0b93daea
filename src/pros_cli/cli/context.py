"""The application object the root callback builds and every command receives.

It holds the merged settings, the two output streams (data on stdout; echo, progress and
warnings on stderr), and lazily: the simulator, the client factory, the echo.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pros_cli.errors import UsageError


@dataclass(frozen=True)
class Settings:
    base_name: str | None = None
    state_file: Path | None = None
    subscription: str | None = None
    output: str = "table"
    dry_run: bool = False
    yes: bool = False
    quiet: bool = False
    verbose: bool = False
    parallelism: int = 8
    emit_script: Path | None = None


def cloud_kind() -> str:
    kind = (os.environ.get("PROS_CLOUD") or "azure").strip().lower()
    if kind not in ("azure", "simulator"):
        raise UsageError(
            f"PROS_CLOUD={kind!r} is not a cloud pros knows",
            hint="unset it for Azure, or set PROS_CLOUD=simulator for the local ARM simulator",
        )
    return kind


@dataclass
class App:
    settings: Settings
    _ui: Any = None
    _simulator: Any = None

    def with_overrides(self, overrides: dict[str, Any]) -> App:
        return App(dataclasses.replace(self.settings, **overrides), self._ui, self._simulator)

    # ---- validation common to every command -----------------------------------------------
    def check(self) -> None:
        s = self.settings
        if s.quiet and s.verbose:
            raise UsageError("--quiet and --verbose contradict each other", hint="pass at most one of them")

    @property
    def json(self) -> bool:
        return self.settings.output == "json"

    # ---- output ---------------------------------------------------------------------------
    @property
    def ui(self) -> Any:
        if self._ui is None:
            from pros_cli.engine.progress import Ui

            self._ui = Ui(quiet=self.settings.quiet)
        return self._ui

    def out(self, text: str) -> None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def make_echo(self) -> Any:
        from pros_cli.echo import Echo

        return Echo(
            write=self.ui.err,
            quiet=self.settings.quiet,
            verbose=self.settings.verbose,
            script_path=self.settings.emit_script,
        )

    # ---- cloud ----------------------------------------------------------------------------
    @property
    def cloud(self) -> str:
        return cloud_kind()

    def simulator(self) -> Any:
        if self._simulator is None:
            from pros_cli.simulator.core import Simulator

            path = os.environ.get("PROS_SIMULATOR_FILE") or str(Path.cwd() / ".pros" / ".simulator.json")
            profile = os.environ.get("PROS_SIMULATOR_PROFILE") or "instant"
            self._simulator = Simulator(path=path, profile=profile)
        return self._simulator

    def clients(self, subscription_id: str) -> Any:
        from pros_cli.azure.clients import ClientFactory

        sim = self.simulator() if self.cloud == "simulator" else None
        factory = ClientFactory(
            subscription_id, cloud=self.cloud, parallelism=self.settings.parallelism, simulator=sim
        )
        factory.notice = self.ui.info
        return factory

    # ---- deployment selection ---------------------------------------------------------------
    def base_name(self, *, required: bool = True) -> str | None:
        s = self.settings
        if s.base_name:
            return s.base_name
        if s.state_file is not None:
            from pros_cli.state import load_state_file

            data = load_state_file(s.state_file)
            if data and data.get("base_name"):
                return str(data["base_name"])
        from pros_cli.state import discover_deployments

        found = discover_deployments()
        if len(found) == 1:
            return found[0]
        if not required:
            return None
        if not found:
            raise UsageError(
                "no deployment selected and none recorded in ./.pros/",
                hint="pass --base-name NAME (or set PROS_BASE_NAME)",
            )
        raise UsageError(
            f"several deployments are recorded in ./.pros/ ({', '.join(found)}); pros will not guess",
            hint="pass --base-name NAME to pick one",
        )

    def deployment(self, *, offline: bool = False) -> tuple[str, str]:
        """The deployment this run works on: its base name and subscription, both validated.
        The subscription defaults to the one the deployment's state file records (it cannot
        change), so later commands need no --subscription."""
        from pros_cli.azure.clients import resolve_subscription
        from pros_cli.spec import validate_base_name, validate_subscription_id
        from pros_cli.state import load_state_file

        base_name = validate_base_name(self.base_name(required=True) or "")
        data = load_state_file(self.state_path(base_name))
        recorded = str((data or {}).get("subscription_id") or "") or None
        subscription, _source = resolve_subscription(
            self.settings.subscription, offline=offline, cloud=self.cloud, recorded=recorded
        )
        return base_name, validate_subscription_id(subscription)

    def state_path(self, base_name: str) -> Path:
        from pros_cli.state import default_state_path

        return self.settings.state_file or default_state_path(base_name)
