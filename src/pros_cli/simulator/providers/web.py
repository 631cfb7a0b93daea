"""Microsoft.Web: App Service plans (serverfarms), sites (Function Apps), app settings, geo regions
and site name availability.

Like the Web resource provider: locations come back as display names ("East US"); a site's GET
never carries its app settings (they live behind ``config/appsettings``); a site PUT whose
``siteConfig.appSettings`` is set replaces every setting; deleting the last site of a plan also
deletes the plan unless ``deleteEmptyServerFarm=false``; a plan that still hosts sites cannot be
deleted. Which regions offer a plan SKU is a table tests can change (:func:`set_geo_regions`).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pros_cli import regions
from pros_cli.simulator.core import (
    ArmError,
    ArmPath,
    SimResponse,
    TypeSpec,
    new_secret,
    parse_arm_path,
    utcnow,
)

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

PLANS = "Microsoft.Web/serverfarms"
SITES = "Microsoft.Web/sites"
# fmt: off
API_VERSIONS = ("2025-05-01", "2025-03-01", "2024-11-01", "2024-04-01", "2023-12-01", "2023-01-01",
                "2022-09-01")
SETTINGS_KEY = "_appSettings"  # where a site's app settings are kept; render() strips it
HOST_KEYS_KEY = "_hostKeys"  # the Functions host's keys, made on first listing; render() strips them

# Geo-region table keys: the Flex Consumption SKU and Linux Consumption (Dynamic + Linux workers).
FLEX = "FlexConsumption"
LINUX_CONSUMPTION = "LinuxDynamic"
# Regions offering Flex Consumption, as allowed by Microsoft's Flex Consumption azd template
# (Azure-Samples/functions-quickstart-python-http-azd, infra/main.bicep), minus the canary region.
FLEX_REGIONS = (
    "australiaeast", "australiasoutheast", "brazilsouth", "canadacentral", "centralindia", "centralus",
    "eastasia", "eastus", "eastus2", "francecentral", "germanywestcentral", "italynorth", "japaneast",
    "koreacentral", "northcentralus", "northeurope", "norwayeast", "southafricanorth", "southcentralus",
    "southeastasia", "southindia", "spaincentral", "swedencentral", "uaenorth", "uksouth", "ukwest",
    "westcentralus", "westeurope", "westus", "westus2", "westus3",
)
# Linux Consumption gets no new regions (it retires on 2028-09-30): the newest regions lack it.
_NO_LINUX_CONSUMPTION = ("italynorth", "spaincentral", "mexicocentral", "newzealandnorth", "israelcentral")
LINUX_CONSUMPTION_REGIONS = tuple(r for r in regions.REGIONS if r not in _NO_LINUX_CONSUMPTION)

# SKU name -> (tier, family). Names are matched case-insensitively, like the service.
SKUS: dict[str, tuple[str, str]] = {
    "F1": ("Free", "F"), "D1": ("Shared", "D"), "Y1": ("Dynamic", "Y"), "FC1": ("FlexConsumption", "FC"),
    **{f"B{i}": ("Basic", "B") for i in (1, 2, 3)},
    **{f"S{i}": ("Standard", "S") for i in (1, 2, 3)},
    **{f"P{i}V2": ("PremiumV2", "Pv2") for i in (1, 2, 3)},
    **{f"P{i}V3": ("PremiumV3", "Pv3") for i in (0, 1, 2, 3)},
    **{f"EP{i}": ("ElasticPremium", "EP") for i in (1, 2, 3)},
    **{f"WS{i}": ("WorkflowStandard", "WS") for i in (1, 2, 3)},
}
GEO_SKUS = ("Free", "Shared", "Basic", "Standard", "Premium", "Dynamic", "Isolated", "IsolatedV2",
            "PremiumV2", "PremiumV3", "PremiumContainer", "ElasticPremium", "ElasticIsolated",
            "FlexConsumption")
KIND_TOKENS = {"app", "functionapp", "api", "linux", "container", "workflowapp", "kubernetes",
               "azurecontainerapps"}
FLEX_RUNTIMES = {
    "python": ("3.10", "3.11", "3.12", "3.13"), "node": ("20", "22"), "dotnet-isolated": ("8.0", "9.0"),
    "java": ("11", "17", "21"), "powershell": ("7.4",), "custom": ("1.0",),
}
FLEX_MEMORY = (512, 2048, 4096)
DEPLOY_AUTH = ("SystemAssignedIdentity", "UserAssignedIdentity", "StorageAccountConnectionString")
# App settings the Flex Consumption plan refuses: the runtime is set in functionAppConfig instead.
FLEX_REFUSED_SETTINGS = ("FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_WORKER_RUNTIME_VERSION")
LINUX_FX_RE = re.compile(r"(python|node|dotnet|dotnet-isolated|java|powershell)\|[0-9.]+", re.IGNORECASE)
SITE_NAME_RE = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,58}[a-zA-Z0-9])?"
SITE_NAME_MSG = "Site names are 2-60 letters, digits and hyphens, and may not start or end with a hyphen."
# Read-only siteConfig defaults, as the Flex Consumption example response shows them.
SITE_CONFIG_DEFAULTS: dict[str, Any] = {
    "numberOfWorkers": 1, "netFrameworkVersion": "", "phpVersion": "", "pythonVersion": "",
    "nodeVersion": "", "powerShellVersion": "", "linuxFxVersion": "", "requestTracingEnabled": False,
    "remoteDebuggingEnabled": False, "httpLoggingEnabled": False, "acrUseManagedIdentityCreds": False,
    "logsDirectorySizeLimit": 35, "detailedErrorLoggingEnabled": False, "use32BitWorkerProcess": False,
    "webSocketsEnabled": False, "alwaysOn": False, "appCommandLine": "", "managedPipelineMode": "Integrated",
    "virtualApplications": [{"virtualPath": "/", "physicalPath": "site\\wwwroot", "preloadEnabled": False}],
    "loadBalancing": "LeastRequests", "autoHealEnabled": False, "vnetName": "", "vnetRouteAllEnabled": False,
    "vnetPrivatePortsCount": 0, "http20Enabled": False, "minTlsVersion": "1.2", "scmMinTlsVersion": "1.2",
    "ftpsState": "AllAllowed", "functionAppScaleLimit": 0, "functionsRuntimeScaleMonitoringEnabled": False,
    "minimumElasticInstanceCount": 0, "azureStorageAccounts": {},
}
# fmt: on
_RG = r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Web"


def bad_request(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


# ---- geo regions ----------------------------------------------------------------------------
def set_geo_regions(sim: Simulator, table: str, names: Iterable[str]) -> None:
    """Tests: which regions offer ``table`` (:data:`FLEX` or :data:`LINUX_CONSUMPTION`)."""
    normalized = [regions.normalize(n) for n in names]
    if table not in (FLEX, LINUX_CONSUMPTION) or None in normalized:
        raise ValueError(f"unknown geo-region table {table!r} or region in {list(names)!r}")
    with sim.transaction():
        sim.db.setdefault("web", {}).setdefault("geo_regions", {})[table] = normalized


def regions_offering(sim: Simulator, table: str) -> list[str]:
    custom = sim.db.get("web", {}).get("geo_regions", {}).get(table)
    if custom is not None:
        return list(custom)
    return list(FLEX_REGIONS if table == FLEX else LINUX_CONSUMPTION_REGIONS)


def _flag(req: SimRequest, name: str) -> bool:
    return str(req.query.get(name.lower(), "")).lower() == "true"


def _geo_regions(s: Simulator, req: SimRequest, sub: str) -> SimResponse:
    sku = req.query.get("sku")
    names = list(regions.REGIONS)
    if sku is not None:
        tier = next((t for t in GEO_SKUS if t.lower() == sku.lower()), None)
        if tier is None:
            raise bad_request(f"The parameter sku has an invalid value '{sku}'.")
        if tier == FLEX:
            names = regions_offering(s, FLEX)
        elif tier == "Dynamic" and _flag(req, "linuxDynamicWorkersEnabled"):
            names = regions_offering(s, LINUX_CONSUMPTION)
    domain = "PUBLIC;" + (sku or "ALL").upper()
    value = [
        {
            "id": f"/subscriptions/{sub}/providers/Microsoft.Web/geoRegions/{regions.display_name(n)}",
            "name": regions.display_name(n),
            "type": "Microsoft.Web/geoRegions",
            "properties": {"displayName": regions.display_name(n), "orgDomain": domain},
        }
        for n in names
    ]
    return SimResponse(200, {"value": value})


# ---- plans ----------------------------------------------------------------------------------
def _sku(body: dict[str, Any]) -> tuple[str, str, str]:
    name = str((body.get("sku") or {}).get("name") or "")
    canonical = next((k for k in SKUS if k.lower() == name.lower()), None)
    if canonical is None:
        raise bad_request("The parameter SKU.Name has an invalid value.")
    return (canonical, *SKUS[canonical])


def _validate_plan(sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None) -> None:
    _, tier, _ = _sku(body)
    props = body.get("properties") or {}
    location = regions.normalize(str(body.get("location") or (old or {}).get("location") or ""))
    if tier == FLEX and props.get("reserved") is not True:
        raise bad_request("Flex Consumption plans run Linux only: properties.reserved must be true.")
    offered = {FLEX: FLEX, "Dynamic": LINUX_CONSUMPTION if props.get("reserved") else None}.get(tier)
    if offered and location not in regions_offering(sim, offered):
        raise bad_request("The parameter SKU.Name has an invalid value.")
    if old is not None:
        old_tier = SKUS[_sku(old)[0]][0]
        if FLEX in (tier, old_tier) and tier != old_tier:
            raise bad_request(f"The plan '{parsed.name}' cannot change between {old_tier} and {tier}.")
        if bool((old.get("properties") or {}).get("reserved")) != bool(props.get("reserved")):
            raise ArmError(
                409, "Conflict", f"The operating system of plan '{parsed.name}' cannot be changed."
            )


def _build_plan(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    name, tier, family = _sku(body)
    capacity = (body.get("sku") or {}).get("capacity")
    body["sku"] = {
        "name": name,
        "tier": tier,
        "size": name,
        "family": family,
        "capacity": capacity if capacity is not None else (0 if tier in (FLEX, "Dynamic") else 1),
    }
    body["kind"] = body.get("kind") or "app"
    body["location"] = regions.display_name(regions.normalize(str(body["location"])) or "eastus")
    props = body["properties"]
    props["reserved"] = bool(props.get("reserved"))
    props.update(
        {
            "status": "Ready",
            "geoRegion": body["location"],
            "isSpot": False,
            "targetWorkerCount": 0,
            "targetWorkerSizeId": 0,
            "maximumNumberOfWorkers": {FLEX: 1000, "Dynamic": 200}.get(tier, 30),
        }
    )
    return body


def _sites_on(sim: Simulator, plan_id: str) -> list[dict[str, Any]]:
    return [
        s
        for s in sim.resources_of_type(SITES)
        if str(s["body"]["properties"].get("serverFarmId", "")).lower() == plan_id.lower()
    ]


def _render_plan(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    body["properties"]["numberOfSites"] = len(_sites_on(sim, body["id"]))
    return body


def _before_plan_delete(s: Simulator, parsed: ArmPath, stored: dict[str, Any]) -> None:
    sites = _sites_on(s, parsed.resource_id)
    if sites:
        names = ", ".join(site["body"]["name"] for site in sites)
        raise ArmError(
            409,
            "Conflict",
            f"Server farm '{parsed.name}' cannot be deleted because it has web "
            f"app(s) {names} assigned to it.",
        )


# ---- sites ----------------------------------------------------------------------------------
def _plan_of(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    farm = str((body.get("properties") or {}).get("serverFarmId") or "")
    if not farm:
        # Azure would create a default plan; pros always names its plan, so the simulator asks for one.
        raise bad_request(
            "properties.serverFarmId is required by the pros simulator (it does not create default plans)."
        )
    plan = sim.get_resource(farm)
    if plan is None or plan["type"].lower() != PLANS.lower():
        raise ArmError(404, "NotFound", f"Cannot find ServerFarm with name {farm.rsplit('/', 1)[-1]}.")
    return plan["body"]


def _validate_site(sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None) -> None:
    kind = str(body.get("kind") or (old or {}).get("kind") or "app")
    tokens = [t.strip().lower() for t in kind.split(",")]
    if not all(t in KIND_TOKENS for t in tokens):
        raise bad_request(f"The parameter kind has an invalid value '{kind}'.")
    plan = _plan_of(sim, body)
    props = body.get("properties") or {}
    if regions.normalize(str(plan["location"])) != regions.normalize(str(body.get("location") or "")):
        raise bad_request(f"The app must be in the region of its App Service plan ({plan['location']}).")
    if "linux" in tokens and not plan["properties"].get("reserved"):
        raise bad_request("A Linux app needs a Linux App Service plan (properties.reserved = true).")
    if "httpsOnly" in props and not isinstance(props["httpsOnly"], bool):
        raise bad_request("The parameter httpsOnly has an invalid value.")
    identity = str((body.get("identity") or {}).get("type") or "None").replace(" ", "").lower()
    if identity not in ("none", "systemassigned", "userassigned", "systemassigned,userassigned"):
        raise bad_request(f"The parameter identity.type has an invalid value '{identity}'.")
    config = props.get("siteConfig") or {}
    _validate_site_config(config)
    flex = plan["sku"]["tier"] == FLEX
    fac = props.get("functionAppConfig")
    if flex:
        _validate_flex(fac, identity)
        _refuse_flex_settings(config.get("appSettings") or [])
    elif fac:
        raise bad_request("functionAppConfig is only valid for apps on a Flex Consumption plan.")
    fx = config.get("linuxFxVersion")
    if fx and not LINUX_FX_RE.fullmatch(str(fx)):
        raise bad_request(f"The parameter LinuxFxVersion has an invalid value '{fx}'.")


def _validate_site_config(config: dict[str, Any]) -> None:
    tls = config.get("minTlsVersion")
    if tls is not None and tls not in ("1.0", "1.1", "1.2", "1.3"):
        raise bad_request(f"The parameter MinTlsVersion has an invalid value '{tls}'.")
    ftps = config.get("ftpsState")
    if ftps is not None and ftps not in ("AllAllowed", "FtpsOnly", "Disabled"):
        raise bad_request(f"The parameter FtpsState has an invalid value '{ftps}'.")
    for item in config.get("appSettings") or []:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and isinstance(item.get("value"), str)
        ):
            raise bad_request("Each siteConfig.appSettings item needs a string name and a string value.")


def _validate_flex(fac: Any, identity: str) -> None:
    if not isinstance(fac, dict):
        raise bad_request("Apps on a Flex Consumption plan need properties.functionAppConfig.")
    runtime = fac.get("runtime") or {}
    versions = FLEX_RUNTIMES.get(str(runtime.get("name") or ""))
    if versions is None:
        raise bad_request(f"The runtime '{runtime.get('name')}' is not supported on Flex Consumption.")
    if str(runtime.get("version")) not in versions:
        raise bad_request(
            f"Version '{runtime.get('version')}' of runtime '{runtime['name']}' is not "
            f"supported on Flex Consumption; supported: {', '.join(versions)}."
        )
    storage = ((fac.get("deployment") or {}).get("storage")) or {}
    if storage.get("type") != "blobContainer" or not str(storage.get("value") or "").startswith("https://"):
        raise bad_request(
            "functionAppConfig.deployment.storage needs type 'blobContainer' and a container URL."
        )
    auth = str((storage.get("authentication") or {}).get("type") or "")
    if auth not in DEPLOY_AUTH:
        raise bad_request(f"The deployment storage authentication type '{auth}' is invalid.")
    if auth == "SystemAssignedIdentity" and "systemassigned" not in identity:
        raise bad_request(
            "Deployment storage authentication SystemAssignedIdentity needs a system-assigned identity."
        )
    scale = fac.get("scaleAndConcurrency") or {}
    memory = scale.get("instanceMemoryMB")
    if memory is not None and memory not in FLEX_MEMORY:
        raise bad_request(f"instanceMemoryMB must be one of {', '.join(map(str, FLEX_MEMORY))}.")
    count = scale.get("maximumInstanceCount")
    if count is not None and not (isinstance(count, int) and 40 <= count <= 1000):
        raise bad_request("maximumInstanceCount must be from 40 to 1000.")


def _refuse_flex_settings(names: Iterable[Any]) -> None:
    for item in names:
        name = item.get("name") if isinstance(item, dict) else item
        if str(name).upper() in FLEX_REFUSED_SETTINGS:
            raise bad_request(
                f"The following app setting (Site.SiteConfig.AppSettings.{name}) is invalid "
                "for Flex Consumption; set the runtime in functionAppConfig instead."
            )


def _fake_ips(name: str, count: int) -> str:
    digest = hashlib.sha256(name.encode()).digest()
    return ",".join(f"20.{digest[i] % 250}.{digest[i + 8]}.{digest[i + 16] % 250 + 1}" for i in range(count))


def _build_site(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    name = body["name"]
    host = f"{name}.azurewebsites.net"
    scm = f"{name}.scm.azurewebsites.net"
    plan = _plan_of(sim, body)
    flex = plan["sku"]["tier"] == FLEX
    old_props = (old or {}).get("properties") or {}
    props = body["properties"]
    config = dict(props.get("siteConfig") or {})
    settings = config.pop("appSettings", None)
    body[SETTINGS_KEY] = (
        {s["name"]: s["value"] for s in settings}
        if settings is not None
        else dict((old or {}).get(SETTINGS_KEY) or {})
    )
    props["siteConfig"] = {**SITE_CONFIG_DEFAULTS, **(old_props.get("siteConfig") or {}), **config}
    body["kind"] = body.get("kind") or (old or {}).get("kind") or "app"
    body["location"] = regions.display_name(regions.normalize(str(body["location"])) or "eastus")
    if flex:
        fac = copy.deepcopy(props["functionAppConfig"])
        fac["scaleAndConcurrency"] = {
            "alwaysReady": None,
            "maximumInstanceCount": 100,
            "instanceMemoryMB": 2048,
            "triggers": None,
            **(fac.get("scaleAndConcurrency") or {}),
        }
        props["functionAppConfig"] = fac
    props.update(
        {
            "state": "Running",
            "hostNames": [host],
            "repositorySiteName": name,
            "usageState": "Normal",
            "enabled": True,
            "enabledHostNames": [host, scm],
            "availabilityState": "Normal",
            "hostNameSslStates": [
                {"name": host, "sslState": "Disabled", "hostType": "Standard"},
                {"name": scm, "sslState": "Disabled", "hostType": "Repository"},
            ],
            "reserved": None if flex else bool(plan["properties"].get("reserved")),
            "isXenon": False,
            "hyperV": False,
            "lastModifiedTimeUtc": utcnow(),
            "outboundVnetRouting": dict.fromkeys(
                (
                    "allTraffic",
                    "applicationTraffic",
                    "contentShareTraffic",
                    "imagePullTraffic",
                    "backupRestoreTraffic",
                ),
                False,
            ),
            "scmSiteAlsoStopped": False,
            "clientAffinityEnabled": False,
            "clientCertEnabled": False,
            "outboundIpAddresses": _fake_ips(name, 2),
            "possibleOutboundIpAddresses": _fake_ips(name, 4),
            "containerSize": ((props.get("functionAppConfig") or {}).get("scaleAndConcurrency") or {}).get(
                "instanceMemoryMB", 1536
            ),
            "dailyMemoryTimeQuota": 0,
            "resourceGroup": parsed.resource_group,
            "defaultHostName": host,
            "httpsOnly": props.get("httpsOnly", old_props.get("httpsOnly", False)),
            "redundancyMode": "None",
            "publicNetworkAccess": "Enabled",
            "storageAccountRequired": False,
            "sku": plan["sku"]["tier"],
        }
    )
    return body


def _render_site(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    # Sites report "state", not provisioningState; their settings live behind config/appsettings.
    body.pop(SETTINGS_KEY, None)
    body.pop(HOST_KEYS_KEY, None)
    body["properties"].pop("provisioningState", None)
    return body


def _delete_site(s: Simulator, req: SimRequest, *_: str) -> SimResponse:
    parsed = parse_arm_path(req.path)
    assert parsed is not None
    stored = s.get_resource(parsed.resource_id)
    farm = str((stored or {}).get("body", {}).get("properties", {}).get("serverFarmId") or "")
    response = s.delete_resource(parsed, s.types[SITES.lower()], req)
    keep = str(req.query.get("deleteemptyserverfarm", "")).lower() == "false"
    plan = s.get_resource(farm) if farm else None
    if stored is not None and plan is not None and not keep and not _sites_on(s, farm):
        s.remove_resource(plan)
    return response


# ---- app settings ---------------------------------------------------------------------------
def _site_or_404(s: Simulator, sub: str, rg: str, name: str) -> dict[str, Any]:
    site_path = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{name}"
    stored = s.get_resource(site_path)
    if stored is None:
        parsed = parse_arm_path(site_path)
        assert parsed is not None
        if s.get_resource(f"/subscriptions/{sub}/resourceGroups/{rg}") is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        raise s.resource_not_found(parsed)
    return stored


def _settings_body(stored: dict[str, Any]) -> dict[str, Any]:
    body = stored["body"]
    return {
        "id": f"{body['id']}/config/appsettings",
        "name": "appsettings",
        "type": "Microsoft.Web/sites/config",
        "kind": body.get("kind") or "app",
        "properties": dict(body.get(SETTINGS_KEY) or {}),
    }


def _put_settings(s: Simulator, req: SimRequest, sub: str, rg: str, name: str) -> SimResponse:
    stored = _site_or_404(s, sub, rg, name)
    props = (req.body or {}).get("properties") if isinstance(req.body, dict) else None
    if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
        raise bad_request("App settings are a map of setting names to string values in 'properties'.")
    plan = s.get_resource(str(stored["body"]["properties"].get("serverFarmId") or ""))
    if plan is not None and plan["body"]["sku"]["tier"] == FLEX:
        _refuse_flex_settings(props)
    stored["body"][SETTINGS_KEY] = dict(props)
    return SimResponse(200, _settings_body(stored))


def _list_settings(s: Simulator, req: SimRequest, sub: str, rg: str, name: str) -> SimResponse:
    return SimResponse(200, _settings_body(_site_or_404(s, sub, rg, name)))


def _get_site_config(s: Simulator, req: SimRequest, sub: str, rg: str, name: str) -> SimResponse:
    """``GET .../sites/{name}/config/web`` (WebApps_GetConfiguration, example GetSiteConfig.json):
    the site's siteConfig as a proxy resource; ``az functionapp show`` reads it for non-Flex apps."""
    stored = _site_or_404(s, sub, rg, name)
    body = stored["body"]
    site_config = (body.get("properties") or {}).get("siteConfig") or {}
    config = {k: v for k, v in site_config.items() if k != "appSettings"}
    return SimResponse(
        200,
        {
            "id": f"{body['id']}/config/web",
            "name": "web",
            "type": "Microsoft.Web/sites/config",
            "location": body.get("location"),
            "properties": {**SITE_CONFIG_DEFAULTS, **config},
        },
    )


def _get_slot_config_names(s: Simulator, req: SimRequest, sub: str, rg: str, name: str) -> SimResponse:
    """``GET .../sites/{name}/config/slotConfigNames`` (WebApps_ListSlotConfigurationNames): the
    settings that stick to a slot. pros never makes slots or sticky settings, so the lists are empty;
    ``az functionapp config appsettings set`` reads them to report ``slotSetting``."""
    body = _site_or_404(s, sub, rg, name)["body"]
    return SimResponse(
        200,
        {
            "id": f"{body['id']}/config/slotConfigNames",
            "name": "slotConfigNames",
            "type": "Microsoft.Web/sites/config",
            "properties": {"connectionStringNames": [], "appSettingNames": [], "azureStorageConfigNames": []},
        },
    )


def _list_host_keys(s: Simulator, req: SimRequest, sub: str, rg: str, name: str) -> SimResponse:
    """``POST .../sites/{name}/host/default/listkeys`` (WebApps_ListHostKeys): the host's master
    key, function keys and system keys. The keys are made once and stay until rotated."""
    return SimResponse(200, dict(host_keys(_site_or_404(s, sub, rg, name))))


def host_keys(stored: dict[str, Any]) -> dict[str, Any]:
    """The Functions host's keys of a stored site, made on first use (extensions add system keys
    of their own once the host loads them: see web_scm)."""
    keys = stored["body"].get(HOST_KEYS_KEY)
    if keys is None:
        keys = stored["body"][HOST_KEYS_KEY] = {
            "masterKey": new_secret(),
            "functionKeys": {"default": new_secret()},
            "systemKeys": {},
        }
    return keys


def _check_name(s: Simulator, req: SimRequest, sub: str) -> SimResponse:
    body = req.body if isinstance(req.body, dict) else {}
    name = str(body.get("name") or "")
    kind = str(body.get("type") or "")
    if kind.lower() not in ("site", "microsoft.web/sites"):
        raise bad_request(f"The pros simulator checks site names only, not '{kind}'.")
    if not re.fullmatch(SITE_NAME_RE, name):
        return SimResponse(200, {"nameAvailable": False, "reason": "Invalid", "message": SITE_NAME_MSG})
    free, _ = s.name_available(SITES, name)
    if free:
        return SimResponse(200, {"nameAvailable": True})
    return SimResponse(
        200,
        {
            "nameAvailable": False,
            "reason": "AlreadyExists",
            "message": f"Hostname '{name}' already exists. Please select a different name.",
        },
    )


def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            PLANS,
            API_VERSIONS,
            # CreateOrUpdateAppServicePlan.json answers 200 with the plan (or 202 while it is still
            # being built); the plans pros makes (Flex Consumption, Consumption) are there at once.
            create_mode="sync",
            create_status=200,
            update_mode="sync",
            delete_mode="sync",
            required=("location", "sku.name"),
            validate=_validate_plan,
            build=_build_plan,
            render=_render_plan,
            before_delete=_before_plan_delete,
            name_rule=(r"[a-zA-Z0-9-]{1,60}", "Plan names are 1-60 letters, digits and hyphens."),
        )
    )
    sim.register_type(
        TypeSpec(
            SITES,
            API_VERSIONS,
            # CreateOrUpdateWebApp.json and CreateOrUpdateFunctionAppFlexConsumption.json: 200 with the
            # site (their 202 with Azure-AsyncOperation is the other answer the spec allows).
            create_mode="sync",
            create_status=200,
            update_mode="sync",
            delete_mode="sync",
            required=("location",),
            global_name=True,
            name_taken_code="Conflict",
            name_rule=(SITE_NAME_RE, SITE_NAME_MSG),
            validate=_validate_site,
            build=_build_site,
            render=_render_site,
        )
    )
    routes = (
        ("DELETE", _RG + r"/sites/([^/]+)", _delete_site),
        ("PUT", _RG + r"/sites/([^/]+)/config/appsettings", _put_settings),
        ("POST", _RG + r"/sites/([^/]+)/config/appsettings/list", _list_settings),
        ("GET", _RG + r"/sites/([^/]+)/config/web", _get_site_config),
        ("GET", _RG + r"/sites/([^/]+)/config/slotConfigNames", _get_slot_config_names),
        ("POST", _RG + r"/sites/([^/]+)/host/default/listkeys", _list_host_keys),
        ("POST", r"/subscriptions/([^/]+)/providers/Microsoft\.Web/checknameavailability", _check_name),
        ("GET", r"/subscriptions/([^/]+)/providers/Microsoft\.Web/geoRegions", _geo_regions),
    )
    for method, pattern, handler in routes:
        sim.route(method, pattern, api_versions=API_VERSIONS)(handler)
