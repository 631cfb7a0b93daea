"""A long-lived azure-cli host for the replay tests: runs in the az venv (never imports pros).

Started once per test session as ``<az venv python> azhost.py SOCKET CONFIG_DIR``. Each
connection on the unix socket carries one ``az`` invocation from the shim (argv, cwd, stdin, and
the simulator server to send to); the host runs it in-process with azure-cli's own
``get_default_cli().invoke(argv)`` and answers stdout, stderr and the exit status. So the very
azure-cli code an operator runs parses the line and sends the requests, without paying az's 2-3 s
start-up per line.

What is patched, and only this:
- HTTP: every ``requests`` adapter send (azure-core's transport, ``az rest``) goes to the test's
  simulator server instead of the network; the original URL travels in a header and the server
  hands the request to ``Simulator.handle``.
- Credentials: ``Profile._create_credential`` returns a test credential whose tokens name their
  audience (like Entra's, like the simulator's own ``SimulatorCredential``); the account is a
  subscription written into the host's own ``AZURE_CONFIG_DIR``. No login, no network.
- Time: long-running-operation polling does not sleep for real (the simulator answers with
  Retry-After 0; azure-cli's progress loop and ``wait`` commands' sleeps are capped at 0.01 s).
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import sys
import time
import traceback
import uuid

TARGET_HEADER = "X-Pros-Replay-Url"
_STATE: dict[str, str] = {"target": ""}


def _token(scopes: list[str]) -> str:
    scope = scopes[0] if scopes else "https://management.azure.com/.default"
    audience = scope[: -len("/.default")] if scope.endswith("/.default") else scope
    claims = {
        "aud": audience,
        "tid": os.environ["PROS_REPLAY_TENANT"],
        "oid": os.environ["PROS_REPLAY_OID"],
        "exp": int(time.time()) + 3600,
    }
    parts = [{"alg": "none", "typ": "JWT"}, claims]
    encoded = [base64.urlsafe_b64encode(json.dumps(p).encode()).decode().rstrip("=") for p in parts]
    return ".".join([*encoded, "pros-sim-secret-" + uuid.uuid4().hex])


class _TestCredential:
    """What azure-cli's MSAL credentials offer: ``acquire_token(scopes)`` → an MSAL result."""

    def acquire_token(self, scopes, **kwargs):
        return {"access_token": _token(list(scopes)), "expires_in": 3600, "token_type": "Bearer"}


def _patch() -> None:
    import requests
    from requests.adapters import HTTPAdapter

    original_send = HTTPAdapter.send

    def send(self, request, **kwargs):
        target = _STATE["target"]
        if not target:
            raise requests.exceptions.ConnectionError("replay host: no simulator target", request=request)
        forwarded = request.copy()
        forwarded.headers[TARGET_HEADER] = request.url
        forwarded.url = target
        kwargs["proxies"] = {}
        kwargs["verify"] = False
        response = original_send(self, forwarded, **kwargs)
        if response.headers.get("X-Pros-Replay-Unreachable"):
            raise requests.exceptions.ConnectionError(response.text, request=request)
        response.url = request.url
        response.request = request
        return response

    HTTPAdapter.send = send

    from azure.cli.core import _profile

    _profile.Profile._create_credential = lambda self, account, tenant_id=None, client_id=None: (
        _TestCredential()
    )

    real_sleep = time.sleep
    time.sleep = lambda seconds: real_sleep(min(float(seconds), 0.01))


def _write_profile(config_dir: str) -> None:
    os.makedirs(config_dir, exist_ok=True)
    profile = {
        "installationId": str(uuid.uuid5(uuid.NAMESPACE_URL, "pros-replay")),
        "subscriptions": [
            {
                "id": os.environ["PROS_REPLAY_SUBSCRIPTION"],
                "name": "pros-simulator",
                "state": "Enabled",
                "user": {"name": "operator@example.com", "type": "user"},
                "isDefault": True,
                "tenantId": os.environ["PROS_REPLAY_TENANT"],
                "environmentName": "AzureCloud",
                "homeTenantId": os.environ["PROS_REPLAY_TENANT"],
                "managedByTenants": [],
            }
        ],
    }
    with open(os.path.join(config_dir, "azureProfile.json"), "w", encoding="utf-8") as fh:
        json.dump(profile, fh)
    with open(os.path.join(config_dir, "config"), "w", encoding="utf-8") as fh:
        fh.write(
            "[core]\ncollect_telemetry = false\nno_color = true\nsurvey_message = false\n"
            "only_show_errors = false\ndisable_progress_bar = true\n"
            "[auto-upgrade]\nenable = no\n"
        )


def _point_log_handlers_at(stream: io.StringIO) -> None:
    """knack configures its console handlers once per process, on the stderr of that moment:
    point them at this invocation's stderr."""
    import logging

    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if type(handler).__name__ == "_CustomStreamHandler":
                handler.setStream(stream)


def _invoke(request: dict) -> dict:
    from azure.cli.core import get_default_cli

    _STATE["target"] = request["target"]
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr, sys.stdin
    os.chdir(request["cwd"])
    sys.stdout, sys.stderr, sys.stdin = out, err, io.StringIO(request.get("stdin", ""))
    _point_log_handlers_at(err)
    try:
        try:
            code = get_default_cli().invoke(request["argv"], out_file=out)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # an az crash is the line's failure, not the host's
            traceback.print_exc(file=err)
            code = 1
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved
    return {"code": int(code or 0), "stdout": out.getvalue(), "stderr": err.getvalue()}


def _recv_all(conn: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def main() -> None:
    sock_path, config_dir = sys.argv[1], sys.argv[2]
    os.environ["AZURE_CONFIG_DIR"] = config_dir
    os.environ["AZURE_CORE_COLLECT_TELEMETRY"] = "false"
    os.environ.pop("HTTPS_PROXY", None)
    os.environ.pop("HTTP_PROXY", None)
    _write_profile(config_dir)
    _patch()
    # Load azure-cli once before the first line (command index, modules).
    _invoke({"argv": ["version", "--output", "none"], "cwd": os.getcwd(), "target": ""})
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(16)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        with conn:
            raw = _recv_all(conn)
            if not raw:
                continue
            request = json.loads(raw)
            if request.get("stop"):
                conn.sendall(b"{}")
                return
            reply = _invoke(request)
            conn.sendall(json.dumps(reply).encode())


if __name__ == "__main__":
    main()
