"""pros provision against the simulator: idempotence, crash recovery, locking, faults, input."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal

import pytest

from pros_cli.simulator.core import Simulator
from tests.conftest import (
    SUB,
    assert_no_secrets,
    load_state,
    run_child,
    run_pros,
    spawn,
    state_file,
    wait_for,
)

WRITES = ("PUT", "PATCH", "DELETE")
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-demo"
SEED = 4


def sim_resources(sim: Simulator) -> dict[str, dict]:
    sim.reload()
    return {r["body"]["id"].lower(): r for r in sim.db["resources"].values()}


def graph(regions: tuple[str, ...] = ("eastus", "westus"), **overrides):
    from pros_cli.resources.graph import build_resources
    from pros_cli.spec import build_spec

    return build_resources(build_spec(base_name="demo", subscription_id=SUB, regions=regions, **overrides))


def expected_ids(regions: tuple[str, ...] = ("eastus", "westus")) -> set[str]:
    """ARM ids the deployment creates (app settings live inside their site, not as resources)."""
    return {r.arm_id().lower() for r in graph(regions) if r.arm_type != "Microsoft.Web/sites/config"}


def tagged_ids(regions: tuple[str, ...] = ("eastus", "westus")) -> set[str]:
    return {r.arm_id().lower() for r in graph(regions) if r.tagged and not r.external}


def storage_id(region: str) -> str:
    return next(r.arm_id().lower() for r in graph() if r.key == f"storage/{region}")


def in_flight(base: str = "demo") -> list[str]:
    """Keys of resources whose long-running operation is recorded with a continuation token."""
    if not state_file(base).exists():
        return []
    entries = load_state(base)["resources"]
    return [k for k, e in entries.items() if (e.get("operation") or {}).get("continuation_token")]


def test_fresh_provision_creates_tagged_resources_and_records_them(sim, no_secret_leaks):
    run = run_pros("provision", "--base-name", "demo")
    assert run.code == 0, run.err
    resources = sim_resources(sim)
    assert set(resources) == expected_ids()
    for rid in tagged_ids():
        assert resources[rid]["body"]["tags"] == {"managed-by": "pros", "pros-deployment": "demo"}, rid
    kinds = {r["type"].lower() for r in resources.values()}
    assert kinds >= {
        t.lower()
        for t in (
            "Microsoft.Resources/resourceGroups",
            "Microsoft.Storage/storageAccounts",
            "Microsoft.CognitiveServices/accounts",
            "Microsoft.CognitiveServices/accounts/deployments",
            "Microsoft.Web/serverfarms",
            "Microsoft.Web/sites",
            "Microsoft.ApiManagement/service",
            "Microsoft.EventGrid/topics",
            "Microsoft.Cache/redisEnterprise",
            "Microsoft.Cache/redisEnterprise/databases",
            "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments",
            "Microsoft.Network/trafficmanagerprofiles",
            "Microsoft.Network/trafficmanagerprofiles/externalEndpoints",
            "Microsoft.Authorization/roleAssignments",
        )
    }
    storage = [r["body"] for r in resources.values() if r["type"] == "Microsoft.Storage/storageAccounts"]
    assert len(storage) == 3  # one per region and the token processor's
    for body in storage:
        assert body["kind"] == "StorageV2"
        assert body["sku"]["name"] == "Standard_LRS"
        assert body["properties"]["minimumTlsVersion"] == "TLS1_2"
        assert body["properties"]["allowBlobPublicAccess"] is False
    state = load_state()
    assert state["schema_version"] == 1
    assert {e["id"].lower() for e in state["resources"].values()} >= expected_ids()
    assert len(state["resources"]) == len(graph())
    for entry in state["resources"].values():
        assert entry["status"] == "succeeded"
        assert entry["origin"] == "created"
        assert entry["operation"] is None
    assert_no_secrets(run.out, run.err)


def test_second_provision_makes_no_writes_and_plans_all_noop(sim):
    assert run_pros("provision", "--base-name", "demo").code == 0
    writes_before = sim.count(*WRITES)
    plan = run_pros("provision", "--base-name", "demo", "--dry-run", "-o", "json")
    assert plan.code == 0, plan.err
    actions = {c["action"] for c in plan.json()["changes"]}
    assert actions == {"no-op"}
    again = run_pros("provision", "--base-name", "demo")
    assert again.code == 0, again.err
    assert sim.count(*WRITES) == writes_before
    assert again.echoed == []


def test_dry_run_json_lists_changes_with_arm_types_and_az_lines(sim):
    run = run_pros("provision", "--base-name", "demo", "--dry-run", "-o", "json")
    assert run.code == 0, run.err
    data = run.json()
    assert {c["type"] for c in data["changes"]} == {r.arm_type for r in graph()}
    assert len(data["changes"]) == len(graph())
    for change in data["changes"]:
        assert set(change) >= {"action", "type", "name", "id", "region", "reasons", "az"}
        assert change["action"] == "create"
        assert change["reasons"]
        assert change["az"] and all(line.startswith("az ") for line in change["az"])
    assert sim.count(*WRITES) == 0
    assert not state_file().exists()


def test_offline_dry_run_needs_no_cloud_and_says_so(isolated, monkeypatch):
    monkeypatch.delenv("PROS_CLOUD")
    run = run_pros("provision", "--base-name", "demo", "--dry-run", "--offline", "-o", "json")
    assert run.code == 0, run.err
    assert "offline" in run.err
    data = run.json()
    assert data["offline"] is True
    assert len(data["changes"]) == len(graph())
    assert {c["type"] for c in data["changes"]} == {r.arm_type for r in graph()}
    assert not (isolated / ".pros").exists()


def test_offline_without_dry_run_is_refused(sim):
    run = run_pros("provision", "--base-name", "demo", "--offline")
    assert run.code == 2
    assert "--dry-run" in run.err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--base-name", "Demo"], "uppercase"),
        (["--base-name", "de"], "characters long"),
        (["--base-name", "a-very-long-name"], "characters long"),
        (["--base-name", "1demo"], "start with a letter"),
        (["--base-name", "demo-"], "ends with a hyphen"),
        (["--base-name", "de--mo"], "consecutive hyphens"),
        (["--base-name", "de_mo"], "'_'"),
        (["--base-name", "demo", "--region", "eastus", "--region", "mars"], "unknown Azure region 'mars'"),
        (["--base-name", "demo", "--region", "eastus", "--region", "eastus"], "given twice"),
        (["--base-name", "demo", "--parallelism", "0"], "parallelism"),
        (["--base-name", "demo", "-o", "yaml"], "yaml"),
        (["--base-name", "demo", "--storage-sku", "Premium_XYZ"], "storage SKU"),
        (["--base-name", "demo", "--subscription", "not-a-guid"], "subscription id"),
        (["--base-name", "demo", "--quiet", "--verbose"], "contradict"),
        (["--base-name", "demo", "--no-such-option"], "no-such-option"),
    ],
)
def test_bad_input_exits_2_before_any_request(sim, args, needle):
    run = run_pros("provision", *args)
    assert run.code == 2, (run.out, run.err)
    assert needle.lower() in run.err.lower()
    assert sim.count() == 0
    assert not state_file().exists()


def test_bad_environment_value_exits_2(sim):
    run = run_pros("provision", "--base-name", "demo", env={"PROS_PARALLELISM": "lots"})
    assert run.code == 2
    assert sim.count() == 0


def test_no_subscription_anywhere_is_a_clear_error(isolated, monkeypatch):
    monkeypatch.delenv("PROS_CLOUD")
    run = run_pros("provision", "--base-name", "demo", "--dry-run")
    assert run.code == 2
    assert "no Azure subscription selected" in run.err
    assert "az login" in run.err


def test_subscription_from_az_cli_profile(isolated, monkeypatch):
    monkeypatch.delenv("PROS_CLOUD")
    config = isolated / "azure-config"
    config.mkdir()
    sub = "11111111-2222-3333-4444-555555555555"
    profile = {
        "subscriptions": [
            {"id": "99999999-2222-3333-4444-555555555555", "isDefault": False},
            {"id": sub, "isDefault": True},
        ]
    }
    (config / "azureProfile.json").write_text("\ufeff" + json.dumps(profile), encoding="utf-8")
    run = run_pros("provision", "--base-name", "demo", "--dry-run", "--offline", "-o", "json")
    assert run.code == 0, run.err
    assert any(sub in c["id"] for c in run.json()["changes"])


def test_global_options_work_after_the_subcommand_and_from_environment(sim):
    before = run_pros("-o", "json", "--dry-run", "provision", "--base-name", "demo")
    after = run_pros("provision", "--base-name", "demo", "--dry-run", "-o", "json")
    env = run_pros("provision", env={"PROS_BASE_NAME": "demo", "PROS_OUTPUT": "json", "PROS_DRY_RUN": "1"})
    assert before.code == after.code == env.code == 0
    assert before.json() == after.json() == env.json()


def test_base_name_defaults_to_the_only_recorded_deployment(sim):
    assert run_pros("provision", "--base-name", "demo").code == 0
    run = run_pros("provision", "--dry-run", "-o", "json")
    assert run.code == 0, run.err
    assert {c["action"] for c in run.json()["changes"]} == {"no-op"}
    assert run_pros("provision", "--base-name", "other").code == 0
    ambiguous = run_pros("provision", "--dry-run")
    assert ambiguous.code == 2
    assert "several deployments" in ambiguous.err


def test_with_30_percent_throttling_and_5_percent_errors_provision_succeeds(sim):
    # Seeded, so the same requests are throttled or failed on every run of this test.
    sim.configure(throttle=0.30, error=0.05, retry_after=0, seed=SEED)
    regions = ("eastus", "westus", "westeurope")
    run = run_pros("provision", "--base-name", "demo", *[f"--region={r}" for r in regions])
    assert run.code == 0, run.err
    statuses = [e["status"] for e in sim.log_entries()]
    assert statuses.count(429) >= 5 and statuses.count(500) >= 1, statuses
    assert set(sim_resources(sim)) == expected_ids(regions)
    writes = [e for e in sim.writes() if not e.get("fault")]
    again = run_pros("provision", "--base-name", "demo")
    assert again.code == 0, again.err
    assert again.echoed == []
    assert [e for e in sim.writes() if not e.get("fault")] == writes


def test_server_errors_on_writes_are_retried(sim):
    sim.inject(
        method="PUT",
        path_regex="storageAccounts",
        status=500,
        code="InternalServerError",
        message="simulated",
        times=3,
    )
    sim.inject(
        method="PUT",
        path_regex="resourcegroups",
        status=503,
        code="ServiceUnavailable",
        message="simulated",
        times=2,
    )
    run = run_pros("provision", "--base-name", "demo")
    assert run.code == 0, run.err
    statuses = [e["status"] for e in sim.log_entries() if e["method"] == "PUT"]
    assert statuses.count(500) == 3 and statuses.count(503) == 2
    assert set(sim_resources(sim)) == expected_ids()


def test_drift_in_a_mutable_setting_is_updated_in_place(sim):
    assert run_pros("provision", "--base-name", "demo").code == 0
    sa_id = storage_id("eastus")
    with sim.transaction():
        sim.db["resources"][sa_id]["body"]["properties"]["minimumTlsVersion"] = "TLS1_0"
        tags = sim.db["resources"][sa_id]["body"]["tags"]
        tags["owner"] = "team-x"  # a user's tag beside ours (without ours it would be a look-alike)
    writes = sim.count(*WRITES)
    plan = run_pros("provision", "--dry-run", "-o", "json")
    changes = {c["name"]: c for c in plan.json()["changes"]}
    change = changes[sa_id.rsplit("/", 1)[1]]
    assert change["action"] == "update"
    assert any("minimumTlsVersion" in r for r in change["reasons"])
    run = run_pros("provision")
    assert run.code == 0, run.err
    assert sim.count(*WRITES) == writes + 1
    assert sim.writes()[-1]["method"] == "PATCH"
    body = sim_resources(sim)[sa_id]["body"]
    assert body["properties"]["minimumTlsVersion"] == "TLS1_2"
    assert body["tags"]["owner"] == "team-x"  # the user's tag is kept
    assert body["tags"]["managed-by"] == "pros"
    assert any(line.startswith("az storage account update") for line in run.echoed)


def test_immutable_drift_is_refused_not_replaced(sim):
    assert run_pros("provision", "--base-name", "demo").code == 0
    sa_id = storage_id("eastus")
    with sim.transaction():
        sim.db["resources"][sa_id]["body"]["location"] = "centralus"
    writes = sim.count(*WRITES)
    run = run_pros("provision")
    assert run.code == 1
    assert "cannot change location" in run.err
    assert "nothing was changed" in run.err
    assert sim.count(*WRITES) == writes


def test_existing_resource_without_our_tags_needs_adopt(sim):
    from pros_cli.azure.clients import ClientFactory

    clients = ClientFactory(SUB, cloud="simulator", simulator=sim)
    clients.resource.resource_groups.create_or_update(
        "rg-demo", {"location": "eastus", "tags": {"team": "a"}}
    )
    writes = sim.count(*WRITES)
    refused = run_pros("provision", "--base-name", "demo")
    assert refused.code == 1
    assert "--adopt" in refused.err
    assert sim.count(*WRITES) == writes
    adopted = run_pros("provision", "--base-name", "demo", "--adopt")
    assert adopted.code == 0, adopted.err
    state = load_state()
    assert state["resources"]["resource-group"]["origin"] == "pre-existing"
    assert state["resources"]["storage/eastus"]["origin"] == "created"
    rg = sim_resources(sim)[RG_ID.lower()]["body"]
    assert rg["tags"] == {"team": "a"}  # an adopted resource is not re-tagged as ours
    again = run_pros("provision", "--base-name", "demo")
    assert again.code == 0, again.err  # recorded as pre-existing: no --adopt needed any more


def test_globally_taken_storage_name_is_found_before_anything_is_created(sim):
    from pros_cli.spec import build_spec

    spec = build_spec(base_name="demo", subscription_id=SUB)
    sim.take_name("Microsoft.Storage/storageAccounts", spec.names.storage_account("westus"))
    run = run_pros("provision", "--base-name", "demo")
    assert run.code == 1
    assert spec.names.storage_account("westus") in run.err
    assert "not available" in run.err
    assert sim.count(*WRITES) == 0


def test_three_regions(sim):
    run = run_pros("provision", "--base-name", "demo", "-l", "eastus", "-l", "westeurope", "-l", "japaneast")
    assert run.code == 0, run.err
    assert set(sim_resources(sim)) == expected_ids(("eastus", "westeurope", "japaneast"))


def test_no_wait_then_rerun_resumes_without_a_second_create(sim):
    sim.configure(profile="stuck")  # long-running operations outlast the first run
    # A child process, as operators run it: when it exits, nothing polls on in the background.
    first = run_child("provision", "--base-name", "demo", "--no-wait", "-o", "json")
    assert first.code == 0, first.err
    data = first.json()
    assert data["result"] == "started"
    statuses = {r["key"]: r["status"] for r in data["resources"]}
    assert statuses["apim/eastus"] == statuses["apim/westus"] == "started"
    assert statuses["traffic-manager/endpoints/eastus"] == "deferred"  # waits for its gateway
    started = [k for k, v in statuses.items() if v == "started"]
    state = load_state()
    for key in started:
        assert state["resources"][key]["status"] == "creating"
        assert state["resources"][key]["operation"]["continuation_token"]
    sim.configure(profile="instant")
    sim.fast_forward(polls=3)  # still running when the next run reads them, done soon after
    second = run_pros("provision", "--base-name", "demo")
    assert second.code == 0, second.err
    assert "> API Management" in second.err  # resumed, not created again
    assert_one_create_each(sim)
    assert all(e["status"] == "succeeded" for e in load_state()["resources"].values())


def accepted_puts(sim: Simulator) -> list[str]:
    entries = sim.log_entries()
    return [e["path"].lower() for e in entries if e["method"] == "PUT" and e.get("status") in (200, 201, 202)]


def assert_one_create_each(sim: Simulator) -> None:
    """Every resource was written by exactly one accepted PUT: nothing was created twice."""
    paths = accepted_puts(sim)
    assert len(paths) == len(set(paths)), sorted(p for p in paths if paths.count(p) > 1)
    assert set(paths) == {r.arm_id().lower() for r in graph() if not r.external}


def test_state_recorded_lost_is_rebuilt_from_azure_without_writes(sim):
    assert run_pros("provision", "--base-name", "demo").code == 0
    original = load_state()
    state_file().unlink()
    writes = sim.count(*WRITES)
    run = run_pros("provision", "--base-name", "demo")
    assert run.code == 0, run.err
    assert sim.count(*WRITES) == writes
    assert set(load_state()["resources"]) == set(original["resources"])


def test_emit_script_writes_a_runnable_bash_script(sim, isolated):
    script = isolated / "out" / "provision.sh"
    run = run_pros("provision", "--base-name", "demo", "--emit-script", str(script))
    assert run.code == 0, run.err
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    # The echoed commands, in order; the script adds only waits where az returns before its work is
    # done, and asks az for values (principal ids) the echo shows as pros saw them.
    def calls(lines: list[str]) -> list[str]:
        return [line for line in lines if line.startswith("az ") and not line.startswith("az resource wait")]

    body, shown = calls(text.splitlines()), calls(run.echoed)
    assert len(body) == len(shown)
    for scripted, echoed in zip(body, shown, strict=True):
        assert _same_but_looked_up(scripted, echoed), (scripted, echoed)
    assert any("${PROS_VALUE_" in line for line in body)
    assert os.access(script, os.X_OK)


def _same_but_looked_up(scripted: str, echoed: str) -> bool:
    """Equal, except that where the script uses a looked-up ``${PROS_VALUE_n}`` the echo names a
    principal id (a uuid)."""
    a, b = shlex.split(scripted), shlex.split(echoed)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        pattern = re.sub(r"\\\$\\\{PROS_VALUE_\d+\\\}", "[0-9a-f-]{36}", re.escape(x))
        if not re.fullmatch(pattern, y):
            return False
    return True


def test_dry_run_emit_script_holds_the_planned_commands(sim, isolated):
    script = isolated / "plan.sh"
    run = run_pros("provision", "--base-name", "demo", "--dry-run", "--emit-script", str(script))
    assert run.code == 0, run.err
    text = script.read_text().splitlines()
    # Each az line, without the waits the script adds after an az rest call (it returns at once).
    lines = [
        line
        for before, line in zip(["", *text], text, strict=False)
        if line.startswith("az ")
        and not (line.startswith("az resource wait") and before.startswith("az rest "))
    ]
    planned = run_pros("provision", "--base-name", "demo", "--dry-run", "-o", "json").json()["changes"]
    assert len(lines) == sum(len(c["az"]) for c in planned)
    assert len(lines) >= len(graph())
    assert run.echoed == []  # nothing was executed
    assert sim.count(*WRITES) == 0


def test_quiet_echoes_nothing_and_verbose_echoes_reads(sim):
    quiet = run_pros("provision", "--base-name", "demo", "--quiet")
    assert quiet.code == 0
    assert quiet.err == ""
    verbose = run_pros("provision", "--base-name", "demo", "--verbose")
    assert verbose.code == 0
    assert any(line.startswith("az storage account show") for line in verbose.echoed)
    assert any(line.startswith("az group show") for line in verbose.echoed)


# ---- child processes: SIGKILL, locking, Ctrl-C -------------------------------------------------


@pytest.mark.subprocess
@pytest.mark.parametrize("crash", ["1:after", "9:before", "20:after", "33:after"])
def test_provision_killed_part_way_converges_on_rerun(sim, crash):
    killed = run_child("provision", "--base-name", "demo", env={"PROS_SIMULATOR_CRASH_AFTER_WRITES": crash})
    assert killed.code == -signal.SIGKILL, killed.err
    rerun = run_child("provision", "--base-name", "demo")
    assert rerun.code == 0, rerun.err
    assert set(sim_resources(sim)) == expected_ids()
    assert_one_create_each(sim)
    state = load_state()
    assert len(state["resources"]) == len(graph())
    assert all(e["status"] == "succeeded" and e["operation"] is None for e in state["resources"].values())
    third = run_child("provision", "--base-name", "demo", "-o", "json")
    assert third.code == 0
    assert {r["action"] for r in json.loads(third.out)["resources"]} == {"no-op"}


@pytest.mark.subprocess
def test_second_concurrent_run_is_refused_and_state_unchanged(sim):
    sim.configure(profile="stuck")
    # Two slots, both soon held by operations that never finish: the first run then writes nothing.
    first = spawn("provision", "--base-name", "demo", "--parallelism", "2")
    try:
        wait_for(lambda: len(in_flight()) == 2, timeout=60)
        before = state_file().read_bytes()
        second = run_pros("provision", "--base-name", "demo")
        assert second.code == 1
        assert "locked by another pros run" in second.err
        assert f"pid {first.pid}" in second.err
        assert state_file().read_bytes() == before
    finally:
        first.kill()
        first.communicate()


@pytest.mark.subprocess
def test_ctrl_c_records_in_flight_work_and_exits_130(sim):
    sim.configure(profile="stuck")
    proc = spawn("provision", "--base-name", "demo")
    try:
        wait_for(lambda: len(in_flight()) >= 2, timeout=60)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    waiting = in_flight()
    assert "apim/eastus" in waiting and "apim/westus" in waiting  # started first: the longest chain
    for key in waiting:
        assert load_state()["resources"][key]["status"] == "creating"
    sim.configure(profile="instant")
    sim.fast_forward()
    rerun = run_pros("provision", "--base-name", "demo")
    assert rerun.code == 0, rerun.err
    assert_one_create_each(sim)


def test_no_wait_never_runs_two_model_deployments_of_one_account_at_once(sim):
    """--no-wait leaves long-running creates to Azure, but Azure OpenAI takes one deployment
    operation per account at a time (409 RequestConflict): those wait for each other even so."""
    sim.configure(profile="slow-polls")
    first = run_pros("provision", "--base-name", "demo", "--no-wait", "-o", "json")
    assert first.code == 0, first.err
    second = run_pros("provision", "--no-wait", "-o", "json")
    assert second.code == 0, second.err
    conflicts = [e for e in sim.log_entries() if e.get("code") == "RequestConflict"]
    assert conflicts == []
    final = run_pros("provision", "-o", "json")
    assert final.code == 0, final.err
    assert final.json()["result"] == "succeeded"
