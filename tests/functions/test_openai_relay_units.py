"""The streaming function's parts on their own: SSE cutting, usage stripping, counts, headers,
settings, token caching."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import pytest

from tests.functions.conftest import load_function_app
from tests.functions.fakes import CHAT_USAGE, FakeOpenAI

load_function_app()  # puts the app folder on sys.path, as the Functions worker does

from openai_relay import routes  # noqa: E402
from openai_relay.identity import TokenCache, TokenError  # noqa: E402
from openai_relay.settings import Settings, SettingsError  # noqa: E402
from openai_relay.sse import SseSplitter, StreamWatcher  # noqa: E402
from openai_relay.usage import BadGatewayHeaders, CallContext, build_event, token_counts  # noqa: E402

from tests.functions.calls import validate  # noqa: E402


# ---- server-sent events -------------------------------------------------------------------------
def test_events_are_cut_at_blank_lines_however_the_bytes_arrive():
    stream = b"".join(FakeOpenAI().stream_events("chat", include_usage=True))
    whole = SseSplitter().feed(stream)
    assert len(whole) == 11 and whole[-1] == b"data: [DONE]\n\n" and b"".join(whole) == stream
    splitter = SseSplitter()
    trickled = [event for i in range(len(stream)) for event in splitter.feed(stream[i : i + 1])]
    assert trickled == whole and splitter.rest() == b""


def test_crlf_events_and_an_unfinished_tail():
    splitter = SseSplitter()
    assert splitter.feed(b"event: a\r\ndata: 1\r\n\r\ndata: 2\n\ndata: 3") == [
        b"event: a\r\ndata: 1\r\n\r\n",
        b"data: 2\n\n",
    ]
    assert splitter.rest() == b"data: 3"


def _watch(events: list[bytes], *, strip: bool, kind: str = "chat") -> tuple[StreamWatcher, list[bytes]]:
    watcher = StreamWatcher(kind, strip_usage=strip)
    out = [o for e in events if (o := watcher.process(e)) is not None]
    return watcher, out


def test_stripping_gives_the_caller_exactly_the_stream_without_include_usage():
    fake = FakeOpenAI()
    watcher, out = _watch(fake.stream_events("chat", include_usage=True), strip=True)
    assert out == fake.stream_events("chat", include_usage=False)
    assert watcher.usage == CHAT_USAGE and watcher.model == fake.model and watcher.done


def test_without_stripping_every_byte_passes_unchanged():
    fake = FakeOpenAI()
    events = fake.stream_events("chat", include_usage=True)
    watcher, out = _watch(events, strip=False)
    assert out == events and watcher.usage == CHAT_USAGE


def test_a_usage_report_on_a_chunk_with_choices_keeps_the_choices():
    chunk = {"choices": [{"index": 0, "delta": {"content": "x"}}], "model": "m", "usage": CHAT_USAGE}
    raw = b"id: 7\ndata: " + json.dumps(chunk).encode() + b"\n\n"
    watcher, [out] = _watch([raw], strip=True)
    assert out == b'id: 7\ndata: {"choices":[{"index":0,"delta":{"content":"x"}}],"model":"m"}\n\n'
    assert watcher.usage == CHAT_USAGE


def test_a_stream_without_its_final_marker_is_not_done():
    events = FakeOpenAI().stream_events("chat", include_usage=True)[:-2]
    watcher, _ = _watch(events, strip=True)
    assert not watcher.done and watcher.usage is None


def test_responses_events_report_usage_in_the_completed_event():
    fake = FakeOpenAI()
    events = fake.stream_events("responses", include_usage=False)
    watcher, out = _watch(events, strip=False, kind="responses")
    assert out == events and watcher.done
    assert token_counts(watcher.usage) == {
        "promptTokens": 1234,
        "completionTokens": 57,
        "totalTokens": 1291,
        "cachedTokens": 1024,
        "reasoningTokens": 16,
    }


# ---- counts, routes, headers, events --------------------------------------------------------------
def test_token_counts():
    assert token_counts({"prompt_tokens": 8, "total_tokens": 8}) == {
        "promptTokens": 8,
        "completionTokens": 0,
        "totalTokens": 8,
        "cachedTokens": 0,
        "reasoningTokens": 0,
    }
    assert token_counts({"prompt_tokens": 3, "completion_tokens": 4})["totalTokens"] == 7
    for bad in (
        None,
        [],
        {"total_tokens": 5},
        {"prompt_tokens": -1},
        {"prompt_tokens": "5"},
        {"prompt_tokens": True},
        {"prompt_tokens": 10_000_001},
    ):
        assert token_counts(bad) is None, bad


@pytest.mark.parametrize(
    "path, kind, operation, deployment",
    [
        ("deployments/chat/chat/completions", "chat", "chat-completions", "chat"),
        ("deployments/gpt-4.1_mini/completions", "completions", "completions", "gpt-4.1_mini"),
        ("deployments/embed/embeddings", "embeddings", "embeddings", "embed"),
        ("responses", "responses", "responses", None),
        ("v1/chat/completions", "chat", "v1-chat-completions", None),
        ("v1/responses", "responses", "v1-responses", None),
    ],
)
def test_routes(path, kind, operation, deployment):
    assert routes.resolve(path) == routes.Route(kind, operation, deployment)


@pytest.mark.parametrize(
    "path",
    ["deployments/x/images/generations", "deployments/../x/chat/completions", "v1/models", "assistants", ""],
)
def test_routes_refused(path):
    assert routes.resolve(path) is None


def headers(**values: str) -> dict[str, str]:
    return {"x-pros-request-id": "r-1", **{k.replace("_", "-"): v for k, v in values.items()}}


def test_gateway_headers_are_read_as_utf8_and_regions_normalised():
    raw_utf8 = "Zoë Müller".encode().decode("latin-1")  # how a server hands over UTF-8 header bytes
    ctx = CallContext.from_headers(
        headers(
            **{
                "x_pros_username": raw_utf8,
                "x_pros_gateway_region": "West Europe",
                "x_pros_emit_event": "True",
            }
        ),
        default_operation="chat-completions",
    )
    assert ctx.username == "Zoë Müller" and ctx.gateway_region == "westeurope" and ctx.emit_event
    assert ctx.billing_code is None and ctx.api == "openai" and ctx.operation == "chat-completions"


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"x-pros-request-id": ""},
        {"x-pros-request-id": "a b"},
        {"x-pros-request-id": "x" * 129},
        {"x-pros-request-id": "ok", "x-pros-gateway-region": "East-US!"},
    ],
)
def test_gateway_headers_refused(bad):
    with pytest.raises(BadGatewayHeaders):
        CallContext.from_headers(bad, default_operation="x")


def test_an_event_built_from_the_headers_and_counts_follows_the_contract():
    ctx = CallContext.from_headers(
        headers(x_pros_billing_code="CC-1", x_pros_gateway_region="westus"),
        default_operation="chat-completions",
    )
    event = build_event(
        ctx,
        region="eastus",
        model="gpt-4o",
        deployment="chat",
        status=200,
        latency_ms=42,
        streamed=True,
        counts=token_counts(CHAT_USAGE),
    )
    validate(event)
    assert event["data"]["failover"] is True and event["eventTime"].endswith("Z")
    no_gateway = CallContext.from_headers(headers(), default_operation="chat-completions")
    event = build_event(
        no_gateway,
        region="eastus",
        model=None,
        deployment=None,
        status=200,
        latency_ms=1,
        streamed=True,
        counts=token_counts(CHAT_USAGE),
    )
    validate(event)
    assert "gatewayRegion" not in event["data"] and event["data"]["failover"] is False


def test_settings():
    env = {
        "AZURE_OPENAI_ENDPOINT": "https://acct.openai.azure.com",
        "PROS_REGION": "East US 2",
        "PROS_EVENTGRID_ENDPOINT": "https://t.eastus-1.eventgrid.azure.net/api/events",
    }
    settings = Settings.from_env(env)
    assert settings.openai_endpoint == "https://acct.openai.azure.com/" and settings.region == "eastus2"
    assert settings.client_id is None
    assert Settings.from_env({**env, "AZURE_CLIENT_ID": "abc"}).client_id == "abc"
    with pytest.raises(SettingsError, match="PROS_REGION, PROS_EVENTGRID_ENDPOINT"):
        Settings.from_env({"AZURE_OPENAI_ENDPOINT": "https://a"})
    with pytest.raises(SettingsError, match="AZURE_OPENAI_ENDPOINT"):
        Settings.from_env({**env, "AZURE_OPENAI_ENDPOINT": "acct.openai.azure.com"})


# ---- token cache ---------------------------------------------------------------------------------
@dataclass
class Access:
    token: str
    expires_on: int


class CountingCredential:
    def __init__(self, lifetime: float, fail: bool = False):
        self.lifetime, self.fail, self.calls = lifetime, fail, 0

    def get_token(self, *scopes: str, **_: object) -> Access:
        self.calls += 1
        time.sleep(0.01)  # a real fetch takes a while: concurrent callers must share it
        if self.fail:
            raise RuntimeError("identity endpoint down")
        return Access(f"token-{self.calls}-{scopes[0]}", int(time.time() + self.lifetime))


def test_a_fresh_token_is_reused_and_concurrent_callers_share_one_fetch():
    credential = CountingCredential(lifetime=3600)
    cache = TokenCache(credential, "https://cognitiveservices.azure.com/.default")

    async def many() -> list[str]:
        return await asyncio.gather(*(cache.token() for _ in range(20)))

    tokens = asyncio.run(many())
    assert set(tokens) == {"token-1-https://cognitiveservices.azure.com/.default"}
    assert credential.calls == 1 and cache.fetches == 1


def test_a_token_near_its_expiry_is_renewed():
    credential = CountingCredential(lifetime=200)  # inside the 300 s margin
    cache = TokenCache(credential, "s")

    async def twice() -> tuple[str, str]:
        return await cache.token(), await cache.token()

    first, second = asyncio.run(twice())
    assert (first, second, credential.calls) == ("token-1-s", "token-2-s", 2)


def test_a_failed_renewal_keeps_a_still_valid_token_and_no_token_is_an_error_without_secrets():
    credential = CountingCredential(lifetime=200)
    cache = TokenCache(credential, "s")

    async def run() -> str:
        await cache.token()
        credential.fail = True
        return await cache.token()

    assert asyncio.run(run()) == "token-1-s"
    empty = TokenCache(CountingCredential(lifetime=3600, fail=True), "s")
    with pytest.raises(TokenError) as caught:
        asyncio.run(empty.token())
    assert "RuntimeError" in str(caught.value)


def test_stripping_keeps_every_other_byte_of_a_chunk_as_sent():
    watcher = StreamWatcher("chat", strip_usage=True)
    watcher.model = "m"
    escaped = b'data: {"choices":[{"delta":{"content":"caf\\u00e9 \\",\\"usage\\":null}"}}],"usage":null}\n\n'
    assert watcher.process(escaped) == (
        b'data: {"choices":[{"delta":{"content":"caf\\u00e9 \\",\\"usage\\":null}"}}]}\n\n'
    )
    first = b'data: {"usage":null,"choices":[{"delta":{"content":"x"}}],"model":"m"}\r\n\r\n'
    assert watcher.process(first) == b'data: {"choices":[{"delta":{"content":"x"}}],"model":"m"}\r\n\r\n'
    nested = b'data: {"choices":[{"delta":{"content":"x"},"usage":null}],"model":"m"}\n\n'
    assert watcher.process(nested) == nested  # not the chunk's own usage member
