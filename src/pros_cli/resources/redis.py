"""Azure Cache for Redis: where the token processor keeps token usage.

TLS only (the non-TLS port stays closed, clients connect on 6380) with TLS 1.2 at least. The
access key is a secret: the create response carries it (``properties.accessKeys``), so it sits
in the create's continuation token, which the state store scrubs; pros itself only reads it with
:meth:`RedisCache.primary_key` when a setting needs it, and echoes it as a shell variable.
"""

from __future__ import annotations

from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import describe, error_code, get_or_none, status_code
from pros_cli.echo import AzCommand, Secret, az, tags_args
from pros_cli.resources.base import FieldDiff, Resource, get_path
from pros_cli.spec import REDIS_SKUS, Spec

CACHE_TYPE = "Microsoft.Cache/redis"
API_VERSION = "2024-11-01"  # what azure-mgmt-redis 14.5.0 sends
SSL_PORT = 6380
MIN_TLS = "1.2"
KEY_VAR = "PROS_REDIS_KEY"
# Redis states that do not end by waiting (besides Succeeded/Failed): a disabled cache.
_SETTLED = {"succeeded", "failed", "canceled", "disabled"}


def _az_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class RedisCache(Resource):
    """``Microsoft.Cache/redis`` in the shared region (Basic/Standard C0-C6, Premium P1-P5)."""

    typical_seconds = 1200
    arm_type = CACHE_TYPE
    client_kind = "redis"
    api_version = API_VERSION
    label = "Redis cache"
    managed_fields = (
        "location",
        "properties.sku.name",
        "properties.sku.family",
        "properties.sku.capacity",
        "properties.enableNonSslPort",
        "properties.minimumTlsVersion",
    )
    immutable_fields = ("location",)
    patch_whole = ("properties.sku",)
    globally_unique = True

    def __init__(self, spec: Spec, *, key: str, depends_on: tuple[str, ...] = (), parent: str | None = None):
        super().__init__(spec, key=key, name=spec.names.redis(), region=spec.shared_region,
                         depends_on=depends_on, parent=parent)

    @property
    def sku(self) -> dict[str, Any]:
        return {"name": self.spec.redis_sku, "family": REDIS_SKUS[self.spec.redis_sku],
                "capacity": self.spec.redis_capacity}

    def desired(self) -> dict[str, Any]:
        return {
            "location": self.region,
            "tags": self.desired_tags(),
            "properties": {"sku": self.sku, "enableNonSslPort": False, "minimumTlsVersion": MIN_TLS},
        }

    def in_progress(self, current: dict[str, Any]) -> bool:
        state = self.provisioning_state(current)
        return state is not None and state.lower() not in _SETTLED

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        """Where clients connect: the TLS port only, never the non-TLS one, never the key."""
        return {
            "host_name": get_path(current, "properties.hostName"),
            "ssl_port": get_path(current, "properties.sslPort") or SSL_PORT,
        }

    # ---- calls ------------------------------------------------------------------------------
    def _redis(self, clients: Any) -> Any:
        return self.client(clients).redis

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self._redis(clients).get, self.resource_group, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return self._redis(clients).begin_create(
            self.resource_group, self.name, self.desired(), cls=raw_json,
            continuation_token=continuation_token,
        )

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        """PATCH (Redis_Update) only what differs; scaling is a long-running operation."""
        return self._redis(clients).begin_update(
            self.resource_group, self.name, self.patch_body(current, diffs), cls=raw_json
        )

    def delete(self, clients: Any) -> Any:
        return self._redis(clients).begin_delete(self.resource_group, self.name)

    def check_name(self, clients: Any) -> str | None:
        """Redis answers a taken name with 409 NameNotAvailable, not with a flag."""
        try:
            self._redis(clients).check_name_availability({"name": self.name, "type": CACHE_TYPE})
        except Exception as exc:
            if status_code(exc) == 409 or error_code(exc) == "NameNotAvailable":
                return describe(exc)
            raise
        return None

    def primary_key(self, clients: Any) -> str:
        """The primary access key (a secret: never log, echo or store it)."""
        keys = self._redis(clients).list_keys(self.resource_group, self.name, cls=raw_json)
        return str(keys["primaryKey"])

    def primary_key_command(self) -> str:
        """The az command that prints the primary key, for ``Secret.source``."""
        return az("redis", "list-keys", "--resource-group", self.resource_group, "--name", self.name,
                  "--query", "primaryKey", "--output", "tsv").render()

    def primary_key_secret(self, var: str = KEY_VAR, prefix: str = "") -> Secret:
        """The key as an echo argument: rendered as ``"$var"``, filled by the az command above."""
        return Secret(var, source=self.primary_key_command(), prefix=prefix)

    # ---- az ---------------------------------------------------------------------------------
    def _az(self, verb: str, *args: str, read_only: bool = False) -> AzCommand:
        return az("redis", verb, "--name", self.name, "--resource-group", self.resource_group, *args,
                  read_only=read_only)

    def _vm_size(self) -> str:
        return f"{self.sku['family'].lower()}{self.sku['capacity']}"

    def az_read(self) -> AzCommand:
        return self._az("show", read_only=True)

    def az_create(self) -> list[AzCommand]:
        # The non-TLS port is closed unless --enable-non-ssl-port is given.
        return [self._az("create", "--location", str(self.region), "--sku", self.spec.redis_sku,
                         "--vm-size", self._vm_size(), "--minimum-tls-version", MIN_TLS,
                         *tags_args(self.desired_tags()))]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        args: list[str] = []
        if any(d.path.startswith("properties.sku.") for d in diffs):
            args += ["--sku", self.spec.redis_sku, "--vm-size", self._vm_size()]
        sets = [f"{d.path.split('.', 1)[1]}={_az_value(d.desired)}" for d in diffs
                if d.path in ("properties.enableNonSslPort", "properties.minimumTlsVersion")]
        if any(d.path.startswith("tags.") for d in diffs):
            sets += [f"tags.{k}={v}" for k, v in sorted(self.merged_tags(current).items())]
        if sets:
            args += ["--set", *sets]
        return [self._az("update", *args)]

    def az_delete(self) -> list[AzCommand]:
        return [self._az("delete", "--yes")]
