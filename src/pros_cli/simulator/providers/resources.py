"""Microsoft.Resources: resource groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmPath, TypeSpec

if TYPE_CHECKING:
    from pros_cli.simulator.core import Simulator

API_VERSIONS = (
    "2025-04-01",
    "2025-03-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2022-09-01",
    "2021-04-01",
)


def _build(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    # Shape of ResourceGroups_Get: id, name, type, location, (tags), properties.provisioningState
    body["properties"] = {k: v for k, v in body["properties"].items() if k == "provisioningState"}
    return body


def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            "Microsoft.Resources/resourceGroups",
            API_VERSIONS,
            create_mode="sync",
            create_status=201,
            delete_mode="location",
            required=("location",),
            name_rule=(
                r"[-\w._()]{1,90}(?<!\.)",
                "Resource group names are 1-90 characters of letters, digits, "
                "'_', '-', '.', '(' and ')', and may not end with a period.",
            ),
            build=_build,
        )
    )
