"""What a Function App's host runs: the functions ARM lists under the app
(``sites/<app>/functions``) and the Event Grid extension's webhook. The SCM deployment endpoints
that change it are in :mod:`.web_scm`.

The state is kept per app and per creation (:func:`app_state`), so an app deleted and created again
under the same name runs nothing. Functions a deployment indexed show in ARM after one more read
(a listing or a GET: the host syncs its triggers to ARM once the deployment completes). The
webhook answers Event Grid's validation POST when the code is the host's ``eventgrid_extension``
system key and the function has an Event Grid trigger; otherwise 401 (wrong key) or 404 (unknown
path or function: the extension answers "cannot find function").
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmError, HostUnreachable, SimResponse
from pros_cli.simulator.providers.web import API_VERSIONS, FLEX, PLANS, SITES, host_keys

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

EVENTGRID_KEY = "eventgrid_extension"
EVENTGRID_TRIGGER = "eventGridTrigger"
_APP_HOST = r"([a-z0-9-]+(?:\.[a-z0-9-]+)*\.azurewebsites\.net)"
_RG = r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Web"


def _hosts(stored: dict[str, Any], kind: str) -> set[str]:
    props = stored["body"].get("properties") or {}
    return {
        str(h.get("name", "")).lower()
        for h in props.get("hostNameSslStates") or []
        if str(h.get("hostType", "")).lower() == kind
    }


def site_by_host(sim: Simulator, host: str, kind: str = "standard") -> dict[str, Any]:
    """The site a host name belongs to; a name no site has does not resolve."""
    for stored in sim.resources_of_type(SITES):
        if host.lower() in _hosts(stored, kind):
            return stored
    raise HostUnreachable(f"{host}: no app answers at this name")


def is_flex(sim: Simulator, stored: dict[str, Any]) -> bool:
    plan = sim.get_resource(str(stored["body"]["properties"].get("serverFarmId") or ""))
    return bool(plan and plan["type"].lower() == PLANS.lower() and plan["body"]["sku"]["tier"] == FLEX)


def app_state(sim: Simulator, stored: dict[str, Any]) -> dict[str, Any]:
    """What the app's SCM site and host hold. Keyed by the site and when it was created, so an app
    deleted and created again under the same name starts with nothing deployed."""
    key = f"{stored['body']['id'].lower()}@{stored.get('created')}"
    return sim.db.setdefault("scm", {}).setdefault(
        key, {"deployments": [], "functions": [], "previous": [], "lag": 0, "route_prefix": "api"}
    )


def visible_functions(
    sim: Simulator, stored: dict[str, Any], *, listing: bool = False
) -> list[dict[str, Any]]:
    """The functions ARM shows for the app. Right after a deployment one listing still shows the
    previous ones (``listing``: this call is that listing)."""
    state = app_state(sim, stored)
    if state.get("lag", 0) > 0:
        if listing:
            state["lag"] -= 1
        return list(state.get("previous") or [])
    return list(state.get("functions") or [])


def _site(s: Simulator, sub: str, rg: str, name: str) -> dict[str, Any]:
    from pros_cli.simulator.providers.web import _site_or_404

    return _site_or_404(s, sub, rg, name)


def function_envelope(sim: Simulator, stored: dict[str, Any], fn: dict[str, Any]) -> dict[str, Any]:
    """A FunctionEnvelope as WebApps_ListFunctions returns it (REST spec: FunctionEnvelope and its
    properties function_app_id, script_root_path_href, script_href, config_href, secrets_file_href,
    href, config, invoke_url_template, language, isDisabled)."""
    body = stored["body"]
    scm = next(iter(_hosts(stored, "repository")), f"{body['name']}.scm.azurewebsites.net")
    host = body["properties"].get("defaultHostName")
    name = fn["name"]
    invoke = None
    if fn.get("trigger") == "httpTrigger":
        prefix = app_state(sim, stored).get("route_prefix", "api")
        route = next(
            (b.get("route") for b in fn.get("bindings") or [] if b.get("type") == "httpTrigger"), None
        )
        invoke = f"https://{host}/" + "/".join(p for p in (prefix, route or name) if p)
    return {
        "id": f"{body['id']}/functions/{name}",
        "name": f"{body['name']}/{name}",
        "type": "Microsoft.Web/sites/functions",
        "location": body.get("location"),
        "properties": {
            "name": name,
            "function_app_id": body["id"],
            "script_root_path_href": f"https://{scm}/api/vfs/home/site/wwwroot/",
            "script_href": f"https://{scm}/api/vfs/home/site/wwwroot/function_app.py",
            "config_href": None,
            "test_data_href": None,
            "secrets_file_href": None,
            "href": f"https://{scm}/admin/functions/{name}",
            "config": {
                "name": name,
                "scriptFile": "function_app.py",
                "language": "python",
                "bindings": copy.deepcopy(fn.get("bindings") or []),
            },
            "files": None,
            "test_data": None,
            "invoke_url_template": invoke,
            "language": "python",
            "isDisabled": False,
        },
    }


def _list_functions(s: Simulator, req: SimRequest, sub: str, rg: str, name: str) -> SimResponse:
    stored = _site(s, sub, rg, name)
    value = [function_envelope(s, stored, fn) for fn in visible_functions(s, stored, listing=True)]
    return SimResponse(200, {"value": value})


def _get_function(s: Simulator, req: SimRequest, sub: str, rg: str, name: str, function: str) -> SimResponse:
    stored = _site(s, sub, rg, name)
    # A read of one function sees the host's trigger sync as a listing does (one read after it).
    listed = visible_functions(s, stored, listing=True)
    fn = next((f for f in listed if f["name"].lower() == function.lower()), None)
    if fn is None:
        raise ArmError(404, "NotFound", f"Error retrieving function '{function}'.")
    return SimResponse(200, function_envelope(s, stored, fn))


def webhook_status(sim: Simulator, host: str, path: str, query: dict[str, str]) -> int:
    """What the app at ``host`` answers Event Grid's validation POST: 200 when the Event Grid
    extension runs, the code is its system key and the function has an Event Grid trigger; 401 for
    a wrong code; 404 for an unknown path or function (the extension answers "cannot find
    function"). Raises HostUnreachable when no app has the host name."""
    stored = site_by_host(sim, host)
    if path.rstrip("/").lower() != "/runtime/webhooks/eventgrid":
        return 404
    keys = host_keys(stored)["systemKeys"]
    if not keys.get(EVENTGRID_KEY) or query.get("code") != keys[EVENTGRID_KEY]:
        return 401
    wanted = str(query.get("functionname") or "").lower()
    for fn in visible_functions(sim, stored):
        if fn["name"].lower() == wanted and fn.get("trigger") == EVENTGRID_TRIGGER:
            return 200
    return 404


def _webhook(s: Simulator, req: SimRequest, host: str) -> SimResponse:
    status = webhook_status(s, host, req.path, req.query)
    if status != 200:
        return SimResponse(status, b"")
    events = req.body if isinstance(req.body, list) else []
    first = events[0] if events and isinstance(events[0], dict) else {}
    if first.get("eventType") == "Microsoft.EventGrid.SubscriptionValidationEvent":
        code = (first.get("data") or {}).get("validationCode")
        return SimResponse(200, {"validationResponse": code})
    return SimResponse(202, b"")


def _host_status(sim: Simulator, req: SimRequest, host: str) -> SimResponse:
    """``GET https://<app host>/admin/host/status``: the Functions host's admin API (Azure Functions
    host, HostController.GetHostStatus; learn.microsoft.com "Azure Functions HTTP trigger" keys: the
    admin endpoints take the master key in ``x-functions-key``). ``az functionapp deployment source
    config-zip`` polls it after a Flex deployment. 401 without the master key; ``Running`` once a
    deployment has put code on the app, else ``Default`` (the host has nothing to run)."""
    stored = site_by_host(sim, host)
    key = req.headers.get("x-functions-key") or next(
        (v for k, v in req.headers.items() if k.lower() == "x-functions-key"), None
    )
    if not key or key != host_keys(stored)["masterKey"]:
        return SimResponse(401, None)
    deployed = bool(app_state(sim, stored).get("deployments"))
    return SimResponse(
        200,
        {
            "id": stored["body"]["name"],
            "state": "Running" if deployed else "Default",
            "version": "4.1040.300.0",
            "versionDetails": "4.1040.300.0",
            "platformVersion": "",
            "instanceId": "pros-simulator",
            "computerName": "",
            "processUptime": 1000,
            "functionAppContentEditingState": "NotAllowed",
            "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "4.21.0"},
        },
    )


def register(sim: Simulator) -> None:
    sim.route("GET", _APP_HOST + r"/admin/host/status")(_host_status)
    sim.route("POST", _APP_HOST + r"/runtime/webhooks/eventgrid")(_webhook)
    sim.route("GET", _RG + r"/sites/([^/]+)/functions", api_versions=API_VERSIONS)(_list_functions)
    sim.route("GET", _RG + r"/sites/([^/]+)/functions/([^/]+)", api_versions=API_VERSIONS)(_get_function)
