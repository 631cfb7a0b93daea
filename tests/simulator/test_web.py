"""The simulator's Microsoft.Web (plans, sites, app settings, geo regions, names) and blob
containers, through the real SDK clients, held against Microsoft's REST examples."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import error_code
from pros_cli.simulator.core import Simulator
from pros_cli.simulator.providers.web import FLEX, LINUX_CONSUMPTION, set_geo_regions
from tests.conftest import SUB
from tests.simulator.shapes import assert_shape

RG = "rg-web"
WEB = "Microsoft.Web/2025-05-01"
PLAN_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Web/serverfarms"
SITE_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Web/sites"
FLEX_PLAN = {
    "location": "eastus",
    "kind": "functionapp",
    "sku": {"name": "FC1", "tier": "FlexConsumption"},
    "properties": {"reserved": True},
}
Y1_PLAN = {
    "location": "eastus",
    "kind": "functionapp",
    "sku": {"name": "Y1", "tier": "Dynamic"},
    "properties": {"reserved": True},
}


def flex_site(plan: str = "fc", **props: Any) -> dict[str, Any]:
    return {
        "location": "eastus",
        "kind": "functionapp,linux",
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "serverFarmId": f"{PLAN_ID}/{plan}",
            "httpsOnly": True,
            "siteConfig": {
                "minTlsVersion": "1.2",
                "ftpsState": "Disabled",
                "appSettings": [{"name": "AzureWebJobsStorage__accountName", "value": "stweb"}],
            },
            "functionAppConfig": {
                "deployment": {
                    "storage": {
                        "type": "blobContainer",
                        "value": "https://stweb.blob.core.windows.net/pkg",
                        "authentication": {"type": "SystemAssignedIdentity"},
                    }
                },
                "runtime": {"name": "python", "version": "3.11"},
                "scaleAndConcurrency": {"maximumInstanceCount": 100, "instanceMemoryMB": 2048},
            },
            **props,
        },
    }


def y1_site(plan: str = "y1") -> dict[str, Any]:
    return {
        "location": "eastus",
        "kind": "functionapp,linux",
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "serverFarmId": f"{PLAN_ID}/{plan}",
            "reserved": True,
            "siteConfig": {
                "linuxFxVersion": "Python|3.11",
                "appSettings": [{"name": "FUNCTIONS_WORKER_RUNTIME", "value": "python"}],
            },
        },
    }


@pytest.fixture
def web(engine) -> Any:
    engine.clients.resource.resource_groups.create_or_update(RG, {"location": "eastus"})
    return engine.clients.web


def http(sim: Simulator, method: str, path: str, body: Any = None, query: str = "") -> Any:
    data = json.dumps(body).encode() if body is not None else None
    return sim.handle(method, f"https://management.azure.com{path}?api-version=2025-05-01{query}", {}, data)


def make_plan(web: Any, name: str = "fc", body: dict[str, Any] = FLEX_PLAN) -> dict[str, Any]:
    return web.app_service_plans.begin_create_or_update(RG, name, body, cls=raw_json).result()


def make_site(web: Any, name: str, body: dict[str, Any]) -> dict[str, Any]:
    return web.web_apps.begin_create_or_update(RG, name, body, cls=raw_json).result()


def fails(call: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as err:
        call()
    return err.value


# ---- shapes --------------------------------------------------------------------------------------
def test_plan_create_answers_200_at_once_and_is_shaped_like_the_examples(engine, web):
    first = http(engine.sim, "PUT", f"{PLAN_ID}/fc", FLEX_PLAN)
    # CreateOrUpdateAppServicePlan.json: 200 with the plan, no polling header.
    assert first.status == 200
    assert not {"Azure-AsyncOperation", "Location"} & set(first.headers)
    # isSpot: in the same file's 202 answer, not in its 200 one.
    extra = ("tags", "properties.isSpot")
    assert_shape(first.body, f"{WEB}/CreateOrUpdateAppServicePlan.json", "200", allow_extra=extra)
    assert first.body["properties"]["provisioningState"] == "Succeeded"
    got = web.app_service_plans.get(RG, "fc", cls=raw_json)
    assert_shape(
        got,
        f"{WEB}/GetAppServicePlan.json",
        must_have=(
            "id",
            "name",
            "type",
            "kind",
            "location",
            "sku.tier",
            "properties.reserved",
            "properties.provisioningState",
            "properties.numberOfSites",
        ),
    )
    assert got["location"] == "East US"  # the Web RP answers with display names
    assert got["sku"] == {
        "name": "FC1",
        "tier": "FlexConsumption",
        "size": "FC1",
        "family": "FC",
        "capacity": 0,
    }


def test_site_shapes_match_flex_and_get_examples(engine, web):
    make_plan(web)
    make_plan(web, "y1", Y1_PLAN)
    first = http(engine.sim, "PUT", f"{SITE_ID}/func-flex", flex_site())
    # CreateOrUpdateFunctionAppFlexConsumption.json: 200 with the site, no polling header.
    assert first.status == 200 and not {"Azure-AsyncOperation", "Location"} & set(first.headers)
    assert_shape(
        first.body,
        f"{WEB}/CreateOrUpdateFunctionAppFlexConsumption.json",
        "200",
        allow_extra=("kind", "identity", "properties.sku"),
    )
    flex = web.web_apps.get(RG, "func-flex", cls=raw_json)
    assert_shape(
        flex,
        f"{WEB}/CreateOrUpdateFunctionAppFlexConsumption.json",
        allow_extra=("kind", "identity", "properties.sku"),
        must_have=(
            "properties.defaultHostName",
            "properties.functionAppConfig.runtime.version",
            "properties.siteConfig.minTlsVersion",
            "identity.principalId",
        ),
    )
    y1 = make_site(web, "func-y1", y1_site())
    # publicNetworkAccess: in the Flex example's response, not in GetWebApp's.
    assert_shape(
        y1,
        f"{WEB}/GetWebApp.json",
        allow_extra=("identity", "properties.publicNetworkAccess"),
        must_have=("properties.siteConfig.linuxFxVersion", "properties.serverFarmId"),
    )
    assert y1["properties"]["defaultHostName"] == "func-y1.azurewebsites.net"
    assert y1["properties"]["siteConfig"]["linuxFxVersion"] == "Python|3.11"


def test_app_settings_shapes_and_delete_status(engine, web):
    make_plan(web)
    make_site(web, "func-a", flex_site())
    put = web.web_apps.update_application_settings(
        RG, "func-a", {"properties": {"Setting1": "Value1"}}, cls=raw_json
    )
    assert_shape(put, f"{WEB}/UpdateAppSettings.json")
    listed = web.web_apps.list_application_settings(RG, "func-a", cls=raw_json)
    assert_shape(
        listed, f"{WEB}/ListAppSettings.json", must_have=("id", "name", "type", "properties.Setting1")
    )
    assert http(engine.sim, "DELETE", f"{SITE_ID}/func-a").status in (200, 204)


def test_blob_container_put_shape(engine):
    sc = engine.clients.storage
    engine.clients.resource.resource_groups.create_or_update(RG, {"location": "eastus"})
    sc.storage_accounts.begin_create(
        RG, "stweb", {"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}
    ).result()
    created = sc.blob_containers.create(
        RG, "stweb", "app-package-x", {"properties": {"publicAccess": "None"}}, cls=raw_json
    )
    assert_shape(
        created,
        "Microsoft.Storage/2026-09-01/BlobContainersPut.json",
        "201",
        allow_extra=("etag", "properties"),
    )
    assert created["properties"]["publicAccess"] == "None"
    assert "provisioningState" not in created["properties"]
    again = sc.blob_containers.create(RG, "stweb", "app-package-x", {}, cls=raw_json)
    assert_shape(
        again, "Microsoft.Storage/2026-09-01/BlobContainersPut.json", allow_extra=("etag", "properties")
    )


# ---- validation ----------------------------------------------------------------------------------
def test_unknown_api_version_is_rejected(engine, web):
    resp = engine.sim.handle(
        "GET", f"https://management.azure.com{PLAN_ID}/fc?api-version=2001-01-01", {}, None
    )
    assert resp.status == 400 and resp.body["error"]["code"] == "InvalidApiVersionParameter"


def test_plan_sku_and_region_are_validated(engine, web):
    err = fails(lambda: make_plan(web, "bad", {**FLEX_PLAN, "sku": {"name": "Z9"}}))
    assert error_code(err) == "BadRequest" and "SKU.Name" in str(err)
    err = fails(lambda: make_plan(web, "bad", {**FLEX_PLAN, "properties": {"reserved": False}}))
    assert "Linux only" in str(err)
    set_geo_regions(engine.sim, FLEX, ["westus"])
    assert error_code(fails(lambda: make_plan(web))) == "BadRequest"
    make_plan(web, "west", {**FLEX_PLAN, "location": "westus"})
    set_geo_regions(engine.sim, LINUX_CONSUMPTION, ["westus"])
    assert error_code(fails(lambda: make_plan(web, "y1", Y1_PLAN))) == "BadRequest"


def test_plan_cannot_change_flex_or_os(engine, web):
    make_plan(web)
    assert "cannot change" in str(fails(lambda: make_plan(web, "fc", {**FLEX_PLAN, "sku": {"name": "EP1"}})))
    make_plan(web, "s1", {"location": "eastus", "sku": {"name": "S1"}, "properties": {"reserved": False}})
    err = fails(
        lambda: make_plan(
            web, "s1", {"location": "eastus", "sku": {"name": "S1"}, "properties": {"reserved": True}}
        )
    )
    assert error_code(err) == "Conflict"


def test_site_needs_an_existing_linux_plan_in_its_region(engine, web):
    err = fails(lambda: make_site(web, "func-x", flex_site("nope")))
    assert error_code(err) == "NotFound" and "Cannot find ServerFarm with name nope" in str(err)
    make_plan(web, "win", {"location": "eastus", "sku": {"name": "S1"}, "properties": {"reserved": False}})
    assert "Linux App Service plan" in str(fails(lambda: make_site(web, "func-x", y1_site("win"))))
    make_plan(web, "west", {**FLEX_PLAN, "location": "westus"})
    assert "region of its App Service plan" in str(fails(lambda: make_site(web, "func-x", flex_site("west"))))


def test_flex_site_rules(engine, web):
    make_plan(web)
    body = flex_site()
    del body["properties"]["functionAppConfig"]
    assert "functionAppConfig" in str(fails(lambda: make_site(web, "func-x", body)))
    body = flex_site()
    body["properties"]["siteConfig"]["appSettings"].append(
        {"name": "FUNCTIONS_WORKER_RUNTIME", "value": "python"}
    )
    assert "FUNCTIONS_WORKER_RUNTIME" in str(fails(lambda: make_site(web, "func-x", body)))
    body = flex_site()
    body["identity"] = {"type": "None"}
    assert "system-assigned identity" in str(fails(lambda: make_site(web, "func-x", body)))
    body = flex_site()
    body["properties"]["functionAppConfig"]["runtime"]["version"] = "3.9"
    assert "not supported" in str(fails(lambda: make_site(web, "func-x", body)))
    body = flex_site()
    body["properties"]["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"] = 1000
    assert "instanceMemoryMB" in str(fails(lambda: make_site(web, "func-x", body)))
    make_plan(web, "y1", Y1_PLAN)
    assert "only valid" in str(fails(lambda: make_site(web, "func-x", flex_site("y1"))))


def test_site_enums_are_validated(engine, web):
    make_plan(web)
    assert "kind" in str(
        fails(lambda: make_site(web, "func-x", {**flex_site(), "kind": "functionapp,floppy"}))
    )
    body = flex_site()
    body["properties"]["siteConfig"]["ftpsState"] = "Sometimes"
    assert "FtpsState" in str(fails(lambda: make_site(web, "func-x", body)))
    body = flex_site()
    body["properties"]["siteConfig"]["minTlsVersion"] = "1.9"
    assert "MinTlsVersion" in str(fails(lambda: make_site(web, "func-x", body)))


# ---- behaviour -----------------------------------------------------------------------------------
def test_settings_live_behind_config_and_a_site_put_replaces_them(engine, web):
    make_plan(web)
    site = make_site(web, "func-a", flex_site())
    assert "appSettings" not in site["properties"]["siteConfig"]
    assert "_appSettings" not in json.dumps(site)
    assert web.web_apps.list_application_settings(RG, "func-a", cls=raw_json)["properties"] == {
        "AzureWebJobsStorage__accountName": "stweb"
    }
    web.web_apps.update_application_settings(RG, "func-a", {"properties": {"USER": "mine"}})
    patched = web.web_apps.update(RG, "func-a", {"properties": {"httpsOnly": False}}, cls=raw_json)
    assert patched["properties"]["httpsOnly"] is False
    assert patched["identity"]["principalId"] == site["identity"]["principalId"]
    assert web.web_apps.list_application_settings(RG, "func-a", cls=raw_json)["properties"] == {
        "USER": "mine"
    }
    make_site(web, "func-a", flex_site())  # a PUT with siteConfig.appSettings replaces them all
    assert web.web_apps.list_application_settings(RG, "func-a", cls=raw_json)["properties"] == {
        "AzureWebJobsStorage__accountName": "stweb"
    }


def test_flex_refuses_runtime_settings_and_non_string_values(engine, web):
    make_plan(web)
    make_site(web, "func-a", flex_site())
    err = fails(
        lambda: web.web_apps.update_application_settings(
            RG, "func-a", {"properties": {"FUNCTIONS_WORKER_RUNTIME": "python"}}
        )
    )
    assert error_code(err) == "BadRequest"
    err = fails(lambda: web.web_apps.update_application_settings(RG, "func-a", {"properties": {"N": 1}}))
    assert error_code(err) == "BadRequest"
    with pytest.raises(ResourceNotFoundError):
        web.web_apps.list_application_settings(RG, "func-missing")


def test_deleting_the_last_site_deletes_its_plan_unless_asked_not_to(engine, web):
    make_plan(web)
    make_site(web, "func-a", flex_site())
    assert web.app_service_plans.get(RG, "fc", cls=raw_json)["properties"]["numberOfSites"] == 1
    err = fails(lambda: web.app_service_plans.delete(RG, "fc"))
    assert error_code(err) == "Conflict" and "func-a" in str(err)
    web.web_apps.delete(RG, "func-a", delete_empty_server_farm=False)
    assert web.app_service_plans.get(RG, "fc", cls=raw_json)["properties"]["numberOfSites"] == 0
    make_site(web, "func-b", flex_site())
    web.web_apps.delete(RG, "func-b")
    with pytest.raises(ResourceNotFoundError):
        web.app_service_plans.get(RG, "fc")


def test_site_names_are_global_and_checked(engine, web):
    make_plan(web)
    make_site(web, "func-a", flex_site())
    engine.clients.resource.resource_groups.create_or_update("rg-other", {"location": "eastus"})
    other = flex_site()
    other["properties"]["serverFarmId"] = other["properties"]["serverFarmId"].replace(RG, "rg-other")
    web.app_service_plans.begin_create_or_update("rg-other", "fc", FLEX_PLAN).result()
    err = fails(lambda: web.web_apps.begin_create_or_update("rg-other", "func-a", other).result())
    assert error_code(err) == "Conflict"

    def check(name: str) -> dict[str, Any]:
        return web.check_name_availability({"name": name, "type": "Microsoft.Web/sites"}, cls=raw_json)

    assert check("func-a") == {
        "nameAvailable": False,
        "reason": "AlreadyExists",
        "message": "Hostname 'func-a' already exists. Please select a different name.",
    }
    assert check("-bad-")["reason"] == "Invalid"
    assert check("func-free") == {"nameAvailable": True}
    engine.sim.take_name("Microsoft.Web/sites", "func-free")
    assert check("func-free")["nameAvailable"] is False


def test_geo_regions_filter_by_sku_and_linux_consumption(engine, web):
    flex = {g.name for g in web.list_geo_regions(sku="FlexConsumption")}
    assert {"East US", "West US"} <= flex and "Mexico Central" not in flex
    set_geo_regions(engine.sim, FLEX, ["northeurope", "West Europe"])
    assert sorted(g.name for g in web.list_geo_regions(sku="FlexConsumption")) == [
        "North Europe",
        "West Europe",
    ]
    linux = {g.name for g in web.list_geo_regions(sku="Dynamic", linux_dynamic_workers_enabled=True)}
    everywhere = {g.name for g in web.list_geo_regions(sku="Dynamic")}
    assert "East US" in linux and "Italy North" not in linux and "Italy North" in everywhere
    with pytest.raises(HttpResponseError):
        list(web.list_geo_regions(sku="Gold"))


def test_container_needs_its_account_and_respects_public_access(engine):
    sc = engine.clients.storage
    engine.clients.resource.resource_groups.create_or_update(RG, {"location": "eastus"})
    err = fails(lambda: sc.blob_containers.create(RG, "stmissing", "pkg", {}))
    assert error_code(err) == "ParentResourceNotFound"
    sc.storage_accounts.begin_create(
        RG, "stweb", {"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}
    ).result()
    err = fails(
        lambda: sc.blob_containers.create(RG, "stweb", "pkg", {"properties": {"publicAccess": "Blob"}})
    )
    assert error_code(err) == "PublicAccessNotPermitted"
    assert (
        error_code(fails(lambda: sc.blob_containers.create(RG, "stweb", "Bad--Name", {})))
        == "InvalidResourceName"
    )
    sc.blob_containers.create(RG, "stweb", "pkg", {})
    sc.storage_accounts.delete(RG, "stweb")
    sc.storage_accounts.begin_create(
        RG, "stweb", {"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}
    ).result()
    with pytest.raises(ResourceNotFoundError):
        sc.blob_containers.get(RG, "stweb", "pkg")
