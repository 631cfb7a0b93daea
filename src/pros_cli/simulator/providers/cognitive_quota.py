"""Azure OpenAI quota: tokens per minute per subscription, region, model and deployment type.

Azure counts the capacity of every deployment of a model and SKU in a region (any version) against
one quota, named in the model catalog as a SKU's ``usageName`` (``OpenAI.<SKU>.<model>``) and
listed with the usage in ``GET .../locations/{loc}/usages`` (``usages.list(location)``; shape of
azure-rest-api-specs .../stable/2025-09-01/examples/ListUsages.json). A deployment that needs more
than the quota left fails with 400 InsufficientQuota. Tests set limits with :func:`set_quota`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pros_cli import regions
from pros_cli.simulator.core import DEFAULT_SUBSCRIPTION, ArmError, ArmPath
from pros_cli.simulator.providers import cognitive_catalog as catalog

if TYPE_CHECKING:
    from pros_cli.simulator.core import Simulator

ACCOUNT_TYPE = "Microsoft.CognitiveServices/accounts"
DEPLOYMENT_TYPE = "Microsoft.CognitiveServices/accounts/deployments"
# Thousands of tokens per minute per subscription, region, model and SKU unless a test sets it.
DEFAULT_QUOTA = 1000
# ListUsages.json: the subscription's account limit per region.
ACCOUNT_LIMIT = 200


def region_of(location: str) -> str:
    return regions.normalize(location) or location.replace(" ", "").lower()


def _quota_key(subscription: str, region: str, model: str, sku: str) -> str:
    return "|".join((subscription.lower(), region_of(region), model.lower(), sku.lower()))


def set_quota(
    sim: Simulator, region: str, model: str, sku: str, limit: int, *, subscription: str = DEFAULT_SUBSCRIPTION
) -> None:
    """Set the tokens-per-minute quota (thousands) for one model and SKU in one region."""
    with sim.transaction():
        sim.db.setdefault("cognitive_quota", {})[_quota_key(subscription, region, model, sku)] = int(limit)


def quota_limit(sim: Simulator, subscription: str, region: str, model: str, sku: str) -> int:
    key = _quota_key(subscription, region, model, sku)
    return int(sim.db.get("cognitive_quota", {}).get(key, DEFAULT_QUOTA))


def quota_name(model: str, sku: str) -> str:
    """The quota's localized name, as InsufficientQuota messages spell it."""
    name = f"Tokens Per Minute (thousands) - {catalog.display_name(model)}"
    return name if sku == "Standard" else f"{name} - {sku}"


def deployment_region(sim: Simulator, deployment_id: str) -> str:
    account = sim.get_resource(deployment_id.rsplit("/", 2)[0])
    return region_of((account or {}).get("body", {}).get("location") or "")


def usage(sim: Simulator, subscription: str, region: str, model: str, sku: str) -> dict[str, int]:
    """Capacity each deployment of this model and SKU holds in the region, by deployment id."""
    out: dict[str, int] = {}
    prefix = f"/subscriptions/{subscription}/".lower()
    for stored in sim.resources_of_type(DEPLOYMENT_TYPE):
        body = stored["body"]
        if not body["id"].lower().startswith(prefix):
            continue
        model_name = ((body.get("properties") or {}).get("model") or {}).get("name")
        sku_name = (body.get("sku") or {}).get("name")
        if model_name != model or sku_name != sku or deployment_region(sim, body["id"]) != region:
            continue
        out[body["id"].lower()] = int((body.get("sku") or {}).get("capacity") or 0)
    return out


def check_quota(sim: Simulator, parsed: ArmPath, model: str, sku: str, capacity: int) -> None:
    region = deployment_region(sim, parsed.resource_id)
    held = usage(sim, parsed.subscription, region, model, sku)
    needed = capacity - held.get(parsed.resource_id.lower(), 0)
    if needed <= 0:
        return
    used = sum(held.values())
    limit = quota_limit(sim, parsed.subscription, region, model, sku)
    available = max(limit - used, 0)
    if needed > available:
        quota = quota_name(model, sku)
        raise ArmError(
            400,
            "InsufficientQuota",
            f"This operation require {needed} new capacity in quota {quota}, which is bigger than the "
            f"current available capacity {available}. The current quota usage is {used} and the quota "
            f"limit is {limit} for quota {quota}.",
        )


def location_usages(sim: Simulator, subscription: str, region: str) -> list[dict[str, Any]]:
    """The ``value`` of a usages answer: the account count, then one entry per token quota of the
    models offered in the region, each with the capacity the subscription's deployments hold."""
    region = region_of(region)
    prefix = f"/subscriptions/{subscription}/".lower()
    accounts = [
        s
        for s in sim.resources_of_type(ACCOUNT_TYPE)
        if s["body"]["id"].lower().startswith(prefix) and region_of(s["body"].get("location") or "") == region
    ]
    out: list[dict[str, Any]] = [
        {
            "name": {"value": "AccountCount", "localizedValue": "Cognitive Services total account limit"},
            "currentValue": len(accounts),
            "limit": ACCOUNT_LIMIT,
            "unit": "Count",
        }
    ]
    for model, sku in catalog.usage_names(region):
        out.append(
            {
                "name": {"value": catalog.usage_name(model, sku), "localizedValue": quota_name(model, sku)},
                "currentValue": sum(usage(sim, subscription, region, model, sku).values()),
                "limit": quota_limit(sim, subscription, region, model, sku),
                "unit": "Count",
            }
        )
    return out
