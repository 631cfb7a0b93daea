"""The gateway's resource kinds on their own: what they compare, what they send, what they echo,
and how the gateway graph is wired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pros_cli.errors import UsageError
from pros_cli.policy import OPENAPI_SPEC
from pros_cli.resources.apim_api import OpenAIApi, load_definition, operation_key
from pros_cli.resources.apim_backend import Backend, BackendPool, Breaker, duration_seconds, iso_duration
from pros_cli.resources.apim_named_value import NamedValue, SecretValue
from pros_cli.resources.apim_policy import ApiPolicy
from pros_cli.resources.gateway_graph import (
    build_gateway_resources,
    check_gateway,
    command_graph,
    function_url,
    openai_url,
)
from pros_cli.resources.graph import build_resources
from tests.conftest import make_spec

BREAKER = Breaker(failures=3, interval_seconds=60, trip_seconds=90)


def backend(**kwargs) -> Backend:
    args = {
        "key": "b",
        "name": "openai-eastus",
        "region": "eastus",
        "url": lambda inputs: "https://oai.openai.azure.com/openai",
        "description": "d",
        "breaker": BREAKER,
    }
    args.update(kwargs)
    return Backend(make_spec(), **args)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(60, "PT1M"), (90, "PT1M30S"), (3600, "PT1H"), (86400, "P1D"), (5400, "PT1H30M"), (1, "PT1S")],
)
def test_durations_in_iso_8601(seconds, text):
    assert iso_duration(seconds) == text
    assert duration_seconds(text) == seconds


def test_equal_durations_written_differently_are_equal():
    assert duration_seconds("PT60S") == duration_seconds("PT1M") == duration_seconds("P0DT0H1M") == 60
    assert duration_seconds("one minute") is None and duration_seconds("P") is None


def test_a_backend_compares_its_breaker_by_meaning_not_spelling():
    b = backend()
    live = json.loads(json.dumps(b.desired()))
    rule = live["properties"]["circuitBreaker"]["rules"][0]
    rule["failureCondition"]["interval"] = "PT60S"
    rule["tripDuration"] = "PT90S"
    rule["failureCondition"]["statusCodeRanges"].reverse()
    assert b.diff(live) == []
    rule["failureCondition"]["count"] = 5
    assert [d.path for d in b.diff(live)] == ["properties.circuitBreaker"]
    del live["properties"]["circuitBreaker"]
    assert [d.path for d in b.diff(live)] == ["properties.circuitBreaker"]


def test_a_backend_without_breaker_removes_a_live_one_and_checks_url_and_credentials():
    b = backend(breaker=None, credential_header=("x-functions-key", "pros-func-key-eastus"))
    live = {
        "properties": {
            "url": "https://elsewhere/openai",
            "protocol": "http",
            "circuitBreaker": {"rules": [BREAKER.rule()]},
        }
    }
    paths = [d.path for d in b.diff(live)]
    assert paths == ["properties.url", "properties.circuitBreaker", "properties.credentials.header"]
    assert b.desired()["properties"]["credentials"] == {
        "header": {"x-functions-key": ["{{pros-func-key-eastus}}"]}
    }


def test_a_plain_backend_echoes_az_apim_backend_create_and_one_with_a_breaker_az_rest():
    plain = backend(breaker=None).az_create()[0].render()
    assert plain.startswith("az apim backend create --resource-group rg-demo --service-name apim-demo-eus-")
    assert "--url https://oai.openai.azure.com/openai --protocol http" in plain
    rest = backend().az_create()[0].render()
    assert rest.startswith("az rest --method put --url 'https://management.azure.com/subscriptions/")
    assert "/backends/openai-eastus?api-version=2024-05-01" in rest and '"circuitBreaker"' in rest


def test_a_pool_compares_its_members_in_any_order():
    p = BackendPool(
        make_spec(),
        key="p",
        name="openai-pool",
        region="eastus",
        members=[("openai-eastus", 1), ("openai-westus", 2)],
        description="d",
    )
    live = json.loads(json.dumps(p.desired()))
    live["properties"]["pool"]["services"].reverse()
    assert p.diff(live) == []
    live["properties"]["pool"]["services"][0]["priority"] = 1
    (change,) = p.diff(live)
    assert change.path == "properties.pool.services"
    assert "openai-westus" in change.reason()
    assert [d.path for d in p.diff({"properties": {"type": "Single", "url": "x"}})] == [
        "properties.type",
        "properties.pool.services",
    ]


def test_a_named_values_value_can_come_from_a_dependency():
    nv = NamedValue(
        make_spec(),
        key="n",
        name="pros-eventgrid-endpoint",
        region="eastus",
        value=lambda inputs: inputs["topic"]["e"],
    )
    nv.inputs = {"topic": {"e": "https://t/api/events"}}
    assert nv.desired() == {
        "properties": {
            "displayName": "pros-eventgrid-endpoint",
            "secret": False,
            "value": "https://t/api/events",
        }
    }
    assert nv.az_create()[0].render().endswith("--value https://t/api/events")


def test_a_secret_named_value_never_shows_its_value():
    secret = SecretValue(
        resolve=lambda clients: "s3cr3t", var="PROS_FUNC_KEY_EASTUS", source="az functionapp keys list"
    )
    nv = NamedValue(make_spec(), key="n", name="pros-func-key-eastus", region="eastus", value=secret)
    assert nv.desired() == {"properties": {"displayName": "pros-func-key-eastus", "secret": True}}
    line = nv.az_create()[0]
    assert (
        "s3cr3t" not in line.render() and '--value "${PROS_FUNC_KEY_EASTUS}" --secret true' in line.render()
    )
    assert line.secrets[0].source == "az functionapp keys list"
    nv._secret_state = "differs"
    (change,) = [d for d in nv.diff({"properties": {"displayName": "pros-func-key-eastus", "secret": True}})]
    assert change.reason() == "set the value: the secret value differs (value not shown)"
    assert nv.outputs({"properties": {"displayName": "pros-func-key-eastus"}}) == {
        "display_name": "pros-func-key-eastus",
        "kind": "secret",
    }


def test_the_api_definition_is_checked_and_its_operations_known(tmp_path):
    shipped = load_definition(OPENAPI_SPEC)
    assert shipped.format == "openapi+json"
    assert ("POST", "/deployments/{}/chat/completions") in shipped.operations
    assert ("GET", "/v1/models") in shipped.operations
    assert operation_key(
        "post", "/deployments/{deployment-id}/chat/completions?api-version={api-version}"
    ) == (
        "POST",
        "/deployments/{}/chat/completions",
    )
    swagger = tmp_path / "swagger.json"
    swagger.write_text(json.dumps({"swagger": "2.0", "paths": {"/a": {"get": {}}}}))
    assert load_definition(swagger).format == "swagger-json"
    problems = {
        "missing.json": "does not exist",
        "empty.json": "defines no operations",
        "old.json": "neither OpenAPI 3.x nor Swagger 2.0",
        "junk.json": "not an OpenAPI document",
    }
    (tmp_path / "empty.json").write_text(json.dumps({"openapi": "3.0.1", "paths": {}}))
    (tmp_path / "old.json").write_text(json.dumps({"swagger": "1.2", "paths": {"/a": {"get": {}}}}))
    (tmp_path / "junk.json").write_text("[1, 2]")
    for name, message in problems.items():
        with pytest.raises(UsageError, match=message):
            load_definition(tmp_path / name)


def api(definition_path: Path = OPENAPI_SPEC) -> OpenAIApi:
    return OpenAIApi(
        make_spec(),
        key="a",
        name="openai",
        region="eastus",
        definition=load_definition(definition_path),
        api_path="openai",
        key_header="api-key",
        key_query="subscription-key",
        service_url=lambda inputs: "https://oai.openai.azure.com/openai",
    )


def live_api(a: OpenAIApi) -> dict:
    return {
        "properties": {k: v for k, v in a.desired()["properties"].items() if k not in ("format", "value")}
    }


def test_the_api_is_imported_again_only_when_the_file_or_the_live_api_changed():
    a = api()
    a.live_operations = a.definition.operations
    a.remember({"status": "succeeded", "outputs": {"definition_sha256": a.definition.sha256}})
    assert a.diff(live_api(a)) == []
    a.remember({"status": "succeeded", "outputs": {"definition_sha256": "0" * 64}})
    assert [d.path for d in a.diff(live_api(a))] == ["definition"]
    a.remember(None)
    assert [d.path for d in a.diff(live_api(a))] == ["definition"]
    a.remember({"status": "succeeded", "outputs": {"definition_sha256": a.definition.sha256}})
    a.live_operations = a.definition.operations - {("GET", "/v1/models")}
    (change,) = a.diff(live_api(a))
    assert change.path == "operations" and "GET /v1/models" in change.reason()
    a.live_operations = a.definition.operations
    live = live_api(a)
    live["properties"]["subscriptionKeyParameterNames"] = {
        "header": "Ocp-Apim-Subscription-Key",
        "query": "subscription-key",
    }
    assert [d.path for d in a.diff(live)] == ["properties.subscriptionKeyParameterNames"]


def test_the_api_echo_imports_the_file_itself():
    line = api().az_create()[0].render()
    assert line.startswith("az apim api import --resource-group rg-demo --service-name apim-demo-eus-")
    assert f"--specification-format OpenApiJson --specification-path {OPENAPI_SPEC.resolve()}" in line
    assert "--subscription-key-header-name api-key" in line


def test_the_policy_echo_carries_the_whole_body_inline():
    p = ApiPolicy(
        make_spec(),
        key="p",
        api="openai",
        xml="<policies><inbound><base /></inbound></policies>",
        region="eastus",
    )
    line = p.az_create()[0].render()
    body = '{"properties":{"format":"rawxml","value":"<policies><inbound><base /></inbound></policies>"}}'
    assert f"--body '{body}'" in line
    assert "/apis/openai/policies/policy?api-version=2024-05-01" in line


def test_urls_come_from_the_bodies_of_the_provision_resources():
    url = function_url("function-app/eastus", "func-demo")
    assert url(
        {
            "function-app/eastus": {
                "properties": {"defaultHostName": "func-demo-abc.eastus-01.azurewebsites.net"}
            }
        }
    ) == ("https://func-demo-abc.eastus-01.azurewebsites.net/openai")
    assert url({}) == "https://func-demo.azurewebsites.net/openai"
    oai = openai_url("openai/eastus", "oai-demo")
    assert (
        oai({"openai/eastus": {"properties": {"endpoint": "https://custom.openai.azure.com/"}}})
        == "https://custom.openai.azure.com/openai"
    )


def test_the_gateway_graph_wires_every_gateway_to_the_provision_graph():
    spec = make_spec(regions=["eastus", "westus", "westeurope"])
    provision = build_resources(spec)
    gateway = build_gateway_resources(spec, provision, policy_xml="<policies />")
    keys = {r.key: r for r in gateway}
    every = {r.key for r in provision} | set(keys)
    for r in gateway:
        assert set(r.depends_on) <= every, r.key
        assert r.parent in every
    pool = keys["apim/westus/backends/functions-pool"]
    assert sorted(pool.members) == [("func-eastus", 2), ("func-westeurope", 2), ("func-westus", 1)]
    assert set(pool.depends_on) == {"apim/westus", *(f"apim/westus/backends/func-{r}" for r in spec.regions)}
    func = keys["apim/eastus/backends/func-westus"]
    assert set(func.depends_on) == {
        "apim/eastus",
        "function-app/westus",
        "apim/eastus/named-values/pros-func-key-westus",
    }
    policy = keys["apim/eastus/apis/openai/policy"]
    assert {
        "apim/eastus/backends/openai-pool",
        "apim/eastus/backends/functions-pool",
        "apim/eastus/named-values/pros-region",
    } <= set(policy.depends_on)
    assert len(gateway) == 3 * (
        3 + 3 + 3 + 3 + 2 + 4
    )  # per gateway: 3+3 named values, 6 backends, 2 pools, API, product, link, policy


def test_each_command_plans_its_own_nodes_and_reads_what_they_need():
    spec = make_spec()
    resources, scope = command_graph(spec, "backends", policy_xml="<policies />")
    keys = {r.key for r in resources}
    assert not any(k.endswith("/policy") for k in keys)
    assert scope == {k for k in keys if k.startswith("apim/") and k.count("/") > 1}
    assert keys - scope == {
        "resource-group",
        "apim/eastus",
        "apim/westus",
        "openai/eastus",
        "openai/westus",
        "function-app/eastus",
        "function-app/westus",
        "eventgrid-topic",
    }
    resources, scope = command_graph(spec, "policies", policy_xml="<policies />")
    assert scope == {"apim/eastus/apis/openai/policy", "apim/westus/apis/openai/policy"}
    assert "function-app/eastus" not in {r.key for r in resources}
    assert "apim/eastus/backends/openai-pool" in {r.key for r in resources}


def test_the_consumption_tier_with_a_breaker_is_refused_without_one_allowed():
    with pytest.raises(UsageError, match="Consumption tier has no backend circuit breaker"):
        check_gateway(make_spec(apim_sku="Consumption"))
    check_gateway(make_spec(apim_sku="Consumption", circuit_breaker=False))
    check_gateway(make_spec())
