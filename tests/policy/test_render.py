"""The rendered policy: valid against APIM's schema in every option set, no placeholders, named values
matching NAMED_VALUES, the pools and headers the other slices rely on."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pros_cli.errors import UsageError
from pros_cli.policy import (
    API_ID,
    FUNCTIONS_POOL_ID,
    NAMED_VALUES,
    OPENAI_POOL_ID,
    POLICY_FORMAT,
    PolicyOptions,
    function_backend_id,
    named_value_values,
    openai_backend_id,
    render_api_policy,
    write_rendered,
)
from pros_cli.policy.expressions import find_expressions, parse
from tests.conftest import _shared_dir
from tests.policy.conftest import ALL_OPTIONS, option_id

VALIDATOR = _shared_dir() / "tools" / "validate-apim-policy"
# Elements whose children APIM's schema does not check (xs:any processContents="skip").
UNCHECKED_CONTAINERS = {"choose", "when", "otherwise", "retry", "return-response", "send-one-way-request"}


def validate(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VALIDATOR), *map(str, paths)], capture_output=True, text=True, timeout=300
    )


def nested_policies(text: str) -> list[ET.Element]:
    """Policies nested where the schema skips validation, each to be checked on its own."""
    found = []

    def visit(element: ET.Element) -> None:
        for child in element:
            if element.tag in UNCHECKED_CONTAINERS and child.tag not in {"when", "otherwise"}:
                found.append(child)
            visit(child)

    visit(parse(text))
    return found


def lifted(element: ET.Element) -> str:
    """One nested policy element as a policy document of its own (inbound), from the escaped form."""
    return f"<policies><inbound>{ET.tostring(element, encoding='unicode')}</inbound></policies>"


def test_every_option_set_validates_against_apims_schema(tmp_path: Path) -> None:
    paths = []
    for options in ALL_OPTIONS:
        path = tmp_path / f"{option_id(options)}.xml"
        path.write_text(render_api_policy(options), encoding="utf-8")
        paths.append(path)
    result = validate(paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": valid") == len(ALL_OPTIONS)


def test_policies_nested_in_choose_retry_and_return_response_are_valid_too(tmp_path: Path) -> None:
    # The schema checks nothing inside choose/retry/return-response; check each nested policy alone.
    paths = []
    for options in (PolicyOptions(), PolicyOptions(20000, 5_000_000, True, False)):
        for index, element in enumerate(nested_policies(render_api_policy(options))):
            if element.tag == "set-url":
                continue  # inside send-one-way-request it is plain text (xs:string), checked there
            path = tmp_path / f"{option_id(options)}-{index}-{element.tag}.xml"
            path.write_text(lifted(element), encoding="utf-8")
            paths.append(path)
    assert len(paths) > 20
    result = validate(paths)
    assert result.returncode == 0, result.stdout


def test_the_validator_rejects_what_apim_rejects(tmp_path: Path) -> None:
    # The judge can fail: the proof of concept's <circuit-breaker> is not an APIM policy.
    text = render_api_policy().replace("<base />", '<circuit-breaker threshold="3" />', 1)
    path = tmp_path / "bad.xml"
    path.write_text(text, encoding="utf-8")
    result = validate([path])
    assert result.returncode == 1
    assert "circuit-breaker" in result.stdout


@pytest.mark.parametrize("options", ALL_OPTIONS, ids=option_id)
def test_no_placeholder_and_named_values_match(options: PolicyOptions) -> None:
    text = render_api_policy(options)
    assert "<!-- pros:" not in text
    assert "${" not in text
    assert not re.search(r"\b(TODO|FIXME|PLACEHOLDER|CHANGEME|XXX)\b", text)
    assert "{backend" not in text and "{region}" not in text
    referenced = set(re.findall(r"\{\{([^}]+)\}\}", text))
    assert referenced == {nv.name for nv in NAMED_VALUES}, "every {{name}} is a named value and vice versa"


def test_the_same_text_for_every_gateway() -> None:
    # Nothing per gateway is rendered: no region name, no endpoint, no backend of one region.
    text = render_api_policy(PolicyOptions(20000, 5_000_000, True, True))
    for region in ("eastus", "westeurope", "swedencentral"):
        assert region not in text
        assert openai_backend_id(region) not in text
        assert function_backend_id(region) not in text
    assert "eventgrid.azure.net/api" not in text


def test_backend_ids_are_the_shared_pool_ids() -> None:
    with_functions = {e.attrib["backend-id"] for e in parse(render_api_policy()).iter("set-backend-service")}
    without = {
        e.attrib["backend-id"]
        for e in parse(render_api_policy(PolicyOptions(streaming_function=False))).iter("set-backend-service")
    }
    assert with_functions == {OPENAI_POOL_ID, FUNCTIONS_POOL_ID}
    assert without == {OPENAI_POOL_ID}
    assert FUNCTIONS_POOL_ID not in render_api_policy(PolicyOptions(streaming_function=False))


def test_secrets_and_caller_dimensions_are_removed_before_forwarding() -> None:
    root = parse(render_api_policy())
    inbound = root.find("inbound")
    deleted_headers = {
        e.attrib["name"] for e in inbound.findall("set-header") if e.attrib.get("exists-action") == "delete"
    }
    deleted_query = {
        e.attrib["name"]
        for e in inbound.findall("set-query-parameter")
        if e.attrib.get("exists-action") == "delete"
    }
    assert {"api-key", "Authorization", "x-pros-billing-code", "x-pros-request-id"} <= deleted_headers
    assert {"billingCode", "companyName", "username", "subscription-key"} <= deleted_query
    # No key anywhere: Event Grid and OpenAI are reached with the gateway's managed identity.
    text = render_api_policy(PolicyOptions(20000, 5_000_000, True, True))
    resources = {e.attrib["resource"] for e in root.iter("authentication-managed-identity")}
    assert resources == {"https://cognitiveservices.azure.com", "https://eventgrid.azure.net"}
    assert "aeg-sas-key" not in text.lower() and "SharedAccessSignature" not in text


def test_circuit_breaking_is_left_to_the_backends_and_each_attempt_forwards_once() -> None:
    root = parse(render_api_policy())
    assert not list(root.iter("circuit-breaker"))
    retry = root.find("backend/retry")
    assert retry is not None
    choose = retry.find("choose")
    # Every branch of the one choose in the retry forwards exactly once; nothing forwards outside it.
    for branch in list(choose):
        assert len(branch.findall("forward-request")) == 1, branch.attrib
        assert branch.find("forward-request").attrib["buffer-request-body"] == "true"
    assert len(list(root.iter("forward-request"))) == len(list(choose))
    streamed = [b for b in choose if b.find("forward-request").attrib.get("buffer-response") == "false"]
    assert len(streamed) == 2  # the functions pool, and the OpenAI pool for a streamed call


def test_token_limit_is_rendered_only_when_asked() -> None:
    assert "llm-token-limit" not in render_api_policy()
    both = parse(render_api_policy(PolicyOptions(tokens_per_minute=20000, monthly_token_quota=5_000_000)))
    (limit,) = list(both.iter("llm-token-limit"))
    assert limit.attrib["tokens-per-minute"] == "20000"
    assert limit.attrib["token-quota"] == "5000000"
    assert limit.attrib["token-quota-period"] == "Monthly"
    (quota_only,) = list(
        parse(render_api_policy(PolicyOptions(monthly_token_quota=7))).iter("llm-token-limit")
    )
    assert "tokens-per-minute" not in quota_only.attrib
    assert quota_only.attrib["token-quota"] == "7"


def test_require_billing_code_adds_a_refusal() -> None:
    assert "BillingCodeRequired" not in render_api_policy()
    assert "BillingCodeRequired" in render_api_policy(PolicyOptions(require_billing_code=True))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tokens_per_minute": 0},
        {"tokens_per_minute": -5},
        {"monthly_token_quota": 1.5},
        {"monthly_token_quota": True},
        {"tokens_per_minute": "1000"},
        {"require_billing_code": "yes"},
        {"streaming_function": 1},
    ],
)
def test_bad_options_are_refused_clearly(kwargs: dict) -> None:
    with pytest.raises(UsageError) as raised:
        PolicyOptions(**kwargs)
    assert raised.value.exit_code == 2
    name = next(iter(kwargs)).replace("_", "-")
    assert name in raised.value.message


def test_api_and_format_constants() -> None:
    assert API_ID == "openai"
    assert POLICY_FORMAT == "rawxml"
    assert '"openai"' in render_api_policy()  # the event's api field


def test_named_value_values_are_checked() -> None:
    values = named_value_values("eastus", "https://t.eastus-1.eventgrid.azure.net/api/events/")
    assert values == {
        "pros-region": "eastus",
        "pros-eventgrid-endpoint": "https://t.eastus-1.eventgrid.azure.net/api/events",
        "pros-geography": "none",
    }
    topic = "https://t.eastus-1.eventgrid.azure.net/api/events"
    assert named_value_values("eastus", topic, "GEO-NA")["pros-geography"] == "GEO-NA"
    for geography in ("none", "geo-na", "GEO NA", "", "X" * 65):
        with pytest.raises(ValueError):
            named_value_values("eastus", topic, geography)
    for region, endpoint in [
        ("East US", "https://t.eastus-1.eventgrid.azure.net/api/events"),
        ("eastus", "http://t.eastus-1.eventgrid.azure.net/api/events"),
        ("eastus", "https://t.eastus-1.eventgrid.azure.net/"),
        ("eastus", "https://t.eastus-1.eventgrid.azure.net/api/events?code=x"),
    ]:
        with pytest.raises(ValueError):
            named_value_values(region, endpoint)
    assert all(not nv.secret for nv in NAMED_VALUES)


def test_backend_ids() -> None:
    assert openai_backend_id("eastus") == "openai-eastus"
    assert function_backend_id("swedencentral") == "func-swedencentral"
    with pytest.raises(ValueError):
        openai_backend_id("East US")


def test_expressions_are_found_where_apim_finds_them() -> None:
    text = render_api_policy(PolicyOptions(20000, 5_000_000, True, True))
    expressions = find_expressions(text)
    # Every "@(" / "@{" that starts a value is one expression, and every expression is closed.
    starts = len(re.findall(r'(?:="|>)\s*@[({]', text))
    assert len(expressions) == starts
    assert {e.section for e in expressions} == {"inbound", "backend", "outbound", "on-error"}


def test_render_writes_policy_and_api_definition(tmp_path: Path) -> None:
    written = write_rendered(tmp_path / "out", PolicyOptions(require_billing_code=True))
    names = sorted(p.name for p in written)
    assert names == ["openai-api-policy.xml", "openai-inference.openapi.json"]
    assert (tmp_path / "out" / "openai-api-policy.xml").read_text() == render_api_policy(
        PolicyOptions(require_billing_code=True)
    )
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError):
        write_rendered(blocker)
