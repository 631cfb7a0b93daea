"""Azure Cache for Redis with Microsoft Entra ID in the simulator: Entra on and access keys off on
the cache, and access policy assignments (api 2024-11-01) as ARM answers them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.azure.errors import error_code
from pros_cli.simulator.core import Simulator
from tests.conftest import SUB

RG = "rg"
API = "2024-11-01"
CACHE = {
    "location": "eastus",
    "properties": {
        "sku": {"name": "Standard", "family": "C", "capacity": 1},
        "minimumTlsVersion": "1.2",
        "disableAccessKeyAuthentication": True,
        "redisConfiguration": {"aad-enabled": "true"},
    },
}
OBJECT_ID = "6497c918-11ad-41e7-bf0f-7c518a87d0b0"
ASSIGNMENT = {
    "properties": {
        "accessPolicyName": "Data Contributor",
        "objectId": OBJECT_ID,
        "objectIdAlias": "processor",
    }
}


@pytest.fixture
def redis(memsim: Simulator) -> Any:
    c = ClientFactory(SUB, cloud="simulator", simulator=memsim)
    c.get("resource").resource_groups.create_or_update(RG, {"location": "eastus"})
    return c.redis


def url(path: str) -> str:
    return (
        f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Cache/"
        f"redis/{path}?api-version={API}"
    )


def refused(call: Any, *args: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as err:
        result = call(*args)
        if hasattr(result, "result"):
            result.result()
    return err.value


def test_cache_keeps_entra_on_and_access_keys_off(memsim, redis):
    redis.redis.begin_create(RG, "cache1", CACHE).result()
    props = redis.redis.get(RG, "cache1", cls=raw_json)["properties"]
    assert props["disableAccessKeyAuthentication"] is True
    assert props["redisConfiguration"]["aad-enabled"] == "true"
    plain = {
        **CACHE,
        "properties": {k: v for k, v in CACHE["properties"].items() if k != "redisConfiguration"},
    }
    plain["properties"].pop("disableAccessKeyAuthentication")
    redis.redis.begin_create(RG, "cache2", plain).result()
    assert (
        redis.redis.get(RG, "cache2", cls=raw_json)["properties"]["disableAccessKeyAuthentication"] is False
    )
    bad = {**CACHE, "properties": {**CACHE["properties"], "disableAccessKeyAuthentication": "yes"}}
    answer = memsim.handle("PUT", url("cache3"), {}, json.dumps(bad).encode())  # the SDK would not send it
    assert answer.status == 400 and "disableAccessKeyAuthentication" in answer.body["error"]["message"]


def test_assignment_create_get_and_delete(memsim, redis):
    aps = redis.access_policy_assignment
    missing = refused(aps.begin_create_update, RG, "nocache", "processor1", ASSIGNMENT)
    assert missing.status_code == 404
    redis.redis.begin_create(RG, "cache1", CACHE).result()
    created = memsim.handle(
        "PUT", url("cache1/accessPolicyAssignments/processor1"), {}, json.dumps(ASSIGNMENT).encode()
    )
    assert created.status == 201  # RedisCacheAccessPolicyAssignmentCreateUpdate.json
    assert created.body["properties"] == {**ASSIGNMENT["properties"], "provisioningState": "Succeeded"}
    assert created.body["type"] == "Microsoft.Cache/Redis/accessPolicyAssignments"
    got = aps.get(RG, "cache1", "processor1")
    assert (got.access_policy_name, got.object_id, got.object_id_alias) == (
        "Data Contributor",
        OBJECT_ID,
        "processor",
    )
    deleted = memsim.handle("DELETE", url("cache1/accessPolicyAssignments/processor1"), {}, None)
    assert deleted.status == 202 and "Location" in deleted.headers  # ...AssignmentDelete.json
    memsim.fast_forward()
    assert refused(aps.get, RG, "cache1", "processor1").status_code == 404


def test_assignment_rules(memsim, redis):
    aps = redis.access_policy_assignment
    memsim.handle("PUT", url("cache1"), {}, json.dumps(CACHE).encode())  # still creating
    busy = refused(aps.begin_create_update, RG, "cache1", "processor1", ASSIGNMENT)
    assert busy.status_code == 409 and "busy" in str(busy)
    memsim.fast_forward()
    redis.redis.get(RG, "cache1")

    def create(name: str, **props: Any) -> HttpResponseError:
        body = {"properties": {**ASSIGNMENT["properties"], **props}}
        return refused(aps.begin_create_update, RG, "cache1", name, body)

    assert "Data Owner" in str(create("abc1", accessPolicyName="Data Writer"))  # names the built-ins
    assert "objectId" in str(create("abc1", objectId="alice"))
    no_alias = {"properties": {k: v for k, v in ASSIGNMENT["properties"].items() if k != "objectIdAlias"}}
    assert "objectIdAlias" in str(refused(aps.begin_create_update, RG, "cache1", "abc1", no_alias))
    assert error_code(create("ab")) == "InvalidResourceName"  # 3-63 characters
    aps.begin_create_update(RG, "cache1", "processor1", ASSIGNMENT).result()
    duplicate = create("processor2", accessPolicyName="Data Reader")  # one policy per object id
    assert duplicate.status_code == 400 and "duplicate" in str(duplicate)
    again = aps.begin_create_update(RG, "cache1", "processor1", ASSIGNMENT).result()  # same name: fine
    assert again.object_id == OBJECT_ID
    assert [a.name for a in aps.list(RG, "cache1")] == ["processor1"]
