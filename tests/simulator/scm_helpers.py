"""Helpers for the simulator's Function App data plane tests: a provisioned app (the token
processor's stack, through the engine), packages built from the real apps, raw SCM requests."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from pros_cli.functions_package import build_package
from pros_cli.resources import functions
from pros_cli.resources.graph import TOPIC_KEY, build_resources
from pros_cli.resources.package_source import checkout_functions_dir
from pros_cli.simulator.core import SimResponse, Simulator
from pros_cli.simulator.transport import SimulatorCredential
from tests.conftest import EngineHarness, make_spec

ARM = "https://management.azure.com/.default"
FUNCTIONS = checkout_functions_dir()
TOKEN_VENDOR = ("pros_cli.ledger", "pros_cli.contract")


def provision_token_stack(engine: EngineHarness, *, plan: str = "flex") -> Any:
    """The token processor's app (with its settings and storage access) and the topic."""
    spec = make_spec(regions=["eastus"], function_plan=plan)
    graph = {r.key: r for r in build_resources(spec)}
    wanted: set[str] = set()
    pending = [functions.settings_key("token"), "rbac/func-storage/token", TOPIC_KEY]
    while pending:
        key = pending.pop()
        if key not in wanted:
            wanted.add(key)
            pending.extend(graph[key].depends_on)
    result = engine.converge([r for r in graph.values() if r.key in wanted])
    assert not result.report.failed, [f.error for f in result.report.failed]
    return spec


def site(sim: Simulator, spec: Any) -> dict[str, Any]:
    stored = sim.get_resource(
        f"/subscriptions/{spec.subscription_id}/resourceGroups/{spec.resource_group}/providers/"
        f"Microsoft.Web/sites/{spec.names.token_function_app()}"
    )
    assert stored is not None
    return stored


def scm_host(sim: Simulator, spec: Any) -> str:
    states = site(sim, spec)["body"]["properties"]["hostNameSslStates"]
    return next(s["name"] for s in states if s["hostType"] == "Repository")


def bearer(scope: str = ARM) -> dict[str, str]:
    return {"Authorization": f"Bearer {SimulatorCredential().get_token(scope).token}"}


def token_package() -> bytes:
    return build_package(FUNCTIONS / "token_processor", vendor=TOKEN_VENDOR)


def backend_package() -> bytes:
    return build_package(FUNCTIONS / "openai_backend", vendor=())


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def app_copy(tmp: Path, folder: str = "token_processor", **replace: str) -> Path:
    """A copy of a real app folder with some files replaced."""
    target = tmp / folder
    for path in (FUNCTIONS / folder).rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            dest = target / path.relative_to(FUNCTIONS / folder)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())
    for name, text in replace.items():
        (target / name).write_text(text)
    return target


def publish(
    sim: Simulator,
    host: str,
    package: bytes,
    *,
    headers: dict[str, str] | None = None,
    remote_build: bool = True,
) -> SimResponse:
    sent = {"Content-Type": "application/zip", **(bearer() if headers is None else headers)}
    url = f"https://{host}/api/publish?RemoteBuild={str(remote_build).lower()}&Deployer=tests"
    return sim.handle("POST", url, sent, package)


def deployment(sim: Simulator, host: str, deployment_id: str) -> SimResponse:
    return sim.handle("GET", f"https://{host}/api/deployments/{deployment_id}", bearer(), None)


def finish(sim: Simulator, host: str, deployment_id: str) -> dict[str, Any]:
    """Poll a deployment until it is complete; its record."""
    for _ in range(20):
        answer = deployment(sim, host, deployment_id)
        if answer.status == 200 and answer.body["complete"]:
            return answer.body
    raise AssertionError(f"deployment {deployment_id} did not complete")


def body_id(answer: SimResponse) -> str:
    assert answer.status == 202, answer
    return json.loads(json.dumps(answer.body))
