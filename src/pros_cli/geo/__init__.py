"""Geographic routing: Traffic Manager's geography codes and the deployment's mapping of regions
to geographies. Standard library only (``pros --help`` stays light)."""

from __future__ import annotations

from pros_cli.geo.mapping import (
    FAILOVER_SCOPES,
    ROUTING_METHODS,
    WORLD,
    Geography,
    Mapping,
    check_codes,
    check_routing,
    failover_scope,
    geographies,
    parse_mapping,
    routing_method,
    to_tokens,
)

__all__ = [
    "FAILOVER_SCOPES",
    "ROUTING_METHODS",
    "WORLD",
    "Geography",
    "Mapping",
    "check_codes",
    "check_routing",
    "failover_scope",
    "geographies",
    "parse_mapping",
    "routing_method",
    "to_tokens",
]
