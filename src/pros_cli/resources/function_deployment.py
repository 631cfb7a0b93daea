"""Driving one package deployment to its end, for the engine.

:class:`DeploymentPoller` has the surface of an azure-core ``LROPoller`` the engine uses (``done``,
``wait``, ``result``, ``continuation_token``): it polls the SCM site's deployment record until the
deployment succeeds or fails (Flex answers 200 while it runs, so the status in the body decides;
a new deployment id can answer 404 for a few polls, and one whose worker was recycled answers 404
after it ran), then waits, bounded, until ARM lists the app's functions. Ctrl-C stops the wait
between polls; the token (the SCM host, the deployment id or status URL and the package's hash, no
secret) lets the next run resume polling instead of deploying again.
"""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

from pros_cli.azure.scm import FAILED, RUNNING, SUCCESS, ScmSite, describe_status
from pros_cli.errors import ProsError
from pros_cli.resources.base import get_path

if TYPE_CHECKING:
    from pros_cli.resources.function_package import FunctionPackage

DEPLOY_TIMEOUT_SECONDS = 30 * 60  # a remote build installs the requirements: minutes, not hours
LIST_TIMEOUT_SECONDS = 5 * 60  # Flex syncs triggers to ARM within a minute or so (az waits 60 s)
POLL_SECONDS = 2.0
NOT_FOUND_POLLS = 10  # a new deployment id can answer 404 for a few polls before it is visible


class DeploymentFailed(ProsError):
    pass


def duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute" + ("s" if minutes != 1 else "")
    return f"{seconds:g} s"


class DeploymentPoller:
    """Drives one deployment to its end for the engine (``done``/``wait``/``result``/
    ``continuation_token``, as an LROPoller): poll the deployment until it succeeds or fails, then
    wait, bounded, until ARM lists the app's functions."""

    def __init__(
        self,
        package: FunctionPackage,
        clients: Any,
        host: str,
        content_hash: str,
        site: dict[str, Any] | None,
        *,
        deployment_id: str | None = None,
        location: str | None = None,
    ):
        self.package = package
        self.clients = clients
        self.scm = ScmSite(clients, host)
        self.host = host
        self.content_hash = content_hash
        self.site = site
        self.deployment_id = deployment_id
        self.location = location
        self.phase = "deploying"
        self._done = False
        self._error: BaseException | None = None
        self._result: dict[str, Any] | None = None
        self._next = 0.0
        self._started = time.monotonic()
        self._listing_since: float | None = None
        self._missing = 0
        self._seen = False
        self._status: int | None = None
        simulated = getattr(clients.settings, "kind", "") == "simulator"
        self.interval = clients.settings.polling_interval if simulated else POLL_SECONDS

    # ---- the LROPoller surface the engine uses -------------------------------------------------
    def continuation_token(self) -> str:
        """azure-core's token shape (base64 JSON with ``data.response.content``), so the state file
        keeps it: what resuming needs, no secret."""
        state = {
            "host": self.host,
            "deploymentId": self.deployment_id,
            "location": self.location,
            "contentHash": self.content_hash,
        }
        content = base64.b64encode(json.dumps(state).encode()).decode("ascii")
        outer = {"data": {"response": {"content": content}, "kind": "pros-function-deployment"}}
        return base64.b64encode(json.dumps(outer).encode()).decode("ascii")

    @staticmethod
    def decode(token: str) -> dict[str, Any] | None:
        try:
            outer = json.loads(base64.b64decode(token))
            state = json.loads(base64.b64decode(outer["data"]["response"]["content"]))
        except (ValueError, KeyError, TypeError):
            return None
        return state if isinstance(state, dict) and state.get("host") and state.get("contentHash") else None

    @classmethod
    def resume(cls, package: FunctionPackage, clients: Any, token: str) -> DeploymentPoller:
        state = cls.decode(token)
        if state is None:
            raise ProsError(f"{package.describe()}: the recorded deployment cannot be resumed")
        host = str(state["host"])
        digest = str(state["contentHash"])
        return cls(
            package,
            clients,
            host,
            digest,
            None,
            deployment_id=state.get("deploymentId"),
            location=state.get("location"),
        )

    def done(self) -> bool:
        return self._done

    def wait(self, timeout: float | None = None) -> None:
        if self._done:
            return
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, timeout if timeout is not None else delay))
            if time.monotonic() < self._next:
                return
        try:
            self._step()
        except BaseException as exc:
            self._error = exc
            self._done = True
        self._next = time.monotonic() + self.interval

    def result(self) -> dict[str, Any]:
        while not self._done:
            self.wait(self.interval)
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    # ---- the steps ----------------------------------------------------------------------------
    def _step(self) -> None:
        if self.phase == "deploying":
            self._poll_deployment()
        else:
            self._poll_listing()

    def _poll_deployment(self) -> None:
        pkg = self.package
        if time.monotonic() - self._started > DEPLOY_TIMEOUT_SECONDS:
            raise DeploymentFailed(
                f"deployment {self.deployment_id or ''} still running after "
                f"{duration(DEPLOY_TIMEOUT_SECONDS)}; run pros deploy-functions again to keep waiting"
            )
        if self.location:
            _, record = self.scm.poll(self.location)
        else:
            assert self.deployment_id is not None
            record = self.scm.deployment(self.deployment_id)
        if record is None:
            self._missing += 1
            if self._seen:  # the worker that ran it was recycled: ARM's listing has the last word
                self._start_listing()
            elif self._missing > NOT_FOUND_POLLS:
                raise DeploymentFailed(
                    f"the SCM site {self.host} does not know deployment {self.deployment_id}"
                )
            return
        self._seen = True
        self.deployment_id = str(record.get("id") or self.deployment_id or "")
        status = record.get("status")
        if status != self._status and status in RUNNING:
            pkg.notify(f"{pkg.describe()}: deployment {self.deployment_id} {describe_status(record)}")
        self._status = status if isinstance(status, int) else None
        if status in RUNNING:
            return
        if status == SUCCESS:
            self._start_listing()
            return
        log = f" (log: {record['log_url']})" if record.get("log_url") else ""
        word = "failed" if status == FAILED else describe_status(record)
        raise DeploymentFailed(
            f"deployment {self.deployment_id} {word}: "
            f"{record.get('status_text') or describe_status(record)}{log}"
        )

    def _start_listing(self) -> None:
        self.phase = "listing"
        self._listing_since = time.monotonic()
        pkg = self.package
        pkg.notify(
            f"{pkg.describe()}: deployed; waiting up to {duration(LIST_TIMEOUT_SECONDS)} for ARM to list "
            f"{', '.join(pkg.functions)} under {pkg.app.name}"
        )
        self._poll_listing()

    def _poll_listing(self) -> None:
        pkg = self.package
        listed = pkg.listed(self.clients)
        if all(f in listed for f in pkg.functions):
            site = self.site or pkg.app.read(self.clients) or {}
            self._result = {
                "id": pkg.arm_id(),
                "name": pkg.name,
                "type": pkg.arm_type,
                "properties": {
                    "functions": listed,
                    "app": {
                        "principalId": get_path(site, "identity.principalId"),
                        "state": get_path(site, "properties.state"),
                        "scmHost": self.host,
                    },
                    "contentHash": self.content_hash,
                    "deploymentId": self.deployment_id,
                },
            }
            self._done = True
            return
        assert self._listing_since is not None
        if time.monotonic() - self._listing_since > LIST_TIMEOUT_SECONDS:
            shown = ", ".join(listed) or "no function"
            raise DeploymentFailed(
                f"deployment {self.deployment_id} succeeded, but after {duration(LIST_TIMEOUT_SECONDS)} ARM "
                f"lists {shown} under {pkg.app.name}, not "
                f"{', '.join(pkg.functions)}: the Functions host did not load the package (see the app's "
                "logs: az webapp log deployment show, or Application Insights)"
            )
