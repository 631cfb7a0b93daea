"""API Management services, soft-deleted names and the Key Vault custom domain, through the engine."""

from __future__ import annotations

from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.resources.apim import ApiManagementService, ApimCustomDomain, KeyVaultRef, apim_in_progress
from pros_cli.resources.base import Resource
from pros_cli.resources.resource_group import ResourceGroup
from pros_cli.simulator.core import TENANT_ID, Simulator
from pros_cli.spec import Spec
from tests.conftest import SUB, make_spec
from tests.vaults import grant, make_vault

RG = "resource-group"
KV = "keyvault"
VAULT = "kv-contoso-certs"
VAULT_RG = "rg-operator-secrets"
VAULT_ID = f"/subscriptions/{SUB}/resourceGroups/{VAULT_RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"
SECRET_ID = f"https://{VAULT}.vault.azure.net/secrets/api-contoso-com/0123456789abcdef0123456789abcdef"
VERSIONLESS = f"https://{VAULT}.vault.azure.net/secrets/api-contoso-com"
HOST = "api.contoso.com"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
TAGS = {"managed-by": "pros", "pros-deployment": "demo"}


def apim_graph(spec: Spec) -> list[Resource]:
    """What the lead wires: a service per region under the resource group; with a custom domain,
    the operator's vault and a custom-domain node per service (after the service and the vault;
    in the full graph also after the Key Vault Secrets User role assignment)."""
    out: list[Resource] = [ResourceGroup(spec, key=RG, name=spec.resource_group, region=spec.primary_region)]
    if spec.custom_domain:
        out.append(KeyVaultRef(spec, key=KV))
    for region in spec.regions:
        service = f"apim/{region}"
        out.append(ApiManagementService(spec, key=service, region=region, depends_on=(RG,), parent=RG))
        if spec.custom_domain:
            out.append(
                ApimCustomDomain(
                    spec,
                    key=f"{service}/custom-domain",
                    region=region,
                    depends_on=(service, KV),
                    parent=service,
                )
            )
    return out


def domain_spec(**overrides: Any) -> Spec:
    return make_spec(regions=["eastus"], custom_domain=HOST, certificate_secret_id=SECRET_ID, **overrides)


def by_key(resources: list[Resource]) -> dict[str, Any]:
    return {r.key: r for r in resources}


def writes(sim: Simulator) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in sim.writes()]


def statuses(converged: Any) -> dict[str, str]:
    return {k: r.status for k, r in converged.report.results.items()}


def service_body(engine: Any, spec: Spec, region: str = "eastus") -> dict[str, Any]:
    return engine.clients.apim.api_management_service.get("rg-demo", spec.names.apim(region), cls=raw_json)


# ---- the service ------------------------------------------------------------------------------


def test_creates_a_tagged_developer_service_with_identity_and_then_writes_nothing(engine, memsim):
    spec = make_spec()
    first = engine.converge(apim_graph(spec))
    assert set(statuses(first).values()) == {"succeeded"}
    for region in spec.regions:
        name = spec.names.apim(region)
        body = service_body(engine, spec, region)
        assert body["sku"] == {"name": "Developer", "capacity": 1}
        assert body["identity"]["type"] == "SystemAssigned"
        assert body["tags"] == TAGS
        assert body["properties"]["publisherEmail"] == "apim-admin@example.com"
        assert body["properties"]["provisioningState"] == "Succeeded"
        assert first.report.outputs[f"apim/{region}"] == {
            "gateway_url": f"https://{name}.azure-api.net",
            "gateway_host": f"{name}.azure-api.net",
            "principal_id": body["identity"]["principalId"],
        }
    assert [line for line in first.echoed if line.startswith("az apim create")] == [
        f"az apim create --name {spec.names.apim(r)} --resource-group rg-demo --location {r} "
        "--publisher-email apim-admin@example.com --publisher-name pros --sku-name Developer "
        "--sku-capacity 1 --enable-managed-identity true --tags managed-by=pros pros-deployment=demo"
        for r in spec.regions
    ]

    memsim.reset_log()
    second = engine.converge(apim_graph(spec))
    assert writes(memsim) == []
    assert {c.action for c in second.plan.changes} == {"no-op"}
    assert second.echoed == []


def test_an_activating_service_is_waited_for_and_resumed_not_recreated(engine, memsim):
    spec = make_spec(regions=["eastus"])
    memsim.configure(profile="stuck")  # the create outlives this run, as in Azure (30-90 minutes)
    started = engine.converge(apim_graph(spec), no_wait=True)
    assert statuses(started)["apim/eastus"] != "succeeded"
    assert service_body(engine, spec)["properties"]["provisioningState"] == "Activating"

    plan = engine.plan(apim_graph(spec))
    change = plan.by_key()["apim/eastus"]
    assert change.action == "resume"
    assert "Activating" in change.reasons[0]

    # Time passes; the next run finishes it (the poller this process left running may get there first).
    memsim.fast_forward()
    memsim.reset_log()
    resumed = engine.converge(apim_graph(spec))
    assert statuses(resumed)["apim/eastus"] in ("succeeded", "noop")
    assert not [w for w in writes(memsim) if "ApiManagement" in w]  # polled, never PUT again
    assert service_body(engine, spec)["properties"]["provisioningState"] == "Succeeded"
    recorded = engine.state().get("apim/eastus")
    assert recorded["status"] == "succeeded" and recorded["outputs"]["principal_id"]


def test_in_progress_follows_apims_states():
    def body(state: str, target: str = "") -> dict[str, Any]:
        return {"properties": {"provisioningState": state, "targetProvisioningState": target}}

    assert apim_in_progress(body("Created", "Activating"))
    assert apim_in_progress(body("Activating", "Activating"))
    assert apim_in_progress(body("Updating"))
    assert apim_in_progress(body("Succeeded", "Deleting"))
    assert not apim_in_progress(body("Succeeded"))
    assert not apim_in_progress(body("Failed", "Activating"))
    assert not apim_in_progress(body("Stopped"))  # waiting would never end


def test_a_capacity_change_is_one_patch_that_keeps_the_identity(engine, memsim):
    engine.converge(apim_graph(make_spec(regions=["eastus"], apim_sku="Premium")))
    principal = service_body(engine, make_spec())["identity"]["principalId"]
    spec = make_spec(regions=["eastus"], apim_sku="Premium", apim_capacity=2)
    memsim.reset_log()
    changed = engine.converge(apim_graph(spec))
    name = spec.names.apim("eastus")
    assert writes(memsim) == [
        f"PATCH /subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.ApiManagement/service/{name}"
    ]
    assert changed.echoed == [
        f"az apim update --name {name} --resource-group rg-demo --sku-name Premium "
        "--sku-capacity 2 --enable-managed-identity true"
    ]
    body = service_body(engine, spec)
    assert body["sku"] == {"name": "Premium", "capacity": 2}
    assert body["identity"]["principalId"] == principal


def test_drifted_publisher_and_tags_are_patched_back_keeping_user_tags(engine, memsim):
    spec = make_spec(regions=["eastus"])
    engine.converge(apim_graph(spec))
    stored = memsim.get_resource(by_key(apim_graph(spec))["apim/eastus"].arm_id())
    stored["body"]["properties"]["publisherName"] = "someone else"
    stored["body"]["tags"] = {"cost-center": "42", "pros-deployment": "demo"}  # managed-by lost: drift
    plan = engine.plan(apim_graph(spec))
    assert plan.by_key()["apim/eastus"].action == "update"
    memsim.reset_log()
    engine.converge(apim_graph(spec))
    assert [w.split()[0] for w in writes(memsim)] == ["PATCH"]
    body = service_body(engine, spec)
    assert body["properties"]["publisherName"] == "pros"
    assert body["tags"] == {"cost-center": "42", **TAGS}


def test_a_failed_service_is_applied_again_with_a_full_put(engine, memsim):
    spec = make_spec(regions=["eastus"])
    engine.converge(apim_graph(spec))
    service = by_key(apim_graph(spec))["apim/eastus"]
    memsim.get_resource(service.arm_id())["body"]["properties"]["provisioningState"] = "Failed"
    memsim.reset_log()
    again = engine.converge(apim_graph(spec))
    assert again.plan.by_key()["apim/eastus"].action == "update"
    assert [w.split()[0] for w in writes(memsim)] == ["PUT"]
    assert service_body(engine, spec)["properties"]["provisioningState"] == "Succeeded"


def test_moving_between_classic_and_v2_tiers_is_refused_not_replaced(engine, memsim):
    engine.converge(apim_graph(make_spec(regions=["eastus"])))
    memsim.reset_log()
    plan = engine.plan(apim_graph(make_spec(regions=["eastus"], apim_sku="StandardV2")))
    assert any("cannot change sku.name: 'Developer' -> 'StandardV2'" in e for e in plan.errors), plan.errors
    assert writes(memsim) == []


def test_v2_tiers_are_created_with_az_rest_because_az_apim_rejects_them(engine):
    spec = make_spec(regions=["eastus"], apim_sku="StandardV2")
    created = engine.converge(apim_graph(spec))
    assert statuses(created)["apim/eastus"] == "succeeded"
    line = next(line for line in created.echoed if "ApiManagement" in line)
    assert line.startswith("az rest --method put --url 'https://management.azure.com/subscriptions/")
    assert '"name":"StandardV2"' in line
    assert service_body(engine, spec)["sku"] == {"name": "StandardV2", "capacity": 1}


def test_a_name_taken_in_another_subscription_stops_the_plan(engine, memsim):
    spec = make_spec(regions=["eastus"])
    memsim.take_name("Microsoft.ApiManagement/service", spec.names.apim("eastus"))
    plan = engine.plan(apim_graph(spec))
    assert any("is not available in Azure (AlreadyExists" in e for e in plan.errors), plan.errors


# ---- soft delete ------------------------------------------------------------------------------


def soft_delete(engine: Any, spec: Spec) -> ApiManagementService:
    service = by_key(apim_graph(spec))["apim/eastus"]
    service.delete(engine.clients).result()
    assert service.read(engine.clients) is None
    return service


def test_a_soft_deleted_name_stops_the_create_with_the_purge_command(engine, memsim):
    spec = make_spec(regions=["eastus"])
    engine.converge(apim_graph(spec))
    service = soft_delete(engine, spec)
    memsim.reset_log()

    plan = engine.plan(apim_graph(spec))
    name = spec.names.apim("eastus")
    purge = f"az apim deletedservice purge --service-name {name} -l eastus"
    assert len(plan.errors) == 1 and purge in plan.errors[0], plan.errors
    assert "soft-deleted" in plan.errors[0] and "--restore-soft-deleted" in plan.errors[0]
    assert writes(memsim) == []

    service.purge(engine.clients).result()
    again = engine.converge(apim_graph(spec))
    assert statuses(again)["apim/eastus"] == "succeeded"
    assert again.plan.by_key()["apim/eastus"].action == "create"


def test_restore_brings_the_soft_deleted_service_back_as_it_was(engine, memsim):
    spec = make_spec(regions=["eastus"], apim_sku="Premium", apim_capacity=2)
    engine.converge(apim_graph(spec))
    created_at = service_body(engine, spec)["properties"]["createdAtUtc"]
    soft_delete(engine, spec)

    restore = make_spec(regions=["eastus"], apim_sku="Premium", apim_capacity=2, restore_soft_deleted=True)
    memsim.reset_log()
    restored = engine.converge(apim_graph(restore))
    assert statuses(restored)["apim/eastus"] == "succeeded"
    line = next(line for line in restored.echoed if "ApiManagement" in line)
    assert line.startswith("az rest --method put ") and '"restore":true' in line
    body = service_body(engine, restore)
    assert body["sku"] == {"name": "Premium", "capacity": 2}
    assert body["properties"]["createdAtUtc"] == created_at  # the same service, not a new one
    assert "restore" not in body["properties"]

    memsim.reset_log()
    engine.converge(apim_graph(restore))
    assert writes(memsim) == []


# ---- custom domain from Key Vault -------------------------------------------------------------


def test_custom_domain_fails_like_apim_without_vault_access_then_is_configured(engine, memsim):
    spec = domain_spec()
    make_vault(engine.clients, VAULT_ID)
    first = engine.converge(apim_graph(spec))
    result = first.report.results["apim/eastus/custom-domain"]
    assert result.status == "failed"
    assert f"Failed to access KeyVault Secret {VERSIONLESS} using Managed Service Identity" in result.error
    assert statuses(first)["apim/eastus"] == "succeeded"
    principal = service_body(engine, spec)["identity"]["principalId"]
    # A role that cannot read secrets does not help either.
    grant(memsim, principal, VAULT_ID, role=READER)
    assert engine.converge(apim_graph(spec)).report.results["apim/eastus/custom-domain"].status == "failed"

    grant(memsim, principal, f"/subscriptions/{SUB}/resourceGroups/{VAULT_RG}")  # a parent scope of the vault
    memsim.reset_log()
    second = engine.converge(apim_graph(spec))
    assert statuses(second)["apim/eastus/custom-domain"] == "succeeded"
    name = spec.names.apim("eastus")
    assert writes(memsim) == [
        f"PATCH /subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.ApiManagement/service/{name}"
    ]
    hosts = {h["hostName"]: h for h in service_body(engine, spec)["properties"]["hostnameConfigurations"]}
    assert set(hosts) == {f"{name}.azure-api.net", HOST}
    assert hosts[HOST]["keyVaultId"] == VERSIONLESS  # versionless: APIM picks up renewed certificates
    assert hosts[HOST]["certificateSource"] == "KeyVault"
    assert hosts[HOST]["defaultSslBinding"] is True
    assert second.report.outputs["apim/eastus/custom-domain"]["custom_domain"] == HOST
    assert second.report.outputs["apim/eastus/custom-domain"]["certificate_thumbprint"]
    assert second.report.outputs[KV] == {"vault_id": VAULT_ID}
    assert [line.split(" --url ")[0] for line in second.echoed] == ["az rest --method patch"]

    memsim.reset_log()
    third = engine.converge(apim_graph(spec))
    assert writes(memsim) == []
    assert third.echoed == []


def test_an_access_policy_vault_needs_an_access_policy_not_a_role(engine, memsim):
    spec = domain_spec()
    make_vault(engine.clients, VAULT_ID, rbac=False)
    first = engine.converge(apim_graph(spec))
    principal = service_body(engine, spec)["identity"]["principalId"]
    assert first.report.results["apim/eastus/custom-domain"].status == "failed"
    grant(memsim, principal, VAULT_ID)
    assert engine.converge(apim_graph(spec)).report.results["apim/eastus/custom-domain"].status == "failed"

    vault = memsim.get_resource(VAULT_ID)
    vault["body"]["properties"]["accessPolicies"] = [
        {"tenantId": TENANT_ID, "objectId": principal, "permissions": {"secrets": ["get", "list"]}}
    ]
    assert statuses(engine.converge(apim_graph(spec)))["apim/eastus/custom-domain"] == "succeeded"


def test_the_custom_domain_waits_for_an_activating_service(engine, memsim):
    spec = domain_spec()
    make_vault(engine.clients, VAULT_ID)
    memsim.configure(profile="stuck")
    engine.converge([r for r in apim_graph(spec) if not isinstance(r, ApimCustomDomain)], no_wait=True)
    plan = engine.plan(apim_graph(spec))
    assert not plan.errors
    assert plan.by_key()["apim/eastus"].action == "resume"
    assert plan.by_key()["apim/eastus/custom-domain"].action == "resume"
    memsim.fast_forward()  # let the poller this process started finish


def test_removing_the_custom_domain_keeps_the_default_and_other_hostnames(engine, memsim):
    spec = domain_spec()
    make_vault(engine.clients, VAULT_ID)
    engine.converge([r for r in apim_graph(spec) if not isinstance(r, ApimCustomDomain)])
    body = service_body(engine, spec)
    grant(memsim, body["identity"]["principalId"], VAULT_ID)
    other = {
        "type": "DeveloperPortal",
        "hostName": "portal.contoso.com",
        "keyVaultId": f"https://{VAULT}.vault.azure.net/secrets/portal",
    }
    engine.clients.apim.api_management_service.begin_update(
        "rg-demo", body["name"], {"properties": {"hostnameConfigurations": [other]}}, cls=raw_json
    ).result()
    engine.converge(apim_graph(spec))
    hosts = [h["hostName"] for h in service_body(engine, spec)["properties"]["hostnameConfigurations"]]
    assert sorted(hosts) == sorted([f"{body['name']}.azure-api.net", "portal.contoso.com", HOST])

    domain = by_key(apim_graph(spec))["apim/eastus/custom-domain"]
    domain.delete(engine.clients).result()
    hosts = [h["hostName"] for h in service_body(engine, spec)["properties"]["hostnameConfigurations"]]
    assert sorted(hosts) == sorted([f"{body['name']}.azure-api.net", "portal.contoso.com"])
    assert domain.delete(engine.clients) is None  # nothing left to remove


def test_a_missing_key_vault_fails_the_plan_clearly(engine, memsim):
    plan = engine.plan(apim_graph(domain_spec()))
    assert any(
        f"Key Vault {VAULT} (from --certificate-secret-id) does not exist (pros reads it but never creates"
        in e
        for e in plan.errors
    ), plan.errors
    assert writes(memsim) == []


def test_the_vault_is_found_in_the_operators_resource_group(engine):
    make_vault(engine.clients, VAULT_ID)
    ref = KeyVaultRef(domain_spec(), key=KV)
    assert ref.arm_id().endswith(f"/providers/Microsoft.KeyVault/vaults/{VAULT}")
    found = ref.read(engine.clients)
    assert found is not None and found["id"] == VAULT_ID
    assert ref.arm_id() == VAULT_ID


# ---- az ---------------------------------------------------------------------------------------


def test_every_az_line_passes_azs_parser(engine, memsim, az_parser):
    lines: list[str] = []
    developer = make_spec(regions=["eastus"])
    lines += engine.converge(apim_graph(developer)).echoed  # az apim create
    lines += engine.converge(apim_graph(make_spec(regions=["eastus"], publisher_name="Contoso"))).echoed
    graph = by_key(apim_graph(developer))
    service = graph["apim/eastus"]
    current = service.read(engine.clients)
    assert current is not None
    lines += [c.render() for c in service.az_update(current, service.diff(current))]
    untagged = {**current, "tags": {"owner": "ops team"}}
    lines += [c.render() for c in service.az_update(untagged, service.diff(untagged))]
    assert "--tags managed-by=pros 'owner=ops team' pros-deployment=demo" in lines[-1]
    premium = by_key(apim_graph(make_spec(regions=["eastus"], apim_sku="Premium", apim_capacity=3)))
    lines += [
        c.render() for c in premium["apim/eastus"].az_update(current, premium["apim/eastus"].diff(current))
    ]
    v2 = by_key(apim_graph(make_spec(regions=["eastus"], apim_sku="BasicV2")))["apim/eastus"]
    lines += [c.render() for c in v2.az_create()]
    soft_delete(engine, developer)
    restore = make_spec(regions=["eastus"], restore_soft_deleted=True)
    lines += engine.converge(apim_graph(restore)).echoed  # az rest put (restore)
    make_vault(engine.clients, VAULT_ID)
    spec = domain_spec()
    grant(memsim, service_body(engine, spec)["identity"]["principalId"], VAULT_ID)
    lines += engine.converge(apim_graph(spec)).echoed  # az rest patch
    for r in apim_graph(spec):
        lines += [
            r.az_read().render(),
            *(c.render() for c in r.az_delete()),
            *(c.render() for c in r.az_create()),
        ]
    lines.append(service.az_purge().render())
    assert any(line.startswith("az apim update") for line in lines)
    assert any(line.startswith("az rest --method patch") for line in lines)
    assert az_parser.failures(lines) == []
