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
from pathlib import Path

import pytest

from pros_cli.azure.clients import ClientFactory
from pros_cli.simulator.core import Simulator
from tests.conftest import SUB, assert_no_secrets
from tests.replay.harness import compare, spec_from_state
from tests.vaults import make_vault

VAULT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-operator-secrets/providers/Microsoft.KeyVault/vaults/kv-operator"
)
CERT = "https://kv-operator.vault.azure.net/secrets/gateway-cert"


def _replay_twice(pros, sim, replay, *args: str) -> str:
    run = pros(*args, "--emit-script", "replay.sh", "-o", "json")
    assert run.code == 0, run.err
    script = Path.cwd() / "replay.sh"
    first = replay.run(script)
    assert first.code == 0, first.explain()
    problems = replay.differences(sim)
    assert not problems, "the replay differs from pros's run:\n" + "\n".join(problems)
    again = replay.run(script)
    assert again.code == 0, "a second replay failed: " + again.explain()
    problems = replay.differences(sim)
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
