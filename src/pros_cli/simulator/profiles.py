"""Latency profiles: how long simulated long-running operations take, per resource type.

An operation completes once it has been polled ``polls`` times *and* ``seconds`` have passed.
``instant`` (tests) needs a few polls and no wall time; ``realistic`` keeps Azure's proportions
(API Management slowest by far) scaled down about 300x so a benchmark finishes in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OpLatency:
    polls: int = 2
    seconds: float = 0.0


@dataclass(frozen=True)
class LatencyProfile:
    name: str
    default: OpLatency = OpLatency()
    per_type: dict[str, OpLatency] = field(default_factory=dict)  # key: "type" or "type:kind"
    request_seconds: float = 0.0  # network round trip added to every request
    poll_interval: float = 0.0  # Retry-After sent with long-running operations
    throttle_retry_after: float = 0.0  # Retry-After sent with injected 429s
    # Role assignments naming a new managed identity fail with PrincipalNotFound this many times
    # before Entra ID "replicates" it.
    principal_replication: int = 1

    def for_type(self, arm_type: str, kind: str) -> OpLatency:
        t = arm_type.lower()
        return self.per_type.get(f"{t}:{kind}") or self.per_type.get(t) or self.default


def _realistic() -> LatencyProfile:
    # Real-world minutes scaled to seconds / ~300: APIM Developer 30-45 min -> ~7 s.
    table = {
        "microsoft.apimanagement/service": OpLatency(1, 7.0),
        "microsoft.apimanagement/service:delete": OpLatency(1, 2.0),
        "microsoft.cognitiveservices/accounts": OpLatency(1, 0.4),
        "microsoft.cognitiveservices/accounts/deployments": OpLatency(1, 0.4),
        "microsoft.storage/storageaccounts": OpLatency(1, 0.3),
        "microsoft.web/serverfarms": OpLatency(1, 0.2),
        "microsoft.web/sites": OpLatency(1, 0.4),
        "microsoft.cache/redis": OpLatency(1, 3.0),
        "microsoft.eventgrid/topics": OpLatency(1, 0.3),
        "microsoft.resources/resourcegroups:delete": OpLatency(1, 1.0),
    }
    return LatencyProfile(
        "realistic",
        default=OpLatency(1, 0.2),
        per_type=table,
        request_seconds=0.02,
        poll_interval=0.05,
        throttle_retry_after=0.05,
    )


PROFILES: dict[str, LatencyProfile] = {
    "instant": LatencyProfile("instant", default=OpLatency(2, 0.0)),
    # Every long-running operation needs several polls: exercises polling and resume paths.
    "slow-polls": LatencyProfile("slow-polls", default=OpLatency(6, 0.0)),
    "realistic": _realistic(),
    # Long-running operations never finish within a test: for --no-wait, Ctrl-C and locking tests.
    "stuck": LatencyProfile("stuck", default=OpLatency(1, 3600.0), poll_interval=0.05),
}
