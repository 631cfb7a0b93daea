"""Run the rendered policy's compiled expressions on sample calls: the usage event it builds matches
the contract's JSON Schema, routing and failover behave, and every call yields exactly one event."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest

from pros_cli.contract import EVENT_TYPE, load_schema
from pros_cli.policy import FUNCTIONS_POOL_ID, OPENAI_POOL_ID, PolicyOptions

GATEWAY_REGION = "eastus"  # tests/policy/csharp_harness.NAMED_VALUE_SAMPLES
EVENTGRID = "https://pros-demo-usage.eastus-1.eventgrid.azure.net/api/events"

CHAT_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 350,
    "total_tokens": 1550,
    "prompt_tokens_details": {"cached_tokens": 1024},
    "completion_tokens_details": {"reasoning_tokens": 128},
}


def chat_response(usage: dict[str, Any] | None = None, model: str = "gpt-5.1-2025-11-13") -> str:
    body: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion", "model": model, "choices": []}
    if usage is not None:
        body["usage"] = usage
    return json.dumps(body)


def answer(
    status: int = 200, region: str | None = "East US", body: str = "", **headers: str
) -> dict[str, Any]:
    all_headers = {name.replace("_", "-"): [value] for name, value in headers.items()}
    if region:
        all_headers["x-ms-region"] = [region]
    return {"status": status, "reason": "", "headers": all_headers, "body": body}


def pool_exhausted(**headers: str) -> dict[str, Any]:
    # The gateway raises an error when every member of the pool is tripped (Microsoft's load-balancing
    # samples handle it in on-error with context.Response.StatusCode 503).
    return {**answer(503, region=None, **headers), "error": "Backend pool is temporarily unavailable"}


def call(
    *,
    streamed: bool = False,
    v1: bool = False,
    operation: str = "chat-completions",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    backend: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    request_body = (
        body if body is not None else {"messages": [{"role": "user", "content": "Say hello in French."}]}
    )
    if streamed:
        request_body = {**request_body, "stream": True}
    if v1:
        path = "/openai/v1/" + operation.removeprefix("v1-").replace("chat-", "chat/")
        matched: dict[str, str] = {}
    else:
        path = "/openai/deployments/chat/" + operation.replace("chat-", "chat/")
        matched = {"deployment-id": "chat"}
    all_query = {"api-version": "2024-10-21"} if not v1 else {}
    all_query.update(query if query is not None else {"billingCode": "CC-1001", "companyName": "Contoso"})
    all_headers = {"api-key": "the-gateway-subscription-key", "Content-Type": "application/json"}
    all_headers.update(headers or {})
    return {
        "requestId": str(uuid.uuid4()),
        "elapsedMs": 812,
        "method": "POST",
        "path": path,
        "query": {k: [v] for k, v in all_query.items()},
        "headers": {k: [v] for k, v in all_headers.items()},
        "body": json.dumps(request_body),
        "matched": matched,
        "operation": {"id": operation},
        "backend": backend if backend is not None else [answer(body=chat_response(CHAT_USAGE))],
    }


def events(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """The usage events the gateway sent, each checked against the contract and the consumer's rules."""
    found = []
    schema = load_schema()
    for send in trace["sends"]:
        assert send["url"] == EVENTGRID
        assert send["method"] == "POST"
        assert send["authResource"] == "https://eventgrid.azure.net"
        assert send["headers"]["Content-Type"] == ["application/json"]
        assert not any(
            h.lower() in {"aeg-sas-key", "aeg-sas-token", "authorization"} for h in send["headers"]
        )
        batch = json.loads(send["body"])
        assert isinstance(batch, list) and len(batch) == 1
        event = batch[0]
        jsonschema.validate(event, schema, format_checker=jsonschema.FormatChecker())
        data = event["data"]
        assert event["eventType"] == EVENT_TYPE
        assert event["id"] == data["requestId"]
        assert data["totalTokens"] == data["promptTokens"] + data["completionTokens"]
        assert data["cachedTokens"] <= data["promptTokens"]
        assert data["reasoningTokens"] <= data["completionTokens"]
        assert event["subject"] == f"/regions/{data['region']}/apis/openai/operations/{data['operation']}"
        found.append(event)
    return found


def function_events(trace: dict[str, Any]) -> int:
    """Events the streaming function publishes for this call, by the documented division of work:
    the function reports every call it served with a 2xx answer (docs/policy.md)."""
    last = trace["forwards"][-1] if trace["forwards"] else None
    served_by_function = last is not None and last["backendId"] == FUNCTIONS_POOL_ID
    return 1 if served_by_function and 200 <= trace["response"]["status"] < 300 else 0


def test_non_streamed_call_sends_one_exact_event_that_matches_the_contract(compiled) -> None:
    scenario = call(
        query={"billingCode": "CC-1001", "companyName": "Contoso", "username": "jane@contoso.com"}
    )
    trace = compiled().run(scenario)
    (event,) = events(trace)
    data = event["data"]
    assert event["id"] == scenario["requestId"]
    assert data == {
        "requestId": scenario["requestId"],
        "source": "apim",
        "billingCode": "CC-1001",
        "companyName": "Contoso",
        "username": "jane@contoso.com",
        "region": "eastus",
        "gatewayRegion": "eastus",
        "geography": None,  # not geographic routing (tests/policy/test_geography.py)
        "model": "gpt-5.1-2025-11-13",
        "deployment": "chat",
        "api": "openai",
        "operation": "chat-completions",
        "status": 200,
        "latencyMs": 812,
        "streamed": False,
        "failover": False,
        "accuracy": "exact",
        "promptTokens": 1200,
        "completionTokens": 350,
        "totalTokens": 1550,
        "cachedTokens": 1024,
        "reasoningTokens": 128,
    }
    # The caller still gets the body: it was read with preserveContent.
    assert json.loads(trace["response"]["body"])["usage"] == CHAT_USAGE
    assert trace["response"]["headers"]["x-pros-region"] == ["eastus"]
    assert trace["response"]["headers"]["x-pros-failover"] == ["false"]
    assert "x-pros-geography" not in trace["response"]["headers"]


def test_the_forwarded_request_carries_no_gateway_key_no_dimensions_and_the_managed_identity(
    compiled,
) -> None:
    scenario = call(
        query={
            "billingCode": "CC-1001",
            "companyName": "Contoso",
            "username": "jane",
            "subscription-key": "k2",
        },
        headers={"Authorization": "Bearer caller-token", "x-pros-billing-code": "FORGED"},
    )
    trace = compiled().run(scenario)
    (forward,) = trace["forwards"]
    assert forward["backendId"] == OPENAI_POOL_ID
    assert forward["query"] == {"api-version": ["2024-10-21"]}
    headers = {name.lower(): value for name, value in forward["headers"].items()}
    assert "api-key" not in headers
    assert not any(name.startswith("x-pros-") for name in headers)
    assert headers["authorization"] == [
        "Bearer managed-identity-token-for https://cognitiveservices.azure.com"
    ]
    assert forward["body"] == scenario["body"]  # the body was read on a copy and forwarded whole
    assert forward["bufferRequestBody"] is True and forward["bufferResponse"] is True
    assert "the-gateway-subscription-key" not in json.dumps(trace["sends"])


def test_streamed_call_goes_to_the_functions_pool_unbuffered_and_apim_sends_no_event(compiled) -> None:
    scenario = call(
        streamed=True,
        query={"billingCode": "CC 1001/é", "companyName": "Contoso", "username": "jane@contoso.com"},
    )
    scenario["backend"] = [answer(body="data: {}\n\ndata: [DONE]\n\n")]
    trace = compiled().run(scenario)
    (forward,) = trace["forwards"]
    assert forward["backendId"] == FUNCTIONS_POOL_ID
    assert forward["bufferResponse"] is False
    headers = {name.lower(): value for name, value in forward["headers"].items()}
    assert "authorization" not in headers  # the function authenticates to OpenAI itself
    assert headers["x-pros-request-id"] == [scenario["requestId"]]
    assert headers["x-pros-gateway-region"] == ["eastus"]
    assert headers["x-pros-api"] == ["openai"]
    assert headers["x-pros-operation"] == ["chat-completions"]
    assert unquote(headers["x-pros-billing-code"][0]) == "CC 1001/é"
    assert headers["x-pros-billing-code"][0].isascii()
    assert unquote(headers["x-pros-username"][0]) == "jane@contoso.com"
    assert headers["x-pros-company-name"] == ["Contoso"]
    assert trace["sends"] == []  # the function publishes the exact event
    assert trace["response"]["bodyReads"] == 0  # the stream was never read


def test_optional_dimensions_are_not_sent_to_the_function_when_not_given(compiled) -> None:
    trace = compiled().run(call(streamed=True, query={"billingCode": "CC-1", "username": ""}))
    headers = {name.lower() for name in trace["forwards"][0]["headers"]}
    assert "x-pros-billing-code" in headers
    assert "x-pros-company-name" not in headers and "x-pros-username" not in headers


@pytest.mark.parametrize("streamed", [False, True], ids=["non-streamed", "streamed"])
def test_every_call_yields_exactly_one_usage_event(compiled, streamed: bool) -> None:
    # Issue 13: the routing decision and the event conditions, run as compiled, give one event per call.
    trace = compiled().run(call(streamed=streamed))
    expected_pool = FUNCTIONS_POOL_ID if streamed else OPENAI_POOL_ID
    assert [f["backendId"] for f in trace["forwards"]] == [expected_pool]
    apim = len(events(trace))
    assert apim == (0 if streamed else 1)
    assert apim + function_events(trace) == 1


def test_a_throttled_region_fails_over_to_the_next_pool_member(compiled) -> None:
    scenario = call(
        backend=[
            answer(429, region="East US", Retry_After="7"),
            answer(200, region="West Europe", body=chat_response(CHAT_USAGE)),
        ]
    )
    trace = compiled().run(scenario)
    assert [f["backendId"] for f in trace["forwards"]] == [OPENAI_POOL_ID, OPENAI_POOL_ID]
    assert all(f["body"] == scenario["body"] for f in trace["forwards"])  # each attempt resends the body
    (event,) = events(trace)
    assert event["data"]["region"] == "westeurope"
    assert event["data"]["failover"] is True
    assert event["data"]["status"] == 200
    assert trace["response"]["headers"]["x-pros-region"] == ["westeurope"]
    assert trace["response"]["headers"]["x-pros-failover"] == ["true"]


def test_every_member_tripped_gives_an_honest_429_with_retry_after_and_no_backend_detail(compiled) -> None:
    trace = compiled().run(call(backend=[answer(429, Retry_After="30"), pool_exhausted()]))
    assert trace["onError"] is True
    response = trace["response"]
    assert response["status"] == 429
    assert response["headers"]["Retry-After"] == ["30"]
    error = json.loads(response["body"])["error"]
    assert error["code"] == "TooManyRequests"
    assert "pool" not in response["body"].lower() and "openai.azure.com" not in response["body"]
    assert trace["sends"] == []


def test_an_unavailable_pool_gives_503_with_a_retry_after(compiled) -> None:
    trace = compiled().run(call(backend=[pool_exhausted()]))
    assert trace["response"]["status"] == 503
    assert int(trace["response"]["headers"]["Retry-After"][0]) > 0
    assert json.loads(trace["response"]["body"])["error"]["code"] == "ServiceUnavailable"


def test_retries_stop_at_the_first_success_and_never_exceed_the_count(compiled) -> None:
    trace = compiled().run(call(backend=[answer(503)] * 3 + [answer(body=chat_response(CHAT_USAGE))]))
    assert len(trace["forwards"]) == 4
    assert trace["response"]["status"] == 200
    trace = compiled().run(call(backend=[answer(429, Retry_After="1")] * 11))
    assert len(trace["forwards"]) == 11  # one attempt and ten retries
    assert trace["response"]["status"] == 429
    (event,) = events(trace)
    assert event["data"]["status"] == 429 and event["data"]["totalTokens"] == 0


def test_a_failing_function_falls_back_to_the_openai_pool_with_an_estimated_event(compiled) -> None:
    content = "x" * 400
    scenario = call(
        streamed=True,
        body={"messages": [{"role": "user", "content": content}]},
        backend=[answer(500, region=None), answer(200, region="East US", body="data: [DONE]\n\n")],
    )
    trace = compiled().run(scenario)
    first, second = trace["forwards"]
    assert first["backendId"] == FUNCTIONS_POOL_ID
    assert second["backendId"] == OPENAI_POOL_ID and second["bufferResponse"] is False
    headers = {name.lower(): value for name, value in second["headers"].items()}
    assert not any(name.startswith("x-pros-") for name in headers)  # function headers never reach OpenAI
    assert headers["authorization"][0].startswith("Bearer managed-identity-token-for")
    (event,) = events(trace)
    data = event["data"]
    assert data["accuracy"] == "estimated" and data["streamed"] is True
    assert data["promptTokens"] >= len(content) // 4 and data["completionTokens"] == 0
    assert trace["response"]["bodyReads"] == 0
    assert len(events(trace)) + function_events(trace) == 1


def test_a_function_that_answers_with_an_error_is_reported_by_the_gateway(compiled) -> None:
    # A function answer that is not 2xx (here a client error) produces the gateway's event.
    trace = compiled().run(call(streamed=True, backend=[answer(400, region=None, body='{"error": {}}')]))
    (event,) = events(trace)
    assert event["data"]["status"] == 400 and event["data"]["totalTokens"] == 0
    assert function_events(trace) == 0


def test_without_a_streaming_function_a_streamed_call_is_estimated(compiled) -> None:
    trace = compiled(PolicyOptions(streaming_function=False)).run(call(streamed=True))
    (forward,) = trace["forwards"]
    assert forward["backendId"] == OPENAI_POOL_ID and forward["bufferResponse"] is False
    (event,) = events(trace)
    assert event["data"]["accuracy"] == "estimated"
    assert trace["response"]["bodyReads"] == 0


def test_v1_surface_names_the_deployment_in_the_body(compiled) -> None:
    scenario = call(
        v1=True,
        operation="v1-chat-completions",
        body={"model": "chat-eu", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert scenario["path"] == "/openai/v1/chat/completions"
    trace = compiled().run(scenario)
    assert trace["forwards"][0]["query"] == {}
    (event,) = events(trace)
    assert event["data"]["deployment"] == "chat-eu"
    assert event["data"]["operation"] == "v1-chat-completions"


def test_responses_api_usage_is_read_too(compiled) -> None:
    usage = {
        "input_tokens": 90,
        "output_tokens": 40,
        "total_tokens": 130,
        "input_tokens_details": {"cached_tokens": 64},
        "output_tokens_details": {"reasoning_tokens": 32},
    }
    body = json.dumps({"id": "resp_1", "object": "response", "model": "gpt-5.1", "usage": usage})
    trace = compiled().run(
        call(
            v1=True,
            operation="v1-responses",
            body={"model": "chat", "input": "hi"},
            backend=[answer(body=body)],
        )
    )
    (event,) = events(trace)
    data = event["data"]
    assert (data["promptTokens"], data["completionTokens"], data["totalTokens"]) == (90, 40, 130)
    assert (data["cachedTokens"], data["reasoningTokens"]) == (64, 32)


def test_embeddings_have_no_completion_tokens(compiled) -> None:
    body = json.dumps(
        {
            "object": "list",
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 8, "total_tokens": 8},
        }
    )
    trace = compiled().run(call(operation="embeddings", body={"input": "hello"}, backend=[answer(body=body)]))
    (event,) = events(trace)
    assert (event["data"]["promptTokens"], event["data"]["completionTokens"]) == (8, 0)
    assert event["data"]["model"] == "text-embedding-3-small"


def test_a_backend_error_is_one_event_with_no_tokens(compiled) -> None:
    error = json.dumps({"error": {"code": "content_filter", "message": "filtered"}})
    trace = compiled().run(call(backend=[answer(400, body=error)]))
    (event,) = events(trace)
    assert event["data"]["status"] == 400 and event["data"]["totalTokens"] == 0
    assert trace["response"]["body"] == error


def test_listing_models_is_not_a_model_call(compiled) -> None:
    scenario = call(v1=True, operation="v1-models", backend=[answer(body='{"object": "list", "data": []}')])
    scenario["body"] = None
    scenario["method"] = "GET"
    trace = compiled().run(scenario)
    assert trace["forwards"][0]["backendId"] == OPENAI_POOL_ID
    assert trace["sends"] == []


def test_missing_billing_code_is_refused_when_required(compiled) -> None:
    policy = compiled(PolicyOptions(require_billing_code=True))
    trace = policy.run(call(query={"companyName": "Contoso"}))
    assert trace["returned"] is True and trace["forwards"] == [] and trace["sends"] == []
    assert trace["response"]["status"] == 400
    assert json.loads(trace["response"]["body"])["error"]["code"] == "BillingCodeRequired"
    assert len(events(policy.run(call(query={"billingCode": "CC-7"})))) == 1
    # Without the option, a call with no billing code goes through with a null billing code.
    (event,) = events(compiled().run(call(query={})))
    assert event["data"]["billingCode"] is None


@pytest.mark.parametrize(
    "query, problem",
    [
        ({"billingCode": "C" * 257}, "billingCode is longer"),
        ({"username": "jane\r\nx-pros-api: evil"}, "control"),
    ],
)
def test_dimensions_the_ledger_would_reject_are_refused(
    compiled, query: dict[str, str], problem: str
) -> None:
    trace = compiled().run(call(query=query))
    assert trace["response"]["status"] == 400 and trace["forwards"] == []
    assert problem in json.loads(trace["response"]["body"])["error"]["message"]


def test_token_limit_is_keyed_by_billing_code_or_subscription(compiled) -> None:
    policy = compiled(PolicyOptions(tokens_per_minute=20000, monthly_token_quota=5_000_000))
    (limit,) = policy.run(call(query={"billingCode": "CC-1001"}))["tokenLimits"]
    assert limit["counter-key"] == "billing:CC-1001"
    assert (limit["tokens-per-minute"], limit["token-quota"], limit["token-quota-period"]) == (
        "20000",
        "5000000",
        "Monthly",
    )
    (limit,) = policy.run(call(query={}))["tokenLimits"]
    assert limit["counter-key"] == "subscription:caller-subscription"


def test_a_body_that_is_not_json_is_forwarded_as_not_streamed(compiled) -> None:
    scenario = call()
    scenario["body"] = "not json {"
    trace = compiled().run(scenario)
    assert trace["forwards"][0]["backendId"] == OPENAI_POOL_ID
    assert trace["forwards"][0]["body"] == "not json {"
    assert trace["onError"] is False


def test_a_final_503_answer_without_retry_after_gets_one(compiled) -> None:
    trace = compiled().run(call(backend=[answer(503, region=None)] * 11))
    assert trace["response"]["status"] == 503
    assert trace["response"]["headers"]["Retry-After"] == ["10"]
    trace = compiled().run(call(backend=[answer(429, Retry_After="3")] * 11))
    assert trace["response"]["headers"]["Retry-After"] == ["3"]  # the backend's own value is kept
