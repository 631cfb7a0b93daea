"""Plumbing between the real SDK clients and the simulator.

:class:`SimulatorAdapter` is a ``requests`` transport adapter: azure-core's RequestsTransport
sends through it exactly as it would send to management.azure.com, so retry, polling and
(de)serialization all run for real. :class:`SimulatorCredential` hands out bearer tokens that name
their audience.
"""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
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


# The object id the simulated tokens carry (the operator pros runs as).
CALLER_OBJECT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "pros-simulator:caller"))


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
        payload, headers = result.wire()
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
    """A TokenCredential for the simulator: no network. Each token is shaped like an Entra access
    token (header.payload.signature, the payload's ``aud`` naming the resource the scope asked for,
    as Entra ID does: ``https://management.azure.com/.default`` gives ``aud`` =
    ``https://management.azure.com``), so a data-plane endpoint can refuse a token meant for another
    resource. The signature part is a simulator secret: a token in any output is caught as a leak."""

    def _token(self, scopes: tuple[str, ...]) -> tuple[str, int]:
        from pros_cli.simulator.core import TENANT_ID, new_secret

        expires = int(time.time()) + 3600
        scope = scopes[0] if scopes else ""
        audience = scope[: -len("/.default")] if scope.endswith("/.default") else scope
        claims = {"aud": audience, "tid": TENANT_ID, "oid": CALLER_OBJECT_ID, "exp": expires}
        parts = [{"alg": "none", "typ": "JWT"}, claims]
        encoded = [base64.urlsafe_b64encode(json.dumps(p).encode()).decode().rstrip("=") for p in parts]
        return ".".join([*encoded, new_secret()]), expires

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(*self._token(scopes))

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(*self._token(scopes))


def token_audience(authorization: str | None) -> str | None:
    """The ``aud`` claim of a ``Bearer`` token (None: no bearer token, or not a token)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    parts = authorization.split(" ", 1)[1].strip().split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError:
        return None
    audience = claims.get("aud") if isinstance(claims, dict) else None
    return audience if isinstance(audience, str) else None
