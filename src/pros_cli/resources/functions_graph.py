"""The part of the graph ``pros deploy-functions`` makes, on top of what ``pros provision`` made.

Per Function App (every region's app and the shared token processor):

- ``function-build-settings/<suffix>`` (Linux Consumption only): ``SCM_DO_BUILD_DURING_DEPLOYMENT``
  and ``ENABLE_ORYX_BUILD`` set to true, which Microsoft documents as what turns on remote build on
  Linux ("Deployment technologies in Azure Functions", remote build). Flex Consumption builds
  with ``RemoteBuild=true`` on its publish call and does not support those settings;
- ``function-code/<suffix>``: the app's package (the token processor's app gets
  ``functions/token_processor`` with the ledger and the contract vendored in; every regional app
  gets ``functions/openai_backend``, which vendors nothing).

Shared: the dead-letter container ``eventgrid-deadletter`` in the token processor's storage
account, "Storage Blob Data Contributor" on that container for the topic's identity, and the Event
Grid subscription from the topic to the token processor, created once its function is listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pros_cli.errors import ProsError
from pros_cli.resources import functions
from pros_cli.resources.base import Resource
from pros_cli.resources.blob_container import BlobContainer
from pros_cli.resources.eventgrid import EventGridTopic
from pros_cli.resources.eventgrid_subscription import EventSubscription
from pros_cli.resources.function_package import FunctionPackage
from pros_cli.resources.graph import RG_KEY, TOKEN, TOPIC_KEY, build_resources, storage_key
from pros_cli.resources.package_source import OPENAI_BACKEND, TOKEN_PROCESSOR, PackageSource, find_source
from pros_cli.resources.rbac import STORAGE_BLOB_DATA_CONTRIBUTOR, RoleAssignment, Scope
from pros_cli.spec import Spec

COMMAND = "pros deploy-functions"
SUBSCRIPTION_KEY = "eventgrid-subscription"
SUBSCRIPTION_NAME = "token-processor"
DEADLETTER_KEY = "eventgrid-deadletter"
DEADLETTER_CONTAINER = "eventgrid-deadletter"
DEADLETTER_ROLE_KEY = "rbac/eventgrid-deadletter"
REMOTE_BUILD = {"SCM_DO_BUILD_DURING_DEPLOYMENT": "true", "ENABLE_ORYX_BUILD": "true"}
# app folder -> (the functions its function_app.py registers, the pros packages vendored into it)
APPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    TOKEN_PROCESSOR: (("token_processor",), ("pros_cli.ledger", "pros_cli.contract")),
    OPENAI_BACKEND: (("openai_backend",), ()),
}


def code_key(suffix: str) -> str:
    return f"function-code/{suffix}"


def build_settings_key(suffix: str) -> str:
    return f"function-build-settings/{suffix}"


class RemoteBuildSettings(functions.AppSettings):
    label = "remote build settings"
    created_by = COMMAND


class DeadLetterContainer(BlobContainer):
    label = "dead-letter container"
    created_by = COMMAND


class DeadLetterGrant(RoleAssignment):
    created_by = COMMAND

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        if not self.principal_id():
            raise ProsError(
                f"{self.principal.describe()} has no system-assigned identity, which dead-lettering needs; "
                "run pros provision (it gives the topic one), then pros deploy-functions again"
            )
        return super().create(clients, continuation_token=continuation_token)


def build_function_resources(
    spec: Spec,
    provision_resources: Sequence[Resource],
    *,
    source: PackageSource | None = None,
    notify: Callable[[str], None] | None = None,
) -> list[Resource]:
    """Every resource of the part, each listed after what it depends on."""
    source = source or find_source()
    provision = {r.key: r for r in provision_resources}
    topic = provision[TOPIC_KEY]
    assert isinstance(topic, EventGridTopic)
    out: list[Resource] = []
    packages: dict[str, FunctionPackage] = {}
    for suffix in [*spec.regions, TOKEN]:
        app = provision[functions.app_key(suffix)]
        assert isinstance(app, functions.FunctionApp)
        folder = TOKEN_PROCESSOR if suffix == TOKEN else OPENAI_BACKEND
        names, vendor = APPS[folder]
        # The app's own settings and its identity's access to its storage come first: a Flex app
        # reads its package from its deployment container with that identity.
        deps = tuple(
            k for k in (functions.settings_key(suffix), f"rbac/func-storage/{suffix}") if k in provision
        )
        if spec.function_plan != "flex":
            settings = RemoteBuildSettings(
                spec,
                key=build_settings_key(suffix),
                app=app.name,
                region=app.region,
                settings=REMOTE_BUILD,
                depends_on=(app.key, *deps),
                parent=app.key,
            )
            out.append(settings)
            deps = (*deps, settings.key)
        package = FunctionPackage(
            spec,
            key=code_key(suffix),
            app=app,
            folder=folder,
            functions=names,
            vendor=vendor,
            source=source,
            notify=notify,
            depends_on=deps,
        )
        packages[suffix] = package
        out.append(package)
    token_app = provision[functions.app_key(TOKEN)]
    assert isinstance(token_app, functions.FunctionApp)
    account = provision[storage_key(TOKEN)]
    container = DeadLetterContainer(
        spec,
        key=DEADLETTER_KEY,
        name=DEADLETTER_CONTAINER,
        account=account.name,
        region=account.region,
        depends_on=(account.key,),
        parent=account.key,
    )
    grant = DeadLetterGrant(
        spec,
        key=DEADLETTER_ROLE_KEY,
        scope=Scope.of(container),
        role=STORAGE_BLOB_DATA_CONTRIBUTOR,
        principal=topic,
    )
    subscription = EventSubscription(
        spec,
        key=SUBSCRIPTION_KEY,
        name=SUBSCRIPTION_NAME,
        topic=topic,
        app=token_app,
        function=APPS[TOKEN_PROCESSOR][0][0],
        container=container,
        storage_id=account.arm_id(),
        depends_on=(packages[TOKEN].key, grant.key),
    )
    return [*out, container, grant, subscription]


def command_graph(
    spec: Spec, *, source: PackageSource | None = None, notify: Callable[[str], None] | None = None
) -> list[Resource]:
    """What ``pros deploy-functions`` plans: its own resources, what they depend on (read for their
    bodies) and the structural parents of those."""
    provision = build_resources(spec)
    own = build_function_resources(spec, provision, source=source, notify=notify)
    everything = {r.key: r for r in [*provision, *own]}
    wanted = _closure(everything, own)
    return [r for r in everything.values() if r.key in wanted]


def _closure(everything: Mapping[str, Resource], own: Iterable[Resource]) -> set[str]:
    keys = {r.key for r in own}
    keys.update(d for r in own for d in r.depends_on if d in everything)
    pending = list(keys)
    while pending:
        parent = everything[pending.pop()].parent
        if parent and parent not in keys:
            keys.add(parent)
            pending.append(parent)
    return keys | {RG_KEY}
