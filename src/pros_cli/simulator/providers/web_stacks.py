"""Microsoft.Web function app stacks: the runtime catalog az reads before it changes a function app.

``az functionapp config appsettings set`` (azure-cli 2.91) first checks the app's language runtime
against ``GET /providers/Microsoft.Web/locations/{location}/functionAppStacks?api-version=2020-10-01
&stack=python&sku=FC1`` (Flex Consumption) or ``GET /providers/Microsoft.Web/functionAppStacks``
(other plans). The shapes follow Microsoft's example GetFunctionAppStacks.json
(azure-rest-api-specs, specification/web/resource-manager/Microsoft.Web/AppService/stable/2024-11-01/
examples): stacks with ``majorVersions[].minorVersions[].stackSettings.linuxRuntimeSettings``. The
location-scoped answer for ``sku=FC1`` also carries ``linuxRuntimeSettings.Sku``, the Flex
Consumption settings of that runtime version (``skuCode`` FC1, ``instanceMemoryMB``,
``maximumInstanceCount``, ``functionAppConfigProperties.runtime``); that part is not in the REST
example: its fields are the ones azure-cli's Flex runtime helper reads
(appservice/custom.py, ``_FlexFunctionAppStackRuntimeHelper``) [I]. Only the runtimes and versions
the simulator's sites accept (``web.FLEX_RUNTIMES``) are listed.
"""

from __future__ import annotations

from typing import Any

from pros_cli.simulator.core import SimRequest, SimResponse, Simulator
from pros_cli.simulator.providers.web import FLEX_MEMORY, FLEX_RUNTIMES

# The stacks API has its own versions (2020-10-01 is what azure-cli asks for; the later ones are the
# Microsoft.Web versions whose spec defines the same operation).
API_VERSIONS = (
    "2020-10-01",
    "2022-03-01",
    "2023-01-01",
    "2023-12-01",
    "2024-04-01",
    "2024-11-01",
    "2025-05-01",
)
_DISPLAY = {
    "python": "Python",
    "node": "Node.js",
    "dotnet-isolated": ".NET Isolated",
    "java": "Java",
    "powershell": "PowerShell Core",
    "custom": "Custom Handler",
}


def _flex_sku(runtime: str, version: str) -> dict[str, Any]:
    return {
        "skuCode": "FC1",
        "instanceMemoryMB": [{"size": size, "isDefault": size == 2048} for size in FLEX_MEMORY],
        "maximumInstanceCount": {
            "lowestMaximumInstanceCount": 40,
            "highestMaximumInstanceCount": 1000,
            "defaultValue": 100,
        },
        "functionAppConfigProperties": {"runtime": {"name": runtime, "version": version}},
    }


def _stack(runtime: str, *, flex: bool) -> dict[str, Any]:
    versions = FLEX_RUNTIMES[runtime]
    majors = []
    for index, version in enumerate(reversed(versions)):
        settings: dict[str, Any] = {
            "runtimeVersion": f"{runtime.capitalize()}|{version}",
            "isDefault": index == 0,
            "remoteDebuggingSupported": False,
            "appInsightsSettings": {"isSupported": True},
            "gitHubActionSettings": {"isSupported": True, "supportedVersion": version},
            "appSettingsDictionary": {"FUNCTIONS_WORKER_RUNTIME": runtime},
            "siteConfigPropertiesDictionary": {
                "use32BitWorkerProcess": False,
                "linuxFxVersion": f"{runtime.capitalize()}|{version}",
            },
            "supportedFunctionsExtensionVersions": ["~4"],
        }
        if flex:
            settings["Sku"] = [_flex_sku(runtime, version)]
        label = f"{_DISPLAY.get(runtime, runtime)} {version}"
        majors.append(
            {
                "displayText": label,
                "value": version,
                "minorVersions": [
                    {
                        "displayText": label,
                        "value": version,
                        "stackSettings": {"linuxRuntimeSettings": settings},
                    }
                ],
            }
        )
    return {
        "id": f"/providers/Microsoft.Web/functionAppStacks/{runtime}",
        "name": runtime,
        "type": "Microsoft.Web/functionAppStacks",
        "properties": {
            "displayText": _DISPLAY.get(runtime, runtime),
            "value": runtime,
            "preferredOs": "Linux",
            "majorVersions": majors,
        },
    }


def _stacks(req: SimRequest, *, flex: bool) -> SimResponse:
    wanted = req.query.get("stack")
    if wanted == "dotnet":
        wanted = "dotnet-isolated"
    runtimes = [r for r in FLEX_RUNTIMES if wanted in (None, "", r)]
    return SimResponse(
        200, {"value": [_stack(r, flex=flex and req.query.get("sku") == "FC1") for r in runtimes]}
    )


def register(sim: Simulator) -> None:
    @sim.route(
        "GET", r"/providers/Microsoft\.Web/locations/([^/]+)/functionAppStacks", api_versions=API_VERSIONS
    )
    def _by_location(sim: Simulator, req: SimRequest, location: str) -> SimResponse:
        return _stacks(req, flex=True)

    @sim.route("GET", r"/providers/Microsoft\.Web/functionAppStacks", api_versions=API_VERSIONS)
    def _all(sim: Simulator, req: SimRequest) -> SimResponse:
        return _stacks(req, flex=False)
