"""Resource group: the container every other resource of a deployment lives in."""

from __future__ import annotations

import dataclasses
from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, az, tags_args
from pros_cli.resources.base import FieldDiff, KeepInstead, Resource


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

    def check_delete(self, clients: Any, deleted: frozenset[str]) -> None:
        """Only an empty group is deleted: deleting a group deletes everything in it, and what is
        left in pros's group at this point (a look-alike, something a colleague added) is not
        pros's. What this run has just deleted is ignored, should the listing still show it."""
        left = [
            item.id
            for item in self.client(clients).resources.list_by_resource_group(self.name)
            if str(item.id).lower() not in deleted
        ]
        if left:
            shown = ", ".join(str(i).rsplit("/", 1)[-1] for i in left[:10])
            more = f" and {len(left) - 10} more" if len(left) > 10 else ""
            raise KeepInstead(
                f"resource group {self.name} is kept: it still holds {len(left)} resource(s) pros did "
                f"not create or did not delete ({shown}{more})"
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
        # In a script, only while the group is there: deleting one that is gone fails
        # (ResourceGroupNotFound), and a re-run after a failure may find it gone.
        show = az("group", "show", "--name", self.name, read_only=True)
        return [dataclasses.replace(az("group", "delete", "--name", self.name, "--yes"), guard=show)]
