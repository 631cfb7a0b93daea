"""The streaming function served for real on loopback, with its fakes.

``stack`` (once per session): the fake managed identity endpoint, the fake Event Grid topic, the
fake Azure OpenAI, and the function: the very handler ``function_app.py`` registers with the
Functions runtime, mounted on ``/openai/{path}`` of a FastAPI app (the path parameter has the name
the function's route template ``openai/{*path}`` gives it), each under uvicorn in a thread.

``fn`` (per test): the app settings the function reads, the identity endpoint azure-identity's
``ManagedIdentityCredential`` finds as it would on App Service, fresh fakes, and a proxy built
anew from those settings on the test's first call.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.functions.fakes import IDENTITY_SECRET, FakeEventGrid, FakeIdentity, FakeOpenAI
from tests.functions.loopback import Served
from tests.ledger.entra import acl_users  # noqa: F401 - the token processor tests' fixtures
from tests.redisdb import redis_db  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "functions" / "openai_backend"
REGION = "eastus"


def load_function_app() -> ModuleType:
    """``functions/openai_backend/function_app.py`` imported as the Functions worker would (the app
    folder on sys.path), under a module name of its own."""
    name = "openai_backend_function_app"
    if name in sys.modules:
        return sys.modules[name]
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    spec = importlib.util.spec_from_file_location(name, APP_DIR / "function_app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def function_api(handler: Any) -> Any:
    from fastapi import FastAPI

    api = FastAPI()
    api.add_api_route("/openai/{path:path}", handler, methods=["POST"])
    return api


@functools.cache
def indexed_functions() -> list[Any]:
    """The app's functions as the worker indexes them (``get_functions`` may run once per app:
    a second run reports every name as a duplicate)."""
    return load_function_app().app.get_functions()


def registered_handler() -> Any:
    [function] = indexed_functions()
    return function.get_user_function()


@dataclass
class Stack:
    identity: FakeIdentity
    eventgrid: FakeEventGrid
    openai: FakeOpenAI
    identity_server: Served
    eventgrid_server: Served
    openai_server: Served
    function: Served

    def env(self, region: str = REGION) -> dict[str, str]:
        return {
            "AZURE_OPENAI_ENDPOINT": self.openai_server.url + "/",
            "PROS_REGION": region,
            "PROS_EVENTGRID_ENDPOINT": self.eventgrid_server.url + "/api/events",
            "IDENTITY_ENDPOINT": self.identity_server.url + "/msi/token",
            "IDENTITY_HEADER": IDENTITY_SECRET,
        }

    def relay(self) -> ModuleType:
        import openai_relay

        return openai_relay

    def settle(self) -> None:
        """Until every call the function took is over and its usage events are sent."""
        self.function.wait_quiet()
        proxy = self.relay()._proxy
        if proxy is not None:
            self.function.call(proxy.publisher.wait_idle())

    def close_proxy(self) -> None:
        old = self.relay().reset()
        if old is not None:
            self.function.call(old.aclose())


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    identity, eventgrid, openai = FakeIdentity(), FakeEventGrid(), FakeOpenAI()
    servers = [
        Served(identity.app, name="fake-identity"),
        Served(eventgrid.app, name="fake-eventgrid"),
        Served(openai.app, name="fake-openai"),
    ]
    servers.append(Served(function_api(registered_handler()), name="function"))
    built = Stack(identity, eventgrid, openai, *servers)
    yield built
    built.close_proxy()
    for server in servers:
        server.stop()


@pytest.fixture
def fn(stack: Stack, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    stack.openai.reset()
    stack.eventgrid.reset()
    stack.close_proxy()
    yield stack
    for gate in stack.openai.gates.values():
        gate.set()  # never leave a fake stream waiting
    stack.settle()
    stack.close_proxy()
