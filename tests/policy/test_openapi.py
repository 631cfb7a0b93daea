"""The API definition imported at path ``openai``: the operations the policy and the contract name."""

from __future__ import annotations

import json
import re

import pytest

from pros_cli.contract import load_schema
from pros_cli.policy import OPENAPI_SPEC, SPEC_VERSION, render_api_policy

DEPLOYMENT_OPERATIONS = {
    "/deployments/{deployment-id}/chat/completions": "chat-completions",
    "/deployments/{deployment-id}/completions": "completions",
    "/deployments/{deployment-id}/embeddings": "embeddings",
}
V1_OPERATIONS = {
    "/v1/chat/completions": "v1-chat-completions",
    "/v1/completions": "v1-completions",
    "/v1/embeddings": "v1-embeddings",
    "/v1/responses": "v1-responses",
}


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(OPENAPI_SPEC.read_text(encoding="utf-8"))


def resolve(spec: dict, item: dict) -> dict:
    while "$ref" in item:
        name = item["$ref"].rsplit("/", 1)[-1]
        kind = item["$ref"].split("/")[2]
        item = spec["components"][kind][name]
    return item


def test_pinned_to_the_documented_inference_version(spec: dict) -> None:
    assert spec["openapi"].startswith("3.0.")
    assert spec["info"]["version"] == SPEC_VERSION == "2024-10-21"
    assert SPEC_VERSION in spec["info"]["description"]


def test_the_operations_and_their_ids(spec: dict) -> None:
    found = {path: op["operationId"] for path, item in spec["paths"].items() for op in item.values()}
    assert found == {**DEPLOYMENT_OPERATIONS, **V1_OPERATIONS, "/v1/models": "v1-models"}
    assert list(spec["paths"]["/v1/models"]) == ["get"]
    for path in {**DEPLOYMENT_OPERATIONS, **V1_OPERATIONS}:
        assert list(spec["paths"][path]) == ["post"]
    # Operation ids become APIM operation names and the usage event's operation field.
    operation_schema = load_schema()["$defs"]["data"]["properties"]["operation"]
    for operation_id in found.values():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", operation_id)
        assert len(operation_id) <= operation_schema["maxLength"]
    assert '"v1-models"' in render_api_policy()


def test_api_version_is_required_on_the_deployment_surface_only(spec: dict) -> None:
    for path, item in spec["paths"].items():
        for op in item.values():
            params = {p["name"]: p for p in (resolve(spec, p) for p in op.get("parameters", []))}
            if path.startswith("/deployments/"):
                assert params["api-version"]["in"] == "query" and params["api-version"]["required"] is True
                assert params["deployment-id"]["in"] == "path" and params["deployment-id"]["required"] is True
            else:
                assert "api-version" not in params and "deployment-id" not in params


def test_v1_requests_name_the_model_in_the_body(spec: dict) -> None:
    for path in V1_OPERATIONS:
        schema = resolve(
            spec, spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        )
        parts = [resolve(spec, s) for s in schema.get("allOf", [schema])]
        assert any("model" in p.get("required", []) for p in parts), path


def test_subscription_key_in_the_api_key_header(spec: dict) -> None:
    scheme = spec["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "api-key")
    assert spec["security"] == [{"apiKey": []}]


def test_every_reference_resolves(spec: dict) -> None:
    text = json.dumps(spec)
    for ref in set(re.findall(r'"\$ref": "([^"]+)"', text)):
        _, _, kind, name = ref.split("/")
        assert name in spec["components"][kind], ref
