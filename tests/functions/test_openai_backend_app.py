"""The function app as the Functions runtime sees it: indexing, host settings, dependencies."""

from __future__ import annotations

import ast
import json
import re

from tests.functions.conftest import APP_DIR, indexed_functions, load_function_app


def test_the_app_indexes_one_http_function_with_auth_level_function():
    [function] = indexed_functions()
    assert function.get_function_name() == "openai_backend"
    trigger, output = (json.loads(b) for b in function.get_raw_bindings())
    assert trigger == {
        "direction": "IN",
        "type": "httpTrigger",
        "name": "req",
        "methods": ["POST"],
        "authLevel": "FUNCTION",
        "route": "openai/{*path}",
    }
    assert output == {"direction": "OUT", "type": "http", "name": "$return"}


def test_the_handler_uses_the_http_streams_types():
    """The Python worker turns HTTP streams on for a function whose request and return types are
    the extension's (it checks them with these trackers)."""
    from azurefunctions.extensions.base import HttpV2FeatureChecker, RequestTrackerMeta, ResponseTrackerMeta
    from fastapi import Request, Response

    [function] = indexed_functions()
    handler = function.get_user_function()
    hints = handler.__annotations__
    assert hints["req"] is Request and hints["return"] is Response
    assert RequestTrackerMeta.check_type(hints["req"]) and ResponseTrackerMeta.check_type(hints["return"])
    assert HttpV2FeatureChecker.http_v2_enabled()


def test_host_json_mirrors_the_openai_url_space():
    host = json.loads((APP_DIR / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensions"]["http"]["routePrefix"] == ""  # /openai/... as on the account


def _imports() -> set[str]:
    found: set[str] = set()
    for path in [APP_DIR / "function_app.py", *(APP_DIR / "openai_relay").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return found


DISTRIBUTIONS = {
    "azure.functions": "azure-functions",
    "azure.identity": "azure-identity",
    "azurefunctions.extensions.http.fastapi": "azurefunctions-extensions-http-fastapi",
    "fastapi": "fastapi",
    "httpx": "httpx",
    "anyio": "anyio",
}


def test_requirements_name_every_third_party_import():
    import sys

    required = {
        re.split(r"[<>=!~ ]", line.strip())[0].lower()
        for line in (APP_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    third_party = set()
    for module in _imports():
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top == "openai_relay":
            continue
        name = next((d for m, d in DISTRIBUTIONS.items() if module == m or module.startswith(m + ".")), None)
        assert name is not None, f"{module}: which distribution? add it to DISTRIBUTIONS and requirements.txt"
        third_party.add(name)
    assert third_party <= required, third_party - required


def test_the_events_constants_are_the_contracts():
    load_function_app()
    from openai_relay import usage

    from pros_cli import contract

    assert (usage.EVENT_TYPE, usage.DATA_VERSION, usage.MAX_TOKENS) == (
        contract.EVENT_TYPE,
        contract.DATA_VERSION,
        contract.MAX_TOKENS,
    )
