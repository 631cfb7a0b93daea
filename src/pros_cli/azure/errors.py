"""Error mapping: only "not found" means absent; everything else is an error."""

from __future__ import annotations

import json
from typing import Any

SIMULATOR_UNIMPLEMENTED = "SimulatorRouteNotImplemented"


def error_code(exc: BaseException) -> str | None:
    err = getattr(exc, "error", None)
    code = getattr(err, "code", None)
    if code:
        return str(code)
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            body = json.loads(response.text())
            return (body.get("error") or {}).get("code") or body.get("code")
        except Exception:
            return None
    return None


def status_code(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)


def is_not_found(exc: BaseException) -> bool:
    """True for a 404 that means "this resource (or its parent) does not exist"."""
    from azure.core.exceptions import ResourceNotFoundError

    if not isinstance(exc, ResourceNotFoundError) and status_code(exc) != 404:
        return False
    return error_code(exc) != SIMULATOR_UNIMPLEMENTED


def get_or_none(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a GET-like SDK operation for the REST JSON; None when ARM says it does not exist."""
    from pros_cli.azure.clients import raw_json

    try:
        return call(*args, cls=raw_json, **kwargs)
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


AUTH_HINT = (
    "no Azure credential worked: run 'az login' (and 'az account set -s ID'), or set AZURE_CLIENT_ID, "
    "AZURE_TENANT_ID and AZURE_CLIENT_SECRET for a service principal, or use a managed or workload "
    "identity; PROS_CLOUD=simulator runs against the local simulator instead"
)


def is_auth_error(exc: BaseException) -> bool:
    from azure.core.exceptions import ClientAuthenticationError

    return isinstance(exc, ClientAuthenticationError) and status_code(exc) is None


def describe(exc: BaseException) -> str:
    """One line for the operator: ARM code, message and HTTP status, no request dump."""
    if is_auth_error(exc):
        return AUTH_HINT
    code = error_code(exc)
    status = status_code(exc)
    message = None
    err = getattr(exc, "error", None)
    if err is not None and getattr(err, "message", None):
        message = err.message
    if message is None:
        response = getattr(exc, "response", None)
        if response is not None:
            try:
                body: dict[str, Any] = json.loads(response.text())
                message = (body.get("error") or {}).get("message") or body.get("message")
            except Exception:
                message = None
    if message is None:
        message = str(getattr(exc, "message", None) or exc).splitlines()[0]
    parts = [p for p in (code, message) if p]
    text = ": ".join(parts) if parts else type(exc).__name__
    if status:
        text += f" (HTTP {status})"
    return text
