"""The simulated API Management child resources (backends, pools, circuit breakers, named values,
APIs and import, products, policies) and the Functions host keys behave as Azure does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pros_cli.policy import PolicyOptions, render_api_policy
from pros_cli.simulator.core import SECRET_MARKER, SimResponse, Simulator
from pros_cli.simulator.providers import apim_policy_check
from tests.conftest import SUB
from tests.simulator.shapes import assert_shape

API = "2024-05-01"
EX = "Microsoft.ApiManagement/2024-05-01/"
SVC = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apim-gw-test"
OTHER = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apim-gw-other"


def call(
    sim: Simulator, method: str, path: str, body: Any = None, query: str = "", api: str = API
) -> SimResponse:
    data = json.dumps(body).encode() if body is not None else None
    return sim.handle(method, f"https://management.azure.com{path}?api-version={api}{query}", {}, data)


def settle(sim: Simulator, path: str) -> dict[str, Any]:
    for _ in range(10):
        got = call(sim, "GET", path)
        if (got.body.get("properties") or {}).get("provisioningState") in (None, "Succeeded"):
            return got.body
    raise AssertionError("the operation never finished")


def make_service(sim: Simulator, path: str = SVC, sku: str = "Developer") -> None:
    call(sim, "PUT", f"/subscriptions/{SUB}/resourcegroups/rg1", {"location": "eastus"}, api="2025-04-01")
    body = {
        "location": "eastus",
        "sku": {"name": sku, "capacity": 0 if sku == "Consumption" else 1},
        "properties": {"publisherEmail": "ops@contoso.com", "publisherName": "Contoso"},
    }
    assert call(sim, "PUT", path, body).status == 201
    for _ in range(5):
        call(sim, "GET", path)


@pytest.fixture
def apim(memsim: Simulator) -> Simulator:
    make_service(memsim)
    return memsim


def breaker(**overrides: Any) -> dict[str, Any]:
    rule = {
        "name": "trip",
        "failureCondition": {
            "count": 1,
            "interval": "PT1M",
            "statusCodeRanges": [{"min": 429, "max": 429}, {"min": 500, "max": 599}],
        },
        "tripDuration": "PT1M",
        "acceptRetryAfter": True,
    }
    rule.update(overrides)
    return {"rules": [rule]}


def single(url: str = "https://oai.openai.azure.com/openai", **props: Any) -> dict[str, Any]:
    return {"properties": {"url": url, "protocol": "http", **props}}


def pool(*members: tuple[str, int], service: str = SVC) -> dict[str, Any]:
    services = [{"id": f"{service}/backends/{name}", "priority": p, "weight": 1} for name, p in members]
    return {"properties": {"type": "Pool", "pool": {"services": services}}}


def error_text(response: SimResponse) -> str:
    error = response.body["error"]
    return " ".join([error["message"], *(d["message"] for d in error.get("details") or [])])


# ---- backends -----------------------------------------------------------------------------------


def test_a_backend_write_is_not_long_running_and_answers_the_examples_shape(apim):
    created = call(apim, "PUT", f"{SVC}/backends/openai-eastus", single(circuitBreaker=breaker()))
    assert created.status == 201
    assert "Azure-AsyncOperation" not in created.headers
    assert_shape(
        created.body,
        EX + "ApiManagementCreateBackendProxyBackend.json",
        "201",
        allow_extra=("properties.circuitBreaker", "properties.type"),
        must_have=("id", "name", "type", "properties.url", "properties.protocol"),
    )
    assert created.body["properties"]["circuitBreaker"] == breaker()
    again = call(apim, "PUT", f"{SVC}/backends/openai-eastus", single(circuitBreaker=breaker()))
    assert again.status == 200
    members = pool(("openai-eastus", 1))
    made = call(apim, "PUT", f"{SVC}/backends/openai-pool", members)
    assert made.status == 201
    assert_shape(
        made.body,
        EX + "ApiManagementCreateBackendWithPriorityBasedLoadBalancer.json",
        "201",
        allow_extra=("properties.pool.services[0].weight",),  # BackendPoolItem.weight
        must_have=("properties.type", "properties.pool.services"),
    )
    assert made.body["properties"]["type"] == "Pool"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"properties": {"protocol": "http"}}, "'url' is required"),
        (single(protocol="grpc"), "'protocol' must be one of http, soap"),
        (single(circuitBreaker={"rules": [breaker()["rules"][0]] * 2}), "Only one circuit breaker rule"),
        (
            single(
                circuitBreaker=breaker(
                    failureCondition={
                        "count": 1,
                        "interval": "PT1M",
                        "statusCodeRanges": [{"min": 100, "max": 200}],
                    }
                )
            ),
            "must lie within 200-599",
        ),
        (
            single(
                circuitBreaker=breaker(
                    failureCondition={
                        "count": 1,
                        "interval": "PT1M",
                        "statusCodeRanges": [{"min": 500, "max": 500}] * 11,
                    }
                )
            ),
            "at most 10 status code ranges",
        ),
        (single(circuitBreaker=breaker(tripDuration="60 seconds")), "ISO 8601 duration"),
        (
            single(credentials={"header": {"x-functions-key": ["{{no-such-value}}"]}}),
            "Property 'no-such-value' not found.",
        ),
    ],
)
def test_a_backend_that_breaks_azures_rules_is_refused(apim, body, message):
    refused = call(apim, "PUT", f"{SVC}/backends/b1", body)
    assert refused.status == 400
    assert refused.body["error"]["code"] == "ValidationError"
    assert message in error_text(refused)
    assert call(apim, "GET", f"{SVC}/backends/b1").status == 404


def test_pool_members_are_existing_single_backends_of_the_same_service(apim):
    make_service(apim, OTHER)
    for service in (SVC, OTHER):
        assert call(apim, "PUT", f"{service}/backends/b1", single()).status == 201
    assert call(apim, "PUT", f"{SVC}/backends/p1", pool(("b1", 1))).status == 201
    cases = [
        (pool(("missing", 1)), "Backend with id 'missing' could not be found."),
        (
            pool(("b1", 1), service=OTHER),
            "must be the resource id of a backend of this API Management service",
        ),
        (pool(("p1", 1)), "only single backends can be pool members"),
        (pool(("b1", 101)), "'priority' of pool member"),
        ({"properties": {"type": "Pool", "pool": {"services": []}}}, "at least one backend"),
    ]
    for body, message in cases:
        refused = call(apim, "PUT", f"{SVC}/backends/p2", body)
        assert refused.status == 400, message
        assert message in error_text(refused)
    for i in range(31):
        assert call(apim, "PUT", f"{SVC}/backends/m{i}", single()).status == 201
    too_many = call(apim, "PUT", f"{SVC}/backends/p3", pool(*((f"m{i}", 1) for i in range(31))))
    assert too_many.status == 400 and "at most 30 backends" in error_text(too_many)
    assert call(apim, "PUT", f"{SVC}/backends/p3", pool(*((f"m{i}", 1) for i in range(30)))).status == 201


def test_the_consumption_tier_has_no_circuit_breaker(memsim):
    make_service(memsim, SVC, sku="Consumption")
    refused = call(memsim, "PUT", f"{SVC}/backends/b1", single(circuitBreaker=breaker()))
    assert refused.status == 400
    assert "not supported in the Consumption tier" in error_text(refused)
    assert call(memsim, "PUT", f"{SVC}/backends/b1", single()).status == 201
    assert call(memsim, "PUT", f"{SVC}/backends/p1", pool(("b1", 1))).status == 201  # pools are fine


# ---- named values ---------------------------------------------------------------------------------


def test_a_secret_named_value_is_only_returned_by_list_value(apim):
    secret = SECRET_MARKER + "function-key"
    created = call(
        apim,
        "PUT",
        f"{SVC}/namedValues/k1",
        {"properties": {"displayName": "k1", "value": secret, "secret": True}},
    )
    assert created.status == 201
    assert "Azure-AsyncOperation" in created.headers  # a long-running operation
    assert created.body["properties"]["provisioningState"] == "InProgress"
    assert_shape(
        created.body, EX + "ApiManagementCreateNamedValue.json", "201", must_have=("properties.secret",)
    )
    settled = settle(apim, f"{SVC}/namedValues/k1")
    listed = call(apim, "GET", f"{SVC}/namedValues").body
    for body in (created.body, settled, listed):
        assert secret not in json.dumps(body)
    assert call(apim, "POST", f"{SVC}/namedValues/k1/listValue").body == {"value": secret}
    plain = call(
        apim, "PUT", f"{SVC}/namedValues/p1", {"properties": {"displayName": "p1", "value": "eastus"}}
    )
    assert plain.body["properties"]["value"] == "eastus" and plain.body["properties"]["secret"] is False


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"value": "v"}, "'displayName' is required"),
        ({"displayName": "has space", "value": "v"}, "may contain only letters"),
        ({"displayName": "n"}, "'value' is required"),
        ({"displayName": "n", "value": "x" * 4097}, "longer than 4096"),
    ],
)
def test_a_named_value_that_breaks_azures_rules_is_refused(apim, props, message):
    refused = call(apim, "PUT", f"{SVC}/namedValues/n", {"properties": props})
    assert refused.status == 400 and message in error_text(refused)


# ---- APIs -----------------------------------------------------------------------------------------

DOC = {
    "openapi": "3.0.1",
    "info": {"title": "Demo", "version": "1", "description": "d"},
    "servers": [{"url": "https://demo.example/openai"}],
    "components": {
        "parameters": {
            "V": {"name": "api-version", "in": "query", "required": True, "schema": {"type": "string"}}
        }
    },
    "paths": {
        "/deployments/{deployment-id}/chat/completions": {
            "post": {
                "operationId": "chat",
                "parameters": [
                    {"name": "deployment-id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"$ref": "#/components/parameters/V"},
                ],
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/v1/models": {"get": {"operationId": "models", "responses": {"200": {"description": "ok"}}}},
    },
}


def import_api(sim: Simulator, api: str = "openai", path: str = "openai", doc: Any = DOC) -> SimResponse:
    body = {
        "properties": {
            "format": "openapi+json",
            "value": json.dumps(doc),
            "path": path,
            "subscriptionKeyParameterNames": {"header": "api-key"},
        }
    }
    return call(sim, "PUT", f"{SVC}/apis/{api}", body)


def test_an_import_is_long_running_and_creates_the_documents_operations(apim):
    started = import_api(apim)
    assert started.status == 201 and "Azure-AsyncOperation" in started.headers
    assert_shape(
        started.body,
        EX + "ApiManagementCreateApiUsingOai3Import.json",
        "201",
        allow_extra=(
            "properties.subscriptionRequired",
            "properties.type",
            "properties.lastModified",
            "properties.description",
        ),
    )
    api = settle(apim, f"{SVC}/apis/openai")
    props = api["properties"]
    assert "value" not in props and "format" not in props
    assert props["displayName"] == "Demo" and props["serviceUrl"] == "https://demo.example/openai"
    assert props["subscriptionKeyParameterNames"] == {"header": "api-key", "query": "subscription-key"}
    assert props["subscriptionRequired"] is True
    operations = {
        o["name"]: o["properties"] for o in call(apim, "GET", f"{SVC}/apis/openai/operations").body["value"]
    }
    assert set(operations) == {"chat", "models"}
    assert operations["chat"]["method"] == "POST"
    assert (
        operations["chat"]["urlTemplate"]
        == "/deployments/{deployment-id}/chat/completions?api-version={api-version}"
    )
    smaller = {**DOC, "paths": {"/v1/models": DOC["paths"]["/v1/models"]}}
    assert import_api(apim, doc=smaller).status == 200
    settle(apim, f"{SVC}/apis/openai")
    assert [o["name"] for o in call(apim, "GET", f"{SVC}/apis/openai/operations").body["value"]] == ["models"]


def test_two_apis_cannot_share_a_path_and_a_broken_document_is_refused(apim):
    import_api(apim)
    clash = import_api(apim, api="other")
    assert clash.status == 400
    assert "Cannot create API 'other' with the same Path 'openai' as API 'openai'" in error_text(clash)
    broken = call(
        apim,
        "PUT",
        f"{SVC}/apis/x",
        {"properties": {"format": "openapi+json", "value": "{not json", "path": "x"}},
    )
    assert broken.status == 400 and "Parsing error" in error_text(broken)


# ---- products -------------------------------------------------------------------------------------


def test_an_api_is_linked_to_a_product_and_unlinked_when_the_api_goes(apim):
    product = {"properties": {"displayName": "P", "subscriptionRequired": True, "state": "published"}}
    assert call(apim, "PUT", f"{SVC}/products/p", product).status == 201
    assert call(apim, "HEAD", f"{SVC}/products/p/apis/openai").status == 404
    assert call(apim, "PUT", f"{SVC}/products/p/apis/openai").status == 404  # no such API yet
    import_api(apim)
    linked = call(apim, "PUT", f"{SVC}/products/p/apis/openai")
    assert linked.status == 201 and linked.body["name"] == "openai"
    assert call(apim, "HEAD", f"{SVC}/products/p/apis/openai").status == 204
    assert [a["name"] for a in call(apim, "GET", f"{SVC}/products/p/apis").body["value"]] == ["openai"]
    call(apim, "DELETE", f"{SVC}/apis/openai")
    assert call(apim, "HEAD", f"{SVC}/products/p/apis/openai").status == 404
    bad = call(apim, "PUT", f"{SVC}/products/q", {"properties": {"displayName": "Q", "state": "live"}})
    assert bad.status == 400 and "not a valid product state" in error_text(bad)


# ---- policies -------------------------------------------------------------------------------------


def gateway_for_policy(sim: Simulator) -> None:
    import_api(sim)
    for name, value in (
        ("pros-region", "eastus"),
        ("pros-eventgrid-endpoint", "https://t.eastus-1.eventgrid.azure.net/api/events"),
        ("pros-geography", "none"),
    ):
        call(sim, "PUT", f"{SVC}/namedValues/{name}", {"properties": {"displayName": name, "value": value}})
    for name in ("openai-eastus", "func-eastus"):
        call(sim, "PUT", f"{SVC}/backends/{name}", single())
    call(sim, "PUT", f"{SVC}/backends/openai-pool", pool(("openai-eastus", 1)))
    call(sim, "PUT", f"{SVC}/backends/functions-pool", pool(("func-eastus", 1)))


def put_policy(sim: Simulator, text: str, fmt: str = "rawxml") -> SimResponse:
    return call(
        sim, "PUT", f"{SVC}/apis/openai/policies/policy", {"properties": {"format": fmt, "value": text}}
    )


def test_the_rendered_policy_is_accepted_and_read_back_as_written(apim):
    gateway_for_policy(apim)
    text = render_api_policy(PolicyOptions(tokens_per_minute=1000, require_billing_code=True))
    created = put_policy(apim, text)
    assert created.status == 201, created.body
    assert "Azure-AsyncOperation" not in created.headers
    assert_shape(
        created.body, EX + "ApiManagementCreateApiPolicy.json", "201", allow_extra=("properties.format",)
    )
    assert (
        call(apim, "GET", f"{SVC}/apis/openai/policies/policy", query="&format=rawxml").body["properties"][
            "value"
        ]
        == text
    )
    as_xml = call(apim, "GET", f"{SVC}/apis/openai/policies/policy").body["properties"]["value"]
    assert as_xml == text.replace("\n", "\r\n")
    assert put_policy(apim, text).status == 200


@pytest.mark.parametrize("schema", [True, False], ids=["schema", "no-schema"])
def test_a_policy_apim_would_refuse_is_refused_with_its_details(apim, monkeypatch, schema):
    if not schema:
        monkeypatch.setattr(apim_policy_check, "schema", lambda: None)
    gateway_for_policy(apim)
    bad = "<policies>\n  <inbound>\n    <base />\n    <circuit-breaker />\n  </inbound>\n</policies>"
    refused = put_policy(apim, bad)
    assert refused.status == 400
    (detail,) = refused.body["error"]["details"]
    assert detail["target"] == "circuit-breaker"
    assert detail["message"].startswith("Error in element 'circuit-breaker' on line 4, column 5:")
    assert call(apim, "GET", f"{SVC}/apis/openai/policies/policy").status == 404


def test_a_policy_naming_a_missing_named_value_or_backend_is_refused(apim):
    gateway_for_policy(apim)
    text = render_api_policy(PolicyOptions())
    missing_value = put_policy(apim, text.replace("{{pros-region}}", "{{pros-nowhere}}", 1))
    assert missing_value.status == 400 and "Property 'pros-nowhere' not found." in error_text(missing_value)
    missing_backend = put_policy(
        apim, text.replace('backend-id="functions-pool"', 'backend-id="nowhere-pool"')
    )
    assert missing_backend.status == 400
    (detail,) = missing_backend.body["error"]["details"]
    assert detail["target"] == "set-backend-service"
    assert "Backend with id 'nowhere-pool' could not be found." in detail["message"]
    not_xml = put_policy(apim, "<policies><inbound>")
    assert not_xml.status == 400 and "not well-formed" in error_text(not_xml)


def test_the_schema_is_found_beside_the_repository():
    assert apim_policy_check.schema_dir() is not None
    assert "policy schema" in apim_policy_check.schema_note()


# ---- the Functions host keys ----------------------------------------------------------------------


def test_host_keys_are_stable_secrets_that_never_show_on_the_site(engine, memsim):
    from pros_cli.resources.graph import build_resources
    from tests.conftest import make_spec

    spec = make_spec(regions=["eastus"])
    engine.converge(
        [
            r
            for r in build_resources(spec)
            if r.key
            in (
                "resource-group",
                "storage/eastus",
                "function-plan/eastus",
                "function-package/eastus",
                "function-app/eastus",
            )
        ]
    )
    web = engine.clients.web
    app = spec.names.function_app("eastus")
    first = web.web_apps.list_host_keys("rg-demo", app)
    assert first.function_keys["default"].startswith(SECRET_MARKER)
    assert (
        web.web_apps.list_host_keys("rg-demo", app).function_keys["default"] == first.function_keys["default"]
    )
    site = json.dumps(web.web_apps.get("rg-demo", app).as_dict())
    assert SECRET_MARKER not in site


def test_the_built_schema_kept_between_processes_judges_as_a_freshly_built_one(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    directory = str(apim_policy_check.schema_dir())
    good = (
        "<policies><inbound><base /></inbound><backend><base /></backend>"
        "<outbound /><on-error /></policies>"
    )
    bad = "<policies>\n  <inbound>\n    <base />\n    <circuit-breaker />\n  </inbound>\n</policies>"

    def verdicts(schema) -> list[list[str]]:
        return [[str(e.reason) for e in schema.iter_errors(text)] for text in (good, bad)]

    apim_policy_check._schema.cache_clear()
    try:
        built = apim_policy_check._schema(directory)  # nothing kept yet: built from the files
        (kept,) = (tmp_path / "pros" / "apim-policy-schema").glob("*.pickle")
        apim_policy_check._schema.cache_clear()
        loaded = apim_policy_check._schema(directory)
        assert loaded is not built
        assert verdicts(loaded) == verdicts(built)
        assert verdicts(built)[0] == [] and verdicts(built)[1] != []
        kept.write_bytes(b"not a pickle")  # a damaged cache is rebuilt, not trusted
        apim_policy_check._schema.cache_clear()
        assert verdicts(apim_policy_check._schema(directory)) == verdicts(built)
        assert kept.read_bytes() != b"not a pickle"
    finally:
        apim_policy_check._schema.cache_clear()
