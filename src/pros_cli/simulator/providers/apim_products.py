"""API Management products (``service/products``) and the APIs linked to them
(``service/products/{product}/apis/{api}``).

As API Management does (ProductContract and ProductApi operations, 2024-05-01): a product write
answers 201/200 with the body, no long-running operation; ``displayName`` is required (1-300),
``description`` at most 1000 characters, ``state`` is ``notPublished`` (the default) or
``published``; ``approvalRequired`` may only be true when a subscription is required. Linking an
API is a PUT with no body answering the API's contract (201 new, 200 existing); HEAD answers 204
when the API is linked and 404 when not; both the product and the API must exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmError, ArmPath, SimResponse, TypeSpec
from pros_cli.simulator.providers.apim_common import (
    API_VERSIONS,
    ENTITY_ID_RE,
    SERVICE_ROUTE,
    service_entity,
    validation_error,
)

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

TYPE = "Microsoft.ApiManagement/service/products"
LINK_TYPE = "Microsoft.ApiManagement/service/products/apis"
STATES = ("notPublished", "published")


def _validate(sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None) -> None:
    props = body.get("properties") or {}
    if len(parsed.name) > 256 or not ENTITY_ID_RE.match(parsed.name):
        raise validation_error(f"'{parsed.name}' is not a valid product identifier.")
    name = props.get("displayName")
    if not name or len(str(name)) > 300:
        raise validation_error("'displayName' is required (1-300 characters).")
    if len(str(props.get("description") or "")) > 1000:
        raise validation_error("'description' is longer than 1000 characters.")
    state = props.get("state")
    if state is not None and state not in STATES:
        raise validation_error(f"'{state}' is not a valid product state; allowed: {', '.join(STATES)}.")
    if props.get("approvalRequired") and props.get("subscriptionRequired") is False:
        raise validation_error("'approvalRequired' can be true only when 'subscriptionRequired' is true.")


def _build(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    props = body["properties"]
    props.setdefault("subscriptionRequired", True)
    props.setdefault("state", "notPublished")
    if props["subscriptionRequired"]:
        props.setdefault("approvalRequired", False)
    return body


def _render(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    body.get("properties", {}).pop("provisioningState", None)  # products report none
    return body


# ---- product-API links ------------------------------------------------------------------------
def _ids(
    sub: str, rg: str, service: str, product: str, api: str | None = None
) -> tuple[str, str, str | None]:
    base = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ApiManagement/service/{service}"
    product_id = f"{base}/products/{product}"
    return product_id, f"{base}/apis/{api}" if api else "", f"{product_id}/apis/{api}" if api else None


def _not_found(what: str, name: str) -> ArmError:
    return ArmError(404, "ResourceNotFound", f"{what} not found: '{name}'.")


def _require_product(s: Simulator, product_id: str, product: str) -> None:
    if s.get_resource(product_id) is None:
        raise _not_found("Product", product)


def _api_contract(s: Simulator, api_id: str) -> dict[str, Any]:
    stored = s.get_resource(api_id)
    assert stored is not None
    return s.render(stored)


def _put_link(
    s: Simulator, req: SimRequest, sub: str, rg: str, service: str, product: str, api: str
) -> SimResponse:
    product_id, api_id, link_id = _ids(sub, rg, service, product, api)
    _require_product(s, product_id, product)
    if s.get_resource(api_id) is None:
        raise _not_found("Api", api)
    assert link_id is not None
    existed = s.get_resource(link_id) is not None
    s.db["resources"][link_id.lower()] = {
        "type": LINK_TYPE,
        "body": {"id": link_id, "type": LINK_TYPE, "name": api, "properties": {}},
    }
    return SimResponse(200 if existed else 201, _api_contract(s, api_id))


def _head_link(
    s: Simulator, req: SimRequest, sub: str, rg: str, service: str, product: str, api: str
) -> SimResponse:
    product_id, _, link_id = _ids(sub, rg, service, product, api)
    _require_product(s, product_id, product)
    return SimResponse(204 if link_id and s.get_resource(link_id) is not None else 404)


def _delete_link(
    s: Simulator, req: SimRequest, sub: str, rg: str, service: str, product: str, api: str
) -> SimResponse:
    _, _, link_id = _ids(sub, rg, service, product, api)
    assert link_id is not None
    found = s.db["resources"].pop(link_id.lower(), None)
    return SimResponse(200 if found else 204)


def _list_links(s: Simulator, req: SimRequest, sub: str, rg: str, service: str, product: str) -> SimResponse:
    product_id, _, _ = _ids(sub, rg, service, product)
    _require_product(s, product_id, product)
    base = product_id.rsplit("/products/", 1)[0]
    apis = [
        _api_contract(s, f"{base}/apis/{r['body']['name']}")
        for r in s.children_of(product_id)
        if r["type"] == LINK_TYPE and s.get_resource(f"{base}/apis/{r['body']['name']}") is not None
    ]
    return SimResponse(200, {"value": apis, "count": len(apis)})


def register(sim: Simulator) -> None:
    sim.register_type(
        service_entity(
            TYPE,
            create_mode="sync",
            validate=_validate,
            build=_build,
            render=_render,
        )
    )
    # Links are kept as resources below the product (so deleting the product drops them) and
    # answered by the routes below, which take precedence over the generic handling.
    sim.register_type(TypeSpec(LINK_TYPE, API_VERSIONS, parent_type=TYPE, tracked=False, immutable=()))
    service = SERVICE_ROUTE
    link = service + r"/products/([^/]+)/apis/([^/]+)"
    sim.route("PUT", link, api_versions=API_VERSIONS)(_put_link)
    sim.route("HEAD", link, api_versions=API_VERSIONS)(_head_link)
    sim.route("DELETE", link, api_versions=API_VERSIONS)(_delete_link)
    sim.route("GET", service + r"/products/([^/]+)/apis", api_versions=API_VERSIONS)(_list_links)
