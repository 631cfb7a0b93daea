"""Build a Functions app's deployment zip, reproducibly, with pros packages vendored in.

The token processor records events with the same ledger module ``pros usage`` reads with; it is
not copied into ``functions/`` by hand but vendored here, at build time, from the installed
pros_cli. Same input, same bytes: entries sorted, timestamps fixed (1980-01-01, the earliest a
zip can hold), permissions fixed (0644 files), one compression level. Dependencies are not
bundled: the app's requirements.txt is resolved by the remote build for the app's Python.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from pros_cli.errors import UsageError

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
# Never shipped: caches, local environments and local settings (which may hold secrets).
EXCLUDED_DIRS = {"__pycache__", ".venv", "venv", ".python_packages", ".git", ".pytest_cache", "tests"}
EXCLUDED_FILES = {"local.settings.json", ".DS_Store"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
DEFAULT_VENDOR = ("pros_cli.ledger", "pros_cli.contract")


def _files(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or any(part in EXCLUDED_DIRS for part in rel.parts[:-1]):
            continue
        if path.name in EXCLUDED_FILES or path.name.endswith(EXCLUDED_SUFFIXES):
            continue
        yield path


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"cannot vendor {name!r}: it is not an importable package")
    return Path(next(iter(spec.submodule_search_locations)))


def package_entries(app_dir: Path, vendor: Sequence[str] = DEFAULT_VENDOR) -> dict[str, bytes]:
    """Archive name -> content of everything the package holds."""
    app_dir = Path(app_dir)
    if not (app_dir / "function_app.py").is_file() or not (app_dir / "host.json").is_file():
        raise UsageError(f"{app_dir} is not a Python v2 Functions app (function_app.py and host.json)")
    entries: dict[str, bytes] = {}
    for path in _files(app_dir):
        entries[path.relative_to(app_dir).as_posix()] = path.read_bytes()
    for name in vendor:
        top = name.replace(".", "/")
        if any(entry == top or entry.startswith(top + "/") for entry in entries):
            raise UsageError(f"{app_dir} already holds {top}/; the package vendors it from pros itself")
        base = _package_dir(name)
        for path in _files(base):
            entries[f"{top}/{path.relative_to(base).as_posix()}"] = path.read_bytes()
    return entries


def build_package(app_dir: Path, vendor: Sequence[str] = DEFAULT_VENDOR) -> bytes:
    """The app's files plus the vendored packages as a zip; the same input gives the same bytes.

    ``vendor`` names packages (``pros_cli.ledger``); each is stored under its import path, and a
    parent such as ``pros_cli`` gets no ``__init__.py`` (a namespace package), so nothing else of
    pros_cli is shipped.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in sorted(package_entries(app_dir, vendor).items()):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = FILE_MODE << 16
            info.create_system = 3  # Unix, so the mode above is honoured
            archive.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def content_hash(package: bytes) -> str:
    """The package's identity, to record in state and compare before deploying again."""
    return "sha256:" + hashlib.sha256(package).hexdigest()
