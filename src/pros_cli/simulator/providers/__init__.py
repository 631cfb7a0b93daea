"""Resource providers the simulator implements, one module each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pros_cli.simulator.providers import common, resources, storage

if TYPE_CHECKING:
    from pros_cli.simulator.core import Simulator

MODULES = (common, resources, storage)


def register_all(sim: Simulator) -> None:
    for module in MODULES:
        module.register(sim)
