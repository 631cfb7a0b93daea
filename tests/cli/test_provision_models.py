"""pros provision asks Azure what can be deployed: models resolved from every region's catalog and
checked against it and the quota left, before any write."""

from __future__ import annotations

import datetime as dt

import pytest

from pros_cli.azure.clients import ClientFactory
from pros_cli.catalog import deployed_model_warnings
from pros_cli.simulator.core import Simulator
from pros_cli.simulator.providers.cognitive import set_quota
from pros_cli.simulator.providers.cognitive_catalog import set_today
from pros_cli.spec import build_spec
from tests.conftest import SUB, load_state, run_pros, state_file

WRITES = ("PUT", "PATCH", "DELETE")


@pytest.fixture
def cloud(sim: Simulator) -> Simulator:
    """The simulator on the day the retirement table was last checked against (deterministic)."""
    set_today(sim, "2026-11-30")
    return sim


def warnings(run) -> list[str]:
    return [line[len("warning: ") :] for line in run.err.splitlines() if line.startswith("warning: ")]


def test_the_default_deployment_resolves_current_models_and_a_rerun_keeps_them(cloud):
    run = run_pros("provision", "--base-name", "demo", "-o", "json")
    assert run.code == 0, run.err
    assert (
        "model gpt-5.2: gpt-5.2 2025-12-11 (GlobalStandard, capacity 30), from the regions' model catalogs"
        in (run.err)
    )
    recorded = load_state()["spec"]["models"]
    assert recorded == [
        {
            "name": "gpt-5.2",
            "model": "gpt-5.2",
            "version": "2025-12-11",
            "sku": "GlobalStandard",
            "capacity": 30,
        },
        {
            "name": "text-embedding-3-small",
            "model": "text-embedding-3-small",
            "version": "1",
            "sku": "GlobalStandard",
            "capacity": 30,
        },
    ]
    deployments = {r["name"] for r in run.json()["resources"] if r["type"].endswith("/deployments")}
    assert deployments == {"gpt-5.2", "text-embedding-3-small"}
    writes = cloud.count(*WRITES)
    rerun = run_pros("provision", "--base-name", "demo")
    assert rerun.code == 0, rerun.err
    assert cloud.count(*WRITES) == writes
    assert "Plan: 0 to create, 0 to update" in rerun.err


def test_a_retired_version_exits_2_before_any_write_naming_regions_and_alternatives(cloud):
    run = run_pros("provision", "--base-name", "demo", "--model", "chat=gpt-4o:2024-08-06")
    assert run.code == 2
    assert cloud.writes() == [] and not state_file().exists()
    assert "the model deployments cannot be made as asked (nothing was changed)" in run.err
    for region in ("eastus", "westus"):
        assert (
            f"{region}: chat (gpt-4o 2024-08-06, GlobalStandard): gpt-4o 2024-08-06 was retired on "
            "2026-03-31; Azure names gpt-5.1 2025-11-13 as its replacement"
        ) in run.err
        assert f"available in {region} instead" in run.err
    assert "gpt-5.2 2025-12-11 [available, no new deployments from 2026-12-12" in run.err
    assert "hint: `pros models -l eastus -l westus`" in run.err
    # A dry run refuses it the same way: the catalog is read for plans too.
    assert run_pros("provision", "--base-name", "demo", "--dry-run", "--model", "gpt-4o:2024-08-06").code == 2


def test_more_capacity_than_the_quota_left_exits_2_before_any_write(cloud):
    set_quota(cloud, "westus", "gpt-5.2", "GlobalStandard", 20)
    run = run_pros("provision", "--base-name", "demo")
    assert run.code == 2
    assert cloud.writes() == []
    assert (
        "westus: gpt-5.2 need 30 more capacity (thousands of tokens per minute) of quota "
        "OpenAI.GlobalStandard.gpt-5.2, but only 20 of 20 is left"
    ) in run.err
    assert "eastus:" not in run.err.split("hint:")[0]


def test_a_rerun_does_not_need_the_capacity_it_already_holds(cloud):
    set_quota(cloud, "eastus", "gpt-5.2", "GlobalStandard", 30)
    assert run_pros("provision", "--base-name", "demo", "-q").code == 0
    writes = cloud.count(*WRITES)
    assert run_pros("provision", "--base-name", "demo", "-q").code == 0  # holds all 30 of 30: fine
    assert cloud.count(*WRITES) == writes
    grow = run_pros("provision", "--base-name", "demo", "--model-capacity", "40")
    assert grow.code == 2
    assert "eastus: gpt-5.2 need 10 more capacity" in grow.err and "only 0 of 30 is left" in grow.err
    assert cloud.count(*WRITES) == writes


def test_an_unversioned_model_keeps_the_version_an_earlier_run_recorded(cloud):
    base = ("provision", "--base-name", "demo", "-l", "eastus", "--model-sku", "Standard")
    first = run_pros(*base, "--model", "emb=text-embedding-ada-002:1")
    assert first.code == 0, first.err
    writes = cloud.count(*WRITES)
    again = run_pros(*base, "--model", "emb=text-embedding-ada-002")  # the catalog's newest is 2
    assert again.code == 0, again.err
    assert "model emb: text-embedding-ada-002 1 (Standard" in again.err
    assert cloud.count(*WRITES) == writes
    upgrade = run_pros(*base, "--model", "emb=text-embedding-ada-002:2", "--dry-run", "-o", "json")
    change = next(c for c in upgrade.json()["changes"] if c["name"] == "emb")
    assert change["action"] == "update" and "change properties.model.version: '1' -> '2'" in change["reasons"]


def test_a_model_deprecated_since_the_first_run_keeps_serving_is_warned_about_and_is_not_deployed_anew(cloud):
    base = (
        "provision",
        "--base-name",
        "demo",
        "--model",
        "chat=gpt-5.1",
        "--model",
        "text-embedding-3-small",
    )
    set_today(cloud, "2026-11-01")
    first = run_pros(*base, "-l", "eastus")
    assert first.code == 0, first.err
    assert "model chat: gpt-5.1 2025-11-13" in first.err
    writes = cloud.count(*WRITES)

    set_today(cloud, "2026-12-01")
    later = run_pros(*base, "-l", "eastus")
    assert later.code == 0, later.err
    assert cloud.count(*WRITES) == writes
    assert warnings(later) == [
        "eastus: the existing deployment chat (gpt-5.1 2025-11-13) is deprecated for new deployments since "
        "2026-11-13; it keeps serving until it retires 2027-05-15"
    ]
    wider = run_pros(*base, "-l", "eastus", "-l", "westus")
    assert wider.code == 2
    assert (
        "westus: chat (gpt-5.1 2025-11-13, GlobalStandard): gpt-5.1 2025-11-13 is deprecated for new "
        in wider.err
    )
    errors, noted = wider.err.split("hint:")[0].split("nothing was changed")[1].split("and to note:")
    assert "eastus: chat" not in errors
    assert "eastus: the existing deployment chat (gpt-5.1 2025-11-13) is deprecated for new" in noted
    assert cloud.count(*WRITES) == writes

    set_today(cloud, "2027-05-20")
    retired = run_pros(*base, "-l", "eastus")
    assert retired.code == 0, retired.err
    assert warnings(retired) == [
        "eastus: the existing deployment chat (gpt-5.1 2025-11-13) was retired on 2027-05-15 and no longer "
        "serves: choose a current version with --model chat=gpt-5.1:VERSION (or another model)"
    ]


def test_a_region_without_azure_openai_stops_the_defaults(cloud):
    run = run_pros("provision", "--base-name", "demo", "-l", "eastus", "-l", "westus2")
    assert run.code == 2
    assert "no generally available chat model is offered with SKU GlobalStandard in every region" in run.err
    assert "westus2: none" in run.err and "eastus: gpt-5.2 2025-12-11" in run.err
    assert cloud.writes() == []


def test_offline_plans_skip_the_catalog_and_say_what_a_real_run_does(isolated, monkeypatch, az_parser):
    monkeypatch.delenv("PROS_CLOUD")
    run = run_pros("provision", "--base-name", "demo", "--dry-run", "--offline", "-o", "json")
    assert run.code == 0, run.err
    assert "offline: the model catalog was not read, so gpt-5.2 (gpt-5.2), text-embedding-3-small" in run.err
    assert "which may not be gpt-5.2" in run.err
    lines = [line for c in run.json()["changes"] for line in c["az"]]
    creates = [line for line in lines if "account deployment create" in line]
    assert len(creates) == 4
    assert all('--model-version "$(az cognitiveservices model list -l ' in line for line in creates)
    assert any('model.name==`"text-embedding-3-small"`' in line for line in creates)
    assert az_parser.failures(lines) == []
    pinned = run_pros(
        "provision", "--base-name", "demo", "--dry-run", "--offline", "--model", "chat=gpt-5.2:2025-12-11"
    )
    assert pinned.code == 0, pinned.err
    assert "offline: the model catalog and quota were not read; a real run checks them first" in pinned.err


def test_verbose_echoes_the_catalog_reads_and_every_echoed_line_parses(cloud, az_parser):
    run = run_pros("provision", "--base-name", "demo", "--verbose")
    assert run.code == 0, run.err
    for region in ("eastus", "westus"):
        assert f"az cognitiveservices model list -l {region}" in run.echoed
        assert f"az cognitiveservices usage list -l {region}" in run.echoed
    assert any(
        line.startswith("az cognitiveservices account deployment list -g rg-demo -n oai-demo-eus-")
        for line in run.echoed
    )
    assert az_parser.failures(run.echoed) == []


def test_deployed_model_warnings_for_status_name_what_retires_within_60_days(cloud):
    set_today(cloud, "2026-11-01")
    run = run_pros("provision", "--base-name", "demo", "-l", "eastus", "--model", "chat=gpt-5.1", "-q")
    assert run.code == 0, run.err
    spec = build_spec(base_name="demo", subscription_id=SUB, regions=["eastus"])
    clients = ClientFactory(SUB, cloud="simulator", simulator=cloud)
    assert deployed_model_warnings(clients, spec, today=dt.date(2026, 11, 1), within_days=5) == []
    assert deployed_model_warnings(clients, spec, today=dt.date(2026, 11, 1)) == [
        "eastus: model deployment chat (gpt-5.1 2025-11-13) takes no new deployments from 2026-11-13 and "
        "retires 2027-05-15"
    ]
    set_today(cloud, "2027-04-01")
    assert deployed_model_warnings(clients, spec, today=dt.date(2027, 4, 1)) == [
        "eastus: model deployment chat (gpt-5.1 2025-11-13) retires 2027-05-15 (in 44 days)"
    ]
