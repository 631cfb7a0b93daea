"""Function code: the package pros builds from ``functions/<app>`` and deploys to one Function App.

"Current" is what pros deployed last, as the state file records it (the package's content hash,
the deployment id, the app's identity at the time) checked against what the app tells now: the
functions ARM lists under it (``sites/<app>/functions``), its identity (a recreated app has a new
one) and its SCM site's latest deployment. A run deploys when the package was never deployed, when
its hash changed, or when the app no longer runs what pros deployed; otherwise nothing is sent.

Deploying: Flex Consumption's one deploy (``/api/publish?RemoteBuild=true``) or, on Linux
Consumption, Kudu's zip deploy (remote build through the app settings pros sets beforehand), with an
Entra token (:mod:`pros_cli.azure.scm`); then the deployment is polled until it succeeds or fails
(Flex answers 200 while it runs: the status is in the body), then pros waits, bounded, until ARM
lists the function under the app. The wait is a poller the engine drives, so Ctrl-C stops waiting,
the deployment id is recorded, and the next run resumes polling instead of deploying again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pros_cli.azure.scm import RUNNING, SUCCESS, ScmError, ScmSite, describe_status, scm_host
from pros_cli.echo import AzCommand, az
from pros_cli.errors import ProsError
from pros_cli.resources.base import FieldDiff, Resource, get_path
from pros_cli.resources.function_deployment import DeploymentPoller
from pros_cli.resources.functions import WEB_API, FunctionApp
from pros_cli.resources.package_source import PackageSource, shown_path
from pros_cli.spec import Spec

DEPLOYER = "pros"
HASH_PREFIX = "pros "


@dataclass(frozen=True)
class Reason(FieldDiff):
    """A difference told in words (the package is not a set of fields)."""

    text: str = ""

    def reason(self) -> str:
        return self.text


def short(content_hash: str | None) -> str:
    return (content_hash or "none")[:19]


class FunctionPackage(Resource):
    arm_type = "Microsoft.Web/sites/functions"
    client_kind = "web"
    api_version = WEB_API
    label = "function package"
    managed_fields = ()
    immutable_fields = ()
    tagged = False
    deleted_with_parent = True  # the code goes with its app; there is nothing to delete on its own
    created_by = "pros deploy-functions"
    typical_seconds = 120.0

    def __init__(
        self,
        spec: Spec,
        *,
        key: str,
        app: FunctionApp,
        folder: str,
        functions: tuple[str, ...],
        vendor: tuple[str, ...],
        source: PackageSource,
        notify: Callable[[str], None] | None = None,
        depends_on: tuple[str, ...] = (),
    ):
        super().__init__(
            spec,
            key=key,
            name=functions[0],
            region=app.region,
            depends_on=(app.key, *depends_on),
            parent=app.key,
        )
        self.app = app
        self.folder = folder
        self.functions = functions
        self.vendor = vendor
        self.source = source
        self.notify = notify or (lambda _line: None)
        self.reads_inputs = True  # reads the app's body (SCM host, identity) from its read
        self.recorded: dict[str, Any] = {}
        self.pending: dict[str, Any] | None = None

    # ---- identity ---------------------------------------------------------------------------
    def arm_id(self) -> str:
        return f"{self.app.arm_id()}/functions/{self.name}"

    def describe(self) -> str:
        return f"{self.label} {self.folder} on {self.app.name}"

    def display_name(self) -> str:
        return f"{self.folder} on {self.app.name}"

    @property
    def flex(self) -> bool:
        return self.spec.function_plan == "flex"

    # ---- the package ------------------------------------------------------------------------
    def package(self) -> bytes:
        return self.source.build(self.folder, self.vendor)

    def content_hash(self) -> str | None:
        """The build's hash, or None where the app folders are not at hand (status from a wheel)."""
        from pros_cli.functions_package import content_hash

        if not self.source.available(self.folder):
            return None
        return content_hash(self.package())

    def remember(self, recorded: Mapping[str, Any] | None) -> None:
        """The engine hands over this resource's state entry before the diff: the package pros
        deployed last, and one it started deploying when a run was interrupted."""
        entry = recorded or {}
        # Outputs are written by successes only: a failed or interrupted update keeps the last one's.
        self.recorded = dict(entry.get("outputs") or {})
        token = (entry.get("operation") or {}).get("continuation_token")
        self.pending = DeploymentPoller.decode(token) if token else None

    def desired(self) -> dict[str, Any]:
        """What pros wants the app to run (compared by :meth:`diff`, not field by field)."""
        return {"properties": {"package": f"functions/{self.folder}", "contentHash": self.content_hash()}}

    # ---- what the app tells -----------------------------------------------------------------
    def _site(self, clients: Any) -> dict[str, Any] | None:
        site = self.inputs.get(self.app.key)
        if site is None:
            site = self.app.read(clients)
        return site

    def listed(self, clients: Any) -> list[str]:
        """The function names ARM lists under the app."""
        pages = self.client(clients).web_apps.list_functions(self.resource_group, self.app.name)
        return sorted(str(f.name).rsplit("/", 1)[-1] for f in pages)

    def read(self, clients: Any) -> dict[str, Any] | None:
        site = self._site(clients)
        if site is None:
            return None
        host = scm_host(site)
        latest = None
        if host:
            try:
                latest = ScmSite(clients, host).latest()
            except ScmError as exc:
                if exc.status in (401, 403):
                    raise ProsError(
                        f"the SCM site of {self.app.name} refused pros's Entra token ({exc}); the identity "
                        "pros runs as needs Microsoft.Web/sites/publish/Action on the app (e.g. Website "
                        "Contributor)"
                    ) from None
                latest = None  # the SCM site forgot its deployments (Flex recycles its workers)
        body = {
            "id": self.arm_id(),
            "name": self.name,
            "type": self.arm_type,
            "properties": {
                "functions": self.listed(clients),
                "app": {
                    "principalId": get_path(site, "identity.principalId"),
                    "state": get_path(site, "properties.state"),
                    "scmHost": host,
                },
                "deployment": _deployment_summary(latest),
            },
        }
        props = body["properties"]
        if latest and latest.get("status") in RUNNING and not latest.get("complete"):
            props["provisioningState"] = "Deploying"
        elif not props["functions"] and not latest:
            return None  # nothing deployed there at all
        return body

    def _known(self) -> dict[str, str]:
        """Deployment id -> content hash of the deployments pros made (recorded, or interrupted)."""
        known = {}
        if self.recorded.get("deployment_id") and self.recorded.get("content_hash"):
            known[str(self.recorded["deployment_id"])] = str(self.recorded["content_hash"])
        pending = self.pending or {}
        if pending.get("deploymentId") and pending.get("contentHash"):
            known[str(pending["deploymentId"])] = str(pending["contentHash"])
        return known

    def running(self, current: dict[str, Any]) -> tuple[str | None, str | None]:
        """(content hash, deployment id) of the package the app runs as far as pros can tell."""
        latest = (current.get("properties") or {}).get("deployment") or {}
        known = self._known()
        recorded = (self.recorded.get("content_hash"), self.recorded.get("deployment_id"))
        if not latest.get("complete") or not latest.get("id"):
            return recorded  # no deployment history (Flex forgets it): what pros recorded
        if latest["id"] in known:
            if latest.get("status") == SUCCESS:
                return known[latest["id"]], latest["id"]
            return recorded  # pros's own attempt failed: the listing tells whether the app still runs
        foreign = _hash_of(latest)  # someone deployed: pros knows the hash only from its own message
        return (foreign, latest["id"]) if foreign else (None, None)

    def problems(self, current: dict[str, Any]) -> list[str]:
        """Why the app does not (or may not) run the package pros recorded; empty when it does."""
        props = current.get("properties") or {}
        out = []
        latest = props.get("deployment") or {}
        content_hash, _ = self.running(current)
        if not content_hash:
            if latest.get("complete") and latest.get("id") and latest["id"] not in self._known():
                out.append(
                    f"its latest deployment {latest['id']} ({describe_status(latest)}, by "
                    f"{latest.get('deployer') or 'unknown'}, {latest.get('end_time') or 'time unknown'}) "
                    "is not one pros made"
                )
            else:
                out.append("no package is recorded for it, so pros cannot tell what it runs")
        principal = (props.get("app") or {}).get("principalId")
        recorded_principal = self.recorded.get("app_principal_id")
        if recorded_principal and principal and principal != recorded_principal:
            out.append("the app was recreated since pros deployed to it (its identity changed)")
        missing = [f for f in self.functions if f not in (props.get("functions") or [])]
        if missing:
            out.append(f"the app lists no function {', '.join(missing)}")
        return out

    def absent_reason(self, recorded: Mapping[str, Any] | None) -> str:
        built = self.content_hash()
        what = f"{self.folder} ({short(built)}, {shown_path(self.source.zip_path(self.app.name))})"
        previous = (recorded or {}).get("outputs") or {}
        if previous.get("content_hash"):
            return (
                f"deploy {what}: pros deployed {short(previous['content_hash'])} before, but the app runs no "
                "function any more (recreated, or its code was removed)"
            )
        return f"deploy {what}: never deployed to this app"

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        built = self.content_hash()
        out: list[FieldDiff] = [
            Reason("package", None, built, text=f"redeploy: {p}") for p in self.problems(current)
        ]
        recorded = self.running(current)[0]
        if built and recorded and built != recorded and not out:
            out.append(
                Reason(
                    "package",
                    recorded,
                    built,
                    text=f"package changed: {short(recorded)} deployed, {short(built)} built from "
                    f"{self.folder} ({shown_path(self.source.zip_path(self.app.name))})",
                )
            )
        return out

    def health(self, current: dict[str, Any], clients: Any) -> tuple[str, str]:
        props = current.get("properties") or {}
        state = (props.get("app") or {}).get("state")
        if props.get("provisioningState") == "Deploying":
            return "pending", "a deployment is running"
        if state and state != "Running":
            return "degraded", f"app state {state}, not Running"
        problems = self.problems(current)
        if problems:
            return "degraded", "; ".join(problems)
        content_hash, deployment_id = self.running(current)
        return "ok", f"runs {short(content_hash)} (deployment {deployment_id})"

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        props = (current or {}).get("properties") or {}
        content_hash, deployment_id = props.get("contentHash"), props.get("deploymentId")
        if content_hash is None and current is not None:  # a read: what the evidence says it runs
            content_hash, deployment_id = (
                self.running(current) if not self.problems(current) else (None, None)
            )
        return {
            "package": f"functions/{self.folder}",
            "content_hash": content_hash,
            "deployment_id": deployment_id,
            "app_principal_id": (props.get("app") or {}).get("principalId"),
            "functions": list(props.get("functions") or []),
        }

    # ---- deploying ----------------------------------------------------------------------------
    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        if continuation_token is not None:
            return DeploymentPoller.resume(self, clients, continuation_token)
        site = self._site(clients)
        if site is None:
            raise ProsError(f"Function App {self.app.name} does not exist; run pros provision first")
        host = scm_host(site)
        if not host:
            raise ProsError(
                f"ARM reports no SCM host for {self.app.name} (hostNameSslStates has no Repository)"
            )
        package = self.package()
        from pros_cli.functions_package import content_hash

        digest = content_hash(package)
        scm = ScmSite(clients, host)
        self.notify(f"{self.describe()}: uploading {len(package)} bytes ({short(digest)}) to {host}")
        if self.flex:
            deployment = scm.publish(package, remote_build=True, deployer=DEPLOYER)
            poller = DeploymentPoller(self, clients, host, digest, site, deployment_id=deployment)
        else:
            location = scm.zipdeploy(package, deployer=DEPLOYER, message=HASH_PREFIX + digest)
            poller = DeploymentPoller(self, clients, host, digest, site, location=location)
        return poller

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self.create(clients)

    def delete(self, clients: Any) -> Any:
        return None  # code cannot be removed on its own: it goes with its app

    # ---- az ---------------------------------------------------------------------------------
    def az_read(self) -> AzCommand:
        return az(
            "functionapp",
            "function",
            "show",
            "--resource-group",
            self.resource_group,
            "--name",
            self.app.name,
            "--function-name",
            self.name,
            read_only=True,
        )

    def az_create(self) -> list[AzCommand]:
        """Rendering the line writes the zip it names, so the line replays what pros deploys (where
        the app folders are at hand; elsewhere the line names the zip a build would write)."""
        if self.source.available(self.folder):
            path = self.source.write(self.app.name, self.package())
        else:
            path = self.source.zip_path(self.app.name)
        return [
            az(
                "functionapp",
                "deployment",
                "source",
                "config-zip",
                "--resource-group",
                self.resource_group,
                "--name",
                self.app.name,
                "--src",
                shown_path(path),
                "--build-remote",
                "true",
            ),
            # pros waits until ARM lists the functions the package holds (the host has indexed
            # them: an Event Grid subscription to one fails before); config-zip does not.
            *(
                az(
                    "resource", "wait", "--exists", "--ids", f"{self.app.arm_id()}/functions/{name}",
                    "--api-version", self.api_version,
                    note="az functionapp deployment source config-zip returns before the host lists "
                    "the functions",
                )
                for name in self.functions
            ),
        ]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        return self.az_create()

    def az_delete(self) -> list[AzCommand]:
        return []


def _deployment_summary(record: dict[str, Any] | None) -> dict[str, Any] | None:
    if not record:
        return None
    keys = (
        "id",
        "status",
        "status_text",
        "complete",
        "active",
        "deployer",
        "message",
        "received_time",
        "end_time",
        "log_url",
    )
    return {k: record.get(k) for k in keys}


def _hash_of(record: dict[str, Any] | None) -> str | None:
    message = str((record or {}).get("message") or "")
    return message[len(HASH_PREFIX) :] if message.startswith(HASH_PREFIX + "sha256:") else None
