"""API Management named values (``service/namedValues``).

As API Management does: a create or update is a long-running operation answering 201/200 with
``provisioningState: InProgress`` and Azure-AsyncOperation (ApiManagementCreateNamedValue.json);
``displayName`` is required (Azure/apiops#719: a PUT without it fails) and matches
``^[A-Za-z0-9-._]+$`` (1-256), the value is at most 4096 characters (azure-mgmt-apimanagement
5.0.0 NamedValueCreateContract validation); a secret value is never returned by GET, list or the
write's answer, only by ``POST .../listValue`` (NamedValue_ListValue).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmPath, SimResponse
from pros_cli.simulator.providers.apim_common import (
    ENTITY_ID_RE,
    service_entity,
    validation_error,
)

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

TYPE = "Microsoft.ApiManagement/service/namedValues"
VALUE_KEY = "_value"  # where the value is kept; render() shows it only for plain values
DISPLAY_NAME_RE = re.compile(r"^[A-Za-z0-9-._]{1,256}$")
MAX_VALUE = 4096


def _validate(sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None) -> None:
    props = body.get("properties") or {}
    if len(parsed.name) > 256 or not ENTITY_ID_RE.match(parsed.name):
        raise validation_error(f"'{parsed.name}' is not a valid named value identifier.")
    name = props.get("displayName")
    if not name:
        raise validation_error("'displayName' is required.")
    if not DISPLAY_NAME_RE.match(str(name)):
        raise validation_error(
            f"Display name '{name}' may contain only letters, digits, periods, dashes and underscores "
            "(1-256 characters)."
        )
    if "secret" in props and not isinstance(props["secret"], bool):
        raise validation_error("'secret' must be true or false.")
    value, key_vault = props.get("value"), props.get("keyVault")
    if value is None and not key_vault and old is None:
        raise validation_error("'value' is required unless 'keyVault' is set.")
    if value is not None and len(str(value)) > MAX_VALUE:
        raise validation_error(f"'value' is longer than {MAX_VALUE} characters.")
    tags = props.get("tags") or []
    if len(tags) > 32:
        raise validation_error("A named value has at most 32 tags.")


def _build(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    props = body["properties"]
    value = props.pop("value", None)
    body[VALUE_KEY] = str(value) if value is not None else (old or {}).get(VALUE_KEY, "")
    props["secret"] = bool(props.get("secret", False))
    props.setdefault("tags", [])
    return body


def _render(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    value = body.pop(VALUE_KEY, None)
    props = body.setdefault("properties", {})
    if not props.get("secret"):
        props["value"] = value
    return body


def _list_value(s: Simulator, parsed: ArmPath, req: SimRequest, stored: dict[str, Any]) -> SimResponse:
    return SimResponse(200, {"value": stored["body"].get(VALUE_KEY)})


def register(sim: Simulator) -> None:
    sim.register_type(
        service_entity(
            TYPE,
            create_mode="async",
            update_mode="async",
            patch_mode="async",
            provisioning_creating="InProgress",
            provisioning_updating="InProgress",
            validate=_validate,
            build=_build,
            render=_render,
            actions={"listvalue": _list_value},
            latency_key="microsoft.apimanagement/service/namedvalues",
        )
    )
