"""Calls answered in one piece, errors, and refusals, through the real handler on loopback."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.functions.calls import FUNCTION_KEY, MESSAGES, azure_client, gateway_headers, v1_client, validate
from tests.functions.fakes import CHAT_USAGE, EMBEDDING_USAGE, Reply

RATE_LIMITED = json.dumps(
    {
        "error": {
            "code": "429",
            "message": "Requests to the ChatCompletions_Create "
            "Operation have exceeded the token rate limit. Retry after 7 seconds.",
        }
    }
).encode()
FILTERED = json.dumps(
    {
        "error": {
            "message": "The response was filtered",
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {"code": "ResponsibleAIPolicyViolation"},
        }
    }
).encode()


def test_a_whole_chat_completion_passes_through_unchanged_without_an_event(fn):
    client = azure_client(fn.function.url, gateway_headers("req-whole"))
    raw = client.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
    [sent] = fn.openai.sent
    assert raw.http_response.status_code == 200
    assert raw.http_response.content == sent.body
    for name in ("x-ms-region", "apim-request-id", "x-ratelimit-remaining-tokens"):
        assert raw.headers[name] == sent.headers[name]
    completion = raw.parse()
    assert completion.choices[0].message.content == fn.openai.text
    assert completion.usage.total_tokens == CHAT_USAGE["total_tokens"]
    fn.settle()
    assert fn.eventgrid.events == []  # the gateway publishes non-streamed calls' events itself


def test_a_whole_call_gets_its_event_from_the_function_when_the_gateway_asks(fn):
    headers = gateway_headers("req-emit", **{"x-pros-emit-event": "true"})
    azure_client(fn.function.url, headers).chat.completions.create(model="chat", messages=MESSAGES)
    fn.settle()
    [event] = fn.eventgrid.events
    validate(event)
    data = event["data"]
    assert data["streamed"] is False and data["accuracy"] == "exact" and data["source"] == "function"
    assert (data["promptTokens"], data["completionTokens"], data["totalTokens"]) == (1234, 57, 1291)
    assert data["model"] == "gpt-4o-2024-11-20" and data["deployment"] == "chat"


def test_embeddings_pass_through_and_count_no_completion_tokens(fn):
    headers = gateway_headers("req-embed", **{"x-pros-emit-event": "true"})
    result = azure_client(fn.function.url, headers).embeddings.create(model="embed", input="some text")
    assert result.data[0].embedding == [0.125, -0.5, 0.25]
    assert result.usage.prompt_tokens == EMBEDDING_USAGE["prompt_tokens"]
    fn.settle()
    [event] = fn.eventgrid.events
    validate(event)
    data = event["data"]
    assert (data["operation"], data["promptTokens"], data["completionTokens"], data["totalTokens"]) == (
        "embeddings",
        8,
        0,
        8,
    )
    assert data["model"] == "text-embedding-3-small" and data["deployment"] == "embed"


def test_whole_completions_and_v1_calls_pass_through(fn):
    completion = azure_client(fn.function.url, gateway_headers("req-cmpl")).completions.create(
        model="instruct", prompt="say hello"
    )
    assert completion.choices[0].text == fn.openai.text
    v1 = v1_client(fn.function.url, gateway_headers("req-v1-embed"))
    assert v1.embeddings.create(model="text-embedding-3-small", input="x").usage.total_tokens == 8
    assert [r.path for r in fn.openai.requests] == ["deployments/instruct/completions", "v1/embeddings"]
    assert fn.openai.requests[0].query == {"api-version": "2024-10-21"}


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_a_429_reaches_the_caller_with_its_retry_after(fn, stream):
    fn.openai.replies.append(Reply(429, RATE_LIMITED, {"retry-after": "7", "retry-after-ms": "7000"}))
    client = azure_client(fn.function.url, gateway_headers("req-429"))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="chat", messages=MESSAGES, stream=stream)
    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7" and response.headers["retry-after-ms"] == "7000"
    assert response.headers["x-ms-region"] == "East US"
    assert response.content == RATE_LIMITED
    fn.settle()
    assert fn.eventgrid.events == []  # the gateway may retry this call elsewhere under the same id


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_a_backend_400_reaches_the_caller_unchanged(fn, stream):
    fn.openai.replies.append(Reply(400, FILTERED))
    client = azure_client(fn.function.url, gateway_headers("req-400"))
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="chat", messages=MESSAGES, stream=stream)
    assert caught.value.response.status_code == 400
    assert caught.value.response.content == FILTERED
    assert caught.value.code == "content_filter"
    fn.settle()
    assert fn.eventgrid.events == []


def test_a_backend_500_reaches_the_caller_unchanged(fn):
    body = b'{"error":{"code":"InternalServerError","message":"The server had an error"}}'
    fn.openai.replies.append(Reply(500, body))
    with pytest.raises(openai.InternalServerError) as caught:
        azure_client(fn.function.url, gateway_headers("req-500")).chat.completions.create(
            model="chat", messages=MESSAGES, stream=True
        )
    assert caught.value.response.content == body


def test_only_what_the_backend_needs_is_forwarded(fn):
    """No function key, no caller key, no gateway headers, no ?code= reach Azure OpenAI."""
    headers = gateway_headers("req-forward", **{"x-ms-client-request-id": "caller-correlation"})
    response = httpx.post(
        fn.function.url + "/openai/deployments/chat/chat/completions",
        params={"api-version": "2024-10-21", "code": FUNCTION_KEY},
        headers={**headers, "api-key": "caller-subscription-key", "cookie": "a=b"},
        json={"messages": MESSAGES},
    )
    assert response.status_code == 200
    [sent] = fn.openai.requests
    assert sent.query == {"api-version": "2024-10-21"}
    assert sent.headers["x-ms-client-request-id"] == "caller-correlation"
    leaked = [
        h for h in sent.headers if h.startswith("x-pros-") or h in ("x-functions-key", "api-key", "cookie")
    ]
    assert leaked == []
    assert FUNCTION_KEY not in json.dumps(sent.headers)


def test_a_call_without_the_gateways_request_id_is_refused(fn):
    headers = gateway_headers("x")
    del headers["x-pros-request-id"]
    with pytest.raises(openai.BadRequestError) as caught:
        azure_client(fn.function.url, headers).chat.completions.create(
            model="chat", messages=MESSAGES, stream=True
        )
    assert "x-pros-request-id" in caught.value.message
    assert fn.openai.requests == []


def test_a_malformed_request_id_is_refused(fn):
    with pytest.raises(openai.BadRequestError):
        azure_client(fn.function.url, gateway_headers("bad id/with spaces")).chat.completions.create(
            model="chat", messages=MESSAGES
        )
    assert fn.openai.requests == []


def test_an_operation_the_function_cannot_count_is_refused(fn):
    response = httpx.post(
        fn.function.url + "/openai/deployments/dalle/images/generations",
        params={"api-version": "2024-10-21"},
        headers=gateway_headers("req-img"),
        json={"prompt": "x"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "OperationNotSupported"
    assert fn.openai.requests == []


def test_missing_app_settings_are_named(fn, monkeypatch):
    monkeypatch.delenv("PROS_EVENTGRID_ENDPOINT")
    fn.close_proxy()
    with pytest.raises(openai.InternalServerError) as caught:
        azure_client(fn.function.url, gateway_headers("req-unset")).chat.completions.create(
            model="chat", messages=MESSAGES, stream=True
        )
    assert "PROS_EVENTGRID_ENDPOINT" in caught.value.message
    assert fn.openai.requests == []


def test_an_unreachable_backend_is_a_502(fn, monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"http://127.0.0.1:{port}/")
    fn.close_proxy()
    with pytest.raises(openai.APIStatusError) as caught:
        azure_client(fn.function.url, gateway_headers("req-502")).chat.completions.create(
            model="chat", messages=MESSAGES, stream=True
        )
    assert caught.value.status_code == 502


def test_a_streamed_request_answered_in_one_piece_still_gets_its_one_event(fn):
    """The gateway routes on the request's "stream": true and leaves such a call's event to the
    function, even when the backend answers with one JSON body (embeddings ignore the flag)."""
    response = httpx.post(
        fn.function.url + "/openai/deployments/embed/embeddings",
        params={"api-version": "2024-10-21"},
        headers=gateway_headers("req-embed-streamed"),
        json={"input": "x", "stream": True},
    )
    assert response.status_code == 200 and response.json()["usage"] == EMBEDDING_USAGE
    assert "stream_options" not in fn.openai.requests[0].body
    fn.settle()
    [event] = fn.eventgrid.events
    validate(event)
    assert event["data"]["streamed"] is True and event["data"]["totalTokens"] == 8
