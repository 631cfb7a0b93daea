"""The resource graph of one deployment: which resources, and what each depends on.

Listed dependencies first. Keys are stable: the state file records resources by key.

Per region: storage account, OpenAI account and its model deployments, Function App (plan,
package container, app, settings naming the OpenAI endpoint and deployments), API Management,
Traffic Manager endpoint. Shared (``spec.shared_region``): Event Grid topic, Redis (by default
Azure Managed Redis: cluster and ``default`` database; or Azure Cache for Redis), the token
processor Function App, the Traffic Manager profile. Redis takes Microsoft Entra ID only: the
token processor's identity and each ``--usage-reader`` get an access policy assignment, and the
processor's settings carry host, port, TLS and ``REDIS_AUTH=entra``, never a key.
Role assignments (least privilege, never Contributor): every APIM identity may call every
OpenAI account and publish to the topic; each Function App may call its region's OpenAI account
and owns the blobs of its own storage account; each regional app may publish to the topic (the
streaming function sends the usage events of streamed calls). With a custom domain: the
operator's Key Vault (read only), "Key Vault Secrets User" for each APIM identity on it, and the
gateway hostname. Observability (:mod:`.observability`): a Log Analytics workspace and an
Application Insights component in the shared region; every app sends telemetry there with its
identity; every gateway sends its gateway and LLM logs there.
"""

from __future__ import annotations

from typing import Any

from pros_cli.cache_kinds import MANAGED
from pros_cli.resources import functions, observability
from pros_cli.resources.apim import ApiManagementService, ApimCustomDomain, KeyVaultRef
from pros_cli.resources.base import Resource
from pros_cli.resources.eventgrid import EventGridTopic
from pros_cli.resources.openai import ModelDeployment, OpenAIAccount
from pros_cli.resources.rbac import (
    COGNITIVE_SERVICES_OPENAI_USER,
    EVENTGRID_DATA_SENDER,
    KEY_VAULT_SECRETS_USER,
    STORAGE_BLOB_DATA_OWNER,
    RoleAssignment,
    Scope,
)
from pros_cli.resources.redis import SSL_PORT, RedisCache
from pros_cli.resources.redis_access import (
    PROCESSOR_POLICY,
    READER_POLICY,
    AccessAssignment,
    Grantee,
    RedisAccessPolicyAssignment,
)
from pros_cli.resources.redis_enterprise import (
    PORT,
    ManagedRedisAccessPolicyAssignment,
    ManagedRedisCluster,
    ManagedRedisDatabase,
)
from pros_cli.resources.resource_group import ResourceGroup
from pros_cli.resources.storage import StorageAccount
from pros_cli.resources.traffic_manager_geo import TM_KEY as TM_KEY  # re-exported: the profile's key
from pros_cli.resources.traffic_manager_geo import traffic_manager_nodes
from pros_cli.spec import Spec

RG_KEY = "resource-group"
TOKEN = "token"
TOPIC_KEY = "eventgrid-topic"
REDIS_KEY = "redis"  # the cache (Azure Cache for Redis) or cluster (Managed Redis); `pros usage` reads it
REDIS_DATABASE_KEY = "redis/database"  # Managed Redis only
REDIS_PROCESSOR_ACCESS_KEY = "redis/access/processor"
KEYVAULT_KEY = "keyvault"


def redis_reader_access_key(object_id: str) -> str:
    return f"redis/access/reader/{object_id.lower()}"


def storage_key(suffix: str) -> str:
    return f"storage/{suffix}"


def openai_key(region: str) -> str:
    return f"openai/{region}"


def apim_key(region: str) -> str:
    return f"apim/{region}"


def deployment_key(region: str, name: str) -> str:
    return f"openai/{region}/deployments/{name}"


def build_resources(spec: Spec) -> list[Resource]:
    """Every resource of the deployment, each listed after the ones it depends on."""
    rg = ResourceGroup(spec, key=RG_KEY, name=spec.resource_group, region=spec.shared_region)
    out: list[Resource] = [rg]
    below_rg: dict[str, Any] = {"depends_on": (RG_KEY,), "parent": RG_KEY}

    # API Management first: by far the longest to create (30-90 minutes).
    apims = {r: ApiManagementService(spec, key=apim_key(r), region=r, **below_rg) for r in spec.regions}
    out += apims.values()

    accounts: dict[str, OpenAIAccount] = {}
    deployments: dict[str, list[ModelDeployment]] = {}
    for region in spec.regions:
        account = OpenAIAccount(spec, key=openai_key(region), region=region, **below_rg)
        accounts[region] = account
        deployments[region] = [
            ModelDeployment(
                spec, model, key=deployment_key(region, model.name), region=region,
                depends_on=(account.key,), parent=account.key,
            )
            for model in spec.models
        ]
        out += [account, *deployments[region]]

    topic = EventGridTopic(spec, key=TOPIC_KEY, **below_rg)
    cache, access_scope, host, port = redis_cache(spec, below_rg)
    out += [topic, *dict.fromkeys((cache, access_scope))]
    workspace, component = observability.workspace_and_component(spec, rg_key=RG_KEY)
    out += [workspace, component]
    telemetry = observability.telemetry_settings(component)

    storages: dict[str, StorageAccount] = {}
    for region in spec.regions:
        storages[region] = StorageAccount(
            spec, key=storage_key(region), name=spec.names.storage_account(region), region=region, **below_rg
        )
    storages[TOKEN] = StorageAccount(
        spec, key=storage_key(TOKEN), name=spec.names.token_storage_account(), region=spec.shared_region,
        **below_rg,
    )
    out += storages.values()

    apps: dict[str, Resource] = {}
    for region in spec.regions:
        stack = functions.function_stack(
            spec,
            rg_key=RG_KEY,
            storage_key=storage_key(region),
            region=region,
            settings={**openai_settings(accounts[region], deployments[region], topic), **telemetry},
            settings_depends_on=(*(d.key for d in deployments[region]), component.key),
        )
        apps[region] = _app(stack)
        out += stack
    # The processor's Redis settings wait for its access: once they are there, its identity gets in.
    token_stack = functions.function_stack(
        spec,
        rg_key=RG_KEY,
        storage_key=storage_key(TOKEN),
        region=None,
        settings={**redis_settings(host, port), **telemetry},
        settings_depends_on=(access_scope.key, REDIS_PROCESSOR_ACCESS_KEY, component.key),
    )
    apps[TOKEN] = _app(token_stack)
    token_settings = [r for r in token_stack if isinstance(r, functions.AppSettings)]
    out += [r for r in token_stack if r not in token_settings]
    out += redis_access(spec, access_scope, apps[TOKEN])
    out += token_settings

    # The profile (routing_method), its endpoints, and with geographic routing the geographies'
    # nested profiles (resources/traffic_manager_geo.py).
    out += traffic_manager_nodes(spec, rg_key=RG_KEY, apims=apims)

    out += role_assignments(spec, apims, accounts, topic, apps, storages)
    out += observability.gateway_logging(spec, apims, workspace)
    out += observability.telemetry_roles(spec, apps, component)

    if spec.custom_domain:
        vault = KeyVaultRef(spec, key=KEYVAULT_KEY)
        out.append(vault)
        for region, apim in apims.items():
            grant = RoleAssignment(
                spec, key=f"rbac/apim-keyvault/{region}",
                scope=Scope.of(vault, lookup=True, id_query="[0].id", label=f"Key Vault {vault.name}"),
                role=KEY_VAULT_SECRETS_USER, principal=apim,
            )
            domain = ApimCustomDomain(
                spec, key=f"{apim.key}/custom-domain", region=region,
                depends_on=(apim.key, vault.key, grant.key), parent=apim.key,
            )
            out += [grant, domain]
    return out


def full_graph(spec: Spec) -> list[Resource]:
    """Every resource any pros command makes for the deployment (what status shows and teardown
    removes): provision's graph and the parts later commands add on top of it."""
    from pros_cli.resources.functions_graph import build_function_resources
    from pros_cli.resources.gateway_graph import build_gateway_resources

    provision = build_resources(spec)
    return [*provision, *build_gateway_resources(spec, provision), *build_function_resources(spec, provision)]


def deployment_graph(spec: Spec, recorded_keys: set[str]) -> list[Resource]:
    """What a run of the whole deployment manages: provision's graph, and each part a later
    command made once the state records any of it (so adding or removing a region also updates
    every gateway's backends, pools and policy, and never creates a part nobody asked for)."""
    graph = full_graph(spec)
    parts = {r.created_by for r in graph if r.key in recorded_keys} | {"pros provision"}
    return [r for r in graph if r.created_by in parts]


def provision_keys(spec: Spec) -> set[str]:
    return {r.key for r in build_resources(spec)}


def _app(stack: list[Resource]) -> Resource:
    return next(r for r in stack if isinstance(r, functions.FunctionApp))


def openai_settings(
    account: OpenAIAccount, deployments: list[ModelDeployment], topic: EventGridTopic
) -> dict[str, str]:
    """What a regional app needs to call its region's models with its managed identity, and what
    the streaming function (functions/openai_backend) reads besides: its region and the topic it
    publishes usage events to. HTTP streams (the function's FastAPI types) need init indexing on
    Python 3.12 and earlier (learn.microsoft.com, "Azure Functions HTTP trigger", HTTP streams)."""
    return {
        "AZURE_OPENAI_ENDPOINT": f"https://{account.name}.openai.azure.com/",
        "AZURE_OPENAI_DEPLOYMENTS": ",".join(d.model.name for d in deployments),
        "PROS_REGION": account.region,
        "PROS_EVENTGRID_ENDPOINT": eventgrid_endpoint(topic),
        "PYTHON_ENABLE_INIT_INDEXING": "1",
    }


def eventgrid_endpoint(topic: EventGridTopic) -> str:
    """The topic's publish endpoint, as ARM reports it in ``properties.endpoint``
    (https://learn.microsoft.com/azure/event-grid/post-to-custom-topic)."""
    return f"https://{topic.name}.{topic.region}-1.eventgrid.azure.net/api/events"


def redis_cache(spec: Spec, below_rg: dict[str, Any]) -> tuple[Resource, Resource, str, int]:
    """The cache node (graph key ``redis``), the node access assignments hang on (the Managed Redis
    database, or the Azure Cache for Redis cache itself), and the TLS host and port clients use."""
    if spec.cache_kind == MANAGED:
        cluster = ManagedRedisCluster(spec, key=REDIS_KEY, **below_rg)
        database = ManagedRedisDatabase(spec, key=REDIS_DATABASE_KEY, cluster=cluster)
        return cluster, database, cluster.host_name(), PORT
    cache = RedisCache(spec, key=REDIS_KEY, **below_rg)
    return cache, cache, cache.host_name(), SSL_PORT


def redis_access(spec: Spec, scope: Resource, processor: Resource) -> list[AccessAssignment]:
    """Access for the token processor's identity (read and write) and for each usage reader."""
    grantees = [(REDIS_PROCESSOR_ACCESS_KEY, PROCESSOR_POLICY,
                 Grantee.identity_of(processor, label=f"the token processor {processor.name}",
                                     alias="pros-token-processor"))]
    grantees += [
        (redis_reader_access_key(oid), READER_POLICY, Grantee.user(oid)) for oid in spec.usage_readers
    ]
    out: list[AccessAssignment] = []
    for key, policy, grantee in grantees:
        if isinstance(scope, ManagedRedisDatabase):  # one policy ("default") for everyone
            out.append(ManagedRedisAccessPolicyAssignment(spec, key=key, database=scope, grantee=grantee))
        else:
            out.append(
                RedisAccessPolicyAssignment(spec, key=key, scope=scope, grantee=grantee, policy=policy)
            )
    return out


def redis_settings(host: str, port: int) -> dict[str, str]:
    """The token processor's Redis connection: TLS, and Entra ID (its managed identity) instead of
    a key. The connection helper reads exactly these names."""
    return {
        "REDIS_HOST": host,
        "REDIS_PORT": str(port),
        "REDIS_SSL": "true",
        "REDIS_AUTH": "entra",
    }


def role_assignments(
    spec: Spec,
    apims: dict[str, ApiManagementService],
    accounts: dict[str, OpenAIAccount],
    topic: EventGridTopic,
    apps: dict[str, Resource],
    storages: dict[str, StorageAccount],
) -> list[Resource]:
    out: list[Resource] = []
    for apim_region, apim in apims.items():
        for region, account in accounts.items():
            out.append(
                RoleAssignment(
                    spec, key=f"rbac/apim-openai/{apim_region}/{region}", scope=Scope.of(account),
                    role=COGNITIVE_SERVICES_OPENAI_USER, principal=apim,
                )
            )
        out.append(
            RoleAssignment(
                spec, key=f"rbac/apim-eventgrid/{apim_region}", scope=Scope.of(topic),
                role=EVENTGRID_DATA_SENDER, principal=apim,
            )
        )
    for region, account in accounts.items():
        out.append(
            RoleAssignment(
                spec, key=f"rbac/func-openai/{region}", scope=Scope.of(account),
                role=COGNITIVE_SERVICES_OPENAI_USER, principal=apps[region],
            )
        )
        # The streaming function publishes the usage events of streamed calls.
        out.append(
            RoleAssignment(
                spec, key=f"rbac/func-eventgrid/{region}", scope=Scope.of(topic),
                role=EVENTGRID_DATA_SENDER, principal=apps[region],
            )
        )
    for suffix, app in apps.items():
        out.append(
            RoleAssignment(
                spec, key=f"rbac/func-storage/{suffix}", scope=Scope.of(storages[suffix]),
                role=STORAGE_BLOB_DATA_OWNER, principal=app,
            )
        )
    return out
