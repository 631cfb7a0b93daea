"""A stateful in-memory Azure Resource Manager, moto-style.

The real SDK clients talk to it through a requests adapter (see :mod:`.transport`), so every
layer above HTTP (serialization, retry, long-running-operation polling) runs for real. It
enforces what ARM enforces: the parent must exist, required properties, known api-versions,
global name uniqueness, immutable location, one operation at a time per resource, long-running
operations that take several polls, soft-deleted names that stay reserved. It throttles (429 +
Retry-After) and fails (5xx) when asked to, and answers a loud 404 for any route it does not
implement. Every request is logged, so tests can count what a command did.

State is a JSON-able dict; with a file path it persists (under an flock) so separate ``pros``
processes see one cloud (``PROS_CLOUD=simulator``).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import fcntl
import json
import os
import random
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pros_cli.simulator.profiles import PROFILES, LatencyProfile

DEFAULT_SUBSCRIPTION = "5b0c2a4e-8f1d-4c3b-9e6a-7d2f1a0c9b38"
TENANT_ID = "7a3e9c2d-1b4f-4e8a-9c6d-2f0b8e1a5d47"
ARM_HOST = "management.azure.com"
SECRET_MARKER = "pros-sim-secret-"
WRITE_METHODS = ("PUT", "PATCH", "DELETE")


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def new_secret() -> str:
    return SECRET_MARKER + uuid.uuid4().hex


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class SimRequest:
    method: str
    url: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def api_version(self) -> str | None:
        return self.query.get("api-version")

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


@dataclass
class SimResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def wire(self) -> tuple[bytes, dict[str, str]]:
        """The body as sent (JSON unless it is bytes already) and the headers to send with it:
        a JSON content type unless the provider named one, and the body's length."""
        if self.body is None:
            payload = b""
        elif isinstance(self.body, bytes):
            payload = self.body
        else:
            payload = json.dumps(self.body).encode()
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
        if payload and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Content-Length"] = str(len(payload))
        return payload, headers


@dataclass
class ArmPath:
    """A parsed ARM resource path."""

    subscription: str
    resource_group: str | None
    type_key: str  # e.g. "microsoft.storage/storageaccounts" (lowercase)
    arm_type: str  # as written in the path
    names: list[str]
    resource_id: str  # canonical casing as written
    parent_id: str | None  # the RG, parent resource, or extension scope
    action: str | None = None  # trailing segment after a resource (POST actions)
    collection: bool = False  # the path ends at a type: a list

    @property
    def name(self) -> str:
        return self.names[-1] if self.names else ""


def parse_arm_path(path: str) -> ArmPath | None:
    segs = [s for s in path.strip("/").split("/") if s != ""]
    if len(segs) < 2 or segs[0].lower() != "subscriptions":
        return None
    sub = segs[1]
    # Extension resources: the last "providers" segment after a full scope.
    prov_idx = [i for i, s in enumerate(segs) if s.lower() == "providers"]
    if len(segs) >= 4 and segs[2].lower() == "resourcegroups" and not prov_idx:
        rg = segs[3]
        rest = segs[4:]
        rg_id = f"/subscriptions/{sub}/resourceGroups/{rg}"
        if len(rest) > 1:
            return None
        return ArmPath(
            sub,
            rg,
            "microsoft.resources/resourcegroups",
            "Microsoft.Resources/resourceGroups",
            [rg],
            rg_id,
            f"/subscriptions/{sub}",
            action=rest[0] if rest else None,
        )
    if not prov_idx:
        return None
    last = prov_idx[-1]
    scope_segs = segs[:last]
    after = segs[last + 1 :]
    if len(after) < 2:
        return None
    namespace = after[0]
    pairs = after[1:]
    types = pairs[0::2]
    names = pairs[1::2]
    action = None
    collection = False
    if len(types) > len(names):
        # odd: ends in a type (collection) or an action
        collection = True
    rg = None
    if len(scope_segs) >= 4 and scope_segs[2].lower() == "resourcegroups":
        rg = scope_segs[3]
    scope = f"/subscriptions/{sub}" if len(scope_segs) == 2 and not rg else "/" + "/".join(scope_segs)
    arm_type = "/".join([namespace, *types])
    type_key = arm_type.lower()
    full_names_path = "/".join(p for pair in zip(types, names, strict=False) for p in pair)
    resource_id = (
        f"{scope}/providers/{namespace}/{full_names_path}" if names else f"{scope}/providers/{namespace}"
    )
    if len(names) > 1:
        parent_pairs = "/".join(
            p for pair in zip(types[: len(names) - 1], names[:-1], strict=False) for p in pair
        )
        parent_id = f"{scope}/providers/{namespace}/{parent_pairs}"
    else:
        parent_id = scope
    return ArmPath(sub, rg, type_key, arm_type, list(names), resource_id, parent_id, action, collection)


@dataclass
class TypeSpec:
    """How the simulator treats one ARM resource type."""

    arm_type: str
    api_versions: tuple[str, ...]
    # LRO behaviour of create (PUT of a new resource): "sync", "async" (Azure-AsyncOperation),
    # "location" (202 + Location, empty body, like Storage) or "body" (the resource in the answer
    # with a non-terminal provisioningState and no polling header: the client polls the resource
    # itself, as Event Grid and Redis creates answer in their REST examples).
    create_mode: str = "sync"
    create_status: int = 201
    update_mode: str = "sync"  # PUT of an existing resource
    patch_mode: str = "sync"
    delete_mode: str = "sync"  # or "location" / "async"
    delete_status: int = 200
    provisioning_creating: str = "Creating"
    provisioning_updating: str = "Updating"
    provisioning_deleting: str = "Deleting"
    required: tuple[str, ...] = ()
    global_name: bool = False
    name_taken_code: str = "Conflict"
    name_rule: tuple[str, str] | None = None  # (regex, message)
    immutable: tuple[str, ...] = ("location",)
    parent_type: str | None = None  # for child resources; None = resource-group level
    extension: bool = False  # roleAssignments, eventSubscriptions: parent is any scope
    soft_delete: bool = False
    soft_deleted_code: str = "Conflict"  # ARM's error code for creating a soft-deleted name
    tracked: bool = True  # has location and tags
    # hooks
    validate: Callable[[Simulator, ArmPath, dict[str, Any], dict[str, Any] | None], None] | None = None
    build: Callable[[Simulator, ArmPath, dict[str, Any], dict[str, Any] | None], dict[str, Any]] | None = None
    # Called before a DELETE of an existing resource; raise ArmError to refuse it (e.g. nested
    # resources still exist, or another operation holds the parent).
    before_delete: Callable[[Simulator, ArmPath, dict[str, Any]], None] | None = None
    on_deleted: Callable[[Simulator, dict[str, Any]], None] | None = None
    actions: dict[str, Callable[[Simulator, ArmPath, SimRequest, dict[str, Any]], SimResponse]] = field(
        default_factory=dict
    )
    render: Callable[[Simulator, dict[str, Any]], dict[str, Any]] | None = None
    # Adjusts the response to an accepted PUT or PATCH where the service departs from the generic
    # shape (Event Grid answers 201 to every write; Redis hands out its keys on writes).
    respond: Callable[[Simulator, dict[str, Any], SimResponse], SimResponse] | None = None
    latency_key: str = ""  # profile key; defaults to arm_type
    # Last path segment of the Azure-AsyncOperation URL: most providers say "operationStatuses",
    # Managed Redis "operationsStatus" (its OperationsStatus_Get path).
    status_segment: str = "operationStatuses"


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., SimResponse]
    api_versions: tuple[str, ...] | None = None


class HostUnreachable(Exception):
    """A data-plane host that does not resolve or answer (e.g. the gateway of an API Management
    service that does not exist): the transport turns it into a connection error."""


class SimulatorCrash(BaseException):
    """Raised only when crash injection is configured in-process (tests); otherwise SIGKILL."""


class Simulator:
    """One simulated Azure cloud."""

    def __init__(
        self,
        *,
        profile: str | LatencyProfile = "instant",
        path: str | Path | None = None,
        seed: int | None = None,
    ):
        self.lock = threading.RLock()
        self.types: dict[str, TypeSpec] = {}
        self.routes: list[Route] = []
        self.path = Path(path) if path else None
        self._file_sig: tuple[int, int, int] | None = None
        self.db: dict[str, Any] = self._empty_db()
        self.request_log: list[dict[str, Any]] = []
        self._rng = random.Random(seed)
        self._rng_seed: int | None = seed
        self._writes_seen = 0
        self.crash_after_writes: int | None = None
        self.crash_when = "after"
        self.crash_in_process = False
        if self.path is not None:
            self._load_if_changed(force=True)
            if not self.path.exists():
                self.db["config"]["profile"] = profile if isinstance(profile, str) else "instant"
                self._save()
        else:
            self.db["config"]["profile"] = profile if isinstance(profile, str) else "instant"
        self._custom_profile = profile if isinstance(profile, LatencyProfile) else None
        # "N[:before|after[:PATH_REGEX]]": die (SIGKILL) before or after the Nth write, counting
        # only writes whose path matches the regex when one is given.
        self.crash_path: str | None = None
        env_crash = os.environ.get("PROS_SIMULATOR_CRASH_AFTER_WRITES")
        if env_crash:
            count, _, rest = env_crash.partition(":")
            when, _, path = rest.partition(":")
            self.crash_after_writes = int(count)
            self.crash_when = when or "after"
            self.crash_path = path or None
        from pros_cli.simulator.providers import register_all

        register_all(self)

    # ---- configuration --------------------------------------------------------------------
    @staticmethod
    def _empty_db() -> dict[str, Any]:
        return {
            "schema": "pros-simulator",
            "version": 1,
            "resources": {},
            "operations": {},
            "deleted": {},
            "foreign_names": {},
            "principals": {},
            "subscriptions": [DEFAULT_SUBSCRIPTION],
            "config": {"profile": "instant", "faults": {}, "inject": []},
            "counters": {"requests": 0},
        }

    @property
    def profile(self) -> LatencyProfile:
        if self._custom_profile is not None:
            return self._custom_profile
        return PROFILES[self.db["config"].get("profile") or "instant"]

    @property
    def poll_interval(self) -> float:
        return self.profile.poll_interval

    def configure(
        self,
        *,
        profile: str | None = None,
        throttle: float | None = None,
        error: float | None = None,
        retry_after: float | None = None,
        seed: int | None = None,
    ) -> None:
        with self.transaction():
            cfg = self.db["config"]
            if seed is not None:
                cfg["seed"] = seed
            if profile is not None:
                if profile not in PROFILES:
                    raise ValueError(f"unknown simulator profile {profile!r}; known: {', '.join(PROFILES)}")
                cfg["profile"] = profile
                self._custom_profile = None
            faults = cfg.setdefault("faults", {})
            if throttle is not None:
                faults["throttle"] = throttle
            if error is not None:
                faults["error"] = error
            if retry_after is not None:
                faults["retry_after"] = retry_after

    def inject(
        self,
        *,
        method: str,
        path_regex: str,
        status: int,
        code: str,
        message: str,
        times: int = 1,
        body_contains: str | None = None,
    ) -> None:
        """Fail the next ``times`` matching requests (times=-1: until cleared)."""
        with self.transaction():
            self.db["config"]["inject"].append(
                {
                    "method": method.upper(),
                    "path_regex": path_regex,
                    "status": status,
                    "code": code,
                    "message": message,
                    "times": times,
                    "body_contains": body_contains,
                }
            )

    def clear_injections(self) -> None:
        with self.transaction():
            self.db["config"]["inject"] = []

    def fast_forward(self, polls: int = 1) -> None:
        """Let time pass: every running operation finishes once polled ``polls`` more times."""
        with self.transaction():
            for op in self.db["operations"].values():
                if op["status"] == "InProgress":
                    op["ready_at"] = min(op["ready_at"], time.time())
                    op["polls_left"] = polls

    def record_llm_log(self, workspace_id: str, rows: list[dict[str, Any]]) -> int:
        """Rows API Management would write to a workspace's ApiManagementGatewayLlmLog (see
        :mod:`.providers.loganalytics_query`)."""
        from pros_cli.simulator.providers.loganalytics_query import record_rows

        return record_rows(self, workspace_id, rows)

    def take_name(self, arm_type: str, name: str) -> None:
        """Mark a global name as taken by someone outside this subscription."""
        with self.transaction():
            self.db["foreign_names"].setdefault(arm_type.lower(), []).append(name.lower())

    def register_type(self, spec: TypeSpec) -> None:
        self.types[spec.arm_type.lower()] = spec

    def route(self, method: str, pattern: str, api_versions: tuple[str, ...] | None = None) -> Callable:
        def deco(fn: Callable[..., SimResponse]) -> Callable[..., SimResponse]:
            self.routes.append(Route(method.upper(), re.compile(pattern, re.IGNORECASE), fn, api_versions))
            return fn

        return deco

    # ---- persistence ----------------------------------------------------------------------
    def _sig(self) -> tuple[int, int, int] | None:
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load_if_changed(self, force: bool = False) -> None:
        if self.path is None:
            return
        sig = self._sig()
        if sig is None:
            return
        if not force and sig == self._file_sig:
            return
        data = json.loads(self.path.read_text())
        if data.get("schema") != "pros-simulator":
            raise RuntimeError(f"{self.path} is not a pros simulator file")
        base = self._empty_db()
        base.update(data)
        self.db = base
        self._file_sig = sig

    def _save(self) -> None:
        if self.path is None:
            return
        from pros_cli.state import atomic_write

        atomic_write(self.path, json.dumps(self.db, sort_keys=True).encode())
        self._file_sig = self._sig()

    @contextlib.contextmanager
    def transaction(self):  # type: ignore[no-untyped-def]
        """Serialize access: a thread lock, plus an flock across processes when persisted."""
        with self.lock:
            if self.path is None:
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
                self._load_if_changed()
                before = json.dumps(self.db, sort_keys=True)
                try:
                    yield
                finally:
                    if json.dumps(self.db, sort_keys=True) != before:
                        self._save()
            finally:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
                os.close(lock_fd)

    def reload(self) -> None:
        with self.transaction():
            pass

    # ---- request log ----------------------------------------------------------------------
    def _log(self, entry: dict[str, Any]) -> None:
        self.request_log.append(entry)
        if self.path is not None:
            with open(str(self.path) + ".log.jsonl", "a") as fh:
                fh.write(json.dumps(entry) + "\n")

    def log_entries(self) -> list[dict[str, Any]]:
        """The request log: this process's, or (persisted) every process's."""
        if self.path is None:
            return list(self.request_log)
        log_path = Path(str(self.path) + ".log.jsonl")
        if not log_path.exists():
            return []
        return [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]

    def count(self, *methods: str, path_contains: str | None = None, include_faults: bool = True) -> int:
        wanted = {m.upper() for m in methods} or None
        n = 0
        for e in self.log_entries():
            if wanted and e["method"] not in wanted:
                continue
            if path_contains and path_contains.lower() not in e["path"].lower():
                continue
            if not include_faults and e.get("fault"):
                continue
            n += 1
        return n

    def writes(self) -> list[dict[str, Any]]:
        return [e for e in self.log_entries() if e["method"] in WRITE_METHODS]

    def unimplemented(self) -> list[dict[str, Any]]:
        return [e for e in self.log_entries() if e.get("code") == "SimulatorRouteNotImplemented"]

    def reset_log(self) -> None:
        self.request_log.clear()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(self.path) + ".log.jsonl")

    # ---- store helpers --------------------------------------------------------------------
    def get_resource(self, resource_id: str) -> dict[str, Any] | None:
        return self.db["resources"].get(resource_id.lower())

    def resources_of_type(self, arm_type: str) -> list[dict[str, Any]]:
        t = arm_type.lower()
        return [r for r in self.db["resources"].values() if r["type"].lower() == t]

    def children_of(self, resource_id: str) -> list[dict[str, Any]]:
        prefix = resource_id.lower() + "/"
        return [r for k, r in self.db["resources"].items() if k.startswith(prefix)]

    # ---- HTTP entry point -----------------------------------------------------------------
    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> SimResponse:
        split = urlsplit(url)
        query = {k.lower(): v for k, v in parse_qsl(split.query, keep_blank_values=True)}
        parsed_body: Any = None
        if body:
            try:
                parsed_body = json.loads(body)
            except ValueError:
                parsed_body = body
        req = SimRequest(method.upper(), url, unquote(split.path), query, headers, parsed_body)
        started = time.time()
        latency = self.profile.request_seconds
        if latency:
            time.sleep(latency)
        entry: dict[str, Any] = {
            "t_start": started,  # with t_done: which requests overlapped (were in flight together)
            "t": time.time(),
            "method": req.method,
            "path": req.path,
            "api_version": req.api_version,
            "pid": os.getpid(),
        }
        with self.transaction():
            self.db["counters"]["requests"] = self.db["counters"].get("requests", 0) + 1
            entry["seq"] = self.db["counters"]["requests"]
            response = self._fault(req)
            if response is not None:
                entry["fault"] = True
            else:
                if req.method in WRITE_METHODS and self._counts_for_crash(req):
                    self._writes_seen += 1
                    self._maybe_crash("before")
                try:
                    response = self._dispatch(req)
                except ArmError as err:
                    response = SimResponse(
                        err.status, {"error": {"code": err.code, "message": err.message}}, dict(err.headers)
                    )
            entry["status"] = response.status
            if response.status >= 400 and isinstance(response.body, dict):
                entry["code"] = (response.body.get("error") or {}).get("code")
            entry["t_done"] = time.time()
            self._log(entry)
        if entry.get("code") == "SimulatorRouteNotImplemented":
            print(f"[pros simulator] NOT IMPLEMENTED: {req.method} {req.path}", file=sys.stderr)
        if req.method in WRITE_METHODS and not entry.get("fault") and self._counts_for_crash(req):
            self._maybe_crash("after")
        response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        response.headers.setdefault("x-ms-ratelimit-remaining-subscription-writes", "1199")
        return response

    def _counts_for_crash(self, req: SimRequest) -> bool:
        return self.crash_path is None or re.search(self.crash_path, req.path, re.IGNORECASE) is not None

    def _maybe_crash(self, when: str) -> None:
        if self.crash_after_writes is None or self.crash_when != when:
            return
        if self._writes_seen >= self.crash_after_writes:
            if self.crash_in_process:
                raise SimulatorCrash(f"crash injected {when} write #{self._writes_seen}")
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def _fault(self, req: SimRequest) -> SimResponse | None:
        cfg = self.db["config"]
        for rule in cfg.get("inject") or []:
            if rule["times"] == 0 or rule["method"] != req.method:
                continue
            if not re.search(rule["path_regex"], req.path, re.IGNORECASE):
                continue
            if rule.get("body_contains") and rule["body_contains"] not in json.dumps(req.body):
                continue
            if rule["times"] > 0:
                rule["times"] -= 1
            return SimResponse(rule["status"], {"error": {"code": rule["code"], "message": rule["message"]}})
        faults = cfg.get("faults") or {}
        throttle = float(faults.get("throttle") or 0)
        error = float(faults.get("error") or 0)
        if not throttle and not error:
            return None
        if cfg.get("seed") is not None and self._rng_seed != cfg["seed"]:
            self._rng = random.Random(cfg["seed"])
            self._rng_seed = cfg["seed"]
        roll = self._rng.random()
        if roll < throttle:
            retry_after = faults.get("retry_after", self.profile.throttle_retry_after)
            return SimResponse(
                429,
                {
                    "error": {
                        "code": "TooManyRequests",
                        "message": "The request is being throttled (simulated).",
                    }
                },
                retry_headers(retry_after),
            )
        if roll < throttle + error:
            return SimResponse(
                500,
                {"error": {"code": "InternalServerError", "message": "Simulated transient server error."}},
            )
        return None

    # ---- dispatch -------------------------------------------------------------------------
    def _dispatch(self, req: SimRequest) -> SimResponse:
        if req.host != ARM_HOST:
            for route in self.routes:
                if route.method == req.method and route.pattern.fullmatch(req.host + req.path):
                    return route.handler(self, req, *route.pattern.fullmatch(req.host + req.path).groups())
            raise self.not_implemented(req)
        for route in self.routes:
            match = route.pattern.fullmatch(req.path)
            if match and route.method == req.method:
                if route.api_versions and req.api_version not in route.api_versions:
                    raise self.bad_api_version(req, route.api_versions)
                return route.handler(self, req, *match.groups())
        parsed = parse_arm_path(req.path)
        if parsed is None:
            raise self.not_implemented(req)
        spec = self.types.get(parsed.type_key)
        if parsed.collection and spec is None and len(parsed.names) >= 1:
            # ".../{type}/{name}/{action}": an action on the resource
            base_key = parsed.type_key.rsplit("/", 1)[0]
            action = parsed.arm_type.rsplit("/", 1)[1]
            spec = self.types.get(base_key)
            if spec is not None:
                parsed = ArmPath(
                    parsed.subscription,
                    parsed.resource_group,
                    base_key,
                    parsed.arm_type.rsplit("/", 1)[0],
                    parsed.names,
                    parsed.resource_id,
                    parsed.parent_id,
                    action=action,
                )
                parsed.parent_id = self._parent_of(parsed.resource_id, spec)
        if spec is None:
            raise self.not_implemented(req)
        if req.api_version not in spec.api_versions:
            raise self.bad_api_version(req, spec.api_versions)
        if parsed.action:
            handler = spec.actions.get(parsed.action.lower())
            if handler is None or req.method != "POST":
                raise self.not_implemented(req)
            current = self.get_resource(parsed.resource_id)
            if current is None:
                raise self.resource_not_found(parsed)
            return handler(self, parsed, req, current)
        if parsed.collection:
            if req.method != "GET":
                raise self.not_implemented(req)
            return self._list(parsed, spec)
        if req.method == "GET":
            return self._get(parsed, spec)
        if req.method in ("PUT", "PATCH"):
            write = self.put_resource if req.method == "PUT" else self.patch_resource
            response = write(parsed, spec, req)
            stored = self.get_resource(parsed.resource_id)
            if spec.respond is not None and stored is not None:
                response = spec.respond(self, stored, response)
            return response
        if req.method == "DELETE":
            return self.delete_resource(parsed, spec, req)
        raise self.not_implemented(req)

    @staticmethod
    def _parent_of(resource_id: str, spec: TypeSpec) -> str:
        return resource_id.rsplit("/", 2)[0]

    # ---- errors ---------------------------------------------------------------------------
    @staticmethod
    def not_implemented(req: SimRequest) -> ArmError:
        return ArmError(
            404,
            "SimulatorRouteNotImplemented",
            f"The pros ARM simulator does not implement {req.method} {req.path} "
            f"(api-version={req.api_version}). This is a gap in the simulator, not an Azure answer.",
        )

    @staticmethod
    def bad_api_version(req: SimRequest, known: tuple[str, ...]) -> ArmError:
        return ArmError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{req.api_version}' is invalid. The supported versions are "
            f"'{','.join(known)}'.",
        )

    @staticmethod
    def resource_not_found(parsed: ArmPath) -> ArmError:
        if parsed.type_key == "microsoft.resources/resourcegroups":
            return ArmError(
                404, "ResourceGroupNotFound", f"Resource group '{parsed.name}' could not be found."
            )
        return ArmError(
            404,
            "ResourceNotFound",
            f"The Resource '{parsed.arm_type}/{parsed.name}' under resource group "
            f"'{parsed.resource_group}' was not found.",
        )

    # ---- generic resource operations --------------------------------------------------------
    def render(self, stored: dict[str, Any]) -> dict[str, Any]:
        spec = self.types[stored["type"].lower()]
        body = copy.deepcopy(stored["body"])
        if spec.render:
            body = spec.render(self, body)
        return body

    def _get(self, parsed: ArmPath, spec: TypeSpec) -> SimResponse:
        stored = self.get_resource(parsed.resource_id)
        if stored is None:
            self._check_parent(parsed, spec)
            raise self.resource_not_found(parsed)
        op_id = stored.get("operation")
        if op_id:
            self.advance(op_id)
            stored = self.get_resource(parsed.resource_id)
            if stored is None:
                raise self.resource_not_found(parsed)
        return SimResponse(200, self.render(stored))

    def _list(self, parsed: ArmPath, spec: TypeSpec) -> SimResponse:
        # Top-level types list under their scope (".../providers/NS/type"); child types under
        # their parent resource (".../accounts/x/deployments").
        if spec.parent_type is None:
            prefix = (parsed.parent_id or "").lower() + "/providers/"
        else:
            prefix = parsed.resource_id.lower() + "/"
        items = [
            self.render(r)
            for r in self.resources_of_type(spec.arm_type)
            if r["body"]["id"].lower().startswith(prefix)
        ]
        return SimResponse(200, {"value": items})

    def _check_parent(self, parsed: ArmPath, spec: TypeSpec) -> None:
        if parsed.type_key == "microsoft.resources/resourcegroups":
            return
        if spec.extension:
            scope = parsed.parent_id or ""
            if scope.count("/") <= 2:  # subscription scope
                return
            if self.get_resource(scope) is None:
                raise ArmError(404, "ResourceNotFound", f"The scope '{scope}' does not exist.")
            return
        rg_id = f"/subscriptions/{parsed.subscription}/resourceGroups/{parsed.resource_group}"
        if self.get_resource(rg_id) is None:
            raise ArmError(
                404, "ResourceGroupNotFound", f"Resource group '{parsed.resource_group}' could not be found."
            )
        if spec.parent_type is not None:
            parent = self.get_resource(parsed.parent_id or "")
            if parent is None:
                raise ArmError(
                    404,
                    "ParentResourceNotFound",
                    f"Can not perform requested operation on nested resource. Parent resource "
                    f"'{parsed.names[-2] if len(parsed.names) > 1 else parsed.parent_id}' not found.",
                )

    def _validate_common(
        self, parsed: ArmPath, spec: TypeSpec, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> None:
        if not isinstance(body, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            )
        for path in spec.required:
            value: Any = body
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value in (None, ""):
                raise ArmError(
                    400,
                    "MissingRequiredProperty" if "." in path else "InvalidRequestContent",
                    f"The request content is missing the required property '{path}'.",
                )
        if spec.tracked and "location" in body:
            from pros_cli import regions

            if regions.normalize(str(body["location"])) is None:
                raise ArmError(
                    400,
                    "LocationNotAvailableForResourceType",
                    f"The provided location '{body['location']}' is not available for resource type "
                    f"'{spec.arm_type}'.",
                )
        if spec.name_rule:
            regex, message = spec.name_rule
            if not re.fullmatch(regex, parsed.name):
                raise ArmError(400, "InvalidResourceName", f"{parsed.name!r}: {message}")
        if existing is not None:
            old = existing["body"]
            for path in spec.immutable:
                if path not in body:
                    continue
                before = old.get(path)
                if before is not None and _norm(before) != _norm(body[path]):
                    if path == "location":
                        raise ArmError(
                            409 if spec.arm_type.lower().startswith("microsoft.resources") else 400,
                            "InvalidResourceLocation",
                            f"The resource '{parsed.name}' already exists in location '{before}' in "
                            f"resource group '{parsed.resource_group}'. A resource with the same name cannot "
                            f"be created in location '{body[path]}'. Please select a new resource name.",
                        )
                    raise ArmError(
                        409, "PropertyChangeNotAllowed", f"Changing property '{path}' is not allowed."
                    )

    def _check_global_name(self, parsed: ArmPath, spec: TypeSpec) -> None:
        if not spec.global_name:
            return
        lname = parsed.name.lower()
        for other in self.resources_of_type(spec.arm_type):
            if (
                other["body"]["name"].lower() == lname
                and other["body"]["id"].lower() != parsed.resource_id.lower()
            ):
                raise ArmError(409, spec.name_taken_code, f"The name '{parsed.name}' is already taken.")
        if lname in self.db["foreign_names"].get(spec.arm_type.lower(), []):
            raise ArmError(409, spec.name_taken_code, f"The name '{parsed.name}' is already taken.")

    def name_available(self, arm_type: str, name: str) -> tuple[bool, str | None]:
        lname = name.lower()
        if lname in self.db["foreign_names"].get(arm_type.lower(), []):
            return False, "AlreadyExists"
        if any(r["body"]["name"].lower() == lname for r in self.resources_of_type(arm_type)):
            return False, "AlreadyExists"
        return True, None

    def put_resource(self, parsed: ArmPath, spec: TypeSpec, req: SimRequest) -> SimResponse:
        self._check_parent(parsed, spec)
        existing = self.get_resource(parsed.resource_id)
        body = req.body if isinstance(req.body, dict) else {}
        if existing is not None and existing.get("operation"):
            op = self.db["operations"].get(existing["operation"])
            if op and op["status"] == "InProgress":
                raise ArmError(
                    409,
                    "AnotherOperationInProgress",
                    f"Another operation is in progress on '{parsed.name}'; retry once it completes.",
                )
        self._validate_common(parsed, spec, req.body, existing)
        if existing is None:
            self._check_global_name(parsed, spec)
            self._check_soft_deleted(parsed, spec, body)
        if spec.validate:
            spec.validate(self, parsed, body, existing["body"] if existing else None)
        built = self._build(parsed, spec, body, existing)
        mode = spec.create_mode if existing is None else spec.update_mode
        stored = existing or {"type": spec.arm_type, "created": time.time()}
        stored["body"] = built
        self.db["resources"][parsed.resource_id.lower()] = stored
        if mode == "sync":
            _set_state(built, "Succeeded")
            status = spec.create_status if existing is None else 200
            return SimResponse(status, self.render(stored))
        _set_state(built, spec.provisioning_creating if existing is None else spec.provisioning_updating)
        op = self.start_operation(stored, "create" if existing is None else "update", spec)
        return self._lro_response(op, mode, stored, spec.create_status if existing is None else 200, req)

    def patch_resource(self, parsed: ArmPath, spec: TypeSpec, req: SimRequest) -> SimResponse:
        existing = self.get_resource(parsed.resource_id)
        if existing is None:
            self._check_parent(parsed, spec)
            raise self.resource_not_found(parsed)
        if existing.get("operation"):
            op = self.db["operations"].get(existing["operation"])
            if op and op["status"] == "InProgress":
                raise ArmError(
                    409, "AnotherOperationInProgress", f"Another operation is in progress on '{parsed.name}'."
                )
        patch = req.body if isinstance(req.body, dict) else {}
        merged = copy.deepcopy(existing["body"])
        for key, value in patch.items():
            if key == "properties" and isinstance(value, dict):
                _deep_merge(merged.setdefault("properties", {}), value)
            elif key in ("sku", "identity") and isinstance(value, dict):
                merged[key] = {**(merged.get(key) or {}), **value}
            else:
                merged[key] = value
        self._validate_common(parsed, spec, merged, existing)
        if spec.validate:
            spec.validate(self, parsed, merged, existing["body"])
        built = self._build(parsed, spec, merged, existing)
        existing["body"] = built
        if spec.patch_mode == "sync":
            _set_state(built, "Succeeded")
            return SimResponse(200, self.render(existing))
        _set_state(built, spec.provisioning_updating)
        op = self.start_operation(existing, "update", spec)
        return self._lro_response(op, spec.patch_mode, existing, 202, req)

    def delete_resource(self, parsed: ArmPath, spec: TypeSpec, req: SimRequest) -> SimResponse:
        existing = self.get_resource(parsed.resource_id)
        if existing is None:
            if parsed.type_key == "microsoft.resources/resourcegroups":
                # ResourceGroups_Delete answers 200 or 202 only (azure-rest-api-specs, resources.json):
                # a group that is not there is a 404 ResourceGroupNotFound, as `az group delete` shows.
                raise self.resource_not_found(parsed)
            return SimResponse(204)
        if spec.before_delete:
            spec.before_delete(self, parsed, existing)
        if spec.delete_mode == "sync":
            self.remove_resource(existing)
            return SimResponse(spec.delete_status, None)
        _set_state(existing["body"], spec.provisioning_deleting)
        op = self.start_operation(existing, "delete", spec)
        return self._lro_response(op, spec.delete_mode, existing, 202, req, body=False)

    def _build(
        self, parsed: ArmPath, spec: TypeSpec, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        built: dict[str, Any] = {
            "id": existing["body"]["id"] if existing else parsed.resource_id,
            "name": existing["body"]["name"] if existing else parsed.name,
            "type": spec.arm_type,
        }
        if spec.tracked:
            built["location"] = body.get("location") or (existing or {}).get("body", {}).get("location")
            built["tags"] = body.get("tags") if body.get("tags") is not None else {}
        for key in ("sku", "kind", "identity", "zones"):
            if key in body:
                built[key] = copy.deepcopy(body[key])
        props = copy.deepcopy(body.get("properties") or {})
        old_props = (existing or {}).get("body", {}).get("properties") or {}
        for key in ("provisioningState",):
            props.pop(key, None)
            if key in old_props:
                props[key] = old_props[key]
        built["properties"] = props
        self._assign_identity(built, existing["body"] if existing else None)
        if spec.build:
            built = spec.build(self, parsed, built, existing["body"] if existing else None)
        return built

    def _assign_identity(self, built: dict[str, Any], old: dict[str, Any] | None) -> None:
        """System-assigned identities get a service principal, kept across updates."""
        identity = built.get("identity")
        if not isinstance(identity, dict):
            return
        kind = str(identity.get("type") or "").replace(" ", "").lower()
        if "systemassigned" not in kind:
            identity.pop("principalId", None)
            identity.pop("tenantId", None)
            return
        previous = ((old or {}).get("identity") or {}).get("principalId")
        identity["principalId"] = previous or self.new_principal(built["id"])
        identity["tenantId"] = TENANT_ID

    def new_principal(self, resource_id: str) -> str:
        """Create a service principal for a managed identity. Like Entra ID, it takes a moment to
        replicate: the first ``principal_replication`` role assignments naming it fail with
        PrincipalNotFound."""
        principal_id = str(uuid.uuid4())
        self.db.setdefault("principals", {})[principal_id] = {
            "resource_id": resource_id,
            "created": time.time(),
            "pending_lookups": self.profile.principal_replication,
        }
        return principal_id

    def remove_resource(self, stored: dict[str, Any]) -> None:
        rid = stored["body"]["id"].lower()
        spec = self.types[stored["type"].lower()]
        for child in self.children_of(rid):
            self.db["resources"].pop(child["body"]["id"].lower(), None)
        self.db["resources"].pop(rid, None)
        if spec.soft_delete:
            self.db["deleted"].setdefault(spec.arm_type.lower(), {})[stored["body"]["name"].lower()] = {
                "body": stored["body"],
                "deleted_at": time.time(),
            }
        if spec.on_deleted:
            spec.on_deleted(self, stored)

    def _check_soft_deleted(self, parsed: ArmPath, spec: TypeSpec, body: dict[str, Any]) -> None:
        if not spec.soft_delete:
            return
        deleted = self.db["deleted"].get(spec.arm_type.lower(), {}).get(parsed.name.lower())
        if deleted is None:
            return
        restore = (body.get("properties") or {}).get("restore")
        if restore:
            self.db["deleted"][spec.arm_type.lower()].pop(parsed.name.lower(), None)
            return
        raise ArmError(
            409,
            spec.soft_deleted_code,
            f"'{parsed.name}' is soft-deleted and its name stays reserved; purge or restore it.",
        )

    # ---- long-running operations ------------------------------------------------------------
    def start_operation(self, stored: dict[str, Any], kind: str, spec: TypeSpec) -> dict[str, Any]:
        latency = self.profile.for_type(spec.latency_key or spec.arm_type, kind)
        op_id = str(uuid.uuid4())
        op = {
            "id": op_id,
            "resource_id": stored["body"]["id"],
            "type": spec.arm_type,
            "kind": kind,
            "status": "InProgress",
            "polls_left": latency.polls,
            "ready_at": time.time() + latency.seconds,
            "started": utcnow(),
            "location": (stored["body"].get("location") or "global"),
            "error": None,
        }
        self.db["operations"][op_id] = op
        stored["operation"] = op_id
        return op

    def fail_operation(self, op: dict[str, Any], code: str, message: str) -> None:
        op["error"] = {"code": code, "message": message}

    def advance(self, op_id: str) -> dict[str, Any] | None:
        op = self.db["operations"].get(op_id)
        if op is None or op["status"] != "InProgress":
            return op
        op["polls_left"] -= 1
        if op["polls_left"] > 0 or time.time() < op["ready_at"]:
            return op
        stored = self.get_resource(op["resource_id"])
        if op["error"]:
            op["status"] = "Failed"
            if stored is not None:
                _set_state(stored["body"], "Failed")
                stored["operation"] = None
        else:
            op["status"] = "Succeeded"
            if stored is not None:
                stored["operation"] = None
                if op["kind"] == "delete":
                    self.remove_resource(stored)
                else:
                    _set_state(stored["body"], "Succeeded")
        op["endTime"] = utcnow()
        return op

    def _op_urls(self, op: dict[str, Any], req: SimRequest) -> tuple[str, str]:
        sub = parse_arm_path(op["resource_id"])
        subscription = sub.subscription if sub else DEFAULT_SUBSCRIPTION
        namespace = op["type"].split("/")[0]
        loc = str(op["location"]).replace(" ", "").lower()
        api = req.api_version or ""
        base = f"https://{ARM_HOST}/subscriptions/{subscription}/providers/{namespace}/locations/{loc}"
        spec = self.types.get(op["type"].lower())
        segment = spec.status_segment if spec is not None else "operationStatuses"
        return (
            f"{base}/{segment}/{op['id']}?api-version={api}",
            f"{base}/operationResults/{op['id']}?api-version={api}",
        )

    def _lro_response(
        self,
        op: dict[str, Any],
        mode: str,
        stored: dict[str, Any],
        status: int,
        req: SimRequest,
        body: bool = True,
    ) -> SimResponse:
        status_url, result_url = self._op_urls(op, req)
        headers = retry_headers(self.profile.poll_interval)
        if mode == "body":
            return SimResponse(status, self.render(stored), {})
        if mode == "async":
            headers["Azure-AsyncOperation"] = status_url
            headers["Location"] = result_url
            return SimResponse(status, self.render(stored) if body else None, headers)
        # "location": 202, no body, poll the Location URL
        headers["Location"] = result_url
        return SimResponse(202, None, headers)

    def operation_status(self, req: SimRequest, op_id: str) -> SimResponse:
        op = self.db["operations"].get(op_id)
        if op is None:
            raise ArmError(404, "OperationNotFound", f"Operation '{op_id}' was not found.")
        op = self.advance(op_id)
        assert op is not None
        body: dict[str, Any] = {
            "id": req.path,
            "name": op_id,
            "status": op["status"],
            "startTime": op["started"],
        }
        if op["status"] != "InProgress":
            body["endTime"] = op.get("endTime")
        if op["status"] == "Failed":
            body["error"] = op["error"]
        headers = retry_headers(self.profile.poll_interval) if op["status"] == "InProgress" else {}
        return SimResponse(200, body, headers)

    def operation_result(self, req: SimRequest, op_id: str) -> SimResponse:
        op = self.db["operations"].get(op_id)
        if op is None:
            raise ArmError(404, "OperationNotFound", f"Operation '{op_id}' was not found.")
        op = self.advance(op_id)
        assert op is not None
        if op["status"] == "InProgress":
            return SimResponse(202, None, {"Location": req.url, **retry_headers(self.profile.poll_interval)})
        if op["status"] == "Failed":
            err = op["error"] or {"code": "OperationFailed", "message": "The operation failed."}
            return SimResponse(400, {"error": err})
        if op["kind"] == "delete":
            return SimResponse(204)
        stored = self.get_resource(op["resource_id"])
        if stored is None:
            return SimResponse(204)
        return SimResponse(200, self.render(stored))


def _norm(value: Any) -> Any:
    return value.replace(" ", "").lower() if isinstance(value, str) else value


def _set_state(body: dict[str, Any], state: str) -> None:
    body.setdefault("properties", {})["provisioningState"] = state


def _deep_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def retry_headers(seconds: float) -> dict[str, str]:
    """ARM's Retry-After is whole seconds (the SDKs parse it as int); finer delays use
    retry-after-ms, which azure-core also honours."""
    seconds = float(seconds)
    if seconds.is_integer():
        return {"Retry-After": str(int(seconds))}
    return {"retry-after-ms": str(round(seconds * 1000))}
