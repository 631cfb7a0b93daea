"""The README's quickstart, run word for word.

The quickstart's bash blocks marked ``<!-- readme-test -->`` run, in order and exactly as written,
as one bash script (``set -e -o pipefail``: a reader would stop at the first failure too) in a copy
of this checkout: the first block creates a FRESH virtual environment and installs the checkout
into it with ``pip install .`` (not editable, with its dependencies), so the run proves the wheel
carries what pros deploys (the policy templates and the Functions apps, ``pros_cli/shipped``), and
``pip install '.[simulator]'`` proves the simulator extra suffices to build and deploy those apps.
pip reuses the machine's wheel cache, so the install takes about half a minute.

The only variable the test sets is one the README tells the reader to set: ``REDIS_URL``, here the
local server's database 12 (emptied before and after). ``PROS_CLOUD=simulator`` is exported by
the README itself, and the simulator keeps its cloud in the scratch directory the README creates.

Blocks marked ``<!-- readme-test: skip: REASON -->`` are not run (REASON says why: an Azure
subscription, a Docker daemon); their pros command lines are still checked against the CLI by
tests/test_docs.py. Every quickstart block must carry one of the two markers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.docs_blocks import ROOT, Block, blocks

README = ROOT / "README.md"
SETUP_LINE = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install -q -e '.[test]' && python -m pytest"
)
README_REDIS_DB = 12


def quickstart() -> list[Block]:
    return [b for b in blocks(README, section="Quickstart") if b.lang in ("bash", "sh", "shell")]


def redis_url() -> str:
    """The tests' Redis server (REDIS_URL's, the local one, or one started for the tests:
    tests/redisdb.py), database 12."""
    from tests.redisdb import url_for

    base = urlsplit(url_for(README_REDIS_DB))
    return urlunsplit((base.scheme, base.netloc, f"/{README_REDIS_DB}", "", ""))


def test_every_quickstart_block_is_marked_to_run_or_to_skip_with_a_reason() -> None:
    found = quickstart()
    unmarked = [b.where() for b in found if b.marker is None]
    assert not unmarked, f"quickstart blocks without a readme-test marker: {unmarked}"
    assert all(b.reason for b in found if b.marker == "skip"), "a skipped block must say why"
    run = [b for b in found if b.marker == "run"]
    assert len(run) >= 5, [b.where() for b in run]
    # Only what needs something outside this machine (Azure, a container runtime) may be skipped.
    for b in found:
        if b.marker == "skip":
            assert re.search(r"\b(Azure|REDIS_URL|Redis container)\b", b.reason), (b.where(), b.reason)


def test_the_readme_keeps_the_setup_line_ci_runs() -> None:
    assert SETUP_LINE in README.read_text()
    assert SETUP_LINE in (ROOT / ".ci" / "run").read_text()


def _copy_checkout(target: Path) -> None:
    """The files of this checkout (tracked, and new files git does not ignore), symlinks kept."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0:
        names = [n for n in listed.stdout.decode().split("\0") if n]
    else:  # not a git checkout: everything but environments and caches, symlinks as links
        skip = {".git", ".venv", "__pycache__", ".pros", ".pytest_cache", ".ruff_cache", "build", "dist"}
        names = []
        for top, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in skip and not d.endswith(".egg-info")]
            here = Path(top)
            names += [str((here / d).relative_to(ROOT)) for d in dirs if (here / d).is_symlink()]
            names += [str((here / f).relative_to(ROOT)) for f in files]
    for name in names:
        source = ROOT / name
        dest = target / name
        if not source.is_symlink() and not source.is_file():
            continue  # deleted in the working tree
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            dest.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, dest)


def _environment() -> dict[str, str]:
    """The caller's environment without this test run's virtual environment, pros settings, Azure
    identity or Redis: then REDIS_URL, as the README tells the reader to set it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PROS_", "AZURE_", "PYTEST", "PYTHON")) and k not in ("VIRTUAL_ENV", "REDIS_URL")
    }
    here = Path(sys.prefix) / "bin"
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != here.resolve()
    )
    env["REDIS_URL"] = redis_url()
    return env


CHECKS = r"""
printf '\n=== after the README: where pros came from ===\n'
printf 'scratch=%s\n' "$PWD"
printf 'pros=%s\n' "$(command -v pros)"
python - <<'PY'
import importlib.metadata as md, json, pathlib, pros_cli
dist = md.distribution("pros-cli")
direct = dist.read_text("direct_url.json")
shipped = pathlib.Path(pros_cli.__file__).parent / "shipped"
print("installed=" + json.dumps({
    "package": str(pathlib.Path(pros_cli.__file__).parent),
    "editable": bool(direct and json.loads(direct).get("dir_info", {}).get("editable")),
    "shipped_is_link": shipped.is_symlink() or (shipped / "functions").is_symlink(),
    "token_processor": (shipped / "functions" / "token_processor" / "function_app.py").is_file(),
    "openai_backend": (shipped / "functions" / "openai_backend" / "function_app.py").is_file(),
    "policy": (shipped / "templates" / "openai-api-policy.xml").is_file(),
}))
PY
pip check
"""


def _script(run: list[Block], checkout: Path) -> str:
    parts = ["set -e -o pipefail", f"cd {checkout}"]
    for b in run:
        parts.append(
            f"printf '\\n=== README block at {b.where()} ===\\n'; printf '\\n=== {b.where()} ===\\n' >&2"
        )
        parts.append(b.body.rstrip("\n"))
    parts.append(CHECKS)
    return "\n".join(parts) + "\n"


@pytest.mark.subprocess
@pytest.mark.timeout(900)
def test_quickstart_runs_word_for_word_in_a_fresh_virtual_environment(tmp_path: Path) -> None:
    import redis

    found = quickstart()
    run = [b for b in found if b.marker == "run"]
    skipped = [f"{b.where()}: {b.reason}" for b in found if b.marker == "skip"]
    print("README blocks run:", [b.where() for b in run])
    print("README blocks skipped:", *skipped, sep="\n  ")

    checkout = tmp_path / "checkout"
    _copy_checkout(checkout)
    assert not (checkout / ".venv").exists()
    db = redis.Redis.from_url(redis_url())
    db.flushdb()
    scratch: Path | None = None
    try:
        proc = subprocess.run(
            ["bash", "-c", _script(run, checkout)],
            cwd=tmp_path,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=840,
            check=False,
        )
        out, err = proc.stdout, proc.stderr
        for line in out.splitlines():
            if line.startswith("scratch="):
                scratch = Path(line.split("=", 1)[1])
        tail = f"\n--- stdout (tail) ---\n{out[-6000:]}\n--- stderr (tail) ---\n{err[-6000:]}"
        assert proc.returncode == 0, f"the README's commands failed (exit {proc.returncode}){tail}"
        assert "Traceback" not in out + err, tail
        assert scratch is not None and scratch.is_dir(), tail

        # The fresh environment's pros, installed from the wheel (not editable), with what it ships.
        venv = checkout / ".venv"
        assert f"pros={venv}/bin/pros" in out, tail
        installed = json.loads(next(x for x in out.splitlines() if x.startswith("installed="))[10:])
        assert Path(installed["package"]).is_relative_to(venv), installed
        assert not installed["editable"] and not installed["shipped_is_link"], installed
        assert installed["token_processor"] and installed["openai_backend"] and installed["policy"], installed
        assert "No broken requirements found." in out, tail
        assert re.search(r"^pros \d+\.\d+", out, re.M), tail  # pros --version

        # Step 2: an offline plan and the rendered policy, nothing recorded.
        plan = json.loads((scratch / "plan.json").read_text())
        assert {c["action"] for c in plan["changes"]} == {"create"}, plan["summary"]
        assert (scratch / "rendered" / "openai-api-policy.xml").is_file()

        # Steps 3 and 5: a region came and went with --prune; the deployment is torn down.
        state = json.loads((scratch / ".pros" / "demo.json").read_text())
        assert state["torn_down_at"] and not state["resources"], sorted(state["resources"])
        regions = {entry.get("region") for entry in state.get("history", [])}
        assert {"eastus", "westus", "westeurope"} <= regions, regions
        assert "nothing carrying its tag is left" in out, tail

        # Step 4: the usage ledger counted each event once; the failover is booked on westus.
        assert "recorded 2, already counted 0" in out, tail
        assert "recorded 0, already counted 2" in out, tail
        assert "eastus,1,1200,350,1550,0,0,0,0,0,1550" in out, tail
        assert "westus,1,800,200,1000,0,0,1,0,0,1000" in out, tail
        assert db.dbsize() > 0
    finally:
        db.flushdb()
        db.close()
        if scratch is not None and scratch.is_dir() and scratch != tmp_path:
            shutil.rmtree(scratch, ignore_errors=True)
