"""The token processor's package: reproducible, the ledger vendored from pros itself, and it
imports and indexes in a fresh interpreter that has no pros_cli installed."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from pros_cli.errors import UsageError
from pros_cli.functions_package import build_package, content_hash
from tests.functions.harness import APP_DIR

PROBE = r"""
import sys
sys.path[:] = [sys.argv[1]] + [p for p in sys.argv[2:]] + [p for p in sys.path if "site-packages" not in p]
import json
import function_app
import pros_cli.ledger
try:
    import pros_cli.cli
    leaked = True
except ImportError:
    leaked = False
functions = function_app.app.get_functions()
print(json.dumps({
    "ledger": pros_cli.ledger.__file__,
    "leaked": leaked,
    "functions": [f.get_function_name() for f in functions],
    "bindings": [b for f in functions for b in f.get_raw_bindings()],
}))
"""


def _copy_app(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    shutil.copytree(APP_DIR, app, ignore=shutil.ignore_patterns("__pycache__"))
    return app


def test_same_input_same_bytes(tmp_path: Path) -> None:
    app = _copy_app(tmp_path)
    first = build_package(app)
    os.utime(app / "function_app.py", (1_000_000_000, 1_000_000_000))  # timestamps do not matter
    (app / "__pycache__").mkdir()
    (app / "__pycache__" / "function_app.cpython-311.pyc").write_bytes(b"junk")  # nor caches
    (app / "local.settings.json").write_text('{"Values": {"REDIS_URL": "redis://:pw@host"}}')  # never shipped
    assert build_package(app) == first
    (app / "function_app.py").write_text((app / "function_app.py").read_text() + "\n# changed\n")
    assert content_hash(build_package(app)) != content_hash(first)
    assert content_hash(first).startswith("sha256:") and len(content_hash(first)) == 71


def test_entries_sorted_fixed_and_only_the_vendored_packages(tmp_path: Path) -> None:
    package = build_package(APP_DIR)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {"function_app.py", "host.json", "requirements.txt"} <= set(names)
    pros = {n for n in names if n.startswith("pros_cli/")}
    assert pros and all(n.startswith(("pros_cli/ledger/", "pros_cli/contract/")) for n in pros)
    assert "pros_cli/__init__.py" not in names  # pros_cli is a namespace package in the zip
    assert "pros_cli/contract/usage_event.schema.json" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_an_app_with_its_own_copy_is_refused(tmp_path: Path) -> None:
    app = _copy_app(tmp_path)
    (app / "pros_cli" / "ledger").mkdir(parents=True)
    (app / "pros_cli" / "ledger" / "__init__.py").write_text("# a copy kept by hand\n")
    with pytest.raises(UsageError, match="already holds pros_cli/ledger"):
        build_package(app)


def test_package_imports_and_indexes_without_pros_installed(tmp_path: Path) -> None:
    root = tmp_path / "wwwroot"
    with zipfile.ZipFile(io.BytesIO(build_package(APP_DIR))) as archive:
        archive.extractall(root)
    site = sysconfig.get_paths()["purelib"]  # azure-functions and redis, without .pth processing
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, str(root), site],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(result["ledger"]).is_relative_to(root)
    assert result["leaked"] is False
    assert result["functions"] == ["token_processor"]
    assert '"type": "eventGridTrigger"' in result["bindings"][0]
