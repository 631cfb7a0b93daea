"""The simulated Microsoft.ApiManagement service and Microsoft.KeyVault vaults behave like ARM."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from pros_cli.azure.clients import raw_json
from pros_cli.simulator.core import SECRET_MARKER, TENANT_ID, SimResponse, Simulator, new_secret
from pros_cli.simulator.profiles import PROFILES
from tests.conftest import SUB
from tests.simulator.shapes import assert_shape, example_body, shape_errors
from tests.vaults import grant, vault_body

API = "2024-05-01"
EX = "Microsoft.ApiManagement/2024-05-01/"
RG_PATH = f"/subscriptions/{SUB}/resourcegroups/rg1"
NAME = "apim-sim-test"
SVC = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/{NAME}"
DELETED = f"/subscriptions/{SUB}/providers/Microsoft.ApiManagement/locations/eastus/deletedservices/{NAME}"
VAULT = "kv-sim-certs"
VAULT_ID = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/{VAULT}"
SECRET = f"https://{VAULT}.vault.azure.net/secrets/gateway"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def call(sim: Simulator, method: str, path: str, body: Any = None, api: str = API) -> SimResponse:
    data = json.dumps(body).encode() if body is not None else None
    return sim.handle(method, f"https://management.azure.com{path}?api-version={api}", {}, data)


def service(sku: str = "Developer", capacity: int = 1, **props: Any) -> dict[str, Any]:
    return {
        "location": "eastus",
        "sku": {"name": sku, "capacity": capacity},
        "identity": {"type": "SystemAssigned"},
        "tags": {"team": "api"},
        "properties": {"publisherEmail": "ops@contoso.com", "publisherName": "Contoso", **props},
    }


def settle(sim: Simulator, path: str = SVC) -> dict[str, Any]:
    """Poll the resource like a client waiting for its operation to end."""
    for _ in range(10):
        got = call(sim, "GET", path)
        if got.status != 200:
            return got.body
        props = got.body["properties"]
        if props["provisioningState"] == "Succeeded" and not props["targetProvisioningState"]:
            return got.body
    raise AssertionError("the operation never finished")


@pytest.fixture
def sim(memsim: Simulator) -> Simulator:
    assert call(memsim, "PUT", RG_PATH, {"location": "eastus"}, api="2025-04-01").status == 201
    return memsim


def created(sim: Simulator, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = call(sim, "PUT", SVC, body or service())
    assert response.status == 201, response.body
    return settle(sim)


def error(response: SimResponse) -> tuple[int, str]:
    return response.status, response.body["error"]["code"]


# ---- create, get, update, delete ----------------------------------------------------------------


def test_create_is_async_201_created_activating_as_in_the_example(sim):
    response = call(sim, "PUT", SVC, service())
    assert response.status == 201
    assert "Azure-AsyncOperation" in response.headers and "Location" in response.headers
    props = response.body["properties"]
    assert (props["provisioningState"], props["targetProvisioningState"]) == ("Created", "Activating")
    assert props["gatewayUrl"] == f"https://{NAME}.azure-api.net" and "portalUrl" not in props
    assert_shape(
        response.body,
        EX + "ApiManagementCreateService.json",
        "201",
        allow_extra=("identity",),
        must_have=(
            "id",
            "name",
            "type",
            "location",
            "etag",
            "sku.capacity",
            "properties.createdAtUtc",
            "properties.hostnameConfigurations",
            "properties.platformVersion",
        ),
    )

    polled = call(sim, "GET", SVC).body["properties"]
    assert (polled["provisioningState"], polled["targetProvisioningState"]) == ("Activating", "Activating")
    done = settle(sim)
    assert (done["properties"]["provisioningState"], done["properties"]["targetProvisioningState"]) == (
        "Succeeded",
        "",
    )


def test_get_has_the_shape_of_the_example_with_the_default_hostname_and_identity(sim):
    got = created(sim)
    assert_shape(
        got,
        EX + "ApiManagementServiceGetService.json",
        must_have=(
            "etag",
            "identity.principalId",
            "identity.tenantId",
            "properties.gatewayUrl",
            "properties.gatewayRegionalUrl",
            "properties.publicIPAddresses",
            "properties.customProperties",
            "properties.developerPortalUrl",
        ),
    )
    assert got["properties"]["hostnameConfigurations"] == [
        {
            "type": "Proxy",
            "hostName": f"{NAME}.azure-api.net",
            "negotiateClientCertificate": False,
            "defaultSslBinding": True,
            "certificateSource": "BuiltIn",
        }
    ]
    assert got["identity"]["type"] == "SystemAssigned" and got["identity"]["tenantId"] == TENANT_ID


def test_the_sdk_creates_updates_and_deletes_through_long_running_operations(engine):
    engine.clients.resource.resource_groups.create_or_update("rg1", {"location": "eastus"}, cls=raw_json)
    ops = engine.clients.apim.api_management_service
    done = ops.begin_create_or_update("rg1", NAME, service("Premium", 1), cls=raw_json).result()
    principal = done["identity"]["principalId"]
    updated = ops.begin_update(
        "rg1", NAME, {"sku": {"name": "Premium", "capacity": 3}}, cls=raw_json
    ).result()
    assert updated["sku"] == {"name": "Premium", "capacity": 3}
    assert updated["identity"]["principalId"] == principal
    assert updated["properties"]["provisioningState"] == "Succeeded"
    ops.begin_delete("rg1", NAME).result()
    with pytest.raises(HttpResponseError) as err:
        ops.get("rg1", NAME)
    assert err.value.status_code == 404


def test_delete_is_202_with_location_and_keeps_succeeded_with_target_deleting(sim):
    created(sim)
    response = call(sim, "DELETE", SVC)
    assert response.status == 202 and "Location" in response.headers
    during = call(sim, "GET", SVC).body["properties"]
    assert (during["provisioningState"], during["targetProvisioningState"]) == ("Succeeded", "Deleting")
    assert settle(sim)["error"]["code"] == "ResourceNotFound"
    assert call(sim, "GET", DELETED).status == 200  # soft-deleted, not gone


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (service(sku="Gold"), "ValidationError"),
        (service(capacity=2), "ValidationError"),  # Developer has exactly one unit
        (service(sku="Basic", capacity=3), "ValidationError"),
        ({**service(), "properties": {"publisherName": "Contoso"}}, "ValidationError"),
        (service(publisherEmail="not-an-address"), "ValidationError"),
        ({**service(), "sku": {}}, "MissingRequiredProperty"),
    ],
)
def test_invalid_services_are_refused_like_arm(sim, body, code):
    response = call(sim, "PUT", SVC, body)
    assert error(response) == (400, code)
    assert call(sim, "GET", SVC).status == 404


def test_unknown_api_versions_names_and_tier_migrations_are_refused(sim):
    assert error(call(sim, "PUT", SVC, service(), api="2030-01-01")) == (400, "InvalidApiVersionParameter")
    bad = SVC.rsplit("/", 1)[0] + "/1-starts-with-a-digit"
    assert error(call(sim, "PUT", bad, service())) == (400, "InvalidResourceName")
    created(sim)
    assert error(call(sim, "PATCH", SVC, {"sku": {"name": "StandardV2", "capacity": 1}})) == (
        400,
        "ValidationError",
    )
    assert error(call(sim, "PATCH", SVC, {"location": "westus"})) == (400, "InvalidResourceLocation")
    other_rg = SVC.replace("/rg1/", "/rg2/")
    call(sim, "PUT", f"/subscriptions/{SUB}/resourcegroups/rg2", {"location": "eastus"}, api="2025-04-01")
    assert error(call(sim, "PUT", other_rg, service())) == (409, "ServiceAlreadyExists")


# ---- soft delete, restore, purge, name availability ---------------------------------------------


def soft_deleted(sim: Simulator, body: dict[str, Any] | None = None) -> dict[str, Any]:
    before = created(sim, body)
    call(sim, "DELETE", SVC)
    settle(sim)
    return before


def test_a_deleted_service_keeps_its_name_and_is_listed_as_in_the_example(sim):
    soft_deleted(sim)
    again = call(sim, "PUT", SVC, service())
    assert error(again) == (409, "ServiceAlreadyExistsInSoftDeletedState")
    got = call(sim, "GET", DELETED)
    assert got.status == 200
    assert_shape(
        got.body,
        EX + "ApiManagementGetDeletedServiceByName.json",
        must_have=(
            "id",
            "name",
            "type",
            "location",
            "properties.serviceId",
            "properties.scheduledPurgeDate",
            "properties.deletionDate",
        ),
    )
    assert got.body["properties"]["serviceId"] == SVC and got.body["location"] == "East US"
    assert call(sim, "GET", DELETED.replace("/eastus/", "/westus/")).status == 404
    listed = call(sim, "GET", f"/subscriptions/{SUB}/providers/Microsoft.ApiManagement/deletedservices")
    assert [d["name"] for d in listed.body["value"]] == [NAME]


def test_restore_brings_back_the_deleted_service_as_it_was(sim):
    before = soft_deleted(sim, service("Premium", 2, customProperties={"custom": "kept"}))
    response = call(sim, "PUT", SVC, service("Developer", 1, restore=True))
    assert response.status == 201
    back = settle(sim)
    assert back["sku"] == {"name": "Premium", "capacity": 2}
    assert back["tags"] == before["tags"]
    assert back["properties"]["createdAtUtc"] == before["properties"]["createdAtUtc"]
    assert back["properties"]["customProperties"]["custom"] == "kept"
    assert "restore" not in back["properties"]
    assert call(sim, "GET", DELETED).status == 404


def test_purge_is_a_202_location_operation_that_frees_the_name(sim, engine):
    soft_deleted(sim)
    response = call(sim, "DELETE", DELETED)
    assert response.status == 202 and "/operationresults/" in response.headers["Location"]
    assert_shape(
        response.body,
        EX + "ApiManagementDeletedServicesPurge.json",
        "202",
        must_have=("id", "properties.serviceId"),
    )
    assert call(sim, "GET", DELETED).status == 404
    assert call(sim, "PUT", SVC, service()).status == 201

    # And through the SDK's poller, as pros purges:
    call(sim, "DELETE", SVC)
    settle(sim)
    engine.clients.apim.deleted_services.begin_purge(NAME, "eastus").result()
    assert call(sim, "GET", DELETED).status == 404


def test_check_name_availability_answers_as_in_the_example(sim):
    path = f"/subscriptions/{SUB}/providers/Microsoft.ApiManagement/checkNameAvailability"
    free = call(sim, "POST", path, {"name": NAME})
    assert free.body == {"nameAvailable": True, "reason": "Valid", "message": ""}
    assert_shape(free.body, EX + "ApiManagementServiceCheckNameAvailability.json")
    assert call(sim, "POST", path, {"name": "-bad"}).body["reason"] == "Invalid"
    soft_deleted(sim)
    assert (
        call(sim, "POST", path, {"name": NAME}).body["reason"] == "AlreadyExists"
    )  # held while soft-deleted
    sim.take_name("Microsoft.ApiManagement/service", "apim-elsewhere")
    taken = call(sim, "POST", path, {"name": "apim-elsewhere"}).body
    assert taken["nameAvailable"] is False and taken["reason"] == "AlreadyExists"


def test_a_soft_deleted_service_past_48_hours_is_gone(sim):
    soft_deleted(sim)
    sim.db["deleted"]["microsoft.apimanagement/service"][NAME]["deleted_at"] = time.time() - 49 * 3600
    assert call(sim, "GET", DELETED).status == 404
    assert call(sim, "PUT", SVC, service()).status == 201


# ---- custom domains from Key Vault --------------------------------------------------------------


def vault(sim: Simulator, *, rbac: bool = True, policies: list[dict[str, Any]] | None = None) -> None:
    body = vault_body(rbac=rbac, policies=policies)
    response = call(sim, "PUT", VAULT_ID, body, api="2024-11-01")
    assert response.status == 200, response.body


def custom(host: str = "api.contoso.com", **extra: Any) -> dict[str, Any]:
    entry = {"type": "Proxy", "hostName": host, "keyVaultId": SECRET, "defaultSslBinding": True, **extra}
    return {"properties": {"hostnameConfigurations": [entry]}}


def test_a_key_vault_hostname_needs_the_identity_to_be_allowed_to_read_secrets(sim):
    principal = created(sim)["identity"]["principalId"]
    refused = call(sim, "PATCH", SVC, custom())
    assert error(refused) == (400, "InvalidOperation")
    assert "the vault does not exist" in refused.body["error"]["message"]
    vault(sim)
    refused = call(sim, "PATCH", SVC, custom())
    assert error(refused) == (400, "InvalidOperation")
    message = refused.body["error"]["message"]
    assert f"Failed to access KeyVault Secret {SECRET} using Managed Service Identity" in message
    assert f"ObjectId: {principal}" in message
    grant(sim, str(uuid.uuid4()), VAULT_ID)  # someone else's grant
    grant(sim, principal, VAULT_ID, role=READER)  # no data access
    assert error(call(sim, "PATCH", SVC, custom())) == (400, "InvalidOperation")

    grant(sim, principal, f"/subscriptions/{SUB}", role=SECRETS_OFFICER)  # a parent scope, a broader role
    accepted = call(sim, "PATCH", SVC, custom())
    assert accepted.status == 202 and "Azure-AsyncOperation" in accepted.headers
    done = settle(sim)
    assert_shape(
        done,
        EX + "ApiManagementServiceGetService.json",
        allow_extra=(
            "properties.hostnameConfigurations[1].keyVaultId",
            "properties.hostnameConfigurations[1].certificate",
        ),
    )
    hosts = {h["hostName"]: h for h in done["properties"]["hostnameConfigurations"]}
    # The example's own Key Vault entry is its second; hold ours against that one.
    kv_entry = example_body(EX + "ApiManagementServiceGetService.json")["properties"][
        "hostnameConfigurations"
    ][1]
    assert shape_errors(hosts["api.contoso.com"], kv_entry) == []
    assert hosts["api.contoso.com"]["certificateSource"] == "KeyVault"
    assert set(hosts["api.contoso.com"]["certificate"]) == {"expiry", "thumbprint", "subject"}
    assert hosts[f"{NAME}.azure-api.net"]["defaultSslBinding"] is False  # the custom host took it


def test_a_create_cannot_use_a_key_vault_hostname_before_its_identity_exists(sim):
    vault(sim)
    body = service()
    body["properties"].update(custom()["properties"])
    response = call(sim, "PUT", SVC, body)
    assert error(response) == (400, "InvalidOperation")
    assert "no system-assigned managed identity" in response.body["error"]["message"]


def test_access_policy_vaults_ignore_role_assignments(sim):
    principal = created(sim)["identity"]["principalId"]
    vault(sim, rbac=False)
    grant(sim, principal, VAULT_ID)
    assert error(call(sim, "PATCH", SVC, custom())) == (400, "InvalidOperation")
    policy = {"tenantId": TENANT_ID, "objectId": principal, "permissions": {"secrets": ["Get"]}}
    vault(sim, rbac=False, policies=[policy])
    assert call(sim, "PATCH", SVC, custom()).status == 202


def test_hostname_requests_are_validated_and_certificates_never_read_back(sim):
    created(sim)
    assert error(call(sim, "PATCH", SVC, custom(identityClientId=str(uuid.uuid4())))) == (
        400,
        "ValidationError",
    )
    no_cert = {"properties": {"hostnameConfigurations": [{"type": "Proxy", "hostName": "api.contoso.com"}]}}
    assert error(call(sim, "PATCH", SVC, no_cert)) == (400, "ValidationError")
    bad_type = {"properties": {"hostnameConfigurations": [{"type": "Gateway", "hostName": "x.contoso.com"}]}}
    assert error(call(sim, "PATCH", SVC, bad_type)) == (400, "ValidationError")
    uploaded = {
        "type": "Proxy",
        "hostName": "api.contoso.com",
        "encodedCertificate": "MIIKZQIBAzCCCi8=",
        "certificatePassword": new_secret(),
    }
    assert call(sim, "PATCH", SVC, {"properties": {"hostnameConfigurations": [uploaded]}}).status == 202
    body = settle(sim)
    assert SECRET_MARKER not in json.dumps(body) and "encodedCertificate" not in json.dumps(body)
    assert SECRET_MARKER not in json.dumps(sim.db)


# ---- Key Vault and the resource listing ---------------------------------------------------------


def test_vaults_are_validated_and_get_their_uri(sim):
    bad_sku = {
        "location": "eastus",
        "properties": {"tenantId": TENANT_ID, "sku": {"family": "A", "name": "gold"}},
    }
    assert error(call(sim, "PUT", VAULT_ID, bad_sku, api="2024-11-01")) == (400, "BadRequest")
    no_tenant = {"location": "eastus", "properties": {"sku": {"family": "A", "name": "standard"}}}
    assert error(call(sim, "PUT", VAULT_ID, no_tenant, api="2024-11-01")) == (400, "MissingRequiredProperty")
    good = {
        "location": "eastus",
        "properties": {"tenantId": TENANT_ID, "sku": {"family": "A", "name": "standard"}},
    }
    bad_name = VAULT_ID.replace(VAULT, "kv--double")
    assert error(call(sim, "PUT", bad_name, good, api="2024-11-01")) == (400, "InvalidResourceName")
    vault(sim)
    got = call(sim, "GET", VAULT_ID, api="2024-11-01").body
    assert got["properties"]["vaultUri"] == f"https://{VAULT}.vault.azure.net/"
    assert got["properties"]["enableRbacAuthorization"] is True


def test_the_resource_listing_filters_on_type_and_name(sim, engine):
    vault(sim)
    created(sim)
    grant(sim, str(uuid.uuid4()), VAULT_ID)
    everything = call(sim, "GET", f"/subscriptions/{SUB}/resources", api="2025-04-01").body["value"]
    assert sorted(r["type"] for r in everything) == [
        "Microsoft.ApiManagement/service",
        "Microsoft.KeyVault/vaults",
    ]
    rc = engine.clients.resource  # the SDK sends $filter as pros does
    found = [
        r.as_dict()
        for r in rc.resources.list(
            filter=f"resourceType eq 'Microsoft.KeyVault/vaults' and name eq '{VAULT.upper()}'"
        )
    ]
    assert [(r["id"], r["location"]) for r in found] == [(VAULT_ID, "eastus")]
    assert (
        list(rc.resources.list(filter="resourceType eq 'Microsoft.KeyVault/vaults' and name eq 'other'"))
        == []
    )


def test_an_unsupported_listing_filter_is_a_loud_simulator_gap(sim):
    response = call(sim, "GET", f"/subscriptions/{SUB}/resources", api="2025-04-01")
    assert response.status == 200
    url = f"/subscriptions/{SUB}/resources?$filter=substringof('env', name)&api-version=2025-04-01"
    gap = sim.handle("GET", f"https://management.azure.com{url}", {}, None)
    assert error(gap) == (404, "SimulatorRouteNotImplemented")
    assert len(sim.unimplemented()) == 1


def test_apim_is_the_slowest_type_in_the_realistic_profile(sim):
    realistic = PROFILES["realistic"]
    spec = sim.types["microsoft.apimanagement/service"]
    apim = realistic.for_type(spec.latency_key, "create").seconds
    others = [
        realistic.for_type(t.latency_key or t.arm_type, "create").seconds
        for k, t in sim.types.items()
        if k != "microsoft.apimanagement/service"
    ]
    assert apim > max(others)
