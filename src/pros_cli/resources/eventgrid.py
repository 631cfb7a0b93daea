"""Event Grid topic: carries the token-usage events API Management publishes.

Entra ID only (``disableLocalAuth``): APIM publishes with its managed identity and the role
"EventGrid Data Sender", so no SAS key exists to leak or rotate. The topic has a system-assigned
identity of its own: the token processor's subscription dead-letters undeliverable events to blob
storage with it (``deadLetterWithResourceIdentity``), so no storage key is involved either.

The input schema is ``EventGridSchema``. It cannot be changed once the topic exists, and it is
what the consumer needs: the Python Functions Event Grid trigger (``func.EventGridEvent``) reads
the Event Grid schema's fields (``eventType``, ``dataVersion``, ``topic``), and a topic whose
input is CloudEvents can only deliver CloudEvents. APIM's ``send-request`` builds either schema
equally easily, so nothing is gained by CloudEvents here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, az, az_rest, tags_args
from pros_cli.resources.base import FieldDiff, Resource, get_path
from pros_cli.spec import Spec

TOPIC_TYPE = "Microsoft.EventGrid/topics"
API_VERSION = "2025-02-15"  # what azure-mgmt-eventgrid 10.4.0 sends
INPUT_SCHEMA = "EventGridSchema"
# What `az eventgrid topic update` can set; anything else goes through `az rest`.
_AZ_UPDATABLE = {"properties.publicNetworkAccess": "--public-network-access"}
_NO_AZ_FLAG = ("az eventgrid topic create/update have no flag for disableLocalAuth or "
               "minimumTlsVersionAllowed: the same request through az rest")


class EventGridTopic(Resource):
    """``Microsoft.EventGrid/topics`` in the shared region."""

    typical_seconds = 30
    arm_type = TOPIC_TYPE
    client_kind = "eventgrid"
    api_version = API_VERSION
    label = "Event Grid topic"
    managed_fields = (
        "location",
        "identity.type",
        "properties.inputSchema",
        "properties.publicNetworkAccess",
        "properties.disableLocalAuth",
        "properties.minimumTlsVersionAllowed",
    )
    immutable_fields = ("location", "properties.inputSchema")

    def __init__(self, spec: Spec, *, key: str, depends_on: tuple[str, ...] = (), parent: str | None = None):
        super().__init__(spec, key=key, name=spec.names.eventgrid_topic(), region=spec.shared_region,
                         depends_on=depends_on, parent=parent)

    def desired(self) -> dict[str, Any]:
        return {
            "location": self.region,
            "tags": self.desired_tags(),
            "identity": {"type": "SystemAssigned"},
            "properties": {
                "inputSchema": INPUT_SCHEMA,
                "publicNetworkAccess": "Enabled",
                "disableLocalAuth": True,
                "minimumTlsVersionAllowed": "1.2",
            },
        }

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "endpoint": get_path(current, "properties.endpoint"),
            "principal_id": get_path(current, "identity.principalId"),
        }

    # ---- calls ------------------------------------------------------------------------------
    def _topics(self, clients: Any) -> Any:
        return self.client(clients).topics

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self._topics(clients).get, self.resource_group, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return self._topics(clients).begin_create_or_update(
            self.resource_group, self.name, self.desired(), cls=raw_json,
            continuation_token=continuation_token,
        )

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self._topics(clients).begin_update(
            self.resource_group, self.name, self.patch_body(current, diffs), cls=raw_json
        )

    def delete(self, clients: Any) -> Any:
        return self._topics(clients).begin_delete(self.resource_group, self.name)

    # ---- az ---------------------------------------------------------------------------------
    def _az(self, verb: str, *args: str, read_only: bool = False) -> AzCommand:
        return az("eventgrid", "topic", verb, "--name", self.name, "--resource-group", self.resource_group,
                  *args, read_only=read_only)

    def _rest(self, method: str, body: dict[str, Any]) -> AzCommand:
        return dataclasses.replace(az_rest(method, self.arm_id(), API_VERSION, body), note=_NO_AZ_FLAG)

    def az_read(self) -> AzCommand:
        # The GET pros makes, at its api-version: `az eventgrid topic show` sends azure-cli's own
        # (2021-10-15-preview with azure-cli 2.91), a preview older than any pros knows.
        return az("resource", "show", "--ids", self.arm_id(), "--api-version", API_VERSION, read_only=True)

    def az_create(self) -> list[AzCommand]:
        return [self._rest("put", self.desired())]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        fields = [d for d in diffs if not d.path.startswith("tags.")]
        if any(d.path not in _AZ_UPDATABLE for d in fields):
            return [self._rest("patch", self.patch_body(current, diffs))]
        args: list[str] = []
        for d in fields:
            args += [_AZ_UPDATABLE[d.path], str(d.desired).lower()]
        if len(fields) < len(diffs):
            args += tags_args(self.merged_tags(current))
        return [self._az("update", *args)]

    def az_delete(self) -> list[AzCommand]:
        # The DELETE pros sends: `az eventgrid topic delete` uses azure-cli's 2021-10-15-preview.
        return [az_rest("delete", self.arm_id(), API_VERSION)]
