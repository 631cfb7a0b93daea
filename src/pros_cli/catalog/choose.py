"""Deciding which models to deploy, and whether they can be deployed, from the regional catalogs.

Pure functions over :mod:`pros_cli.catalog.offers` (no I/O), so every rule is unit-testable:

- :func:`resolve_models`: a request without a version becomes the newest generally available
  version that every region offers with the requested SKU and still opens to new deployments; a
  request for "a current chat model" becomes the newest such model with the chatCompletion
  capability. A version recorded by an earlier run (``pinned``) wins over a newer one: a re-run
  never upgrades silently.
- :func:`check_deployments`: before any write, every region must offer each model version with its
  SKU, open to new deployments, and have the quota the deployment needs (what it already holds is
  not needed again). An existing deployment of a since-deprecated version is only warned about: it
  keeps serving until its retirement date.
- :func:`lifecycle_warnings`: for deployed models, what retires or closes within 60 days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pros_cli.catalog.offers import CHAT, EMBEDDINGS, DeployedModel, ModelOffer, RegionCatalog, version_key
from pros_cli.errors import UsageError
from pros_cli.spec import ModelDeployment

DEFAULT_SKU = "GlobalStandard"
DEFAULT_CAPACITY = 30
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
ROLES = {"chat": CHAT, "embeddings": EMBEDDINGS}
WARN_DAYS = 60
MODELS_HINT = "`pros models -l {regions}` lists what each region offers, with retirement dates and quota left"


@dataclass(frozen=True)
class ModelRequest:
    """A model deployment as asked for: ``model`` None means "a current model for ``role``"."""

    model: str | None
    version: str | None = None
    name: str | None = None
    sku: str = DEFAULT_SKU
    capacity: int = DEFAULT_CAPACITY
    role: str | None = None

    def describe(self) -> str:
        if self.model is None:
            return f"a current {self.role} model"
        text = self.model + (f":{self.version}" if self.version else "")
        return f"{self.name}={text}" if self.name and self.name != self.model else text


DEFAULT_REQUESTS = (ModelRequest(None, role="chat"), ModelRequest(DEFAULT_EMBEDDING_MODEL))


def request_of(model: ModelDeployment) -> ModelRequest:
    """A spec model deployment as a request (an empty version means "resolve it")."""
    return ModelRequest(model.model, model.version or None, model.name, model.sku, model.capacity)


@dataclass
class Findings:
    """What the preflight found: errors stop the run before any write; warnings do not."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _regions(catalogs: Mapping[str, RegionCatalog]) -> str:
    return " -l ".join(catalogs)


def _open_everywhere(
    catalogs: Mapping[str, RegionCatalog], model: str, version: str, sku: str, today: dt.date
) -> bool:
    for catalog in catalogs.values():
        offer = catalog.offer(model, version)
        if offer is None or not offer.generally_available or not offer.open_for_new(today, sku):
            return False
    return True


def _release_key(offer: ModelOffer) -> tuple[str, tuple[int, str], str]:
    released = offer.released.isoformat() if offer.released else ""
    return (released, version_key(offer.version), offer.model)


def choose_version(
    catalogs: Mapping[str, RegionCatalog], model: str, sku: str, today: dt.date
) -> ModelOffer | None:
    """The newest GA version of ``model`` every region offers with ``sku``, open to new deployments."""
    first = next(iter(catalogs.values()))
    for offer in first.versions(model):
        if _open_everywhere(catalogs, model, offer.version, sku, today):
            return offer
    return None


def choose_model(
    catalogs: Mapping[str, RegionCatalog], capability: str, sku: str, today: dt.date
) -> ModelOffer | None:
    """The newest GA model version with ``capability`` that every region offers with ``sku``."""
    first = next(iter(catalogs.values()))
    candidates = [
        o
        for o in first.offers
        if capability in o.capabilities and _open_everywhere(catalogs, o.model, o.version, sku, today)
    ]
    return max(candidates, key=_release_key, default=None)


def _pinned_for_role(
    pinned: Mapping[str, ModelDeployment],
    catalogs: Mapping[str, RegionCatalog],
    capability: str,
    taken: set[str],
) -> ModelDeployment | None:
    """An earlier run's deployment that served this role: a model version with the capability."""
    for recorded in pinned.values():
        if recorded.name.lower() in taken or not recorded.version:
            continue
        for catalog in catalogs.values():
            offer = catalog.offer(recorded.model, recorded.version)
            if offer is not None and capability in offer.capabilities:
                return recorded
    return None


def resolve_models(
    requested: Sequence[ModelRequest | ModelDeployment],
    catalogs: Mapping[str, RegionCatalog],
    pinned: Mapping[str, ModelDeployment] | None = None,
    *,
    today: dt.date,
) -> tuple[ModelDeployment, ...]:
    """Concrete model deployments for ``requested`` in every region of ``catalogs``.

    ``pinned``: the deployments an earlier run recorded, by deployment name. A request without a
    version keeps the recorded version of the same model; a role request ("a current chat model")
    keeps a recorded deployment of a model with that capability. Nothing is resolved to a version
    that is not open to new deployments in every region; when nothing qualifies, a UsageError names
    the regions and what they offer instead.
    """
    if not catalogs:
        raise ValueError("resolve_models needs the catalog of at least one region")
    pinned = {k.lower(): v for k, v in (pinned or {}).items()}
    out: list[ModelDeployment] = []
    taken: set[str] = {r.name.lower() for r in map(_as_request, requested) if r.name}
    for raw in requested:
        request = _as_request(raw)
        if request.model is None:
            capability = ROLES[request.role or "chat"]
            kept = _pinned_for_role(pinned, catalogs, capability, taken)
            if kept is not None:
                taken.add(kept.name.lower())
                out.append(
                    ModelDeployment(kept.name, kept.model, kept.version, request.sku, request.capacity)
                )
                continue
            chosen = choose_model(catalogs, capability, request.sku, today)
            if chosen is None:
                raise _nothing_for_role(request, catalogs, capability, today)
            name = request.name or chosen.model
            taken.add(name.lower())
            out.append(ModelDeployment(name, chosen.model, chosen.version, request.sku, request.capacity))
            continue
        name = request.name or request.model
        version = request.version
        recorded = pinned.get(name.lower())
        if not version and recorded is not None and recorded.model == request.model and recorded.version:
            version = recorded.version
        if not version:
            chosen = choose_version(catalogs, request.model, request.sku, today)
            if chosen is None:
                raise _no_version(request, catalogs, today)
            version = chosen.version
        out.append(ModelDeployment(name, request.model, version, request.sku, request.capacity))
    return tuple(out)


def _as_request(raw: ModelRequest | ModelDeployment) -> ModelRequest:
    return raw if isinstance(raw, ModelRequest) else request_of(raw)


# ---- checking a deployment's models ----------------------------------------------------------------------
def check_deployments(
    models: Sequence[ModelDeployment], catalogs: Mapping[str, RegionCatalog], *, today: dt.date
) -> Findings:
    """Every reason the model deployments cannot be made as specified, per region, before any write."""
    findings = Findings()
    for region, catalog in catalogs.items():
        needed: dict[str, int] = {}  # usage name -> new capacity this run needs
        for m in models:
            offer = catalog.offer(m.model, m.version)
            existing = catalog.deployment(m.name)
            same = existing is not None and (existing.model, existing.version) == (m.model, m.version)
            if same and offer is not None and offer.closed_for_new(today):
                findings.warnings.append(_keeps_serving(region, m, offer, today))
            if same and offer is None:
                findings.warnings.append(
                    f"{region}: the existing deployment {m.name} ({m.model} {m.version}) is no longer in the "
                    f"region's model catalog (retired?): {_upgrade_hint(m)}"
                )
                continue
            problem = _offer_problem(region, m, offer, today, new=not same)
            if problem:
                findings.errors.append(problem + _alternatives(catalog, m, today))
                continue
            assert offer is not None
            sku = offer.sku(m.sku)
            assert sku is not None
            if sku.max_capacity is not None and m.capacity > sku.max_capacity:
                findings.errors.append(
                    f"{region}: {m.name} asks for capacity {m.capacity}, more than {offer.label} allows with "
                    f"{m.sku} ({sku.max_capacity})"
                )
                continue
            held = existing.capacity if existing and _same_quota(catalog, existing, sku.usage_name) else 0
            if sku.usage_name:
                key = sku.usage_name.lower()
                needed[key] = needed.get(key, 0) + max(m.capacity - held, 0)
        findings.errors.extend(_quota_problems(region, catalog, models, needed))
    return findings


def _same_quota(catalog: RegionCatalog, existing: DeployedModel, usage_name: str | None) -> bool:
    offer = catalog.offer(existing.model, existing.version) or next(
        iter(catalog.versions(existing.model)), None
    )
    sku = offer.sku(existing.sku) if offer else None
    return bool(sku and usage_name and sku.usage_name and sku.usage_name.lower() == usage_name.lower())


def _offer_problem(
    region: str, m: ModelDeployment, offer: ModelOffer | None, today: dt.date, *, new: bool
) -> str:
    what = f"{region}: {m.name} ({m.model} {m.version}, {m.sku})"
    if offer is None:
        return f"{what}: {m.model} {m.version} is not offered in {region}"
    if new and offer.retired(today):
        return f"{what}: {offer.label} was retired on {offer.retirement_text()}{_replaced(offer)}"
    if new and offer.closed_for_new(today, m.sku):
        since = offer.closed_from(m.sku)
        when = f" since {since.isoformat()}" if since else ""
        return (
            f"{what}: {offer.label} is deprecated for new deployments{when} and retires "
            f"{offer.retirement_text()}{_replaced(offer)}"
        )
    if offer.sku(m.sku) is None:
        offered = ", ".join(offer.sku_names) or "none"
        return f"{what}: {offer.label} is not offered with SKU {m.sku} in {region} (offered: {offered})"
    return ""


def _replaced(offer: ModelOffer) -> str:
    return f"; Azure names {offer.replacement} as its replacement" if offer.replacement else ""


def _upgrade_hint(m: ModelDeployment) -> str:
    return f"choose a current version with --model {m.name}={m.model}:VERSION (or another model)"


def _keeps_serving(region: str, m: ModelDeployment, offer: ModelOffer, today: dt.date) -> str:
    if offer.retired(today):
        return (
            f"{region}: the existing deployment {m.name} ({offer.label}) was retired on "
            f"{offer.retirement_text()} and no longer serves{_replaced(offer)}: {_upgrade_hint(m)}"
        )
    since = offer.closed_from()
    when = f" since {since.isoformat()}" if since else ""
    return (
        f"{region}: the existing deployment {m.name} ({offer.label}) is deprecated for new "
        f"deployments{when}; it keeps serving until it retires {offer.retirement_text()}{_replaced(offer)}"
    )


def _quota_problems(
    region: str, catalog: RegionCatalog, models: Sequence[ModelDeployment], needed: Mapping[str, int]
) -> list[str]:
    out = []
    for usage_name, amount in needed.items():
        quota = catalog.quota(usage_name)
        if quota is None or amount <= quota.left:
            continue
        names = ", ".join(
            m.name
            for m in models
            if (o := catalog.offer(m.model, m.version))
            and (s := o.sku(m.sku))
            and (s.usage_name or "").lower() == usage_name
        )
        out.append(
            f"{region}: {names} need {amount} more capacity (thousands of tokens per minute) of quota "
            f"{quota.name}, but only {quota.left} of {quota.limit} is left: lower --model-capacity, free "
            "capacity from other deployments, or request more quota for the region"
        )
    return out


def _alternatives(catalog: RegionCatalog, m: ModelDeployment, today: dt.date, limit: int = 6) -> str:
    """What the region offers instead: other versions, the replacement, models of the same kind."""
    wanted = catalog.versions(m.model)
    capabilities = set().union(*(o.capabilities for o in wanted)) & {CHAT, EMBEDDINGS} if wanted else set()
    open_offers = [o for o in catalog.offers if any(o.open_for_new(today, s) for s in o.sku_names)]
    picks = [o for o in open_offers if o.model == m.model]
    picks += [o for o in open_offers if capabilities & o.capabilities and o not in picks]
    if not capabilities:
        picks += [o for o in open_offers if CHAT in o.capabilities and o not in picks]
    picks.sort(key=_release_key, reverse=True)
    picks.sort(key=lambda o: (o.model != m.model, not o.generally_available))  # stable: newest first within
    if not picks:
        return f"\n      {catalog.region} offers no model open to new deployments"
    lines = [_offer_line(catalog, o, m.sku, today) for o in picks[:limit]]
    more = f" (and {len(picks) - limit} more)" if len(picks) > limit else ""
    return f"\n      available in {catalog.region} instead{more}:\n" + "\n".join(
        f"        {line}" for line in lines
    )


def _offer_line(catalog: RegionCatalog, offer: ModelOffer, sku: str, today: dt.date) -> str:
    skus = []
    for s in offer.skus:
        left = catalog.quota(s.usage_name)
        skus.append(f"{s.name}" + (f" (quota left {left.left})" if left else ""))
    facts = [offer.state(today)]
    closed = offer.closed_from()
    if closed is not None and closed > today:
        facts.append(f"no new deployments from {closed.isoformat()}")
    if offer.retirement is not None:
        facts.append(f"retires {offer.retirement_text()}")
    return f"{offer.label} [{', '.join(facts)}]: {', '.join(skus)}"


def _nothing_for_role(
    request: ModelRequest, catalogs: Mapping[str, RegionCatalog], capability: str, today: dt.date
) -> UsageError:
    per_region = []
    for region, catalog in catalogs.items():
        found = [
            o
            for o in catalog.offers
            if capability in o.capabilities and o.generally_available and o.open_for_new(today, request.sku)
        ]
        names = ", ".join(sorted(o.label for o in found)) or "none"
        per_region.append(f"{region}: {names}")
    return UsageError(
        f"no generally available {request.role} model is offered with SKU {request.sku} in every region of "
        f"the deployment and open to new deployments ({'; '.join(per_region)})",
        hint="pass --model-sku with another deployment type, --model MODEL:VERSION, or other regions; "
        + MODELS_HINT.format(regions=_regions(catalogs)),
    )


def _no_version(request: ModelRequest, catalogs: Mapping[str, RegionCatalog], today: dt.date) -> UsageError:
    per_region = []
    for region, catalog in catalogs.items():
        versions = catalog.versions(str(request.model))
        if not versions:
            per_region.append(f"{region}: not offered")
            continue
        shown = ", ".join(
            f"{o.version} ({o.state(today, request.sku)}, {'/'.join(o.sku_names)})" for o in versions
        )
        per_region.append(f"{region}: {shown}")
    return UsageError(
        f"no generally available version of {request.model} is offered with SKU {request.sku} in every "
        f"region of the deployment and open to new deployments ({'; '.join(per_region)})",
        hint=f"pass a version (--model {request.model}:VERSION), another model or SKU; "
        + MODELS_HINT.format(regions=_regions(catalogs)),
    )


def refuse(findings: Findings, catalogs: Mapping[str, RegionCatalog]) -> UsageError:
    lines = "\n".join(f"  - {e}" for e in findings.errors)
    if findings.warnings:  # still worth knowing while fixing the errors
        lines += "\n  and to note:\n" + "\n".join(f"  - {w}" for w in findings.warnings)
    return UsageError(
        f"the model deployments cannot be made as asked (nothing was changed):\n{lines}",
        hint=MODELS_HINT.format(regions=_regions(catalogs)),
    )


# ---- warnings for deployed models ------------------------------------------------------------------------
def lifecycle_warnings(
    deployed: Iterable[tuple[str, DeployedModel | ModelDeployment]],
    catalogs: Mapping[str, RegionCatalog],
    *,
    today: dt.date,
    within_days: int = WARN_DAYS,
) -> list[str]:
    """For deployed models (region, deployment): one warning each that retires, or stops taking new
    deployments, within ``within_days`` (or already has), naming Azure's replacement when it gives one."""
    horizon = today + dt.timedelta(days=within_days)
    out: list[str] = []
    for region, d in deployed:
        catalog = catalogs.get(region)
        if catalog is None:
            continue
        offer = catalog.offer(d.model, d.version)
        what = f"{region}: model deployment {d.name} ({d.model} {d.version})"
        if offer is None:
            out.append(
                f"{what} is no longer in the region's model catalog (retired?): {_upgrade_hint(_md(d))}"
            )
            continue
        if offer.retired(today):
            out.append(
                f"{what} was retired on {offer.retirement_text()} and no longer serves{_replaced(offer)}"
            )
        elif offer.retirement is not None and offer.retirement <= horizon:
            days = (offer.retirement - today).days
            out.append(f"{what} retires {offer.retirement_text()} (in {days} days){_replaced(offer)}")
        else:
            closed = offer.closed_from()
            if closed is not None and closed <= horizon:
                verb = "has taken" if closed <= today else "takes"
                out.append(
                    f"{what} {verb} no new deployments from {closed.isoformat()} and retires "
                    f"{offer.retirement_text()}{_replaced(offer)}"
                )
    return out


def _md(d: DeployedModel | ModelDeployment) -> ModelDeployment:
    return (
        d
        if isinstance(d, ModelDeployment)
        else ModelDeployment(d.name, d.model, d.version, d.sku, d.capacity)
    )
