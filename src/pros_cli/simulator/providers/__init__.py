"""Resource providers the simulator implements, one module each.

Every module in this package that defines ``register(sim)`` is registered, so adding a provider
is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pros_cli.simulator.core import Simulator


def provider_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def register_all(sim: Simulator) -> None:
    for name in provider_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sim)
