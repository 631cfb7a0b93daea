"""Role assignments: created once the identity replicates, found again by their derived name,
never re-pointed to another principal, and echoed as az lines that parse and paste."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pros_cli.azure.clients import raw_json
from pros_cli.echo import AzCommand, az
from pros_cli.resources.base import Resource
from pros_cli.resources.graph import RG_KEY
from pros_cli.resources.rbac import (
    COGNITIVE_SERVICES_OPENAI_USER,
    EVENTGRID_DATA_SENDER,
    KEY_VAULT_SECRETS_USER,
    STORAGE_BLOB_DATA_OWNER,
    RoleAssignment,
    Scope,
    assignment_name,
)
from pros_cli.resources.resource_group import ResourceGroup
from pros_cli.resources.storage import StorageAccount
from tests.conftest import SUB, make_spec

RA_TYPE = "Microsoft.Authorization/roleAssignments"
OPS_RG = "rg-ops"


class IdentityAccount(StorageAccount):
    """A resource with a system-assigned identity: the principal the tests grant to."""

    def desired(self) -> dict[str, Any]:
        return {**super().desired(), "identity": {"type": "SystemAssigned"}}


class FoundAccount(StorageAccount):
    """Stands in for a resource pros finds at plan time (the operator's Key Vault): it lives in a
    resource group the spec does not name, so only its body knows its id."""

    external = True

    def read(self, clients: Any) -> dict[str, Any] | None:
        return self.client(clients).storage_accounts.get_properties(OPS_RG, self.name, cls=raw_json)

    def az_read(self) -> AzCommand:
        return az("resource", "list", "--resource-type", self.arm_type, "--name", self.name, read_only=True)


@pytest.fixture
def spec() -> Any:
    return make_spec(regions=["eastus", "westus"])


def graph(spec: Any, *, found: bool = False) -> list[Resource]:
    rg = ResourceGroup(spec, key=RG_KEY, name=spec.resource_group, region=spec.primary_region)
    app = IdentityAccount(spec, key="app", name=spec.names.storage_account("eastus"), region="eastus",
                          depends_on=(RG_KEY,), parent=RG_KEY)
    if found:
        target: StorageAccount = FoundAccount(spec, key="target", name="opsvaultsa", region="westus")
        scope = Scope.of(target, lookup=True, id_query="[0].id", label="the operator's account")
    else:
        target = StorageAccount(spec, key="target", name=spec.names.storage_account("westus"),
                                region="westus", depends_on=(RG_KEY,), parent=RG_KEY)
        scope = Scope.of(target)
    grant = RoleAssignment(spec, key="grant", scope=scope, role=STORAGE_BLOB_DATA_OWNER, principal=app)
    return [rg, app, target, grant]


def principal_of(sim: Any, resource: Resource) -> str:
    return sim.get_resource(resource.arm_id())["body"]["identity"]["principalId"]


def assignments(sim: Any) -> list[dict[str, Any]]:
    return [r["body"] for r in sim.resources_of_type(RA_TYPE)]


def role_puts(sim: Any) -> list[dict[str, Any]]:
    return [e for e in sim.request_log if e["method"] == "PUT" and "roleAssignments" in e["path"]]


def test_a_new_identity_is_granted_at_the_first_attempt(engine, memsim, spec):
    resources = graph(spec)
    app, target, grant = resources[1], resources[2], resources[3]
    converged = engine.converge(resources)

    assert not converged.report.failed
    assert converged.plan.by_key()["grant"].action == "create"
    # pros sends principalType, so ARM does not wait for Entra ID to replicate the new identity.
    attempts = [(e["status"], e.get("code")) for e in role_puts(memsim)]
    assert attempts == [(201, None)]
    [made] = assignments(memsim)
    principal = principal_of(memsim, app)
    assert made["id"] == grant.arm_id() == (
        f"{target.arm_id()}/providers/Microsoft.Authorization/roleAssignments/"
        f"{assignment_name(target.arm_id(), STORAGE_BLOB_DATA_OWNER, app.arm_id())}"
    )
    assert made["properties"]["principalId"] == principal
    assert made["properties"]["principalType"] == "ServicePrincipal"
    assert made["properties"]["roleDefinitionId"].endswith("/" + STORAGE_BLOB_DATA_OWNER.guid)
    # At apply time the identity exists, so the echoed line names it.
    [line] = [e for e in converged.echoed if e.startswith("az role assignment create")]
    assert f"--assignee-object-id {principal}" in line and f"--name {grant.name}" in line
    state = engine.state().get("grant")
    assert state["outputs"] == {
        "role": "Storage Blob Data Owner", "scope": target.arm_id(), "principal_id": principal,
    }


def test_second_converge_makes_no_writes(engine, memsim, spec):
    engine.converge(graph(spec))
    memsim.reset_log()
    again = engine.converge(graph(spec))
    assert again.plan.by_key()["grant"].action == "no-op"
    assert memsim.writes() == []
    assert again.echoed == []


def _principal_not_found(memsim: Any, times: int) -> None:
    memsim.inject(method="PUT", path_regex="/roleAssignments/", status=400, code="PrincipalNotFound",
                  message="Principal does not exist in the directory.", times=times)


def test_principal_not_found_is_retried(engine, memsim, spec):
    resources = graph(spec)
    engine.converge(resources[:3])
    _principal_not_found(memsim, 2)
    memsim.reset_log()
    converged = engine.converge(resources)
    assert not converged.report.failed
    assert [(e["status"], e.get("code")) for e in role_puts(memsim)] == [
        (400, "PrincipalNotFound"), (400, "PrincipalNotFound"), (201, None)]


def test_principal_not_found_fails_clearly_after_the_retries(engine, memsim, spec):
    resources = graph(spec)
    engine.converge(resources[:3])
    _principal_not_found(memsim, -1)
    memsim.reset_log()
    converged = engine.converge(resources)

    [failed] = converged.report.failed
    assert failed.key == "grant"
    for words in ("PrincipalNotFound", "Entra ID", "run pros again", resources[1].name):
        assert words in failed.error
    assert len(role_puts(memsim)) == len(RoleAssignment.retry_delays) + 1
    assert assignments(memsim) == []
    assert engine.state().get("grant")["status"] == "failed"


def test_same_grant_under_a_foreign_name_is_reported(engine, memsim, spec):
    resources = graph(spec)
    app, target, grant = resources[1:]
    engine.converge(resources[:3])
    principal = principal_of(memsim, app)
    with memsim.transaction():
        memsim.db["principals"][principal]["pending_lookups"] = 0
    foreign = str(uuid.uuid4())
    engine.clients.authorization.role_assignments.create(target.arm_id(), foreign, {"properties": {
        "roleDefinitionId": STORAGE_BLOB_DATA_OWNER.definition_id(SUB), "principalId": principal}})
    converged = engine.converge(resources)

    [failed] = converged.report.failed
    assert "RoleAssignmentExists" in failed.error and f"roleAssignments/{foreign}" in failed.error
    assert f"az role assignment delete --ids {target.arm_id()}" in failed.error
    assert [a["name"] for a in assignments(memsim)] == [foreign]
    assert grant.name != foreign


def test_grant_to_a_replaced_identity_is_replaced_not_left_dangling(engine, memsim, spec):
    resources = graph(spec)
    engine.converge(resources)
    old = principal_of(memsim, resources[1])
    with memsim.transaction():  # the identity was turned off and on again: a new principal
        new = memsim.new_principal(resources[1].arm_id())
        memsim.get_resource(resources[1].arm_id())["body"]["identity"]["principalId"] = new
    memsim.reset_log()
    plan = engine.plan(graph(spec))
    change = plan.by_key()["grant"]
    assert not plan.errors
    assert change.action == "replace"
    assert any("properties.principalId" in r and old in r and new in r for r in change.reasons)
    assert [c.render().split()[:4] for c in change.az_commands()] == [
        ["az", "role", "assignment", "delete"],
        ["az", "role", "assignment", "create"],
    ]
    converged = engine.converge(graph(spec))
    assert not converged.report.failed
    accepted = [e["method"] for e in memsim.writes() if e["status"] < 400]
    assert accepted == ["DELETE", "PUT"]  # (the new principal is retried until Entra ID has it)
    [made] = assignments(memsim)
    assert made["properties"]["principalId"] == new
    assert made["name"] == change.resource.name  # same deterministic name, new principal


def test_recreated_identity_resource_replaces_its_grant_after_the_create(engine, memsim, spec):
    resources = graph(spec)
    engine.converge(resources)
    engine.clients.storage.storage_accounts.delete(spec.resource_group, resources[1].name)
    plan = engine.plan(graph(spec))
    assert not plan.errors
    assert plan.by_key()["app"].action == "create"
    grant = plan.by_key()["grant"]
    assert grant.action == "replace"
    assert any("does not exist yet" in r for r in grant.reasons)
    converged = engine.converge(graph(spec))
    assert not converged.report.failed
    [made] = assignments(memsim)
    assert made["properties"]["principalId"] == principal_of(memsim, resources[1])


def test_scope_found_at_plan_time_comes_from_its_body(engine, memsim, spec):
    rc = engine.clients.resource.resource_groups
    rc.create_or_update(OPS_RG, {"location": "westus"}, cls=raw_json)
    engine.clients.storage.storage_accounts.begin_create(
        OPS_RG, "opsvaultsa", {"location": "westus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}
    ).result()
    real_scope = (f"/subscriptions/{SUB}/resourceGroups/{OPS_RG}"
                  "/providers/Microsoft.Storage/storageAccounts/opsvaultsa")
    resources = graph(spec, found=True)
    assert resources[2].arm_id() != real_scope  # the node alone cannot know where it lives

    converged = engine.converge(resources)
    assert not converged.report.failed
    [made] = assignments(memsim)
    assert made["properties"]["scope"] == real_scope
    assert made["name"] == assignment_name(real_scope, STORAGE_BLOB_DATA_OWNER, resources[1].arm_id())

    memsim.reset_log()
    again = engine.converge(graph(spec, found=True))
    assert again.plan.by_key()["grant"].action == "no-op"
    assert memsim.writes() == []


def test_names_are_deterministic_and_distinct_per_grant(spec):
    first, second = graph(spec)[3], graph(spec)[3]
    assert first.name == second.name
    uuid.UUID(first.name)
    app, target = graph(spec)[1:3]
    names = {
        RoleAssignment(spec, key=f"g{i}", scope=Scope.of(target), role=role, principal=app).name
        for i, role in enumerate(
            (COGNITIVE_SERVICES_OPENAI_USER, EVENTGRID_DATA_SENDER, KEY_VAULT_SECRETS_USER)
        )
    }
    assert len(names) == 3
    fixed = RoleAssignment(spec, key="g", scope=Scope.fixed(target.arm_id(), "x"),
                           role=STORAGE_BLOB_DATA_OWNER, principal=app)
    assert fixed.name == first.name and fixed.depends_on == ("app",) and fixed.parent is None
    assert first.depends_on == ("app", "target") and first.parent == "target"


def test_teardown_deletes_the_assignment(engine, memsim, spec):
    resources = graph(spec)
    engine.converge(resources)
    grant = resources[3]
    assert grant.delete(engine.clients) is None
    assert assignments(memsim) == []
    assert grant.read(engine.clients) is None


def test_every_az_line_parses(engine, memsim, spec, az_parser):
    """Dry run before anything exists (principal and looked-up scope asked of az when the line
    runs), apply time (real ids), read and delete."""
    dry = engine.plan(graph(spec)).by_key()["grant"]
    [dry_line] = [c.render() for c in dry.az_commands()]
    app_name = spec.names.storage_account("eastus")
    assert (f'--assignee-object-id "$(az storage account show --name {app_name} --resource-group '
            f'{spec.resource_group} --query identity.principalId --output tsv)"') in dry_line
    assert "--scope /subscriptions/" in dry_line and "--name " in dry_line

    offline = graph(spec, found=True)[3]  # nothing read: the scope itself is asked of az
    [offline_line] = [c.render() for c in offline.az_create()]
    assert ('--scope "$(az resource list --resource-type Microsoft.Storage/storageAccounts --name opsvaultsa '
            "--query '[0].id' --output tsv)\"") in offline_line
    assert "--name" not in offline_line.split("tsv)")[-1]  # the name derives from the unknown scope

    converged = engine.converge(graph(spec))
    grant = graph(spec)[3]
    lines = [dry_line, offline_line, *converged.echoed, grant.az_read().render(),
             *[c.render() for c in grant.az_delete()]]
    assert any(line.startswith("az role assignment create --assignee-object-id ")
               for line in converged.echoed)
    assert az_parser.failures(lines) == []
