"""Shared by the API Management child-resource providers: api-versions, the service an entity
lives in, and API Management's validation errors.

API Management refuses a write with 400 ``ValidationError`` "One or more fields contain incorrect
values:" and the reasons in ``details`` (Azure/apiops#565, #491, azure-powershell#11027). Errors
raised through :class:`~pros_cli.simulator.core.ArmError` carry only code and message, so they
append the reasons to the message; routes that answer themselves (:func:`validation_response`)
return the details as API Management does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmError, SimResponse, TypeSpec
from pros_cli.simulator.providers.apim import API_VERSIONS, TYPE

if TYPE_CHECKING:
    from pros_cli.simulator.core import Simulator

__all__ = [
    "API_VERSIONS",
    "SERVICE_RE",
    "SERVICE_ROUTE",
    "TYPE",
    "service_entity",
    "service_of",
    "sku_of",
    "validation_error",
    "validation_response",
]

HEADLINE = "One or more fields contain incorrect values:"


def service_entity(type_name: str, api_versions: tuple[str, ...] = API_VERSIONS, **rules: Any) -> TypeSpec:
    """The type of an entity inside an API Management service (backend, named value, API, product,
    diagnostic): by default the service's api-versions, the service as parent, a proxy resource
    (no location, no tags of ARM's own, nothing immutable), 201 on create; ``rules`` add the rest."""
    return TypeSpec(
        type_name,
        api_versions,
        create_status=201,
        parent_type=TYPE,
        tracked=False,
        immutable=(),
        **rules,
    )
# /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ApiManagement/service/{name}
SERVICE_RE = r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.ApiManagement/service/[^/]+"
# The same, capturing subscription, resource group and service name (for routes).
SERVICE_ROUTE = (
    r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.ApiManagement/service/([^/]+)"
)
# Entity ids (backendId, namedValueId, apiId, productId): 1-256 (backends 80) characters, none of *#&+:<>?
ENTITY_ID_RE = re.compile(r"^[^*#&+:<>?]+$")
NAMED_VALUE_REF = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def validation_error(*reasons: str) -> ArmError:
    return ArmError(400, "ValidationError", " ".join([HEADLINE, *reasons]))


def validation_response(details: list[tuple[str, str]]) -> SimResponse:
    """The 400 API Management answers, ``details`` as (target, message)."""
    return SimResponse(
        400,
        {
            "error": {
                "code": "ValidationError",
                "message": HEADLINE,
                "details": [{"code": "ValidationError", "target": t, "message": m} for t, m in details],
            }
        },
    )


def service_of(resource_id: str) -> str:
    """The service id an entity id starts with."""
    match = re.match(SERVICE_RE, resource_id, re.IGNORECASE)
    if match is None:
        raise ValueError(f"not below an API Management service: {resource_id}")
    return match.group(0)


def sku_of(sim: Simulator, resource_id: str) -> str | None:
    stored = sim.get_resource(service_of(resource_id))
    return ((stored or {}).get("body", {}).get("sku") or {}).get("name")


def named_values(sim: Simulator, service_id: str) -> dict[str, str]:
    """display name (lower-case) -> value of every named value of the service: ``{{name}}``
    refers to the display name (mirsaeedi/dotnet-apim#16 confirms against the portal)."""
    from pros_cli.simulator.providers.apim_named_values import TYPE as NV_TYPE
    from pros_cli.simulator.providers.apim_named_values import VALUE_KEY

    prefix = service_id.lower() + "/namedvalues/"
    out: dict[str, str] = {}
    for r in sim.resources_of_type(NV_TYPE):
        if r["body"]["id"].lower().startswith(prefix):
            name = str(r["body"]["properties"].get("displayName") or r["body"]["name"])
            out[name.lower()] = str(r["body"].get(VALUE_KEY) or "")
    return out


def missing_named_values(sim: Simulator, service_id: str, text: Any) -> list[str]:
    known = named_values(sim, service_id)
    return sorted({m for m in NAMED_VALUE_REF.findall(str(text)) if m.lower() not in known})
