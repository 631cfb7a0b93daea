"""From settings to a run's target: the effective settings, the spec, the resource graph, and
what the deployment no longer has.

Every command that works on a deployment starts here once it holds the deployment's lock: the
recorded settings come from the state file it just read, so options a command does not repeat
fall back to what the deployment was made with, never to the defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pros_cli import settings as settings_mod
from pros_cli.engine.runner import Target
from pros_cli.errors import UsageError
from pros_cli.resources.base import Resource
from pros_cli.settings import Resolved, SettingChange, Settings
from pros_cli.spec import Spec, build_spec
from pros_cli.state import StateStore


@dataclasses.dataclass(frozen=True)
class Request:
    """What the command line asked for: setting flags (None: not given), the config file's
    settings, and the modifiers that apply to every model deployment."""

    flags: Mapping[str, Any]
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    model_capacity: int | None = None
    model_sku: str | None = None


def effective_settings(request: Request, recorded: Mapping[str, Any]) -> Settings:
    def adjust(out: Settings) -> None:
        if request.model_capacity is None and request.model_sku is None:
            return
        models = out["models"]
        if models is None:  # the defaults: resolved from the catalog (see resolve_models)
            return
        out.values["models"] = Resolved(
            tuple(
                dataclasses.replace(
                    m, capacity=request.model_capacity or m.capacity, sku=request.model_sku or m.sku
                )
                for m in models
            ),
            "flag",
        )

    return settings_mod.resolve(flags=request.flags, config=request.config, recorded=recorded, adjust=adjust)


# (spec with unresolved models, the requests, the versions recorded by name) -> spec with concrete ones
ModelResolver = Callable[[Spec, tuple[Any, ...], dict[str, Any]], Spec]


def coerce_models(raw: Any) -> tuple[Any, ...] | None:
    return settings_mod.coerce(settings_mod.BY_NAME["models"], raw, where="models") if raw else None


def _model_requests(effective: Settings, request: Request) -> tuple[Any, ...]:
    """What the run asks of the model catalog: the effective models (their version may be empty:
    resolve it), or the default requests (a current chat model, text-embedding-3-small) with the
    --model-sku/--model-capacity modifiers. The models setting holds placeholders meanwhile."""
    from pros_cli import catalog

    models = effective["models"]
    source = effective.source("models")
    requests = catalog.requests_for(models)
    if models is None and (request.model_sku is not None or request.model_capacity is not None):
        requests = catalog.with_sku_and_capacity(requests, request.model_sku, request.model_capacity)
        source = "flag"
    effective.values["models"] = Resolved(catalog.placeholder_models(requests), source)
    return requests


def spec_from(
    effective: Settings, *, base_name: str, subscription_id: str, restore_soft_deleted: bool = False
) -> Spec:
    spec = build_spec(
        base_name=base_name,
        subscription_id=subscription_id,
        restore_soft_deleted=restore_soft_deleted,
        **effective.spec_kwargs(),
    )
    # Record what the defaults resolved to, so a later change of the region order or of the
    # default models never moves the deployment silently.
    resolved = (
        ("shared_region", spec.shared_region),
        ("apim_capacity", spec.apim_capacity),
        ("models", spec.models),
        ("redis_sku", spec.redis_sku),
        ("redis_capacity", spec.redis_capacity),
    )
    for name, value in resolved:
        if effective[name] is None:
            effective.values[name] = Resolved(value, effective.source(name))
    return spec


def check_region_removal(effective: Settings, recorded: Mapping[str, Any]) -> None:
    shared = recorded.get("shared_region") or (list(recorded.get("regions") or []) or [None])[0]
    regions = effective["regions"] or ()
    if recorded and shared and effective.source("shared_region") == "state" and shared not in regions:
        raise UsageError(
            f"the shared region {shared} cannot be removed from the deployment: the resource group, "
            "Event Grid topic, Redis and the token processor live there",
            hint=f"keep {shared} in --region; to remove everything, use pros teardown",
        )


def removals(
    old: Sequence[Resource],
    new: Sequence[Resource],
    recorded_keys: set[str],
    changes: Sequence[SettingChange],
) -> list[tuple[Resource, str]]:
    """Resources of the recorded deployment that the new one does not have and that the state
    file records, each with why it goes; each knows what depended on it (``delete_after``), so
    those go (or stop referring to it) first."""
    keep = {r.key for r in new}
    dependents: dict[str, set[str]] = {r.key: set() for r in old}
    for r in old:
        for dep in r.depends_on:
            dependents.setdefault(dep, set()).add(r.key)
    gone_regions = set()
    for change in changes:
        if change.name == "regions":
            gone_regions = set(change.before or ()) - set(change.after or ())
    region_of = {r.key: r.region for r in old}
    out = []
    for r in old:
        if r.key in keep or r.key not in recorded_keys or r.external:
            continue
        after = set(dependents.get(r.key, ()))
        if r.parent in keep:
            # Its parent stays and may change in the same run (a Traffic Manager profile whose new
            # endpoint list already leaves this endpoint out): the delete comes after that change.
            after.add(r.parent)
        r.delete_after = tuple(sorted(after))
        via = sorted({str(region_of.get(d)) for d in r.depends_on if region_of.get(d) in gone_regions})
        if r.region in gone_regions:
            why = f"region {r.region} was removed from the deployment"
        elif via:
            why = f"it involves region {', '.join(via)}, which was removed from the deployment"
        else:
            names = ", ".join(c.name for c in changes) or "settings"
            why = f"no longer part of the deployment after the change of {names}"
        out.append((r, why))
    return out


def recorded_spec(state: StateStore, *, base_name: str, subscription_id: str) -> Spec:
    """The deployment as its state file records it (for status and teardown), validated: the
    recorded settings, or, when no run has applied without failure yet, those of the last run
    that started applying."""
    recorded = state.settings or state.attempted_settings
    if not recorded:
        raise UsageError(
            f"the state file {state.path} records no deployment settings",
            hint="run pros provision first, or pros status --discover --write-state to rebuild a lost "
            "state file from what Azure has",
        )
    return _spec_of(recorded, base_name=base_name, subscription_id=subscription_id)


def _spec_of(recorded: Mapping[str, Any], *, base_name: str, subscription_id: str) -> Spec:
    effective = settings_mod.resolve(flags={}, config={}, recorded=recorded, environ={})
    return spec_from(effective, base_name=base_name, subscription_id=subscription_id)


def made_graph(
    state: StateStore, build: Callable[[Spec], list[Resource]], *, base_name: str, subscription_id: str
) -> list[Resource]:
    """The resources the state's settings describe: the recorded settings' graph, plus the graph of
    the last run that started applying when that differs (a failed run that added a region left
    resources the recorded settings do not have)."""
    out: dict[str, Resource] = {}
    for settings in (state.settings, state.attempted_settings):
        if settings:
            for r in build(_spec_of(settings, base_name=base_name, subscription_id=subscription_id)):
                out.setdefault(r.key, r)
    return list(out.values())


def teardown_target(state: StateStore, *, base_name: str, subscription_id: str) -> Target:
    """Everything the state file records as pros's, planned as deletes in reverse dependency
    order (the engine reads each first and never deletes one that is gone, adopted, or no longer
    carries this deployment's tags)."""
    from pros_cli.resources.graph import full_graph

    spec = recorded_spec(state, base_name=base_name, subscription_id=subscription_id)
    graph = made_graph(state, full_graph, base_name=base_name, subscription_id=subscription_id)
    recorded_keys = set(state.resources)
    removed = [(r, "teardown") for r, _ in removals(graph, [], recorded_keys, [])]
    unknown = sorted(recorded_keys - {r.key for r in graph})

    def gone(state: StateStore, report: Any) -> None:
        if not state.resources:
            state.record_gone()

    return Target(spec, [], removed, None, [], on_success=gone, unknown=unknown)


def target_for(
    state: StateStore,
    request: Request,
    *,
    base_name: str,
    subscription_id: str,
    build: Callable[[Spec], list[Resource]],
    restore_soft_deleted: bool = False,
    command: str = "provision",
    check: Callable[[Spec], None] | None = None,
    models: ModelResolver | None = None,
) -> Target:
    """The target of a run that brings the deployment (``build`` gives its resources) to the
    effective settings: settings changes, immutable-setting refusals and removed resources.

    ``command`` other than provision/up: the run changes only the resources that command makes
    (the rest are read for their bodies), may change only the settings it takes as options, and
    deletes nothing. ``check`` refuses a spec before any request. ``models`` resolves the model
    deployments against Azure's model catalog (and checks them and the quota) before any write."""
    recorded = state.settings
    effective = effective_settings(request, recorded)
    check_region_removal(effective, recorded)
    # Immutable settings are refused first: before anything is read, and before the other settings
    # are validated against a value the deployment cannot take (models are never immutable).
    settings_mod.check_immutable(settings_mod.changes(effective, recorded))
    requests = _model_requests(effective, request) if models is not None else None
    spec = spec_from(
        effective,
        base_name=base_name,
        subscription_id=subscription_id,
        restore_soft_deleted=restore_soft_deleted,
    )
    if models is not None and requests is not None:
        pinned = {m.name: m for m in (coerce_models(recorded.get("models")) or ()) if m.version}
        spec = models(spec, requests, pinned)
        effective.values["models"] = Resolved(spec.models, effective.source("models"))
    setting_changes = settings_mod.changes(effective, recorded)
    if check is not None:
        check(spec)
    resources = build(spec)
    if command not in ("provision", "up"):
        if not recorded:
            raise UsageError(
                f"no deployment {base_name!r} is recorded in {state.path}",
                hint="run `pros provision` first (or pass --state-file with the deployment's state file)",
            )
        own = set(settings_mod.names_for(command))
        foreign = [c for c in setting_changes if c.name not in own]
        if foreign:
            listed = ", ".join(f"{c.name} (from {c.source})" for c in foreign)
            raise UsageError(
                f"pros {command} cannot change {listed}: those settings belong to the whole deployment",
                hint="run pros provision with them to apply them, or drop them from this run",
            )
        scope = frozenset(r.key for r in resources if r.created_by == f"pros {command}")
        return Target(
            spec, resources, (), effective, setting_changes, scope=scope, warnings=routing_notes(spec)
        )
    keys = {r.key for r in resources}
    removed: list[tuple[Resource, str]] = []
    if set(state.resources) - keys:
        old = made_graph(state, build, base_name=base_name, subscription_id=subscription_id)
        removed = removals(old, resources, set(state.resources), setting_changes)
    target = Target(spec, resources, removed, effective, setting_changes, warnings=routing_notes(spec))
    target.checks = routing_checks(spec)
    return target


def routing_checks(spec: Spec) -> list[Callable[[Any], None]]:
    """Checks of the routing settings that need Azure (the live geographic hierarchy)."""
    from pros_cli.resources.traffic_manager_geo import hierarchy_check

    check = hierarchy_check(spec)
    return [check] if check is not None else []


def routing_notes(spec: Spec) -> list[str]:
    """What the routing settings mean for failover, said before the plan."""
    notes = []
    if spec.routing_method != "geographic" and spec.geo:
        notes.append(
            f"the geography mapping (--geo) is kept but not used: the routing method is {spec.routing_method}"
        )
    if spec.failover_scope == "geography":
        for geography in spec.geographies:
            if not geography.nested:
                (region,) = geography.regions
                codes = ",".join(geography.codes)
                notes.append(
                    f"failover scope geography: geography {geography.name} has one region ({region}), "
                    f"so failover within it is impossible: when {region} throttles or fails, its gateway "
                    f"answers 429/503 instead of sending the call elsewhere (add a region and --geo "
                    f"REGION={codes} to give it a second one)"
                )
    return notes
