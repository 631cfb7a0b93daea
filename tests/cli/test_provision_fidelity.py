"""Where the simulator now disagrees with Azure less, pros copes as it must on Azure: role assignments
with principalType at the first attempt, a Key Vault grant that takes time to reach API Management."""

from __future__ import annotations

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.simulator.core import Simulator
from pros_cli.simulator.providers.keyvault import set_rbac_propagation
from pros_cli.spec import build_spec
from tests.conftest import SUB, run_pros
from tests.vaults import make_vault

VAULT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-operator-secrets/providers/Microsoft.KeyVault/vaults/kv-operator"
)
CERT = "https://kv-operator.vault.azure.net/secrets/gateway-cert"


def test_every_role_assignment_succeeds_at_the_first_attempt(sim: Simulator):
    run = run_pros("provision", "--base-name", "demo", "-q")
    assert run.code == 0, run.err
    sim.reload()
    puts = [e for e in sim.log_entries() if e["method"] == "PUT" and "/roleAssignments/" in e["path"]]
    made = sim.resources_of_type("Microsoft.Authorization/roleAssignments")
    assert len(made) >= 8
    assert [e["status"] for e in puts] == [201] * len(made)  # no PrincipalNotFound, no retry
    assert {r["body"]["properties"]["principalType"] for r in made} == {"ServicePrincipal"}


def test_the_custom_domain_waits_for_the_key_vault_grant_to_propagate(sim: Simulator):
    make_vault(ClientFactory(SUB, cloud="simulator", simulator=sim), VAULT_ID)
    set_rbac_propagation(sim, 3.0)  # Azure: up to ~10 minutes; pros waits up to 15 (scaled here)
    run = run_pros(
        "provision",
        "--base-name",
        "demo",
        "--custom-domain",
        "api.contoso.com",
        "--certificate-secret-id",
        CERT,
    )
    assert run.code == 0, run.err
    waits = [line for line in run.err.splitlines() if line.startswith("waiting for Key Vault access: ")]
    assert waits, run.err
    assert "the role assignment is not effective yet (Azure takes up to ~10 minutes)" in waits[0]
    patches = [
        (e["status"], e.get("code"))
        for e in sim.log_entries()
        if e["method"] == "PATCH" and "Microsoft.ApiManagement/service/" in e["path"]
    ]
    assert (400, "InvalidOperation") in patches  # refused while the grant propagated, as Azure does
    assert patches.count((202, None)) == 2  # then accepted, once per gateway
    sim.reload()
    spec = build_spec(base_name="demo", subscription_id=SUB)
    clients = ClientFactory(SUB, cloud="simulator", simulator=sim)
    for region in ("eastus", "westus"):
        service = clients.apim.api_management_service.get("rg-demo", spec.names.apim(region), cls=raw_json)
        assert "api.contoso.com" in {h["hostName"] for h in service["properties"]["hostnameConfigurations"]}
