"""The Event Grid subscription that delivers usage events from the topic to the token processor.

Destination: the function itself (endpoint type ``AzureFunction``, resource id
``<app id>/functions/token_processor``), the documented default for Functions. Where Event Grid
refuses that destination although ARM lists the function with its Event Grid trigger (nothing
documents whether Flex Consumption apps accept it), pros subscribes the Event Grid extension's
webhook instead: ``https://<app host>/runtime/webhooks/eventgrid?functionName=token_processor&
code=<eventgrid_extension system key>``. The key is a secret: read from the host's keys when
needed, compared without being kept, echoed as a shell variable, never printed or stored. The state
file records which destination was chosen, so later runs keep it.

Only ``Pros.Usage.ModelCall`` events (the usage contract's event type); Event Grid schema; retried
for 24 hours (30 attempts, 1440 minutes, Event Grid's maximum), then dead-lettered to a blob
container of the processor's storage account with the topic's own identity
(``deadLetterWithResourceIdentity``, role Storage Blob Data Contributor on that container).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import describe, error_code, get_or_none, is_not_found
from pros_cli.contract import EVENT_TYPE
from pros_cli.echo import AzCommand, Secret, az
from pros_cli.errors import ProsError
from pros_cli.resources.base import FieldDiff, Resource, get_path, same
from pros_cli.resources.blob_container import BlobContainer
from pros_cli.resources.eventgrid import API_VERSION, EventGridTopic
from pros_cli.resources.function_package import Reason
from pros_cli.resources.functions import FunctionApp
from pros_cli.spec import Spec

AZURE_FUNCTION = "AzureFunction"
WEBHOOK = "WebHook"
MAX_DELIVERY_ATTEMPTS = 30
EVENT_TTL_MINUTES = 1440  # Event Grid retries for 24 hours at most
WEBHOOK_PATH = "/runtime/webhooks/eventgrid"
KEY_NAME = "eventgrid_extension"
KEY_VAR = "PROS_EVENTGRID_EXTENSION_KEY"
# Event Grid's answers when it could not validate an AzureFunction destination.
REFUSED = ("Endpoint validation", "Unsupported Azure Function Trigger")


class EventSubscription(Resource):
    arm_type = "Microsoft.EventGrid/eventSubscriptions"
    client_kind = "eventgrid"
    api_version = API_VERSION
    label = "Event Grid subscription"
    immutable_fields = ()
    tagged = False
    created_by = "pros deploy-functions"
    typical_seconds = 20.0

    def __init__(
        self,
        spec: Spec,
        *,
        key: str,
        name: str,
        topic: EventGridTopic,
        app: FunctionApp,
        function: str,
        container: BlobContainer,
        storage_id: str,
        depends_on: tuple[str, ...] = (),
    ):
        super().__init__(
            spec,
            key=key,
            name=name,
            region=topic.region,
            depends_on=(topic.key, app.key, container.key, *depends_on),
            parent=topic.key,
        )
        self.topic = topic
        self.app = app
        self.function = function
        self.container = container
        self.storage_id = storage_id
        self.endpoint_type = AZURE_FUNCTION
        self.fallback_reason: str | None = None
        self._key_state = "pending"  # webhook key on the live subscription: same | differs | pending
        self.reads_inputs = True  # the app's host name (for the webhook) comes from its body

    # ---- identity ---------------------------------------------------------------------------
    def scope(self) -> str:
        return self.topic.arm_id().lstrip("/")

    def arm_id(self) -> str:
        return f"{self.topic.arm_id()}/providers/{self.arm_type}/{self.name}"

    def describe(self) -> str:
        return f"{self.label} {self.name} ({self.topic.name} -> {self.app.name}/{self.function})"

    def function_id(self) -> str:
        return f"{self.app.arm_id()}/functions/{self.function}"

    def host(self) -> str:
        """The app's host name as ARM reports it (new apps may have hashed names)."""
        return str(get_path(self.inputs.get(self.app.key), "properties.defaultHostName") or "") or (
            f"{self.app.name}.azurewebsites.net"
        )

    def webhook_base(self) -> str:
        return f"https://{self.host()}{WEBHOOK_PATH}"

    def webhook_url(self, key: str) -> str:
        return f"{self.webhook_base()}?functionName={self.function}&code={key}"

    # ---- desired state ------------------------------------------------------------------------
    def remember(self, recorded: Mapping[str, Any] | None) -> None:
        """The destination an earlier run settled on (the webhook, once AzureFunction was refused)."""
        outputs = (recorded or {}).get("outputs") or {}
        if outputs.get("endpoint_type") == WEBHOOK:
            self.endpoint_type = WEBHOOK
            self.fallback_reason = outputs.get("fallback_reason")

    def destination(self, key: str | None = None) -> dict[str, Any]:
        if self.endpoint_type == WEBHOOK:
            return {"endpointType": WEBHOOK, "properties": {"endpointUrl": self.webhook_url(key or "")}}
        return {"endpointType": AZURE_FUNCTION, "properties": {"resourceId": self.function_id()}}

    def desired(self, key: str | None = None) -> dict[str, Any]:
        return {
            "properties": {
                "destination": self.destination(key),
                "filter": {"includedEventTypes": [EVENT_TYPE]},
                "eventDeliverySchema": "EventGridSchema",
                "retryPolicy": {
                    "maxDeliveryAttempts": MAX_DELIVERY_ATTEMPTS,
                    "eventTimeToLiveInMinutes": EVENT_TTL_MINUTES,
                },
                "deadLetterWithResourceIdentity": {
                    "identity": {"type": "SystemAssigned"},
                    "deadLetterDestination": {
                        "endpointType": "StorageBlob",
                        "properties": {
                            "resourceId": self.storage_id,
                            "blobContainerName": self.container.name,
                        },
                    },
                },
            }
        }

    # ---- calls ------------------------------------------------------------------------------
    def _ops(self, clients: Any) -> Any:
        return self.client(clients).event_subscriptions

    def extension_key(self, clients: Any) -> str | None:
        """The Event Grid extension's system key (None until the host has loaded the extension)."""
        try:
            keys = self.client_web(clients).web_apps.list_host_keys(
                self.resource_group, self.app.name, cls=raw_json
            )
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        return ((keys or {}).get("systemKeys") or {}).get(KEY_NAME)

    def client_web(self, clients: Any) -> Any:
        return clients.get("web")

    def read(self, clients: Any) -> dict[str, Any] | None:
        if self.inputs.get(self.app.key) is None:  # status reads every resource at once
            self.inputs[self.app.key] = self.app.read(clients)
        current = get_or_none(self._ops(clients).get, self.scope(), self.name)
        self._key_state = "pending"
        if current is not None and get_path(current, "properties.destination.endpointType") == WEBHOOK:
            if self.endpoint_type != WEBHOOK and self.is_ours_webhook(current):
                self.endpoint_type = WEBHOOK  # an earlier run fell back; keep it
            key = self.extension_key(clients)
            if key is not None:
                full = self._ops(clients).get_full_url(self.scope(), self.name, cls=raw_json) or {}
                self._key_state = "same" if full.get("endpointUrl") == self.webhook_url(key) else "differs"
        return current

    def is_ours_webhook(self, current: dict[str, Any]) -> bool:
        base = str(get_path(current, "properties.destination.properties.endpointBaseUrl") or "")
        return base.lower() == self.webhook_base().lower()

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        have = current.get("properties") or {}
        want = self.desired()["properties"]
        out: list[FieldDiff] = []
        kind = get_path(have, "destination.endpointType")
        if kind != self.endpoint_type:
            out.append(
                Reason(
                    "destination.endpointType",
                    kind,
                    self.endpoint_type,
                    text=f"change the destination from {kind} to {self.endpoint_type}",
                )
            )
        elif kind == AZURE_FUNCTION:
            got = get_path(have, "destination.properties.resourceId")
            if not same(str(got or "").lower(), self.function_id().lower()):
                out.append(
                    Reason(
                        "destination.properties.resourceId",
                        got,
                        self.function_id(),
                        text=f"change the destination: {got!r} -> {self.function_id()!r}",
                    )
                )
        elif not self.is_ours_webhook(current):
            got = get_path(have, "destination.properties.endpointBaseUrl")
            out.append(
                Reason(
                    "destination.properties.endpointBaseUrl",
                    got,
                    self.webhook_base(),
                    text=f"change the webhook: {got!r} -> {self.webhook_base()!r}",
                )
            )
        elif self._key_state != "same":
            text = (
                "the webhook's key differs from the app's eventgrid_extension key (value not shown)"
                if self._key_state == "differs"
                else "the webhook's key is known after apply"
            )
            out.append(Reason("destination.properties.endpointUrl", None, None, text=text))
        for path in (
            "filter.includedEventTypes",
            "eventDeliverySchema",
            "retryPolicy.maxDeliveryAttempts",
            "retryPolicy.eventTimeToLiveInMinutes",
            "deadLetterWithResourceIdentity.identity.type",
            "deadLetterWithResourceIdentity.deadLetterDestination.properties.resourceId",
            "deadLetterWithResourceIdentity.deadLetterDestination.properties.blobContainerName",
        ):
            got, wanted = get_path(have, path), get_path(want, path)
            if not same(got, wanted):
                out.append(FieldDiff(f"properties.{path}", got, wanted))
        return out

    def _put(self, clients: Any, key: str | None = None) -> Any:
        return self._ops(clients).begin_create_or_update(
            self.scope(), self.name, self.desired(key), cls=raw_json
        )

    def _webhook_put(self, clients: Any) -> Any:
        key = self.extension_key(clients)
        if not key:
            raise ProsError(
                f"{self.app.name} has no {KEY_NAME} system key yet: its host has not loaded the Event Grid "
                "extension (is the token processor deployed?); run pros deploy-functions again"
            )
        return self._put(clients, key)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        if continuation_token is not None:
            return self._ops(clients).begin_create_or_update(
                self.scope(), self.name, self.desired(), cls=raw_json, continuation_token=continuation_token
            )
        if self.endpoint_type == WEBHOOK:
            return self._webhook_put(clients)
        try:
            return self._put(clients).result()
        except Exception as exc:
            if error_code(exc) not in REFUSED:
                raise
            first = describe(exc)
        # ARM lists the function with its Event Grid trigger (the package waited for that), yet Event
        # Grid refused it as a destination: subscribe the extension's webhook instead.
        self.endpoint_type = WEBHOOK
        self.fallback_reason = f"Event Grid refused the AzureFunction destination: {first}"
        if self.announce is not None:
            self.announce(self.az_create())
        try:
            return self._webhook_put(clients)
        except Exception as exc:
            raise ProsError(f"{self.fallback_reason}; the webhook was refused too: {describe(exc)}") from None

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self.create(clients)

    def delete(self, clients: Any) -> Any:
        return self._ops(clients).begin_delete(self.scope(), self.name)

    def health(self, current: dict[str, Any], clients: Any) -> tuple[str, str]:
        level, detail = super().health(current, clients)
        if level != "ok":
            return level, detail
        kind = get_path(current, "properties.destination.endpointType")
        if kind == AZURE_FUNCTION:
            got = str(get_path(current, "properties.destination.properties.resourceId") or "")
            if got.lower() != self.function_id().lower():
                return "degraded", f"delivers to {got}, not {self.function_id()}"
            return "ok", f"active: delivers {EVENT_TYPE} to {self.app.name}/{self.function}"
        if kind == WEBHOOK and self.is_ours_webhook(current):
            if self._key_state == "differs":
                return "degraded", "the webhook's key is not the app's eventgrid_extension key"
            return "ok", f"active: delivers {EVENT_TYPE} to {self.webhook_base()} ({self.function})"
        return "degraded", f"delivers to a {kind} destination that is not {self.app.name}/{self.function}"

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        kind = get_path(current, "properties.destination.endpointType")
        endpoint = get_path(current, "properties.destination.properties.resourceId") or get_path(
            current, "properties.destination.properties.endpointBaseUrl"
        )
        out: dict[str, Any] = {"endpoint_type": kind, "endpoint": endpoint, "event_types": [EVENT_TYPE]}
        if kind == WEBHOOK and self.fallback_reason:
            out["fallback_reason"] = self.fallback_reason
        return out

    # ---- az ---------------------------------------------------------------------------------
    def _where(self) -> list[str]:
        return ["--name", self.name, "--source-resource-id", self.topic.arm_id()]

    def az_read(self) -> AzCommand:
        return az("eventgrid", "event-subscription", "show", *self._where(), read_only=True)

    def az_create(self) -> list[AzCommand]:
        if self.endpoint_type == WEBHOOK:
            source = (
                f"az functionapp keys list --resource-group {self.resource_group} --name {self.app.name} "
                f"--query systemKeys.{KEY_NAME} --output tsv"
            )
            endpoint: Any = Secret(KEY_VAR, source, prefix=self.webhook_url(""))
            kind = "webhook"
        else:
            endpoint, kind = self.function_id(), "azurefunction"
        container_id = f"{self.storage_id}/blobServices/default/containers/{self.container.name}"
        return [
            az(
                "eventgrid",
                "event-subscription",
                "create",
                *self._where(),
                "--endpoint-type",
                kind,
                "--endpoint",
                endpoint,
                "--included-event-types",
                EVENT_TYPE,
                "--event-delivery-schema",
                "eventgridschema",
                "--max-delivery-attempts",
                str(MAX_DELIVERY_ATTEMPTS),
                "--event-ttl",
                str(EVENT_TTL_MINUTES),
                "--deadletter-identity",
                "systemassigned",
                "--deadletter-identity-endpoint",
                container_id,
            )
        ]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        return self.az_create()

    def az_delete(self) -> list[AzCommand]:
        return [az("eventgrid", "event-subscription", "delete", *self._where())]
