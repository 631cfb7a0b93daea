"""What Azure says can be deployed in one region: the model catalog and the quota left.

Pure data, parsed from the REST JSON of two ARM reads per region:

- ``GET /subscriptions/{s}/providers/Microsoft.CognitiveServices/locations/{loc}/models``
  (``models.list(location)``): per model version its ``lifecycleStatus``, ``deprecation.inference``
  (the retirement date: inference stops), ``replacementConfig``, ``capabilities`` and, per
  deployment type (SKU), its capacity bounds, the quota it draws on (``usageName``) and a
  ``deprecationDate`` (from then on no new deployments). Azure lists OpenAI-format models under
  several account kinds; pros deploys to ``kind: OpenAI`` accounts and keeps only those.
- ``GET .../locations/{loc}/usages`` (``usages.list(location)``): per quota its limit and the
  capacity the subscription's deployments hold (``currentValue``).

Lifecycle (Microsoft's terms, concepts/model-retirements.md): a *deprecated* model takes no new
customers but keeps serving existing deployments until it is *retired*, after which every call
fails. The catalog says so with ``lifecycleStatus`` (``Deprecating``: no new deployments;
``Deprecated``/``Legacy``: gone) and with the dates, which pros also checks against its own clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GA_STATUSES = ("generallyavailable", "stable")
CLOSED_STATUSES = ("deprecating",)  # no new deployments, existing ones serve
GONE_STATUSES = ("deprecated", "legacy")  # retired
CHAT = "chatCompletion"
EMBEDDINGS = "embeddings"
ACCOUNT_KIND = "OpenAI"
MODEL_FORMAT = "OpenAI"


def parse_day(value: Any) -> dt.date | None:
    """ARM timestamps ("2026-03-31T00:00:00Z", "...+09:00") as the calendar day they name."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def version_key(version: str) -> tuple[int, str]:
    """Order versions: dates ("2025-12-11") after plain numbers ("2"), each in its own order."""
    if parse_day(version) is not None:
        return (2, version)
    if version.isdigit():
        return (1, version.rjust(12, "0"))
    return (0, version)


@dataclass(frozen=True)
class SkuOffer:
    """One deployment type (SKU) a model version is offered with in a region."""

    name: str
    usage_name: str | None = None
    max_capacity: int | None = None
    default_capacity: int | None = None
    deprecation: dt.date | None = None  # from this day on, no new deployments with this SKU


@dataclass(frozen=True)
class ModelOffer:
    """One model version in one region's catalog."""

    model: str
    version: str
    lifecycle: str = "GenerallyAvailable"
    is_default: bool = False
    capabilities: frozenset[str] = frozenset()
    skus: tuple[SkuOffer, ...] = ()
    retirement: dt.date | None = None  # deprecation.inference: from this day on it does not serve
    retirement_tentative: bool = False
    replacement: str | None = None  # "gpt-5.1" or "gpt-5.1 2025-11-13"
    released: dt.date | None = None

    @property
    def label(self) -> str:
        return f"{self.model} {self.version}"

    @property
    def generally_available(self) -> bool:
        return self.lifecycle.lower() in GA_STATUSES

    def sku(self, name: str) -> SkuOffer | None:
        return next((s for s in self.skus if s.name.lower() == name.lower()), None)

    @property
    def sku_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.skus)

    def retired(self, today: dt.date) -> bool:
        if self.lifecycle.lower() in GONE_STATUSES:
            return True
        return self.retirement is not None and self.retirement <= today

    def closed_from(self, sku: str | None = None) -> dt.date | None:
        """The day new deployments stop (of this SKU, or of any SKU when None)."""
        offers = [self.sku(sku)] if sku else list(self.skus)
        days = [s.deprecation for s in offers if s is not None and s.deprecation is not None]
        return min(days) if days else None

    def closed_for_new(self, today: dt.date, sku: str | None = None) -> bool:
        """No new deployment (or move to this version) is accepted: deprecated or retired."""
        if self.retired(today) or self.lifecycle.lower() in CLOSED_STATUSES:
            return True
        closed = self.closed_from(sku)
        return closed is not None and closed <= today

    def open_for_new(self, today: dt.date, sku: str) -> bool:
        return self.sku(sku) is not None and not self.closed_for_new(today, sku)

    def state(self, today: dt.date, sku: str | None = None) -> str:
        """One word for tables: retired, deprecated, preview or available."""
        if self.retired(today):
            return "retired"
        if self.closed_for_new(today, sku):
            return "deprecated"
        return "available" if self.generally_available else self.lifecycle.lower()

    def retirement_text(self) -> str:
        if self.retirement is None:
            return "no retirement date"
        prefix = "no earlier than " if self.retirement_tentative else ""
        return f"{prefix}{self.retirement.isoformat()}"


@dataclass(frozen=True)
class Quota:
    """One quota of the subscription in one region (thousands of tokens per minute)."""

    name: str
    limit: int
    used: int
    label: str = ""

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True)
class DeployedModel:
    """A model deployment that exists on the deployment's OpenAI account in a region."""

    name: str
    model: str
    version: str
    sku: str
    capacity: int


@dataclass(frozen=True)
class RegionCatalog:
    """Everything pros knows about one region before writing: offers, quotas, what is deployed."""

    region: str
    offers: tuple[ModelOffer, ...] = ()
    quotas: Mapping[str, Quota] = field(default_factory=dict)  # by lowercase usage name
    deployed: Mapping[str, DeployedModel] = field(default_factory=dict)  # by lowercase deployment name

    def offer(self, model: str, version: str) -> ModelOffer | None:
        return next((o for o in self.offers if o.model == model and o.version == version), None)

    def versions(self, model: str) -> list[ModelOffer]:
        """The model's versions here, newest first."""
        found = [o for o in self.offers if o.model == model]
        return sorted(found, key=lambda o: version_key(o.version), reverse=True)

    def quota(self, usage_name: str | None) -> Quota | None:
        return self.quotas.get(usage_name.lower()) if usage_name else None

    def quota_left(self, offer: ModelOffer, sku: str) -> int | None:
        found = offer.sku(sku)
        quota = self.quota(found.usage_name if found else None)
        return quota.left if quota else None

    def deployment(self, name: str) -> DeployedModel | None:
        return self.deployed.get(name.lower())


# ---- parsing the REST JSON ----------------------------------------------------------------------------
def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _capabilities(raw: Any) -> frozenset[str]:
    if not isinstance(raw, dict):
        return frozenset()
    return frozenset(k for k, v in raw.items() if str(v).lower() == "true")


def _replacement(raw: Any) -> str | None:
    if not isinstance(raw, dict) or not raw.get("targetModelName"):
        return None
    version = raw.get("targetModelVersion")
    return f"{raw['targetModelName']} {version}" if version else str(raw["targetModelName"])


def parse_offer(item: dict[str, Any]) -> ModelOffer | None:
    """One ``value`` entry of the models list; None for what an OpenAI account cannot deploy."""
    if str(item.get("kind") or "").lower() != ACCOUNT_KIND.lower():
        return None
    model = item.get("model") or {}
    if str(model.get("format") or "").lower() != MODEL_FORMAT.lower() or not model.get("name"):
        return None
    skus = tuple(
        SkuOffer(
            name=str(s.get("name")),
            usage_name=s.get("usageName"),
            max_capacity=_int((s.get("capacity") or {}).get("maximum")),
            default_capacity=_int((s.get("capacity") or {}).get("default")),
            deprecation=parse_day(s.get("deprecationDate")),
        )
        for s in model.get("skus") or []
        if s.get("name")
    )
    deprecation = model.get("deprecation") or {}
    return ModelOffer(
        model=str(model["name"]),
        version=str(model.get("version") or ""),
        lifecycle=str(model.get("lifecycleStatus") or "GenerallyAvailable"),
        is_default=bool(model.get("isDefaultVersion")),
        capabilities=_capabilities(model.get("capabilities")),
        skus=skus,
        retirement=parse_day(deprecation.get("inference")),
        retirement_tentative=str(deprecation.get("deprecationStatus") or "").lower() == "tentative",
        replacement=_replacement(model.get("replacementConfig")),
        released=parse_day((model.get("systemData") or {}).get("createdAt")),
    )


def parse_offers(items: Iterable[dict[str, Any]]) -> tuple[ModelOffer, ...]:
    seen: dict[tuple[str, str], ModelOffer] = {}
    for item in items:
        offer = parse_offer(item)
        if offer is not None:
            seen.setdefault((offer.model, offer.version), offer)
    return tuple(seen.values())


def parse_quotas(items: Iterable[dict[str, Any]]) -> dict[str, Quota]:
    out: dict[str, Quota] = {}
    for item in items:
        name = (item.get("name") or {}).get("value")
        limit = _int(item.get("limit"))
        if not name or limit is None:
            continue
        out[str(name).lower()] = Quota(
            name=str(name),
            limit=limit,
            used=_int(item.get("currentValue")) or 0,
            label=str((item.get("name") or {}).get("localizedValue") or ""),
        )
    return out


def parse_deployed(items: Iterable[dict[str, Any]]) -> dict[str, DeployedModel]:
    out: dict[str, DeployedModel] = {}
    for item in items:
        model = ((item.get("properties") or {}).get("model")) or {}
        sku = item.get("sku") or {}
        if not item.get("name") or not model.get("name"):
            continue
        out[str(item["name"]).lower()] = DeployedModel(
            name=str(item["name"]),
            model=str(model["name"]),
            version=str(model.get("version") or ""),
            sku=str(sku.get("name") or ""),
            capacity=_int(sku.get("capacity")) or 0,
        )
    return out
