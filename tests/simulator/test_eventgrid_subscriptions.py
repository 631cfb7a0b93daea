"""The simulator's Event Grid subscriptions (an extension resource on a topic) through the real
SDK: Event Grid validates the destination after accepting the write, as Azure does, so a
subscription to a function that is not deployed is refused."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.azure.errors import describe, error_code
from pros_cli.simulator.core import SECRET_MARKER
from pros_cli.simulator.providers.eventgrid_subscriptions import refuse_azure_function_destinations
from tests.conftest import SUB
from tests.simulator.scm_helpers import (
    body_id,
    finish,
    provision_token_stack,
    publish,
    scm_host,
    site,
    token_package,
)
from tests.simulator.shapes import assert_shape

EXAMPLES = "Microsoft.EventGrid/2025-02-15/"


@pytest.fixture
def stack(engine):
    return provision_token_stack(engine)


def clients(memsim) -> ClientFactory:
    return ClientFactory(SUB, cloud="simulator", simulator=memsim)


def topic_scope(spec) -> str:
    return (
        f"subscriptions/{spec.subscription_id}/resourceGroups/{spec.resource_group}/providers/"
        f"Microsoft.EventGrid/topics/{spec.names.eventgrid_topic()}"
    )


def function_id(spec, name: str = "token_processor") -> str:
    return (
        f"/subscriptions/{spec.subscription_id}/resourceGroups/{spec.resource_group}/providers/Microsoft.Web/"
        f"sites/{spec.names.token_function_app()}/functions/{name}"
    )


def body(destination: dict, **props) -> dict:
    return {
        "properties": {
            "destination": destination,
            "filter": {"includedEventTypes": ["Pros.Usage.ModelCall"]},
            **props,
        }
    }


def to_function(spec, name: str = "token_processor") -> dict:
    return body({"endpointType": "AzureFunction", "properties": {"resourceId": function_id(spec, name)}})


def deploy(memsim, spec) -> None:
    host = scm_host(memsim, spec)
    finish(memsim, host, body_id(publish(memsim, host, token_package())))
    list(clients(memsim).web.web_apps.list_functions(spec.resource_group, spec.names.token_function_app()))


def put(memsim, spec, payload: dict, name: str = "sub1") -> dict:
    ops = clients(memsim).eventgrid.event_subscriptions
    return ops.begin_create_or_update(topic_scope(spec), name, payload, cls=raw_json).result()


def test_a_subscription_to_a_function_not_deployed_is_refused(memsim, stack):
    with pytest.raises(HttpResponseError) as refused:
        put(memsim, stack, to_function(stack))
    assert error_code(refused.value) == "Endpoint validation"
    assert "Destination endpoint not found." in describe(refused.value)
    ops = clients(memsim).eventgrid.event_subscriptions
    failed = ops.get(topic_scope(stack), "sub1", cls=raw_json)
    assert failed["properties"]["provisioningState"] == "Failed"
    deploy(memsim, stack)
    created = put(memsim, stack, to_function(stack))  # the same PUT once the function is indexed
    assert created["properties"]["provisioningState"] == "Succeeded"
    got = ops.get(topic_scope(stack), "sub1", cls=raw_json)
    assert got["properties"]["topic"] == "/" + topic_scope(stack)
    assert got["id"] == f"/{topic_scope(stack)}/providers/Microsoft.EventGrid/eventSubscriptions/sub1"
    assert_shape(
        got,
        EXAMPLES + "EventSubscriptions_GetForCustomTopic_AzureFunctionDestination.json",
        allow_extra=(
            "properties.eventDeliverySchema",
            "properties.retryPolicy",
            "properties.filter.includedEventTypes",
        ),
    )


def test_a_function_without_an_event_grid_trigger_is_refused(memsim, stack):
    deploy(memsim, stack)
    with pytest.raises(HttpResponseError) as refused:
        put(memsim, stack, to_function(stack, "not_there"))
    assert error_code(refused.value) == "Endpoint validation"
    from pros_cli.simulator.providers.web_functions import app_state

    app_state(memsim, site(memsim, stack))["functions"] = [
        {"name": "web", "trigger": "httpTrigger", "bindings": []}
    ]
    with pytest.raises(HttpResponseError) as refused:
        put(memsim, stack, to_function(stack, "web"))
    assert error_code(refused.value) == "Unsupported Azure Function Trigger"


def test_a_webhook_validates_with_the_extension_key_and_hides_it(memsim, stack):
    deploy(memsim, stack)
    app = site(memsim, stack)["body"]
    host = app["properties"]["defaultHostName"]
    key = clients(memsim).web.web_apps.list_host_keys(stack.resource_group, app["name"], cls=raw_json)[
        "systemKeys"
    ]["eventgrid_extension"]
    base = f"https://{host}/runtime/webhooks/eventgrid"
    wrong = body(
        {
            "endpointType": "WebHook",
            "properties": {"endpointUrl": f"{base}?functionName=token_processor&code=nope"},
        }
    )
    with pytest.raises(HttpResponseError) as refused:
        put(memsim, stack, wrong)
    assert error_code(refused.value) == "Url validation"
    message = describe(refused.value)
    assert f"Webhook validation handshake failed for {base}." in message and "Unauthorized" in message
    assert "code=" not in message
    url = f"{base}?functionName=token_processor&code={key}"
    created = put(memsim, stack, body({"endpointType": "WebHook", "properties": {"endpointUrl": url}}))
    shown = created["properties"]["destination"]["properties"]
    assert shown["endpointUrl"] is None and shown["endpointBaseUrl"] == base
    ops = clients(memsim).eventgrid.event_subscriptions
    assert SECRET_MARKER not in str(ops.get(topic_scope(stack), "sub1", cls=raw_json))
    assert ops.get_full_url(topic_scope(stack), "sub1", cls=raw_json) == {"endpointUrl": url}
    unknown = body(
        {"endpointType": "WebHook", "properties": {"endpointUrl": f"{base}?functionName=other&code={key}"}}
    )
    with pytest.raises(HttpResponseError) as refused:
        put(memsim, stack, unknown, name="sub2")
    assert "response code NotFound" in describe(refused.value)


def test_what_event_grid_checks_when_it_accepts_the_write(memsim, stack):
    deploy(memsim, stack)
    plain = body({"endpointType": "WebHook", "properties": {"endpointUrl": "http://example.com/hook"}})
    with pytest.raises(HttpResponseError, match="proper HTTPS URL"):
        put(memsim, stack, plain)
    with pytest.raises(HttpResponseError, match="between 1 and 30"):
        put(
            memsim,
            stack,
            {
                **to_function(stack),
                "properties": {
                    **to_function(stack)["properties"],
                    "retryPolicy": {"maxDeliveryAttempts": 31},
                },
            },
        )
    storage = (
        f"/subscriptions/{SUB}/resourceGroups/{stack.resource_group}/providers/Microsoft.Storage/storageAccounts/"
        f"{stack.names.token_storage_account()}"
    )
    dead_letter = {
        "identity": {"type": "SystemAssigned"},
        "deadLetterDestination": {
            "endpointType": "StorageBlob",
            "properties": {"resourceId": storage, "blobContainerName": "dl"},
        },
    }
    payload = to_function(stack)
    payload["properties"]["deadLetterWithResourceIdentity"] = dead_letter
    topic = memsim.get_resource("/" + topic_scope(stack))
    identity = topic["body"].pop("identity")
    with pytest.raises(HttpResponseError, match="no system assigned identity"):
        put(memsim, stack, payload)
    topic["body"]["identity"] = identity
    created = put(memsim, stack, payload)
    assert created["properties"]["deadLetterWithResourceIdentity"] == dead_letter
    assert created["properties"]["retryPolicy"] == {
        "maxDeliveryAttempts": 30,
        "eventTimeToLiveInMinutes": 1440,
    }


def test_refusing_azure_function_destinations_on_a_plan_tier(memsim, stack):
    deploy(memsim, stack)
    refuse_azure_function_destinations(memsim, "FlexConsumption")
    with pytest.raises(HttpResponseError) as refused:
        put(memsim, stack, to_function(stack))
    assert "Destination endpoint not found." in describe(refused.value)


def test_deleting_the_topic_takes_its_subscriptions(memsim, stack):
    deploy(memsim, stack)
    put(memsim, stack, to_function(stack))
    eventgrid = clients(memsim).eventgrid
    eventgrid.topics.begin_delete(stack.resource_group, stack.names.eventgrid_topic()).result()
    assert memsim.resources_of_type("Microsoft.EventGrid/eventSubscriptions") == []
