"""Where the Functions apps pros deploys come from, and where their built zips go.

``functions/`` sits at the repository root, beside ``src/``, and ships with pros as
``pros_cli/shipped/functions`` (a link in the checkout, a copy in the wheel). pros looks, in order:
``--functions-dir`` (or ``PROS_FUNCTIONS_DIR``), then the apps shipped with it. Each app is built with
:func:`pros_cli.functions_package.build_package` (same input, same bytes) and the zip is written to
``.pros/packages/<app>.zip`` beside the state file, so the echoed ``az functionapp deployment source
config-zip --src`` line replays exactly what pros deployed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pros_cli.errors import UsageError

ENV = "PROS_FUNCTIONS_DIR"
TOKEN_PROCESSOR = "token_processor"
OPENAI_BACKEND = "openai_backend"
APPS = (TOKEN_PROCESSOR, OPENAI_BACKEND)


def checkout_functions_dir() -> Path:
    """The Functions apps pros ships: ``functions/`` at the root of the source checkout, which the
    package reaches as ``pros_cli/shipped/functions`` (a link in the checkout, a copy in the wheel:
    pyproject.toml's package-data), so an installed pros has them too."""
    import pros_cli

    return Path(pros_cli.__file__).parent / "shipped" / "functions"


@dataclass
class PackageSource:
    """The folder holding the apps (None when it is nowhere to be found) and the zip folder."""

    functions_dir: Path | None
    out_dir: Path
    searched: str = ""
    _built: dict[tuple[str, tuple[str, ...]], bytes] = field(default_factory=dict, repr=False)

    def app_dir(self, folder: str) -> Path:
        self.check((folder,))
        assert self.functions_dir is not None
        return self.functions_dir / folder

    def available(self, folder: str) -> bool:
        return self.functions_dir is not None and _is_app(self.functions_dir / folder)

    def check(self, folders: Sequence[str] = APPS) -> None:
        """Bad input, before any Azure call, when an app folder is missing."""
        if self.functions_dir is None:
            raise UsageError(
                f"cannot find the Functions apps pros deploys: {self.searched}",
                hint="reinstall pros, or pass --functions-dir DIR (or set "
                f"{ENV}) naming a folder that holds token_processor/ and openai_backend/",
            )
        missing = [f for f in folders if not _is_app(self.functions_dir / f)]
        if missing:
            listed = ", ".join(f"{self.functions_dir / f}/" for f in missing)
            raise UsageError(
                f"{listed} is not a Python v2 Functions app (function_app.py and host.json)",
                hint="pass --functions-dir DIR naming the repository's functions/ folder, which holds "
                + " and ".join(f"{f}/" for f in APPS),
            )

    def build(self, folder: str, vendor: tuple[str, ...]) -> bytes:
        """The app's zip (built once per run)."""
        from pros_cli.functions_package import build_package

        key = (folder, vendor)
        if key not in self._built:
            self._built[key] = build_package(self.app_dir(folder), vendor=vendor)
        return self._built[key]

    def zip_path(self, app_name: str) -> Path:
        return self.out_dir / f"{app_name}.zip"

    def write(self, app_name: str, package: bytes) -> Path:
        """Write the zip the echoed az line names (unchanged bytes are not rewritten)."""
        from pros_cli.state import atomic_write

        path = self.zip_path(app_name)
        if not (path.is_file() and path.read_bytes() == package):
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, package)
        return path


def _is_app(path: Path) -> bool:
    return (path / "function_app.py").is_file() and (path / "host.json").is_file()


def find_source(functions_dir: Path | None = None, *, out_dir: Path | None = None) -> PackageSource:
    """``functions_dir`` (the option) wins; then ``PROS_FUNCTIONS_DIR``; then the checkout."""
    out = out_dir or Path.cwd() / ".pros" / "packages"
    if functions_dir is None and os.environ.get(ENV):
        functions_dir = Path(os.environ[ENV])
    if functions_dir is not None:
        path = functions_dir.expanduser().resolve()
        if not path.is_dir():
            return PackageSource(None, out, searched=f"the folder {path} does not exist")
        return PackageSource(path, out, searched=str(path))
    checkout = checkout_functions_dir()
    if checkout.is_dir():
        return PackageSource(checkout, out, searched=str(checkout))
    return PackageSource(
        None,
        out,
        searched=f"{checkout} does not exist (the Functions apps ship with pros; this installation lacks "
        "them: reinstall pros, or pass --functions-dir)",
    )


def shown_path(path: Path) -> str:
    """A path for an echoed az line: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
