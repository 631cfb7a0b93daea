"""pros models: what each region can deploy, until when, with how much quota left."""

from __future__ import annotations

import pytest

from pros_cli.simulator.core import Simulator
from pros_cli.simulator.providers.cognitive import set_quota
from pros_cli.simulator.providers.cognitive_catalog import set_today
from tests.conftest import run_pros


@pytest.fixture
def cloud(sim: Simulator) -> Simulator:
    set_today(sim, "2026-11-30")
    return sim


def rows(run) -> list[dict]:
    assert run.code == 0, run.err
    return run.json()["models"]


def test_json_lists_what_can_be_deployed_in_the_default_regions(cloud):
    set_quota(cloud, "westus", "gpt-5.2", "GlobalStandard", 250)
    run = run_pros("models", "-o", "json")
    data = run.json()
    assert data["regions"] == ["eastus", "westus"] and data["date"] == "2026-11-30"
    found = {(r["region"], r["model"], r["version"]) for r in rows(run)}
    assert ("eastus", "gpt-5.2", "2025-12-11") in found and ("westus", "text-embedding-3-small", "1") in found
    assert not any(m == "gpt-4o" for _, m, _ in found)  # retired: not deployable
    west = next(r for r in rows(run) if r["region"] == "westus" and r["model"] == "gpt-5.2")
    assert west["state"] == "available" and west["no_new_deployments_from"] == "2026-12-12"
    assert (west["retirement"], west["retirement_tentative"]) == ("2027-05-12", True)
    assert west["skus"][0] == {
        "name": "GlobalStandard",
        "max_capacity": 1000000,
        "quota": "OpenAI.GlobalStandard.gpt-5.2",
        "quota_limit": 250,
        "quota_left": 250,
    }


def test_all_includes_retired_versions_with_their_replacement(cloud):
    listed = rows(run_pros("models", "--all", "--model", "gpt-4o", "-l", "eastus", "-o", "json"))
    assert [(r["version"], r["state"]) for r in listed] == [
        ("2024-11-20", "retired"),
        ("2024-08-06", "retired"),
        ("2024-05-13", "retired"),
    ]
    assert {r["replacement"] for r in listed} == {"gpt-5.1 2025-11-13"}
    table = run_pros("models", "--all", "--model", "gpt-4o", "-l", "eastus")
    assert table.code == 0
    assert "replacement" in table.out and "gpt-5.1 2025-11-13" in table.out and "retired" in table.out


def test_default_regions_are_the_deployments_and_quota_left_shows_what_it_holds(cloud):
    assert run_pros("provision", "--base-name", "demo", "-l", "eastus", "-l", "japaneast", "-q").code == 0
    run = run_pros("models", "--model", "gpt-5.2", "-o", "json")
    assert run.json()["regions"] == ["eastus", "japaneast"]
    for row in rows(run):
        global_standard = next(s for s in row["skus"] if s["name"] == "GlobalStandard")
        assert (global_standard["quota_left"], global_standard["quota_limit"]) == (970, 1000)


def test_a_region_without_azure_openai_is_named(cloud):
    run = run_pros("models", "-l", "westus2", "-o", "json")
    assert run.code == 0 and run.json()["models"] == []
    assert "warning: westus2 offers no Azure OpenAI models to this subscription" in run.err


def test_bad_region_is_a_usage_error(cloud):
    run = run_pros("models", "-l", "moon")
    assert run.code == 2 and "unknown Azure region 'moon'" in run.err
    assert cloud.count() == 0


def test_verbose_echoes_the_reads_as_az_lines_that_parse(cloud, az_parser):
    run = run_pros("models", "-l", "eastus", "--verbose", "-o", "json")
    assert run.code == 0
    assert run.echoed == [
        "az cognitiveservices model list -l eastus",
        "az cognitiveservices usage list -l eastus",
    ]
    assert az_parser.failures(run.echoed) == []
