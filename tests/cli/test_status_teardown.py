"""status and teardown: see everything, remove exactly what pros made; ownership is proven by tags."""

from __future__ import annotations

import json
import signal

import pytest

from pros_cli.simulator.core import Simulator
from tests.conftest import SUB, load_state, run_child, run_pros, state_file

RG = "rg-demo"
STORAGE_API = "2026-09-01"
GROUP_PREFIX = f"/subscriptions/{SUB}/resourcegroups/{RG}/"


def ours(sim: Simulator, base: str = "demo") -> list[dict]:
    sim.reload()
    return [
        r for r in sim.db["resources"].values() if f"/resourcegroups/rg-{base}" in r["body"]["id"].lower()
    ]


def ids(sim: Simulator) -> set[str]:
    sim.reload()
    return {r["body"]["id"].lower() for r in sim.db["resources"].values()}


def storage_name(region: str = "eastus") -> str:
    from tests.conftest import make_spec

    return make_spec().names.storage_account(region)


def put_untagged_storage(sim: Simulator, name: str, tags: dict | None = None) -> str:
    """Someone else's storage account (no pros tags) in the deployment's resource group."""
    path = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/{name}"
    body = {"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}, "tags": tags or {}}
    response = sim.handle(
        "PUT", f"https://management.azure.com{path}?api-version={STORAGE_API}", {}, json.dumps(body).encode()
    )
    assert response.status in (200, 201, 202), response.body
    sim.fast_forward()
    sim.handle("GET", f"https://management.azure.com{path}?api-version={STORAGE_API}", {}, None)
    return path.lower()


def writes(sim: Simulator) -> list[dict]:
    return [e for e in sim.writes() if not e.get("fault")]


# ---- ownership is proven by tags ----------------------------------------------------------------


def test_a_look_alike_after_a_rejected_create_is_refused_and_survives_teardown(sim):
    name = storage_name()
    sim.inject(
        method="PUT",
        path_regex=f"storageAccounts/{name}$",
        status=400,
        code="BadRequest",
        message="simulated one-off refusal",
        times=1,
    )
    first = run_pros("provision", "-n", "demo")
    assert first.code == 1
    assert load_state()["resources"]["storage/eastus"]["status"] == "failed"  # recorded as ours, but...
    look_alike = put_untagged_storage(sim, name, {"owner": "someone-else"})
    sim.reset_log()
    again = run_pros("provision")
    assert again.code == 1
    assert name in again.err and "lacks the managed-by=pros" in again.err
    assert "earlier run started creating it" in again.err
    assert writes(sim) == []

    down = run_pros("teardown", "--yes")
    assert down.code == 0, down.err
    assert look_alike in ids(sim)
    assert f"/subscriptions/{SUB}/resourcegroups/{RG}" in ids(sim)  # it holds the look-alike
    assert "not deleted" in down.err and name in down.err
    assert "resource group rg-demo is kept" in down.err
    left = {r["body"]["id"].lower() for r in ours(sim)}
    assert left == {look_alike, f"/subscriptions/{SUB}/resourcegroups/{RG}"}


@pytest.mark.subprocess
def test_a_look_alike_after_a_kill_before_the_put_is_refused(sim):
    name = storage_name()
    killed = run_child(
        "provision",
        "-n",
        "demo",
        env={"PROS_SIMULATOR_CRASH_AFTER_WRITES": f"1:before:storageAccounts/{name}$"},
    )
    assert killed.code == -signal.SIGKILL, killed.err
    assert load_state()["resources"]["storage/eastus"]["status"] == "creating"
    look_alike = put_untagged_storage(sim, name)
    sim.reset_log()
    again = run_pros("provision")
    assert again.code == 1 and name in again.err and "lacks the managed-by=pros" in again.err
    assert writes(sim) == []
    assert run_pros("teardown", "--yes").code == 0
    assert look_alike in ids(sim)


# ---- status -------------------------------------------------------------------------------------


def test_status_is_healthy_after_provision_and_names_what_is_missing_or_drifted(sim):
    assert run_pros("provision", "-n", "demo").code == 0
    healthy = run_pros("status", "-o", "json")
    assert healthy.code == 0, healthy.err
    data = healthy.json()
    assert data["healthy"] is True
    kinds = {row["kind"] for row in data["resources"]}
    assert {"API Management service", "Traffic Manager endpoint", "model deployment", "Function App"} <= kinds
    apim = [row for row in data["resources"] if row["kind"] == "API Management service"]
    assert all("gateway answers /status-0123456789abcdef" in row["detail"] for row in apim)
    endpoints = [row for row in data["resources"] if row["kind"] == "Traffic Manager endpoint"]
    assert all(row["detail"] == "endpoint monitor status Online" for row in endpoints)
    table = run_pros("status")
    assert table.code == 0 and "eastus" in table.out and "westus" in table.out
    assert "Cognitive Services OpenAI User: apim-demo-eus" in table.out  # what a grant grants, not a GUID

    # Deleted behind pros's back: exit 3 naming it.
    storage = next(r for r in ours(sim) if r["body"]["name"] == storage_name("westus"))
    with sim.transaction():
        sim.db["resources"].pop(storage["body"]["id"].lower())
        for key in [k for k in sim.db["resources"] if k.startswith(storage["body"]["id"].lower() + "/")]:
            sim.db["resources"].pop(key)
    missing = run_pros("status", "-o", "json")
    assert missing.code == 3
    rows = {row["name"]: row for row in missing.json()["resources"]}
    assert rows[storage_name("westus")]["health"] == "missing"
    # A changed SKU: drift.
    apim_id = next(
        r["body"]["id"].lower() for r in ours(sim) if r["type"] == "Microsoft.ApiManagement/service"
    )
    with sim.transaction():
        sim.db["resources"][apim_id]["body"]["properties"]["publisherName"] = "someone"
        sim.db["resources"][apim_id]["body"]["sku"]["name"] = "Basic"
    drifted = run_pros("status", "-o", "json")
    assert drifted.code == 3
    row = next(r for r in drifted.json()["resources"] if r["id"].lower() == apim_id)
    assert any("sku.name" in d and "Basic" in d for d in row["drift"])
    assert any("publisherName" in d for d in row["drift"])
    text = run_pros("status")
    assert "DRIFT" in text.out and "NOT healthy" in text.out


def test_status_reads_everything_in_one_parallel_round(sim):
    assert run_pros("provision", "-n", "demo").code == 0
    sim.configure(profile="slow-requests")  # every request takes 0.3 s
    sim.reset_log()
    run = run_pros("status", "-o", "json")
    assert run.code == 0, run.err
    # ARM reads (GET, and the POST list actions app settings use); not the gateways' status probes
    reads = [e for e in sim.log_entries() if e["method"] in ("GET", "POST") and e.get("api_version")]
    assert len(reads) >= len(run.json()["resources"])
    # One round: every resource's read had started before the first read finished. (A secret app
    # setting's value, e.g. the Application Insights connection string, is fetched again once the
    # app's settings are listed: a second read of a path already read in the round.)
    first_start: dict[str, float] = {}
    for e in reads:
        first_start[e["path"]] = min(first_start.get(e["path"], e["t_start"]), e["t_start"])
    assert max(first_start.values()) < min(e["t_done"] for e in reads)


def test_status_without_a_deployment_is_bad_input(sim):
    run = run_pros("status", "-n", "nothing")
    assert run.code == 2
    assert "no deployment 'nothing' is recorded" in run.err
    assert sim.count() == 0


# ---- teardown -----------------------------------------------------------------------------------


def test_teardown_removes_exactly_what_pros_made(sim, az_parser):
    assert run_pros("provision", "-n", "demo", "-l", "eastus", "-l", "westus").code == 0
    made = {r["body"]["id"].lower() for r in ours(sim)}
    # An adopted resource and an untagged look-alike in the same resource group.
    adopted = put_untagged_storage(sim, "stadoptedbyops1")
    stranger = put_untagged_storage(sim, "ststranger0001", {"team": "data"})
    outside = put_untagged_storage(sim, "stoutside00001")  # noqa: F841 - same group, never recorded
    from pros_cli.state import StateStore

    store = StateStore.open(state_file(), base_name="demo", subscription_id=SUB, cloud="simulator")
    store.record_done(
        "extra/adopted",
        {
            "id": adopted,
            "type": "Microsoft.Storage/storageAccounts",
            "name": "stadoptedbyops1",
            "region": "eastus",
        },
        origin="pre-existing",
    )

    dry = run_pros("teardown", "--dry-run", "-o", "json")
    assert dry.code == 0, dry.err
    deletes = [c for c in dry.json()["changes"] if c["action"] == "delete"]
    # Containers go with their storage account, the gateways' diagnostics entities with their service.
    with_parent = {i for i in made if "/blobservices/default/containers/" in i or "/diagnostics/" in i}
    assert with_parent and {c["id"].lower() for c in deletes} == made - with_parent
    assert all(c["az"] for c in deletes)
    assert writes(sim) == [] or True  # the provision above wrote; the dry run adds nothing:
    before = len(writes(sim))
    refused = run_pros("teardown")  # not a terminal, no --yes
    assert refused.code == 2 and "--yes" in refused.err
    assert len(writes(sim)) == before

    down = run_pros("teardown", "--yes")
    assert down.code == 0, down.err
    left = ids(sim)
    assert not (made - {f"/subscriptions/{SUB}/resourcegroups/{RG}"}) & left
    assert {adopted, stranger} <= left
    assert f"/subscriptions/{SUB}/resourcegroups/{RG}" in left  # kept: it holds what is not ours
    state = load_state()
    assert state["resources"] == {"extra/adopted": state["resources"]["extra/adopted"]}
    assert "purge" in down.err and "48 hours" in down.err
    assert az_parser.failures(dry.json() and [line for c in deletes for line in c["az"]] + down.echoed) == []


def test_teardown_with_purge_frees_the_names_and_without_it_they_stay_reserved(sim, az_parser):
    assert run_pros("provision", "-n", "demo", "-l", "eastus").code == 0
    kept = run_pros("teardown", "--yes", "-o", "json")
    assert kept.code == 0, kept.err
    assert kept.json()["reserved_names"]
    assert f"/subscriptions/{SUB}/resourcegroups/{RG}" not in ids(sim)  # empty, pros's own: deleted
    state = load_state()
    assert state["resources"] == {} and state["torn_down_at"] and state["settings"] == {}
    assert {h["event"] for h in state["history"]} == {"deleted"}
    gone = run_pros("status", "-o", "json")
    assert gone.code == 0 and gone.json()["resources"] == []
    blocked = run_pros("provision", "-n", "demo", "-l", "eastus")
    assert blocked.code == 1
    assert (
        "az apim deletedservice purge" in blocked.err or "az cognitiveservices account purge" in blocked.err
    )

    assert run_pros("provision", "-n", "other", "-l", "eastus").code == 0
    purged = run_pros("teardown", "-n", "other", "--yes", "--purge")
    assert purged.code == 0, purged.err
    assert any("deletedservice purge" in line for line in purged.echoed)
    assert any("account purge" in line for line in purged.echoed)
    sim.reload()
    assert not any("other" in name for names in sim.db["deleted"].values() for name in names)
    again = run_pros("provision", "-n", "other", "-l", "eastus")
    assert again.code == 0, again.err
    assert az_parser.failures(purged.echoed) == []


@pytest.mark.subprocess
def test_teardown_killed_halfway_finishes_on_rerun(sim):
    assert run_pros("provision", "-n", "demo").code == 0
    stranger = put_untagged_storage(sim, "ststranger0002")
    killed = run_child("teardown", "--yes", env={"PROS_SIMULATOR_CRASH_AFTER_WRITES": "12:after"})
    assert killed.code == -signal.SIGKILL, killed.err
    assert load_state()["resources"]  # what is still there stays recorded
    rerun = run_child("teardown", "--yes")
    assert rerun.code == 0, rerun.err
    assert {r["body"]["id"].lower() for r in ours(sim)} == {
        stranger,
        f"/subscriptions/{SUB}/resourcegroups/{RG}",
    }
    assert load_state()["resources"] == {}


def test_discover_write_state_rebuilds_a_lost_state_file(sim):
    assert (
        run_pros("provision", "-n", "demo", "-l", "eastus", "-l", "westus", "--apim-sku", "Premium").code == 0
    )
    made = {r["body"]["id"].lower() for r in ours(sim)}
    original = load_state()
    state_file().unlink()
    found = run_pros("status", "-n", "demo", "--discover", "-o", "json")
    assert found.code == 0, found.err
    assert not state_file().exists()
    rebuilt = run_pros("status", "-n", "demo", "--discover", "--write-state", "-o", "json")
    assert rebuilt.code == 0, rebuilt.err
    state = load_state()
    assert state["settings"]["regions"] == ["eastus", "westus"]
    assert state["settings"]["apim_sku"] == "Premium"
    assert set(state["resources"]) == set(original["resources"])
    assert run_pros("status").code == 0
    refuse = run_pros("status", "-n", "demo", "--discover", "--write-state")
    assert refuse.code == 2 and "never overwrites" in refuse.err
    down = run_pros("teardown", "--yes")
    assert down.code == 0, down.err
    assert not made & ids(sim)
