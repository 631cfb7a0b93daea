"""How each write is answered (status, body or none, polling headers), per the REST specs and examples:
the simulator neither invents long-running operations nor hides them."""

from __future__ import annotations

import json
from typing import Any

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.simulator.core import SimResponse, Simulator
from tests.conftest import SUB
from tests.simulator.shapes import assert_shape, example

POLLING = {"Azure-AsyncOperation", "Location"}
RG = f"/subscriptions/{SUB}/resourceGroups/rg"


def call(sim: Simulator, method: str, path: str, api: str, body: Any = None) -> SimResponse:
    raw = json.dumps(body).encode() if body is not None else None
    return sim.handle(method, f"https://management.azure.com{path}?api-version={api}", {}, raw)


def polling_headers(response: SimResponse) -> set[str]:
    return {h for h in response.headers if h.lower() in {p.lower() for p in POLLING}}


def example_headers(relpath: str, status: str) -> set[str]:
    headers = example(relpath)["responses"][status].get("headers") or {}
    return {h for h in headers if h.lower() in {p.lower() for p in POLLING}}


def resource_group(sim: Simulator) -> ClientFactory:
    clients = ClientFactory(SUB, cloud="simulator", simulator=sim)
    clients.resource.resource_groups.create_or_update("rg", {"location": "eastus"})
    return clients


def test_api_management_patch_is_202_without_a_body(memsim):
    clients = resource_group(memsim)
    service = {
        "location": "eastus",
        "sku": {"name": "Developer", "capacity": 1},
        "identity": {"type": "SystemAssigned"},
        "properties": {"publisherEmail": "ops@contoso.com", "publisherName": "Contoso"},
    }
    apim = clients.apim.api_management_service
    apim.begin_create_or_update("rg", "apim-shapes", service, cls=raw_json).result()
    path = f"{RG}/providers/Microsoft.ApiManagement/service/apim-shapes"
    response = call(memsim, "PATCH", path, "2024-05-01", {"properties": {"publisherName": "Fabrikam"}})
    # apimdeployment.json (2024-05-01) ApiManagementService_Update: 200 with the service, or 202 with
    # nothing but where to poll; ApiManagementUpdateServiceDisableTls10.json shows the 202.
    # (That example is not in ../shared/arm-examples, so its headers are not read from it here.)
    assert response.status == 202 and response.body is None
    assert polling_headers(response) == {"Azure-AsyncOperation", "Location"}
    assert "/operation" in response.headers["Location"].lower()
    # The SDK polls it to the end and reads the service back.
    memsim.fast_forward()
    assert call(memsim, "GET", path, "2024-05-01").body["properties"]["targetProvisioningState"] == ""
    done = apim.begin_update("rg", "apim-shapes", {"properties": {"publisherName": "Contoso"}}, cls=raw_json)
    assert done.result()["properties"]["publisherName"] == "Contoso"


def test_event_grid_topic_create_answers_201_with_the_topic_and_no_polling_header(memsim):
    clients = resource_group(memsim)
    path = f"{RG}/providers/Microsoft.EventGrid/topics/evgt-shapes"
    relpath = "Microsoft.EventGrid/2025-02-15/Topics_CreateOrUpdate.json"
    response = call(memsim, "PUT", path, "2025-02-15", {"location": "eastus", "properties": {}})
    assert response.status == 201 and polling_headers(response) == example_headers(relpath, "201") == set()
    assert_shape(
        response.body,
        relpath,
        "201",
        allow_extra=(
            "properties.inputSchema",
            "properties.disableLocalAuth",
            "properties.minimumTlsVersionAllowed",
        ),
        must_have=("id", "name", "type", "location", "properties.endpoint", "properties.provisioningState"),
    )
    assert response.body["properties"]["provisioningState"] == "Creating"
    # The SDK polls the topic itself (its provisioningState) until the create ends.
    topic = clients.eventgrid.topics.begin_create_or_update(
        "rg", "evgt-two", {"location": "eastus"}, cls=raw_json
    ).result()
    assert topic["properties"]["provisioningState"] == "Succeeded"
    puts = [e for e in memsim.request_log if e["method"] == "PUT" and e["path"].endswith("/evgt-two")]
    gets = [e for e in memsim.request_log if e["method"] == "GET" and e["path"].endswith("/evgt-two")]
    assert [e["status"] for e in puts] == [201] and gets  # polled by GET on the topic
    assert not any("operationStatuses" in e["path"] for e in memsim.request_log)


def test_redis_create_answers_201_with_the_cache_and_no_polling_header(memsim):
    clients = resource_group(memsim)
    path = f"{RG}/providers/Microsoft.Cache/redis/redis-shapes"
    relpath = "Microsoft.Cache/2024-11-01/RedisCacheCreate.json"
    body = {"location": "eastus", "properties": {"sku": {"name": "Standard", "family": "C", "capacity": 1}}}
    response = call(memsim, "PUT", path, "2024-11-01", body)
    assert response.status == 201 and polling_headers(response) == example_headers(relpath, "201") == set()
    assert response.body["properties"]["provisioningState"] == "Creating"
    again = call(memsim, "PUT", path, "2024-11-01", body)
    assert again.status == 409  # one operation at a time
    memsim.fast_forward()
    assert call(memsim, "GET", path, "2024-11-01").body["properties"]["provisioningState"] == "Succeeded"
    update = call(memsim, "PUT", path, "2024-11-01", {**body, "tags": {"a": "b"}})
    assert update.status == 200 and polling_headers(update) == example_headers(relpath, "200") == set()
    cache = clients.redis.redis.begin_create("rg", "redis-two", body, cls=raw_json).result()
    assert cache["properties"]["provisioningState"] == "Succeeded"


def test_plans_and_sites_answer_200_at_once(memsim):
    resource_group(memsim)
    plan = {
        "location": "eastus",
        "kind": "functionapp",
        "sku": {"name": "FC1", "tier": "FlexConsumption"},
        "properties": {"reserved": True},
    }
    plan_path = f"{RG}/providers/Microsoft.Web/serverfarms/plan-shapes"
    created = call(memsim, "PUT", plan_path, "2025-05-01", plan)
    relpath = "Microsoft.Web/2025-05-01/CreateOrUpdateAppServicePlan.json"
    assert created.status == 200 and polling_headers(created) == example_headers(relpath, "200") == set()
    assert created.body["properties"]["provisioningState"] == "Succeeded"
    updated = call(memsim, "PUT", plan_path, "2025-05-01", {**plan, "tags": {"a": "b"}})
    assert updated.status == 200 and not polling_headers(updated)
