"""The real-cloud path (no simulator): client settings over a real requests session, mocked with
`responses`, and subscription resolution."""

from __future__ import annotations

import time

import pytest
import responses
from azure.core.credentials import AccessToken

from pros_cli.azure.clients import ClientFactory, CloudSettings, raw_json, resolve_subscription
from pros_cli.errors import UsageError
from tests.conftest import SUB

RG_URL = f"https://management.azure.com/subscriptions/{SUB}/resourcegroups/rg-demo"
RG_BODY = {
    "id": f"/subscriptions/{SUB}/resourceGroups/rg-demo",
    "name": "rg-demo",
    "location": "eastus",
    "properties": {"provisioningState": "Succeeded"},
}


class StaticCredential:
    def get_token(self, *scopes, **kwargs):
        return AccessToken("token-for-tests", int(time.time()) + 3600)


@responses.activate
def test_azure_clients_retry_sustained_throttling_beyond_the_sdk_default():
    for _ in range(5):  # azure-core alone gives up after 3 status retries
        responses.get(
            RG_URL,
            status=429,
            json={"error": {"code": "TooManyRequests", "message": "x"}},
            headers={"Retry-After": "0"},
        )
    responses.get(RG_URL, json=RG_BODY)
    factory = ClientFactory(SUB, cloud="azure", credential=StaticCredential())
    assert factory.settings.retry_total == 10
    # Same retry budget as in production, with a tiny backoff so the test does not sleep 25 s.
    factory.settings = CloudSettings("azure", retry_backoff_factor=0.001)
    body = factory.resource.resource_groups.get("rg-demo", cls=raw_json)
    assert body["location"] == "eastus"
    assert len(responses.calls) == 6
    request = responses.calls[-1].request
    assert "pros/" in request.headers["User-Agent"]
    assert request.headers["Authorization"] == "Bearer token-for-tests"


@responses.activate
def test_not_found_means_absent_for_a_resource_kind():
    from pros_cli.resources.resource_group import ResourceGroup
    from tests.conftest import make_spec

    responses.get(RG_URL, status=404, json={"error": {"code": "ResourceGroupNotFound", "message": "gone"}})
    factory = ClientFactory(SUB, cloud="azure", credential=StaticCredential())
    rg = ResourceGroup(make_spec(), key="resource-group", name="rg-demo", region="eastus")
    assert rg.read(factory) is None


def test_subscription_resolution_order(monkeypatch, isolated):
    monkeypatch.delenv("PROS_CLOUD", raising=False)
    assert resolve_subscription("abc", offline=False, cloud="azure") == ("abc", "--subscription")
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUB)
    assert resolve_subscription(None, offline=False, cloud="azure")[0] == SUB
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID")
    with pytest.raises(UsageError, match="no Azure subscription"):
        resolve_subscription(None, offline=False, cloud="azure")
    sub, source = resolve_subscription(None, offline=True, cloud="azure")
    assert sub.startswith("00000000") and "placeholder" in source
