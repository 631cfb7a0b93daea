"""Shared fixtures: an isolated working directory, the ARM simulator, and ways to run pros.

Every test runs in its own temporary directory with its own simulator file, so runs never see
each other's state. ``pros`` is run in-process (fast) or as a child process (SIGKILL, locking).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pros_cli.simulator.core import DEFAULT_SUBSCRIPTION, SECRET_MARKER, Simulator

SUB = DEFAULT_SUBSCRIPTION


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def echoed(self) -> list[str]:
        return [
            line[len("Executing: ") :] for line in self.err.splitlines() if line.startswith("Executing: ")
        ]


# Where the test tools are (set by the operator of the test run), not settings of pros: kept.
TEST_SETTINGS = ("PROS_SHARED_DIR", "PROS_AZ_PYTHON", "PROS_AZ_VENV")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Own cwd, no ambient Azure or pros settings, the simulator as the cloud."""
    for key in list(os.environ):
        if key.startswith(("PROS_", "AZURE_")) and key not in TEST_SETTINGS:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "azure-config"))  # no az login here
    monkeypatch.setenv("PROS_CLOUD", "simulator")
    monkeypatch.setenv("PROS_SIMULATOR_FILE", str(tmp_path / "cloud" / "sim.json"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def sim(isolated: Path) -> Simulator:
    """The persisted simulator the pros runs of this test talk to."""
    return Simulator(path=isolated / "cloud" / "sim.json")


def run_pros(*args: str, env: dict[str, str] | None = None) -> Run:
    """Run the CLI in-process and return exit status, stdout and stderr."""
    from pros_cli.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    saved = {}
    for key, value in (env or {}).items():
        saved[key] = os.environ.get(key)
        os.environ[key] = value
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture
def pros():
    return run_pros


def pros_argv() -> list[str]:
    return [sys.executable, "-m", "pros_cli"]


def spawn(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen[str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.Popen(
        [*pros_argv(), *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def run_child(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    proc = spawn(*args, env=env)
    out, err = proc.communicate(timeout=timeout)
    return Run(proc.returncode, out, err)


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def state_file(base: str = "demo") -> Path:
    return Path.cwd() / ".pros" / f"{base}.json"


def load_state(base: str = "demo") -> dict[str, Any]:
    return json.loads(state_file(base).read_text())


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        assert SECRET_MARKER not in text, "a simulator secret leaked into output"


@pytest.fixture
def no_secret_leaks(isolated: Path) -> Iterator[None]:
    """After the test: no simulator secret in the state directory or emitted scripts."""
    yield
    for path in (isolated / ".pros").rglob("*"):
        if path.is_file() and not path.name.startswith(".simulator"):
            assert SECRET_MARKER not in path.read_text(errors="replace"), f"secret leaked into {path}"


# ---- the engine, driven directly (resource-kind tests) --------------------------------------


@dataclass
class Converged:
    plan: Any
    report: Any
    echoed: list[str]


class EngineHarness:
    """Plan and apply a list of resources against an in-memory simulator, as provision does."""

    def __init__(self, sim: Simulator, state_path: Path):
        from pros_cli.azure.clients import ClientFactory

        self.sim = sim
        self.clients = ClientFactory(SUB, cloud="simulator", simulator=sim)
        self.state_path = state_path

    def state(self) -> Any:
        from pros_cli.state import StateStore

        return StateStore.open(self.state_path, base_name="demo", subscription_id=SUB, cloud="simulator")

    def plan(self, resources: list[Any], *, adopt: bool = False) -> Any:
        from pros_cli.engine.plan import PlanOptions, make_plan

        state = self.state()
        return make_plan(
            resources, clients=self.clients, recorded=state.get, options=PlanOptions(adopt=adopt)
        )

    def converge(self, resources: list[Any], *, adopt: bool = False, no_wait: bool = False) -> Converged:
        import threading

        from pros_cli.echo import Echo
        from pros_cli.engine.apply import Applier, ApplyOptions

        state = self.state()
        plan = self.plan(resources, adopt=adopt)
        assert not plan.errors, plan.errors
        lines: list[str] = []
        prefix = "Executing: "  # the echo also writes notes ("  note: ...") on lines of their own
        echo = Echo(write=lambda line: lines.append(line[len(prefix) :]) if line.startswith(prefix) else None)
        applier = Applier(
            clients=self.clients,
            state=state,
            echo=echo,
            options=ApplyOptions(no_wait=no_wait),
            stop=threading.Event(),
        )
        report = applier.apply(plan)
        return Converged(plan, report, lines)


@pytest.fixture
def memsim() -> Simulator:
    """An in-memory simulator (no file), for tests that drive the engine or SDK directly."""
    return Simulator()


@pytest.fixture
def engine(memsim: Simulator, tmp_path: Path) -> EngineHarness:
    return EngineHarness(memsim, tmp_path / "engine-state.json")


def make_spec(**overrides: Any) -> Any:
    from pros_cli.spec import build_spec

    args: dict[str, Any] = {"base_name": "demo", "subscription_id": SUB}
    args.update(overrides)
    return build_spec(**args)


# ---- az's own parser ---------------------------------------------------------------------------


def _shared_dir() -> Path:
    env = os.environ.get("PROS_SHARED_DIR")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent.parent
    candidates.append(here.parent / "shared")  # beside the checkout (.ci/run also finds it via origin)
    for candidate in candidates:
        if (candidate / "tools" / "az-parse-check").exists():
            return candidate
    raise RuntimeError(
        "cannot find shared/tools/az-parse-check; set PROS_SHARED_DIR to the directory holding tools/"
    )


def _az_python() -> Path:
    """A Python with azure-cli installed, in its own venv (azure-cli pins other azure-mgmt-* versions)."""
    env = os.environ.get("PROS_AZ_PYTHON")
    if env:
        return Path(env)
    venv = Path(os.environ.get("PROS_AZ_VENV") or Path.home() / ".cache" / "pros" / "az-venv")
    python = venv / "bin" / "python"
    marker = venv / ".pros-azure-cli-ok"
    if marker.exists() and python.exists():
        return python
    import fcntl

    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(str(venv) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "azure-cli"], check=True)
            marker.write_text("ok\n")
    return python


class AzParser:
    def __init__(self) -> None:
        self.python = _az_python()
        self.tool = _shared_dir() / "tools" / "az-parse-check"

    def failures(self, lines: list[str]) -> list[str]:
        """Lines az's parser rejects, with its message."""
        unique = list(dict.fromkeys(line for line in lines if line.strip()))
        if not unique:
            return []
        proc = subprocess.run(
            [str(self.python), str(self.tool), "-"],
            input="\n".join(unique) + "\n",
            capture_output=True,
            text=True,
            timeout=600,
        )
        bad = [line for line in proc.stdout.splitlines() if not line.startswith("OK")]
        if proc.returncode != 0 and not bad:
            bad = [f"az-parse-check failed: {proc.stderr.strip()[:2000]}"]
        return bad


@pytest.fixture(scope="session")
def az_parser() -> AzParser:
    return AzParser()
