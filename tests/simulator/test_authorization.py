"""The simulator's Microsoft.Authorization role assignments behave like ARM and Entra ID."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from pros_cli.azure.clients import raw_json
from pros_cli.simulator.core import Simulator
from tests.conftest import SUB
from tests.simulator.shapes import assert_shape

EXAMPLES = "Microsoft.Authorization/2022-04-01/"
OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
BLOB_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
# Read-only properties of the 2022-04-01 RoleAssignment model that the examples leave out.
READ_ONLY_EXTRAS = tuple(f"properties.{k}" for k in ("createdOn", "updatedOn", "createdBy", "updatedBy"))
MUST_HAVE = ("id", "name", "type", "properties.roleDefinitionId", "properties.principalId",
             "properties.principalType", "properties.scope")
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-auth"
ACCOUNT_ID = f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/authsa01"


def role_id(guid: str, subscription: str | None = SUB) -> str:
    prefix = f"/subscriptions/{subscription}" if subscription else ""
    return f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def body(principal: str, role: str = OPENAI_USER, **extra: Any) -> dict[str, Any]:
    return {"properties": {"roleDefinitionId": role_id(role), "principalId": principal,
                           "principalType": "ServicePrincipal", **extra}}


def replicated_principal(sim: Simulator, resource_id: str = ACCOUNT_ID) -> str:
    with sim.transaction():
        principal = sim.new_principal(resource_id)
        sim.db["principals"][principal]["pending_lookups"] = 0
    return principal


def arm_error(exc: pytest.ExceptionInfo[HttpResponseError]) -> tuple[int, str]:
    return exc.value.status_code, exc.value.error.code  # type: ignore[union-attr,return-value]


@pytest.fixture
def ra(engine):
    """The SDK's role assignment operations, with a resource group and a storage account to grant on."""
    engine.clients.resource.resource_groups.create_or_update("rg-auth", {"location": "eastus"}, cls=raw_json)
    engine.clients.storage.storage_accounts.begin_create(
        "rg-auth", "authsa01", {"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}},
    ).result()
    return engine.clients.authorization.role_assignments


def last_status(sim: Simulator, method: str) -> int:
    return [e for e in sim.request_log if e["method"] == method][-1]["status"]


def test_create_get_list_delete_take_the_example_shapes(ra, memsim):
    principal = replicated_principal(memsim)
    name = str(uuid.uuid4())
    created = ra.create(ACCOUNT_ID, name, body(principal), cls=raw_json)
    assert last_status(memsim, "PUT") == 201
    assert_shape(created, EXAMPLES + "RoleAssignments_CreateForResource.json", "201",
                 allow_extra=READ_ONLY_EXTRAS, must_have=MUST_HAVE)
    assert created["id"] == f"{ACCOUNT_ID}/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert created["properties"]["scope"] == ACCOUNT_ID
    assert created["properties"]["roleDefinitionId"] == role_id(OPENAI_USER)
    assert "provisioningState" not in created["properties"]

    got = ra.get(ACCOUNT_ID, name, cls=raw_json)
    assert_shape(got, EXAMPLES + "RoleAssignments_Get.json", allow_extra=READ_ONLY_EXTRAS,
                 must_have=MUST_HAVE)
    assert got == created

    assert [a.name for a in ra.list_for_scope(ACCOUNT_ID)] == [name]
    page = memsim.handle("GET", f"https://management.azure.com{ACCOUNT_ID}/providers/Microsoft.Authorization/"
                         "roleAssignments?api-version=2022-04-01", {}, None)
    assert_shape(page.body, EXAMPLES + "RoleAssignments_ListForScope.json",
                 allow_extra=tuple(f"value[0].{k}" for k in READ_ONLY_EXTRAS))
    assert page.body["value"] == [created]

    deleted = memsim.handle("DELETE", f"https://management.azure.com{created['id']}?api-version=2022-04-01",
                            {}, None)
    assert deleted.status == 200
    assert_shape(deleted.body, EXAMPLES + "RoleAssignments_Delete.json", allow_extra=READ_ONLY_EXTRAS,
                 must_have=MUST_HAVE)
    assert ra.delete(ACCOUNT_ID, name) is None
    assert last_status(memsim, "DELETE") == 204
    with pytest.raises(HttpResponseError) as exc:
        ra.get(ACCOUNT_ID, name)
    assert arm_error(exc) == (404, "RoleAssignmentNotFound")


def test_resource_group_and_subscription_scopes(ra, memsim):
    principal = replicated_principal(memsim)
    at_rg = ra.create(RG_ID, str(uuid.uuid4()), body(principal), cls=raw_json)
    assert_shape(at_rg, EXAMPLES + "RoleAssignments_CreateForResourceGroup.json", "201",
                 allow_extra=READ_ONLY_EXTRAS, must_have=MUST_HAVE)
    sub_scope = f"/subscriptions/{SUB}"
    at_sub = ra.create(sub_scope, str(uuid.uuid4()), body(principal, BLOB_OWNER), cls=raw_json)
    assert at_sub["properties"]["scope"] == sub_scope


def untyped(principal: str) -> dict[str, Any]:
    """A body without principalType: ARM then looks the principal up in Entra ID."""
    request = body(principal)
    del request["properties"]["principalType"]
    return request


def test_without_principal_type_a_new_identity_is_not_found_until_it_has_replicated(ra, memsim):
    with memsim.transaction():
        principal = memsim.new_principal(ACCOUNT_ID)
        memsim.db["principals"][principal]["pending_lookups"] = 2
    name = str(uuid.uuid4())
    for _ in range(2):
        with pytest.raises(HttpResponseError) as exc:
            ra.create(ACCOUNT_ID, name, untyped(principal))
        assert arm_error(exc) == (400, "PrincipalNotFound")
        assert "replication delay" in str(exc.value) and "principalType" in str(exc.value)
    assert memsim.db["principals"][principal]["pending_lookups"] == 0
    created = ra.create(ACCOUNT_ID, name, untyped(principal), cls=raw_json)
    assert created["properties"]["principalId"] == principal


def test_with_principal_type_a_new_identity_is_granted_at_the_first_attempt(ra, memsim):
    with memsim.transaction():
        principal = memsim.new_principal(ACCOUNT_ID)
        memsim.db["principals"][principal]["pending_lookups"] = 5
    created = ra.create(ACCOUNT_ID, str(uuid.uuid4()), body(principal), cls=raw_json)
    assert created["properties"]["principalType"] == "ServicePrincipal"
    assert memsim.db["principals"][principal]["pending_lookups"] == 5  # nobody asked the directory


def test_a_principal_the_directory_never_had_is_not_found_when_it_is_looked_up(ra, memsim):
    for _ in range(3):
        with pytest.raises(HttpResponseError) as exc:
            ra.create(ACCOUNT_ID, str(uuid.uuid4()), untyped(str(uuid.uuid4())))
        assert arm_error(exc) == (400, "PrincipalNotFound")
    # principalType: ARM takes the caller's word and skips the lookup.
    assert ra.create(ACCOUNT_ID, str(uuid.uuid4()), body(str(uuid.uuid4())), cls=raw_json)["id"]


@pytest.mark.parametrize(
    ("role_definition_id", "expected"),
    [
        (OPENAI_USER, (400, "InvalidRoleDefinitionId")),  # a bare GUID is not a definition id
        (role_id(OPENAI_USER) + "|", (400, "InvalidRoleDefinitionId")),
        (role_id(str(uuid.uuid4())), (400, "RoleDefinitionDoesNotExist")),
    ],
)
def test_role_definition_must_be_a_known_role_in_the_right_format(ra, memsim, role_definition_id, expected):
    principal = replicated_principal(memsim)
    request = body(principal)
    request["properties"]["roleDefinitionId"] = role_definition_id
    with pytest.raises(HttpResponseError) as exc:
        ra.create(ACCOUNT_ID, str(uuid.uuid4()), request)
    assert arm_error(exc) == expected


def test_tenant_scoped_role_definition_id_is_accepted(ra, memsim):
    principal = replicated_principal(memsim)
    request = body(principal)
    request["properties"]["roleDefinitionId"] = role_id(OPENAI_USER, subscription=None)
    created = ra.create(ACCOUNT_ID, str(uuid.uuid4()), request, cls=raw_json)
    assert created["properties"]["roleDefinitionId"].endswith(OPENAI_USER)


def test_same_grant_under_another_name_conflicts(ra, memsim):
    principal = replicated_principal(memsim)
    ra.create(ACCOUNT_ID, str(uuid.uuid4()), body(principal))
    with pytest.raises(HttpResponseError) as exc:
        ra.create(ACCOUNT_ID, str(uuid.uuid4()), body(principal))
    assert arm_error(exc) == (409, "RoleAssignmentExists")
    # another role, or the same role elsewhere, is a different grant
    ra.create(ACCOUNT_ID, str(uuid.uuid4()), body(principal, BLOB_OWNER))
    ra.create(RG_ID, str(uuid.uuid4()), body(principal))


def test_an_assignment_is_never_repointed(ra, memsim):
    principal = replicated_principal(memsim)
    other = replicated_principal(memsim)
    name = str(uuid.uuid4())
    first = ra.create(ACCOUNT_ID, name, body(principal), cls=raw_json)
    again = ra.create(ACCOUNT_ID, name, body(principal), cls=raw_json)  # the same PUT is idempotent
    assert last_status(memsim, "PUT") == 200
    assert again["properties"]["createdOn"] == first["properties"]["createdOn"]
    for changed in (body(other), body(principal, BLOB_OWNER)):
        with pytest.raises(HttpResponseError) as exc:
            ra.create(ACCOUNT_ID, name, changed)
        assert arm_error(exc) == (400, "RoleAssignmentUpdateNotPermitted")
    assert ra.get(ACCOUNT_ID, name, cls=raw_json)["properties"]["principalId"] == principal


def test_scope_must_exist_and_name_must_be_a_guid(ra, memsim):
    principal = replicated_principal(memsim)
    missing = f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/nosuchsa"
    with pytest.raises(HttpResponseError) as exc:
        ra.create(missing, str(uuid.uuid4()), body(principal))
    assert exc.value.status_code == 404
    with pytest.raises(HttpResponseError) as exc:
        ra.create(ACCOUNT_ID, "not-a-guid", body(principal))
    assert arm_error(exc) == (400, "InvalidRoleAssignmentId")
    with pytest.raises(HttpResponseError) as exc:
        ra.create(ACCOUNT_ID, str(uuid.uuid4()), {"properties": {"roleDefinitionId": role_id(OPENAI_USER)}})
    assert exc.value.status_code == 400


def test_only_the_api_versions_the_sdk_sends(ra, memsim):
    url = f"https://management.azure.com{ACCOUNT_ID}/providers/Microsoft.Authorization/roleAssignments"
    response = memsim.handle("GET", url + "?api-version=1999-01-01", {}, None)
    assert response.status == 400
    assert response.body["error"]["code"] == "InvalidApiVersionParameter"
    assert all(e["api_version"] == "2022-04-01" for e in memsim.request_log if "Authorization" in e["path"]
               and e["api_version"] != "1999-01-01")


def test_list_for_scope_filters(ra, memsim):
    one, two = replicated_principal(memsim), replicated_principal(memsim)
    on_account = ra.create(ACCOUNT_ID, str(uuid.uuid4()), body(one), cls=raw_json)["name"]
    on_rg = ra.create(RG_ID, str(uuid.uuid4()), body(two), cls=raw_json)["name"]

    def names(scope: str, flt: str | None = None) -> set[str]:
        return {a.name for a in ra.list_for_scope(scope, filter=flt)}

    assert names(RG_ID) == {on_account, on_rg}  # at and below the scope
    assert names(ACCOUNT_ID) == {on_account, on_rg}  # at and above (inherited)
    assert names(RG_ID, "atScope()") == {on_rg}
    assert names(RG_ID, f"principalId eq '{one}'") == {on_account}
    assert names(ACCOUNT_ID, f"atScope() and assignedTo('{two}')") == {on_rg}
    with pytest.raises(HttpResponseError) as exc:
        names(RG_ID, "roleDefinitionId eq 'x'")
    assert arm_error(exc) == (404, "SimulatorRouteNotImplemented")


def test_deleting_the_scope_deletes_its_assignments(ra, memsim, engine):
    principal = replicated_principal(memsim)
    name = str(uuid.uuid4())
    ra.create(ACCOUNT_ID, name, body(principal))
    engine.clients.storage.storage_accounts.delete("rg-auth", "authsa01")
    assert memsim.resources_of_type("Microsoft.Authorization/roleAssignments") == []
