"""Traffic Manager, Event Grid and Redis in the simulator behave like ARM, through the real SDKs,
and answer in the shapes of Microsoft's REST examples."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.azure.errors import error_code, status_code
from pros_cli.simulator.core import SECRET_MARKER, Simulator
from pros_cli.simulator.providers import trafficmanager as tm_provider
from tests.conftest import SUB
from tests.simulator.shapes import assert_shape, example

OTHER_SUB = "0f0e0d0c-0b0a-0908-0706-050403020100"
TM = "Microsoft.Network.TrafficManager/2022-04-01/"
EG = "Microsoft.EventGrid/2025-02-15/"
REDIS = "Microsoft.Cache/2024-11-01/"
RG = "rg"
PROFILE_BODY = {
    "location": "global",
    "tags": {"team": "gateway"},
    "properties": {
        "trafficRoutingMethod": "Performance",
        "dnsConfig": {"relativeName": "tm-sim-1", "ttl": 30},
        "monitorConfig": {
            "protocol": "HTTPS",
            "port": 443,
            "path": "/status-0123456789abcdef",
            "intervalInSeconds": 30,
            "timeoutInSeconds": 10,
            "toleratedNumberOfFailures": 3,
        },
    },
}
TOPIC_BODY = {
    "location": "eastus",
    "properties": {
        "inputSchema": "EventGridSchema",
        "disableLocalAuth": True,
        "minimumTlsVersionAllowed": "1.2",
    },
}
CACHE_BODY = {
    "location": "eastus",
    "properties": {
        "sku": {"name": "Standard", "family": "C", "capacity": 1},
        "enableNonSslPort": False,
        "minimumTlsVersion": "1.2",
    },
}


def clients(sim: Simulator, sub: str = SUB) -> ClientFactory:
    c = ClientFactory(sub, cloud="simulator", simulator=sim)
    c.resource.resource_groups.create_or_update(RG, {"location": "eastus"})
    return c


def endpoint(name: str, target: str, location: str | None = "East US") -> dict[str, Any]:
    props: dict[str, Any] = {"target": target, "endpointStatus": "Enabled"}
    if location:
        props["endpointLocation"] = location
    return {
        "name": name,
        "type": "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
        "properties": props,
    }


def call_status(sim: Simulator, method: str, path_end: str) -> int:
    return next(
        e["status"]
        for e in reversed(sim.request_log)
        if e["method"] == method and e["path"].lower().endswith(path_end.lower())
    )


def example_statuses(relpath: str) -> set[int]:
    return {int(s) for s in example(relpath)["responses"]}


def http(sim: Simulator, method: str, path: str, api: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    return sim.handle(method, f"https://management.azure.com{path}?api-version={api}", {}, data)


# ---- Traffic Manager ---------------------------------------------------------------------------


@pytest.fixture
def tm(memsim: Simulator) -> Any:
    return clients(memsim).trafficmanager


def make_profile(tm: Any, name: str = "tm1", endpoints: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body = copy.deepcopy(PROFILE_BODY)
    if endpoints is not None:
        body["properties"]["endpoints"] = endpoints
    return tm.profiles.create_or_update(RG, name, body, cls=raw_json)


def test_traffic_manager_api_versions(memsim, tm):
    assert tm._config.api_version == "2026-09-01"
    make_profile(tm)
    profile = (
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/trafficmanagerprofiles/tm1"
    )
    assert http(memsim, "GET", profile, "2022-04-01").status == 200
    for method in ("GET", "PUT", "PATCH"):
        resp = http(memsim, method, profile, "2015-04-28-preview", PROFILE_BODY)
        assert resp.status == 400 and resp.body["error"]["code"] == "InvalidApiVersionParameter"


def test_profile_put_replaces_the_endpoint_list_like_arm(tm):
    make_profile(tm, endpoints=[endpoint("a", "a.example.net"), endpoint("b", "b.example.net", "West US")])
    assert (
        tm.endpoints.get(RG, "tm1", "ExternalEndpoints", "b", cls=raw_json)["properties"]["target"]
        == "b.example.net"
    )
    # A PUT that lists one endpoint keeps only that one; a PUT without endpoints deletes them all.
    again = make_profile(tm, endpoints=[endpoint("a", "a.example.net")])
    assert [e["name"] for e in again["properties"]["endpoints"]] == ["a"]
    with pytest.raises(HttpResponseError) as err:
        tm.endpoints.get(RG, "tm1", "ExternalEndpoints", "b")
    assert status_code(err.value) == 404
    assert make_profile(tm)["properties"]["endpoints"] == []
    assert tm.profiles.get(RG, "tm1", cls=raw_json)["properties"]["endpoints"] == []


def test_profile_patch_keeps_endpoints_and_refuses_to_name_them(tm):
    make_profile(tm)
    tm.endpoints.create_or_update(RG, "tm1", "ExternalEndpoints", "a", endpoint("a", "a.example.net"))
    patched = tm.profiles.update(RG, "tm1", {"properties": {"dnsConfig": {"ttl": 300}}}, cls=raw_json)
    assert patched["properties"]["dnsConfig"] == {
        "relativeName": "tm-sim-1",
        "ttl": 300,
        "fqdn": "tm-sim-1.trafficmanager.net",
    }
    assert [e["name"] for e in patched["properties"]["endpoints"]] == ["a"]
    assert patched["properties"]["monitorConfig"]["path"] == "/status-0123456789abcdef"
    with pytest.raises(HttpResponseError) as err:
        tm.profiles.update(RG, "tm1", {"properties": {"endpoints": []}})
    assert err.value.status_code == 400
    assert "cannot be specified when updating a profile using PATCH" in str(err.value)
    assert len(tm.profiles.get(RG, "tm1", cls=raw_json)["properties"]["endpoints"]) == 1


def test_profile_validation(tm):
    def refused(change: dict[str, Any], name: str = "bad") -> HttpResponseError:
        body = copy.deepcopy(PROFILE_BODY)
        body.update(change.get("top", {}))
        for key, value in change.get("props", {}).items():
            body["properties"][key] = value
        with pytest.raises(HttpResponseError) as err:
            tm.profiles.create_or_update(RG, name, body)
        return err.value

    assert error_code(refused({"top": {"location": "eastus"}})) == "LocationNotAvailableForResourceType"
    assert error_code(refused({"props": {"trafficRoutingMethod": "Random"}})) == "BadRequest"
    monitor = dict(PROFILE_BODY["properties"]["monitorConfig"], intervalInSeconds=20)
    assert "intervalInSeconds" in str(refused({"props": {"monitorConfig": monitor}}))
    monitor = dict(PROFILE_BODY["properties"]["monitorConfig"], protocol="FTP")
    assert error_code(refused({"props": {"monitorConfig": monitor}})) == "BadRequest"
    no_location = refused({"props": {"endpoints": [endpoint("a", "a.example.net", location=None)]}})
    assert "endpointLocation" in str(no_location)
    dupes = refused({"props": {"endpoints": [endpoint("a", "x.net"), endpoint("a", "y.net")]}})
    assert "duplicates" in str(dupes)
    bad_type = {**endpoint("a", "x.net"), "type": "Microsoft.Network/trafficManagerProfiles/cnameEndpoints"}
    assert "invalid" in str(refused({"props": {"endpoints": [bad_type]}}))
    assert not list(tm.profiles.list_by_resource_group(RG))  # nothing refused was stored


def test_endpoint_put_is_validated_against_its_profile(tm):
    make_profile(tm)
    with pytest.raises(HttpResponseError) as err:
        tm.endpoints.create_or_update(
            RG, "tm1", "ExternalEndpoints", "a", endpoint("a", "a.net", location=None)
        )
    assert "endpointLocation" in str(err.value)
    with pytest.raises(HttpResponseError) as err:
        tm.endpoints.create_or_update(RG, "tm1", "ExternalEndpoints", "a", endpoint("a", "", "East US"))
    assert "target" in str(err.value)
    with pytest.raises(HttpResponseError) as err:
        tm.endpoints.create_or_update(RG, "missing", "ExternalEndpoints", "a", endpoint("a", "a.net"))
    assert error_code(err.value) == "ParentResourceNotFound"


def test_relative_dns_names_are_global_and_fixed(memsim, tm):
    make_profile(tm)
    theirs = clients(memsim, OTHER_SUB).trafficmanager
    with pytest.raises(HttpResponseError) as err:
        make_profile(theirs, name="their-profile")
    assert err.value.status_code == 409 and "tm-sim-1.trafficmanager.net is not available" in str(err.value)
    body = copy.deepcopy(PROFILE_BODY)
    body["properties"]["dnsConfig"]["relativeName"] = "tm-sim-2"
    with pytest.raises(HttpResponseError) as err:
        tm.profiles.create_or_update(RG, "tm1", body)
    assert "cannot be changed" in str(err.value)
    memsim.take_name(tm_provider.PROFILE, "someone-elses")
    check = {"name": "someone-elses", "type": "Microsoft.Network/trafficManagerProfiles"}
    assert (
        tm.profiles.check_traffic_manager_relative_dns_name_availability(check, cls=raw_json)["nameAvailable"]
        is False
    )
    assert (
        tm.profiles.check_traffic_manager_name_availability_v2({**check, "name": "still-free"}, cls=raw_json)[
            "nameAvailable"
        ]
        is True
    )


def test_traffic_manager_shapes(memsim, tm):
    put = example(TM + "Profile-PUT-WithEndpoints.json")["parameters"]["parameters"]
    created = tm.profiles.create_or_update(RG, "example", put, cls=raw_json)
    assert call_status(memsim, "PUT", "/example") == 201
    must = (
        "id",
        "name",
        "type",
        "location",
        "properties.dnsConfig.fqdn",
        "properties.monitorConfig.profileMonitorStatus",
        "properties.endpoints",
    )
    assert_shape(created, TM + "Profile-PUT-WithEndpoints.json", "201", must_have=must)
    assert created["properties"]["endpoints"][0]["properties"]["endpointMonitorStatus"] == "CheckingEndpoint"
    updated = tm.profiles.create_or_update(RG, "example", put, cls=raw_json)
    assert call_status(memsim, "PUT", "/example") == 200
    assert_shape(updated, TM + "Profile-PUT-WithEndpoints.json", "200", must_have=must)
    assert_shape(
        tm.profiles.get(RG, "example", cls=raw_json), TM + "Profile-GET-WithEndpoints.json", must_have=must
    )

    ep_example = example(TM + "Endpoint-PUT-External-WithLocation.json")["parameters"]
    ep = tm.endpoints.create_or_update(
        RG, "example", "ExternalEndpoints", ep_example["endpointName"], ep_example["parameters"], cls=raw_json
    )
    ep_must = (
        "id",
        "name",
        "type",
        "properties.endpointLocation",
        "properties.target",
        "properties.priority",
    )
    assert_shape(ep, TM + "Endpoint-PUT-External-WithLocation.json", "201", must_have=ep_must)
    got = tm.endpoints.get(RG, "example", "ExternalEndpoints", ep_example["endpointName"], cls=raw_json)
    assert_shape(got, TM + "Endpoint-GET-External-WithLocation.json", must_have=ep_must)
    assert got["properties"]["priority"] == 2  # the next free priority after the profile's own endpoint

    for relpath in (
        "NameAvailabilityTest_NameAvailable-POST-example-21.json",
        "NameAvailabilityTest_NameNotAvailable-POST-example-23.json",
    ):
        request = dict(example(TM + relpath)["parameters"]["parameters"])
        if "NotAvailable" in relpath:
            request["name"] = put["properties"]["dnsConfig"]["relativeName"]
        answer = tm.profiles.check_traffic_manager_relative_dns_name_availability(request, cls=raw_json)
        assert_shape(answer, TM + relpath, must_have=("name", "type", "nameAvailable"))
        assert answer["nameAvailable"] is ("NotAvailable" not in relpath)
    v2 = example(TM + "NameAvailabilityV2Test_NameAvailable-POST-example-21.json")["parameters"]["parameters"]
    assert_shape(
        tm.profiles.check_traffic_manager_name_availability_v2(v2, cls=raw_json),
        TM + "NameAvailabilityV2Test_NameAvailable-POST-example-21.json",
        must_have=("nameAvailable",),
    )

    assert tm.profiles.delete(RG, "example", cls=raw_json) == {}
    assert call_status(memsim, "DELETE", "/example") in example_statuses(TM + "Profile-DELETE.json")
    assert memsim.children_of(created["id"]) == []
    tm.profiles.delete(RG, "example")
    assert call_status(memsim, "DELETE", "/example") == 204


# ---- Event Grid --------------------------------------------------------------------------------


@pytest.fixture
def eg(memsim: Simulator) -> Any:
    return clients(memsim).eventgrid


def test_topic_writes_are_long_running_and_answer_201(memsim, eg):
    topic = eg.topics.begin_create_or_update(RG, "evgt-1", TOPIC_BODY, cls=raw_json).result()
    assert call_status(memsim, "PUT", "/evgt-1") == 201
    assert topic["properties"]["provisioningState"] == "Succeeded"
    assert topic["properties"]["endpoint"] == "https://evgt-1.eastus-1.eventgrid.azure.net/api/events"
    assert topic["properties"]["disableLocalAuth"] is True
    # An update PUT is 201 too (the SDK accepts nothing else) and polls to completion.
    again = eg.topics.begin_create_or_update(RG, "evgt-1", {**TOPIC_BODY, "tags": {"a": "b"}}, cls=raw_json)
    assert call_status(memsim, "PUT", "/evgt-1") == 201 and again.result()["tags"] == {"a": "b"}
    patched = eg.topics.begin_update(
        RG, "evgt-1", {"properties": {"minimumTlsVersionAllowed": "1.1"}}, cls=raw_json
    ).result()
    assert patched["properties"]["minimumTlsVersionAllowed"] == "1.1"
    assert patched["properties"]["disableLocalAuth"] is True


def test_topic_validation(eg):
    def refused(props: dict[str, Any], name: str = "evgt-bad") -> HttpResponseError:
        body = {**TOPIC_BODY, "properties": {**TOPIC_BODY["properties"], **props}}
        with pytest.raises(HttpResponseError) as err:
            eg.topics.begin_create_or_update(RG, name, body).result()
        return err.value

    assert "inputSchema" in str(refused({"inputSchema": "XmlSchema"}))
    assert "minimumTlsVersionAllowed" in str(refused({"minimumTlsVersionAllowed": "0.9"}))
    assert "publicNetworkAccess" in str(refused({"publicNetworkAccess": "Sometimes"}))
    assert error_code(refused({}, name="x")) == "InvalidResourceName"
    eg.topics.begin_create_or_update(RG, "evgt-1", TOPIC_BODY).result()
    assert "cannot be changed" in str(refused({"inputSchema": "CloudEventSchemaV1_0"}, name="evgt-1"))


def test_event_grid_shapes(memsim, eg):
    request = example(EG + "Topics_CreateOrUpdate.json")["parameters"]["topicInfo"]
    initial = eg.topics.begin_create_or_update(
        RG, "exampletopic1", request, cls=raw_json, polling=False
    ).result()
    extra = ("properties.inputSchema", "properties.disableLocalAuth", "properties.minimumTlsVersionAllowed")
    must = ("id", "name", "type", "location", "properties.endpoint", "properties.provisioningState")
    assert_shape(
        initial,
        EG + "Topics_CreateOrUpdate.json",
        "201",
        allow_extra=extra,
        must_have=(*must, "properties.inboundIpRules"),
    )
    got = eg.topics.get(RG, "exampletopic1", cls=raw_json)
    assert_shape(
        got,
        EG + "Topics_Get.json",
        allow_extra=(*extra, "properties.publicNetworkAccess", "properties.inboundIpRules"),
        must_have=must,
    )
    keys = eg.topics.list_shared_access_keys(RG, "exampletopic1", cls=raw_json)
    assert_shape(keys, EG + "Topics_ListSharedAccessKeys.json", must_have=("key1", "key2"))
    assert keys["key1"].startswith(SECRET_MARKER)
    eg.topics.begin_delete(RG, "exampletopic1").result()
    assert call_status(memsim, "DELETE", "/exampletopic1") in example_statuses(EG + "Topics_Delete.json")
    eg.topics.begin_delete(RG, "exampletopic1").result()
    assert call_status(memsim, "DELETE", "/exampletopic1") == 204


# ---- Redis -------------------------------------------------------------------------------------


@pytest.fixture
def redis(memsim: Simulator) -> Any:
    return clients(memsim).redis.redis


def settle(sim: Simulator, redis: Any, name: str) -> dict[str, Any]:
    """Let the running operation finish (the next GET completes it) and return the cache."""
    sim.fast_forward()
    body = redis.get(RG, name, cls=raw_json)
    assert body["properties"]["provisioningState"] == "Succeeded"
    return body


def test_redis_hands_out_keys_on_writes_only(memsim, redis):
    initial = redis.begin_create(RG, "redis-1", CACHE_BODY, cls=raw_json, polling=False).result()
    keys = initial["properties"]["accessKeys"]
    assert keys["primaryKey"].startswith(SECRET_MARKER) and keys["secondaryKey"].startswith(SECRET_MARKER)
    assert initial["properties"]["provisioningState"] == "Creating"
    got = settle(memsim, redis, "redis-1")
    assert "accessKeys" not in got["properties"] and SECRET_MARKER not in json.dumps(got)
    assert redis.list_keys(RG, "redis-1", cls=raw_json) == keys
    patched = redis.begin_update(
        RG, "redis-1", {"properties": {"minimumTlsVersion": "1.2"}}, cls=raw_json, polling=False
    ).result()
    assert patched["properties"]["accessKeys"] == keys
    settle(memsim, redis, "redis-1")
    final = redis.begin_update(RG, "redis-1", {"tags": {"a": "b"}}, cls=raw_json).result()
    assert "accessKeys" not in final["properties"] and final["tags"] == {"a": "b"}


def test_redis_validation_and_scaling_rules(memsim, redis):
    def refused(props: dict[str, Any], name: str = "redis-bad") -> HttpResponseError:
        body = {**CACHE_BODY, "properties": {**CACHE_BODY["properties"], **props}}
        with pytest.raises(HttpResponseError) as err:
            redis.begin_create(RG, name, body).result()
        return err.value

    assert "family" in str(refused({"sku": {"name": "Premium", "family": "C", "capacity": 1}}))
    assert "capacity" in str(refused({"sku": {"name": "Standard", "family": "C", "capacity": 7}}))
    assert "SKU name" in str(refused({"sku": {"name": "Gold", "family": "C", "capacity": 1}}))
    assert "minimumTlsVersion" in str(refused({"minimumTlsVersion": "1.3"}))
    assert error_code(refused({}, name="bad--name")) == "InvalidResourceName"
    redis.begin_create(RG, "redis-1", CACHE_BODY).result()
    with pytest.raises(HttpResponseError) as err:
        redis.begin_update(
            RG, "redis-1", {"properties": {"sku": {"name": "Basic", "family": "C", "capacity": 1}}}
        )
    assert "not supported" in str(err.value)
    with pytest.raises(HttpResponseError) as err:
        clients(memsim, OTHER_SUB).redis.redis.begin_create(RG, "redis-1", CACHE_BODY).result()
    assert err.value.status_code == 409 and error_code(err.value) == "NameNotAvailable"


def test_redis_shapes(memsim, redis):
    request = example(REDIS + "RedisCacheCreate.json")["parameters"]["parameters"]
    initial = redis.begin_create(RG, "cache1", request, cls=raw_json, polling=False).result()
    assert call_status(memsim, "PUT", "/cache1") == 201
    # Request properties passed through, a free-form map, and two that RedisCacheGet.json spells.
    passed_through = (
        "properties.subnetId",
        "properties.staticIP",
        "properties.shardCount",
        "properties.redisConfiguration",
        "properties.publicNetworkAccess",
        "properties.linkedServers",
        "properties.disableAccessKeyAuthentication",  # in the 2024-11-01 spec, default false
    )
    must = (
        "id",
        "name",
        "type",
        "location",
        "properties.accessKeys.primaryKey",
        "properties.hostName",
        "properties.sslPort",
        "properties.sku.family",
        "properties.instances",
    )
    assert_shape(initial, REDIS + "RedisCacheCreate.json", "201", allow_extra=passed_through, must_have=must)
    assert len(initial["properties"]["instances"]) == 6  # 2 shards x (primary + 2 replicas), as the example
    settle(memsim, redis, "cache1")
    again = redis.begin_create(RG, "cache1", request, cls=raw_json, polling=False).result()
    assert call_status(memsim, "PUT", "/cache1") == 200
    assert_shape(again, REDIS + "RedisCacheCreate.json", "200", allow_extra=passed_through, must_have=must)
    got = settle(memsim, redis, "cache1")
    assert got["location"] == "East US" and got["properties"]["redisVersion"] == "4.0"
    assert "accessKeys" not in got["properties"]
    # GET: a cache like pros makes (the example GET has no zones or shards). redisConfiguration is
    # a free-form map; minimumTlsVersion is spelled in RedisCacheCreate.json.
    redis.begin_create(RG, "plain", CACHE_BODY).result()
    assert_shape(
        redis.get(RG, "plain", cls=raw_json),
        REDIS + "RedisCacheGet.json",
        allow_extra=(
            "properties.redisConfiguration",
            "properties.minimumTlsVersion",
            "properties.disableAccessKeyAuthentication",
        ),
        must_have=("properties.hostName", "properties.provisioningState", "properties.sslPort"),
    )
    assert_shape(
        redis.list_keys(RG, "cache1", cls=raw_json),
        REDIS + "RedisCacheListKeys.json",
        must_have=("primaryKey", "secondaryKey"),
    )

    check = example(REDIS + "RedisCacheCheckNameAvailability.json")["parameters"]["parameters"]
    assert redis.check_name_availability(check, cls=raw_json) is None  # 200, no body, as the example
    assert call_status(memsim, "POST", "/CheckNameAvailability") == 200
    with pytest.raises(HttpResponseError) as err:
        redis.check_name_availability({**check, "name": "cache1"})
    assert err.value.status_code == 409 and error_code(err.value) == "NameNotAvailable"

    redis.begin_delete(RG, "cache1").result()
    assert call_status(memsim, "DELETE", "/cache1") in example_statuses(REDIS + "RedisCacheDelete.json")
    with pytest.raises(HttpResponseError) as err:
        redis.get(RG, "cache1")
    assert err.value.status_code == 404
