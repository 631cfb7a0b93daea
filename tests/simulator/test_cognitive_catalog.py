"""The simulator's Azure OpenAI model catalog and usages: shapes, dates, regions, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pros_cli.azure.clients import raw_json
from pros_cli.simulator.core import SimResponse, Simulator
from pros_cli.simulator.providers import cognitive_catalog as catalog
from pros_cli.simulator.providers.cognitive import set_quota
from tests.conftest import SUB
from tests.simulator.shapes import shape_errors

RG_PATH = f"/subscriptions/{SUB}/resourceGroups/rg"
ACCOUNTS = f"{RG_PATH}/providers/Microsoft.CognitiveServices/accounts"
LOCATIONS = f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations"

# The keys and JSON types of a ListLocationModels entry, as the AccountModel / ModelSku /
# ModelDeprecationInfo definitions of cognitiveservices.json (2025-09-01) and the example
# ListLocationModels.json (azure-rest-api-specs commit fa9f9e93) spell them. Capability names the
# example does not happen to show are the ones a real `az cognitiveservices model list` answer has.
MODEL_ENTRY: dict[str, Any] = {
    "kind": "",
    "skuName": "",
    "model": {
        "format": "",
        "name": "",
        "version": "",
        "isDefaultVersion": True,
        "maxCapacity": 0,
        "skus": [
            {
                "name": "",
                "usageName": "",
                "deprecationDate": "",
                "capacity": {"minimum": 0, "maximum": 0, "step": 0, "default": 0},
            }
        ],
        "capabilities": {
            "chatCompletion": "",
            "completion": "",
            "responses": "",
            "embeddings": "",
            "embeddingsMaxInputs": "",
            "inference": "",
        },
        "deprecation": {"fineTune": "", "inference": "", "deprecationStatus": ""},
        "replacementConfig": {
            "targetModelName": "",
            "targetModelVersion": "",
            "autoUpgradeStartDate": "",
            "upgradeOnExpiryLeadTimeDays": 0,
        },
        "lifecycleStatus": "",
        "modelCatalogAssetId": "",
        "systemData": {
            "createdBy": "",
            "createdByType": "",
            "createdAt": "",
            "lastModifiedBy": "",
            "lastModifiedByType": "",
            "lastModifiedAt": "",
        },
    },
}
# ListUsages.json (commit 9126477a) and the Usage definition.
USAGE_ENTRY = {"name": {"value": "", "localizedValue": ""}, "currentValue": 0, "limit": 0, "unit": ""}
LIFECYCLE_STATUSES = ("Stable", "Preview", "GenerallyAvailable", "Deprecating", "Deprecated", "Legacy")


def call(sim: Simulator, method: str, path: str, body: Any = None) -> SimResponse:
    raw = json.dumps(body).encode() if body is not None else None
    return sim.handle(method, f"https://management.azure.com{path}?api-version=2025-09-01", {}, raw)


def models_in(sim: Simulator, region: str) -> list[dict[str, Any]]:
    response = call(sim, "GET", f"{LOCATIONS}/{region}/models")
    assert response.status == 200
    return response.body["value"]


def entry(
    sim: Simulator, region: str, model: str, version: str, kind: str = "OpenAI"
) -> dict[str, Any] | None:
    return next(
        (
            e
            for e in models_in(sim, region)
            if e["kind"] == kind and e["model"]["name"] == model and e["model"]["version"] == version
        ),
        None,
    )


def deployment(model: str, version: str, sku: str = "GlobalStandard", capacity: int = 30) -> dict[str, Any]:
    return {
        "sku": {"name": sku, "capacity": capacity},
        "properties": {"model": {"format": "OpenAI", "name": model, "version": version}},
    }


def error(response: SimResponse) -> tuple[int, str, str]:
    err = (response.body or {}).get("error") or {}
    return response.status, err.get("code"), err.get("message")


@pytest.fixture
def account(engine, memsim) -> str:
    engine.clients.resource.resource_groups.create_or_update("rg", {"location": "eastus"})
    body = {
        "location": "eastus",
        "kind": "OpenAI",
        "sku": {"name": "S0"},
        "properties": {"customSubDomainName": "oai1"},
    }
    engine.clients.cognitive.accounts.begin_create("rg", "oai1", body, cls=raw_json).result()
    return f"{ACCOUNTS}/oai1"


def settle(sim: Simulator) -> None:
    sim.fast_forward()
    for op_id in list(sim.db["operations"]):
        sim.advance(op_id)


# ---- shapes ---------------------------------------------------------------------------------------------
def test_every_model_entry_takes_the_rest_shape(memsim):
    catalog.set_today(memsim, "2026-11-30")
    entries = models_in(memsim, "eastus")
    assert entries, "eastus offers Azure OpenAI models"
    for item in entries:
        assert shape_errors(item, MODEL_ENTRY) == [], item["model"]["name"]
        assert item["model"]["lifecycleStatus"] in LIFECYCLE_STATUSES
        for sku in item["model"]["skus"]:
            assert sku["usageName"] == f"OpenAI.{sku['name']}.{item['model']['name']}"
    # Each OpenAI-format model is listed for both account kinds that can deploy it.
    assert {e["kind"] for e in entries} == {"OpenAI", "AIServices"}


def test_the_sdk_reads_the_catalog_and_usages(engine, memsim):
    models = list(engine.clients.cognitive.models.list("eastus"))
    names = {(m.model.name, m.model.version) for m in models if m.kind == "OpenAI"}
    assert ("gpt-5.2", "2025-12-11") in names and ("text-embedding-3-small", "1") in names
    usages = list(engine.clients.cognitive.usages.list("eastus"))
    assert usages[0].name.value == "AccountCount"
    for usage in usages:
        assert shape_errors(usage.serialize(keep_readonly=True), USAGE_ENTRY) == []


def test_usages_count_what_the_deployments_hold(engine, memsim, account):
    set_quota(memsim, "eastus", "gpt-5.2", "GlobalStandard", 80)
    for name, capacity in (("da", 30), ("db", 20)):
        response = call(
            memsim,
            "PUT",
            f"{account}/deployments/{name}",
            deployment("gpt-5.2", "2025-12-11", capacity=capacity),
        )
        assert response.status == 201, response.body
        settle(memsim)
    usages = {u["name"]["value"]: u for u in call(memsim, "GET", f"{LOCATIONS}/eastus/usages").body["value"]}
    held = usages["OpenAI.GlobalStandard.gpt-5.2"]
    assert (held["currentValue"], held["limit"], held["unit"]) == (50, 80, "Count")
    assert held["name"]["localizedValue"] == "Tokens Per Minute (thousands) - GPT-5.2 - GlobalStandard"
    assert usages["OpenAI.DataZoneStandard.gpt-5.2"]["currentValue"] == 0
    assert usages["AccountCount"]["currentValue"] == 1
    # Another region: the same quota name, nothing held there.
    west = {u["name"]["value"]: u for u in call(memsim, "GET", f"{LOCATIONS}/westus/usages").body["value"]}
    assert west["OpenAI.GlobalStandard.gpt-5.2"]["currentValue"] == 0
    assert west["AccountCount"]["currentValue"] == 0


# ---- the retirement table on a given day ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "status"),
    [
        ("2026-11-01", "GenerallyAvailable"),
        ("2026-11-13", "Deprecating"),
        ("2027-05-14", "Deprecating"),
        ("2027-05-15", "Deprecated"),
    ],
)
def test_lifecycle_follows_the_table_dates(memsim, day, status):
    # gpt-5.1 2025-11-13: no new customers from 2026-11-13, retired 2027-05-15.
    catalog.set_today(memsim, day)
    found = entry(memsim, "eastus", "gpt-5.1", "2025-11-13")
    assert found is not None
    model = found["model"]
    assert model["lifecycleStatus"] == status
    assert model["deprecation"] == {"inference": "2027-05-15T00:00:00Z", "deprecationStatus": "Planned"}
    assert {s["deprecationDate"] for s in model["skus"]} == {"2026-11-13T00:00:00Z"}


def test_retired_models_name_their_replacement(memsim):
    catalog.set_today(memsim, "2026-11-30")
    model = entry(memsim, "eastus", "gpt-4o", "2024-08-06")["model"]
    assert model["lifecycleStatus"] == "Deprecated"
    assert model["isDefaultVersion"] is True  # the table's default versions section
    assert model["replacementConfig"] == {"targetModelName": "gpt-5.1", "targetModelVersion": "2025-11-13"}
    assert entry(memsim, "eastus", "gpt-4.1", "2025-04-14")["model"]["replacementConfig"] == {
        "targetModelName": "gpt-5"  # no version: the table does not list gpt-5's
    }


def test_a_tentative_date_that_passed_moves_out_by_the_notice_period(memsim):
    catalog.set_today(memsim, "2026-10-01")
    early = entry(memsim, "eastus", "text-embedding-3-small", "1")["model"]
    assert early["deprecation"] == {"inference": "2026-10-30T00:00:00Z", "deprecationStatus": "Tentative"}
    # "No earlier than 2026-10-30" passed without a firm date: still served, 60 days' notice from now.
    catalog.set_today(memsim, "2026-11-30")
    later = entry(memsim, "eastus", "text-embedding-3-small", "1")["model"]
    assert later["lifecycleStatus"] == "GenerallyAvailable"
    assert later["deprecation"] == {"inference": "2027-01-29T00:00:00Z", "deprecationStatus": "Tentative"}


def test_the_environment_variable_sets_the_date(memsim, monkeypatch):
    monkeypatch.setenv(catalog.TODAY_ENV, "2026-03-01")
    assert entry(memsim, "eastus", "gpt-4o", "2024-08-06")["model"]["lifecycleStatus"] == "Deprecating"
    monkeypatch.delenv(catalog.TODAY_ENV)
    catalog.set_today(memsim, None)
    assert catalog.catalog_today(memsim) >= catalog.catalog_today(None).replace(day=1)


def test_regions_offer_a_subset(memsim):
    assert models_in(memsim, "westus2") == []  # no Azure OpenAI there
    std_small = {
        r
        for r in catalog.OPENAI_REGIONS
        if "Standard" in catalog.skus_in(catalog.find("text-embedding-3-small", "1"), r)
    }
    assert "eastus" in std_small and "westus3" not in std_small
    west3 = entry(memsim, "westus3", "text-embedding-3-small", "1")["model"]
    assert [s["name"] for s in west3["skus"]] == ["GlobalStandard", "DataZoneStandard"]
    assert entry(memsim, "japaneast", "model-router", "2025-11-18") is None  # eastus2 and swedencentral only


# ---- refusing what Azure refuses ------------------------------------------------------------------------
def test_a_retired_model_is_refused_with_azures_code(memsim, account):
    catalog.set_today(memsim, "2026-11-30")
    refused = call(memsim, "PUT", f"{account}/deployments/old", deployment("gpt-4o", "2024-08-06"))
    assert error(refused) == (
        400,
        "ServiceModelDeprecated",
        "The model 'Format:OpenAI,Name:gpt-4o,Version:"
        "2024-08-06' has been deprecated since 03/31/2026 00:00:00.",
    )
    # Without a version Azure takes the default version, retired too.
    no_version = {
        "sku": {"name": "GlobalStandard", "capacity": 1},
        "properties": {"model": {"format": "OpenAI", "name": "gpt-4o"}},
    }
    assert error(call(memsim, "PUT", f"{account}/deployments/old", no_version))[1] == "ServiceModelDeprecated"
    assert memsim.get_resource(f"{account}/deployments/old") is None


def test_a_deprecating_model_takes_no_new_deployment_but_existing_ones_keep_serving(memsim, account):
    catalog.set_today(memsim, "2026-11-01")
    assert (
        call(memsim, "PUT", f"{account}/deployments/chat", deployment("gpt-5.1", "2025-11-13")).status == 201
    )
    settle(memsim)
    catalog.set_today(memsim, "2026-12-01")
    refused = call(memsim, "PUT", f"{account}/deployments/more", deployment("gpt-5.1", "2025-11-13"))
    assert error(refused) == (
        400,
        "ServiceModelDeprecating",
        "The model 'Format:OpenAI,Name:gpt-5.1,Version:"
        "2025-11-13' is in deprecating state and cannot be used for new deployments.",
    )
    # The existing deployment is still there and can still be scaled.
    grown = call(
        memsim, "PUT", f"{account}/deployments/chat", deployment("gpt-5.1", "2025-11-13", capacity=40)
    )
    assert grown.status == 200, grown.body
    settle(memsim)
    catalog.set_today(memsim, "2027-05-15")
    assert (
        error(
            call(
                memsim, "PUT", f"{account}/deployments/chat", deployment("gpt-5.1", "2025-11-13", capacity=50)
            )
        )[1]
        == "ServiceModelDeprecated"
    )
    assert call(memsim, "GET", f"{account}/deployments/chat").body["sku"]["capacity"] == 40


def test_a_sku_the_region_does_not_offer_is_refused(memsim, account):
    refused = call(
        memsim, "PUT", f"{account}/deployments/chat", deployment("gpt-5.2", "2025-12-11", "Standard")
    )
    assert error(refused) == (
        400,
        "InvalidResourceProperties",
        "The specified SKU 'Standard' for model "
        "'gpt-5.2 2025-12-11' is not supported in this region 'eastus'.",
    )
    regional = deployment("text-embedding-3-small", "1", "Standard")
    assert call(memsim, "PUT", f"{account}/deployments/emb", regional).status == 201


def test_a_model_the_table_never_had_is_not_supported(memsim, account):
    refused = call(memsim, "PUT", f"{account}/deployments/old", deployment("gpt-35-turbo", "0125"))
    assert error(refused) == (
        400,
        "DeploymentModelNotSupported",
        "The model 'Format:OpenAI,Name:gpt-35-turbo,Version:0125' of account deployment is not supported.",
    )
