"""The geography a gateway serves (geographic routing) in its usage events and headers: the
policy reads it from the ``pros-geography`` named value, compiled and run as APIM would."""

from __future__ import annotations

import pytest

from pros_cli.policy import FUNCTIONS_POOL_ID, OPENAI_POOL_ID, PolicyOptions, render_api_policy
from tests.policy.csharp_harness import CompiledPolicy, compile_policy
from tests.policy.test_policy_runs import CHAT_USAGE, answer, call, chat_response, events


@pytest.fixture(scope="module")
def geographic(tmp_path_factory: pytest.TempPathFactory) -> CompiledPolicy:
    """The default policy on a gateway of geography GEO-NA."""
    return compile_policy(
        render_api_policy(PolicyOptions()),
        tmp_path_factory.mktemp("geo-policy"),
        values={"pros-geography": "GEO-NA"},
    )


def forwarded_headers(trace: dict) -> dict[str, list[str]]:
    (forward,) = trace["forwards"]
    return {name.lower(): value for name, value in forward["headers"].items()}


def test_the_event_and_the_response_name_the_gateways_geography(geographic) -> None:
    trace = geographic.run(call())
    (event,) = events(trace)  # still valid against the contract's schema
    assert event["data"]["geography"] == "GEO-NA"
    assert event["data"]["gatewayRegion"] == "eastus"
    assert trace["response"]["headers"]["x-pros-geography"] == ["GEO-NA"]


def test_a_failed_over_call_keeps_the_gateways_geography(geographic) -> None:
    backend = [answer(429, Retry_After="5"), answer(region="West US", body=chat_response(CHAT_USAGE))]
    trace = geographic.run(call(backend=backend))
    (event,) = events(trace)
    assert event["data"]["failover"] is True and event["data"]["region"] == "westus"
    assert event["data"]["geography"] == "GEO-NA"
    assert trace["response"]["headers"]["x-pros-geography"] == ["GEO-NA"]


def test_the_streaming_function_is_told_the_geography_and_a_forged_one_never_passes(geographic) -> None:
    scenario = call(streamed=True, headers={"x-pros-geography": "GEO-EU"})
    scenario["backend"] = [answer(body="data: {}\n\ndata: [DONE]\n\n")]
    trace = geographic.run(scenario)
    assert trace["forwards"][0]["backendId"] == FUNCTIONS_POOL_ID
    assert forwarded_headers(trace)["x-pros-geography"] == ["GEO-NA"]
    assert trace["sends"] == []  # the function reports the streamed call, with this geography


def test_the_openai_pool_never_sees_a_geography_header(geographic) -> None:
    trace = geographic.run(call(headers={"x-pros-geography": "GEO-EU"}))
    assert trace["forwards"][0]["backendId"] == OPENAI_POOL_ID
    assert "x-pros-geography" not in forwarded_headers(trace)


def test_without_geographic_routing_there_is_no_geography(compiled) -> None:
    scenario = call(streamed=True, headers={"x-pros-geography": "GEO-EU"})
    scenario["backend"] = [answer(body="data: {}\n\ndata: [DONE]\n\n")]
    streamed = compiled().run(scenario)
    assert "x-pros-geography" not in forwarded_headers(streamed)  # the caller's is dropped too
    plain = compiled().run(call(backend=[answer(body=chat_response(CHAT_USAGE), x_pros_geography="GEO-XX")]))
    (event,) = events(plain)
    assert event["data"]["geography"] is None
    assert "x-pros-geography" not in plain["response"]["headers"]
