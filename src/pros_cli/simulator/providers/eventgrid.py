"""Microsoft.EventGrid: custom topics and their access keys.

The SDK treats every topic write as a long-running operation, and the service answers a create or
update PUT with 201 and the topic, without a polling header (Topics_CreateOrUpdate.json;
azure-mgmt-eventgrid accepts nothing else), so the simulator answers 201 with the topic in a
non-terminal provisioningState and the SDK polls the topic itself until it is Succeeded.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmError, ArmPath, SimResponse, TypeSpec, new_secret

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

Body = dict[str, Any]
TYPE = "Microsoft.EventGrid/topics"
API_VERSIONS = ("2025-02-15", "2022-06-15", "2021-12-01", "2020-06-01")
INPUT_SCHEMAS = ("EventGridSchema", "CustomEventSchema", "CloudEventSchemaV1_0")
NETWORK_ACCESS = ("Enabled", "Disabled", "SecuredByPerimeter")
TLS = ("1.0", "1.1", "1.2")
RESIDENCY = ("WithinGeopair", "WithinRegion")
NAME_RE = r"[A-Za-z0-9-]{3,50}"
NAME_MSG = "Topic names must be 3 to 50 characters long and contain only letters, digits and hyphens."


def _choice(props: Body, key: str, allowed: tuple[str, ...]) -> None:
    """ARM accepts enum values in any case and stores its own casing."""
    if key not in props or props[key] is None:
        return
    for option in allowed:
        if str(props[key]).lower() == option.lower():
            props[key] = option
            return
    valid = ", ".join(allowed)
    message = f"The value '{props[key]}' is not valid for {key}. Valid values are: {valid}."
    raise ArmError(400, "BadRequest", message)


def _validate(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    props = dict(body.get("properties") or {})
    for key, allowed in (("inputSchema", INPUT_SCHEMAS), ("publicNetworkAccess", NETWORK_ACCESS),
                         ("minimumTlsVersionAllowed", TLS), ("dataResidencyBoundary", RESIDENCY)):
        _choice(props, key, allowed)
    if "disableLocalAuth" in props and not isinstance(props["disableLocalAuth"], bool):
        raise ArmError(400, "BadRequest", "disableLocalAuth must be true or false.")
    for rule in props.get("inboundIpRules") or []:
        if not rule.get("ipMask") or str(rule.get("action") or "Allow") != "Allow":
            raise ArmError(400, "BadRequest", "Each inbound IP rule needs an ipMask and the action 'Allow'.")
    before = ((old or {}).get("properties") or {}).get("inputSchema")
    if before and props.get("inputSchema") and props["inputSchema"] != before:
        raise ArmError(400, "BadRequest",
                       f"The input schema of topic '{parsed.name}' is {before} and cannot be changed.")


def _build(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    props = body["properties"]
    old_props = (old or {}).get("properties") or {}
    for key, allowed in (("inputSchema", INPUT_SCHEMAS), ("publicNetworkAccess", NETWORK_ACCESS),
                         ("minimumTlsVersionAllowed", TLS), ("dataResidencyBoundary", RESIDENCY)):
        _choice(props, key, allowed)
    props.setdefault("inputSchema", old_props.get("inputSchema", "EventGridSchema"))
    props.setdefault("publicNetworkAccess", "Enabled")
    props.setdefault("inboundIpRules", [])
    props.setdefault("disableLocalAuth", False)
    props.setdefault("minimumTlsVersionAllowed", "1.2")
    region = str(body["location"]).replace(" ", "").lower()
    props["endpoint"] = f"https://{body['name']}.{region}-1.eventgrid.azure.net/api/events"
    return body


def _list_keys(sim: Simulator, parsed: ArmPath, req: SimRequest, stored: Body) -> SimResponse:
    secrets = stored.setdefault("secrets", {"key1": new_secret(), "key2": new_secret()})
    return SimResponse(200, dict(secrets))


def _respond(sim: Simulator, stored: Body, response: SimResponse) -> SimResponse:
    """Event Grid answers 201 to every accepted write (the SDK takes only 201 for a PUT, 200/201
    for a PATCH), where the generic handlers answer an update with 200 or 202."""
    if response.status in (200, 202):
        return dataclasses.replace(response, status=201)
    return response


def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            TYPE,
            API_VERSIONS,
            create_mode="body",
            create_status=201,
            update_mode="body",
            patch_mode="async",
            delete_mode="async",
            required=("location",),
            name_rule=(NAME_RE, NAME_MSG),
            validate=_validate,
            build=_build,
            actions={"listkeys": _list_keys},
            respond=_respond,
        )
    )
