"""Data plane of a Function App: its SCM (Kudu) deployment endpoints, the functions its host
indexed (``sites/<app>/functions`` in ARM) and the Event Grid extension's webhook.

Deployment endpoints, on the SCM host ARM reports (``hostNameSslStates`` of type Repository):

- ``POST /api/publish?RemoteBuild=true`` (Flex Consumption one deploy): ``application/zip`` body,
  202 with the deployment id as a JSON string; ``GET /api/deployments/<id>`` answers 200 with the
  record whether it runs or has finished (status in the body) and 404 until the deployment is
  visible, once (azure-dev ``funcapp_host_client.go``: "mitigation for deployments that take awhile
  to come alive", and issue Azure/azure-dev#4439 "Deployment <id> not found."). An app whose settings
  Flex does not support fails the deployment (Azure/azure-functions-dotnet-worker#2712: "Deployment
  status is Failed: App setting WEBSITE_RUN_FROM_PACKAGE is not supported...").
- ``POST /api/zipdeploy?isAsync=true`` (Kudu, Linux Consumption): 202 with a ``Location`` on
  ``/api/deployments/latest`` that answers 202 while running and 200 with the record when done
  (azure-dev ``zip_deploy_client.go``). Kudu builds (installs ``requirements.txt``) only with the
  app settings ``SCM_DO_BUILD_DURING_DEPLOYMENT`` and ``ENABLE_ORYX_BUILD`` set to true (Microsoft
  Learn, "Deployment technologies in Azure Functions", remote build on Linux).
- Records are Kudu's ``DeployResult`` (projectkudu/kudu ``Kudu.Contracts/Deployment/DeployResult.cs``):
  status 0 pending, 1 building, 2 deploying, 3 failed, 4 success.

Only a bearer token for Azure Resource Manager (``https://management.azure.com``, as azd sends)
or App Service (``https://appservice.azure.com``, as az sends) is accepted; anything else, basic
auth included, is 401: the simulator has no publishing credentials, so no basic auth can be right.

A package is indexed with the real azure-functions library (:mod:`..functions_index`). One that
fails to build or import fails its deployment, with the worker's error as ``status_text``; the
app then lists no functions (its host runs the package it cannot load). Functions a successful
deployment indexed show in ARM after one more listing (the host syncs its triggers to ARM after
the deployment completes). Once an app runs a function with an Event Grid trigger, the host has
the ``eventgrid_extension`` system key.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pros_cli.simulator.core import ArmError, HostUnreachable, SimResponse, new_secret, utcnow
from pros_cli.simulator.providers.web import API_VERSIONS, FLEX, PLANS, SETTINGS_KEY, SITES, host_keys
from pros_cli.simulator.transport import token_audience

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

ACCEPTED_AUDIENCES = {
    "https://management.azure.com",
    "https://management.azure.com/",
    "https://management.core.windows.net",
    "https://management.core.windows.net/",
    "https://appservice.azure.com",
}
# Settings a Flex Consumption app does not support: a deployment to an app holding one fails.
FLEX_UNSUPPORTED_SETTINGS = ("WEBSITE_RUN_FROM_PACKAGE", "SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD")
REMOTE_BUILD_SETTINGS = ("SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD")
EVENTGRID_KEY = "eventgrid_extension"
EVENTGRID_TRIGGER = "eventGridTrigger"
_SCM_HOST = r"([a-z0-9-]+(?:\.[a-z0-9-]+)*\.scm\.(?:[a-z0-9-]+\.)?azurewebsites\.net)"
_APP_HOST = r"([a-z0-9-]+(?:\.[a-z0-9-]+)*\.azurewebsites\.net)"
_RG = r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Web"


# ---- which app ----------------------------------------------------------------------------------
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


def visible_functions(sim: Simulator, stored: dict[str, Any], *, listing: bool = False) -> list[dict[str, Any]]:
    """The functions ARM shows for the app. Right after a deployment one listing still shows the
    previous ones (``listing``: this call is that listing)."""
    state = app_state(sim, stored)
    if state.get("lag", 0) > 0:
        if listing:
            state["lag"] -= 1
        return list(state.get("previous") or [])
    return list(state.get("functions") or [])


# ---- auth ---------------------------------------------------------------------------------------
def _unauthorized(req: SimRequest) -> SimResponse | None:
    if token_audience(req.headers.get("Authorization") or req.headers.get("authorization")) in ACCEPTED_AUDIENCES:
        return None
    return SimResponse(401, b"", {"WWW-Authenticate": 'Bearer realm="scm"'})


# ---- deployments --------------------------------------------------------------------------------
def _settings(stored: dict[str, Any]) -> dict[str, str]:
    return dict(stored["body"].get(SETTINGS_KEY) or {})


def _is_true(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("true", "1")


def _running(sim: Simulator, state: dict[str, Any]) -> bool:
    for record in state["deployments"]:
        _advance(sim, state, record, poll=False)
        if not record["complete"]:
            return True
    return False


def _start(
    sim: Simulator, stored: dict[str, Any], req: SimRequest, *, remote_build: bool, deployer: str, message: str
) -> dict[str, Any]:
    from pros_cli.simulator.functions_index import index_package

    package = req.body if isinstance(req.body, bytes) else json.dumps(req.body or "").encode()
    settings = _settings(stored)
    flex = is_flex(sim, stored)
    refused = [name for name in FLEX_UNSUPPORTED_SETTINGS if flex and name in settings]
    if refused:
        outcome = {
            "status": 3,
            "status_text": f"App setting {refused[0]} is not supported on the Flex Consumption plan.",
            "stage": "build",
        }
    else:
        result = index_package(package, remote_build=remote_build, settings=settings)
        if result.error:
            what = "Build failed" if result.stage == "build" else "The Functions host could not index the app"
            outcome = {"status": 3, "status_text": f"{what}: {result.error}", "stage": result.stage}
        else:
            outcome = {"status": 4, "status_text": "", "functions": result.functions, "stage": "done"}
        outcome["route_prefix"] = _route_prefix(package)
    latency = sim.profile.for_type("microsoft.web/sites/deployments", "create")
    now = utcnow()
    record = {
        "id": str(uuid.uuid4()) if flex else uuid.uuid4().hex,
        "status": 0,
        "status_text": "",
        "author_email": "N/A",
        "author": "N/A",
        "deployer": deployer,
        "remoteBuild": remote_build,
        "message": message,
        "progress": "",
        "received_time": now,
        "start_time": now,
        "end_time": None,
        "last_success_end_time": None,
        "complete": False,
        "active": False,
        "is_temp": False,
        "is_readonly": True,
        "site_name": stored["body"]["name"],
        "_polls_left": max(1, latency.polls),
        "_ready_at": time.time() + latency.seconds,
        "_hidden_polls": 1 if flex else 0,
        "_outcome": outcome,
        "_site_id": stored["body"]["id"],
    }
    host = req.host
    record["url"] = f"https://{host}/api/deployments/{record['id']}"
    record["log_url"] = f"https://{host}/api/deployments/{record['id']}/log"
    app_state(sim, stored)["deployments"].append(record)
    return record


def _route_prefix(package: bytes) -> str:
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            host = json.loads(archive.read("host.json"))
        prefix = ((host.get("extensions") or {}).get("http") or {}).get("routePrefix")
    except (KeyError, ValueError, zipfile.BadZipFile, AttributeError):
        return "api"
    return "api" if prefix is None else str(prefix)


def _advance(sim: Simulator, state: dict[str, Any], record: dict[str, Any], *, poll: bool = True) -> None:
    """A poll moves a running deployment on: building, deploying, then its outcome."""
    if record["complete"]:
        return
    if poll:
        record["_polls_left"] -= 1
        record["status"] = min(2, record["status"] + 1)
    if record["_polls_left"] > 0 or time.time() < record["_ready_at"]:
        return
    outcome = record["_outcome"]
    record.update(status=outcome["status"], status_text=outcome["status_text"], complete=True, end_time=utcnow())
    if outcome["stage"] == "build":
        return  # nothing was deployed: the app keeps running what it ran
    for other in state["deployments"]:
        other["active"] = False
    record["active"] = True
    state["previous"] = list(state.get("functions") or [])
    state["functions"] = list(outcome.get("functions") or [])
    state["route_prefix"] = outcome.get("route_prefix", "api")
    state["lag"] = 1
    if outcome["status"] == 4:
        record["last_success_end_time"] = record["end_time"]
        if any(f.get("trigger") == EVENTGRID_TRIGGER for f in state["functions"]):
            site = sim.get_resource(record["_site_id"]) if record.get("_site_id") else None
            if site is not None:
                host_keys(site)["systemKeys"].setdefault(EVENTGRID_KEY, new_secret())


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}


def _publish(s: Simulator, req: SimRequest, host: str) -> SimResponse:
    stored = site_by_host(s, host, "repository")
    refused = _unauthorized(req)
    if refused is not None:
        return refused
    if not is_flex(s, stored):
        # Kudu's OneDeploy without ?type= (RemoteBuild is Flex's parameter).
        return SimResponse(400, b"type='' not recognized", {"Content-Type": "text/plain"})
    content_type = (req.headers.get("Content-Type") or req.headers.get("content-type") or "").lower()
    if not content_type.startswith("application/zip"):
        return SimResponse(415, b"Unsupported Media Type", {"Content-Type": "text/plain"})
    state = app_state(s, stored)
    if _running(s, state):
        return SimResponse(409, b"There is a deployment currently in progress.", {"Content-Type": "text/plain"})
    remote = _is_true(req.query.get("remotebuild"))
    record = _start(s, stored, req, remote_build=remote, deployer=req.query.get("deployer") or "OneDeploy",
                    message="OneDeploy")
    return SimResponse(202, record["id"])


def _zipdeploy(s: Simulator, req: SimRequest, host: str) -> SimResponse:
    stored = site_by_host(s, host, "repository")
    refused = _unauthorized(req)
    if refused is not None:
        return refused
    state = app_state(s, stored)
    if _running(s, state):
        return SimResponse(409, b"There is a deployment currently in progress.", {"Content-Type": "text/plain"})
    settings = _settings(stored)
    remote = all(_is_true(settings.get(name)) for name in REMOTE_BUILD_SETTINGS)
    deployer = req.query.get("deployer") or "ZipDeploy"
    record = _start(s, stored, req, remote_build=remote, deployer=deployer,
                    message=req.query.get("message") or "Created via a push deployment")
    if str(req.query.get("isasync", "")).lower() != "true":
        while not record["complete"]:
            _advance(s, state, record)
        return SimResponse(200 if record["status"] == 4 else 400, _public(record))
    stamp = quote(record["received_time"], safe="")
    location = f"https://{host}/api/deployments/latest?deployer={quote(deployer, safe='')}&time={stamp}"
    return SimResponse(202, b"", {"Location": location})


def _get_deployment(s: Simulator, req: SimRequest, host: str, deployment_id: str) -> SimResponse:
    stored = site_by_host(s, host, "repository")
    refused = _unauthorized(req)
    if refused is not None:
        return refused
    state = app_state(s, stored)
    if deployment_id.lower() == "latest":
        if not state["deployments"]:
            return SimResponse(404, {"Message": "No deployment found."})
        record = state["deployments"][-1]
        _advance(s, state, record)
        if "time" in req.query and not record["complete"]:
            return SimResponse(202, _public(record), {"Location": req.url})
        return SimResponse(200, _public(record))
    record = next((r for r in state["deployments"] if r["id"] == deployment_id), None)
    if record is None or record.get("_hidden_polls", 0) > 0:
        if record is not None:
            record["_hidden_polls"] -= 1
        return SimResponse(404, {"Message": f"Deployment {deployment_id} not found."})
    _advance(s, state, record)
    return SimResponse(200, _public(record))


def _list_deployments(s: Simulator, req: SimRequest, host: str) -> SimResponse:
    stored = site_by_host(s, host, "repository")
    refused = _unauthorized(req)
    if refused is not None:
        return refused
    state = app_state(s, stored)
    return SimResponse(200, [_public(r) for r in reversed(state["deployments"])])


# ---- the functions ARM lists -------------------------------------------------------------------
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
        route = next((b.get("route") for b in fn.get("bindings") or [] if b.get("type") == "httpTrigger"), None)
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
            "config": {"name": name, "scriptFile": "function_app.py", "language": "python",
                       "bindings": copy.deepcopy(fn.get("bindings") or [])},
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
    fn = next((f for f in visible_functions(s, stored) if f["name"].lower() == function.lower()), None)
    if fn is None:
        raise ArmError(404, "NotFound", f"Error retrieving function '{function}'.")
    return SimResponse(200, function_envelope(s, stored, fn))


# ---- the Event Grid extension's webhook ------------------------------------------------------
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


def register(sim: Simulator) -> None:
    for method, pattern, handler in (
        ("POST", _SCM_HOST + r"/api/publish", _publish),
        ("POST", _SCM_HOST + r"/api/zipdeploy", _zipdeploy),
        ("GET", _SCM_HOST + r"/api/deployments", _list_deployments),
        ("GET", _SCM_HOST + r"/api/deployments/([^/]+)", _get_deployment),
        ("POST", _APP_HOST + r"/runtime/webhooks/eventgrid", _webhook),
    ):
        sim.route(method, pattern)(handler)
    sim.route("GET", _RG + r"/sites/([^/]+)/functions", api_versions=API_VERSIONS)(_list_functions)
    sim.route("GET", _RG + r"/sites/([^/]+)/functions/([^/]+)", api_versions=API_VERSIONS)(_get_function)

