"""The resource graph of one deployment: which resources, and what each depends on.

Listed dependencies first. Keys are stable: the state file records resources by key.

Per region: storage account, OpenAI account and its model deployments, Function App (plan,
package container, app, settings naming the OpenAI endpoint and deployments), API Management,
Traffic Manager endpoint. Shared (``spec.shared_region``): Event Grid topic, Redis, the token
processor Function App (its settings carry the Redis connection), the Traffic Manager profile.
Role assignments (least privilege, never Contributor): every APIM identity may call every
OpenAI account and publish to the topic; each Function App may call its region's OpenAI account
and owns the blobs of its own storage account. With a custom domain: the operator's Key Vault
(read only), "Key Vault Secrets User" for each APIM identity on it, and the gateway hostname.
Observability (:mod:`.observability`): a Log Analytics workspace and an Application Insights
component in the shared region; every app sends telemetry there with its identity; every gateway
sends its gateway and LLM logs there.
"""

from __future__ import annotations

from typing import Any

from pros_cli.resources import functions, observability
from pros_cli.resources.apim import ApiManagementService, ApimCustomDomain, KeyVaultRef
from pros_cli.resources.base import Resource
from pros_cli.resources.eventgrid import EventGridTopic
from pros_cli.resources.functions import SecretSetting
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
from pros_cli.resources.resource_group import ResourceGroup
from pros_cli.resources.storage import StorageAccount
from pros_cli.resources.traffic_manager import TrafficManagerEndpoint, TrafficManagerProfile
from pros_cli.spec import Spec

RG_KEY = "resource-group"
TOKEN = "token"
TOPIC_KEY = "eventgrid-topic"
REDIS_KEY = "redis"
TM_KEY = "traffic-manager"
KEYVAULT_KEY = "keyvault"
REDIS_KEY_VAR = "PROS_REDIS_KEY"


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
    redis = RedisCache(spec, key=REDIS_KEY, **below_rg)
    profile = TrafficManagerProfile(spec, key=TM_KEY, **below_rg)
    out += [topic, redis, profile]
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
            settings={**openai_settings(accounts[region], deployments[region]), **telemetry},
            settings_depends_on=(*(d.key for d in deployments[region]), component.key),
        )
        apps[region] = _app(stack)
        out += stack
    token_stack = functions.function_stack(
        spec,
        rg_key=RG_KEY,
        storage_key=storage_key(TOKEN),
        region=None,
        settings={**redis_settings(redis), **telemetry},
        settings_depends_on=(redis.key, component.key),
    )
    apps[TOKEN] = _app(token_stack)
    out += token_stack

    for region in spec.regions:
        out.append(
            TrafficManagerEndpoint(
                spec, key=f"{TM_KEY}/endpoints/{region}", region=region, profile_key=profile.key,
                apim_key=apims[region].key,
            )
        )

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


def _app(stack: list[Resource]) -> Resource:
    return next(r for r in stack if isinstance(r, functions.FunctionApp))


def openai_settings(account: OpenAIAccount, deployments: list[ModelDeployment]) -> dict[str, str]:
    """What a regional app needs to call its region's models with its managed identity."""
    return {
        "AZURE_OPENAI_ENDPOINT": f"https://{account.name}.openai.azure.com/",
        "AZURE_OPENAI_DEPLOYMENTS": ",".join(d.model.name for d in deployments),
    }


def redis_settings(redis: RedisCache) -> dict[str, str | SecretSetting]:
    """The token processor's Redis connection: TLS only (port 6380); the key is a secret."""
    return {
        "REDIS_HOST": f"{redis.name}.redis.cache.windows.net",
        "REDIS_PORT": str(SSL_PORT),
        "REDIS_SSL": "true",
        "REDIS_KEY": SecretSetting(
            name="REDIS_KEY", resolve=redis.primary_key, var=REDIS_KEY_VAR, source=redis.primary_key_command()
        ),
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
    for suffix, app in apps.items():
        out.append(
            RoleAssignment(
                spec, key=f"rbac/func-storage/{suffix}", scope=Scope.of(storages[suffix]),
                role=STORAGE_BLOB_DATA_OWNER, principal=app,
            )
        )
    return out
