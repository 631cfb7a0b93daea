"""Latency profiles: how long simulated long-running operations take, per resource type.

An operation completes once it has been polled ``polls`` times *and* ``seconds`` have passed.
``instant`` (tests) needs a few polls and no wall time; ``realistic`` keeps Azure's proportions
(API Management slowest by far) scaled down 100x so a benchmark finishes in a minute.
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
    # Data-plane access a new role assignment grants (API Management reading a Key Vault secret)
    # takes effect this many seconds after the assignment; Azure says up to about 10 minutes.
    rbac_propagation_seconds: float = 0.0

    def for_type(self, arm_type: str, kind: str) -> OpLatency:
        t = arm_type.lower()
        return self.per_type.get(f"{t}:{kind}") or self.per_type.get(t) or self.default


def _realistic() -> LatencyProfile:
    """Typical Azure durations divided by 100: API Management Developer ~35 min -> 21 s, Azure
    Cache for Redis Standard ~18 min -> 10.8 s, an Azure Managed Redis cluster ~10 min -> 6 s and
    its database ~2 min -> 1.2 s, an OpenAI account or deployment ~1 min -> 0.6 s, storage and
    Event Grid ~30 s -> 0.3 s. Every request also takes 20 ms (more than ARM's share at this
    scale, so pros's own overhead is not flattered)."""
    table = {
        "microsoft.apimanagement/service": OpLatency(1, 21.0),
        "microsoft.apimanagement/service:delete": OpLatency(1, 6.0),
        "microsoft.cache/redis": OpLatency(1, 10.8),
        "microsoft.cache/redisenterprise": OpLatency(1, 6.0),
        "microsoft.cache/redisenterprise:delete": OpLatency(1, 3.0),
        "microsoft.cache/redisenterprise/databases": OpLatency(1, 1.2),
        "microsoft.cognitiveservices/accounts": OpLatency(1, 0.6),
        "microsoft.cognitiveservices/accounts/deployments": OpLatency(1, 0.6),
        "microsoft.storage/storageaccounts": OpLatency(1, 0.3),
        "microsoft.web/serverfarms": OpLatency(1, 0.2),
        "microsoft.web/sites": OpLatency(1, 0.5),
        "microsoft.eventgrid/topics": OpLatency(1, 0.3),
        "microsoft.resources/resourcegroups:delete": OpLatency(1, 3.0),
    }
    return LatencyProfile(
        "realistic",
        default=OpLatency(1, 0.2),
        per_type=table,
        request_seconds=0.02,
        poll_interval=0.1,
        throttle_retry_after=0.05,
        rbac_propagation_seconds=6.0,  # ~10 minutes / 100
    )


PROFILES: dict[str, LatencyProfile] = {
    "instant": LatencyProfile("instant", default=OpLatency(2, 0.0)),
    # Every long-running operation needs several polls: exercises polling and resume paths.
    "slow-polls": LatencyProfile("slow-polls", default=OpLatency(6, 0.0)),
    "realistic": _realistic(),
    # Every request takes 0.3 s: requests issued together overlap, requests issued one after the
    # other do not, so a test can see from the request log whether reads went out in one round.
    "slow-requests": LatencyProfile("slow-requests", default=OpLatency(2, 0.0), request_seconds=0.3),
    # Long-running operations never finish within a test: for --no-wait, Ctrl-C and locking tests.
    "stuck": LatencyProfile("stuck", default=OpLatency(1, 3600.0), poll_interval=0.05),
}
