"""The deployment's settings for backends and policies: the recorded settings, then the config
file and the command line; the gateway settings are validated like provision's."""

from __future__ import annotations

from pathlib import Path

import pytest

from pros_cli.config import load_config
from pros_cli.deployment import Request, effective_settings, spec_from
from pros_cli.errors import UsageError
from pros_cli.settings import resolve
from pros_cli.spec import build_spec
from pros_cli.state import StateStore
from tests.conftest import SUB, make_spec, run_pros


def record(spec) -> StateStore:
    """A state file with the settings a successful provision of ``spec`` records."""
    path = Path.cwd() / ".pros" / f"{spec.base_name}.json"
    state = StateStore.open(path, base_name=spec.base_name, subscription_id=SUB, cloud="simulator")
    settings = resolve(flags={}, config={}, recorded=spec.to_state(), environ={})
    state.record_settings(settings.record(), spec.to_state())
    return state


def test_the_spec_is_rebuilt_from_what_provision_recorded(isolated):
    recorded = make_spec(
        regions=["westus", "eastus"], apim_sku="StandardV2", apim_capacity=2, publisher_email="a@b.co"
    )
    state = record(recorded)
    rebuilt = spec_from(
        effective_settings(Request(flags={}), state.settings), base_name="demo", subscription_id=SUB
    )
    assert rebuilt == recorded
    assert rebuilt.to_state() == recorded.to_state()


def test_the_config_file_and_then_the_options_go_on_top(isolated, tmp_path):
    state = record(make_spec())
    config = tmp_path / "pros.toml"
    config.write_text("breaker_failures = 4\nrequire_billing_code = true\ntokens_per_minute = 100\n")
    request = Request(
        flags={"tokens_per_minute": 200, "breaker_trip_seconds": None}, config=load_config(config)
    )
    spec = spec_from(effective_settings(request, state.settings), base_name="demo", subscription_id=SUB)
    assert (spec.breaker_failures, spec.require_billing_code, spec.tokens_per_minute) == (4, True, 200)
    assert spec.breaker_trip_seconds == 60


def test_no_recorded_deployment_says_to_provision_first(sim):
    run = run_pros("backends", "-n", "demo")
    assert run.code == 2
    assert "no deployment 'demo' is recorded" in run.err and "pros provision" in run.err
    assert sim.count() == 0


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("breaker_failures", 0, "--breaker-failures"),
        ("breaker_interval_seconds", 86401, "--breaker-interval"),
        ("breaker_trip_seconds", True, "--breaker-trip"),
        ("tokens_per_minute", -5, "--tokens-per-minute"),
        ("monthly_token_quota", -1, "--monthly-token-quota"),
        ("spec_file", " ", "file name is empty"),
    ],
)
def test_gateway_settings_are_validated(setting, value, message):
    with pytest.raises(UsageError, match=message):
        build_spec(base_name="demo", subscription_id=SUB, **{setting: value})


def test_zero_token_limits_mean_none():
    spec = build_spec(base_name="demo", subscription_id=SUB, tokens_per_minute=0, monthly_token_quota=0)
    assert spec.tokens_per_minute is None and spec.monthly_token_quota is None


def test_the_consumption_tier_has_no_units():
    spec = build_spec(base_name="demo", subscription_id=SUB, apim_sku="Consumption")
    assert spec.apim_capacity == 0
    with pytest.raises(UsageError, match="no units"):
        build_spec(base_name="demo", subscription_id=SUB, apim_sku="Consumption", apim_capacity=1)
    assert build_spec(base_name="demo", subscription_id=SUB).apim_capacity == 1


def test_the_config_file_takes_the_gateway_settings_with_their_types(tmp_path):
    path = tmp_path / "pros.toml"
    path.write_text(
        'circuit_breaker = false\nstreaming_function = false\nspec_file = "api.json"\n'
        "monthly_token_quota = 5\n"
    )
    assert load_config(path) == {
        "circuit_breaker": False,
        "streaming_function": False,
        "spec_file": "api.json",
        "monthly_token_quota": 5,
    }
    path.write_text("require_billing_code = 1\n")
    with pytest.raises(UsageError, match="require_billing_code must be true or false"):
        load_config(path)
    path.write_text("breaker_failures = true\n")
    with pytest.raises(UsageError, match="breaker_failures must be a whole number"):
        load_config(path)
