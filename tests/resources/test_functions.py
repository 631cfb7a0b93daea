"""Function Apps, their plans, deployment containers and app settings, converged through the engine."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pros_cli.azure.clients import raw_json
from pros_cli.resources.base import FieldDiff, Resource
from pros_cli.resources.blob_container import BlobContainer, deployment_container_name
from pros_cli.resources.functions import (
    AppServicePlan,
    AppSettings,
    FunctionApp,
    SecretSetting,
    app_key,
    function_stack,
    package_key,
    plan_key,
    settings_key,
)
from pros_cli.resources.resource_group import ResourceGroup
from pros_cli.resources.storage import StorageAccount
from pros_cli.simulator.core import SECRET_MARKER
from pros_cli.simulator.providers.web import FLEX, LINUX_CONSUMPTION, set_geo_regions
from pros_cli.spec import Spec
from tests.conftest import make_spec

RG_KEY = "resource-group"
RG = "rg-demo"


def storage(spec: Spec, region: str | None) -> StorageAccount:
    name = spec.names.token_storage_account() if region is None else spec.names.storage_account(region)
    return StorageAccount(
        spec,
        key=f"storage/{region or 'token'}",
        name=name,
        region=region or spec.shared_region,
        depends_on=(RG_KEY,),
        parent=RG_KEY,
    )


def graph(
    spec: Spec, settings: dict[str, Any] | None = None, extra_deps: tuple[str, ...] = ()
) -> list[Resource]:
    """What the lead wires: per region a backend app, plus the shared token-processor app."""
    out: list[Resource] = [
        ResourceGroup(spec, key=RG_KEY, name=spec.resource_group, region=spec.primary_region)
    ]
    for region in (*spec.regions, None):
        out.append(storage(spec, region))
        out += function_stack(
            spec,
            rg_key=RG_KEY,
            storage_key=f"storage/{region or 'token'}",
            region=region,
            settings=settings,
            settings_depends_on=extra_deps,
        )
    return out


def by_key(resources: list[Resource]) -> dict[str, Any]:
    return {r.key: r for r in resources}


def writes(sim: Any) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in sim.writes()]


def settings_of(engine: Any, app: str) -> dict[str, str]:
    return engine.clients.web.web_apps.list_application_settings(RG, app, cls=raw_json)["properties"]


def test_flex_deployment_converges_and_a_second_converge_writes_nothing(engine, memsim):
    spec = make_spec()
    first = engine.converge(graph(spec))
    assert not first.report.failed
    web = engine.clients.web
    for region in ("eastus", "westus", None):
        app = spec.names.token_function_app() if region is None else spec.names.function_app(region)
        plan = spec.names.token_plan() if region is None else spec.names.plan(region)
        account = storage(spec, region).name
        got = web.app_service_plans.get(RG, plan, cls=raw_json)
        assert got["sku"]["name"] == "FC1" and got["properties"]["reserved"] is True
        site = web.web_apps.get(RG, app, cls=raw_json)
        assert site["kind"] == "functionapp,linux" and site["identity"]["type"] == "SystemAssigned"
        props = site["properties"]
        assert props["httpsOnly"] is True
        assert (
            props["siteConfig"]["minTlsVersion"] == "1.2" and props["siteConfig"]["ftpsState"] == "Disabled"
        )
        assert props["serverFarmId"].endswith(f"/serverfarms/{plan}")
        fac = props["functionAppConfig"]
        assert fac["runtime"] == {"name": "python", "version": "3.11"}
        assert fac["deployment"]["storage"]["value"] == (
            f"https://{account}.blob.core.windows.net/{deployment_container_name(app)}"
        )
        assert fac["deployment"]["storage"]["authentication"] == {"type": "SystemAssignedIdentity"}
        assert settings_of(engine, app) == {"AzureWebJobsStorage__accountName": account}
        container = engine.clients.storage.blob_containers.get(
            RG, account, deployment_container_name(app), cls=raw_json
        )
        assert container["properties"]["publicAccess"] == "None"
        key = app_key(region or "token")
        assert first.report.outputs[key] == {
            "default_host_name": f"{app}.azurewebsites.net",
            "principal_id": site["identity"]["principalId"],
        }

    memsim.reset_log()
    second = engine.converge(graph(spec))
    assert writes(memsim) == []
    assert {c.action for c in second.plan.changes} == {"no-op"}
    assert second.echoed == []


def test_linux_consumption_uses_linux_fx_version_and_worker_settings(engine, memsim):
    spec = make_spec(regions=["eastus"], function_plan="consumption", python_version="3.12")
    engine.converge(graph(spec))
    app = spec.names.function_app("eastus")
    plan = engine.clients.web.app_service_plans.get(RG, spec.names.plan("eastus"), cls=raw_json)
    assert plan["sku"]["name"] == "Y1" and plan["sku"]["tier"] == "Dynamic"
    site = engine.clients.web.web_apps.get(RG, app, cls=raw_json)
    assert site["properties"]["siteConfig"]["linuxFxVersion"] == "Python|3.12"
    assert "functionAppConfig" not in site["properties"]
    assert settings_of(engine, app) == {
        "AzureWebJobsStorage__accountName": spec.names.storage_account("eastus"),
        "FUNCTIONS_EXTENSION_VERSION": "~4",
        "FUNCTIONS_WORKER_RUNTIME": "python",
    }
    assert not [e for e in memsim.log_entries() if "containers" in e["path"]]  # no package container
    memsim.reset_log()
    engine.converge(graph(spec))
    assert writes(memsim) == []


def test_flex_plan_in_a_region_without_flex_fails_preflight_naming_regions_that_offer_it(engine, memsim):
    set_geo_regions(memsim, FLEX, ["eastus", "northeurope"])
    plan = engine.plan(graph(make_spec()))
    [error] = plan.errors
    assert "Flex Consumption (FC1) plan is not offered in westus" in error
    assert "regions that offer it: eastus, northeurope" in error
    assert "az functionapp list-flexconsumption-locations" in error
    assert writes(memsim) == []


def test_linux_consumption_preflight_asks_for_linux_dynamic_workers(engine, memsim):
    set_geo_regions(memsim, LINUX_CONSUMPTION, ["westus"])
    spec = make_spec(function_plan="consumption")
    errors = engine.plan(graph(spec)).errors
    assert len(errors) == 2  # the eastus backend plan and the token plan (shared region eastus)
    assert {e.split(":")[0] for e in errors} == {
        f"Function plan {spec.names.plan('eastus')} (eastus)",
        f"Function plan {spec.names.token_plan()} (eastus)",
    }
    for error in errors:
        assert "Linux Consumption (Y1) plan is not offered in eastus; regions that offer it: westus" in error
        assert "--function-plan flex" in error
    geo = [e for e in memsim.log_entries() if e["path"].endswith("/geoRegions")]
    assert geo, "preflight must ask the geoRegions API"


def test_taken_app_name_fails_preflight(engine, memsim):
    spec = make_spec(regions=["eastus"])
    memsim.take_name("Microsoft.Web/sites", spec.names.function_app("eastus"))
    errors = engine.plan(graph(spec)).errors
    assert any(spec.names.function_app("eastus") in e and "AlreadyExists" in e for e in errors)


def test_drift_in_https_only_is_patched_not_put(engine, memsim):
    spec = make_spec(regions=["eastus"])
    engine.converge(graph(spec, {"USER_FACING": "1"}))
    app = spec.names.function_app("eastus")
    web = engine.clients.web
    web.web_apps.update(
        RG, app, {"properties": {"httpsOnly": False, "siteConfig": {"ftpsState": "AllAllowed"}}}
    )
    before = settings_of(engine, app)
    memsim.reset_log()
    fixed = engine.converge(graph(spec, {"USER_FACING": "1"}))
    change = fixed.plan.by_key()[app_key("eastus")]
    assert change.action == "update"
    assert "change properties.httpsOnly: False -> True" in change.reasons
    assert writes(memsim) == [
        f"PATCH /subscriptions/{spec.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Web/sites/{app}"
    ]
    site = web.web_apps.get(RG, app, cls=raw_json)
    assert (
        site["properties"]["httpsOnly"] is True
        and site["properties"]["siteConfig"]["ftpsState"] == "Disabled"
    )
    assert settings_of(engine, app) == before
    [line] = fixed.echoed
    assert line.startswith("az rest --method patch") and '"httpsOnly":true' in line


def test_stripped_tags_make_a_look_alike_and_user_tags_stay(engine, memsim):
    """Ownership is proven by our tags: an app whose tags were replaced is refused (whatever the
    state file says) until they are restored; tags a user adds beside ours are kept."""
    spec = make_spec(regions=["eastus"])
    engine.converge(graph(spec))
    web = engine.clients.web
    app, plan = spec.names.function_app("eastus"), spec.names.plan("eastus")
    ours = {"managed-by": "pros", "pros-deployment": "demo"}
    web.web_apps.update(RG, app, {"tags": {"team": "a"}})
    refused = engine.plan(graph(spec))
    assert any(app in error and "az tag update" in error for error in refused.errors), refused.errors
    web.web_apps.update(RG, app, {"tags": {**ours, "team": "a"}})
    plan_body = web.app_service_plans.get(RG, plan, cls=raw_json)
    body = {**plan_body, "tags": {**ours, "team": "b"}}
    web.app_service_plans.begin_create_or_update(RG, plan, body).result()
    memsim.reset_log()
    engine.converge(graph(spec))
    assert web.web_apps.get(RG, app, cls=raw_json)["tags"] == {**ours, "team": "a"}
    assert web.app_service_plans.get(RG, plan, cls=raw_json)["tags"] == {**ours, "team": "b"}
    assert writes(memsim) == []


def test_app_settings_merge_keeps_a_users_own_setting(engine, memsim):
    spec = make_spec(regions=["eastus"])
    engine.converge(graph(spec, {"BACKEND_MODE": "fast"}))
    app = spec.names.function_app("eastus")
    web = engine.clients.web
    web.web_apps.update_application_settings(
        RG, app, {"properties": {**settings_of(engine, app), "USER": "mine"}}
    )
    memsim.reset_log()
    run = engine.converge(graph(spec, {"BACKEND_MODE": "safe"}))
    change = run.plan.by_key()[settings_key("eastus")]
    assert change.reasons == ["change BACKEND_MODE = 'safe'"]
    assert settings_of(engine, app) == {
        "AzureWebJobsStorage__accountName": spec.names.storage_account("eastus"),
        "BACKEND_MODE": "safe",
        "USER": "mine",
    }
    assert (
        f"az functionapp config appsettings set --resource-group {RG} --name {app} "
        "--settings BACKEND_MODE=safe"
    ) in run.echoed
    assert all("/config/appsettings" in w for w in writes(memsim))


def test_reapplying_a_failed_app_keeps_its_settings(engine, memsim):
    """A failed app is re-applied with the create PUT, which carries siteConfig.appSettings: the
    settings already there must be merged into it, not wiped."""
    spec = make_spec(regions=["eastus"])
    resources = graph(spec, {"BACKEND_MODE": "fast"})
    engine.converge(resources)
    app: FunctionApp = by_key(resources)[app_key("eastus")]
    engine.clients.web.web_apps.update_application_settings(
        RG, app.name, {"properties": {**settings_of(engine, app.name), "USER": "mine"}}
    )
    app.create(engine.clients).result()
    assert settings_of(engine, app.name)["USER"] == "mine"
    assert settings_of(engine, app.name)["BACKEND_MODE"] == "fast"


def storage_key_secret(spec: Spec, region: str | None) -> SecretSetting:
    account = storage(spec, region).name

    def resolve(clients: Any) -> str:
        keys = clients.storage.storage_accounts.list_keys(RG, account, cls=raw_json)
        return keys["keys"][0]["value"]

    return SecretSetting(
        "TOKEN_STORE_KEY",
        resolve,
        "PROS_TOKEN_STORE_KEY",
        f"az storage account keys list -g {RG} -n {account} --query [0].value -o tsv",
    )


def test_a_secret_setting_never_leaks(engine, memsim):
    spec = make_spec(regions=["eastus"])
    secret = storage_key_secret(spec, "eastus")
    first = engine.converge(graph(spec, {"TOKEN_STORE_KEY": secret}))
    app = spec.names.function_app("eastus")
    written = settings_of(engine, app)["TOKEN_STORE_KEY"]
    assert written.startswith(SECRET_MARKER)  # the real value reached the app
    line = next(e for e in first.echoed if "appsettings set" in e)
    assert '"TOKEN_STORE_KEY=${PROS_TOKEN_STORE_KEY}"' in line

    # Drift in the secret: planned with a reason that names the setting only.
    engine.clients.web.web_apps.update_application_settings(
        RG, app, {"properties": {**settings_of(engine, app), "TOKEN_STORE_KEY": "stale"}}
    )
    memsim.inject(
        method="PUT",
        path_regex=r"/config/appsettings$",
        status=400,
        code="BadRequest",
        message="simulated rejection",
    )
    failed = engine.converge(graph(spec, {"TOKEN_STORE_KEY": secret}))
    change = failed.plan.by_key()[settings_key("eastus")]
    assert change.reasons == ["set TOKEN_STORE_KEY: its secret value differs (value not shown)"]
    assert [r.error for r in failed.report.failed]  # the injected failure surfaced as an error
    texts = [
        "\n".join(first.echoed + failed.echoed),
        json.dumps(first.plan.to_json()) + json.dumps(failed.plan.to_json()),
        json.dumps(first.report.outputs) + json.dumps(failed.report.outputs),
        " ".join(str(r.error) for r in failed.report.failed),
        engine.state_path.read_text(),
        repr([c.current for c in failed.plan.changes]),
    ]
    for text in texts:
        assert SECRET_MARKER not in text
    assert failed.report.outputs[settings_key("eastus")] == {
        "setting_names": ["AzureWebJobsStorage__accountName", "TOKEN_STORE_KEY"]
    }

    memsim.clear_injections()
    engine.converge(graph(spec, {"TOKEN_STORE_KEY": secret}))
    assert settings_of(engine, app)["TOKEN_STORE_KEY"] == written


def test_a_secret_whose_source_does_not_exist_yet_is_known_after_apply(engine, memsim):
    spec = make_spec(regions=["eastus"])
    base = graph(spec)
    engine.converge(base)
    # The secret comes from an account that is only created in the next run.
    source = StorageAccount(
        spec, key="storage/later", name="stdemolater1", region="eastus", depends_on=(RG_KEY,), parent=RG_KEY
    )

    def resolve(clients: Any) -> str:
        return clients.storage.storage_accounts.list_keys(RG, source.name, cls=raw_json)["keys"][0]["value"]

    secret = SecretSetting("LATER_KEY", resolve, "PROS_LATER_KEY", "az storage account keys list ...")
    resources = graph(spec, {"LATER_KEY": secret}, extra_deps=("storage/later",))
    resources.insert(1, source)
    plan = engine.plan(resources)
    change = plan.by_key()[settings_key("eastus")]
    assert change.action == "update"
    assert change.reasons == [
        "set LATER_KEY: its secret value is known after apply (its source does not exist yet)"
    ]
    engine.converge(resources)
    assert settings_of(engine, spec.names.function_app("eastus"))["LATER_KEY"].startswith(SECRET_MARKER)


def test_changing_the_plan_kind_is_refused_not_replaced(engine, memsim):
    engine.converge(graph(make_spec(regions=["eastus"])))
    memsim.reset_log()
    plan = engine.plan(graph(make_spec(regions=["eastus"], function_plan="consumption")))
    assert any("cannot change sku.name: 'FC1' -> 'Y1'" in e for e in plan.errors)
    assert writes(memsim) == []


def test_delete_keeps_the_plan_and_only_drops_our_settings(engine, memsim):
    spec = make_spec(regions=["eastus"])
    resources = by_key(graph(spec, {"OURS": "1"}))
    engine.converge(list(resources.values()))
    app = spec.names.function_app("eastus")
    engine.clients.web.web_apps.update_application_settings(
        RG, app, {"properties": {**settings_of(engine, app), "USER": "mine"}}
    )
    resources[settings_key("eastus")].delete(engine.clients)
    assert settings_of(engine, app) == {"USER": "mine"}
    resources[app_key("eastus")].delete(engine.clients)
    assert resources[app_key("eastus")].read(engine.clients) is None
    assert resources[plan_key("eastus")].read(engine.clients) is not None  # deleted on its own, last
    resources[package_key("eastus")].delete(engine.clients)
    assert resources[package_key("eastus")].read(engine.clients) is None
    resources[plan_key("eastus")].delete(engine.clients)
    assert resources[plan_key("eastus")].read(engine.clients) is None


def test_function_stack_wiring():
    spec = make_spec()
    stack = by_key(function_stack(spec, rg_key=RG_KEY, storage_key="storage/token"))
    app = stack[app_key("token")]
    assert app.name == spec.names.token_function_app() and app.region == spec.shared_region
    assert set(app.depends_on) == {plan_key("token"), "storage/token", package_key("token")}
    assert stack[package_key("token")].parent == "storage/token"
    assert stack[settings_key("token")].parent == app.key
    assert stack[plan_key("token")].name == spec.names.token_plan()
    with pytest.raises(ValueError):
        AppSettings(
            spec,
            key="s",
            app="a",
            region="eastus",
            settings={"A": SecretSetting("B", lambda c: "x", "V", "az ...")},
        )


def every_az_line(spec: Spec) -> list[str]:
    lines: list[str] = []
    secret = SecretSetting("K", lambda c: "v", "PROS_K", "az storage account keys list -g rg -n st")
    for r in graph(spec, {"MODE": "a b", "K": secret}):
        if not isinstance(r, (AppServicePlan, FunctionApp, AppSettings, BlobContainer)):
            continue
        current = {"tags": {"user": "x"}, "properties": {}}
        diffs = [FieldDiff("tags.managed-by", None, "pros")]
        if isinstance(r, FunctionApp):
            diffs = [
                FieldDiff("properties.httpsOnly", False, True),
                FieldDiff("identity.type", None, "SystemAssigned"),
            ]
        if isinstance(r, AppSettings):
            diffs = r.diff({"properties": {}})
        lines += [
            c.render() for c in (*r.az_create(), *r.az_update(current, diffs), *r.az_delete(), r.az_read())
        ]
    return lines


def test_every_echoed_az_line_parses(az_parser):
    lines = every_az_line(make_spec()) + every_az_line(make_spec(function_plan="consumption"))
    assert any("appsettings set" in line and "${PROS_K}" in line for line in lines)
    assert any(line.startswith("az storage container-rm create") for line in lines)
    assert az_parser.failures(lines) == []
