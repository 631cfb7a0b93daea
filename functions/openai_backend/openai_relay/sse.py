"""Server-sent events, one complete event at a time, and what the function learns from them.

The backend's stream is cut into events at blank lines (``\\n\\n``, or ``\\r\\n\\r\\n``) as the bytes
arrive: an event goes on to the caller the moment its last byte is in, never later. Events pass
through byte for byte, except when the function itself asked for the usage chunk and the caller
did not: then the final usage chunk (``"choices": []`` with ``usage``) is dropped and the
``"usage": null`` the backend adds to every other chunk is removed, so the caller sees what the
backend would have sent without ``stream_options.include_usage``.
"""

from __future__ import annotations

import json
from typing import Any

_SEPARATORS = (b"\r\n\r\n", b"\n\n", b"\r\r")
# Responses API events that end a response and carry its usage.
_RESPONSE_DONE = ("response.completed", "response.incomplete", "response.failed")
_RESPONSE_DONE_BYTES = tuple(f'"{kind}"'.encode() for kind in _RESPONSE_DONE)
_NULL_USAGE = b',"usage":null}'


class SseSplitter:
    """Cuts a byte stream into complete events (each with its terminating blank line)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        events = []
        while True:
            cut = -1
            size = 0
            for sep in _SEPARATORS:
                at = self._buffer.find(sep)
                if at != -1 and (cut == -1 or at < cut):
                    cut, size = at, len(sep)
            if cut == -1:
                return events
            events.append(self._buffer[: cut + size])
            self._buffer = self._buffer[cut + size :]

    def rest(self) -> bytes:
        """Bytes after the last complete event (a stream that ended mid-event)."""
        rest, self._buffer = self._buffer, b""
        return rest


def _data(raw: bytes) -> str | None:
    """The event's data field (data lines joined by newlines), None when it has none."""
    lines = raw.decode("utf-8", errors="replace").splitlines()
    data = [line[5:].removeprefix(" ") for line in lines if line.startswith("data:")]
    return "\n".join(data) if data else None


class StreamWatcher:
    """Follows one streamed response: the model it names, the usage it reports, whether it ended
    with its final marker, and what the caller receives of each event."""

    def __init__(self, kind: str, *, strip_usage: bool):
        self.kind = kind
        self.strip_usage = strip_usage
        self.model: str | None = None
        self.usage: dict[str, Any] | None = None
        self.done = False
        self.events = 0

    def process(self, raw: bytes) -> bytes | None:
        """The bytes to send on for one complete event, or None to drop it."""
        self.events += 1
        quick = self._quick(raw)
        if quick is not None:
            return quick
        data = _data(raw)
        if data is None:
            return raw
        if data.strip() == "[DONE]":
            self.done = True
            return raw
        try:
            obj = json.loads(data)
        except ValueError:
            return raw
        if not isinstance(obj, dict):
            return raw
        if self.kind == "responses":
            self._responses_event(obj)
            return raw
        if isinstance(obj.get("model"), str) and obj["model"]:
            self.model = obj["model"]
        if isinstance(obj.get("usage"), dict):
            self.usage = obj["usage"]
        if not self.strip_usage or "usage" not in obj:
            return raw
        if obj["usage"] is not None and not obj.get("choices"):
            return None  # the usage chunk the caller did not ask for
        del obj["usage"]
        return _rewrite(raw, obj)

    def _quick(self, raw: bytes) -> bytes | None:
        """Most events need no parsing: the answer for those, None for the rest. Azure writes
        compact JSON; a chunk whose one data line ends in ``,"usage":null}`` carries that member
        at its top level (inside a string every quote is escaped), so removing those bytes is
        exact and leaves every other byte as the backend sent it."""
        if self.kind == "responses":
            return None if any(kind in raw for kind in _RESPONSE_DONE_BYTES) else raw
        if self.model is None or b"[DONE]" in raw or b'"usage":{' in raw or b'"usage": {' in raw:
            return None
        if b'"usage"' not in raw or not self.strip_usage:
            return raw
        body = raw.rstrip(b"\r\n")
        if body.startswith(b"data:") and b"\ndata:" not in body and body.endswith(_NULL_USAGE):
            return body[: -len(_NULL_USAGE)] + b"}" + raw[len(body) :]
        return None

    def _responses_event(self, obj: dict[str, Any]) -> None:
        response = obj.get("response")
        if not isinstance(response, dict):
            return
        if isinstance(response.get("model"), str) and response["model"]:
            self.model = response["model"]
        if obj.get("type") in _RESPONSE_DONE:
            self.done = True
            if isinstance(response.get("usage"), dict):
                self.usage = response["usage"]


def _rewrite(raw: bytes, obj: dict[str, Any]) -> bytes:
    """The event with its data replaced by ``obj`` (other fields and the line ending kept)."""
    text = raw.decode("utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = [line for line in text.splitlines() if line and not line.startswith("data:")]
    lines.append("data: " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False))
    return (newline.join(lines) + newline + newline).encode("utf-8")
