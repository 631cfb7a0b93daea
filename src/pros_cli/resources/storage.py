"""Storage account: StorageV2, TLS 1.2, HTTPS only, no public blob access."""

from __future__ import annotations

from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, az, tags_args
from pros_cli.resources.base import FieldDiff, Resource, get_path

_FLAG = {
    "properties.minimumTlsVersion": "--min-tls-version",
    "properties.allowBlobPublicAccess": "--allow-blob-public-access",
    "properties.supportsHttpsTrafficOnly": "--https-only",
}


def _az_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class StorageAccount(Resource):
    arm_type = "Microsoft.Storage/storageAccounts"
    client_kind = "storage"
    api_version = "2026-09-01"
    label = "storage account"
    typical_seconds = 30
    managed_fields = (
        "location",
        "kind",
        "sku.name",
        "properties.minimumTlsVersion",
        "properties.allowBlobPublicAccess",
        "properties.supportsHttpsTrafficOnly",
    )
    immutable_fields = ("location", "kind")
    globally_unique = True

    def desired(self) -> dict[str, Any]:
        return {
            "location": self.region,
            "kind": "StorageV2",
            "sku": {"name": self.spec.storage_sku},
            "tags": self.desired_tags(),
            "properties": {
                "minimumTlsVersion": "TLS1_2",
                "allowBlobPublicAccess": False,
                "supportsHttpsTrafficOnly": True,
            },
        }

    def read(self, clients: Any) -> dict[str, Any] | None:
        accounts = self.client(clients).storage_accounts
        return get_or_none(accounts.get_properties, self.resource_group, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        body = self.desired()
        return self.client(clients).storage_accounts.begin_create(
            self.resource_group, self.name, body, cls=raw_json, continuation_token=continuation_token
        )

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self.client(clients).storage_accounts.update(
            self.resource_group, self.name, self.patch_body(current, diffs), cls=raw_json
        )

    def delete(self, clients: Any) -> Any:
        self.client(clients).storage_accounts.delete(self.resource_group, self.name)
        return None

    def check_name(self, clients: Any) -> str | None:
        result = self.client(clients).storage_accounts.check_name_availability(
            {"name": self.name, "type": self.arm_type}, cls=raw_json
        )
        if result.get("nameAvailable"):
            return None
        return f"{result.get('reason') or 'unavailable'}: {result.get('message') or 'name is taken'}"

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"blob_endpoint": get_path(current, "properties.primaryEndpoints.blob")}

    # ---- az ---------------------------------------------------------------------------------
    def az_read(self) -> AzCommand:
        return az(
            "storage",
            "account",
            "show",
            "--name",
            self.name,
            "--resource-group",
            self.resource_group,
            read_only=True,
        )

    def az_create(self) -> list[AzCommand]:
        props = self.desired()["properties"]
        return [
            az(
                "storage",
                "account",
                "create",
                "--name",
                self.name,
                "--resource-group",
                self.resource_group,
                "--location",
                str(self.region),
                "--sku",
                self.spec.storage_sku,
                "--kind",
                "StorageV2",
                "--min-tls-version",
                props["minimumTlsVersion"],
                "--allow-blob-public-access",
                _az_value(props["allowBlobPublicAccess"]),
                "--https-only",
                _az_value(props["supportsHttpsTrafficOnly"]),
                *tags_args(self.desired_tags()),
            )
        ]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        args: list[str] = []
        for d in diffs:
            if d.path == "sku.name":
                args += ["--sku", str(d.desired)]
            elif d.path in _FLAG:
                args += [_FLAG[d.path], _az_value(d.desired)]
        if any(d.path.startswith("tags.") for d in diffs):
            args += tags_args(self.merged_tags(current))
        return [
            az(
                "storage",
                "account",
                "update",
                "--name",
                self.name,
                "--resource-group",
                self.resource_group,
                *args,
            )
        ]

    def az_delete(self) -> list[AzCommand]:
        return [
            az(
                "storage",
                "account",
                "delete",
                "--name",
                self.name,
                "--resource-group",
                self.resource_group,
                "--yes",
            )
        ]
