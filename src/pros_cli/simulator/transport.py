"""Plumbing between the real SDK clients and the simulator.

:class:`SimulatorAdapter` is a ``requests`` transport adapter: azure-core's RequestsTransport
sends through it exactly as it would send to management.azure.com, so retry, polling and
(de)serialization all run for real. :class:`SimulatorCredential` hands out a dummy bearer token.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import requests
from requests.adapters import BaseAdapter
from urllib3.response import HTTPResponse

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


class SimulatorAdapter(BaseAdapter):
    def __init__(self, simulator: Any):
        super().__init__()
        self.simulator = simulator

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(body)  # a generator/iterable body
        from pros_cli.simulator.core import HostUnreachable

        try:
            result = self.simulator.handle(
                request.method or "GET", request.url or "", dict(request.headers), body
            )
        except HostUnreachable as exc:
            raise requests.exceptions.ConnectionError(str(exc), request=request) from exc
        if result.body is None:
            payload = b""
        elif isinstance(result.body, bytes):
            payload = result.body
        else:
            payload = json.dumps(result.body).encode()
        headers = dict(result.headers)
        if payload and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Content-Length"] = str(len(payload))
        raw = HTTPResponse(
            body=io.BytesIO(payload),
            headers=headers,
            status=result.status,
            reason=_REASONS.get(result.status, ""),
            preload_content=False,
            decode_content=False,
        )
        response = requests.Response()
        response.status_code = result.status
        response.reason = raw.reason or ""
        response.headers = requests.structures.CaseInsensitiveDict(headers)
        response.raw = raw
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        return None


class SimulatorCredential:
    """A TokenCredential for the simulator: no network, no secrets."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("simulator-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo("simulator-token", int(time.time()) + 3600)
