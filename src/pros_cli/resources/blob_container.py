"""Blob container: where a Flex Consumption Function App's deployment package lives.

Created through the management plane (``blobServices/default/containers``), so no storage key or
data-plane permission is needed; the app reads it with its own identity. Containers carry no
tags, so the storage account's tags are what mark it as pros's.
"""

from __future__ import annotations

from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, az
from pros_cli.resources.base import FieldDiff, Resource
from pros_cli.spec import Spec

MAX_NAME = 63
_AZ_ACCESS = {"None": "off", "Blob": "blob", "Container": "container"}


def deployment_container_name(app_name: str) -> str:
    """``app-package-<app>``: lowercase, at most 63 characters, no trailing hyphen."""
    return f"app-package-{app_name.lower()}"[:MAX_NAME].rstrip("-")


class BlobContainer(Resource):
    arm_type = "Microsoft.Storage/storageAccounts/blobServices/containers"
    client_kind = "storage"
    api_version = "2026-09-01"
    label = "blob container"
    managed_fields = ("properties.publicAccess",)
    immutable_fields = ()
    tagged = False
    deleted_with_parent = True
    typical_seconds = 2.0

    def __init__(
        self,
        spec: Spec,
        *,
        key: str,
        name: str,
        account: str,
        region: str | None,
        depends_on: tuple[str, ...] = (),
        parent: str | None = None,
    ):
        super().__init__(spec, key=key, name=name, region=region, depends_on=depends_on, parent=parent)
        self.account = account

    def arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/"
            f"Microsoft.Storage/storageAccounts/{self.account}/blobServices/default/containers/{self.name}"
        )

    def describe(self) -> str:
        return f"{self.label} {self.account}/{self.name}"

    @property
    def url(self) -> str:
        """The container URL a Flex app's ``functionAppConfig.deployment.storage.value`` names."""
        return f"https://{self.account}.blob.core.windows.net/{self.name}"

    def desired(self) -> dict[str, Any]:
        return {"properties": {"publicAccess": "None"}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        containers = self.client(clients).blob_containers
        return get_or_none(containers.get, self.resource_group, self.account, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return self.client(clients).blob_containers.create(
            self.resource_group, self.account, self.name, self.desired(), cls=raw_json
        )

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self.client(clients).blob_containers.update(
            self.resource_group, self.account, self.name, self.desired(), cls=raw_json
        )

    def delete(self, clients: Any) -> Any:
        self.client(clients).blob_containers.delete(self.resource_group, self.account, self.name)
        return None

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"url": self.url}

    # ---- az: container-rm is the management-plane (ARM) container command ----------------------
    def _where(self) -> list[str]:
        return [
            "--storage-account",
            self.account,
            "--resource-group",
            self.resource_group,
            "--name",
            self.name,
        ]

    def az_read(self) -> AzCommand:
        return az("storage", "container-rm", "show", *self._where(), read_only=True)

    def az_create(self) -> list[AzCommand]:
        access = _AZ_ACCESS[self.desired()["properties"]["publicAccess"]]
        return [az("storage", "container-rm", "create", *self._where(), "--public-access", access)]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        access = _AZ_ACCESS[self.desired()["properties"]["publicAccess"]]
        return [az("storage", "container-rm", "update", *self._where(), "--public-access", access)]

    def az_delete(self) -> list[AzCommand]:
        return [az("storage", "container-rm", "delete", *self._where(), "--yes")]
