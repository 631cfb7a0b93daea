"""Streamed calls through the real function handler on loopback, by the official openai library."""

from __future__ import annotations

import json
import logging
import threading

import httpx
import openai
import pytest

from tests.functions.calls import (
    MESSAGES,
    PROMPT_TEXT,
    azure_client,
    gateway_headers,
    v1_client,
    validate,
)
from tests.functions.fakes import CHAT_USAGE, EVENTGRID_AUDIENCE, OPENAI_AUDIENCE, audience
from tests.functions.loopback import wait_until

EXPECTED_COUNTS = {
    "promptTokens": 1234,
    "completionTokens": 57,
    "totalTokens": 1291,
    "cachedTokens": 1024,
    "reasoningTokens": 16,
}


def one_event(fn) -> dict:
    fn.settle()
    [event] = fn.eventgrid.events
    validate(event)
    return event


def test_first_chunk_reaches_the_caller_before_the_backend_has_finished(fn):
    """The fake holds its stream after the first event until the caller has that event: a proxy
    that buffered would deliver nothing before the fake finished (which it only does after its
    last chunk)."""
    fn.openai.gates[0] = threading.Event()
    client = azure_client(fn.function.url, gateway_headers("req-first-chunk"))
    stream = iter(client.chat.completions.create(model="chat", messages=MESSAGES, stream=True))
    first = next(stream)
    assert not fn.openai.finished.is_set()
    assert first.choices == [] and first.prompt_filter_results  # Azure's first chunk
    fn.openai.gates[0].set()
    rest = list(stream)
    assert fn.openai.finished.is_set()
    assert "".join(c.choices[0].delta.content or "" for c in rest if c.choices) == fn.openai.text
    assert rest[-1].choices[0].finish_reason == "stop"


def test_streamed_call_publishes_one_event_with_the_backends_exact_counts(fn):
    headers = gateway_headers("req-exact-1", **{"x-pros-gateway-region": "West US", "x-pros-geography": "us"})
    client = azure_client(fn.function.url, headers)
    chunks = list(client.chat.completions.create(model="chat", messages=MESSAGES, stream=True))
    assert all(c.usage is None for c in chunks)

    event = one_event(fn)
    assert event["id"] == "req-exact-1"
    assert event["subject"] == "/regions/eastus/apis/openai/operations/chat-completions"
    data = event["data"]
    assert {k: data[k] for k in EXPECTED_COUNTS} == EXPECTED_COUNTS
    assert data | {"latencyMs": 0} == {
        "requestId": "req-exact-1",
        "source": "function",
        "billingCode": "CC-1001",
        "companyName": "Contoso",
        "username": "jane@contoso.com",
        "region": "eastus",
        "gatewayRegion": "westus",
        "geography": "us",
        "model": "gpt-4o-2024-11-20",
        "deployment": "chat",
        "api": "openai",
        "operation": "chat-completions",
        "status": 200,
        "latencyMs": 0,
        "streamed": True,
        "failover": True,
        "accuracy": "exact",
        **EXPECTED_COUNTS,
    }
    assert isinstance(data["latencyMs"], int)
    # The function asked the backend for the usage chunk, with the app's managed identity.
    [sent] = fn.openai.requests
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["messages"] == MESSAGES
    assert audience(sent.headers["authorization"]) == OPENAI_AUDIENCE
    assert fn.eventgrid.audiences == [EVENTGRID_AUDIENCE]


def test_a_caller_who_did_not_ask_for_usage_gets_no_usage_chunk_and_no_usage_fields(fn):
    client = azure_client(fn.function.url, gateway_headers("req-no-usage"))
    with client.chat.completions.with_streaming_response.create(
        model="chat", messages=MESSAGES, stream=True
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[len("data: ") :]) for line in lines[:-1]]
    assert all("usage" not in chunk for chunk in chunks)
    # Everything else came through: the prompt filter chunk, the role, each word, the stop.
    expected = fn.openai.stream_events("chat", include_usage=False)
    assert [line.encode() + b"\n\n" for line in lines] == expected
    assert one_event(fn)["data"]["totalTokens"] == CHAT_USAGE["total_tokens"]


def test_a_caller_who_asked_for_usage_gets_the_usage_chunk(fn):
    client = azure_client(
        fn.function.url, gateway_headers("req-with-usage", **{"x-pros-gateway-region": "eastus"})
    )
    chunks = list(
        client.chat.completions.create(
            model="chat", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.model_dump(exclude_none=True) == CHAT_USAGE
    assert all(c.usage is None for c in chunks[:-1])
    data = one_event(fn)["data"]
    assert data["promptTokens"] == last.usage.prompt_tokens and data["failover"] is False


def test_v1_surface_streamed_chat(fn):
    client = v1_client(fn.function.url, gateway_headers("req-v1-chat"))
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == fn.openai.text
    [sent] = fn.openai.requests
    assert sent.path == "v1/chat/completions" and sent.body["stream_options"] == {"include_usage": True}
    data = one_event(fn)["data"]
    assert data["deployment"] == "gpt-4o-mini" and data["operation"] == "v1-chat-completions"
    assert data["model"] == "gpt-4o-2024-11-20" and data["totalTokens"] == 1291


def test_streamed_legacy_completions(fn):
    client = azure_client(fn.function.url, gateway_headers("req-completions-stream"))
    chunks = list(client.completions.create(model="instruct", prompt="PROMPT-TEXT-never-logged", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == fn.openai.text
    assert all(c.usage is None for c in chunks)
    data = one_event(fn)["data"]
    assert data["operation"] == "completions" and data["deployment"] == "instruct"
    assert data["promptTokens"] == 1234 and data["completionTokens"] == 57


def test_v1_streamed_responses_counted_from_the_completed_event(fn):
    client = v1_client(fn.function.url, gateway_headers("req-responses"))
    events = list(client.responses.create(model="gpt-4o-mini", input="PROMPT-TEXT-never-logged", stream=True))
    assert events[-1].type == "response.completed"
    assert events[-1].response.usage.input_tokens == 1234
    [sent] = fn.openai.requests
    assert "stream_options" not in sent.body  # the Responses API always reports usage
    data = one_event(fn)["data"]
    assert data["operation"] == "v1-responses" and data["deployment"] == "gpt-4o-mini"
    assert {k: data[k] for k in EXPECTED_COUNTS} == EXPECTED_COUNTS


def test_the_function_overrides_api_and_operation_names_the_gateway_sends(fn):
    headers = gateway_headers(
        "req-names", **{"x-pros-api": "openai-v2", "x-pros-operation": "ChatCompletions_Create"}
    )
    list(
        azure_client(fn.function.url, headers).chat.completions.create(
            model="chat", messages=MESSAGES, stream=True
        )
    )
    event = one_event(fn)
    assert event["subject"] == "/regions/eastus/apis/openai-v2/operations/ChatCompletions_Create"


def test_a_stream_that_breaks_before_its_usage_publishes_nothing_and_breaks_for_the_caller(fn, caplog):
    caplog.set_level(logging.INFO)
    fn.openai.break_after = 4
    client = azure_client(fn.function.url, gateway_headers("req-broken"))
    stream = client.chat.completions.create(model="chat", messages=MESSAGES, stream=True)
    with pytest.raises((httpx.HTTPError, openai.APIError)):
        list(stream)
    fn.settle()
    assert fn.eventgrid.events == []
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "pros.openai_backend" and "req-broken" in r.getMessage()
    ]
    assert any("without a usage report" in w and "broke off" in w for w in warnings)
    assert not any(PROMPT_TEXT in r.getMessage() for r in caplog.records)


def test_tokens_are_fetched_once_per_audience_not_per_call(fn):
    client = azure_client(fn.function.url, gateway_headers("req-token-a"))
    list(client.chat.completions.create(model="chat", messages=MESSAGES, stream=True))
    fn.settle()
    client = azure_client(fn.function.url, gateway_headers("req-token-b"))
    list(client.chat.completions.create(model="chat", messages=MESSAGES, stream=True))
    fn.settle()
    assert [e["id"] for e in fn.eventgrid.events] == ["req-token-a", "req-token-b"]
    proxy = fn.relay().current()
    assert proxy.openai_tokens.fetches == 1 and proxy.publisher.tokens.fetches == 1
    tokens = {audience(r.headers["authorization"]) for r in fn.openai.requests}
    assert tokens == {OPENAI_AUDIENCE}


def test_a_failed_publish_is_retried(fn):
    proxy = fn.relay().current()
    proxy.publisher.retry_delays = (0.01, 0.01, 0.01)
    fn.eventgrid.fail_next.extend([503, 500])
    list(
        azure_client(fn.function.url, gateway_headers("req-retried")).chat.completions.create(
            model="chat", messages=MESSAGES, stream=True
        )
    )
    event = one_event(fn)
    assert event["id"] == "req-retried" and len(fn.eventgrid.audiences) == 3
    assert proxy.publisher.published == 1 and proxy.publisher.failed == 0


def test_nothing_secret_and_no_prompt_or_completion_text_is_logged(fn, caplog):
    caplog.set_level(logging.DEBUG)
    client = azure_client(fn.function.url, gateway_headers("req-logs"))
    list(client.chat.completions.create(model="chat", messages=MESSAGES, stream=True))
    client.chat.completions.create(model="chat", messages=MESSAGES)
    fn.settle()
    fn.relay().current().publisher.retry_delays = (0.01,)
    fn.eventgrid.fail_next.extend([503, 503])  # an event that cannot be delivered is logged whole
    list(client.chat.completions.create(model="chat", messages=MESSAGES, stream=True))
    fn.settle()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "not published" in logged and "req-logs" in logged
    forbidden = [
        PROMPT_TEXT,
        fn.openai.text,
        "function-key-held-by-apim",
        "caller-subscription-key",
        "fake-identity-header-secret",
    ]
    forbidden += [token for _, token in fn.identity.issued]
    assert fn.identity.issued
    for secret in forbidden:
        assert secret not in logged


def test_a_caller_who_goes_away_stops_the_backend_stream_and_gets_no_event(fn, caplog):
    """A chat's stop button: the caller hangs up after the first chunk, while the backend (held at
    a gate) is still generating. The function hangs up on the backend too (as the caller would
    have stopped it without the function) and publishes nothing, having no usage report."""
    caplog.set_level(logging.INFO)
    fn.openai.gates[0] = threading.Event()
    client = azure_client(fn.function.url, gateway_headers("req-stop"))
    stream = client.chat.completions.create(model="chat", messages=MESSAGES, stream=True)
    next(iter(stream))
    stream.close()
    wait_until(fn.openai.aborted.is_set, what="the function to hang up on the backend")
    assert not fn.openai.finished.is_set()
    fn.settle()
    assert fn.eventgrid.events == []
    logged = [r.getMessage() for r in caplog.records if r.name == "pros.openai_backend"]
    assert any("req-stop" in m and "the caller went away" in m for m in logged)
