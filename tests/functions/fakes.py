"""Loopback fakes of what the streaming function talks to: Azure OpenAI (streaming server-sent events
slowly), an Event Grid topic, and the App Service managed identity endpoint.

Shapes follow Azure's: chat completion chunks as Azure OpenAI streams them (a first
``prompt_filter_results`` chunk with an empty model, ``"usage": null`` on every chunk once
``stream_options.include_usage`` is on, a final ``"choices": []`` chunk carrying ``usage``, then
``data: [DONE]``), documented in https://learn.microsoft.com/azure/ai-foundry/openai/reference
(``stream_options``) and the OpenAI API reference (chat completion chunk object); Responses API
events (``response.created`` ... ``response.completed`` whose ``response.usage`` has input/output
tokens); the App Service identity protocol (``GET IDENTITY_ENDPOINT?api-version=2019-08-01&resource=``
with the ``X-IDENTITY-HEADER`` secret, as azure-identity's ``AppServiceCredential`` sends it); the
Event Grid publish call (``POST {topic endpoint}?api-version=2018-01-01``, a JSON array).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

OPENAI_AUDIENCE = "https://cognitiveservices.azure.com"
EVENTGRID_AUDIENCE = "https://eventgrid.azure.net"
IDENTITY_SECRET = "fake-identity-header-secret"


# ---- tokens ---------------------------------------------------------------------------------
def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def make_token(audience: str, serial: int) -> str:
    """An unsigned JWT naming its audience (enough for the fakes to check who it was meant for)."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'aud': audience, 'n': serial})}.sig{serial}"


def audience(authorization: str | None) -> str | None:
    if not authorization or not authorization.startswith("Bearer "):
        return None
    try:
        payload = authorization[len("Bearer ") :].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["aud"]
    except (IndexError, ValueError, KeyError):
        return None


class FakeIdentity:
    """The App Service managed identity endpoint (``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``)."""

    def __init__(self, lifetime: int = 3600):
        self.lifetime = lifetime
        self.issued: list[tuple[str, str]] = []  # (audience, token)
        self.app = FastAPI()
        self.app.add_api_route("/msi/token", self._token, methods=["GET"])

    async def _token(self, request: Request) -> Response:
        if request.headers.get("x-identity-header") != IDENTITY_SECRET:
            return JSONResponse({"error": "bad identity header"}, status_code=401)
        resource = request.query_params.get("resource", "")
        token = make_token(resource, len(self.issued) + 1)
        self.issued.append((resource, token))
        return JSONResponse(
            {
                "access_token": token,
                "expires_on": str(int(time.time()) + self.lifetime),
                "resource": resource,
                "token_type": "Bearer",
            }
        )

    def fetches(self, audience_: str) -> int:
        return sum(1 for aud, _ in self.issued if aud == audience_)


# ---- Event Grid -------------------------------------------------------------------------------
class FakeEventGrid:
    """A topic endpoint: records published events and the bearer token's audience."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.audiences: list[str | None] = []
        self.fail_next: deque[int] = deque()
        self.app = FastAPI()
        self.app.add_api_route("/api/events", self._publish, methods=["POST"])

    async def _publish(self, request: Request) -> Response:
        aud = audience(request.headers.get("authorization"))
        self.audiences.append(aud)
        if request.query_params.get("api-version") != "2018-01-01":
            return JSONResponse({"error": {"code": "BadRequest", "message": "api-version"}}, status_code=400)
        if aud != EVENTGRID_AUDIENCE:
            return JSONResponse({"error": {"code": "Unauthorized", "message": "audience"}}, status_code=401)
        if self.fail_next:
            return JSONResponse(
                {"error": {"code": "ServiceUnavailable"}}, status_code=self.fail_next.popleft()
            )
        body = json.loads(await request.body())
        assert isinstance(body, list)
        self.events.extend(body)
        return Response(status_code=200)

    def reset(self) -> None:
        self.events.clear()
        self.audiences.clear()
        self.fail_next.clear()


# ---- Azure OpenAI -----------------------------------------------------------------------------
@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    """A scripted answer for the next request."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


CHAT_USAGE = {
    "completion_tokens": 57,
    "completion_tokens_details": {
        "accepted_prediction_tokens": 0,
        "audio_tokens": 0,
        "reasoning_tokens": 16,
        "rejected_prediction_tokens": 0,
    },
    "prompt_tokens": 1234,
    "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 1024},
    "total_tokens": 1291,
}
EMBEDDING_USAGE = {"prompt_tokens": 8, "total_tokens": 8}
_KINDS = (
    ("chat", "chat/completions"),
    ("completions", "completions"),
    ("embeddings", "embeddings"),
    ("responses", "responses"),
)


class FakeOpenAI:
    """Azure OpenAI's data plane for chat completions, completions, embeddings and responses, on
    both the deployments surface and the v1 surface. Streams slowly (``delay`` between events);
    with ``gates`` it holds the stream after chosen events until the test opens them; ``finished``
    is set only once the last event has been sent."""

    def __init__(self) -> None:
        self.app = FastAPI()
        self.app.add_api_route("/openai/{path:path}", self._serve, methods=["POST"])
        self.model = "gpt-4o-2024-11-20"
        self.words = ["Hello", " from", " the", " fake", " backend", "."]
        self.reset()

    def reset(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self.sent: list[Reply] = []  # every answer given in one piece, as sent
        self.delay = 0.005
        # gates[i]: hold the stream after event i until the gate opens
        self.gates: dict[int, threading.Event] = {}
        self.finished = threading.Event()  # set once the last event has been sent
        self.aborted = threading.Event()  # set when the stream ended early (reader gone, break)
        self.break_after: int | None = None
        self.usage = dict(CHAT_USAGE)

    # ---- dispatch ---------------------------------------------------------------------------
    async def _serve(self, path: str, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.requests.append(Recorded(path, dict(request.query_params), dict(request.headers), body))
        headers = {
            "x-ms-region": "East US",
            "apim-request-id": str(uuid.uuid4()),
            "x-ratelimit-remaining-tokens": "149000",
        }
        if audience(request.headers.get("authorization")) != OPENAI_AUDIENCE:
            return JSONResponse(
                {"error": {"code": "PermissionDenied", "message": "no valid bearer token"}},
                status_code=401,
                headers=headers,
            )
        if self.replies:
            reply = self.replies.popleft()
            return self._whole(reply.body, reply.status, {**headers, **reply.headers})
        if path.startswith("deployments/") and "api-version" not in request.query_params:
            return JSONResponse({"error": {"code": "404", "message": "Resource not found"}}, status_code=404)
        kind = next(k for k, suffix in _KINDS if path.endswith(suffix))
        if kind == "embeddings":
            return self._whole(json.dumps(self.embeddings()).encode(), 200, headers)
        if not body.get("stream"):
            return self._whole(json.dumps(self.whole(kind)).encode(), 200, headers)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = self.stream_events(kind, include_usage)
        # Paced: every event up to the last content chunk; then the finish chunk, the usage chunk
        # and [DONE] (or the Responses API's completed event) come together.
        paced = len(events) - (1 if kind == "responses" else 2 + include_usage)
        return StreamingResponse(self._drip(events, paced), headers=headers, media_type="text/event-stream")

    def _whole(self, body: bytes, status: int, headers: dict[str, str]) -> Response:
        self.sent.append(Reply(status, body, headers))
        return Response(body, status_code=status, headers=headers, media_type="application/json")

    async def _drip(self, events: list[bytes], paced: int):
        """Send ``events``, the first ``paced`` of them ``delay`` apart (a model generating), the
        rest (the finish chunk, the usage chunk, ``[DONE]``) at once, as the service sends them.
        Each event is due at a fixed time from the start, so a slow moment does not pile up. A
        reader that hangs up ends the stream (Starlette cancels it): ``aborted``."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        done = False
        try:
            for i, event in enumerate(events):
                if self.break_after is not None and i == self.break_after:
                    raise RuntimeError("fake backend breaks off the stream")
                yield event
                if i in self.gates:
                    await asyncio.to_thread(self.gates[i].wait, 20)
                    start = loop.time() - (i + 1) * self.delay
                if i < paced:
                    await asyncio.sleep(max(0.0, start + (i + 1) * self.delay - loop.time()))
            done = True
            self.finished.set()
        finally:
            if not done:
                self.aborted.set()

    # ---- bodies -----------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return "".join(self.words)

    def stream_events(self, kind: str, include_usage: bool) -> list[bytes]:
        if kind == "responses":
            return self._responses_events()
        created, ident = 1764500000, "chatcmpl-fakestream"
        null_usage = {"usage": None} if include_usage else {}
        chunks: list[dict[str, Any]] = []
        if kind == "chat":
            chunks.append(
                {
                    "choices": [],
                    "created": 0,
                    "id": "",
                    "model": "",
                    "object": "",
                    "prompt_filter_results": [{"content_filter_results": {}, "prompt_index": 0}],
                }
            )
            head = {
                "created": created,
                "id": ident,
                "model": self.model,
                "object": "chat.completion.chunk",
                "system_fingerprint": "fp_fake",
            }
            deltas = [{"content": "", "refusal": None, "role": "assistant"}]
            deltas += [{"content": w} for w in self.words]
            for delta in deltas:
                chunks.append(
                    {
                        "choices": [
                            {
                                "content_filter_results": {},
                                "delta": delta,
                                "finish_reason": None,
                                "index": 0,
                                "logprobs": None,
                            }
                        ],
                        **head,
                        **null_usage,
                    }
                )
            chunks.append(
                {
                    "choices": [
                        {
                            "content_filter_results": {},
                            "delta": {},
                            "finish_reason": "stop",
                            "index": 0,
                            "logprobs": None,
                        }
                    ],
                    **head,
                    **null_usage,
                }
            )
        else:  # legacy completions
            head = {"created": created, "id": ident, "model": self.model, "object": "text_completion"}
            for word in self.words:
                chunks.append(
                    {
                        "choices": [{"text": word, "index": 0, "logprobs": None, "finish_reason": None}],
                        **head,
                        **null_usage,
                    }
                )
            chunks.append(
                {
                    "choices": [{"text": "", "index": 0, "logprobs": None, "finish_reason": "stop"}],
                    **head,
                    **null_usage,
                }
            )
        if include_usage:
            chunks.append({"choices": [], **head, "usage": self.usage})
        events = [b"data: " + json.dumps(c, separators=(",", ":")).encode() + b"\n\n" for c in chunks]
        return [*events, b"data: [DONE]\n\n"]

    def _response_object(self, status: str, output: list[Any], usage: Any) -> dict[str, Any]:
        return {
            "id": "resp_fake",
            "object": "response",
            "created_at": 1764500000,
            "status": status,
            "model": self.model,
            "output": output,
            "usage": usage,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }

    def _responses_usage(self) -> dict[str, Any]:
        u = self.usage
        return {
            "input_tokens": u["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": u["prompt_tokens_details"]["cached_tokens"]},
            "output_tokens": u["completion_tokens"],
            "output_tokens_details": {"reasoning_tokens": u["completion_tokens_details"]["reasoning_tokens"]},
            "total_tokens": u["total_tokens"],
        }

    def _message(self) -> dict[str, Any]:
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": self.text, "annotations": []}],
        }

    def _responses_events(self) -> list[bytes]:
        def event(kind: str, payload: dict[str, Any], seq: int) -> bytes:
            data = {"type": kind, "sequence_number": seq, **payload}
            return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()

        out = [event("response.created", {"response": self._response_object("in_progress", [], None)}, 0)]
        for i, word in enumerate(self.words, start=1):
            out.append(
                event(
                    "response.output_text.delta",
                    {"item_id": "msg_fake", "output_index": 0, "content_index": 0, "delta": word},
                    i,
                )
            )
        done = self._response_object("completed", [self._message()], self._responses_usage())
        out.append(event("response.completed", {"response": done}, len(self.words) + 1))
        return out

    def whole(self, kind: str) -> dict[str, Any]:
        if kind == "responses":
            return self._response_object("completed", [self._message()], self._responses_usage())
        if kind == "chat":
            choice = {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": self.text, "refusal": None},
            }
            obj = "chat.completion"
        else:
            choice = {"index": 0, "finish_reason": "stop", "logprobs": None, "text": self.text}
            obj = "text_completion"
        return {
            "id": "chatcmpl-whole",
            "object": obj,
            "created": 1764500000,
            "model": self.model,
            "choices": [choice],
            "usage": self.usage,
            "system_fingerprint": "fp_fake",
        }

    def embeddings(self) -> dict[str, Any]:
        return {
            "object": "list",
            "model": "text-embedding-3-small",
            "usage": EMBEDDING_USAGE,
            "data": [{"object": "embedding", "index": 0, "embedding": [0.125, -0.5, 0.25]}],
        }
