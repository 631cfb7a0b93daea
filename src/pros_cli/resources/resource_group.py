"""Resource group: the container every other resource of a deployment lives in."""

from __future__ import annotations

from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, az, tags_args
from pros_cli.resources.base import FieldDiff, Resource


class ResourceGroup(Resource):
    arm_type = "Microsoft.Resources/resourceGroups"
    client_kind = "resource"
    api_version = "2025-04-01"
    label = "resource group"
    typical_seconds = 5
    managed_fields = ("location",)
    immutable_fields = ("location",)

    def arm_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.name}"

    def desired(self) -> dict[str, Any]:
        return {"location": self.region, "tags": self.desired_tags()}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self.client(clients).resource_groups.get, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return self.client(clients).resource_groups.create_or_update(self.name, self.desired(), cls=raw_json)

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self.client(clients).resource_groups.update(
            self.name, {"tags": self.merged_tags(current)}, cls=raw_json
        )

    def delete(self, clients: Any) -> Any:
        return self.client(clients).resource_groups.begin_delete(self.name)

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"location": (current or {}).get("location")}

    def az_read(self) -> AzCommand:
        return az("group", "show", "--name", self.name, read_only=True)

    def az_create(self) -> list[AzCommand]:
        return [
            az(
                "group",
                "create",
                "--name",
                self.name,
                "--location",
                str(self.region),
                *tags_args(self.desired_tags()),
            )
        ]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        return [az("group", "update", "--name", self.name, *tags_args(self.merged_tags(current)))]

    def az_delete(self) -> list[AzCommand]:
        return [az("group", "delete", "--name", self.name, "--yes")]
