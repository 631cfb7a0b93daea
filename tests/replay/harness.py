"""The replay harness: run an emitted script with bash and the real azure-cli against a simulator.

Three pieces:
- :class:`SimServer`, a local HTTP server in the test process handing each request to
  ``Simulator.handle`` (the original ``https://management.azure.com/...`` URL travels in a header);
- :class:`AzHost`, one long-lived azure-cli process in the az venv (``azhost.py``) that runs each
  ``az`` invocation in-process and sends its HTTP to a :class:`SimServer`;
- a tiny ``az`` shim on ``PATH`` that forwards argv, cwd and stdin to the host over a unix socket,
  so real bash runs the script verbatim (``set -euo pipefail``, ``$(az ...)``, variables).

:func:`compare` holds two simulators against each other through pros's own resource kinds.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pros_cli.simulator.core import DEFAULT_SUBSCRIPTION, SECRET_MARKER, TENANT_ID, HostUnreachable, Simulator
from pros_cli.simulator.transport import CALLER_OBJECT_ID

HERE = Path(__file__).resolve().parent
TARGET_HEADER = "X-Pros-Replay-Url"


# ---- the simulator behind HTTP -----------------------------------------------------------------


class SimServer:
    """``http://127.0.0.1:PORT/`` in front of one simulator; the az host forwards to it."""

    def __init__(self, simulator: Simulator):
        self.simulator = simulator
        sim = simulator

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                return None

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                url = self.headers.get(TARGET_HEADER) or ""
                headers = {k: v for k, v in self.headers.items() if k != TARGET_HEADER}
                try:
                    result = sim.handle(self.command, url, headers, body)
                except HostUnreachable as exc:
                    payload = str(exc).encode()
                    self.send_response(502)
                    self.send_header("X-Pros-Replay-Unreachable", "1")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                payload, headers = result.wire()
                self.send_response(result.status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- azure-cli, long-lived ---------------------------------------------------------------------


def _shim_source() -> str:
    return f"""#!{sys.executable} -S
# az for the replay tests: forwards this invocation to the long-lived azure-cli host.
import json, os, socket, sys
request = {{
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "stdin": "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read(),
    "target": os.environ["PROS_REPLAY_TARGET"],
}}
conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
conn.connect(os.environ["PROS_REPLAY_SOCKET"])
conn.sendall(json.dumps(request).encode())
conn.shutdown(socket.SHUT_WR)
chunks = []
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    chunks.append(chunk)
reply = json.loads(b"".join(chunks))
sys.stdout.write(reply["stdout"])
sys.stderr.write(reply["stderr"])
sys.exit(reply["code"])
"""


@dataclass
class ScriptRun:
    code: int
    out: str
    err: str
    script: str

    def explain(self) -> str:
        return f"exit {self.code}\n--- stderr (tail) ---\n{self.err[-6000:]}"


class AzHost:
    def __init__(self, az_python: Path):
        self.dir = Path(tempfile.mkdtemp(prefix="pros-replay-"))
        self.socket = self.dir / "az.sock"
        self.bin = self.dir / "bin"
        self.bin.mkdir()
        shim = self.bin / "az"
        shim.write_text(_shim_source())
        shim.chmod(0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "PROS_"))}
        env |= {
            "PROS_REPLAY_SUBSCRIPTION": DEFAULT_SUBSCRIPTION,
            "PROS_REPLAY_TENANT": TENANT_ID,
            "PROS_REPLAY_OID": CALLER_OBJECT_ID,
        }
        self.log = open(self.dir / "host.log", "w")  # noqa: SIM115 - lives as long as the host
        self.proc = subprocess.Popen(
            [str(az_python), str(HERE / "azhost.py"), str(self.socket), str(self.dir / "azure-config")],
            cwd=self.dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"az host did not start: {(self.dir / 'host.log').read_text()[-3000:]}")

    def run_script(self, script: Path, server: SimServer, *, timeout: float = 600) -> ScriptRun:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "PROS_"))}
        env |= {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "PROS_REPLAY_SOCKET": str(self.socket),
            "PROS_REPLAY_TARGET": server.url,
        }
        proc = subprocess.run(
            # The script as written, sourced by a shell that names the failing line (unexpanded,
            # so no secret a variable holds is printed).
            [
                "bash",
                "-c",
                'trap \'echo "replay: line $LINENO failed: $BASH_COMMAND" >&2\' ERR; . "$0"',
                str(script),
            ],
            cwd=script.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return ScriptRun(proc.returncode, proc.stdout, proc.stderr, script.read_text())

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                    conn.connect(str(self.socket))
                    conn.sendall(b'{"stop": true}')
                    conn.shutdown(socket.SHUT_WR)
                    conn.recv(16)
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- comparing two clouds through pros's own resource kinds ------------------------------------


def spec_from_state(state: dict[str, Any]) -> Any:
    """The spec a recorded run used, rebuilt from its state file's settings."""
    from pros_cli.spec import ModelDeployment, build_spec

    settings = {k: v for k, v in state["settings"].items() if v is not None}
    settings["models"] = tuple(ModelDeployment(**m) for m in settings["models"])
    return build_spec(base_name=state["base_name"], subscription_id=state["subscription_id"], **settings)


def _normalise(value: Any, principals: dict[str, str]) -> Any:
    """Principal ids differ between two clouds by design (Entra makes a new one per identity):
    compare whose identity it is. Secrets differ too: compare that there is one."""
    if isinstance(value, str):
        if value.lower() in principals:
            return f"<principal of {principals[value.lower()]}>"
        if SECRET_MARKER in value:
            return "<secret>"
        return value
    if isinstance(value, dict):
        return {k: _normalise(v, principals) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v, principals) for v in value]
    return value


def _principals(sim: Simulator) -> dict[str, str]:
    out = {}
    for pid, info in (sim.db.get("principals") or {}).items():
        rid = str(info.get("resource_id") or "").lower()
        out[pid.lower()] = rid.rsplit("/", 1)[-1] if rid else pid
    return out


def resource_ids(sim: Simulator) -> set[str]:
    return set(sim.db["resources"])


def compare(spec: Any, recorded_keys: set[str], expected: Simulator, replayed: Simulator) -> list[str]:
    """Differences, field by field: the set of resource ids, then for each resource of the
    deployment its managed fields (the ones pros diffs) and tags; then pros's own diff of the
    replayed cloud against the desired state (what a pros run against it would change). That diff
    runs as a first pros run against the replayed cloud would: with no state entry (kinds whose diff
    reads one, an imported API definition or deployed code, say what they cannot tell)."""
    from pros_cli.azure.clients import ClientFactory
    from pros_cli.resources.base import get_path
    from pros_cli.resources.graph import full_graph

    problems: list[str] = []
    ids_a, ids_b = resource_ids(expected), resource_ids(replayed)
    for rid in sorted(ids_a - ids_b):
        problems.append(f"missing after replay: {rid}")
    for rid in sorted(ids_b - ids_a):
        problems.append(f"only after replay: {rid}")

    clients_a = ClientFactory(spec.subscription_id, cloud="simulator", simulator=expected)
    clients_b = ClientFactory(spec.subscription_id, cloud="simulator", simulator=replayed)
    principals_a, principals_b = _principals(expected), _principals(replayed)
    graph = [r for r in full_graph(spec) if r.key in recorded_keys]
    bodies_a: dict[str, Any] = {}
    bodies_b: dict[str, Any] = {}
    for r in graph:
        bodies_a[r.key] = r.read(clients_a)
        bodies_b[r.key] = r.read(clients_b)
    for r in graph:
        body_a, body_b = bodies_a[r.key], bodies_b[r.key]
        if body_a is None or body_b is None:
            if (body_a is None) != (body_b is None):
                problems.append(f"{r.key}: {'absent' if body_b is None else 'present'} after replay")
            continue
        # The fields pros diffs: its managed fields that it sets (a field it leaves to Azure, like a
        # Traffic Manager endpoint's priority under Performance routing, is Azure's to choose).
        r.inputs = {dep: bodies_a.get(dep) for dep in r.depends_on}
        desired = r.desired()
        fields = [f for f in r.managed_fields if get_path(desired, f) is not None]
        if r.tagged:
            fields.append("tags")
        for path in fields:
            have_a = _normalise(get_path(body_a, path), principals_a)
            have_b = _normalise(get_path(body_b, path), principals_b)
            if have_a != have_b:
                problems.append(f"{r.key} {path}: pros {have_a!r} != replay {have_b!r}")
    # pros's own verdict on the replayed cloud: with the inputs it would have, nothing to change.
    for r in graph:
        body_b = bodies_b.get(r.key)
        if body_b is None:
            continue
        r.inputs = {dep: bodies_b.get(dep) for dep in r.depends_on}
        remember = getattr(r, "remember", None)
        if remember is not None:
            remember(None)
        for d in r.diff(body_b):
            problems.append(f"{r.key}: pros would {d.reason()} on the replayed cloud")
    return problems
