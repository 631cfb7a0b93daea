"""The CLI shell: help without SDK imports, version, exit statuses, output streams."""

from __future__ import annotations

import json
import subprocess
import sys

from pros_cli import __version__
from tests.conftest import run_pros

PROBE = """
import sys
from pros_cli.cli.app import main
try:
    main({argv!r})
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in sys.modules if m == "azure" or m.startswith(("azure.", "redis", "requests")))
print("LOADED=" + ",".join(loaded), file=sys.stderr)
print("CODE=" + str(code), file=sys.stderr)
"""


def probe(argv: list[str]) -> tuple[str, str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, timeout=60
    )
    return proc.stdout, proc.stderr


def test_help_imports_no_azure_sdk():
    for argv in (["--help"], ["provision", "--help"], []):
        out, err = probe(argv)
        assert "LOADED=\n" in err, err
        assert "Usage: pros" in out + err


def test_help_lists_only_working_commands_and_global_options():
    out, _ = probe(["--help"])
    assert "provision" in out
    for option in (
        "--state-file",
        "--subscription",
        "--output",
        "--dry-run",
        "--yes",
        "--quiet",
        "--verbose",
        "--parallelism",
        "--version",
        "--base-name",
        "PROS_OUTPUT",
    ):
        assert option in out, option


def test_version():
    run = run_pros("--version")
    assert run.code == 0
    assert run.out.strip() == f"pros {__version__}"


def test_unknown_command_exits_2():
    run = run_pros("frobnicate")
    assert run.code == 2
    assert "frobnicate" in run.err


def test_data_goes_to_stdout_and_echo_to_stderr(sim):
    run = run_pros("provision", "--base-name", "demo", "-o", "json")
    assert run.code == 0
    json.loads(run.out)  # stdout is only data
    assert "Executing: az group create" in run.err
    assert "Executing" not in run.out


def test_bad_pros_cloud_is_a_usage_error(isolated, monkeypatch):
    monkeypatch.setenv("PROS_CLOUD", "aws")
    run = run_pros("provision", "--base-name", "demo", "--dry-run")
    assert run.code == 2
    assert "PROS_CLOUD" in run.err


def test_no_azure_login_is_one_clear_error_not_a_wall_of_sdk_output(isolated, monkeypatch):
    import logging

    import azure.identity
    from azure.core.exceptions import ClientAuthenticationError

    class NoLogin:
        def get_token(self, *scopes, **kwargs):
            logging.getLogger("azure.identity").warning("DefaultAzureCredential failed: SDK detail")
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")

    monkeypatch.delenv("PROS_CLOUD")
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", NoLogin)
    run = run_pros(
        "provision", "--base-name", "demo", "--subscription", "11111111-2222-3333-4444-555555555555"
    )
    assert run.code == 1
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    # The first Azure call is the model-catalog preflight: one line with the root cause.
    assert len(errors) == 1
    assert "az login" in errors[0] and "PROS_CLOUD=simulator" in errors[0]
    assert errors[0].startswith("error: cannot read the Azure OpenAI models of eastus: ")
    assert "SDK detail" not in run.err and "Traceback" not in run.err
    assert run.out == ""
