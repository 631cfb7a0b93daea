"""A Function App's SCM (Kudu) site: the deployment endpoints pros calls, with an Entra token.

No basic-auth publishing credentials: every request carries a bearer token for the ARM audience
(``https://management.azure.com/.default``), the way Microsoft's own azd sends it (azure-dev,
``cli/azd/pkg/azsdk/funcapp_host_client.go`` and ``zip_deploy_client.go`` build their pipeline with
the ARM client options). The requests go through the ClientFactory's transport, so retries run for
real and, with ``PROS_CLOUD=simulator``, they reach the simulator's SCM endpoints.

Endpoints (the statuses are Kudu's ``DeployStatus``: 0 pending, 1 building, 2 deploying,
3 failed, 4 success; azd adds -1 cancelled, 5 conflict, 6 partial success):

- Flex Consumption, one deploy: ``POST /api/publish?RemoteBuild=true`` with the zip as
  ``application/zip``; 202 and the deployment id (a JSON string). Poll
  ``GET /api/deployments/<id>``: it answers 200 whether the deployment is running or finished
  (the status is in the body), and a 404 just after the publish until the deployment is visible.
- Linux Consumption, zip deploy: ``POST /api/zipdeploy?isAsync=true`` (Kudu's
  ``PushDeploymentController.ZipPushDeploy`` takes ``deployer`` and ``message``); 202 with a
  ``Location`` to poll: 202 while running, then 200 with the deployment record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pros_cli import __version__

ARM_SCOPE = "https://management.azure.com/.default"
PENDING, BUILDING, DEPLOYING, FAILED, SUCCESS = 0, 1, 2, 3, 4
CANCELLED, CONFLICT, PARTIAL = -1, 5, 6
RUNNING = (PENDING, BUILDING, DEPLOYING)
STATUS_TEXT = {
    CANCELLED: "cancelled",
    PENDING: "pending",
    BUILDING: "building",
    DEPLOYING: "deploying",
    FAILED: "failed",
    SUCCESS: "succeeded",
    CONFLICT: "cancelled: another deployment is in progress",
    PARTIAL: "partially succeeded",
}


class ScmError(Exception):
    """The SCM site refused a request: HTTP status and what it said (never a header)."""

    def __init__(self, status: int, what: str, text: str = ""):
        detail = text.strip().replace("\n", " ")[:500]
        super().__init__(f"{what}: HTTP {status}" + (f": {detail}" if detail else ""))
        self.status = status


def scm_host(site: dict[str, Any] | None) -> str | None:
    """The SCM host ARM reports for an app: the ``Repository`` entry of ``hostNameSslStates``, else
    the enabled host name with ``.scm.`` in it. New apps can get hashed host names
    (``<app>-<hash>.scm.<region>-01.azurewebsites.net``), so the name is never guessed."""
    props = (site or {}).get("properties") or {}
    for state in props.get("hostNameSslStates") or []:
        if str(state.get("hostType") or "").lower() == "repository" and state.get("name"):
            return str(state["name"])
    for host in props.get("enabledHostNames") or []:
        if ".scm." in str(host):
            return str(host)
    return None


@dataclass
class Answer:
    status: int
    body: Any
    location: str | None = None


class ScmSite:
    """One app's SCM site."""

    def __init__(self, clients: Any, host: str):
        self.clients = clients
        self.host = host
        self._client: Any = None

    def _pipeline(self) -> Any:
        if self._client is None:
            from azure.core import PipelineClient
            from azure.core.pipeline.policies import (
                BearerTokenCredentialPolicy,
                HeadersPolicy,
                RetryPolicy,
                UserAgentPolicy,
            )

            s = self.clients.settings
            policies = [
                HeadersPolicy(),
                UserAgentPolicy(base_user_agent=f"pros/{__version__}"),
                RetryPolicy(
                    retry_total=s.retry_total,
                    retry_backoff_factor=s.retry_backoff_factor,
                    retry_backoff_max=s.retry_backoff_max,
                ),
                BearerTokenCredentialPolicy(self.clients.credential, ARM_SCOPE),
            ]
            self._client = PipelineClient(
                base_url=f"https://{self.host}", policies=policies, transport=self.clients.transport
            )
        return self._client

    def _send(self, method: str, url: str, **kwargs: Any) -> Answer:
        from azure.core.rest import HttpRequest

        response = self._pipeline().send_request(HttpRequest(method, url, **kwargs))
        text = response.text()
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text
        return Answer(response.status_code, body, response.headers.get("Location"))

    def _url(self, path: str) -> str:
        return f"https://{self.host}{path}"

    def publish(self, package: bytes, *, remote_build: bool, deployer: str) -> str:
        """Flex Consumption's one deploy; the deployment id."""
        answer = self._send(
            "POST",
            self._url("/api/publish"),
            params={"RemoteBuild": str(remote_build).lower(), "Deployer": deployer},
            content=package,
            headers={"Content-Type": "application/zip", "Accept": "application/json"},
        )
        if answer.status == 409:
            raise ScmError(409, f"{self.host} refused the package: another deployment is in progress")
        if answer.status != 202 or not isinstance(answer.body, str) or not answer.body:
            raise ScmError(answer.status, f"publishing to {self.host} failed", _text(answer.body))
        return answer.body

    def zipdeploy(self, package: bytes, *, deployer: str, message: str) -> str:
        """Kudu's zip deploy, asynchronous; the URL to poll."""
        answer = self._send(
            "POST",
            self._url("/api/zipdeploy"),
            params={"isAsync": "true", "deployer": deployer, "message": message},
            content=package,
            headers={"Content-Type": "application/octet-stream", "Accept": "application/json"},
        )
        if answer.status == 409:
            raise ScmError(409, f"{self.host} refused the package: another deployment is in progress")
        if answer.status != 202 or not answer.location:
            raise ScmError(answer.status, f"zip deploy to {self.host} failed", _text(answer.body))
        return answer.location

    def deployment(self, deployment_id: str) -> dict[str, Any] | None:
        """A deployment record; None while (or once) the SCM site does not know it."""
        return self.poll(self._url(f"/api/deployments/{deployment_id}"))[1]

    def poll(self, url: str) -> tuple[bool, dict[str, Any] | None]:
        """(still answering 202, the deployment record or None for a 404)."""
        answer = self._send("GET", url, headers={"Accept": "application/json"})
        if answer.status == 404:
            return False, None
        if answer.status not in (200, 202):
            raise ScmError(answer.status, f"reading the deployment status from {self.host} failed")
        record = answer.body if isinstance(answer.body, dict) else None
        return answer.status == 202, record

    def latest(self) -> dict[str, Any] | None:
        """The newest deployment the SCM site remembers (None: none, or it forgot them)."""
        return self.poll(self._url("/api/deployments/latest"))[1]


def _text(body: Any) -> str:
    if body is None:
        return ""
    return body if isinstance(body, str) else json.dumps(body)[:500]


def describe_status(record: dict[str, Any] | None) -> str:
    if not record:
        return "unknown"
    status = record.get("status")
    text = STATUS_TEXT.get(status, f"status {status}") if isinstance(status, int) else "unknown"
    detail = str(record.get("status_text") or "").strip()
    return f"{text}: {detail}" if detail else text
