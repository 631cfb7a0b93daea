"""The deployment's settings for backends and policies: rebuilt from the state file, then the config
file and the command line; the gateway settings are validated like provision's."""

from __future__ import annotations

from pathlib import Path

import pytest

from pros_cli.cli.context import App, Settings
from pros_cli.cli.deployment import deployment_spec
from pros_cli.config import load_config
from pros_cli.errors import UsageError
from pros_cli.spec import build_spec
from pros_cli.state import StateStore
from tests.conftest import SUB, make_spec


def record(spec, path: Path | None = None) -> Path:
    path = path or Path.cwd() / ".pros" / f"{spec.base_name}.json"
    state = StateStore.open(path, base_name=spec.base_name, subscription_id=SUB, cloud="simulator")
    state.set_spec(spec.to_state())
    return path


def app(**settings) -> App:
    return App(Settings(**settings))


def test_the_spec_is_rebuilt_from_what_provision_recorded(isolated):
    recorded = make_spec(
        regions=["westus", "eastus"], apim_sku="StandardV2", apim_capacity=2, publisher_email="a@b.co"
    )
    record(recorded)
    rebuilt = deployment_spec(app(), overrides={})
    assert rebuilt == recorded
    assert rebuilt.to_state() == recorded.to_state()


def test_the_config_file_and_then_the_options_go_on_top(isolated, tmp_path):
    record(make_spec())
    config = tmp_path / "pros.toml"
    config.write_text("breaker_failures = 4\nrequire_billing_code = true\ntokens_per_minute = 100\n")
    spec = deployment_spec(
        app(), overrides={"tokens_per_minute": 200, "breaker_trip_seconds": None}, config=config
    )
    assert (spec.breaker_failures, spec.require_billing_code, spec.tokens_per_minute) == (4, True, 200)
    assert spec.breaker_trip_seconds == 60


def test_no_recorded_deployment_says_to_provision_first(isolated):
    with pytest.raises(UsageError, match="no deployment 'demo' is recorded") as caught:
        deployment_spec(app(base_name="demo"), overrides={})
    assert "pros provision" in str(caught.value.hint)


def test_a_state_made_for_another_subscription_is_refused(isolated):
    record(make_spec())
    other = "11111111-1111-1111-1111-111111111111"
    with pytest.raises(UsageError, match="made for another subscription"):
        deployment_spec(app(subscription=other), overrides={})


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("breaker_failures", 0, "--breaker-failures"),
        ("breaker_interval_seconds", 86401, "--breaker-interval"),
        ("breaker_trip_seconds", True, "--breaker-trip"),
        ("tokens_per_minute", -5, "--tokens-per-minute"),
        ("monthly_token_quota", 0, "--monthly-token-quota"),
        ("spec_file", " ", "file name is empty"),
    ],
)
def test_gateway_settings_are_validated(setting, value, message):
    with pytest.raises(UsageError, match=message):
        build_spec(base_name="demo", subscription_id=SUB, **{setting: value})


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
    with pytest.raises(UsageError, match="require_billing_code must be a bool"):
        load_config(path)
    path.write_text("breaker_failures = true\n")
    with pytest.raises(UsageError, match="breaker_failures must be a int"):
        load_config(path)
