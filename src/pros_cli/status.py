"""Status: every resource the deployment has, read in one parallel round, with its health and
any drift from the deployment's settings.

The resources come from the graph the recorded settings describe (what the deployment should
have), limited to what this deployment has made: provision's resources always, the parts of
later commands (backends, policies, functions) once the state file records any of them. Each is
read, and probed where Azure exposes health (the gateway's status path, Traffic Manager's probes,
an app's state), all at once: the whole deployment takes one round of reads.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pros_cli.azure.errors import describe, is_auth_error
from pros_cli.engine.dag import NodeFailed, NodeResult, run_dag
from pros_cli.resources.base import Resource

MAX_READS_IN_FLIGHT = 64  # ARM allows 250 reads per burst per principal and region


@dataclass
class Row:
    key: str
    resource: Resource
    state: str  # provisioning state, "missing" or "unknown"
    health: str  # ok | pending | degraded | missing | unknown
    detail: str
    drift: list[str] = field(default_factory=list)
    current: dict[str, Any] | None = None

    @property
    def problem(self) -> bool:
        return self.health in ("degraded", "missing") or bool(self.drift)

    def to_json(self) -> dict[str, Any]:
        r = self.resource
        return {
            "key": self.key,
            "kind": r.label,
            "type": r.arm_type,
            "name": r.name,
            "id": r.arm_id(),
            "region": r.region,
            "state": self.state,
            "health": self.health,
            "detail": self.detail,
            "drift": list(self.drift),
        }


@dataclass
class Report:
    rows: list[Row]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    auth_failed: bool = False
    routing: dict[str, Any] | None = None  # how Traffic Manager routes it (routing_view)

    @property
    def healthy(self) -> bool:
        return not self.errors and not any(r.problem or r.health == "unknown" for r in self.rows)

    def counts(self) -> dict[str, int]:
        out = {"ok": 0, "pending": 0, "degraded": 0, "missing": 0, "unknown": 0, "drifted": 0}
        for row in self.rows:
            out[row.health] = out.get(row.health, 0) + 1
            if row.drift:
                out["drifted"] += 1
        return out


def _read_one(r: Resource, clients: Any) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    current = r.read(clients)
    if current is None:
        return None, None
    return current, r.health(current, clients)


def collect(
    resources: Sequence[Resource],
    *,
    clients: Any,
    recorded: Mapping[str, Mapping[str, Any]],
    stop: threading.Event | None = None,
) -> Report:
    """Read and probe every resource at once, then diff each against the desired state."""
    by_key = {r.key: r for r in resources}

    def node(key: str, _results: Mapping[str, NodeResult]) -> Any:
        r = by_key[key]
        remember = getattr(r, "remember", None)  # kinds whose health needs their state entry
        if remember is not None:
            remember(recorded.get(key))
        try:
            return _read_one(r, clients)
        except Exception as exc:
            if is_auth_error(exc):
                raise NodeFailed("auth:" + describe(exc)) from exc
            raise NodeFailed(f"reading {r.describe()} failed: {describe(exc)}") from exc

    width = max(1, min(MAX_READS_IN_FLIGHT, len(by_key)))
    results = run_dag({k: () for k in by_key}, node, parallelism=width, stop=stop)
    bodies = {k: (res.value or (None, None))[0] for k, res in results.items() if res.status == "succeeded"}
    report = Report(rows=[])
    for r in resources:
        r.inputs = {d: bodies.get(d) for d in r.depends_on}
    for r in resources:
        result = results[r.key]
        if result.status != "succeeded":
            error = result.error or result.status
            if error.startswith("auth:"):
                report.auth_failed = True
                error = error[len("auth:") :]
            if error not in report.errors:
                report.errors.append(error)
            report.rows.append(Row(r.key, r, "unknown", "unknown", error))
            continue
        current, health = result.value
        if current is None:
            report.rows.append(Row(r.key, r, "missing", "missing", "not found in Azure"))
            continue
        level, detail = health or ("ok", "")
        state = r.provisioning_state(current) or "-"
        entry = recorded.get(r.key) or {}
        adopted = entry.get("origin") == "pre-existing"
        drift: list[str] = []
        if not r.external:
            if not r.is_ours(current) and not adopted:
                drift.append("lacks this deployment's tags (a look-alike, or its tags were removed)")
            drift += [d.reason() for d in r.diff(current, adopted=adopted)]
        report.rows.append(Row(r.key, r, state, level, detail, drift, current))
    return report


def routing_view(spec: Any, rows: Sequence[Row]) -> dict[str, Any]:
    """How Traffic Manager routes the deployment: the method, the failover scope and, with
    geographic routing, each geography (its codes, regions, endpoint and that endpoint's probe
    status; a nested endpoint's status is what Traffic Manager computes from its child profile)."""
    from pros_cli.resources.traffic_manager_geo import endpoint_key, nested_key

    by_key = {row.key: row for row in rows}
    geographies = []
    for geography in spec.geographies:
        key = nested_key(geography) if geography.nested else endpoint_key(geography.regions[0])
        row = by_key.get(key)
        status = (row.current or {}).get("properties", {}).get("endpointMonitorStatus") if row else None
        geographies.append(
            {
                "name": geography.name,
                "codes": list(geography.codes),
                "regions": list(geography.regions),
                "endpoint": row.resource.name if row else None,
                "nested": geography.nested,
                "profile": getattr(getattr(row.resource, "child", None), "name", None) if row else None,
                "endpoint_status": status or (row.health if row else "unknown"),
            }
        )
    return {
        "method": spec.routing_method,
        "failover_scope": spec.failover_scope,
        "geographies": geographies,
        "regions": {
            region: (spec.geography_of(region).name if spec.geography_of(region) else None)
            for region in spec.regions
        },
    }
