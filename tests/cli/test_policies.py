"""pros policies against the simulator: the same policy on every gateway, a dry run that diffs the
live policy against the rendered one, render without Azure, and every echoed az line parsed."""

from __future__ import annotations

import json

from pros_cli.azure.clients import raw_json
from pros_cli.policy import PolicyOptions, policies_equal, render_api_policy
from tests.cli.gateway_helpers import apim, provision, service, spec, writes
from tests.conftest import assert_no_secrets, run_pros

REMOVED = '<set-header name="api-key" exists-action="delete" />'


def live_policy(sim, region: str) -> str:
    body = apim(sim).api_policy.get(
        *service(spec(), region), "openai", "policy", format="rawxml", cls=raw_json
    )
    return body["properties"]["value"]


def gateway(*, policies: bool = True) -> None:
    provision()
    assert run_pros("backends", "-q").code == 0
    if policies:
        run = run_pros("policies", "-q")
        assert run.code == 0, run.err


def test_policies_need_the_backends_first(sim):
    provision()
    sim.reset_log()
    run = run_pros("policies")
    assert run.code == 1
    api = f"API Management API openai on {spec().names.apim('eastus')} (eastus)"
    assert f"{api} does not exist; run `pros backends` first" in run.err
    assert writes(sim) == []


def test_every_gateway_gets_the_rendered_policy_and_a_rerun_writes_nothing(sim):
    gateway(policies=False)
    sim.reset_log()
    run = run_pros("policies", "-o", "json")
    assert run.code == 0, run.err
    assert {r["key"]: r["action"] for r in run.json()["resources"]} == {
        "apim/eastus/apis/openai/policy": "create",
        "apim/westus/apis/openai/policy": "create",
    }
    assert len(writes(sim)) == 2
    rendered = render_api_policy(PolicyOptions())
    for region in ("eastus", "westus"):
        assert live_policy(sim, region) == rendered  # rawxml: stored as written
    sim.reset_log()
    again = run_pros("policies")
    assert again.code == 0, again.err
    assert writes(sim) == [] and again.echoed == []
    dry = run_pros("policies", "--dry-run")
    assert dry.code == 0
    assert dry.out.count("the live policy is up to date") == 2


def test_a_hand_edited_policy_shows_in_the_dry_run_diff_and_a_run_restores_it(sim):
    gateway()
    where = service(spec(), "westus")
    edited = render_api_policy(PolicyOptions()).replace(REMOVED, "")
    assert edited != render_api_policy(PolicyOptions())
    apim(sim).api_policy.create_or_update(
        *where, "openai", "policy", {"properties": {"format": "rawxml", "value": edited}}
    )

    dry = run_pros("policies", "--dry-run")
    assert dry.code == 0, dry.err
    assert f"--- {spec().names.apim('westus')}: live" in dry.out
    assert f"+++ {spec().names.apim('westus')}: rendered" in dry.out
    added = [line for line in dry.out.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert [line[1:].strip() for line in added] == ['<set-header exists-action="delete" name="api-key" />']
    assert f"# {spec().names.apim('eastus')} (eastus): the live policy is up to date" in dry.out

    as_json = run_pros("policies", "--dry-run", "-o", "json").json()
    diffs = {g["region"]: g for g in as_json["gateways"]}
    assert diffs["eastus"]["diff"] == "" and diffs["eastus"]["action"] == "no-op"
    assert diffs["westus"]["action"] == "update" and 'name="api-key"' in diffs["westus"]["diff"]

    sim.reset_log()
    run = run_pros("policies")
    assert run.code == 0, run.err
    assert len(writes(sim)) == 1
    assert policies_equal(live_policy(sim, "westus"), render_api_policy(PolicyOptions()))


def test_token_limits_and_billing_codes_are_settings_recorded_for_later_runs(sim):
    gateway()
    run = run_pros("policies", "--tokens-per-minute", "20000", "--require-billing-code", "-q")
    assert run.code == 0, run.err
    live = live_policy(sim, "eastus")
    assert live == render_api_policy(PolicyOptions(tokens_per_minute=20000, require_billing_code=True))
    assert 'tokens-per-minute="20000"' in live
    sim.reset_log()
    assert run_pros("policies", "-q").code == 0  # the recorded settings: nothing to change
    assert writes(sim) == []


def test_render_needs_no_azure_and_no_deployment(sim, tmp_path, monkeypatch):
    monkeypatch.setenv("PROS_CLOUD", "azure")  # would need credentials if it touched Azure
    run = run_pros("policies", "render", "--monthly-token-quota", "5000000")
    assert run.code == 0, run.err
    assert run.out.strip() == render_api_policy(PolicyOptions(monthly_token_quota=5000000)).strip()
    out = tmp_path / "rendered"
    written = run_pros("policies", "render", "--out", str(out), "-o", "json")
    assert written.code == 0, written.err
    files = sorted(p.name for p in out.iterdir())
    assert files == ["openai-api-policy.xml", "openai-inference.openapi.json"]
    assert sorted(json.loads(written.out)["files"]) == sorted(str(out / f) for f in files)
    assert sim.log_entries() == []


def test_render_uses_the_recorded_settings_of_the_deployment(sim):
    gateway(policies=False)
    assert run_pros("policies", "--tokens-per-minute", "777", "-q").code == 0
    sim.reset_log()
    run = run_pros("policies", "render")
    assert 'tokens-per-minute="777"' in run.out
    assert sim.log_entries() == []


def test_out_without_render_and_unknown_actions_are_refused(sim):
    assert run_pros("policies", "--out", "x").code == 2
    bad = run_pros("policies", "publish")
    assert bad.code == 2 and "unknown action 'publish'" in bad.err


def test_every_echoed_az_line_parses_and_the_script_carries_no_secret(
    sim, az_parser, tmp_path, no_secret_leaks
):
    provision()
    script = tmp_path / "gateway.sh"
    planned = run_pros("backends", "--dry-run", "--emit-script", str(script))
    assert planned.code == 0, planned.err
    text = script.read_text()
    assert 'PROS_FUNC_KEY_EASTUS="$(az functionapp keys list --resource-group rg-demo' in text
    lines = [line for line in text.splitlines() if line.startswith("az ")]
    backends = run_pros("backends")
    assert backends.code == 0, backends.err
    policies = run_pros("policies")
    assert policies.code == 0, policies.err
    for run in (planned, backends, policies):
        assert_no_secrets(run.out, run.err)
    assert "pros-sim-secret-" not in text
    echoed = [*lines, *backends.echoed, *policies.echoed]
    assert any(line.startswith("az apim nv create") and "--secret true" in line for line in echoed)
    assert any(line.startswith("az apim api import") for line in echoed)
    assert any(line.startswith("az rest --method put") and "/policies/policy" in line for line in echoed)
    assert az_parser.failures(echoed) == []
