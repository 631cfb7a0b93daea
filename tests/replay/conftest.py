"""Fixtures of the replay tests: one azure-cli host for the session, a fresh simulator per replay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pros_cli.simulator.core import Simulator
from tests.conftest import _az_python
from tests.replay.harness import AzHost, ScriptRun, SimServer, compare, spec_from_state


@pytest.fixture(scope="session")
def az_host() -> Iterator[AzHost]:
    host = AzHost(_az_python())
    yield host
    host.close()


class Replay:
    """Replays scripts into one empty simulator (B) and holds it against pros's own cloud (A)."""

    def __init__(self, host: AzHost):
        self.host = host
        self.cloud = Simulator()
        self.server = SimServer(self.cloud)

    def run(self, script: Path) -> ScriptRun:
        return self.host.run_script(script, self.server)

    def differences(self, pros_cloud: Simulator, base: str = "demo") -> list[str]:
        pros_cloud.reload()
        state = json.loads((Path.cwd() / ".pros" / f"{base}.json").read_text())
        spec = spec_from_state(state)
        return compare(spec, set(state["resources"]), pros_cloud, self.cloud)

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def replay(az_host: AzHost) -> Iterator[Replay]:
    r = Replay(az_host)
    yield r
    r.close()
