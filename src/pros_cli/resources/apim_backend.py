"""API Management backends: one per regional service (an OpenAI account, a streaming Function
App) with a circuit breaker, and the priority pools the policy sends requests to.

Facts (azure-mgmt-apimanagement 5.0.0 at api-version 2024-05-01, and Microsoft's "Backends in API
Management" page):

- a backend's circuit breaker is a property of the backend, not a policy; one rule per backend;
  its failure condition counts responses whose status falls in ``statusCodeRanges`` (each within
  200-599, at most 10) within ``interval``; a tripped backend rests for ``tripDuration``, or for
  the backend's own ``Retry-After`` when ``acceptRetryAfter`` is set;
- the circuit breaker is not available on the Consumption tier;
- a pool (``properties.type: Pool``) lists single backends of the same service by ARM id, each
  with a priority and a weight (0-100); lower-priority members serve only when every member of a
  higher priority has tripped; a pool whose members are all tripped answers 503;
- creating or updating a backend is not a long-running operation (201/200 with the body:
  ApiManagementCreateBackendProxyBackend.json).

APIM replaces a backend on PUT, so every write sends the whole entity.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none, is_not_found
from pros_cli.echo import AzCommand, az, az_rest
from pros_cli.resources.apim_child import ApimChild, call, service_id
from pros_cli.resources.base import FieldDiff, get_path, same
from pros_cli.spec import Spec

BACKEND_TYPE = "Microsoft.ApiManagement/service/backends"
# What trips a breaker: throttling (429) and server errors (500-599).
TRIP_STATUS_RANGES = ((429, 429), (500, 599))
BREAKER_RULE_NAME = "trip-on-429-and-5xx"
POOL_WEIGHT = 1  # equal weights: within one priority the members share the load evenly
OWN_REGION_PRIORITY = 1
OTHER_REGION_PRIORITY = 2

_DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def iso_duration(seconds: int) -> str:
    """``PT1M``, ``PT1H30M``, ``P1D``: the ISO 8601 form the REST API takes for durations."""
    if seconds <= 0:
        raise ValueError("a duration is at least one second")
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def duration_seconds(text: Any) -> float | None:
    """Seconds in an ISO 8601 duration ("PT1M", "PT60S" and "P0DT0H1M" are all 60); None if not one."""
    match = _DURATION_RE.match(str(text or "").strip().upper())
    if match is None or not any(match.groupdict().values()):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)


@dataclass(frozen=True)
class Breaker:
    """The one circuit-breaker rule every regional backend carries."""

    failures: int
    interval_seconds: int
    trip_seconds: int

    def rule(self) -> dict[str, Any]:
        return {
            "name": BREAKER_RULE_NAME,
            "failureCondition": {
                "count": self.failures,
                "interval": iso_duration(self.interval_seconds),
                "statusCodeRanges": [{"min": low, "max": high} for low, high in TRIP_STATUS_RANGES],
            },
            "tripDuration": iso_duration(self.trip_seconds),
            "acceptRetryAfter": True,
        }


def normal_breaker(breaker: Any) -> list[tuple[Any, ...]]:
    """A circuit breaker as comparable data: durations in seconds, ranges sorted."""
    rules = breaker.get("rules") if isinstance(breaker, dict) else None
    out = []
    for rule in rules or []:
        condition = rule.get("failureCondition") or {}
        ranges = sorted(
            (int(r.get("min", 0)), int(r.get("max", 0))) for r in condition.get("statusCodeRanges") or []
        )
        out.append(
            (
                str(rule.get("name") or "").lower(),
                condition.get("count"),
                condition.get("percentage"),
                duration_seconds(condition.get("interval")),
                tuple(ranges),
                tuple(sorted(str(e).lower() for e in condition.get("errorReasons") or [])),
                duration_seconds(rule.get("tripDuration")),
                bool(rule.get("acceptRetryAfter")),
            )
        )
    return out


def _type_of(body: dict[str, Any] | None) -> str:
    return str(get_path(body, "properties.type") or "Single").lower()


class Backend(ApimChild):
    """A single backend: one regional service behind the gateway."""

    arm_type = BACKEND_TYPE
    collection = "backends"
    label = "API Management backend"

    def __init__(
        self,
        spec: Spec,
        *,
        url: Callable[[Mapping[str, dict[str, Any] | None]], str],
        description: str,
        breaker: Breaker | None,
        credential_header: tuple[str, str] | None = None,
        **kwargs: Any,
    ):
        """``url`` computes the backend URL from the bodies of the dependencies (``inputs``);
        ``credential_header`` is (header name, named value) sent on every call, as ``{{name}}``."""
        super().__init__(spec, **kwargs)
        self.url_of = url
        self.description_text = description
        self.breaker = breaker
        self.credential_header = credential_header

    @property
    def url(self) -> str:
        return self.url_of(self.inputs)

    def desired(self) -> dict[str, Any]:
        props: dict[str, Any] = {"description": self.description_text, "url": self.url, "protocol": "http"}
        if self.breaker is not None:
            props["circuitBreaker"] = {"rules": [self.breaker.rule()]}
        if self.credential_header is not None:
            header, named_value = self.credential_header
            props["credentials"] = {"header": {header: ["{{" + named_value + "}}"]}}
        return {"properties": props}

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        want = self.desired()["properties"]
        have = current.get("properties") or {}
        diffs: list[FieldDiff] = []
        if _type_of(current) != "single":
            diffs.append(FieldDiff("properties.type", have.get("type"), "Single"))
        for key in ("url", "protocol"):
            if not same(str(have.get(key) or "").rstrip("/"), str(want[key]).rstrip("/")):
                diffs.append(FieldDiff(f"properties.{key}", have.get(key), want[key]))
        have_breaker, want_breaker = have.get("circuitBreaker"), want.get("circuitBreaker")
        if normal_breaker(have_breaker) != normal_breaker(want_breaker):
            diffs.append(FieldDiff("properties.circuitBreaker", have_breaker, want_breaker))
        have_headers = (have.get("credentials") or {}).get("header") or {}
        want_headers = (want.get("credentials") or {}).get("header") or {}
        if {k.lower(): v for k, v in have_headers.items()} != {k.lower(): v for k, v in want_headers.items()}:
            diffs.append(
                FieldDiff("properties.credentials.header", have_headers or None, want_headers or None)
            )
        return diffs

    # ---- calls ------------------------------------------------------------------------------
    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self.client(clients).backend.get, *self.where(), self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return call(
            f"writing {self.describe()}",
            self.client(clients).backend.create_or_update,
            *self.where(),
            self.name,
            self.desired(),
            cls=raw_json,
        )

    def delete(self, clients: Any) -> Any:
        try:
            self.client(clients).backend.delete(*self.where(), self.name, if_match="*")
        except Exception as exc:
            if not is_not_found(exc):
                raise
        return None

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"url": get_path(current, "properties.url")}

    # ---- az ---------------------------------------------------------------------------------
    def az_create(self) -> list[AzCommand]:
        if self.breaker is None and self.credential_header is None:
            return [
                az(
                    "apim",
                    "backend",
                    "create",
                    *self.az_where(),
                    "--backend-id",
                    self.name,
                    "--url",
                    self.url,
                    "--protocol",
                    "http",
                    "--description",
                    self.description_text,
                )
            ]
        # az apim backend create has no flag for a circuit breaker or header credentials.
        return [az_rest("PUT", self.arm_id(), self.api_version, self.desired())]

    def az_delete(self) -> list[AzCommand]:
        return [az("apim", "backend", "delete", *self.az_where(), "--backend-id", self.name, "--yes")]


class BackendPool(ApimChild):
    """A pool of this service's backends, ``members`` as (backend id, priority)."""

    arm_type = BACKEND_TYPE
    collection = "backends"
    label = "API Management backend pool"

    def __init__(self, spec: Spec, *, members: list[tuple[str, int]], description: str, **kwargs: Any):
        super().__init__(spec, **kwargs)
        self.members = list(members)
        self.description_text = description

    def member_id(self, backend: str) -> str:
        return f"{service_id(self.spec, str(self.region))}/backends/{backend}"

    def services(self) -> list[dict[str, Any]]:
        return [
            {"id": self.member_id(name), "priority": priority, "weight": POOL_WEIGHT}
            for name, priority in self.members
        ]

    def desired(self) -> dict[str, Any]:
        return {
            "properties": {
                "description": self.description_text,
                "type": "Pool",
                "pool": {"services": self.services()},
            }
        }

    @staticmethod
    def _normal(services: Any) -> list[tuple[str, Any, Any]]:
        return sorted(
            (str(s.get("id") or "").lower(), s.get("priority"), s.get("weight"))
            for s in services or []
            if isinstance(s, dict)
        )

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        diffs: list[FieldDiff] = []
        if _type_of(current) != "pool":
            diffs.append(FieldDiff("properties.type", get_path(current, "properties.type"), "Pool"))
        have = get_path(current, "properties.pool.services")
        if self._normal(have) != self._normal(self.services()):
            shown = [(n, p) for n, p in self.members]
            diffs.append(FieldDiff("properties.pool.services", self._brief(have), shown))
        return diffs

    @staticmethod
    def _brief(services: Any) -> list[tuple[str, Any]]:
        """Members as (backend id, priority) for a reason line, not whole ARM ids."""
        return [(str(s.get("id") or "").rsplit("/", 1)[-1], s.get("priority")) for s in services or []]

    # ---- calls ------------------------------------------------------------------------------
    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self.client(clients).backend.get, *self.where(), self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return call(
            f"writing {self.describe()}",
            self.client(clients).backend.create_or_update,
            *self.where(),
            self.name,
            self.desired(),
            cls=raw_json,
        )

    def delete(self, clients: Any) -> Any:
        try:
            self.client(clients).backend.delete(*self.where(), self.name, if_match="*")
        except Exception as exc:
            if not is_not_found(exc):
                raise
        return None

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "members": [
                f"{name}:{priority}"
                for name, priority in self._brief(get_path(current, "properties.pool.services"))
            ]
        }

    # ---- az ---------------------------------------------------------------------------------
    def az_create(self) -> list[AzCommand]:
        # az apim backend create cannot make a pool.
        return [az_rest("PUT", self.arm_id(), self.api_version, self.desired())]

    def az_delete(self) -> list[AzCommand]:
        return [az("apim", "backend", "delete", *self.az_where(), "--backend-id", self.name, "--yes")]
