"""Microsoft.EventGrid/eventSubscriptions: an extension resource on a topic (``<topic id>/providers/
Microsoft.EventGrid/eventSubscriptions/<name>``, the path azure-mgmt-eventgrid's
``event_subscriptions.begin_create_or_update(scope, name, body)`` sends).

Shapes from EventSubscriptions_CreateOrUpdateForCustomTopic_AzureFunctionDestination.json and
EventSubscriptions_GetForCustomTopic_AzureFunctionDestination.json (api 2025-02-15): a write
answers 201 with provisioningState ``Creating`` (the SDK accepts only 201) and Event Grid then
validates the destination; a destination it cannot validate fails the operation and leaves the
subscription ``Failed``. Errors as Azure words them:

- AzureFunction destination whose function is not deployed and indexed: "Endpoint validation",
  "Destination endpoint not found." (Azure/bicep#11656); a function without an Event Grid trigger:
  "Unsupported Azure Function Trigger", "Can't add resource; Azure Event Grid supports EventGrid
  Trigger type only." (same issue);
- WebHook whose handshake fails: "Url validation", "Webhook validation handshake failed for
  <url without query>. Http POST request failed with response code <status>. For troublehooting,
  visit https://aka.ms/esvalidation." (Azure/azure-cli#21006, MicrosoftDocs/azure-docs#107285);
  a URL that is not HTTPS: "Invalid event subscription request: Supplied URL is invalid. It cannot
  be null or empty and should be a proper HTTPS URL like https://www.example.com."
  (MicrosoftDocs/azure-docs#45625).

A webhook's GET shows ``endpointBaseUrl`` and ``endpointUrl: null`` (the URL carries the key; see
the subscription quoted in Azure/azure-functions-eventgrid-extension#16); ``getFullUrl`` returns it.
Retry policy limits (1-30 attempts, 1-1440 minutes) are the REST spec's and az's.

Whether Flex Consumption apps accept the AzureFunction destination is not documented; by default
the simulator accepts it. :func:`refuse_azure_function_destinations` makes it refuse it for a
plan tier (as "Destination endpoint not found."), so the webhook fallback can be exercised.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from pros_cli.simulator.core import ArmError, ArmPath, HostUnreachable, SimResponse, TypeSpec, utcnow
from pros_cli.simulator.providers.eventgrid import API_VERSIONS as TOPIC_API_VERSIONS
from pros_cli.simulator.providers.web import PLANS, SITES
from pros_cli.simulator.providers.web_functions import EVENTGRID_TRIGGER, visible_functions, webhook_status

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

# 2021-10-15-preview: what `az eventgrid event-subscription` sends (azure-cli 2.91, azure-mgmt-eventgrid
# 10.2.0b2). Its spec (azure-rest-api-specs specification/eventgrid/resource-manager/Microsoft.EventGrid/
# preview/2021-10-15-preview/EventGrid.json, example EventSubscriptions_CreateOrUpdateForCustomTopic_
# AzureFunctionDestination.json) has the same AzureFunction destination, filter, retry policy and
# deadLetterWithResourceIdentity shapes as the stable versions.
API_VERSIONS = (*TOPIC_API_VERSIONS, "2021-10-15-preview")

TYPE = "Microsoft.EventGrid/eventSubscriptions"
TOPIC_TYPE = "microsoft.eventgrid/topics"
ENDPOINT_TYPES = (
    "WebHook",
    "EventHub",
    "StorageQueue",
    "HybridConnection",
    "ServiceBusQueue",
    "ServiceBusTopic",
    "AzureFunction",
    "MonitorAlert",
    "NamespaceTopic",
)
SCHEMAS = ("EventGridSchema", "CustomInputSchema", "CloudEventSchemaV1_0")
NAME_RE = r"[A-Za-z0-9-]{3,64}"
FULL_URL_KEY = "_endpointUrl"  # a webhook's URL as written (it holds a key); render() strips it
_FUNCTION_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Web/sites/([^/]+)/functions/([^/]+)$",
    re.IGNORECASE,
)
_STORAGE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[^/]+$",
    re.IGNORECASE,
)
Body = dict[str, Any]


def refuse_azure_function_destinations(sim: Simulator, tier: str) -> None:
    """Tests: Event Grid refuses AzureFunction destinations on apps of this plan tier."""
    with sim.transaction():
        refused = sim.db.setdefault("eventgrid", {}).setdefault("refused_function_tiers", [])
        if tier.lower() not in refused:
            refused.append(tier.lower())


def _bad(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


def _validate(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    scope = sim.get_resource(parsed.parent_id or "")
    if scope is None or scope["type"].lower() != TOPIC_TYPE:
        raise ArmError(404, "ResourceNotFound", f"The scope '{parsed.parent_id}' is not an Event Grid topic.")
    props = body.get("properties") or {}
    destination = props.get("destination") or {}
    kind = str(destination.get("endpointType") or "")
    if kind not in ENDPOINT_TYPES:
        raise _bad(f"Invalid event subscription request: the endpoint type '{kind}' is not supported.")
    dest = destination.get("properties") or {}
    if kind == "WebHook":
        url = str(dest.get("endpointUrl") or (old and (old.get(FULL_URL_KEY) or "")) or "")
        if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
            raise _bad(
                "Invalid event subscription request: Supplied URL is invalid. It cannot be null or empty and "
                "should be a proper HTTPS URL like https://www.example.com."
            )
    elif kind == "AzureFunction" and not _FUNCTION_ID.match(str(dest.get("resourceId") or "")):
        raise _bad(
            "Invalid event subscription request: the AzureFunction resource id "
            f"'{dest.get('resourceId')}' is not the id of a function "
            "(.../providers/Microsoft.Web/sites/<app>/functions/<function>)."
        )
    retry = props.get("retryPolicy") or {}
    attempts = retry.get("maxDeliveryAttempts", 30)
    ttl = retry.get("eventTimeToLiveInMinutes", 1440)
    if not (isinstance(attempts, int) and 1 <= attempts <= 30):
        raise _bad("maxDeliveryAttempts must be a number between 1 and 30.")
    if not (isinstance(ttl, int) and 1 <= ttl <= 1440):
        raise _bad("eventTimeToLiveInMinutes must be a number between 1 and 1440.")
    schema = props.get("eventDeliverySchema")
    if schema is not None and schema not in SCHEMAS:
        raise _bad(
            f"The event delivery schema '{schema}' is not valid. Valid values are: {', '.join(SCHEMAS)}."
        )
    types = (props.get("filter") or {}).get("includedEventTypes")
    if types is not None and not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
        raise _bad("includedEventTypes must be a list of event types.")
    if props.get("deadLetterDestination") and props.get("deadLetterWithResourceIdentity"):
        raise _bad("Only one of deadLetterDestination and deadLetterWithResourceIdentity can be set.")
    with_identity = props.get("deadLetterWithResourceIdentity")
    if with_identity:
        identity = str((with_identity.get("identity") or {}).get("type") or "")
        if identity not in ("SystemAssigned", "UserAssigned"):
            raise _bad(f"The dead letter identity type '{identity}' is not valid.")
        topic_identity = str((scope["body"].get("identity") or {}).get("type") or "").replace(" ", "").lower()
        if identity == "SystemAssigned" and "systemassigned" not in topic_identity:
            raise _bad(
                f"The topic {scope['body']['name']} has no system assigned identity: enable it on the topic "
                "before using it for dead lettering."
            )
        _check_dead_letter(with_identity.get("deadLetterDestination") or {})
    elif props.get("deadLetterDestination"):
        _check_dead_letter(props["deadLetterDestination"])


def _check_dead_letter(destination: Body) -> None:
    dest = destination.get("properties") or {}
    if destination.get("endpointType") != "StorageBlob" or not _STORAGE_ID.match(
        str(dest.get("resourceId") or "")
    ):
        raise _bad("The dead letter destination must be a StorageBlob destination naming a storage account.")
    if not dest.get("blobContainerName"):
        raise _bad("The dead letter destination needs a blobContainerName.")


def _build(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    props = body["properties"]
    props["topic"] = parsed.parent_id
    props.setdefault("eventDeliverySchema", "EventGridSchema")
    props.setdefault("retryPolicy", {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440})
    props.setdefault("filter", {})
    props["filter"].setdefault("isSubjectCaseSensitive", False)
    props.setdefault("labels", None)
    destination = props["destination"]
    body.pop(FULL_URL_KEY, None)
    if destination["endpointType"] == "WebHook":
        dest = destination.setdefault("properties", {})
        url = dest.get("endpointUrl") or (old or {}).get(FULL_URL_KEY)
        body[FULL_URL_KEY] = url
        split = urlsplit(str(url))
        dest["endpointBaseUrl"] = f"{split.scheme}://{split.netloc}{split.path}"
        dest["endpointUrl"] = None
    return body


def _render(sim: Simulator, body: Body) -> Body:
    body.pop(FULL_URL_KEY, None)
    return body


def _destination_problem(sim: Simulator, body: Body) -> tuple[str, str] | None:
    """What Event Grid's validation of the destination finds wrong (code, message), or None."""
    destination = body["properties"]["destination"]
    if destination["endpointType"] == "AzureFunction":
        match = _FUNCTION_ID.match(destination["properties"]["resourceId"])
        assert match is not None
        site_id = destination["properties"]["resourceId"].rsplit("/functions/", 1)[0]
        site = sim.get_resource(site_id)
        not_found = ("Endpoint validation", "Destination endpoint not found.")
        if site is None or site["type"].lower() != SITES.lower():
            return not_found
        plan = sim.get_resource(str(site["body"]["properties"].get("serverFarmId") or ""))
        tier = (
            str(plan["body"]["sku"]["tier"]).lower() if plan and plan["type"].lower() == PLANS.lower() else ""
        )
        if tier in sim.db.get("eventgrid", {}).get("refused_function_tiers", []):
            return not_found
        fn = next(
            (f for f in visible_functions(sim, site) if f["name"].lower() == match.group(2).lower()), None
        )
        if fn is None:
            return not_found
        if fn.get("trigger") != EVENTGRID_TRIGGER:
            return (
                "Unsupported Azure Function Trigger",
                "Can't add resource; Azure Event Grid supports EventGrid Trigger type only.",
            )
        return None
    if destination["endpointType"] == "WebHook":
        url = str(body.get(FULL_URL_KEY) or "")
        split = urlsplit(url)
        query = {k.lower(): v for k, v in parse_qsl(split.query, keep_blank_values=True)}
        try:
            status = webhook_status(sim, split.hostname or "", split.path, query)
        except HostUnreachable:
            status = None
        if status == 200:
            return None
        answer = {401: "Unauthorized", 404: "NotFound"}.get(status or 0, "Unknown")
        return (
            "Url validation",
            f"Webhook validation handshake failed for {split.scheme}://{split.netloc}{split.path}. Http POST "
            f"request failed with response code {answer}. For troublehooting, visit "
            f"https://aka.ms/esvalidation. Activity id:{uuid.uuid4()}, timestamp: {utcnow()} (UTC).",
        )
    return None


def _respond(sim: Simulator, stored: Body, response: SimResponse) -> SimResponse:
    """Every accepted write answers 201; Event Grid then validates the destination, and a
    destination it cannot validate fails the operation."""
    op = sim.db["operations"].get(stored.get("operation") or "")
    if op is not None and op["status"] == "InProgress":
        problem = _destination_problem(sim, stored["body"])
        if problem is not None:
            sim.fail_operation(op, *problem)
    if response.status in (200, 202):
        return dataclasses.replace(response, status=201)
    return response


def _full_url(sim: Simulator, parsed: ArmPath, req: SimRequest, stored: Body) -> SimResponse:
    body = stored["body"]
    destination = body["properties"]["destination"]
    if destination["endpointType"] != "WebHook":
        raise _bad("getFullUrl is only valid for WebHook destinations.")
    return SimResponse(200, {"endpointUrl": body.get(FULL_URL_KEY)})


def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            TYPE,
            API_VERSIONS,
            create_mode="async",
            create_status=201,
            update_mode="async",
            delete_mode="async",
            provisioning_creating="Creating",
            provisioning_updating="Updating",
            required=("properties.destination",),
            name_rule=(NAME_RE, "Event subscription names are 3-64 letters, digits and hyphens."),
            extension=True,
            tracked=False,
            immutable=(),
            validate=_validate,
            build=_build,
            render=_render,
            respond=_respond,
            actions={"getfullurl": _full_url},
        )
    )
