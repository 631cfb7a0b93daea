"""The regional streaming function's code: an Azure OpenAI proxy that counts streamed tokens exactly.

``function_app.py`` registers one HTTP function that calls :func:`handle`; everything else lives
here so tests and benchmarks serve the very same handler under uvicorn.
"""

from __future__ import annotations

import logging

from fastapi import Request, Response

from .proxy import Proxy, error
from .settings import Settings, SettingsError

__all__ = ["Proxy", "Settings", "SettingsError", "current", "handle", "install", "reset"]

_proxy: Proxy | None = None


def current() -> Proxy:
    """The process's proxy, built from the app settings on first use."""
    global _proxy
    if _proxy is None:
        _proxy = Proxy(Settings.from_env())
    return _proxy


def install(proxy: Proxy | None) -> Proxy | None:
    """Use ``proxy`` from now on (None: build again from the app settings); returns the old one."""
    global _proxy
    old, _proxy = _proxy, proxy
    return old


def reset() -> Proxy | None:
    return install(None)


async def handle(request: Request) -> Response:
    """One call: the whole of the function's work."""
    try:
        proxy = current()
    except SettingsError as exc:
        logging.getLogger("pros.openai_backend").error("%s", exc)
        return error(500, "FunctionMisconfigured", str(exc))
    return await proxy.handle(request)
