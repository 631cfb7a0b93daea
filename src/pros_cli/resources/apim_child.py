"""What every API Management child resource shares (named values, backends, APIs, products,
policies): its place under one regional service, its id, the az ``rest`` read, and errors that
keep API Management's details.

API Management answers a refused write with ``ValidationError`` / "One or more fields contain
incorrect values:" and puts the reason in ``details`` (e.g. "Error in element 'set-backend-service'
on line 4, column 4: Backend with id 'x' could not be found.", Azure/apiops#565); writes go
through :func:`call` so the operator sees that reason, not only the headline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from pros_cli.echo import AzCommand, az_rest
from pros_cli.errors import ProsError
from pros_cli.resources.apim import API_VERSION
from pros_cli.resources.base import Resource
from pros_cli.spec import Spec

SERVICE_TYPE = "Microsoft.ApiManagement/service"


def service_id(spec: Spec, region: str) -> str:
    return (
        f"/subscriptions/{spec.subscription_id}/resourceGroups/{spec.resource_group}"
        f"/providers/{SERVICE_TYPE}/{spec.names.apim(region)}"
    )


def error_details(exc: BaseException) -> list[str]:
    """The ``details[].message`` of an ARM error, if the response carries any."""
    response = getattr(exc, "response", None)
    if response is None:
        return []
    try:
        body = json.loads(response.text())
    except Exception:
        return []
    details = (body.get("error") or {}).get("details") if isinstance(body, dict) else None
    return [str(d.get("message")) for d in details or [] if isinstance(d, dict) and d.get("message")]


def call(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one SDK write; a refusal with details becomes an error naming them."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        details = error_details(exc)
        if not details:
            raise
        from pros_cli.azure.errors import describe

        raise ProsError(f"{what}: {describe(exc)}: {' '.join(details)}") from None


class ApimChild(Resource):
    """A resource below one regional API Management service (``region`` is the gateway's)."""

    client_kind = "apim"
    api_version = API_VERSION
    arm_type = SERVICE_TYPE
    collection: ClassVar[str] = ""  # the REST collection under the service: "backends", "apis", ...
    immutable_fields = ()
    tagged = False  # APIM child entities carry no ARM tags; the service they live in is ours
    typical_seconds = 2.0
    # The command that creates this kind; named when a command that only reads it finds it absent.
    created_by: ClassVar[str] = "pros backends"

    def __init__(self, spec: Spec, **kwargs: Any):
        super().__init__(spec, **kwargs)
        assert self.region is not None, "an API Management child lives in one regional service"
        self.service = spec.names.apim(self.region)

    def arm_id(self) -> str:
        return f"{service_id(self.spec, str(self.region))}/{self.collection}/{self.name}"

    def identity(self) -> dict[str, Any]:
        return {"id": self.arm_id(), "type": self.arm_type, "name": self.name, "region": self.region}

    def describe(self) -> str:
        return f"{self.label} {self.name} on {self.service} ({self.region})"

    def where(self) -> tuple[str, str]:
        return self.resource_group, self.service

    def az_where(self) -> list[str]:
        return ["--resource-group", self.resource_group, "--service-name", self.service]

    def az_read(self) -> AzCommand:
        return az_rest("GET", self.arm_id(), self.api_version)
