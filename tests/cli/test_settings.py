"""A deployment keeps its settings: re-runs and later commands work from what it was made with."""

from __future__ import annotations

import json

import pytest

from pros_cli.simulator.core import Simulator
from tests.conftest import load_state, run_pros, state_file

WRITES = ("PUT", "PATCH", "DELETE")
THREE = ("-l", "eastus", "-l", "westeurope", "-l", "japaneast")


def writes(sim: Simulator) -> list[dict]:
    return [e for e in sim.writes() if not e.get("fault")]


def plan_json(*args: str) -> dict:
    run = run_pros("provision", *args, "--dry-run", "-o", "json")
    assert run.code == 0, run.err
    return run.json()


def provision_three(sim: Simulator) -> None:
    run = run_pros(
        "provision",
        "-n",
        "demo",
        *THREE,
        "--apim-sku",
        "Premium",
        "--storage-sku",
        "Standard_ZRS",
        "--model",
        "chat=gpt-5.2:2025-12-11",
        "--model",
        "emb=text-embedding-3-large:1",
        "--model-capacity",
        "20",
        "--redis-sku",
        "Balanced_B1",
        "--publisher-email",
        "ops@contoso.com",
    )
    assert run.code == 0, run.err


def test_a_bare_rerun_uses_the_recorded_settings_and_changes_nothing(sim):
    provision_three(sim)
    recorded = load_state()["settings"]
    assert recorded["regions"] == ["eastus", "westeurope", "japaneast"]
    assert recorded["apim_sku"] == "Premium"
    assert recorded["shared_region"] == "eastus"
    assert [m["capacity"] for m in recorded["models"]] == [20, 20]
    before = len(writes(sim))

    plan = plan_json()
    assert plan["settings"] == []
    assert {c["action"] for c in plan["changes"]} == {"no-op"}
    assert {c["region"] for c in plan["changes"] if c["region"]} == {"eastus", "westeurope", "japaneast"}

    again = run_pros("provision")
    assert again.code == 0, again.err
    assert again.echoed == []
    assert len(writes(sim)) == before


def test_settings_show_where_each_value_comes_from(sim, isolated):
    provision_three(sim)
    config = isolated / "pros.toml"
    config.write_text('publisher_name = "Platform team"\n')
    run = run_pros(
        "settings",
        "--config",
        str(config),
        "--apim-capacity",
        "2",
        "-o",
        "json",
        env={"PROS_PYTHON_VERSION": "3.12"},
    )
    assert run.code == 0, run.err
    data = run.json()
    sources = {row["name"]: row["source"] for row in data["settings"]}
    values = {row["name"]: row["value"] for row in data["settings"]}
    assert sources["apim_capacity"] == "flag" and values["apim_capacity"] == 2
    assert sources["python_version"] == "env" and values["python_version"] == "3.12"
    assert sources["publisher_name"] == "config" and values["publisher_name"] == "Platform team"
    assert sources["apim_sku"] == "state" and values["apim_sku"] == "Premium"
    assert sources["function_plan"] == "state" and values["function_plan"] == "flex"  # every one recorded
    assert {c["name"] for c in data["changes"]} == {"apim_capacity", "python_version", "publisher_name"}
    count = sim.count()
    table = run_pros("settings")
    assert table.code == 0 and "apim_sku" in table.out and "state" in table.out
    fresh = run_pros("settings", "-n", "fresh", "-o", "json")
    assert fresh.code == 0, fresh.err
    assert {row["source"] for row in fresh.json()["settings"]} == {"default"}
    assert fresh.json()["recorded"] is False
    assert sim.count() == count  # pros settings reads nothing from Azure


def test_a_changed_setting_is_shown_first_and_recorded_only_after_success(sim):
    provision_three(sim)
    plan = plan_json("--apim-capacity", "2")
    assert plan["settings"] == [{"name": "apim_capacity", "from": 1, "to": 2, "source": "flag"}]
    updates = [c for c in plan["changes"] if c["action"] != "no-op"]
    assert {(c["type"], c["region"]) for c in updates} == {
        ("Microsoft.ApiManagement/service", r) for r in ("eastus", "westeurope", "japaneast")
    }
    table = run_pros("provision", "--apim-capacity", "2", "--dry-run")
    assert table.out.index("Settings") < table.out.index("Microsoft.ApiManagement/service")

    # A run that fails keeps the recorded settings as they were.
    sim.inject(
        method="PATCH",
        path_regex=r"service/apim-demo-jpe",
        status=400,
        code="BadRequest",
        message="simulated refusal",
        times=1,
    )
    failed = run_pros("provision", "--apim-capacity", "2")
    assert failed.code == 1
    assert load_state()["settings"]["apim_capacity"] == 1
    assert plan_json()["settings"] == []  # the bare re-run still wants the recorded capacity

    ok = run_pros("provision", "--apim-capacity", "2")
    assert ok.code == 0, ok.err
    assert load_state()["settings"]["apim_capacity"] == 2
    assert {c["action"] for c in plan_json()["changes"]} == {"no-op"}


def test_adding_and_removing_a_region(sim, az_parser):
    assert run_pros("provision", "-n", "demo", "-l", "eastus", "-l", "westus").code == 0
    before = {r["body"]["id"].lower() for r in sim_resources(sim)}
    sim.reset_log()
    added = run_pros("provision", "-l", "eastus", "-l", "westus", "-l", "westeurope", "-o", "json")
    assert added.code == 0, added.err
    assert added.json()["settings"][0]["name"] == "regions"
    after = {r["body"]["id"].lower() for r in sim_resources(sim)}
    new = after - before
    assert new and before <= after
    from tests.cli.test_provision import expected_ids

    assert after == expected_ids(("eastus", "westus", "westeurope"))
    assert any(i.endswith("/externalendpoints/apim-westeurope") for i in new)
    # every write of that run went to the new region's resources or grants on the shared ones
    created = {e["path"].lower() for e in writes(sim) if e["method"] == "PUT"}
    assert created, "the region was created"
    assert all("weu" in p or "westeurope" in p or "roleassignments" in p for p in created), created
    echoed = list(added.echoed)

    # Removing it without --prune: nothing changes, the deletes are listed.
    sim.reset_log()
    refused = run_pros("provision", "-l", "eastus", "-l", "westus")
    assert refused.code == 2, refused.err
    assert "--prune" in refused.err
    assert "apim-demo-weu" in refused.err and "oai-demo-weu" in refused.err
    assert writes(sim) == []
    plan = plan_json("-l", "eastus", "-l", "westus")
    deletes = [c for c in plan["changes"] if c["action"] == "delete"]
    assert {c["id"].lower() for c in deletes} <= new
    assert all(c["az"] for c in deletes)

    pruned = run_pros("provision", "-l", "eastus", "-l", "westus", "--prune")
    assert pruned.code == 0, pruned.err
    assert {r["body"]["id"].lower() for r in sim_resources(sim)} == before
    state = load_state()
    assert state["settings"]["regions"] == ["eastus", "westus"]
    assert not any("westeurope" in (e.get("region") or "") for e in state["resources"].values())
    assert {h["event"] for h in state["history"]} >= {"deleted"}
    echoed += pruned.echoed
    assert any(" delete " in f" {line} " for line in echoed)

    sim.reset_log()
    again = run_pros("provision")
    assert again.code == 0, again.err
    assert writes(sim) == []
    assert az_parser.failures(echoed) == []


def test_the_shared_region_cannot_be_removed_or_moved(sim):
    assert run_pros("provision", "-n", "demo", "-l", "eastus", "-l", "westus").code == 0
    sim.reset_log()
    gone = run_pros("provision", "-l", "westus", "--prune")
    assert gone.code == 2
    assert "shared region eastus cannot be removed" in gone.err and "teardown" in gone.err
    moved = run_pros("provision", "--shared-region", "westus")
    assert moved.code == 2
    assert "shared_region cannot change" in moved.err
    plan_change = run_pros("provision", "--function-plan", "consumption")
    assert plan_change.code == 2 and "function_plan cannot change" in plan_change.err
    cache_change = run_pros("provision", "--cache-kind", "azure-cache-for-redis")
    assert cache_change.code == 2 and "cache_kind cannot change" in cache_change.err
    assert "usage ledger" in cache_change.err  # what would be left behind, and what to do
    assert sim.count() == 0


def test_settings_come_from_the_environment_and_config_below_flags(sim, isolated):
    config = isolated / "pros.toml"
    config.write_text('regions = ["eastus", "japaneast"]\nstorage_sku = "Standard_GRS"\n')
    run = run_pros(
        "provision",
        "-n",
        "demo",
        "--config",
        str(config),
        "--storage-sku",
        "Standard_ZRS",
        "--dry-run",
        "-o",
        "json",
        env={"PROS_REGIONS": "eastus,westeurope"},
    )
    assert run.code == 0, run.err
    changes = run.json()["changes"]
    assert {c["region"] for c in changes if c["region"]} == {"eastus", "westeurope"}  # env beats config
    storage = [line for c in changes for line in c["az"] if "storage account create" in line]
    assert storage and all("Standard_ZRS" in line for line in storage)  # flag beats config


def test_the_state_is_read_only_once_the_lock_is_held(sim, monkeypatch):
    """A run that gets the lock just after another run finished works from what that run wrote."""
    assert run_pros("provision", "-n", "demo").code == 0
    from pros_cli import state as state_mod

    original = state_mod.DeploymentLock.acquire

    def acquire_after_another_run(self):
        original(self)
        data = json.loads(state_file().read_text())  # the other run records its settings last
        data["settings"]["apim_capacity"] = 1
        data["settings"]["publisher_name"] = "Written by the other run"
        state_file().write_text(json.dumps(data))

    monkeypatch.setattr(state_mod.DeploymentLock, "acquire", acquire_after_another_run)
    run = run_pros("provision", "-o", "json")
    assert run.code == 0, run.err
    assert run.json()["settings"] == []  # no change back to what it would have read before the lock
    assert load_state()["settings"]["publisher_name"] == "Written by the other run"


@pytest.mark.parametrize(
    ("env", "needle"),
    [({"PROS_APIM_CAPACITY": "two"}, "PROS_APIM_CAPACITY"), ({"PROS_REGIONS": "eastus,mars"}, "mars")],
)
def test_bad_environment_settings_exit_2_before_any_request(sim, env, needle):
    run = run_pros("provision", "-n", "demo", env=env)
    assert run.code == 2, run.err
    assert needle in run.err
    assert sim.count() == 0


def sim_resources(sim: Simulator) -> list[dict]:
    sim.reload()
    return [r for r in sim.db["resources"].values()]
