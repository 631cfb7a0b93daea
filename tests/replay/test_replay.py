"""The echo is a replay: the script ``--emit-script`` writes, run by bash and the real azure-cli
against an empty simulator, builds the deployment pros built, and runs again without failing.

pros runs against simulator A (the test's own cloud file) and writes the script; the harness runs
it verbatim with bash, every ``az`` line executed by azure-cli in the az venv with its HTTP routed
to an empty in-memory simulator B. Then A and B are held against each other through pros's own
resource kinds: the same resource ids, equal managed fields and tags (field by field), and pros's
own diff of B against the desired state is empty.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from pros_cli.azure.clients import ClientFactory
from pros_cli.resources.function_package import FunctionPackage
from pros_cli.resources.graph import full_graph
from pros_cli.simulator.core import Simulator
from tests.conftest import SUB, assert_no_secrets
from tests.replay.harness import compare, spec_from_state
from tests.vaults import make_vault

VAULT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-operator-secrets/providers/Microsoft.KeyVault/vaults/kv-operator"
)
CERT = "https://kv-operator.vault.azure.net/secrets/gateway-cert"


# What still differs, by design (docs/replay.md). pros remembers in its state file which API definition
# it imported; the replayed cloud has no pros state (the API's operations are compared live). Code
# deployed with `az functionapp deployment source config-zip` is marked as deployed by az_cli, so
# pros cannot tell it is the package it would deploy (az has no flag to mark it, and az rest cannot
# send a binary body): a pros run after a replay deploys the same package once more. The functions
# the apps list are compared separately.
API_DEFINITION_NOT_RECORDED = re.compile(
    r"apim/\w+/apis/openai: pros would change definition: 'not recorded' -> "
    r"'openai-inference\.openapi\.json sha256 [0-9a-f]+' on the replayed cloud"
)
AZ_DEPLOYED_CODE = re.compile(
    r"function-code/\w+: pros would redeploy: its latest deployment \S+ \(succeeded, by az_cli, [^)]*\) "
    r"is not one pros made on the replayed cloud"
)


def _unexpected(problems: list[str], known: tuple[re.Pattern[str], ...]) -> list[str]:
    return [p for p in problems if not any(k.fullmatch(p) for k in known)]


def _replay_twice(pros, sim, replay, *args: str, known: tuple[re.Pattern[str], ...] = ()) -> str:
    run = pros(*args, "--emit-script", "replay.sh", "-o", "json")
    assert run.code == 0, run.err
    script = Path.cwd() / "replay.sh"
    first = replay.run(script)
    assert first.code == 0, first.explain()
    problems = _unexpected(replay.differences(sim), known)
    assert not problems, "the replay differs from pros's run:\n" + "\n".join(problems)
    again = replay.run(script)
    assert again.code == 0, "a second replay failed: " + again.explain()
    problems = _unexpected(replay.differences(sim), known)
    assert not problems, "after the second replay:\n" + "\n".join(problems)
    text = script.read_text()
    assert_no_secrets(first.out, first.err, again.out, again.err, text)
    return text


@pytest.mark.replay
def test_default_deployment(pros, sim, replay, no_secret_leaks):
    text = _replay_twice(pros, sim, replay, "provision", "--base-name", "demo")
    # Every value fetched from Azure is fetched after the line that creates its source.
    lines = text.splitlines()
    fetch = next(i for i, line in enumerate(lines) if line.startswith("PROS_APPINSIGHTS_CONNECTION_STRING="))
    create = next(
        i for i, line in enumerate(lines) if "/components/appi-demo?" in line and "--method put" in line
    )
    assert create < fetch


@pytest.mark.replay
def test_three_regions_consumption_premium(pros, sim, replay, no_secret_leaks):
    _replay_twice(
        pros,
        sim,
        replay,
        "provision",
        "--base-name",
        "demo",
        "--region",
        "eastus",
        "--region",
        "westus",
        "--region",
        "swedencentral",
        "--function-plan",
        "consumption",
        "--apim-sku",
        "Premium",
    )


@pytest.mark.replay
def test_custom_domain(pros, sim, replay, no_secret_leaks):
    # The operator's Key Vault exists in both clouds before anything runs (pros only reads it).
    make_vault(ClientFactory(SUB, cloud="simulator", simulator=sim), VAULT_ID)
    make_vault(ClientFactory(SUB, cloud="simulator", simulator=replay.cloud), VAULT_ID)
    _replay_twice(
        pros,
        sim,
        replay,
        "provision",
        "--base-name",
        "demo",
        "--custom-domain",
        "api.contoso.com",
        "--certificate-secret-id",
        CERT,
    )


@pytest.mark.replay
def test_up_then_teardown(pros, sim, replay, no_secret_leaks):
    """``pros up`` runs provision, backends, policies and deploy-functions in one graph: one script
    holds every command's echo, and replays into the same gateway (backends, pools, named values,
    policies, the API), the same deployed functions and the Event Grid subscription. Then
    ``teardown --purge``'s script empties the replayed cloud as pros emptied its own."""
    known = (API_DEFINITION_NOT_RECORDED, AZ_DEPLOYED_CODE)
    text = _replay_twice(pros, sim, replay, "up", "--base-name", "demo", known=known)
    assert "az functionapp deployment source config-zip" in text
    assert "az eventgrid event-subscription create" in text
    # The code the script deployed: every app lists the functions pros's deployment made it list.
    state = json.loads((Path.cwd() / ".pros" / "demo.json").read_text())
    spec = spec_from_state(state)
    clients_a = ClientFactory(SUB, cloud="simulator", simulator=sim)
    clients_b = ClientFactory(SUB, cloud="simulator", simulator=replay.cloud)
    codes = [r for r in full_graph(spec) if isinstance(r, FunctionPackage) and r.key in state["resources"]]
    assert len(codes) == 3
    for r in codes:
        listed_a = r.read(clients_a)["properties"]["functions"]
        assert listed_a and r.read(clients_b)["properties"]["functions"] == listed_a, r.key

    # teardown --purge: its script removes from the replayed cloud what pros removed from its own,
    # frees the soft-deleted names the same way, and runs a second time without failing.
    down = pros("teardown", "--base-name", "demo", "--purge", "--yes", "--emit-script", "teardown.sh")
    assert down.code == 0, down.err
    teardown = Path.cwd() / "teardown.sh"
    for attempt in ("first", "second"):
        run = replay.run(teardown)
        assert run.code == 0, f"the {attempt} teardown replay failed: " + run.explain()
        sim.reload()
        assert sorted(replay.cloud.db["resources"]) == sorted(sim.db["resources"])
        assert replay.cloud.db.get("deleted") == sim.db.get("deleted")
    assert "az apim deletedservice purge" in teardown.read_text()
    assert_no_secrets(run.out, run.err, teardown.read_text())


def test_a_difference_is_reported_field_by_field(pros, sim):
    """The comparison itself (no az needed): a cloud that differs in a SKU, a tag and a setting is
    reported with each field, pros's value and the replayed one."""
    assert pros("provision", "--base-name", "demo", "-o", "json").code == 0
    sim.reload()
    other = Simulator()
    other.db = copy.deepcopy(sim.db)
    for rid, stored in other.db["resources"].items():
        if rid.endswith("/storageaccounts/" + "stdemoeus" + _suffix()):
            stored["body"]["sku"]["name"] = "Standard_GRS"
            stored["body"]["tags"]["pros-deployment"] = "other"
        if rid.endswith("/trafficmanagerprofiles/tm-demo"):
            stored["body"]["properties"]["dnsConfig"]["ttl"] = 60
    gone = next(rid for rid in other.db["resources"] if "/roleassignments/" in rid)
    del other.db["resources"][gone]
    state = json.loads((Path.cwd() / ".pros" / "demo.json").read_text())
    problems = compare(spec_from_state(state), set(state["resources"]), sim, other)
    assert f"missing after replay: {gone}" in problems
    assert "storage/eastus sku.name: pros 'Standard_LRS' != replay 'Standard_GRS'" in problems
    assert any(p.startswith("storage/eastus tags: ") and "'other'" in p for p in problems)
    assert "traffic-manager properties.dnsConfig.ttl: pros 30 != replay 60" in problems
    assert compare(spec_from_state(state), set(state["resources"]), sim, sim) == []


def _suffix() -> str:
    state = json.loads((Path.cwd() / ".pros" / "demo.json").read_text())
    return state["spec"]["name_suffix"]
