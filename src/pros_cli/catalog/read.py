"""Reading the catalogs (ARM reads through the cognitive client), and the provision preflight.

Per region, in parallel, before any write: ``models.list(location)`` (what can be deployed),
``usages.list(location)`` (the quota left) and the deployments that already exist on the
deployment's account there (which a re-run keeps and whose capacity it does not need again). Each
read is echoed, with ``--verbose``, as the az command that reads the same thing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pros_cli.catalog.choose import (
    DEFAULT_REQUESTS,
    WARN_DAYS,
    ModelRequest,
    check_deployments,
    lifecycle_warnings,
    refuse,
    request_of,
    resolve_models,
)
from pros_cli.catalog.offers import RegionCatalog, parse_deployed, parse_offers, parse_quotas
from pros_cli.echo import AzCommand, az
from pros_cli.errors import AzureOperationError
from pros_cli.spec import ModelDeployment, Spec, validate_models

# Offline plans cannot ask the catalog which chat model is current: they show this one (the
# simulator's and Microsoft's newest GA chat model when this was written) and say so.
OFFLINE_CHAT_MODEL = "gpt-5.2"


def az_reads(region: str, resource_group: str | None = None, account: str | None = None) -> list[AzCommand]:
    """The az commands that read what :func:`read_region` reads."""
    commands = [
        az("cognitiveservices", "model", "list", "-l", region, read_only=True),
        az("cognitiveservices", "usage", "list", "-l", region, read_only=True),
    ]
    if resource_group and account:
        commands.append(
            az(
                "cognitiveservices",
                "account",
                "deployment",
                "list",
                "-g",
                resource_group,
                "-n",
                account,
                read_only=True,
            )
        )
    return commands


def _rest(items: Any) -> list[dict[str, Any]]:
    return [item.serialize(keep_readonly=True) for item in items]


def _deployed(clients: Any, resource_group: str, account: str) -> list[dict[str, Any]]:
    from pros_cli.azure.errors import is_not_found

    try:
        return _rest(clients.get("cognitive").deployments.list(resource_group, account))
    except Exception as exc:
        if is_not_found(exc):  # no account (or resource group) yet: nothing deployed
            return []
        raise


def read_catalogs(
    clients: Any,
    regions: Sequence[str],
    *,
    resource_group: str | None = None,
    accounts: Mapping[str, str] | None = None,
    echo: Callable[[Any], None] | None = None,
    parallelism: int = 8,
) -> dict[str, RegionCatalog]:
    """Every region's catalog, quotas and (with ``accounts``) existing deployments, read in parallel."""
    from pros_cli.azure.errors import describe

    cognitive = clients.get("cognitive")
    jobs: dict[tuple[str, str], Any] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, 3 * len(regions)))) as pool:
        for region in regions:
            account = (accounts or {}).get(region)
            if echo is not None:
                echo(az_reads(region, resource_group, account))
            jobs[(region, "models")] = pool.submit(lambda r=region: _rest(cognitive.models.list(r)))
            jobs[(region, "usages")] = pool.submit(lambda r=region: _rest(cognitive.usages.list(r)))
            if resource_group and account:
                jobs[(region, "deployed")] = pool.submit(_deployed, clients, resource_group, account)
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for key, future in jobs.items():
            try:
                results[key] = future.result()
            except Exception as exc:
                raise AzureOperationError(
                    f"cannot read the Azure OpenAI {key[1]} of {key[0]}: {describe(exc)}",
                    hint="pros reads the model catalog and quota of every region before changing anything",
                ) from exc
    return {
        region: RegionCatalog(
            region,
            parse_offers(results[(region, "models")]),
            parse_quotas(results[(region, "usages")]),
            parse_deployed(results.get((region, "deployed"), [])),
        )
        for region in regions
    }


def today_for(app: Any) -> dt.date:
    """Azure's date: the real UTC day, or the simulated cloud's (which tests can move)."""
    if app.cloud == "simulator":
        from pros_cli.simulator.providers.cognitive_catalog import catalog_today

        return catalog_today(app.simulator())
    return dt.datetime.now(dt.UTC).date()


def pinned_from_state(data: Mapping[str, Any] | None) -> dict[str, ModelDeployment]:
    """The model deployments an earlier run recorded in the state file (``spec.models``), by name."""
    out: dict[str, ModelDeployment] = {}
    for item in ((data or {}).get("spec") or {}).get("models") or []:
        try:
            model = ModelDeployment(
                str(item["name"]),
                str(item["model"]),
                str(item.get("version") or ""),
                str(item.get("sku") or "Standard"),
                int(item.get("capacity") or 1),
            )
        except (KeyError, TypeError, ValueError):
            continue
        if model.version:
            out[model.name] = model
    return out


def requests_for(models: Sequence[ModelDeployment] | None) -> tuple[ModelRequest, ...]:
    """What the operator asked for: their models (a version may be empty), else the defaults."""
    return tuple(request_of(m) for m in models) if models else DEFAULT_REQUESTS


def with_sku_and_capacity(
    requests: Sequence[ModelRequest], sku: str | None, capacity: int | None
) -> tuple[ModelRequest, ...]:
    return tuple(dataclasses.replace(r, sku=sku or r.sku, capacity=capacity or r.capacity) for r in requests)


def placeholder_models(requests: Sequence[ModelRequest]) -> tuple[ModelDeployment, ...]:
    """The requests as spec models before the catalog is read: unresolved versions stay empty, and
    a role request shows :data:`OFFLINE_CHAT_MODEL`."""
    out = []
    for r in requests:
        model = r.model or OFFLINE_CHAT_MODEL
        out.append(ModelDeployment(r.name or model, model, r.version or "", r.sku, r.capacity))
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """The outcome of the model preflight: the spec with concrete models, what to tell the operator."""

    spec: Spec
    warnings: tuple[str, ...]
    resolved: tuple[str, ...]  # one line per model whose version came from the catalog


def resolve_and_check(
    clients: Any,
    spec: Spec,
    requests: Sequence[ModelRequest],
    *,
    today: dt.date,
    pinned: Mapping[str, ModelDeployment] | None = None,
    echo: Callable[[Any], None] | None = None,
    parallelism: int = 8,
) -> Prepared:
    """Read every region's catalog, quota and existing deployments, resolve ``requests`` (keeping
    ``pinned`` versions) and check them. Raises UsageError (exit 2) naming region and alternatives
    when a model cannot be deployed as asked; nothing is written."""
    catalogs = read_catalogs(
        clients,
        spec.regions,
        resource_group=spec.resource_group,
        accounts={r: spec.names.openai(r) for r in spec.regions},
        echo=echo,
        parallelism=parallelism,
    )
    models = validate_models(resolve_models(requests, catalogs, pinned, today=today))
    findings = check_deployments(models, catalogs, today=today)
    if findings.errors:
        raise refuse(findings, catalogs)
    resolved = tuple(
        f"model {m.name}: {m.model} {m.version} ({m.sku}, capacity {m.capacity}), from the regions' model "
        "catalogs"
        for m, r in zip(models, requests, strict=True)
        if not r.version
    )
    return Prepared(dataclasses.replace(spec, models=models), tuple(findings.warnings), resolved)


def prepare_models(
    app: Any,
    spec: Spec,
    requests: Sequence[ModelRequest],
    *,
    pinned: Mapping[str, ModelDeployment] | None = None,
    offline: bool = False,
) -> Spec:
    """The provision preflight for ``app``: :func:`resolve_and_check` with its clients, date and
    stderr, or (offline) only say what a real run would do."""
    if offline:
        unresolved = [m for m, r in zip(spec.models, requests, strict=True) if not r.version]
        if unresolved:
            names = ", ".join(f"{m.name} ({m.model})" for m in unresolved)
            app.ui.warn(
                f"offline: the model catalog was not read, so {names} have no version yet: a real run picks "
                "the newest generally available version every region offers with the SKU and still opens to "
                "new deployments (for the default chat model, the newest such chat model, which may not be "
                f"{OFFLINE_CHAT_MODEL}); the az lines ask `az cognitiveservices model list` for it"
            )
        else:
            app.ui.warn("offline: the model catalog and quota were not read; a real run checks them first")
        return spec
    prepared = resolve_and_check(
        app.clients(spec.subscription_id),
        spec,
        requests,
        today=today_for(app),
        pinned=pinned,
        echo=app.make_echo() if app.settings.verbose else None,
        parallelism=app.settings.parallelism,
    )
    for warning in prepared.warnings:
        app.ui.warn(warning)
    for line in prepared.resolved:
        app.ui.info(line)
    return prepared.spec


def deployed_model_warnings(
    clients: Any, spec: Spec, *, today: dt.date, within_days: int = WARN_DAYS, parallelism: int = 8
) -> list[str]:
    """For ``pros status``: every model deployment that exists on the deployment's accounts and
    retires, or stops taking new deployments, within ``within_days`` (or already has), naming Azure's
    replacement when it gives one. Reads each region's catalog and deployments (no writes)."""
    catalogs = read_catalogs(
        clients,
        spec.regions,
        resource_group=spec.resource_group,
        accounts={r: spec.names.openai(r) for r in spec.regions},
        parallelism=parallelism,
    )
    deployed = [(region, d) for region, c in catalogs.items() for d in c.deployed.values()]
    return lifecycle_warnings(deployed, catalogs, today=today, within_days=within_days)
