"""API Management backends (``service/backends``): single backends with a circuit breaker, and
load-balanced pools.

Rules, with their sources:

- a write answers 201 (new) or 200 with the body, no long-running operation
  (ApiManagementCreateBackendProxyBackend.json, ...WithPriorityBasedLoadBalancer.json);
- a single backend needs ``url`` (at most 2000 characters) and ``protocol`` ``http`` or ``soap``
  (BackendContractProperties in the 2024-05-01 REST spec);
- a pool lists 1 to 30 members (azure-mgmt-apimanagement 5.0.0 ``BackendPool`` min_items 1;
  "Backends in API Management": up to 30 backends per pool), each the ARM id of a *single*
  backend of the same service ("you can only include single backends in a backend pool"), with
  priority and weight 0-100 (``BackendPoolItem`` validation);
- a circuit breaker has one rule ("only one rule can be configured for a backend circuit
  breaker"), with a count or percentage, an ISO 8601 interval and trip duration, and at most 10
  status code ranges within 200-599 (``FailureStatusCodeRange``, ``CircuitBreakerFailureCondition``);
- the Consumption tier has no circuit breaker ("the backend circuit breaker isn't supported in the
  Consumption tier"); the error's wording is inferred, its code is APIM's ValidationError;
- ``{{name}}`` in a backend's credentials must name an existing named value (Azure/apiops#491:
  target ``credentials``, "Property 'x' not found.").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmPath
from pros_cli.simulator.providers.apim_common import (
    ENTITY_ID_RE,
    missing_named_values,
    service_entity,
    service_of,
    sku_of,
    validation_error,
)

if TYPE_CHECKING:
    from pros_cli.simulator.core import Simulator

TYPE = "Microsoft.ApiManagement/service/backends"
PROTOCOLS = ("http", "soap")
MAX_POOL = 30
MAX_RANGES = 10
_DURATION = re.compile(r"^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _validate(sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None) -> None:
    props = body.get("properties") or {}
    if len(parsed.name) > 80 or not ENTITY_ID_RE.match(parsed.name):
        raise validation_error(
            f"'{parsed.name}' is not a valid backend identifier (1-80 characters, none of *#&+:<>?)."
        )
    kind = str(props.get("type") or "Single")
    if kind.lower() not in ("single", "pool"):
        raise validation_error(f"'{kind}' is not a valid backend type; allowed: Single, Pool.")
    if kind.lower() == "pool":
        _validate_pool(sim, parsed, props)
    else:
        url = props.get("url")
        if not url:
            raise validation_error("'url' is required.")
        if len(str(url)) > 2000:
            raise validation_error("'url' is longer than 2000 characters.")
        if str(props.get("protocol") or "").lower() not in PROTOCOLS:
            raise validation_error(f"'protocol' must be one of {', '.join(PROTOCOLS)}.")
    if props.get("circuitBreaker") is not None:
        _validate_breaker(sim, parsed, props["circuitBreaker"])
    missing = missing_named_values(sim, service_of(parsed.resource_id), props.get("credentials") or {})
    if missing:
        raise validation_error(*(f"Property '{name}' not found." for name in missing))


def _validate_pool(sim: Simulator, parsed: ArmPath, props: dict[str, Any]) -> None:
    services = (props.get("pool") or {}).get("services")
    if not isinstance(services, list) or not services:
        raise validation_error("A pool backend needs at least one backend in 'pool.services'.")
    if len(services) > MAX_POOL:
        raise validation_error(
            f"A backend pool can contain at most {MAX_POOL} backends, got {len(services)}."
        )
    service = service_of(parsed.resource_id).lower()
    seen: set[str] = set()
    for member in services:
        member_id = str((member or {}).get("id") or "")
        if member_id.lower() in seen:
            raise validation_error(f"Backend '{member_id}' is listed more than once in the pool.")
        seen.add(member_id.lower())
        if (
            not member_id.lower().startswith(service + "/backends/")
            or member_id.count("/") != service.count("/") + 2
        ):
            raise validation_error(
                f"Pool member '{member_id}' must be the resource id of a backend of this API Management "
                "service."
            )
        stored = sim.get_resource(member_id)
        if stored is None:
            raise validation_error(f"Backend with id '{member_id.rsplit('/', 1)[-1]}' could not be found.")
        if str(stored["body"]["properties"].get("type") or "Single").lower() != "single":
            raise validation_error(
                f"Backend '{member_id.rsplit('/', 1)[-1]}' is a pool; only single backends can be pool "
                "members."
            )
        for key in ("priority", "weight"):
            if key in member and member[key] is not None and not _int_in(member[key], 0, 100):
                raise validation_error(f"'{key}' of pool member '{member_id}' must be between 0 and 100.")


def _validate_breaker(sim: Simulator, parsed: ArmPath, breaker: Any) -> None:
    if sku_of(sim, parsed.resource_id) == "Consumption":
        raise validation_error("Circuit breaker is not supported in the Consumption tier of API Management.")
    rules = (breaker or {}).get("rules") if isinstance(breaker, dict) else None
    if not isinstance(rules, list):
        raise validation_error("'circuitBreaker.rules' must be a list.")
    if len(rules) > 1:
        raise validation_error("Only one circuit breaker rule can be configured for a backend.")
    for rule in rules:
        condition = rule.get("failureCondition") or {}
        count, percentage = condition.get("count"), condition.get("percentage")
        if count is None and percentage is None:
            raise validation_error("A circuit breaker rule's failureCondition needs a count or a percentage.")
        if count is not None and not _int_in(count, 1, 2**31 - 1):
            raise validation_error("'failureCondition.count' must be a positive whole number.")
        if percentage is not None and not _int_in(percentage, 1, 100):
            raise validation_error("'failureCondition.percentage' must be between 1 and 100.")
        for key, value in (
            ("failureCondition.interval", condition.get("interval")),
            ("tripDuration", rule.get("tripDuration")),
        ):
            if not isinstance(value, str) or not _DURATION.match(value.upper()):
                raise validation_error(f"'{key}' must be an ISO 8601 duration such as PT1M, got {value!r}.")
        ranges = condition.get("statusCodeRanges") or []
        if len(ranges) > MAX_RANGES:
            raise validation_error(f"A failure condition has at most {MAX_RANGES} status code ranges.")
        for r in ranges:
            low, high = r.get("min"), r.get("max")
            if not (_int_in(low, 200, 599) and _int_in(high, 200, 599)) or low > high:
                raise validation_error(
                    f"Status code range {low}-{high} must lie within 200-599 with min <= max."
                )
        if not ranges and not condition.get("errorReasons"):
            raise validation_error("A failure condition needs statusCodeRanges or errorReasons.")


def _build(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    """A pool answers with null title, url and protocol (...WithPriorityBasedLoadBalancer.json)."""
    props = body["properties"]
    if str(props.get("type") or "Single").lower() == "pool":
        props["type"] = "Pool"
        for key in ("title", "url", "protocol"):
            props.setdefault(key, None)
    else:
        props["type"] = "Single"
    return body


def _render(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    body.get("properties", {}).pop("provisioningState", None)  # backends report none
    return body


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
