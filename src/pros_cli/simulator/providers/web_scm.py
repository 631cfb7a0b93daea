"""Data plane of a Function App: its SCM (Kudu) deployment endpoints. What the host then runs
(ARM's function listing, the Event Grid extension's webhook) is in :mod:`.web_functions`.

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
app then lists no functions (its host runs the package it cannot load); a build that fails leaves
the app running what it ran. Once an app runs a function with an Event Grid trigger, the host has
the ``eventgrid_extension`` system key.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from pros_cli.simulator.core import SimResponse, new_secret, utcnow
from pros_cli.simulator.providers.web import SETTINGS_KEY, host_keys
from pros_cli.simulator.providers.web_functions import (
    EVENTGRID_KEY,
    EVENTGRID_TRIGGER,
    app_state,
    is_flex,
    site_by_host,
)
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
FLEX_UNSUPPORTED_SETTINGS = (
    "WEBSITE_RUN_FROM_PACKAGE",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
)
REMOTE_BUILD_SETTINGS = ("SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD")
# Storage Blob Data Owner and Storage Blob Data Contributor (Microsoft's built-in roles reference).
BLOB_WRITER_ROLES = ("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "ba92f5b4-2d11-453d-a403-e96b0029c9fe")
_SCM_HOST = r"([a-z0-9-]+(?:\.[a-z0-9-]+)*\.scm\.(?:[a-z0-9-]+\.)?azurewebsites\.net)"


# ---- auth ---------------------------------------------------------------------------------------
def _unauthorized(req: SimRequest) -> SimResponse | None:
    if (
        token_audience(req.headers.get("Authorization") or req.headers.get("authorization"))
        in ACCEPTED_AUDIENCES
    ):
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
    sim: Simulator,
    stored: dict[str, Any],
    req: SimRequest,
    *,
    remote_build: bool,
    deployer: str,
    message: str,
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
    elif flex and not _can_write_package(sim, stored):
        # Azure/azure-dev#4439: the platform uploads the package with the app's identity.
        outcome = {
            "status": 3,
            "status_text": "Failed to upload because Azure Storage responded with Forbidden : Response "
            "status code does not indicate success: 403 (This request is not authorized to perform this "
            "operation.)",
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


def _can_write_package(sim: Simulator, stored: dict[str, Any]) -> bool:
    """A Flex app whose deployment storage authenticates with its system identity needs a blob data
    role (Owner or Contributor) on that storage account, its container or a scope above them."""
    props = stored["body"].get("properties") or {}
    storage = (((props.get("functionAppConfig") or {}).get("deployment") or {}).get("storage")) or {}
    if str((storage.get("authentication") or {}).get("type")) != "SystemAssignedIdentity":
        return True
    account = (urlsplit(str(storage.get("value") or "")).hostname or "").split(".", 1)[0].lower()
    principal = str((stored["body"].get("identity") or {}).get("principalId") or "").lower()
    for assignment in sim.resources_of_type("Microsoft.Authorization/roleAssignments"):
        a = assignment["body"].get("properties") or {}
        role = str(a.get("roleDefinitionId") or "").rsplit("/", 1)[-1].lower()
        if str(a.get("principalId") or "").lower() != principal or role not in BLOB_WRITER_ROLES:
            continue
        scope = str(a.get("scope") or "").lower()
        if "/providers/microsoft.storage/storageaccounts/" not in scope:
            if "/providers/" not in scope:  # a resource group or the subscription: covers it
                return True
            continue
        if scope.split("/providers/microsoft.storage/storageaccounts/", 1)[1].split("/", 1)[0] == account:
            return True
    return False


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
    record.update(
        status=outcome["status"], status_text=outcome["status_text"], complete=True, end_time=utcnow()
    )
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
        return SimResponse(
            409, b"There is a deployment currently in progress.", {"Content-Type": "text/plain"}
        )
    remote = _is_true(req.query.get("remotebuild"))
    record = _start(
        s,
        stored,
        req,
        remote_build=remote,
        deployer=req.query.get("deployer") or "OneDeploy",
        message="OneDeploy",
    )
    return SimResponse(202, record["id"])


def _zipdeploy(s: Simulator, req: SimRequest, host: str) -> SimResponse:
    stored = site_by_host(s, host, "repository")
    refused = _unauthorized(req)
    if refused is not None:
        return refused
    state = app_state(s, stored)
    if _running(s, state):
        return SimResponse(
            409, b"There is a deployment currently in progress.", {"Content-Type": "text/plain"}
        )
    settings = _settings(stored)
    remote = all(_is_true(settings.get(name)) for name in REMOTE_BUILD_SETTINGS)
    deployer = req.query.get("deployer") or "ZipDeploy"
    record = _start(
        s,
        stored,
        req,
        remote_build=remote,
        deployer=deployer,
        message=req.query.get("message") or "Created via a push deployment",
    )
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


def register(sim: Simulator) -> None:
    for method, pattern, handler in (
        ("POST", _SCM_HOST + r"/api/publish", _publish),
        ("POST", _SCM_HOST + r"/api/zipdeploy", _zipdeploy),
        ("GET", _SCM_HOST + r"/api/deployments", _list_deployments),
        ("GET", _SCM_HOST + r"/api/deployments/([^/]+)", _get_deployment),
    ):
        sim.route(method, pattern)(handler)
