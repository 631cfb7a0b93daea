"""Shell completion: Typer's --install-completion / --show-completion, and the completion requests
a shell sends at each TAB, answered by the installed pros without loading an Azure SDK."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.subprocess


def complete(words: str, cword: int) -> list[str]:
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(cword), "_PROS_COMPLETE": "complete_bash"}
    code = "import sys; from pros_cli.__main__ import main; sys.argv = ['pros']; main()"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_help_offers_completion_and_the_bash_script_calls_back_into_pros():
    helped = subprocess.run([sys.executable, "-m", "pros_cli", "--help"], capture_output=True, text=True)
    assert "--install-completion" in helped.stdout and "--show-completion" in helped.stdout
    # --show-completion detects the shell from the process tree (shellingham); a test run detached
    # from any shell (a CI runner, a background job) has none, so name the shell explicitly, which
    # Typer accepts when its detection is turned off.
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    shown = subprocess.run(
        [sys.executable, "-m", "pros_cli", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    assert "_PROS_COMPLETE=complete_bash" in shown.stdout and "complete -o default -F" in shown.stdout


def test_tab_completes_commands_subcommands_and_options():
    assert complete("pros prov", 1) == ["provision"]
    assert set(complete("pros ", 1)) >= {"provision", "up", "status", "teardown", "usage", "deploy-functions"}
    assert set(complete("pros usage ", 2)) == {"dead-letters", "replay", "export", "reconcile"}
    assert set(complete("pros provision --apim", 2)) == {"--apim-sku", "--apim-capacity"}


def test_completion_loads_no_azure_sdk():
    env = {**os.environ, "COMP_WORDS": "pros prov", "COMP_CWORD": "1", "_PROS_COMPLETE": "complete_bash"}
    code = (
        "import sys\nfrom pros_cli.__main__ import main\nsys.argv = ['pros']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('azure')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().endswith("[]"), proc.stdout
