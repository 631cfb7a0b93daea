"""The gateway's part of the graph: what ``pros backends`` and ``pros policies`` create in every
API Management instance, on top of the deployment ``pros provision`` made.

Per gateway (one per region ``g``), below its service ``apim/<g>``:

- named values: the policy's (``pros-region``, ``pros-eventgrid-endpoint``, ...) and one secret
  ``pros-func-key-<r>`` per region ``r``: that region's Function App key (``functionKeys.default``);
- backends: ``openai-<r>`` per region (``<account endpoint>openai``) and ``func-<r>`` per region
  (``https://<app default host name>/openai``, sending ``x-functions-key: {{pros-func-key-<r>}}``),
  each with the same circuit breaker;
- pools ``openai-pool`` and ``functions-pool``: this gateway's own region at priority 1, every
  other region at priority 2, equal weights. The members derive from the spec's regions, so
  adding or removing a region changes every gateway's pools. With failover scope ``geography``
  a pool holds only the regions of the gateway's own geography (``Spec.failover_regions``), so
  a call never leaves it;
- the OpenAI API imported from the OpenAPI document, the product publishing it and the link;
- the API's policy (``pros policies``).

Bodies of the provision resources (account endpoints, app host names, the topic endpoint) reach
these nodes through ``inputs``: each depends on what it reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pros_cli.azure.clients import raw_json
from pros_cli.errors import UsageError
from pros_cli.resources import functions
from pros_cli.resources.apim_api import ApiDefinition, OpenAIApi, load_definition
from pros_cli.resources.apim_backend import (
    OTHER_REGION_PRIORITY,
    OWN_REGION_PRIORITY,
    Backend,
    BackendPool,
    Breaker,
)
from pros_cli.resources.apim_named_value import NamedValue, SecretValue
from pros_cli.resources.apim_policy import ApiPolicy
from pros_cli.resources.apim_product import Product, ProductApi
from pros_cli.resources.base import Resource, get_path
from pros_cli.resources.graph import TOPIC_KEY, apim_key, build_resources, openai_key
from pros_cli.spec import Spec

# The streaming function serves Azure OpenAI's paths below /openai: its host.json sets
# routePrefix "" and its routes start with openai/, so the backend URL is the app's host + this.
FUNCTION_ROUTE_PREFIX = "/openai"
FUNCTION_KEY_HEADER = "x-functions-key"  # how a Functions host takes a function key
Command = Literal["backends", "policies"]


def function_key_name(region: str) -> str:
    """The secret named value holding ``region``'s Function App key."""
    return f"pros-func-key-{region}"


def named_value_key(gateway: str, name: str) -> str:
    return f"{apim_key(gateway)}/named-values/{name}"


def backend_key(gateway: str, name: str) -> str:
    return f"{apim_key(gateway)}/backends/{name}"


def api_key(gateway: str, api_id: str) -> str:
    return f"{apim_key(gateway)}/apis/{api_id}"


def product_key(gateway: str, product_id: str) -> str:
    return f"{apim_key(gateway)}/products/{product_id}"


def policy_key(gateway: str, api_id: str) -> str:
    return f"{api_key(gateway, api_id)}/policy"


# ---- settings ------------------------------------------------------------------------------------
def check_gateway(spec: Spec) -> None:
    """Refuse, before any request, a combination Azure would refuse half-way."""
    if spec.apim_sku == "Consumption" and spec.circuit_breaker:
        raise UsageError(
            "the API Management Consumption tier has no backend circuit breaker, and every backend pros "
            "creates carries one (it is what lets a pool fail over from a throttled region)",
            hint="provision a tier that has one (--apim-sku Developer, Basic, Standard, Premium, BasicV2 "
            "or StandardV2), or run `pros backends --no-circuit-breaker` to go without it",
        )


def breaker(spec: Spec) -> Breaker | None:
    if not spec.circuit_breaker:
        return None
    return Breaker(spec.breaker_failures, spec.breaker_interval_seconds, spec.breaker_trip_seconds)


def definition_path(spec: Spec) -> Path:
    from pros_cli.policy import OPENAPI_SPEC

    return Path(spec.spec_file) if spec.spec_file else Path(OPENAPI_SPEC)


def api_definition(spec: Spec) -> ApiDefinition:
    """The OpenAPI document to import, read and checked (a bad file is a UsageError)."""
    return load_definition(definition_path(spec))


def policy_options(spec: Spec) -> Any:
    from pros_cli.policy import PolicyOptions

    return PolicyOptions(
        tokens_per_minute=spec.tokens_per_minute,
        monthly_token_quota=spec.monthly_token_quota,
        require_billing_code=spec.require_billing_code,
        streaming_function=spec.streaming_function,
    )


def render_policy(spec: Spec) -> str:
    from pros_cli.policy import render_api_policy

    return render_api_policy(policy_options(spec))


# ---- values read from the provision resources -----------------------------------------------------
Inputs = Mapping[str, dict[str, Any] | None]


def openai_url(key: str, account: str) -> Any:
    """``<endpoint>openai`` of the account at ``key`` (its deterministic endpoint until read)."""

    def url(inputs: Inputs) -> str:
        endpoint = get_path(inputs.get(key), "properties.endpoint") or f"https://{account}.openai.azure.com/"
        return f"{str(endpoint).rstrip('/')}/openai"

    return url


def function_url(key: str, app: str) -> Any:
    """``https://<default host name>/openai`` of the app at ``key``. New apps may get hashed host
    names, so the name read from ARM wins over the classic ``<app>.azurewebsites.net``."""

    def url(inputs: Inputs) -> str:
        host = get_path(inputs.get(key), "properties.defaultHostName") or f"{app}.azurewebsites.net"
        return f"https://{host}{FUNCTION_ROUTE_PREFIX}"

    return url


def policy_value(name: str, region: str, topic: str, geography: str | None = None) -> Any:
    """A policy named value's value for the gateway in ``region`` (of ``geography``, with
    geographic routing), checked by the policy module."""
    from pros_cli.policy import named_value_values

    def value(inputs: Inputs) -> str:
        endpoint = get_path(inputs.get(TOPIC_KEY), "properties.endpoint") or (
            f"https://{topic}.{region}-1.eventgrid.azure.net/api/events"
        )
        return named_value_values(region, str(endpoint), geography)[name]

    return value


def function_key(spec: Spec, region: str) -> SecretValue:
    """The default function key of ``region``'s app, read from ARM when pros compares or writes."""
    app = spec.names.function_app(region)

    def resolve(clients: Any) -> str | None:
        keys = clients.get("web").web_apps.list_host_keys(spec.resource_group, app, cls=raw_json) or {}
        return (keys.get("functionKeys") or {}).get("default")

    source = (
        f"az functionapp keys list --resource-group {spec.resource_group} --name {app} "
        "--query functionKeys.default --output tsv"
    )
    return SecretValue(resolve=resolve, var=f"PROS_FUNC_KEY_{region.upper()}", source=source)


# ---- the graph ---------------------------------------------------------------------------------------
def build_gateway_resources(
    spec: Spec,
    provision_resources: Sequence[Resource],
    *,
    definition: ApiDefinition | None = None,
    policy_xml: str | None = None,
) -> list[Resource]:
    """Every gateway resource, listed after what it depends on. ``definition`` and ``policy_xml``
    default to the spec's API definition file and the rendered policy."""
    from pros_cli.policy import (
        API_ID,
        API_PATH,
        FUNCTIONS_POOL_ID,
        NAMED_VALUES,
        OPENAI_POOL_ID,
        PRODUCT_ID,
        SUBSCRIPTION_KEY_HEADER,
        SUBSCRIPTION_KEY_QUERY,
        function_backend_id,
        openai_backend_id,
    )

    provision = {r.key: r for r in provision_resources}
    apps = {r: functions.app_key(r) for r in spec.regions}
    for needed in [
        TOPIC_KEY,
        *(apim_key(g) for g in spec.regions),
        *(openai_key(r) for r in spec.regions),
        *apps.values(),
    ]:
        if needed not in provision:
            raise ValueError(f"the provision graph has no {needed!r}: the gateway cannot be wired")
    definition = definition or api_definition(spec)
    policy_xml = policy_xml if policy_xml is not None else render_policy(spec)
    trip = breaker(spec)
    topic = spec.names.eventgrid_topic()
    out: list[Resource] = []
    for g in spec.regions:
        service = apim_key(g)
        below: dict[str, Any] = {"region": g, "parent": service}
        geography = spec.geography_of(g)
        members_of = spec.failover_regions(g)
        nvs = [
            NamedValue(
                spec,
                key=named_value_key(g, nv.name),
                name=nv.name,
                value=policy_value(nv.name, g, topic, geography.name if geography else None),
                depends_on=(service, TOPIC_KEY),
                **below,
            )
            for nv in NAMED_VALUES
        ]
        keys = {
            r: NamedValue(
                spec,
                key=named_value_key(g, function_key_name(r)),
                name=function_key_name(r),
                value=function_key(spec, r),
                depends_on=(service, apps[r]),
                **below,
            )
            for r in spec.regions
        }
        openai_backends = [
            Backend(
                spec,
                key=backend_key(g, openai_backend_id(r)),
                name=openai_backend_id(r),
                url=openai_url(openai_key(r), spec.names.openai(r)),
                description=f"Azure OpenAI account {spec.names.openai(r)} ({r})",
                breaker=trip,
                depends_on=(service, openai_key(r)),
                **below,
            )
            for r in spec.regions
        ]
        function_backends = [
            Backend(
                spec,
                key=backend_key(g, function_backend_id(r)),
                name=function_backend_id(r),
                url=function_url(apps[r], spec.names.function_app(r)),
                description=f"streaming function of {spec.names.function_app(r)} ({r})",
                breaker=trip,
                credential_header=(FUNCTION_KEY_HEADER, function_key_name(r)),
                depends_on=(service, apps[r], keys[r].key),
                **below,
            )
            for r in spec.regions
        ]
        pools = [
            BackendPool(
                spec,
                key=backend_key(g, pool_id),
                name=pool_id,
                members=[(backend_id(r), priority(g, r)) for r in members_of],
                description=f"{what} of {_scope(spec, g)}, {g} first",
                depends_on=(service, *(backend_key(g, backend_id(r)) for r in members_of)),
                **below,
            )
            for pool_id, backend_id, what in (
                (OPENAI_POOL_ID, openai_backend_id, "Azure OpenAI accounts"),
                (FUNCTIONS_POOL_ID, function_backend_id, "streaming functions"),
            )
        ]
        api = OpenAIApi(
            spec,
            key=api_key(g, API_ID),
            name=API_ID,
            definition=definition,
            api_path=API_PATH,
            key_header=SUBSCRIPTION_KEY_HEADER,
            key_query=SUBSCRIPTION_KEY_QUERY,
            service_url=openai_url(openai_key(g), spec.names.openai(g)),
            depends_on=(service, openai_key(g)),
            **below,
        )
        product = Product(
            spec, key=product_key(g, PRODUCT_ID), name=PRODUCT_ID, depends_on=(service,), **below
        )
        link = ProductApi(
            spec,
            key=f"{product.key}/apis/{API_ID}",
            name=API_ID,
            product=PRODUCT_ID,
            region=g,
            depends_on=(product.key, api.key),
            parent=product.key,
        )
        policy = ApiPolicy(
            spec,
            key=policy_key(g, API_ID),
            api=API_ID,
            xml=policy_xml,
            region=g,
            depends_on=(api.key, *(p.key for p in pools), *(nv.key for nv in nvs)),
            parent=api.key,
        )
        out += [
            *nvs,
            *keys.values(),
            *openai_backends,
            *function_backends,
            *pools,
            api,
            product,
            link,
            policy,
        ]
    return out


def _scope(spec: Spec, gateway: str) -> str:
    own = spec.geography_of(gateway)
    if spec.failover_scope == "geography" and own is not None:
        return f"geography {own.name}"
    return "every region"


def priority(gateway: str, region: str) -> int:
    return OWN_REGION_PRIORITY if region == gateway else OTHER_REGION_PRIORITY


def command_graph(
    spec: Spec, command: Command, **gateway_kwargs: Any
) -> tuple[list[Resource], frozenset[str]]:
    """The resources ``pros backends`` or ``pros policies`` plans, and the keys it may change.

    Its own nodes, what they depend on (read for their bodies), and the structural parents of
    those (so a missing resource group is one root cause, not dozens)."""
    provision = build_resources(spec)
    gateway = build_gateway_resources(spec, provision, **gateway_kwargs)
    if command == "policies":
        own = [r for r in gateway if isinstance(r, ApiPolicy)]
    else:
        own = [r for r in gateway if not isinstance(r, ApiPolicy)]
    everything = {r.key: r for r in [*provision, *gateway]}
    wanted = set(_closure(everything, own))
    return [r for r in everything.values() if r.key in wanted], frozenset(r.key for r in own)


def _closure(everything: Mapping[str, Resource], own: Iterable[Resource]) -> list[str]:
    keys = {r.key for r in own}
    for r in own:
        keys.update(d for d in r.depends_on if d in everything)
    pending = list(keys)
    while pending:  # structural parents, all the way up
        parent = everything[pending.pop()].parent
        if parent and parent not in keys:
            keys.add(parent)
            pending.append(parent)
    return sorted(keys)
