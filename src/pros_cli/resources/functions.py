"""Function Apps: their plans, the apps themselves and their app settings.

Flex Consumption (FC1) is the default plan. Linux Consumption (Y1, ``--function-plan
consumption``) still works but retires on 2028-09-30, gets no new language versions and is gone
from the portal; Flex Consumption is its successor.

Three kinds, three owners: the plan (``Microsoft.Web/serverfarms``), the app
(``Microsoft.Web/sites``) and its app settings (``sites/config/appsettings``). A site PUT that
carries ``siteConfig.appSettings`` replaces every setting, so the app never compares settings and
changes itself with PATCH; :class:`AppSettings` owns the settings and merges into what is there.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pros_cli import regions
from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import describe, get_or_none, is_not_found
from pros_cli.echo import AzCommand, Secret, az, az_rest
from pros_cli.errors import ProsError
from pros_cli.resources.base import FieldDiff, Resource, get_path
from pros_cli.resources.blob_container import BlobContainer, deployment_container_name
from pros_cli.spec import Spec

WEB_API = "2025-05-01"
FLEX_MAX_INSTANCES = 100  # Flex Consumption defaults (40-1000 instances; 512, 2048 or 4096 MB)
FLEX_INSTANCE_MEMORY_MB = 2048


def plan_key(suffix: str) -> str:
    return f"function-plan/{suffix}"


def package_key(suffix: str) -> str:
    return f"function-package/{suffix}"


def app_key(suffix: str) -> str:
    return f"function-app/{suffix}"


def settings_key(suffix: str) -> str:
    return f"function-settings/{suffix}"


def _web_id(spec: Spec, kind: str, name: str) -> str:
    return (
        f"/subscriptions/{spec.subscription_id}/resourceGroups/{spec.resource_group}"
        f"/providers/Microsoft.Web/{kind}/{name}"
    )


def _flex(spec: Spec) -> bool:
    return spec.function_plan == "flex"


# ---- plan -------------------------------------------------------------------------------------
class AppServicePlan(Resource):
    """The serverless plan an app runs on: Flex Consumption FC1, or Linux Consumption Y1 (retiring
    2028-09-30). Both are Linux (``reserved``) and neither SKU nor OS can change in place."""

    arm_type = "Microsoft.Web/serverfarms"
    client_kind = "web"
    api_version = WEB_API
    label = "Function plan"
    managed_fields = ("location", "sku.name", "properties.reserved")
    immutable_fields = ("location", "sku.name", "properties.reserved")
    typical_seconds = 20.0

    @property
    def sku(self) -> dict[str, str]:
        return (
            {"name": "FC1", "tier": "FlexConsumption"}
            if _flex(self.spec)
            else {"name": "Y1", "tier": "Dynamic"}
        )

    def desired(self) -> dict[str, Any]:
        return {
            "location": self.region,
            "kind": "functionapp",
            "sku": self.sku,
            "properties": {"reserved": True},
            "tags": self.desired_tags(),
        }

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self.client(clients).app_service_plans.get, self.resource_group, self.name)

    def _put(self, clients: Any, body: dict[str, Any], token: str | None = None) -> Any:
        return self.client(clients).app_service_plans.begin_create_or_update(
            self.resource_group, self.name, body, cls=raw_json, continuation_token=token
        )

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return self._put(clients, self.desired(), continuation_token)

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        # Only tags can differ here (everything else is immutable); a plan PUT touches no app.
        return self._put(clients, {**self.desired(), "tags": self.merged_tags(current)})

    def delete(self, clients: Any) -> Any:
        self.client(clients).app_service_plans.delete(self.resource_group, self.name)
        return None

    def preflight(self, clients: Any) -> str | None:
        """Is the plan's SKU offered in its region? Asked the way az's list-*-locations ask."""
        web = self.client(clients)
        if _flex(self.spec):
            offered = web.list_geo_regions(sku="FlexConsumption")
            kind, command = "Flex Consumption (FC1)", "az functionapp list-flexconsumption-locations"
        else:
            offered = web.list_geo_regions(sku="Dynamic", linux_dynamic_workers_enabled=True)
            kind, command = "Linux Consumption (Y1)", "az functionapp list-consumption-locations"
        names = sorted({regions.normalize(str(g.name)) or str(g.name) for g in offered})
        if self.region in names:
            return super().preflight(clients)
        where = ", ".join(names) or "none"
        return (
            f"{self.describe()}: the {kind} plan is not offered in {self.region}; regions that offer it: "
            f"{where} (see `{command}`). Choose --region values from that list"
            + ("" if _flex(self.spec) else ", or use the default --function-plan flex")
            + "."
        )

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"sku": get_path(current, "sku.name")}

    def az_read(self) -> AzCommand:
        return az(
            "functionapp",
            "plan",
            "show",
            "--resource-group",
            self.resource_group,
            "--name",
            self.name,
            read_only=True,
        )

    def az_create(self) -> list[AzCommand]:
        cmd = az_rest("PUT", self.arm_id(), self.api_version, self.desired())
        return [AzCommand(cmd.args, note="az functionapp plan create does not take FC1 or Y1")]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        body = {**self.desired(), "tags": self.merged_tags(current)}
        return [az_rest("PUT", self.arm_id(), self.api_version, body)]

    def az_delete(self) -> list[AzCommand]:
        return [
            az(
                "functionapp",
                "plan",
                "delete",
                "--resource-group",
                self.resource_group,
                "--name",
                self.name,
                "--yes",
            )
        ]


# ---- app --------------------------------------------------------------------------------------
class FunctionApp(Resource):
    """A Linux Python Function App (Functions v4) with a system-assigned identity, HTTPS only,
    TLS 1.2 and no FTP. Its host storage is identity-based (``AzureWebJobsStorage__accountName``);
    on Flex its deployment package lives in a blob container it reads with that identity, so the
    identity needs Storage Blob Data Owner on the account."""

    arm_type = "Microsoft.Web/sites"
    client_kind = "web"
    api_version = WEB_API
    label = "Function App"
    managed_fields = (
        "location",
        "kind",
        "identity.type",
        "properties.serverFarmId",
        "properties.httpsOnly",
        "properties.siteConfig.minTlsVersion",
        "properties.siteConfig.ftpsState",
        "properties.siteConfig.linuxFxVersion",
        "properties.functionAppConfig.runtime.name",
        "properties.functionAppConfig.runtime.version",
        "properties.functionAppConfig.deployment.storage.value",
        "properties.functionAppConfig.deployment.storage.authentication.type",
        "properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount",
        "properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMB",
    )  # never siteConfig.appSettings: AppSettings owns those
    immutable_fields = ("location", "kind")
    globally_unique = True
    typical_seconds = 60.0

    def __init__(
        self,
        spec: Spec,
        *,
        key: str,
        name: str,
        region: str | None,
        plan: str,
        storage_account: str,
        deployment_container: str | None = None,
        depends_on: tuple[str, ...] = (),
        parent: str | None = None,
    ):
        super().__init__(spec, key=key, name=name, region=region, depends_on=depends_on, parent=parent)
        if _flex(spec) and not deployment_container:
            raise ValueError("a Flex Consumption app needs a deployment container")
        self.plan = plan
        self.storage_account = storage_account
        self.deployment_container = deployment_container

    def host_settings(self) -> dict[str, str]:
        """The settings the Functions host needs to start. Flex refuses FUNCTIONS_WORKER_RUNTIME
        (its runtime lives in functionAppConfig)."""
        settings = {"AzureWebJobsStorage__accountName": self.storage_account}
        if not _flex(self.spec):
            settings.update({"FUNCTIONS_EXTENSION_VERSION": "~4", "FUNCTIONS_WORKER_RUNTIME": "python"})
        return settings

    def desired(self) -> dict[str, Any]:
        site_config: dict[str, Any] = {"minTlsVersion": "1.2", "ftpsState": "Disabled"}
        props: dict[str, Any] = {
            "serverFarmId": _web_id(self.spec, "serverfarms", self.plan),
            "httpsOnly": True,
            "siteConfig": site_config,
        }
        if _flex(self.spec):
            url = f"https://{self.storage_account}.blob.core.windows.net/{self.deployment_container}"
            props["functionAppConfig"] = {
                "deployment": {
                    "storage": {
                        "type": "blobContainer",
                        "value": url,
                        "authentication": {"type": "SystemAssignedIdentity"},
                    }
                },
                "runtime": {"name": "python", "version": self.spec.python_version},
                "scaleAndConcurrency": {
                    "maximumInstanceCount": FLEX_MAX_INSTANCES,
                    "instanceMemoryMB": FLEX_INSTANCE_MEMORY_MB,
                },
            }
        else:
            props["reserved"] = True
            site_config["linuxFxVersion"] = f"Python|{self.spec.python_version}"
        return {
            "location": self.region,
            "kind": "functionapp,linux",
            "identity": {"type": "SystemAssigned"},
            "tags": self.desired_tags(),
            "properties": props,
        }

    def _create_body(self, existing: Mapping[str, str] | None) -> dict[str, Any]:
        """The create PUT: our host settings, merged into the app's settings if the app exists
        already (re-applying a failed app must not wipe what AppSettings wrote)."""
        body = copy.deepcopy(self.desired())
        settings = {**(existing or {}), **self.host_settings()}
        body["properties"]["siteConfig"]["appSettings"] = [
            {"name": k, "value": v} for k, v in settings.items()
        ]
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self.client(clients).web_apps.get, self.resource_group, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        web = self.client(clients)
        existing = None
        if continuation_token is None:
            try:
                listed = web.web_apps.list_application_settings(self.resource_group, self.name, cls=raw_json)
                existing = listed.get("properties") or {}
            except Exception as exc:
                if not is_not_found(exc):
                    raise
        return web.web_apps.begin_create_or_update(
            self.resource_group,
            self.name,
            self._create_body(existing),
            cls=raw_json,
            continuation_token=continuation_token,
        )

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self.client(clients).web_apps.update(
            self.resource_group, self.name, self.patch_body(current, diffs), cls=raw_json
        )

    def delete(self, clients: Any) -> Any:
        # The plan is its own resource: keep it (ARM deletes an emptied plan by default).
        self.client(clients).web_apps.delete(self.resource_group, self.name, delete_empty_server_farm=False)
        return None

    def check_name(self, clients: Any) -> str | None:
        result = self.client(clients).check_name_availability(
            {"name": self.name, "type": "Microsoft.Web/sites"}, cls=raw_json
        )
        if result.get("nameAvailable"):
            return None
        return f"{result.get('reason') or 'unavailable'}: {result.get('message') or 'name is taken'}"

    def health(self, current: dict[str, Any], clients: Any) -> tuple[str, str]:
        level, detail = super().health(current, clients)
        if level != "ok":
            return level, detail
        state = str(get_path(current, "properties.state") or "")
        if state != "Running":
            return "degraded", f"app state {state or 'unknown'}, not Running"
        return "ok", "Running"

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "default_host_name": get_path(current, "properties.defaultHostName"),
            "principal_id": get_path(current, "identity.principalId"),
        }

    # ---- az ---------------------------------------------------------------------------------
    def az_read(self) -> AzCommand:
        """The one GET pros makes. ``az functionapp show`` would also read the site's config and
        fetch its publishing profile (publishxml: deployment credentials) for a non-Flex app."""
        return az(
            "resource", "show", "--ids", self.arm_id(), "--api-version", self.api_version, read_only=True
        )

    def az_create(self) -> list[AzCommand]:
        # az functionapp create makes its own Flex plan and key-based storage settings; pros puts
        # the app on its own plan with identity-based storage, which only az rest expresses.
        cmd = az_rest("PUT", self.arm_id(), self.api_version, self._create_body(None))
        return [
            AzCommand(cmd.args, note="the site PUT pros sends (az functionapp create would add its own plan)")
        ]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        return [az_rest("PATCH", self.arm_id(), self.api_version, self.patch_body(current, diffs))]

    def az_delete(self) -> list[AzCommand]:
        return [
            az(
                "functionapp",
                "delete",
                "--resource-group",
                self.resource_group,
                "--name",
                self.name,
                "--keep-empty-plan",
            )
        ]


# ---- app settings -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SecretSetting:
    """An app setting whose value is a secret: ``resolve(clients)`` fetches it when pros plans and
    applies (None, or a not-found error: its source does not exist yet); ``var`` is the shell
    variable the echoed az line uses and ``source`` the az command that prints the value."""

    name: str
    resolve: Callable[[Any], str | None]
    var: str
    source: str

    def arg(self) -> Secret:
        return Secret(self.var, self.source, prefix=f"{self.name}=")


@dataclass(frozen=True)
class SettingDiff(FieldDiff):
    """A setting that differs; its reason names the setting and never a current or secret value."""

    text: str = ""

    def reason(self) -> str:
        return self.text


HIDDEN = "(hidden)"  # what read() leaves in place of values pros does not compare


class AppSettings(Resource):
    """The app settings pros owns on one app, merged into whatever else is set there (settings
    pros does not own are never dropped). Values of secret settings are fetched only to compare
    and to write; they are never kept, echoed, recorded or put into a reason."""

    arm_type = "Microsoft.Web/sites/config"
    client_kind = "web"
    api_version = WEB_API
    label = "app settings"
    immutable_fields = ()
    tagged = False
    deleted_with_parent = True
    typical_seconds = 3.0

    def __init__(
        self,
        spec: Spec,
        *,
        key: str,
        app: str,
        region: str | None,
        settings: Mapping[str, str | SecretSetting],
        depends_on: tuple[str, ...] = (),
        parent: str | None = None,
    ):
        super().__init__(
            spec, key=key, name="appsettings", region=region, depends_on=depends_on, parent=parent
        )
        for name, value in settings.items():
            if isinstance(value, SecretSetting) and value.name != name:
                raise ValueError(f"secret setting {value.name!r} is listed under {name!r}")
        self.app = app
        self.settings = dict(settings)
        self._secret_state: dict[str, str] = {}  # setting name -> "same" | "differs" | "pending"

    def arm_id(self) -> str:
        return _web_id(self.spec, "sites", self.app) + "/config/appsettings"

    def describe(self) -> str:
        return f"{self.label} of {self.app}"

    @property
    def plain(self) -> dict[str, str]:
        return {k: v for k, v in self.settings.items() if isinstance(v, str)}

    @property
    def secrets(self) -> dict[str, SecretSetting]:
        return {k: v for k, v in self.settings.items() if isinstance(v, SecretSetting)}

    def desired(self) -> dict[str, Any]:
        """The plain settings; secret values are fetched only inside create/update."""
        return {"properties": dict(self.plain)}

    def _list(self, clients: Any) -> dict[str, str] | None:
        try:
            body = self.client(clients).web_apps.list_application_settings(
                self.resource_group, self.app, cls=raw_json
            )
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        return dict(body.get("properties") or {})

    def _resolve(self, secret: SecretSetting, clients: Any) -> str | None:
        try:
            return secret.resolve(clients)
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise ProsError(
                f"reading the value for app setting {secret.name} of {self.app} failed: {describe(exc)}"
            ) from None

    def _redacted(self, settings: Mapping[str, str]) -> dict[str, Any]:
        shown = {k: (v if k in self.plain else HIDDEN) for k, v in settings.items()}
        return {"id": self.arm_id(), "name": self.name, "type": self.arm_type, "properties": shown}

    def read(self, clients: Any) -> dict[str, Any] | None:
        current = self._list(clients)
        if current is None:
            return None
        self._secret_state = {}
        for name, secret in self.secrets.items():
            value = self._resolve(secret, clients)
            if value is None:
                self._secret_state[name] = "pending"
            else:
                self._secret_state[name] = "same" if current.get(name) == value else "differs"
        return self._redacted(current)

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        have = current.get("properties") or {}
        diffs: list[FieldDiff] = []
        for name, want in self.settings.items():
            path = f"appSettings.{name}"
            if isinstance(want, SecretSetting):
                state = self._secret_state.get(name, "pending")
                if state == "differs":
                    text = f"set {name}: its secret value differs (value not shown)"
                elif state == "pending":
                    text = (
                        f"set {name}: its secret value is known after apply (its source does not exist yet)"
                    )
                else:
                    continue
                diffs.append(SettingDiff(path, None, None, text=text))
            elif have.get(name) != want:
                verb = "add" if name not in have else "change"
                diffs.append(SettingDiff(path, None, want, text=f"{verb} {name} = {want!r}"))
        return diffs

    def _write(self, clients: Any) -> dict[str, Any]:
        """Fresh list, ours on top, PUT of the full map (the API replaces every setting)."""
        current = self._list(clients)
        if current is None:
            raise ProsError(f"Function App {self.app} does not exist; its app settings cannot be written")
        merged = {**current, **self.plain}
        for name, secret in self.secrets.items():
            value = self._resolve(secret, clients)
            if value is None:
                raise ProsError(
                    f"the value for app setting {name} of {self.app} is not available yet: its source "
                    "does not exist"
                )
            merged[name] = value
        body = self.client(clients).web_apps.update_application_settings(
            self.resource_group, self.app, {"properties": merged}, cls=raw_json
        )
        self._secret_state = dict.fromkeys(self.secrets, "same")
        return self._redacted(body.get("properties") or {})

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return self._write(clients)

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self._write(clients)

    def delete(self, clients: Any) -> Any:
        current = self._list(clients)
        if current is None or not set(current) & set(self.settings):
            return None
        kept = {k: v for k, v in current.items() if k not in self.settings}
        self.client(clients).web_apps.update_application_settings(
            self.resource_group, self.app, {"properties": kept}, cls=raw_json
        )
        return None

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"setting_names": sorted(self.settings)}

    # ---- az ---------------------------------------------------------------------------------
    def _where(self) -> list[str]:
        return ["--resource-group", self.resource_group, "--name", self.app]

    def _set(self, names: list[str]) -> AzCommand:
        args: list[str | Secret] = []
        for name in names:
            value = self.settings[name]
            args.append(value.arg() if isinstance(value, SecretSetting) else f"{name}={value}")
        return az("functionapp", "config", "appsettings", "set", *self._where(), "--settings", *args)

    def az_read(self) -> AzCommand:
        return az("functionapp", "config", "appsettings", "list", *self._where(), read_only=True)

    def az_create(self) -> list[AzCommand]:
        return [self._set(list(self.settings))]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        names = [d.path.split(".", 1)[1] for d in diffs if d.path.startswith("appSettings.")]
        return [self._set(names or list(self.settings))]

    def az_delete(self) -> list[AzCommand]:
        return [
            az(
                "functionapp",
                "config",
                "appsettings",
                "delete",
                *self._where(),
                "--setting-names",
                *sorted(self.settings),
            )
        ]


# ---- one app's resources ----------------------------------------------------------------------
def function_stack(
    spec: Spec,
    *,
    rg_key: str,
    storage_key: str,
    region: str | None = None,
    settings: Mapping[str, str | SecretSetting] | None = None,
    settings_depends_on: tuple[str, ...] = (),
) -> list[Resource]:
    """Plan, deployment container (Flex), app and app settings of the backend app in ``region``,
    or (``region=None``) of the shared token-processor app in the shared region. ``storage_key``
    is the graph key of the app's storage account; ``settings`` come on top of the host's own."""
    token = region is None
    where = spec.shared_region if token else region
    suffix = "token" if token else str(region)
    names = spec.names
    plan_name = names.token_plan() if token else names.plan(where)
    app_name = names.token_function_app() if token else names.function_app(where)
    account = names.token_storage_account() if token else names.storage_account(where)
    out: list[Resource] = [
        AppServicePlan(
            spec, key=plan_key(suffix), name=plan_name, region=where, depends_on=(rg_key,), parent=rg_key
        )
    ]
    container = None
    if _flex(spec):
        container = BlobContainer(
            spec,
            key=package_key(suffix),
            name=deployment_container_name(app_name),
            account=account,
            region=where,
            depends_on=(storage_key,),
            parent=storage_key,
        )
        out.append(container)
    app_deps = (plan_key(suffix), storage_key) + ((container.key,) if container else ())
    app = FunctionApp(
        spec,
        key=app_key(suffix),
        name=app_name,
        region=where,
        plan=plan_name,
        storage_account=account,
        deployment_container=container.name if container else None,
        depends_on=app_deps,
        parent=rg_key,
    )
    out.append(app)
    out.append(
        AppSettings(
            spec,
            key=settings_key(suffix),
            app=app_name,
            region=where,
            settings={**app.host_settings(), **(settings or {})},
            depends_on=(app.key, *settings_depends_on),
            parent=app.key,
        )
    )
    return out
