"""The product that publishes the OpenAI API on one gateway, and the product-API link.

A product with ``subscriptionRequired`` is what subscription keys are issued for: callers use a
key of a subscription to this product (in the ``api-key`` header). Product and link writes are not
long-running operations; the link is a PUT with no body and is checked with a HEAD
(``product_api.check_entity_exists``: 204 linked, 404 not).
"""

from __future__ import annotations

from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none, is_not_found
from pros_cli.echo import AzCommand, az
from pros_cli.resources.apim_child import ApimChild, call
from pros_cli.resources.base import get_path
from pros_cli.spec import Spec

PRODUCT_TYPE = "Microsoft.ApiManagement/service/products"
PRODUCT_API_TYPE = "Microsoft.ApiManagement/service/products/apis"
PRODUCT_NAME = "Azure OpenAI (pros)"
PRODUCT_DESCRIPTION = (
    "Azure OpenAI through the pros gateway: a subscription key of this product goes in the api-key "
    "header, as with an Azure OpenAI account."
)


class Product(ApimChild):
    """``service/products/{name}``: published, subscription required, no approval step."""

    arm_type = PRODUCT_TYPE
    collection = "products"
    label = "API Management product"
    managed_fields = (
        "properties.displayName",
        "properties.description",
        "properties.subscriptionRequired",
        "properties.approvalRequired",
        "properties.state",
    )

    def desired(self) -> dict[str, Any]:
        return {
            "properties": {
                "displayName": PRODUCT_NAME,
                "description": PRODUCT_DESCRIPTION,
                "subscriptionRequired": True,
                "approvalRequired": False,
                "state": "published",
            }
        }

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self.client(clients).product.get, *self.where(), self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return call(
            f"writing {self.describe()}",
            self.client(clients).product.create_or_update,
            *self.where(),
            self.name,
            self.desired(),
            cls=raw_json,
        )

    def delete(self, clients: Any) -> Any:
        try:
            self.client(clients).product.delete(
                *self.where(), self.name, if_match="*", delete_subscriptions=True
            )
        except Exception as exc:
            if not is_not_found(exc):
                raise
        return None

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"state": get_path(current, "properties.state")}

    def az_create(self) -> list[AzCommand]:
        # az apim product create is a create-or-update: the same line repairs an existing one.
        return [
            az(
                "apim",
                "product",
                "create",
                *self.az_where(),
                "--product-id",
                self.name,
                "--product-name",
                PRODUCT_NAME,
                "--description",
                PRODUCT_DESCRIPTION,
                "--subscription-required",
                "true",
                "--approval-required",
                "false",
                "--state",
                "published",
            )
        ]

    def az_delete(self) -> list[AzCommand]:
        return [
            az(
                "apim",
                "product",
                "delete",
                *self.az_where(),
                "--product-id",
                self.name,
                "--delete-subscriptions",
                "true",
                "--yes",
            )
        ]


class ProductApi(ApimChild):
    """The API ``api_id`` linked to the product ``product``; the resource's name is the API id."""

    arm_type = PRODUCT_API_TYPE
    collection = "products"
    label = "API Management product API link"
    typical_seconds = 1.0

    def __init__(self, spec: Spec, *, product: str, **kwargs: Any):
        super().__init__(spec, **kwargs)
        self.product = product

    def arm_id(self) -> str:
        return f"{super().arm_id().rsplit('/', 1)[0]}/{self.product}/apis/{self.name}"

    def describe(self) -> str:
        return f"API {self.name} in product {self.product} on {self.service} ({self.region})"

    def desired(self) -> dict[str, Any]:
        return {}

    def read(self, clients: Any) -> dict[str, Any] | None:
        try:
            linked = self.client(clients).product_api.check_entity_exists(
                *self.where(), self.product, self.name
            )
        except Exception as exc:  # the product (or the service) itself is gone: no link either
            if not is_not_found(exc):
                raise
            return None
        return {"id": self.arm_id(), "name": self.name, "type": self.arm_type} if linked else None

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        call(
            f"adding {self.describe()}",
            self.client(clients).product_api.create_or_update,
            *self.where(),
            self.product,
            self.name,
            cls=raw_json,
        )
        return {"id": self.arm_id(), "name": self.name, "type": self.arm_type}

    def delete(self, clients: Any) -> Any:
        try:
            self.client(clients).product_api.delete(*self.where(), self.product, self.name)
        except Exception as exc:
            if not is_not_found(exc):
                raise
        return None

    def az_create(self) -> list[AzCommand]:
        return [
            az(
                "apim",
                "product",
                "api",
                "add",
                *self.az_where(),
                "--product-id",
                self.product,
                "--api-id",
                self.name,
            )
        ]

    def az_delete(self) -> list[AzCommand]:
        return [
            az(
                "apim",
                "product",
                "api",
                "delete",
                *self.az_where(),
                "--product-id",
                self.product,
                "--api-id",
                self.name,
            )
        ]
