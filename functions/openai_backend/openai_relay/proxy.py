"""The proxy: one Azure OpenAI call from the gateway to this region's account, and its usage event.

Streamed calls (``"stream": true``) are forwarded with ``stream_options.include_usage`` set, relayed
event by event as the backend sends them, and counted from the backend's usage chunk; the event
is published in the background once the stream has ended. Other calls pass through whole (status,
headers, body); their event is API Management's job unless it asks the function for it
(``x-pros-emit-event: true``). Only successful calls that report usage produce an event here: an
error carries no usage, and a 429 or 5xx is one attempt of a call the gateway may retry on
another backend under the same request id, whose successful attempt must be the one recorded.

Nothing from the prompt, the completion, a key or a token is ever logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import httpx
from fastapi import Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from . import routes
from .identity import EVENTGRID_SCOPE, OPENAI_SCOPE, Credential, TokenCache, TokenError, default_credential
from .publisher import EventGridPublisher
from .settings import Settings
from .sse import SseSplitter, StreamWatcher
from .usage import BadGatewayHeaders, CallContext, build_event, token_counts

log = logging.getLogger("pros.openai_backend")

# Request headers passed on to the backend; everything else (the function key, the caller's
# api-key or Authorization, cookies, the gateway's x-pros-* headers) stays here.
FORWARD_REQUEST_HEADERS = ("content-type", "accept", "x-ms-client-request-id")
# Response headers not passed back: hop-by-hop ones, and those the server sets for the body it
# actually sends (the body is decoded, and a streamed body may be shorter than the backend's).
DROP_RESPONSE_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
        "date",
        "server",
    }
)
# Query parameters never forwarded: the function key, when a caller sends it as ?code=.
DROP_QUERY = frozenset({"code"})
TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=30.0)


def error(status: int, code: str, message: str) -> JSONResponse:
    """An error of the function's own, in Azure OpenAI's error shape (the openai library reads it)."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def response_headers(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.multi_items():
        if name.lower() not in DROP_RESPONSE_HEADERS:
            out[name] = value if name not in out else f"{out[name]}, {value}"
    return out


def _path_below_openai(url_path: str) -> str:
    """The route's ``{*path}`` taken from the URL, should the worker not have synced it."""
    return url_path.partition("/openai/")[2] if url_path.startswith("/openai/") else ""


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


class Proxy:
    """Everything one app instance shares across calls: settings, HTTP client, token caches and the
    event publisher. Built once per process (``openai_relay.current``)."""

    def __init__(self, settings: Settings, credential: Credential | None = None):
        self.settings = settings
        credential = credential or default_credential(settings.client_id)
        self.openai_tokens = TokenCache(credential, OPENAI_SCOPE)
        self.publisher = EventGridPublisher(
            settings.eventgrid_endpoint, TokenCache(credential, EVENTGRID_SCOPE), self.client
        )
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=TIMEOUT, limits=httpx.Limits(max_connections=500, max_keepalive_connections=100)
            )
        return self._client

    async def aclose(self) -> None:
        await self.publisher.wait_idle()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # ---- one call -------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        started = time.monotonic()
        path = request.path_params.get("path") or _path_below_openai(request.url.path)
        route = routes.resolve(path)
        if route is None:
            return error(
                404,
                "OperationNotSupported",
                f"the pros streaming function does not serve /openai/{path}: chat completions, "
                "completions, embeddings and responses only",
            )
        try:
            ctx = CallContext.from_headers(request.headers, default_operation=route.operation)
        except BadGatewayHeaders as exc:
            return error(400, "MissingGatewayHeaders", str(exc))

        body = await request.body()
        parsed = _json(body)
        streamed = isinstance(parsed, dict) and parsed.get("stream") is True
        caller_wants_usage = True
        if streamed and route.kind in routes.USAGE_ON_REQUEST:
            options = parsed.get("stream_options")
            options = dict(options) if isinstance(options, dict) else {}
            caller_wants_usage = options.get("include_usage") is True
            parsed["stream_options"] = {**options, "include_usage": True}
            body = json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        deployment = route.deployment
        if deployment is None and isinstance(parsed, dict) and isinstance(parsed.get("model"), str):
            deployment = parsed["model"]

        try:
            token = await self.openai_tokens.token()
        except TokenError as exc:
            log.error("request %s: %s", ctx.request_id, exc)
            return error(
                500,
                "NoManagedIdentityToken",
                "the function could not get a token for Azure OpenAI from its managed identity",
            )
        headers = {name: request.headers[name] for name in FORWARD_REQUEST_HEADERS if name in request.headers}
        headers |= {"authorization": f"Bearer {token}", "accept-encoding": "identity"}
        headers.setdefault("x-ms-client-request-id", ctx.request_id)
        params = [(k, v) for k, v in request.query_params.multi_items() if k.lower() not in DROP_QUERY]
        upstream = self.client().build_request(
            "POST",
            self.settings.openai_endpoint + "openai/" + path.strip("/"),
            params=params,
            content=body,
            headers=headers,
        )
        try:
            backend = await self.client().send(upstream, stream=True)
        except httpx.HTTPError as exc:
            log.warning("request %s: backend unreachable (%s)", ctx.request_id, type(exc).__name__)
            return error(
                502,
                "BackendUnreachable",
                f"the region's Azure OpenAI account did not answer ({type(exc).__name__})",
            )

        call = _Call(self, ctx, deployment, streamed, started)
        content_type = backend.headers.get("content-type", "")
        if streamed and backend.status_code == 200 and content_type.startswith("text/event-stream"):
            watcher = StreamWatcher(route.kind, strip_usage=not caller_wants_usage)
            return _RelayResponse(
                call.relay(backend, watcher),
                status_code=200,
                headers=response_headers(backend.headers),
            )
        try:
            content = await backend.aread()
        except httpx.HTTPError as exc:
            log.warning("request %s: backend answer broke off (%s)", ctx.request_id, type(exc).__name__)
            return error(502, "BackendBrokeOff", "the region's Azure OpenAI account broke off its answer")
        finally:
            await backend.aclose()
        call.finish_whole(backend.status_code, content)
        return Response(content, status_code=backend.status_code, headers=response_headers(backend.headers))


class _RelayResponse(StreamingResponse):
    """Closes the relay however the response ends. Under ASGI spec 2.3 servers (uvicorn) Starlette
    cancels a stream whose caller went away; under 2.4 a send to that caller fails and the relay
    would stay open until collected: this ends the backend stream at once either way."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()  # type: ignore[attr-defined]


class _Call:
    """One call's bookkeeping between the backend's answer and its usage event."""

    def __init__(
        self,
        proxy: Proxy,
        ctx: CallContext,
        deployment: str | None,
        streamed: bool,
        started: float,
    ):
        self.proxy, self.ctx = proxy, ctx
        self.deployment, self.streamed, self.started = deployment, streamed, started

    def _publish(self, status: int, model: str | None, counts: Mapping[str, int]) -> None:
        latency_ms = int((time.monotonic() - self.started) * 1000)
        event = build_event(
            self.ctx,
            region=self.proxy.settings.region,
            model=model,
            deployment=self.deployment,
            status=status,
            latency_ms=latency_ms,
            streamed=self.streamed,
            counts=counts,
        )
        self.proxy.publisher.publish(event)

    def finish_whole(self, status: int, content: bytes) -> None:
        """A call answered in one piece: its event, when the function is the one to send it."""
        log.info(
            "request %s: %s %s status %d",
            self.ctx.request_id,
            self.ctx.operation,
            "streamed" if self.streamed else "whole",
            status,
        )
        if not (self.streamed or self.ctx.emit_event) or not 200 <= status < 300:
            return
        answer = _json(content)
        counts = token_counts(answer.get("usage")) if isinstance(answer, dict) else None
        if counts is None:
            log.warning(
                "request %s: status %d without a readable usage report; no usage event",
                self.ctx.request_id,
                status,
            )
            return
        model = answer.get("model") if isinstance(answer.get("model"), str) else None
        self._publish(status, model, counts)

    async def relay(self, backend: httpx.Response, watcher: StreamWatcher) -> AsyncIterator[bytes]:
        """The backend's events as they complete; then, in the background, the usage event.

        A caller that goes away ends the backend stream too: Starlette cancels the relay (or
        closes it, see ``_RelayResponse``) and closing the backend connection stops the
        generation, as it would have stopped without the function (a chat's "stop" button saves
        tokens). With no usage report there is no event."""
        splitter = SseSplitter()
        ended = "the caller went away"
        try:
            async for data in backend.aiter_bytes():
                # Every event complete in this read goes on now, in one write.
                ready = [out for raw in splitter.feed(data) if (out := watcher.process(raw)) is not None]
                if ready:
                    yield b"".join(ready)
            tail = splitter.rest()
            if tail:
                yield tail
            ended = "" if watcher.done else "the backend ended the stream without its final event"
        except httpx.HTTPError as exc:
            # The caller's stream breaks off too (as it would have without the function): ending
            # it cleanly would pass a truncated answer off as a complete one.
            ended = f"the backend stream broke off ({type(exc).__name__})"
            raise
        finally:
            self._stream_ended(watcher, ended)
            with anyio.CancelScope(shield=True):  # a cancelled relay must still hang up
                await backend.aclose()

    def _stream_ended(self, watcher: StreamWatcher, problem: str) -> None:
        counts = token_counts(watcher.usage)
        if counts is None:
            # Nothing to count: no estimate is invented (the ledger's exact tokens stay exact).
            log.warning(
                "request %s: streamed %s ended after %d events without a usage report (%s); no usage event",
                self.ctx.request_id,
                self.ctx.operation,
                watcher.events,
                problem or "no usage chunk",
            )
            return
        if problem:
            log.warning(
                "request %s: %s after the usage report; the usage is published", self.ctx.request_id, problem
            )
        log.info(
            "request %s: %s streamed, %d events, %d tokens",
            self.ctx.request_id,
            self.ctx.operation,
            watcher.events,
            counts["totalTokens"],
        )
        self._publish(200, watcher.model, counts)
