"""The state file: what pros has created for one deployment.

* Versioned JSON (``schema_version``); a newer or corrupt file is refused and left untouched.
* Atomic writes: temp file in the same directory, fsync, hard-link the previous version to
  ``<file>.bak``, rename over, fsync the directory. A crash at any point leaves either the old
  or the new file, never a torn one.
* An exclusive lock (``<file>.lock``, ``flock``) held for the whole run; a second run fails at
  once and names the holder. The kernel drops the lock when the holder dies, even by SIGKILL.
* A resource is recorded when its operation starts (with the long-running-operation
  continuation token once there is one) and again when it ends.
* No secrets: every write is checked, and a write that would store a secret is refused.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import functools
import json
import os
import re
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pros_cli import __version__
from pros_cli.errors import LockHeldError, ProsError, StateError

SCHEMA = "pros-state"
_NOW = object()  # stands for "the time of this write" in _upsert fields
SCHEMA_VERSION = 1
STATE_DIR = ".pros"

# Keys whose values must never be stored, and value shapes that are secrets whatever the key.
_SECRET_KEYS = re.compile(
    r"(^|_)(primarykey|secondarykey|accesskeys?|password|secret|connectionstring|sas|key[12]|"
    r"token|primaryconnectionstring|secondaryconnectionstring|clientsecret)$",
    re.IGNORECASE,
)
_ALLOWED_KEYS = {"continuation_token", "certificate_secret_id"}
_SECRET_VALUES = re.compile(r"(AccountKey=|SharedAccessKey=|password=|Bearer\s+ey|sig=)", re.IGNORECASE)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_state_path(base_name: str, cwd: Path | None = None) -> Path:
    return (cwd or Path.cwd()) / STATE_DIR / f"{base_name}.json"


def discover_deployments(cwd: Path | None = None) -> list[str]:
    """Base names of the deployments whose state files sit in ./.pros/."""
    directory = (cwd or Path.cwd()) / STATE_DIR
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            head = json.loads(path.read_text())
        except (OSError, ValueError):
            found.append(path.stem)  # let the load report the corruption, naming the file
            continue
        if isinstance(head, dict) and head.get("schema") == SCHEMA:
            found.append(str(head.get("base_name") or path.stem))
    return found


@functools.lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    return key not in _ALLOWED_KEYS and _SECRET_KEYS.search(key) is not None


@functools.lru_cache(maxsize=65536)
def _secret_value(text: str) -> bool:
    return _SECRET_VALUES.search(text) is not None


def _has_secret(value: Any) -> bool:
    """Whether ``value`` holds anything :func:`find_secrets` would report. The state file is
    checked before every write and is mostly the same strings each time, so the checks are
    cached and no paths are built; the paths are worked out only when something is found."""
    if isinstance(value, dict):
        for key, item in value.items():
            if _secret_key(str(key)) and item not in (None, "", [], {}, False):
                return True
            if _has_secret(item):
                return True
        return False
    if isinstance(value, list):
        return any(_has_secret(item) for item in value)
    return isinstance(value, str) and _secret_value(value)


def find_secrets(value: Any, path: str = "") -> list[str]:
    """Paths inside ``value`` that hold something that looks like a secret."""
    if not path and not _has_secret(value):
        return []
    hits: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if _secret_key(str(key)) and item not in (None, "", [], {}, False):
                hits.append(sub)
            hits.extend(find_secrets(item, sub))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            hits.extend(find_secrets(item, f"{path}[{i}]"))
    elif isinstance(value, str) and _secret_value(value):
        hits.append(path)
    return hits


def scrub_continuation_token(token: str | None) -> str | None:
    """Drop secret fields an initial response may carry (e.g. Redis accessKeys) from a token.

    azure-core's tokens are base64 JSON holding the initial response. Anything we cannot decode
    is not stored at all: resuming then falls back to polling the resource itself.
    """
    if not token:
        return None
    try:
        outer = json.loads(base64.b64decode(token))
        data = outer["data"]
        response = data["response"]
        content = base64.b64decode(response.get("content") or b"")
        if content:
            body = json.loads(content)
            _drop_secret_keys(body)
            response["content"] = base64.b64encode(json.dumps(body).encode()).decode("ascii")
        context = data.get("context") or {}
        if context.get("deserialized_data") is not None:
            _drop_secret_keys(context["deserialized_data"])
        cleaned = base64.b64encode(json.dumps(outer, separators=(",", ":")).encode()).decode("ascii")
    except (ValueError, KeyError, TypeError):
        return None
    decoded = json.loads(base64.b64decode(cleaned))
    return None if find_secrets(decoded) else cleaned


def _drop_secret_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key in list(value):
            if _SECRET_KEYS.search(str(key)):
                del value[key]
            else:
                _drop_secret_keys(value[key])
    elif isinstance(value, list):
        for item in value:
            _drop_secret_keys(item)


def load_state_file(path: Path) -> dict[str, Any] | None:
    """Read and check a state file; None when it does not exist. Never modifies it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read state file {path}: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise StateError(
            f"state file {path} is not valid JSON ({exc}); it was left untouched",
            hint=f"restore it from {path}.bak if that is intact, or move it aside to start over",
        ) from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise StateError(
            f'{path} is not a pros state file (no "schema": "{SCHEMA}"); it was left untouched',
            hint="pass --state-file with the right file",
        )
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise StateError(f"state file {path} has no schema_version; it was left untouched")
    if version > SCHEMA_VERSION:
        raise StateError(
            f"state file {path} has schema version {version}, newer than this pros understands "
            f"({SCHEMA_VERSION}); it was left untouched",
            hint="upgrade pros (pip install -U pros-cli) to work with this deployment",
        )
    if not isinstance(data.get("resources"), dict):
        raise StateError(f"state file {path} has no resources map; it was left untouched")
    return data


class DeploymentLock:
    """An exclusive, non-blocking flock on ``<state>.lock`` naming its holder."""

    def __init__(self, state_path: Path, command: str):
        self.path = state_path.with_name(state_path.name + ".lock")
        self.command = command
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read_holder(fd)
            os.close(fd)
            raise LockHeldError(
                f"deployment is locked by another pros run: {holder}; nothing was changed",
                hint="wait for that run to finish; the lock is released when its process exits",
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "started_at": now_iso(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd

    @staticmethod
    def _read_holder(fd: int) -> str:
        try:
            info = json.loads(os.pread(fd, 4096, 0) or b"{}")
            return (
                f"'{info.get('command', '?')}' (pid {info.get('pid', '?')} on {info.get('host', '?')}, "
                f"started {info.get('started_at', '?')})"
            )
        except (OSError, ValueError):
            return "an unknown process"

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DeploymentLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class StateStore:
    """The state of one deployment, in memory and on disk. Thread-safe; every record saves."""

    def __init__(self, path: Path, data: dict[str, Any] | None, *, writable: bool = True):
        self.path = path
        self.writable = writable
        self._lock = threading.RLock()
        self.data: dict[str, Any] = data or {}

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: Path,
        *,
        base_name: str,
        subscription_id: str,
        cloud: str,
        writable: bool = True,
    ) -> StateStore:
        data = load_state_file(path)
        if data is not None:
            if data.get("base_name") not in (None, base_name):
                raise StateError(
                    f"state file {path} belongs to deployment {data.get('base_name')!r}, "
                    f"not {base_name!r}; it was left untouched",
                    hint="pass the matching --base-name, or another --state-file",
                )
            recorded = (data.get("subscription_id") or "").lower()
            if recorded and recorded != subscription_id.lower():
                raise StateError(
                    f"state file {path} records subscription {recorded}, but this run targets "
                    f"{subscription_id}; it was left untouched",
                    hint=f"pass --subscription {recorded}, or use another --state-file",
                )
            if data.get("cloud") not in (None, cloud):
                raise StateError(
                    f"state file {path} was written against the {data.get('cloud')!r} cloud, "
                    f"this run targets {cloud!r}; it was left untouched",
                    hint="set PROS_CLOUD accordingly, or use another --state-file",
                )
        else:
            stamp = now_iso()
            data = {
                "schema": SCHEMA,
                "schema_version": SCHEMA_VERSION,
                "base_name": base_name,
                "subscription_id": subscription_id.lower(),
                "cloud": cloud,
                "created_at": stamp,
                "updated_at": stamp,
                "tool_version": __version__,
                "spec": {},
                "resources": {},
            }
        return cls(path, data, writable=writable)

    # ---- reading --------------------------------------------------------------------------
    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.data.setdefault("resources", {})

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self.resources.get(key)
            return dict(entry) if entry else None

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        with self._lock:
            return iter([(k, dict(v)) for k, v in self.resources.items()])

    # ---- recording ------------------------------------------------------------------------
    def set_spec(self, spec: dict[str, Any]) -> None:
        with self._lock:
            if self.data.get("spec") != spec:
                self.data["spec"] = spec
                self.save()

    @property
    def settings(self) -> dict[str, Any]:
        """The deployment's recorded settings (see pros_cli.settings.recorded_settings)."""
        from pros_cli.settings import recorded_settings

        return recorded_settings(self.data)

    @property
    def attempted_settings(self) -> dict[str, Any]:
        """The settings of the last run that started applying (it may have failed): what the
        recorded resources were made with when no successful run has recorded settings since."""
        from pros_cli.settings import BY_NAME

        return {k: v for k, v in (self.data.get("attempted_settings") or {}).items() if k in BY_NAME}

    def record_attempt(self, settings: dict[str, Any]) -> None:
        with self._lock:
            if self.data.get("attempted_settings") != settings:
                self.data["attempted_settings"] = settings
                self.save()

    def record_settings(self, settings: dict[str, Any], spec: dict[str, Any]) -> None:
        """The settings (and derived spec) of a run that applied them without failure."""
        with self._lock:
            self.data.pop("torn_down_at", None)
            if self.data.get("settings") != settings or self.data.get("spec") != spec:
                self.data["settings"] = settings
                self.data["spec"] = spec
                self.data["settings_recorded_at"] = now_iso()
                self.save()

    def _upsert(self, key: str, identity: dict[str, Any], origin: str, fields: dict[str, Any]) -> None:
        stamp = now_iso()
        with self._lock:
            entry = self.resources.setdefault(key, {"created_at": stamp})
            entry.update(identity)
            entry["origin"] = entry.get("origin") or origin
            entry["updated_at"] = stamp
            entry.update({k: (stamp if v is _NOW else v) for k, v in fields.items()})
            entry.pop("last_error", None)
            self.save()

    def record_start(self, key: str, identity: dict[str, Any], *, action: str, origin: str) -> None:
        """``identity``: the resource's id, type, name and region (Resource.identity())."""
        status = {"create": "creating", "update": "updating", "delete": "deleting"}.get(action, action)
        operation = {"action": action, "started_at": now_iso(), "pid": os.getpid()}
        self._upsert(key, identity, origin, {"status": status, "operation": operation})

    def record_token(self, key: str, token: str | None) -> None:
        cleaned = scrub_continuation_token(token)
        with self._lock:
            entry = self.resources.get(key)
            if entry is None or entry.get("operation") is None:
                return
            entry["operation"]["continuation_token"] = cleaned
            entry["operation"]["token_recorded_at"] = now_iso()
            self.save()

    def record_done(
        self, key: str, identity: dict[str, Any], *, origin: str, outputs: dict[str, Any] | None = None
    ) -> None:
        fields = {"status": "succeeded", "operation": None, "completed_at": _NOW, "outputs": outputs or {}}
        self._upsert(key, identity, origin, fields)

    def record_failed(self, key: str, error: str) -> None:
        with self._lock:
            entry = self.resources.get(key)
            if entry is None:
                return
            entry["status"] = "failed"
            entry["last_error"] = error[:2000]
            entry["operation"] = None
            entry["updated_at"] = now_iso()
            self.save()

    def record_gone(self) -> None:
        """After a teardown that left nothing: the deployment is gone. Its settings move to
        ``previous_settings`` (history), so a later provision with this base name starts from
        the defaults, like a new deployment."""
        with self._lock:
            self.data["torn_down_at"] = now_iso()
            if self.data.get("settings") or self.data.get("spec"):
                self.data["previous_settings"] = self.data.get("settings") or self.data.get("spec")
            self.data["settings"] = {}
            self.data["spec"] = {}
            self.save()

    def forget(self, key: str, *, event: str | None = None) -> None:
        """Drop a resource from the managed set; with ``event`` (``deleted``, ``gone``,
        ``released``), keep a line of history saying what happened to it and when."""
        with self._lock:
            entry = self.resources.pop(key, None)
            if entry is None:
                return
            if event:
                self.data.setdefault("history", []).append(
                    {
                        "key": key,
                        "event": event,
                        "at": now_iso(),
                        **{k: entry.get(k) for k in ("id", "type", "name", "region", "origin")},
                    }
                )
            self.save()

    # ---- writing --------------------------------------------------------------------------
    def save(self) -> None:
        with self._lock:
            if not self.writable:
                return
            self.data["updated_at"] = now_iso()
            self.data["tool_version"] = __version__
            hits = find_secrets(self.data)
            if hits:
                # A bug, not a user error: refuse rather than persist a secret.
                raise ProsError(f"refusing to write a secret into the state file (at {', '.join(hits)})")
            payload = json.dumps(self.data, indent=2, sort_keys=True).encode() + b"\n"
            atomic_write(self.path, payload, backup=True)


def atomic_write(path: Path, payload: bytes, *, backup: bool = False) -> None:
    """Write ``payload`` to ``path`` so that readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)
    if backup and path.exists():
        bak_tmp = path.with_name(f".{path.name}.bak.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(bak_tmp)
        os.link(path, bak_tmp)
        os.replace(bak_tmp, path.with_name(path.name + ".bak"))
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def describe_command() -> str:
    return " ".join(["pros", *sys.argv[1:]])[:300]
