"""Data plane: the API Management gateway's health endpoint.

Every gateway answers ``GET https://<service>.azure-api.net/status-0123456789abcdef`` with 200
and an empty body once the service is activated (Microsoft documents it as the endpoint for
health probes: "API Management ... status-0123456789abcdef", used by Traffic Manager and
Application Gateway probes). A service that is still being created answers nothing yet (its DNS
name is registered at activation), and a name with no service does not resolve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pros_cli.simulator.core import HostUnreachable, SimResponse

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

STATUS_PATH = "/status-0123456789abcdef"
SERVICE_TYPE = "microsoft.apimanagement/service"


def gateway_answers(sim: Simulator, host: str) -> bool:
    """Does an activated service own this gateway host name (its default or a custom one)?"""
    host = host.lower()
    for stored in sim.resources_of_type(SERVICE_TYPE):
        body = stored["body"]
        props = body.get("properties") or {}
        hosts = {f"{body['name'].lower()}.azure-api.net"}
        hosts |= {str(h.get("hostName", "")).lower() for h in props.get("hostnameConfigurations") or []}
        if host not in hosts:
            continue
        op = sim.db["operations"].get(stored.get("operation") or "")
        creating = bool(op and op["status"] == "InProgress" and op["kind"] == "create")
        return props.get("provisioningState") == "Succeeded" and not creating
    return False


def register(sim: Simulator) -> None:
    @sim.route("GET", r"([a-z0-9-]+\.azure-api\.net)" + STATUS_PATH)
    def _status(s: Simulator, req: SimRequest, host: str) -> SimResponse:
        if not gateway_answers(s, host):
            raise HostUnreachable(f"{host}: no API Management gateway answers at this name")
        return SimResponse(200, b"")
