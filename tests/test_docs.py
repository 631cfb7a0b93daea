"""The operator documents cannot drift from the code.

README.md, docs/operations.md and docs/ci.md are read as an operator reads them:

- every ``pros ...`` command line (in shell blocks, in the workflow's ``run:`` steps, in inline code)
  names a command that exists, and every ``--flag`` it uses is an option of that command or a global
  option (a value given to a choice option is one of its choices);
- every ``az ...`` line passes az's own parser;
- every ``PROS_*`` variable they name is one pros reads;
- README's settings, global-options and exit-status tables match the settings registry, the CLI's
  options and the exit-status enum, both ways;
- every config file they show loads and plans (against the simulator);
- the CI workflow is valid YAML with the structure the text describes, and its scripts parse;
- the failover drill script in the runbook runs, against a stand-in gateway;
- every link to a document or heading resolves.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from pros_cli.cli.app import app
from pros_cli.errors import ExitCode
from pros_cli.settings import SETTINGS
from tests.docs_blocks import ROOT, Block, blocks, commands, inline_commands

README = ROOT / "README.md"
OPERATIONS = ROOT / "docs" / "operations.md"
CI = ROOT / "docs" / "ci.md"
DOCS = (README, OPERATIONS, CI)
SHELL = ("bash", "sh", "shell", "console")
ROOT_COMMAND = typer.main.get_command(app)
HELP = ("-h", "--help")  # Typer's help option, from the app's context settings
COMPLETION = {"--install-completion", "--show-completion"}  # Typer's, when the app enables completion
AZ_EXTENSION_COMMANDS = ("az monitor log-analytics query",)  # the log-analytics extension


# ---- what the documents say ---------------------------------------------------------------------
def _yaml_runs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "run" and isinstance(item, str):
                yield item
            else:
                yield from _yaml_runs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _yaml_runs(item)


def shell_texts(path: Path) -> list[tuple[str, str]]:
    """(where, shell text) of every shell block and every ``run:`` of every YAML block."""
    out = []
    for block in blocks(path):
        if block.lang in SHELL:
            out.append((block.where(), block.body))
        elif block.lang in ("yaml", "yml"):
            for script in _yaml_runs(yaml.safe_load(block.body)):
                out.append((block.where(), script))
    return out


def documented(program: str, *, inline: bool = True) -> list[tuple[str, list[str]]]:
    """Each invocation of ``program`` in the documents: in shell blocks and workflow steps, and (for
    pros) in inline code of the prose. Inline ``az`` spans are fragments (`az redisenterprise`), not
    command lines, so they are left out for az."""
    found = []
    for path in DOCS:
        for where, text in shell_texts(path):
            found += [(where, args) for args in commands(text, program)]
        if inline:
            found += [(f"{path.name} (inline)", a) for a in inline_commands(path.read_text(), program)]
    return found


def workflow() -> dict[str, Any]:
    [block] = [b for b in blocks(CI) if b.lang == "yaml" and "jobs:" in b.body]
    return yaml.safe_load(block.body)


# ---- the CLI ------------------------------------------------------------------------------------
def _options(command: Any) -> list[Any]:
    """A command's options (Typer vendors click, so its classes are not click's: ask, do not check)."""
    return [p for p in command.params if getattr(p, "param_type_name", "") == "option"]


def _option(command: Any, name: str) -> Any:
    for param in _options(command):
        if name in (*param.opts, *param.secondary_opts):
            return param
    return None


def check_pros(args: list[str]) -> list[str]:
    """What is wrong with ``pros ARGS`` against the real Typer app (an empty list: nothing)."""
    problems = []
    command: Any = ROOT_COMMAND
    path = ["pros"]
    i = 0
    while i < len(args):
        token = args[i]
        if token.startswith("-") and token != "-":
            name, _, inline = token.partition("=")
            option = _option(command, name) or _option(ROOT_COMMAND, name)
            if option is None and name in HELP:
                pass
            elif option is None:
                problems.append(f"{' '.join(path)} has no option {name}")
            elif not option.is_flag and not option.count:
                value = inline or (args[i + 1] if i + 1 < len(args) else "")
                if not inline:
                    i += 1
                kind = getattr(option, "type_descriptor", None) or getattr(option, "type", None)
                choices = [getattr(c, "value", c) for c in getattr(kind, "choices", None) or ()]
                literal = value and not re.search(r"[$<{*]", value)
                if choices and literal and value not in choices:
                    problems.append(f"{' '.join(path)} {name}: {value!r} is not one of {list(choices)}")
        elif re.fullmatch(r"[A-Z][A-Z_]*", token):
            break  # a placeholder (`pros COMMAND --help`): nothing more to check
        elif hasattr(command, "commands"):
            if token in command.commands:
                command = command.commands[token]
                path.append(token)
            elif command is ROOT_COMMAND or not re.match(r"^[a-z][a-z-]*$", token):
                problems.append(f"pros has no command {token!r}")
                break
            else:
                problems.append(f"{' '.join(path)} has no subcommand {token!r}")
                break
        i += 1
    return problems


def test_the_documents_show_the_commands_an_operator_needs() -> None:
    named = {tuple(a for a in args if not a.startswith("-"))[:1] for _, args in documented("pros")}
    for command in ("up", "provision", "backends", "policies", "deploy-functions", "status", "usage"):
        assert (command,) in named, command
    for command in ("models", "settings", "teardown"):
        assert (command,) in named, command
    lines = [" ".join(args) for _, args in documented("pros")]
    for must in ("up --no-wait", "teardown --yes --purge", "status --discover", "usage replay"):
        assert any(must in line for line in lines), must


def test_every_pros_command_line_exists_with_real_flags() -> None:
    found = documented("pros")
    assert len(found) > 80, len(found)
    problems = [f"{where}: pros {' '.join(args)}: {p}" for where, args in found for p in check_pros(args)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "args",
    [
        ["usage-reconcile", "--from", "2026-11-01"],
        ["up", "--no-such-flag"],
        ["usage", "dead-letter"],
        ["status", "-o", "yaml"],
        ["teardown", "--model-capacity", "5"],
    ],
)
def test_the_check_catches_what_does_not_exist(args: list[str]) -> None:
    assert check_pros(args)


def test_the_check_accepts_global_options_on_either_side_and_inline_values() -> None:
    assert check_pros(["-o", "json", "status"]) == []
    assert check_pros(["status", "--output=json", "-n", "demo"]) == []
    assert check_pros(["policies", "render", "--out", "./x"]) == []
    assert check_pros(["usage", "--by", "day", "export", "--out", "f.jsonl"]) == []


def test_every_az_line_passes_az_parser(az_parser: Any) -> None:
    import shlex

    # One command a line for the parser: a multi-line quoted argument (JSON) is folded into one.
    found = documented("az", inline=False)
    lines = [shlex.join(["az", *(" ".join(a.split()) for a in args)]) for _, args in found]
    assert len(lines) > 30, len(lines)
    # az's core parser does not know extension commands; the documents name the extension.
    core = [line for line in lines if not line.startswith(AZ_EXTENSION_COMMANDS)]
    assert len(core) < len(lines)
    assert az_parser.failures(core) == []
    text = OPERATIONS.read_text()
    assert "`log-analytics` az extension" in text


def test_every_pros_variable_named_is_one_pros_reads() -> None:
    known = {s.env for s in SETTINGS}

    def walk(command: Any) -> None:
        for param in _options(command):
            if isinstance(param.envvar, str):
                known.add(param.envvar)
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(ROOT_COMMAND)
    source = "\n".join(p.read_text() for p in (ROOT / "src").rglob("*.py"))
    source += (ROOT / "tests" / "conftest.py").read_text()  # the test harness's own variables
    named = {v for path in DOCS for v in re.findall(r"\bPROS_[A-Z0-9_]*[A-Z0-9]\b", path.read_text())}
    unknown = sorted(v for v in named if v not in known and f'"{v}"' not in source)
    assert not unknown, unknown


# ---- README's tables ----------------------------------------------------------------------------
def table(path: Path, heading: str, first_column: str) -> list[list[str]]:
    """The rows of the first table under ``heading`` whose header starts with ``first_column``."""
    text = path.read_text()
    start = re.search(rf"^#+ {re.escape(heading)}\s*$", text, re.M)
    assert start is not None, heading
    rows = []
    inside = False
    for line in text[start.end() :].splitlines():
        if line.startswith("#"):
            break
        if not line.startswith("|"):
            if inside:
                break
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if not inside:
            inside = cells[0] == first_column
            continue
        if set(cells[0]) <= set("-: "):
            continue
        rows.append(cells)
    assert rows, f"no table under {heading!r}"
    return rows


def _codes(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_the_settings_table_is_the_settings_registry() -> None:
    rows = {_codes(r[0])[0]: r for r in table(README, "Settings", "setting")}
    assert set(rows) == {s.name for s in SETTINGS}
    for s in SETTINGS:
        _, option, env, _default, meaning = rows[s.name]
        flags = {f for spec in (s.flags or (s.flag,)) for f in spec.split("/")}
        shown = {w for code in _codes(option) for w in code.split() if w.startswith("-")}
        assert flags <= shown, (s.name, flags, shown)
        assert _codes(env) == [s.env], (s.name, env)
        assert ("**immutable**" in meaning) == s.immutable, s.name


def test_the_global_options_table_is_the_root_options() -> None:
    rows = table(README, "Global options", "option")
    documented_options = {}
    for option, env, _ in rows:
        for name in _codes(option):
            documented_options[name] = _codes(env)
    params = [p for p in _options(ROOT_COMMAND) if not set(p.opts) & COMPLETION]
    assert set(documented_options) == {o for p in params for o in p.opts}
    for param in params:
        for name in param.opts:
            assert documented_options[name] == ([param.envvar] if param.envvar else []), name
    # Typer's completion options, where the app has them, are described under the table.
    for name in {o for p in _options(ROOT_COMMAND) for o in p.opts} & COMPLETION:
        assert f"`{name}`" in README.read_text(), name


def test_the_exit_status_table_is_the_exit_codes() -> None:
    statuses = [int(r[0]) for r in table(README, "Exit status", "status")]
    assert statuses == sorted(int(c) for c in ExitCode)


# ---- config files -------------------------------------------------------------------------------
def test_every_config_file_shown_loads_and_plans(pros: Any, tmp_path: Path) -> None:
    from pros_cli.config import load_config

    shown = [b for path in DOCS for b in blocks(path) if b.lang == "toml"]
    assert len(shown) >= 3
    for n, block in enumerate(shown):
        path = tmp_path / f"config-{n}.toml"
        path.write_text(block.body)
        tomllib.loads(block.body)
        load_config(path)  # every key a setting, every value of its type
        run = pros("up", "--base-name", f"cfg{n}", "--config", str(path), "--dry-run")
        assert run.code == 0, (block.where(), run.err[-2000:])


# ---- the CI workflow ----------------------------------------------------------------------------
def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["steps"]


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(s.get("run", "") for s in _steps(job))


def test_the_workflow_is_valid_and_shaped_as_described() -> None:
    flow = workflow()
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    assert "closed" in triggers["pull_request"]["types"]
    assert flow["permissions"]["id-token"] == "write"
    assert flow["concurrency"]["cancel-in-progress"] is False
    assert "pros-" in flow["concurrency"]["group"]
    jobs = flow["jobs"]
    assert set(jobs) == {"start", "finish", "teardown-preview"}
    for name, job in jobs.items():
        assert job["runs-on"] and job["timeout-minutes"] > 0, name
        for step in _steps(job):
            assert ("uses" in step) != ("run" in step), (name, step)
        [login] = [s for s in _steps(job) if s.get("uses", "").startswith("azure/login@")]
        assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}, name  # OIDC, no secret
        uploads = [s for s in _steps(job) if s.get("uses", "").startswith("actions/upload-artifact@")]
        assert uploads and all(s["if"] == "always()" for s in uploads), name
        saves = [s for s in _steps(job) if "az storage blob upload" in s.get("run", "")]
        assert saves and all(s["if"] == "always()" for s in saves), name
    assert "pros up --no-wait" in _runs(jobs["start"])
    assert jobs["finish"]["needs"] == "start"
    assert "pros up -o json" in _runs(jobs["finish"]) and "pros status" in _runs(jobs["finish"])
    assert "pros teardown --yes --purge" in _runs(jobs["teardown-preview"])
    assert "closed" in jobs["teardown-preview"]["if"] and "closed" in jobs["start"]["if"]
    assert "secrets." not in next(b.body for b in blocks(CI) if b.lang == "yaml" and "jobs:" in b.body)


def test_every_script_in_the_documents_parses_as_bash() -> None:
    texts = [(where, text) for path in DOCS for where, text in shell_texts(path)]
    assert len(texts) > 20
    for where, text in texts:
        proc = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (where, proc.stderr, text)


def test_the_finish_loop_resumes_after_an_interruption_and_stops_on_anything_else(tmp_path: Path) -> None:
    """The finish job's loop, with stand-ins for pros, timeout and az: 130 means sign in again and
    resume; 0 ends the step with 0; any other status ends it with that status."""
    [step] = [s for s in _steps(workflow()["jobs"]["finish"]) if "sign_in" in s.get("run", "")]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "timeout").write_text(  # drops its options and the duration, runs the command
        '#!/bin/bash\nwhile [[ "$1" == -* ]]; do shift; done\nshift\nexec "$@"\n'
    )
    (bin_dir / "pros").write_text(
        '#!/bin/bash\necho "pros $*" >> "$LOG"\nn=$(grep -c "^pros" "$LOG")\n'
        'code=$(sed -n "${n}p" <<< "$CODES")\nexit "${code:-0}"\n'
    )
    (bin_dir / "az").write_text('#!/bin/bash\necho "az $1 $2" >> "$LOG"\n')
    (bin_dir / "curl").write_text('#!/bin/bash\necho \'{"value": "oidc-token"}\'\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)

    def run(codes: list[int]) -> tuple[int, list[str]]:
        log = tmp_path / f"log-{'-'.join(map(str, codes))}"
        log.write_text("")
        (tmp_path / "out").mkdir(exist_ok=True)
        env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "LOG": str(log),
            "CODES": "\n".join(map(str, codes)),
            "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.example/?x=1",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
            "CLIENT_ID": "client",
            "TENANT_ID": "tenant",
            "PROS_SUBSCRIPTION": "sub",
        }
        argv = ["bash", "-eo", "pipefail", "-c", step["run"]]
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
        return proc.returncode, [" ".join(line.split()[:2]) for line in log.read_text().splitlines()]

    assert run([0]) == (0, ["pros up"])
    code, calls = run([130, 0])
    assert code == 0 and calls == ["pros up", "az login", "az account", "pros up"], calls
    assert run([130, 1])[0] == 1
    assert run([3])[0] == 3
    code, calls = run([130, 130, 130])
    assert code == 1 and calls.count("pros up") == 3


# ---- the failover drill script ------------------------------------------------------------------
def drill_script() -> Block:
    text = OPERATIONS.read_text()
    marker = text.index("<!-- docs-test: drill.py -->")
    line = text.count("\n", 0, marker) + 2  # the fence right after the marker
    [block] = [b for b in blocks(OPERATIONS) if b.lang == "python" and b.line == line]
    return block


class Gateway(BaseHTTPRequestHandler):
    """A stand-in for a pros gateway: the first ``own`` calls are served by its own region, the next
    ``throttled`` get 429, the rest are served by the other region after failover."""

    own, throttled, seen = 3, 2, []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.seen.append((self.path, self.headers.get("api-key"), body))
        n = len(Gateway.seen)
        if n <= Gateway.own:
            self._answer(200, {"x-pros-region": "eastus", "x-pros-failover": "false"})
        elif n <= Gateway.own + Gateway.throttled:
            self._answer(429, {"Retry-After": "17", "x-pros-region": "eastus", "x-pros-failover": "false"})
        else:
            self._answer(200, {"x-pros-region": "westus", "x-pros-failover": "true"})

    def _answer(self, status: int, headers: dict[str, str]) -> None:
        payload = b'{"usage": {"total_tokens": 10}}'
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Gateway.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _drill(tmp_path: Path, gateway: str, *extra: str, key: str | None = "drill-key-0000") -> Any:
    script = tmp_path / "drill.py"
    script.write_text(drill_script().body)
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_KEY"}
    if key is not None:
        env["GATEWAY_KEY"] = key
    argv = [sys.executable, str(script), "--gateway", gateway, "--deployment", "gpt-5.2", *extra]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def test_the_drill_script_counts_failovers_and_exits_0_when_it_saw_one(tmp_path: Path, gateway: str) -> None:
    Gateway.own, Gateway.throttled = 3, 2
    run = _drill(tmp_path, gateway, "--requests", "12", "--concurrency", "1", "--billing-code", "DRILL-1")
    assert run.returncode == 0, run.stderr
    assert re.search(r"^\s*200\s+eastus\s+false\s+3$", run.stdout, re.M), run.stdout
    assert re.search(r"^\s*429\s+eastus\s+false\s+2$", run.stdout, re.M), run.stdout
    assert re.search(r"^\s*200\s+westus\s+true\s+7$", run.stdout, re.M), run.stdout
    assert "Retry-After on 429s: 17 s" in run.stdout
    assert "served by another region: 7" in run.stdout
    path, key, body = Gateway.seen[0]
    assert path.startswith("/openai/deployments/gpt-5.2/chat/completions?")
    assert "billingCode=DRILL-1" in path and "api-version=" in path
    assert key == "drill-key-0000" and b'"messages"' in body
    assert "drill-key-0000" not in run.stdout + run.stderr  # the key is never printed


def test_the_drill_script_exits_1_without_a_failover_2_without_a_key(tmp_path: Path, gateway: str) -> None:
    Gateway.own, Gateway.throttled = 100, 0
    run = _drill(tmp_path, gateway, "--requests", "4")
    assert run.returncode == 1 and "served by another region: 0" in run.stdout
    run = _drill(tmp_path, gateway, key=None)
    assert run.returncode == 2 and "GATEWAY_KEY" in run.stderr


# ---- links --------------------------------------------------------------------------------------
def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but hyphens and underscores dropped."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    return {slug(h) for h in re.findall(r"^#+ (.+?)\s*$", text, re.M)}


def test_every_link_to_a_document_or_heading_resolves() -> None:
    problems = []
    for path in DOCS:
        text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"https?://", target):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if not linked.exists():
                problems.append(f"{path.name}: {target}: no such file")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                problems.append(f"{path.name}: {target}: no such heading")
    assert not problems, problems
