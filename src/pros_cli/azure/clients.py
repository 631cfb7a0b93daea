"""Client factory: lazy imports, one credential, one HTTP session, retry and polling settings.

Nothing under ``azure.*`` is imported until a client is first asked for, so ``pros --help`` and
``--offline`` dry runs never load an SDK. With ``PROS_CLOUD=simulator`` the same SDK clients run
unchanged over the in-process ARM simulator: only the HTTP adapter underneath differs.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pros_cli import __version__
from pros_cli.errors import UsageError

CLIENTS: dict[str, tuple[str, str]] = {
    "resource": ("azure.mgmt.resource.resources", "ResourceManagementClient"),
    "storage": ("azure.mgmt.storage", "StorageManagementClient"),
    "apim": ("azure.mgmt.apimanagement", "ApiManagementClient"),
    "cognitive": ("azure.mgmt.cognitiveservices", "CognitiveServicesManagementClient"),
    "web": ("azure.mgmt.web", "WebSiteManagementClient"),
    "trafficmanager": ("azure.mgmt.trafficmanager", "TrafficManagerManagementClient"),
    "eventgrid": ("azure.mgmt.eventgrid", "EventGridManagementClient"),
    "redis": ("azure.mgmt.redis", "RedisManagementClient"),
    "redisenterprise": ("azure.mgmt.redisenterprise", "RedisEnterpriseManagementClient"),
    "authorization": ("azure.mgmt.authorization", "AuthorizationManagementClient"),
    "loganalytics": ("azure.mgmt.loganalytics", "LogAnalyticsManagementClient"),
    "appinsights": ("azure.mgmt.applicationinsights", "ApplicationInsightsManagementClient"),
    "monitor": ("azure.mgmt.monitor", "MonitorManagementClient"),
}


def raw_json(pipeline_response: Any, _deserialized: Any, _headers: Any) -> Any:
    """``cls=`` callback: return the REST JSON body exactly as ARM sent it."""
    response = pipeline_response.http_response
    text = response.text()
    return json.loads(text) if text else None


@dataclass(frozen=True)
class CloudSettings:
    kind: str  # "azure" or "simulator"
    retry_total: int = 10
    retry_backoff_factor: float = 0.8
    retry_backoff_max: float = 60.0
    polling_interval: float = 30.0


def az_cli_default_subscription() -> str | None:
    """The az CLI's default subscription, read from its profile file (no az process needed)."""
    config_dir = Path(os.environ.get("AZURE_CONFIG_DIR") or Path.home() / ".azure")
    profile = config_dir / "azureProfile.json"
    try:
        data = json.loads(profile.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    for sub in data.get("subscriptions", []):
        if sub.get("isDefault") and sub.get("id"):
            return str(sub["id"])
    return None


def resolve_subscription(
    explicit: str | None, *, offline: bool, cloud: str, recorded: str | None = None
) -> tuple[str, str]:
    """Return (subscription id, where it came from): --subscription (or PROS_SUBSCRIPTION),
    AZURE_SUBSCRIPTION_ID, the deployment's state file, then the cloud's default."""
    if explicit:
        return explicit, "--subscription"
    env = os.environ.get("AZURE_SUBSCRIPTION_ID")
    if env:
        return env, "AZURE_SUBSCRIPTION_ID"
    if recorded:
        return recorded, "the deployment's state file"
    if cloud == "simulator":
        from pros_cli.simulator.core import DEFAULT_SUBSCRIPTION

        return DEFAULT_SUBSCRIPTION, "the simulator's default subscription"
    default = az_cli_default_subscription()
    if default:
        return default, "the az CLI's default subscription"
    if offline:
        from pros_cli.spec import OFFLINE_SUBSCRIPTION

        return OFFLINE_SUBSCRIPTION, "a placeholder (offline, no subscription given)"
    raise UsageError(
        "no Azure subscription selected",
        hint="pass --subscription ID, set PROS_SUBSCRIPTION or AZURE_SUBSCRIPTION_ID, or run "
        "'az login' and 'az account set -s ID'",
    )


class ClientFactory:
    """Builds each management client once, on first use, sharing credential and transport."""

    def __init__(
        self,
        subscription_id: str,
        *,
        cloud: str = "azure",
        parallelism: int = 8,
        credential: Any = None,
        simulator: Any = None,
    ):
        self.subscription_id = subscription_id
        self.cloud = cloud
        self.parallelism = parallelism
        self._credential = credential
        self.simulator = simulator
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        # Progress lines from resources that wait (e.g. for a role assignment to propagate).
        self.notice: Any = None
        self._transport: Any = None
        self._probe_session: Any = None
        if cloud == "simulator":
            interval = getattr(simulator, "poll_interval", 0.0) if simulator is not None else 0.0
            self.settings = CloudSettings(
                "simulator",
                retry_total=12,
                retry_backoff_factor=0.01,
                retry_backoff_max=0.2,
                polling_interval=interval,
            )
        else:
            self.settings = CloudSettings("azure")

    @property
    def credential(self) -> Any:
        if self._credential is None:
            if self.cloud == "simulator":
                from pros_cli.simulator.transport import SimulatorCredential

                self._credential = SimulatorCredential()
            else:
                from azure.identity import DefaultAzureCredential

                # az login, environment service principal, managed identity, workload identity.
                self._credential = DefaultAzureCredential()
        return self._credential

    def _session(self) -> Any:
        import requests
        from requests.adapters import HTTPAdapter

        session = requests.Session()
        pool = max(10, self.parallelism * 3)
        if self.cloud == "simulator":
            from pros_cli.simulator.transport import SimulatorAdapter

            session.mount("https://", SimulatorAdapter(self.simulator))
            session.mount("http://", SimulatorAdapter(self.simulator))
        else:
            session.mount("https://", HTTPAdapter(pool_connections=pool, pool_maxsize=pool))
        return session

    @property
    def transport(self) -> Any:
        if self._transport is None:
            from azure.core.pipeline.transport import RequestsTransport

            self._transport = RequestsTransport(session=self._session(), session_owner=False)
        return self._transport

    def client_kwargs(self) -> dict[str, Any]:
        s = self.settings
        return {
            "transport": self.transport,
            "retry_total": s.retry_total,
            # azure-core allows only 3 retries on 429/5xx by default; ARM throttles bursts of
            # parallel writes, so give status retries the same budget as the total.
            "retry_status": s.retry_total,
            "retry_backoff_factor": s.retry_backoff_factor,
            "retry_backoff_max": s.retry_backoff_max,
            "polling_interval": s.polling_interval,
            "user_agent": f"pros/{__version__}",
        }

    def probe(self, url: str, timeout: float = 10.0) -> int | str:
        """GET a data-plane URL (a health endpoint, no credentials): its HTTP status, or why it
        could not be reached. Through the simulator when the cloud is simulated."""
        import requests

        with self._lock:
            if self._probe_session is None:
                self._probe_session = self._session()
        try:
            return self._probe_session.get(url, timeout=timeout).status_code
        except requests.RequestException as exc:
            return f"unreachable ({type(exc).__name__})"

    def get(self, kind: str) -> Any:
        with self._lock:
            client = self._clients.get(kind)
            if client is None:
                module_name, class_name = CLIENTS[kind]
                cls = getattr(importlib.import_module(module_name), class_name)
                client = cls(self.credential, self.subscription_id, **self.client_kwargs())
                self._clients[kind] = client
            return client

    def __getattr__(self, kind: str) -> Any:
        if kind in CLIENTS:
            return self.get(kind)
        raise AttributeError(kind)
