"""API Management named values: the per-gateway values the policy reads as ``{{name}}``, and the
secret function keys the streaming-function backends send.

Plain values are compared like any field. A secret named value never returns its value on GET
(``secret: true``); its value can only be read back with the ``listValue`` action. pros compares
through ``listValue`` rather than writing the value on every run: a re-run then makes zero writes,
while a rotated function key (or a hand-edited secret) is still found and written again. The value
read back is compared and dropped at once: only "same" / "differs" is kept, never the value, and
reasons, echo (a shell variable), state and outputs never carry it.

Creating or updating a named value is a long-running operation (201/200 with
Azure-AsyncOperation: ApiManagementCreateNamedValue.json). A secret one is waited for in place, so
no continuation token (which holds the write's first answer) is ever recorded for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import describe, get_or_none, is_not_found
from pros_cli.echo import AzCommand, Secret, az
from pros_cli.errors import ProsError
from pros_cli.resources.apim_child import ApimChild, call
from pros_cli.resources.base import FieldDiff, get_path
from pros_cli.resources.functions import SettingDiff
from pros_cli.spec import Spec

NAMED_VALUE_TYPE = "Microsoft.ApiManagement/service/namedValues"


@dataclass(frozen=True)
class SecretValue:
    """A secret named value's value: ``resolve(clients)`` fetches it when pros plans and applies
    (None, or a not-found error: its source does not exist yet); ``var`` is the shell variable the
    echoed az line uses and ``source`` the az command that prints the value."""

    resolve: Callable[[Any], str | None]
    var: str
    source: str


# A plain value computed from the current bodies of the resource's dependencies (``inputs``),
# e.g. the Event Grid topic's endpoint.
Computed = Callable[[Mapping[str, dict[str, Any] | None]], str]


class NamedValue(ApimChild):
    """``service/namedValues/{name}``; ``{{name}}`` in a policy or backend refers to its display
    name, which pros keeps equal to the id."""

    arm_type = NAMED_VALUE_TYPE
    collection = "namedValues"
    label = "API Management named value"
    typical_seconds = 10.0
    managed_fields = ("properties.displayName", "properties.secret", "properties.value")

    def __init__(self, spec: Spec, *, value: str | SecretValue | Computed, **kwargs: Any):
        super().__init__(spec, **kwargs)
        self.value = value
        self._secret_state = "pending"  # "same" | "differs" | "pending" (secret values only)

    @property
    def secret(self) -> bool:
        return isinstance(self.value, SecretValue)

    @property
    def plain_value(self) -> str | None:
        if isinstance(self.value, SecretValue):
            return None
        return self.value if isinstance(self.value, str) else self.value(self.inputs)

    def desired(self) -> dict[str, Any]:
        """The body without a secret's value (that is fetched only inside create/update)."""
        props: dict[str, Any] = {"displayName": self.name, "secret": self.secret}
        if not self.secret:
            props["value"] = self.plain_value
        return {"properties": props}

    # ---- secret handling --------------------------------------------------------------------
    def _resolve(self, clients: Any) -> str | None:
        assert isinstance(self.value, SecretValue)
        try:
            return self.value.resolve(clients)
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise ProsError(f"reading the value for {self.describe()} failed: {describe(exc)}") from None

    def _live_secret(self, clients: Any) -> str | None:
        body = self.client(clients).named_value.list_value(*self.where(), self.name, cls=raw_json)
        return (body or {}).get("value")

    # ---- calls ------------------------------------------------------------------------------
    def read(self, clients: Any) -> dict[str, Any] | None:
        current = get_or_none(self.client(clients).named_value.get, *self.where(), self.name)
        if current is None or not self.secret:
            return current
        want = self._resolve(clients)
        if want is None:
            self._secret_state = "pending"
        else:
            self._secret_state = "same" if self._live_secret(clients) == want else "differs"
        return current

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        diffs = super().diff(current, adopted=adopted)
        if self.secret:
            if self._secret_state == "differs":
                text = "set the value: the secret value differs (value not shown)"
            elif self._secret_state == "pending":
                text = "set the value: the secret value is known after apply (its source does not exist yet)"
            else:
                return diffs
            diffs.append(SettingDiff("properties.value", None, None, text=text))
        return diffs

    def _body(self, clients: Any | None) -> dict[str, Any]:
        body = self.desired()
        if self.secret and clients is not None:
            value = self._resolve(clients)
            if value is None:
                raise ProsError(
                    f"the value for {self.describe()} is not available yet: its source does not exist"
                )
            body["properties"]["value"] = value
        return body

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        # A resumed operation sends nothing: the body (and any secret) is not needed then.
        body = self.desired() if continuation_token else self._body(clients)
        poller = call(
            f"writing {self.describe()}",
            self.client(clients).named_value.begin_create_or_update,
            *self.where(),
            self.name,
            body,
            cls=raw_json,
            continuation_token=continuation_token,
        )
        self._secret_state = "same"
        if self.secret:
            # Waited for here: a continuation token carries the write's first answer, and pros does
            # not risk storing an answer that might echo a secret in the state file.
            return poller.result()
        return poller

    def delete(self, clients: Any) -> Any:
        try:
            self.client(clients).named_value.delete(*self.where(), self.name, if_match="*")
        except Exception as exc:
            if not is_not_found(exc):
                raise
        return None

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        # Never the value: plain values are settings already in the spec, secrets are secrets.
        kind = "secret" if self.secret else "plain"
        return {"display_name": get_path(current, "properties.displayName"), "kind": kind}

    # ---- az ---------------------------------------------------------------------------------
    def _value_arg(self) -> str | Secret:
        if isinstance(self.value, SecretValue):
            return Secret(self.value.var, self.value.source)
        return str(self.plain_value)

    def az_create(self) -> list[AzCommand]:
        # az apim nv create is a create-or-update (PUT): the same line updates an existing one.
        args: list[str | Secret] = [
            "apim",
            "nv",
            "create",
            *self.az_where(),
            "--named-value-id",
            self.name,
            "--display-name",
            self.name,
            "--value",
            self._value_arg(),
        ]
        if self.secret:
            args += ["--secret", "true"]
        return [az(*args)]

    def az_delete(self) -> list[AzCommand]:
        return [az("apim", "nv", "delete", *self.az_where(), "--named-value-id", self.name, "--yes")]
