"""The two kinds of Redis pros can deploy, their SKUs, and the checks on the Redis settings.

Pure data, like :mod:`pros_cli.spec` (which calls :func:`resolve_cache` and
:func:`validate_object_ids`): bad input fails here, before any Azure call.

- ``managed`` (default): Azure Managed Redis, ``Microsoft.Cache/redisEnterprise``. SKU names from
  the REST spec (azure-rest-api-specs, specification/redisenterprise/.../stable/2025-07-01/
  redisenterprise.json, definitions/Sku/name). The spec's enum also lists ``Enterprise_*`` and
  ``EnterpriseFlash_*``: those are the Enterprise tiers of Azure Cache for Redis, retiring
  2027-03-31, so they are not offered here.
- ``azure-cache-for-redis``: the retiring Azure Cache for Redis, ``Microsoft.Cache/redis``
  (Basic/Standard C0-C6, Premium P1-P5), kept for tenants that still have one.

``--redis-sku`` serves both kinds; what it accepts depends on ``--cache-kind``.
"""

from __future__ import annotations

import re

from pros_cli.errors import UsageError

MANAGED = "managed"
AZURE_CACHE = "azure-cache-for-redis"
CACHE_KINDS = (MANAGED, AZURE_CACHE)

# Azure Managed Redis SKUs: tier -> sizes (redisenterprise.json 2025-07-01, Sku.name).
MANAGED_TIERS: dict[str, tuple[str, ...]] = {
    "Balanced": (
        "B0",
        "B1",
        "B3",
        "B5",
        "B10",
        "B20",
        "B50",
        "B100",
        "B150",
        "B250",
        "B350",
        "B500",
        "B700",
        "B1000",
    ),
    "MemoryOptimized": (
        "M10",
        "M20",
        "M50",
        "M100",
        "M150",
        "M250",
        "M350",
        "M500",
        "M700",
        "M1000",
        "M1500",
        "M2000",
    ),
    "ComputeOptimized": ("X3", "X5", "X10", "X20", "X50", "X100", "X150", "X250", "X350", "X500", "X700"),
    "FlashOptimized": ("A250", "A500", "A700", "A1000", "A1500", "A2000", "A4500"),
}
MANAGED_SKUS = tuple(f"{tier}_{size}" for tier, sizes in MANAGED_TIERS.items() for size in sizes)
DEFAULT_MANAGED_SKU = "Balanced_B0"  # the smallest Balanced size

# Azure Cache for Redis: SKU -> family, and the capacities each family has.
AZURE_CACHE_SKUS = {"Basic": "C", "Standard": "C", "Premium": "P"}
AZURE_CACHE_CAPACITY = {"C": (0, 6), "P": (1, 5)}
DEFAULT_AZURE_CACHE_SKU = "Standard"
DEFAULT_AZURE_CACHE_CAPACITY = 1

RETIREMENT_NOTE = (
    "Azure Cache for Redis is retiring: Basic, Standard and Premium on 2028-09-30, Enterprise and "
    "Enterprise Flash on 2027-03-31, and Azure may refuse to create new caches before then. Its successor, "
    "Azure Managed Redis, is pros's default (drop --cache-kind azure-cache-for-redis for a new deployment)"
)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def managed_sku_list() -> str:
    """Every Managed Redis SKU, grouped by tier: ``Balanced_{B0,B1,...}, MemoryOptimized_{...}``."""
    return ", ".join(f"{tier}_{{{','.join(sizes)}}}" for tier, sizes in MANAGED_TIERS.items())


def resolve_cache(kind: str, sku: str | None, capacity: int | None) -> tuple[str, str, int | None]:
    """(kind, SKU, capacity) with each kind's defaults; a SKU or capacity that does not fit the
    kind is a UsageError naming what is allowed. Managed Redis sizes by SKU alone: capacity None."""
    if kind not in CACHE_KINDS:
        raise UsageError(f"unknown cache kind {kind!r}", hint=f"choose one of {', '.join(CACHE_KINDS)}")
    if kind == MANAGED:
        sku = sku or DEFAULT_MANAGED_SKU
        if sku not in MANAGED_SKUS:
            why = ""
            if sku in AZURE_CACHE_SKUS:
                why = f" ({sku} is an Azure Cache for Redis SKU: pass --cache-kind {AZURE_CACHE} for that)"
            raise UsageError(
                f"unsupported Managed Redis SKU {sku!r}{why}",
                hint=f"choose one of {managed_sku_list()}",
            )
        if capacity is not None:
            raise UsageError(
                "--redis-capacity applies to Azure Cache for Redis only; Azure Managed Redis is sized by its "
                "SKU (e.g. --redis-sku Balanced_B1)",
                hint=f"drop --redis-capacity, or pass --cache-kind {AZURE_CACHE}",
            )
        return kind, sku, None
    sku = sku or DEFAULT_AZURE_CACHE_SKU
    if sku not in AZURE_CACHE_SKUS:
        why = " (a Managed Redis SKU: drop --cache-kind for that)" if sku in MANAGED_SKUS else ""
        raise UsageError(
            f"unsupported Azure Cache for Redis SKU {sku!r}{why}",
            hint=f"choose one of {', '.join(AZURE_CACHE_SKUS)}",
        )
    capacity = DEFAULT_AZURE_CACHE_CAPACITY if capacity is None else capacity
    family = AZURE_CACHE_SKUS[sku]
    low, high = AZURE_CACHE_CAPACITY[family]
    if isinstance(capacity, bool) or not low <= capacity <= high:
        raise UsageError(
            f"invalid Redis capacity {capacity} for {sku}: {low} to {high} ({family}{low}-{family}{high})"
        )
    return kind, sku, capacity


def validate_object_ids(ids: list[str] | tuple[str, ...], what: str = "--usage-reader") -> tuple[str, ...]:
    """Microsoft Entra object ids (GUIDs), lowercased, each once, in the order given."""
    out: list[str] = []
    for raw in ids:
        value = str(raw).strip()
        if not _GUID.match(value):
            raise UsageError(
                f"invalid {what} {raw!r}: expected a Microsoft Entra object id (a GUID like "
                "00000000-0000-0000-0000-000000000000)",
                hint="your own: az ad signed-in-user show --query id --output tsv",
            )
        if value.lower() not in out:
            out.append(value.lower())
    return tuple(out)
