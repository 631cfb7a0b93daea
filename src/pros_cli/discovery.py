"""Finding a deployment in Azure by its tags, for ``pros status --discover``, and rebuilding a
lost state file from what is found (``--write-state``).

Every tagged resource pros makes carries ``pros-deployment=<base name>``; the subscription's
resource listing filtered on that tag finds them (top-level resources; children are read through
their parents). The deployment's settings are read back from the resources themselves (regions
from the gateways, SKUs, models, the custom domain), which is enough to rebuild the resource graph
so status and teardown work again.
"""

from __future__ import annotations

from typing import Any

from pros_cli import regions as region_table
from pros_cli.resources.base import get_path
from pros_cli.spec import DEPLOYMENT_TAG


def find_tagged(clients: Any, base_name: str) -> list[dict[str, Any]]:
    """Top-level resources and resource groups that carry this deployment's tag."""
    flt = f"tagName eq '{DEPLOYMENT_TAG}' and tagValue eq '{base_name}'"
    resource = clients.get("resource")
    found = [item.as_dict() for item in resource.resources.list(filter=flt)]
    found += [item.as_dict() for item in resource.resource_groups.list(filter=flt)]
    return found


def _region(value: Any) -> str | None:
    return region_table.normalize(str(value or ""))


def derive_settings(clients: Any, found: list[dict[str, Any]], resource_group: str) -> dict[str, Any]:
    """The deployment's settings as read back from its resources (the recorded form)."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for item in found:
        by_type.setdefault(str(item.get("type", "")).lower(), []).append(item)
    settings: dict[str, Any] = {}
    group = next(iter(by_type.get("microsoft.resources/resourcegroups", [])), None)
    shared = _region((group or {}).get("location"))
    apims = by_type.get("microsoft.apimanagement/service", [])
    regions = sorted({r for a in apims if (r := _region(a.get("location")))})
    if shared is None and regions:
        shared = regions[0]
    if shared:
        settings["shared_region"] = shared
        settings["regions"] = [shared, *[r for r in regions if r != shared]]
    apim_client = clients.get("apim").api_management_service
    from pros_cli.azure.clients import raw_json

    if apims:
        body = apim_client.get(resource_group, apims[0]["name"], cls=raw_json)
        settings["apim_sku"] = get_path(body, "sku.name")
        settings["apim_capacity"] = get_path(body, "sku.capacity")
        settings["publisher_email"] = get_path(body, "properties.publisherEmail")
        settings["publisher_name"] = get_path(body, "properties.publisherName")
        for entry in get_path(body, "properties.hostnameConfigurations") or []:
            host = str(entry.get("hostName") or "").lower()
            if (
                entry.get("type") == "Proxy"
                and not host.endswith(".azure-api.net")
                and entry.get("keyVaultId")
            ):
                settings["custom_domain"] = host
                settings["certificate_secret_id"] = entry["keyVaultId"]
    plans = by_type.get("microsoft.web/serverfarms", [])
    if plans:
        sku = str(get_path(plans[0], "sku.name") or "")
        settings["function_plan"] = "consumption" if sku == "Y1" else "flex"
    storage = by_type.get("microsoft.storage/storageaccounts", [])
    if storage:
        settings["storage_sku"] = get_path(storage[0], "sku.name")
    caches = by_type.get("microsoft.cache/redis", [])
    if caches:
        body = clients.get("redis").redis.get(resource_group, caches[0]["name"], cls=raw_json)
        settings["redis_sku"] = get_path(body, "properties.sku.name")
        settings["redis_capacity"] = get_path(body, "properties.sku.capacity")
    accounts = by_type.get("microsoft.cognitiveservices/accounts", [])
    if accounts:
        deployments = clients.get("cognitive").deployments.list(resource_group, accounts[0]["name"])
        settings["models"] = [
            {
                "name": d.name,
                "model": d.properties.model.name,
                "version": d.properties.model.version,
                "sku": d.sku.name,
                "capacity": d.sku.capacity,
            }
            for d in deployments
        ]
    sites = by_type.get("microsoft.web/sites", [])
    if sites:
        body = clients.get("web").web_apps.get(resource_group, sites[0]["name"], cls=raw_json)
        version = get_path(body, "properties.functionAppConfig.runtime.version")
        fx = str(get_path(body, "properties.siteConfig.linuxFxVersion") or "")
        settings["python_version"] = version or (fx.split("|", 1)[1] if "|" in fx else None)
    settings.update(derive_routing(clients, by_type, resource_group, settings.get("regions") or []))
    return {k: v for k, v in settings.items() if v is not None}


def derive_routing(
    clients: Any, by_type: dict[str, list[dict[str, Any]]], resource_group: str, regions: list[str]
) -> dict[str, Any]:
    """Routing method and geography mapping from the Traffic Manager profiles: the deployment's
    profile is the one no other profile nests; with geographic routing each region's codes are
    those of the endpoint that reaches its gateway (directly, or through a nested profile)."""
    from pros_cli.azure.clients import raw_json

    profiles = by_type.get("microsoft.network/trafficmanagerprofiles", [])
    if not profiles:
        return {}
    tm = clients.get("trafficmanager")
    bodies = {p["name"]: tm.profiles.get(resource_group, p["name"], cls=raw_json) for p in profiles}
    nested = {
        str(get_path(e, "properties.targetResourceId") or "").rsplit("/", 1)[-1].lower()
        for body in bodies.values()
        for e in get_path(body, "properties.endpoints") or []
    }
    top = next((b for name, b in bodies.items() if name.lower() not in nested), None)
    method = str(get_path(top, "properties.trafficRoutingMethod") or "").lower()
    if method not in ("performance", "priority", "geographic"):
        return {}
    out: dict[str, Any] = {"routing_method": method}
    if method != "geographic":
        return out
    geo: dict[str, list[str]] = {}
    for endpoint in get_path(top, "properties.endpoints") or []:
        codes = list(get_path(endpoint, "properties.geoMapping") or [])
        child = str(get_path(endpoint, "properties.targetResourceId") or "").rsplit("/", 1)[-1]
        members = get_path(bodies.get(child), "properties.endpoints") if child else [endpoint]
        for member in members or []:
            region = _region(get_path(member, "properties.endpointLocation"))
            if region and codes:
                geo[region] = codes
    out["geo"] = [f"{r}={','.join(geo[r])}" for r in regions if r in geo]
    return out


def discover_and_report(app: Any, base_name: str, subscription: str, *, write_state: bool) -> int:
    from pros_cli.cli.status import show
    from pros_cli.deployment import spec_from
    from pros_cli.errors import ExitCode, UsageError
    from pros_cli.resources.graph import full_graph
    from pros_cli.settings import resolve
    from pros_cli.spec import name_suffix
    from pros_cli.state import StateStore, load_state_file

    path = app.state_path(base_name)
    existing = load_state_file(path)
    if write_state and existing is not None and existing.get("resources"):
        raise UsageError(
            f"{path} exists and records {len(existing['resources'])} resource(s); --write-state only "
            "rebuilds a lost state file and never overwrites one",
            hint=f"move {path} aside first if it is wrong",
        )
    clients = app.clients(subscription)
    found = find_tagged(clients, base_name)
    if not found:
        if app.json:
            from pros_cli.cli import render

            render.print_json(
                {
                    "base_name": base_name,
                    "subscription_id": subscription,
                    "found": [],
                    "healthy": False,
                    "resources": [],
                }
            )
        else:
            app.out(f"Nothing in subscription {subscription} carries the tag {DEPLOYMENT_TAG}={base_name}.")
        return int(ExitCode.UNHEALTHY)
    names_rg = f"rg-{base_name}"
    recorded = derive_settings(clients, found, names_rg)
    effective = resolve(flags={}, config={}, recorded=recorded, environ={})
    spec = spec_from(effective, base_name=base_name, subscription_id=subscription)
    assert spec.names.suffix == name_suffix(subscription, base_name)
    graph = full_graph(spec)
    found_ids = {str(item["id"]).lower() for item in found}
    unknown = sorted(i for i in found_ids if i not in {r.arm_id().lower() for r in graph})
    for rid in unknown:
        app.ui.warn(
            f"found {rid} with this deployment's tag, but it is not part of the deployment pros "
            "would build with the settings read back from Azure"
        )
    from pros_cli.status import collect

    # Parts later commands add (backends, policies, ...) count only when some of them exist.
    report = collect(graph, clients=clients, recorded={})
    present = {row.resource.created_by for row in report.rows if row.health not in ("missing", "unknown")}
    rows = [row for row in report.rows if row.resource.created_by in present | {"pros provision"}]
    if write_state:
        state = StateStore.open(path, base_name=base_name, subscription_id=subscription, cloud=app.cloud)
        for row in rows:
            if row.health in ("missing", "unknown"):
                continue
            r = row.resource
            origin = "pre-existing" if r.external else "created"
            state.record_done(r.key, r.identity(), origin=origin, outputs=r.outputs(row.current))
        state.data.pop("torn_down_at", None)
        state.record_settings(effective.record(), spec.to_state())
        app.ui.info(
            f"rebuilt {path} from Azure: {len(state.resources)} resource(s), settings read back from the "
            "resources"
        )
    return show(app, base_name, subscription, [row.resource for row in rows], {}, report=report)
