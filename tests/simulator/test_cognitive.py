"""The simulator's Microsoft.CognitiveServices: ARM rules and the shapes of the REST examples."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from pros_cli.azure.clients import raw_json
from pros_cli.simulator.core import SECRET_MARKER, SimResponse, Simulator
from pros_cli.simulator.providers.cognitive import DEFAULT_QUOTA, quota_limit, set_quota
from tests.conftest import SUB
from tests.simulator.shapes import assert_shape, example

EX = "Microsoft.CognitiveServices/2025-09-01/"
RG_PATH = f"/subscriptions/{SUB}/resourceGroups/rg"
ACCOUNTS = f"{RG_PATH}/providers/Microsoft.CognitiveServices/accounts"


def call(sim: Simulator, method: str, path: str, body: Any = None, api: str = "2025-09-01") -> SimResponse:
    raw = json.dumps(body).encode() if body is not None else None
    return sim.handle(method, f"https://management.azure.com{path}?api-version={api}", {}, raw)


def code(response: SimResponse) -> str:
    return (response.body or {}).get("error", {}).get("code")


def account_body(subdomain: str, *, kind: str = "OpenAI", local_auth_off: bool = True, **props: Any) -> dict:
    return {"location": "eastus", "kind": kind, "sku": {"name": "S0"}, "identity": {"type": "SystemAssigned"},
            "properties": {"customSubDomainName": subdomain, "disableLocalAuth": local_auth_off, **props}}


def deployment_body(model: str = "gpt-5.2", version: str | None = "2025-12-11", capacity: int = 30,
                    sku: str = "GlobalStandard") -> dict:
    m = {"format": "OpenAI", "name": model, **({"version": version} if version else {})}
    return {"sku": {"name": sku, "capacity": capacity}, "properties": {"model": m}}


def finish(sim: Simulator) -> None:
    sim.fast_forward()
    for op_id in list(sim.db["operations"]):
        sim.advance(op_id)


@pytest.fixture
def cog(engine) -> Any:
    engine.clients.resource.resource_groups.create_or_update("rg", {"location": "eastus"})
    return engine.clients.cognitive


def make_account(cog: Any, name: str = "oai1", **kwargs: Any) -> dict:
    return cog.accounts.begin_create("rg", name, account_body(name, **kwargs), cls=raw_json).result()


# ---- shapes against the REST examples -------------------------------------------------------------
def test_account_shapes(cog, memsim):
    body = account_body("oai1")
    first = cog.accounts.begin_create("rg", "oai1", body, cls=raw_json, polling=False).result()
    extra = ("properties.customSubDomainName", "properties.disableLocalAuth",
             "properties.publicNetworkAccess", "properties.dateCreated")
    basics = ("id", "name", "type", "location", "sku.name", "kind", "etag", "properties.endpoint")
    assert_shape(first, EX + "CreateAccount.json", "201", allow_extra=extra,
                 must_have=(*basics, "properties.provisioningState", "identity.principalId",
                            "identity.tenantId"))
    assert first["properties"]["provisioningState"] == "Creating"
    finish(memsim)
    got = cog.accounts.get("rg", "oai1", cls=raw_json)
    assert_shape(got, EX + "GetAccount.json", allow_extra=(*extra, "identity"), must_have=basics)
    assert got["properties"]["endpoint"] == "https://oai1.openai.azure.com/"
    assert got["properties"]["provisioningState"] == "Succeeded"


def test_list_keys_shape_and_secrets(cog):
    make_account(cog, local_auth_off=False)
    keys = cog.accounts.list_keys("rg", "oai1", cls=raw_json)
    assert_shape(keys, EX + "ListKeys.json", must_have=("key1", "key2"))
    assert keys["key1"].startswith(SECRET_MARKER) and keys["key1"] != keys["key2"]
    assert cog.accounts.list_keys("rg", "oai1", cls=raw_json) == keys


def test_list_keys_refused_when_local_auth_is_disabled(cog):
    make_account(cog)
    with pytest.raises(HttpResponseError) as err:
        cog.accounts.list_keys("rg", "oai1", cls=raw_json)
    assert err.value.status_code == 400 and err.value.error.code == "BadRequest"
    assert "disableLocalAuth is set to be true" in err.value.error.message


def test_deployment_shapes(cog, memsim):
    make_account(cog)
    put = example("Microsoft.CognitiveServices/2025-06-01/PutDeployment.json")["parameters"]["deployment"]
    first = cog.deployments.begin_create_or_update("rg", "oai1", "ada", _ada(put), cls=raw_json,
                                                   polling=False).result()
    assert_shape(first, "Microsoft.CognitiveServices/2025-06-01/PutDeployment.json", "201",
                 allow_extra=("properties.versionUpgradeOption",),
                 must_have=("id", "name", "type", "sku.name", "sku.capacity", "properties.model.version"))
    assert first["properties"]["provisioningState"] == "Accepted"
    finish(memsim)
    got = cog.deployments.get("rg", "oai1", "ada", cls=raw_json)
    assert_shape(got, EX + "GetDeployment.json", allow_extra=("properties.versionUpgradeOption",),
                 must_have=("id", "name", "type", "sku.capacity", "properties.model.format"))
    assert got["properties"]["provisioningState"] == "Succeeded"
    patch = example(EX + "UpdateDeployment.json")["parameters"]["deployment"]
    updated = cog.deployments.begin_update("rg", "oai1", "ada", patch, cls=raw_json).result()
    assert_shape(updated, EX + "UpdateDeployment.json", allow_extra=("properties.versionUpgradeOption",),
                 must_have=("sku.capacity", "properties.model.name"))
    assert updated["sku"] == {"name": "Standard", "capacity": 1}


def _ada(put: dict) -> dict:
    """PutDeployment.json deploys the long-retired 'ada'; same body with a model Azure still has."""
    body = json.loads(json.dumps(put))
    body["properties"]["model"].update(name="text-embedding-ada-002", version="2")
    return body


def test_deletes_answer_202_with_azure_async_operation(cog, memsim):
    make_account(cog)
    cog.deployments.begin_create_or_update("rg", "oai1", "dd", deployment_body(), cls=raw_json).result()
    for path, example_file in ((f"{ACCOUNTS}/oai1/deployments/dd", "DeleteDeployment.json"),
                               (f"{ACCOUNTS}/oai1", "DeleteAccount.json")):
        response = call(memsim, "DELETE", path)
        assert str(response.status) in example(EX + example_file)["responses"]
        assert response.status == 202 and response.body is None
        assert "/operationStatuses/" in response.headers["Azure-AsyncOperation"]
        finish(memsim)
    assert call(memsim, "GET", f"{ACCOUNTS}/oai1").status == 404


def test_deleted_account_get_purge_and_domain_check_shapes(cog, memsim):
    make_account(cog)
    cog.accounts.begin_delete("rg", "oai1").result()
    got = cog.deleted_accounts.get("eastus", "rg", "oai1", cls=raw_json)
    assert_shape(got, EX + "GetDeletedAccount.json",
                 allow_extra=("identity", "properties.customSubDomainName", "properties.disableLocalAuth",
                              "properties.publicNetworkAccess", "properties.dateCreated",
                              "properties.deletionDate", "properties.scheduledPurgeDate"),
                 must_have=("id", "name", "type", "location", "sku.name", "kind", "properties.endpoint"))
    assert got["id"] == (f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus"
                         "/resourceGroups/rg/deletedAccounts/oai1")
    taken = cog.check_domain_availability(subdomain_name="oai1", type="Microsoft.CognitiveServices/accounts",
                                          cls=raw_json)
    assert_shape(taken, EX + "CheckDomainAvailability.json", must_have=("isSubdomainAvailable", "reason"))
    assert taken["isSubdomainAvailable"] is False  # a soft-deleted account keeps its subdomain
    purge = call(memsim, "DELETE", f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/"
                 "eastus/resourceGroups/rg/deletedAccounts/oai1")
    assert str(purge.status) in example(EX + "PurgeDeletedAccount.json")["responses"]
    assert purge.status == 202 and "Azure-AsyncOperation" in purge.headers
    free = cog.check_domain_availability(subdomain_name="oai1", type="Microsoft.CognitiveServices/accounts",
                                         cls=raw_json)
    assert free == {"isSubdomainAvailable": True, "subdomainName": "oai1",
                    "type": "Microsoft.CognitiveServices/accounts"}


# ---- ARM rules ----------------------------------------------------------------------------------
def test_api_versions_the_sdk_does_not_send_are_rejected(cog, memsim):
    response = call(memsim, "PUT", f"{ACCOUNTS}/oai1", account_body("oai1"), api="2017-04-18")
    assert response.status == 400 and code(response) == "InvalidApiVersionParameter"
    assert call(memsim, "PUT", f"{ACCOUNTS}/oai1", account_body("oai1"), api="2025-06-01").status == 201


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"kind": "Emotion"}, 400, "InvalidApiSetId"),
        ({"sku": {"name": "F0"}}, 400, "InvalidSkuId"),
        ({"kind": None}, 400, "InvalidRequestContent"),
        ({"properties": {"customSubDomainName": "-bad-"}}, 400, "InvalidSubdomainName"),
        ({"properties": {"publicNetworkAccess": "Sometimes"}}, 400, "InvalidRequestPropertyValue"),
    ],
)
def test_account_validation(cog, memsim, change, status, error):
    body = {**account_body("oai1"), **change}
    response = call(memsim, "PUT", f"{ACCOUNTS}/oai1", body)
    assert (response.status, code(response)) == (status, error)


def test_custom_subdomain_is_global_and_cannot_change(cog, memsim):
    make_account(cog)
    response = call(memsim, "PUT", f"{ACCOUNTS}/oai2", account_body("OAI1"))
    assert (response.status, code(response)) == (409, "CustomDomainInUse")
    changed = call(memsim, "PUT", f"{ACCOUNTS}/oai1", account_body("other"))
    assert (changed.status, code(changed)) == (409, "PropertyChangeNotAllowed")
    memsim.take_name("Microsoft.CognitiveServices/accounts", "elsewhere")
    assert code(call(memsim, "PUT", f"{ACCOUNTS}/oai3", account_body("elsewhere"))) == "CustomDomainInUse"


def test_soft_delete_needs_restore_flag_or_purge(cog, memsim):
    created = make_account(cog)
    cog.accounts.begin_delete("rg", "oai1").result()
    again = call(memsim, "PUT", f"{ACCOUNTS}/oai1", account_body("oai1"))
    assert (again.status, code(again)) == (409, "FlagMustBeSetForRestore")
    body = account_body("oai1", restore=True)
    restored = cog.accounts.begin_create("rg", "oai1", body, cls=raw_json).result()
    assert restored["properties"]["endpoint"] == created["properties"]["endpoint"]
    assert "restore" not in restored["properties"]
    with pytest.raises(HttpResponseError) as err:
        cog.deleted_accounts.get("eastus", "rg", "oai1", cls=raw_json)
    assert err.value.status_code == 404


def test_deleted_account_is_found_only_where_it_was(cog):
    make_account(cog)
    cog.accounts.begin_delete("rg", "oai1").result()
    for location, rg in (("westus", "rg"), ("eastus", "other-rg")):
        with pytest.raises(HttpResponseError) as err:
            cog.deleted_accounts.get(location, rg, "oai1", cls=raw_json)
        assert err.value.status_code == 404
    assert [a.name for a in cog.deleted_accounts.list()] == ["oai1"]


def test_account_with_deployments_cannot_be_deleted(cog, memsim):
    make_account(cog)
    cog.deployments.begin_create_or_update("rg", "oai1", "dd", deployment_body(), cls=raw_json).result()
    response = call(memsim, "DELETE", f"{ACCOUNTS}/oai1")
    assert (response.status, code(response)) == (409, "CannotDeleteResource")
    assert "accounts/oai1/deployments/dd" in response.body["error"]["message"]


def test_deployment_needs_its_account(cog, memsim):
    response = call(memsim, "PUT", f"{ACCOUNTS}/missing/deployments/dd", deployment_body())
    assert (response.status, code(response)) == (404, "ParentResourceNotFound")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (deployment_body(model="text-davinci-002", version="1"), 400, "DeploymentModelNotSupported"),
        (deployment_body(version="2023-01-01"), 400, "DeploymentModelNotSupported"),
        (deployment_body(sku="Premium"), 400, "InvalidResourceProperties"),
        (deployment_body(capacity=0), 400, "InvalidResourceProperties"),
        ({"sku": {"name": "Standard"}, "properties": {}}, 400, "MissingRequiredProperty"),
        ({**deployment_body(), "properties": {"model": deployment_body()["properties"]["model"],
                                              "versionUpgradeOption": "Sometimes"}}, 400,
         "InvalidResourceProperties"),
    ],
)
def test_deployment_validation(cog, memsim, body, status, error):
    make_account(cog)
    response = call(memsim, "PUT", f"{ACCOUNTS}/oai1/deployments/dd", body)
    assert (response.status, code(response)) == (status, error)


def test_deployment_defaults_and_immutable_model(cog, memsim):
    make_account(cog)
    body = deployment_body(version=None)
    got = cog.deployments.begin_create_or_update("rg", "oai1", "dd", body, cls=raw_json).result()
    assert got["properties"]["model"]["version"] == "2025-12-11"  # Azure's default version of the model
    assert got["properties"]["versionUpgradeOption"] == "OnceNewDefaultVersionAvailable"
    swapped = call(memsim, "PUT", f"{ACCOUNTS}/oai1/deployments/dd", deployment_body(model="gpt-5.1",
                                                                                   version="2025-11-13"))
    assert (swapped.status, code(swapped)) == (409, "PropertyChangeNotAllowed")


def test_one_write_per_account_at_a_time(cog, memsim):
    make_account(cog)
    make_account(cog, "oai2")
    cog.deployments.begin_create_or_update("rg", "oai1", "da", deployment_body(), cls=raw_json, polling=False)
    running = memsim.get_resource(f"{ACCOUNTS}/oai1/deployments/da")["body"]
    assert running["properties"]["provisioningState"] == "Accepted"
    mini = deployment_body(model="text-embedding-3-small", version="1")
    for method, path, body in (("PUT", "db", mini), ("DELETE", "da", None)):
        response = call(memsim, method, f"{ACCOUNTS}/oai1/deployments/{path}", body)
        assert (response.status, code(response)) == (409, "RequestConflict")
        assert f"parent resource '{ACCOUNTS}/oai1'" in response.body["error"]["message"]
    # Another account is not affected.
    assert call(memsim, "PUT", f"{ACCOUNTS}/oai2/deployments/db", deployment_body()).status == 201
    finish(memsim)
    assert call(memsim, "PUT", f"{ACCOUNTS}/oai1/deployments/db", mini).status == 201


def test_deployment_waits_for_its_account_operation(cog, memsim):
    cog.accounts.begin_create("rg", "oai1", account_body("oai1"), cls=raw_json, polling=False)
    response = call(memsim, "PUT", f"{ACCOUNTS}/oai1/deployments/dd", deployment_body())
    assert (response.status, code(response)) == (409, "RequestConflict")


def test_quota_per_region_model_and_sku(cog, memsim):
    assert quota_limit(memsim, SUB, "eastus", "gpt-5.2", "GlobalStandard") == DEFAULT_QUOTA
    make_account(cog)
    make_account(cog, "oai2")
    set_quota(memsim, "East US", "gpt-5.2", "GlobalStandard", 50)
    assert call(memsim, "PUT", f"{ACCOUNTS}/oai1/deployments/da", deployment_body()).status == 201
    finish(memsim)
    over = call(memsim, "PUT", f"{ACCOUNTS}/oai2/deployments/db", deployment_body())
    assert (over.status, code(over)) == (400, "InsufficientQuota")
    message = over.body["error"]["message"]
    quota = "Tokens Per Minute (thousands) - GPT-5.2 - GlobalStandard"
    assert message == (f"This operation require 30 new capacity in quota {quota}, which is bigger than "
                       "the current available capacity 20. The current quota usage is 30 and the quota "
                       f"limit is 50 for quota {quota}.")
    # Another SKU, another model: other quotas.
    data_zone = deployment_body(sku="DataZoneStandard")
    assert call(memsim, "PUT", f"{ACCOUNTS}/oai2/deployments/db", data_zone).status == 201
    finish(memsim)
    # Growing a deployment needs only the difference.
    assert call(memsim, "PUT", f"{ACCOUNTS}/oai1/deployments/da", deployment_body(capacity=50)).status == 200
    finish(memsim)
    grown = call(memsim, "PUT", f"{ACCOUNTS}/oai1/deployments/da", deployment_body(capacity=51))
    assert code(grown) == "InsufficientQuota" and "require 1 new capacity" in grown.body["error"]["message"]
    # Deleting a deployment gives its capacity back.
    cog.deployments.begin_delete("rg", "oai1", "da").result()
    assert call(memsim, "PUT", f"{ACCOUNTS}/oai2/deployments/dc", deployment_body(capacity=50)).status == 201
