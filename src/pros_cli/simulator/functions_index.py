"""Indexing a deployed Python Functions package the way the Functions host does, for the simulator.

The Python worker indexes a v2-model app by importing ``function_app.py`` and asking the one
``azure.functions.FunctionRegister`` instance at its top level for its functions (azure-functions-
python-worker, ``loader.index_function_app``: "More than one ... function app instances are
defined" / "Could not find top level function app instances in function_app.py."). This module
does exactly that with the real azure-functions library, in a separate interpreter (``-I -S``: no
user site, no ``site-packages`` of this process) whose ``sys.path`` holds only the unzipped package
and the packages the build installed:

- remote build: the distributions ``requirements.txt`` names and what they require (markers
  evaluated, extras followed), taken from this Python environment, which stands in for PyPI. A
  requirement this environment cannot satisfy fails the build as pip would;
- no remote build: nothing but what the package carries in ``.python_packages``;
- always: azure-functions (and its requirements), which the Python worker brings.

So a package that imports something its requirements do not name, or whose ``function_app.py``
raises, fails to index here as it does in Azure.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKER_PACKAGES = ("azure-functions",)
SCRIPT_FILE = "function_app.py"
TIMEOUT_SECONDS = 120
_MARK = "PROS-SIM-INDEX:"
_INDEXER = r"""
import importlib, json, sys
app_dir, sites = sys.argv[1], sys.argv[2:]
sys.path[:0] = [app_dir, *sites]
MARK = "PROS-SIM-INDEX:"
try:
    module = importlib.import_module("function_app")
    from azure.functions import FunctionRegister
    app = None
    for name in dir(module):
        if isinstance(getattr(module, name, None), FunctionRegister):
            if app is not None:
                raise ValueError(f"More than one {type(app).__name__} or other top level function app "
                                 "instances are defined.")
            app = getattr(module, name)
    if app is None:
        raise ValueError("Could not find top level function app instances in function_app.py.")
    out = []
    for f in app.get_functions():
        bindings = [json.loads(b) for b in f.get_raw_bindings()]
        out.append({"name": f.get_function_name(), "trigger": f.get_trigger().type, "bindings": bindings})
    print(MARK + json.dumps({"functions": out}))
except BaseException as exc:
    print(MARK + json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
    sys.exit(1)
"""


@dataclass
class IndexResult:
    functions: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # why the package did not index (a failed build or import)
    stage: str = "index"  # "build" or "index": where it failed


class BuildFailed(Exception):
    pass


# ---- the package --------------------------------------------------------------------------
def unzip(package: bytes, into: Path) -> None:
    """Extract a deployment zip; a broken zip or an entry escaping the root is a failed build."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(package))
    except zipfile.BadZipFile:
        raise BuildFailed("the package is not a valid zip file") from None
    with archive:
        for info in archive.infolist():
            name = info.filename
            if name.startswith(("/", "\\")) or ".." in Path(name).parts:
                raise BuildFailed(f"the zip entry {name!r} points outside the package")
        archive.extractall(into)
    if not (into / "host.json").is_file():
        raise BuildFailed("host.json is not at the root of the package")


def requirement_lines(app_dir: Path) -> list[str]:
    path = app_dir / "requirements.txt"
    if not path.is_file():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


# ---- what the build installs ----------------------------------------------------------------
def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(requirements: list[str]) -> list[Any]:
    """The installed distributions ``requirements`` need, dependencies (and extras) included."""
    import importlib.metadata as md

    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # pragma: no cover - the test extra brings it (pytest needs it)
        raise BuildFailed("the simulator needs the 'packaging' library to build Python packages") from None

    dists: dict[str, Any] = {}
    followed: set[tuple[str, str]] = set()  # (distribution, extra) whose requirements are queued
    pending: list[tuple[str, str]] = [(r, "") for r in requirements]
    while pending:
        text, extra = pending.pop()
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise BuildFailed(f"ERROR: Invalid requirement: {text!r}: {exc}") from None
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        key = _canonical(req.name)
        dist = dists.get(key)
        if dist is None:
            try:
                dist = md.distribution(req.name)
            except md.PackageNotFoundError:
                raise BuildFailed(
                    f"ERROR: Could not find a version that satisfies the requirement {text} (the "
                    "simulator installs only what its own Python environment holds)"
                ) from None
        if req.specifier and not req.specifier.contains(dist.version, prereleases=True):
            raise BuildFailed(
                f"ERROR: Could not find a version that satisfies the requirement {text} (the simulator's "
                f"environment has {dist.metadata['Name']} {dist.version})"
            )
        dists[key] = dist
        for wanted in ("", *sorted(req.extras)):
            if (key, wanted) not in followed:
                followed.add((key, wanted))
                pending.extend((dep, wanted) for dep in dist.requires or [])
    return list(dists.values())


_SITES: dict[str, Path] = {}
_ROOT = Path(tempfile.gettempdir()) / "pros-sim-sites"


def site_dir(dists: list[Any]) -> Path:
    """A directory holding exactly these distributions (symlinks to their installed files)."""
    ident = sorted(f"{d.metadata['Name']}=={d.version}@{d.locate_file('')}" for d in dists)
    digest = hashlib.sha256("\n".join(ident).encode()).hexdigest()[:20]
    cached = _SITES.get(digest)
    if cached is not None and cached.is_dir():
        return cached
    target = _ROOT / digest
    if not target.is_dir():
        _ROOT.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f"{digest}.", dir=_ROOT))
        for dist in dists:
            for entry in dist.files or []:
                parts = Path(str(entry)).parts
                if not parts or parts[0] == ".." or "__pycache__" in parts:
                    continue
                source = Path(str(dist.locate_file(entry)))
                if not source.is_file():
                    continue
                link = building.joinpath(*parts)
                link.parent.mkdir(parents=True, exist_ok=True)
                if not link.exists():
                    link.symlink_to(source)
        try:
            building.rename(target)
        except OSError:  # another process built it first
            shutil.rmtree(building, ignore_errors=True)
    _SITES[digest] = target
    return target


# ---- indexing ---------------------------------------------------------------------------------
_RESULTS: dict[tuple[str, bool, str], IndexResult] = {}


def index_package(
    package: bytes, *, remote_build: bool, settings: dict[str, str] | None = None
) -> IndexResult:
    """Build (remote build: install the requirements) and index the package as the host would."""
    env_key = json.dumps(sorted((settings or {}).items()))
    key = (hashlib.sha256(package).hexdigest(), remote_build, env_key)
    if key in _RESULTS:
        return _RESULTS[key]
    result = _index(package, remote_build=remote_build, settings=settings or {})
    _RESULTS[key] = result
    return result


def _index(package: bytes, *, remote_build: bool, settings: dict[str, str]) -> IndexResult:
    with tempfile.TemporaryDirectory(prefix="pros-sim-app-") as tmp:
        app_dir = Path(tmp) / "wwwroot"
        app_dir.mkdir()
        try:
            unzip(package, app_dir)
            wanted = list(WORKER_PACKAGES)
            if remote_build:
                wanted += requirement_lines(app_dir)
            sites = [str(site_dir(resolve(wanted)))]
        except BuildFailed as exc:
            return IndexResult(error=str(exc), stage="build")
        bundled = app_dir / ".python_packages" / "lib" / "site-packages"
        if bundled.is_dir():
            sites.insert(0, str(bundled))
        if not (app_dir / SCRIPT_FILE).is_file():
            return IndexResult(error=f"{SCRIPT_FILE} is not at the root of the package")
        env = {"PATH": os.environ.get("PATH", ""), "FUNCTIONS_WORKER_RUNTIME": "python", **settings}
        try:
            proc = subprocess.run(
                [sys.executable, "-I", "-S", "-B", "-c", _INDEXER, str(app_dir), *sites],
                cwd=app_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            return IndexResult(error=f"importing {SCRIPT_FILE} took longer than {TIMEOUT_SECONDS} s")
    lines = [line for line in proc.stdout.splitlines() if line.startswith(_MARK)]
    if not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return IndexResult(error=f"the worker could not index the app: {tail[0]}")
    data = json.loads(lines[-1][len(_MARK) :])
    if data.get("error"):
        return IndexResult(error=str(data["error"]))
    return IndexResult(functions=list(data.get("functions") or []))


@atexit.register
def _forget() -> None:
    _SITES.clear()
