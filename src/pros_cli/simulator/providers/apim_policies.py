"""API-level policies (``service/apis/{api}/policies/policy``).

As API Management does: the only policy id is ``policy`` (Azure/bicep-types-az#2006); a write is
not a long-running operation and answers 201 (new) or 200 with the policy
(ApiManagementCreateApiPolicy.json); the document is validated first (named values, schema,
referenced backends: :mod:`.apim_policy_check`) and refused with 400 ValidationError and one
detail per problem; ``format`` is ``xml`` (the default) or ``rawxml`` on write and on read
(``?format=``). ``rawxml`` comes back exactly as written. ``xml`` comes back as API Management
re-serialises it; the simulator reproduces only the CRLF line endings the example response shows,
not the re-indentation. The ``*-link`` formats (APIM fetches a URL) are not simulated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmError, SimResponse, TypeSpec
from pros_cli.simulator.providers.apim_backends import TYPE as BACKEND_TYPE
from pros_cli.simulator.providers.apim_common import (
    API_VERSIONS,
    SERVICE_ROUTE,
    named_values,
    validation_response,
)
from pros_cli.simulator.providers.apim_policy_check import validate_policy

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

TYPE = "Microsoft.ApiManagement/service/apis/policies"
FORMATS = ("xml", "rawxml")
LINK_FORMATS = ("xml-link", "rawxml-link")
TEXT_KEY = "_text"


def _ids(sub: str, rg: str, service: str, api: str, policy: str) -> tuple[str, str, str]:
    service_id = (
        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ApiManagement/service/{service}"
    )
    api_id = f"{service_id}/apis/{api}"
    return service_id, api_id, f"{api_id}/policies/{policy}"


def _check(s: Simulator, service_id: str, api_id: str, api: str, policy: str) -> None:
    if s.get_resource(service_id) is None:
        raise ArmError(
            404, "ResourceNotFound", f"Api Management service '{service_id.rsplit('/', 1)[-1]}' not found."
        )
    if s.get_resource(api_id) is None:
        raise ArmError(404, "ResourceNotFound", f"Api not found: '{api}'.")
    if policy.lower() != "policy":
        raise ArmError(400, "BadRequest", f"'{policy}' is not a policy identifier; the only one is 'policy'.")


def _shown(stored: dict[str, Any], fmt: str) -> dict[str, Any]:
    body = stored["body"]
    text = str(body[TEXT_KEY])
    if fmt == "xml":
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return {
        "id": body["id"],
        "type": TYPE,
        "name": body["name"],
        "properties": {"format": fmt, "value": text},
    }


def _backends(s: Simulator, service_id: str) -> set[str]:
    prefix = service_id.lower() + "/backends/"
    return {
        r["body"]["name"].lower()
        for r in s.resources_of_type(BACKEND_TYPE)
        if r["body"]["id"].lower().startswith(prefix)
    }


def _put(
    s: Simulator, req: SimRequest, sub: str, rg: str, service: str, api: str, policy: str
) -> SimResponse:
    service_id, api_id, policy_id = _ids(sub, rg, service, api, policy)
    _check(s, service_id, api_id, api, policy)
    props = (req.body or {}).get("properties") if isinstance(req.body, dict) else None
    if not isinstance(props, dict) or not isinstance(props.get("value"), str) or not props["value"].strip():
        return validation_response([("value", "'value' is required.")])
    fmt = str(props.get("format") or "xml")
    if fmt in LINK_FORMATS:
        raise ArmError(
            404,
            "SimulatorRouteNotImplemented",
            f"The pros ARM simulator does not simulate policy format '{fmt}'. This is a gap in the "
            "simulator, not an Azure answer.",
        )
    if fmt not in FORMATS:
        return validation_response(
            [("format", f"'{fmt}' is not a valid policy format; allowed: xml, rawxml.")]
        )
    problems = validate_policy(
        props["value"], named_values=named_values(s, service_id), backends=_backends(s, service_id)
    )
    if problems:
        return validation_response(problems)
    existed = s.get_resource(policy_id) is not None
    stored = {
        "type": TYPE,
        "body": {"id": policy_id, "type": TYPE, "name": "policy", TEXT_KEY: props["value"]},
    }
    s.db["resources"][policy_id.lower()] = stored
    return SimResponse(200 if existed else 201, _shown(stored, fmt))


def _get(
    s: Simulator, req: SimRequest, sub: str, rg: str, service: str, api: str, policy: str
) -> SimResponse:
    service_id, api_id, policy_id = _ids(sub, rg, service, api, policy)
    _check(s, service_id, api_id, api, policy)
    stored = s.get_resource(policy_id)
    if stored is None:
        raise ArmError(404, "ResourceNotFound", "Policy not found: 'policy'.")
    fmt = str(req.query.get("format") or "xml")
    if fmt not in FORMATS:
        raise ArmError(
            400, "ValidationError", f"'{fmt}' is not a valid policy export format; allowed: xml, rawxml."
        )
    return SimResponse(200, _shown(stored, fmt))


def _delete(
    s: Simulator, req: SimRequest, sub: str, rg: str, service: str, api: str, policy: str
) -> SimResponse:
    _, _, policy_id = _ids(sub, rg, service, api, policy)
    found = s.db["resources"].pop(policy_id.lower(), None)
    return SimResponse(200 if found else 204)


def _list(s: Simulator, req: SimRequest, sub: str, rg: str, service: str, api: str) -> SimResponse:
    service_id, api_id, policy_id = _ids(sub, rg, service, api, "policy")
    _check(s, service_id, api_id, api, "policy")
    stored = s.get_resource(policy_id)
    return SimResponse(200, {"value": [_shown(stored, "xml")] if stored else [], "count": 1 if stored else 0})


def register(sim: Simulator) -> None:
    # Stored as resources below the API (so deleting the API drops its policy); the routes answer.
    sim.register_type(
        TypeSpec(TYPE, API_VERSIONS, parent_type="Microsoft.ApiManagement/service/apis", tracked=False)
    )
    service = SERVICE_ROUTE
    one = service + r"/apis/([^/]+)/policies/([^/]+)"
    sim.route("PUT", one, api_versions=API_VERSIONS)(_put)
    sim.route("GET", one, api_versions=API_VERSIONS)(_get)
    sim.route("DELETE", one, api_versions=API_VERSIONS)(_delete)
    sim.route("GET", service + r"/apis/([^/]+)/policies", api_versions=API_VERSIONS)(_list)
