"""Azure Managed Redis in the simulator behaves like ARM, through the real SDK
(azure-mgmt-redisenterprise 3.1.0, api 2025-07-01), in the shapes of the REST examples
(azure-rest-api-specs, specification/redisenterprise/.../stable/2025-07-01/examples)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.azure.errors import error_code
from pros_cli.simulator.core import SECRET_MARKER, Simulator
from tests.conftest import SUB

OTHER_SUB = "0f0e0d0c-0b0a-0908-0706-050403020100"
RG = "rg"
API = "2025-07-01"
CLUSTER = {
    "location": "westus",
    "sku": {"name": "Balanced_B0"},
    "properties": {"minimumTlsVersion": "1.2", "publicNetworkAccess": "Enabled"},
}
DATABASE = {
    "properties": {
        "clientProtocol": "Encrypted",
        "port": 10000,
        "clusteringPolicy": "EnterpriseCluster",
        "evictionPolicy": "NoEviction",
        "accessKeysAuthentication": "Disabled",
    }
}
OBJECT_ID = "6497c918-11ad-41e7-bf0f-7c518a87d0b0"
ASSIGNMENT = {"properties": {"accessPolicyName": "default", "user": {"objectId": OBJECT_ID}}}


def factory(sim: Simulator, sub: str = SUB) -> ClientFactory:
    c = ClientFactory(sub, cloud="simulator", simulator=sim)
    c.get("resource").resource_groups.create_or_update(RG, {"location": "westus"})
    return c


@pytest.fixture
def re(memsim: Simulator) -> Any:
    return factory(memsim).redisenterprise


def cluster_url(name: str, sub: str = SUB) -> str:
    return (
        f"https://management.azure.com/subscriptions/{sub}/resourceGroups/{RG}/providers/"
        f"Microsoft.Cache/redisEnterprise/{name}"
    )


def raw(sim: Simulator, method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    return sim.handle(method, f"{url}?api-version={API}", {}, data)


def refused(call: Any, *args: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as err:
        result = call(*args)
        if hasattr(result, "result"):
            result.result()
    return err.value


def test_cluster_create_is_long_running_with_an_operations_status_url(memsim, re):
    factory(memsim)
    created = raw(memsim, "PUT", cluster_url("cache1"), CLUSTER)
    assert created.status == 201
    assert created.body["properties"]["provisioningState"] == "Creating"
    assert created.body["properties"]["resourceState"] == "Creating"  # as RedisEnterpriseCreate.json
    status_url = created.headers["Azure-AsyncOperation"]
    assert f"/subscriptions/{SUB}/providers/Microsoft.Cache/locations/westus/operationsStatus/" in status_url
    memsim.fast_forward(polls=1)
    path = status_url.split("management.azure.com", 1)[1].split("?")[0]
    status = raw(memsim, "GET", "https://management.azure.com" + path)
    assert status.status == 200 and status.body["status"] == "Succeeded"  # OperationsStatusGet.json
    got = re.redis_enterprise.get(RG, "cache1", cls=raw_json)
    props = got["properties"]
    assert props["provisioningState"] == "Succeeded" and props["resourceState"] == "Running"
    assert props["hostName"] == "cache1.westus.redis.azure.net"
    assert got["location"] == "West US" and got["type"] == "Microsoft.Cache/redisEnterprise"
    assert got["kind"] == "v2" and got["sku"] == {"name": "Balanced_B0"}
    assert props["highAvailability"] == "Enabled" and props["minimumTlsVersion"] == "1.2"


def test_cluster_validation(memsim, re):
    ops = re.redis_enterprise

    def create(name: str = "bad", **changes: Any) -> HttpResponseError:
        body = {**CLUSTER, **changes}
        return refused(ops.begin_create, RG, name, body)

    assert "Balanced_B0" in str(create(sku={"name": "Standard_C1"}))  # names the valid SKUs
    assert "obsolete" in str(
        create(properties={"minimumTlsVersion": "1.0", "publicNetworkAccess": "Enabled"})
    )
    missing = create(properties={"minimumTlsVersion": "1.2"})  # publicNetworkAccess is required on create
    assert "publicNetworkAccess" in str(missing) and missing.status_code == 400
    assert error_code(create(name="bad--name")) == "InvalidResourceName"
    assert error_code(create(name="x" * 61)) == "InvalidResourceName"
    assert "capacity" in str(create(sku={"name": "Enterprise_E10", "capacity": 3}))
    ops.begin_create(RG, "cache1", CLUSTER).result()
    other = factory(memsim, OTHER_SUB).redisenterprise.redis_enterprise
    taken = refused(other.begin_create, RG, "cache1", CLUSTER)  # same region, another subscription
    assert taken.status_code == 409 and error_code(taken) == "NameNotAvailable"
    elsewhere = other.begin_create(RG, "cache1", {**CLUSTER, "location": "eastus"}).result()
    assert elsewhere.host_name == "cache1.eastus.redis.azure.net"  # the name is unique per region


def test_database_is_a_child_with_its_own_long_running_create(memsim, re):
    missing = refused(re.databases.begin_create, RG, "nocluster", "default", DATABASE)
    assert missing.status_code == 404 and error_code(missing) == "ParentResourceNotFound"
    raw(memsim, "PUT", cluster_url("cache1"), CLUSTER)  # still creating
    busy = refused(re.databases.begin_create, RG, "cache1", "default", DATABASE)
    assert busy.status_code == 409
    memsim.fast_forward()
    re.redis_enterprise.get(RG, "cache1")
    created = raw(memsim, "PUT", cluster_url("cache1") + "/databases/default", DATABASE)
    assert created.status == 201 and "Azure-AsyncOperation" in created.headers
    assert created.body["properties"]["provisioningState"] == "Creating"
    memsim.fast_forward()
    got = re.databases.get(RG, "cache1", "default", cls=raw_json)
    assert got["name"] == "cache1/default"  # as RedisEnterpriseDatabasesGet.json
    assert got["type"] == "Microsoft.Cache/redisEnterprise/databases"
    assert {k: got["properties"][k] for k in DATABASE["properties"]} == DATABASE["properties"]
    assert got["properties"]["resourceState"] == "Running"


def test_database_defaults_and_create_only_properties(memsim, re):
    re.redis_enterprise.begin_create(RG, "cache1", CLUSTER).result()
    plain = re.databases.begin_create(RG, "cache1", "default", {"properties": {}}, cls=raw_json).result()
    props = plain["properties"]
    assert (props["clientProtocol"], props["clusteringPolicy"], props["evictionPolicy"]) == (
        "Encrypted",
        "OSSCluster",
        "VolatileLRU",
    )  # the spec's defaults
    assert props["accessKeysAuthentication"] == "Disabled"  # DatabaseCreateProperties default
    port = refused(re.databases.begin_update, RG, "cache1", "default", {"properties": {"port": 10001}})
    assert "port" in str(port) and port.status_code == 400
    policy = refused(
        re.databases.begin_update,
        RG,
        "cache1",
        "default",
        {"properties": {"clusteringPolicy": "EnterpriseCluster"}},
    )
    assert "clusteringPolicy" in str(policy)
    evict = re.databases.begin_update(
        RG, "cache1", "default", {"properties": {"evictionPolicy": "NoEviction"}}, cls=raw_json
    ).result()
    assert evict["properties"]["evictionPolicy"] == "NoEviction"  # updatable
    assert "evictionPolicy" in str(
        refused(
            re.databases.begin_update,
            RG,
            "cache1",
            "default",
            {"properties": {"evictionPolicy": "Sometimes"}},
        )
    )


def test_list_keys_only_when_access_keys_are_enabled(memsim, re):
    re.redis_enterprise.begin_create(RG, "cache1", CLUSTER).result()
    re.databases.begin_create(RG, "cache1", "default", DATABASE).result()
    off = refused(re.databases.list_keys, RG, "cache1", "default")
    assert off.status_code == 400 and "disabled" in str(off).lower()
    re.databases.begin_update(
        RG, "cache1", "default", {"properties": {"accessKeysAuthentication": "Enabled"}}
    ).result()
    keys = re.databases.list_keys(RG, "cache1", "default", cls=raw_json)  # RedisEnterpriseDatabasesListKeys
    assert set(keys) == {"primaryKey", "secondaryKey"} and keys["primaryKey"].startswith(SECRET_MARKER)
    assert SECRET_MARKER not in json.dumps(re.databases.get(RG, "cache1", "default", cls=raw_json))


def test_access_policy_assignments(memsim, re):
    aps = re.access_policy_assignment
    no_db = refused(aps.begin_create_update, RG, "cache1", "default", "reader1", ASSIGNMENT)
    assert no_db.status_code == 404
    re.redis_enterprise.begin_create(RG, "cache1", CLUSTER).result()
    re.databases.begin_create(RG, "cache1", "default", DATABASE).result()
    created = raw(
        memsim,
        "PUT",
        cluster_url("cache1") + "/databases/default/accessPolicyAssignments/reader1",
        ASSIGNMENT,
    )
    assert created.status == 201  # RedisEnterpriseAccessPolicyAssignmentCreateUpdate.json
    assert created.body["properties"] == {
        "accessPolicyName": "default",
        "user": {"objectId": OBJECT_ID},
        "provisioningState": "Succeeded",
    }
    assert created.body["type"] == "Microsoft.Cache/redisEnterprise/accessPolicyAssignments"
    assert created.body["name"] == "reader1"
    other_policy = {"properties": {**ASSIGNMENT["properties"], "accessPolicyName": "Data Reader"}}
    assert "default" in str(
        refused(aps.begin_create_update, RG, "cache1", "default", "reader2", other_policy)
    )
    not_a_guid = {"properties": {"accessPolicyName": "default", "user": {"objectId": "alice"}}}
    assert "objectId" in str(refused(aps.begin_create_update, RG, "cache1", "default", "reader2", not_a_guid))
    no_user = {"properties": {"accessPolicyName": "default"}}
    assert "user" in str(refused(aps.begin_create_update, RG, "cache1", "default", "reader2", no_user))
    hyphen = refused(aps.begin_create_update, RG, "cache1", "default", "reader-2", ASSIGNMENT)
    assert error_code(hyphen) == "InvalidResourceName"  # ^[A-Za-z0-9]{1,60}$
    listed = aps.list(RG, "cache1", "default")
    assert [a.name for a in listed] == ["reader1"]
    deleted = raw(
        memsim, "DELETE", cluster_url("cache1") + "/databases/default/accessPolicyAssignments/reader1"
    )
    assert deleted.status == 202 and {"Azure-AsyncOperation", "Location"} <= set(deleted.headers)
    memsim.fast_forward()
    assert refused(aps.get, RG, "cache1", "default", "reader1").status_code == 404


def test_deleting_the_cluster_deletes_its_database_and_assignments(memsim, re):
    re.redis_enterprise.begin_create(RG, "cache1", CLUSTER).result()
    re.databases.begin_create(RG, "cache1", "default", DATABASE).result()
    re.access_policy_assignment.begin_create_update(RG, "cache1", "default", "reader1", ASSIGNMENT).result()
    started = raw(memsim, "DELETE", cluster_url("cache1"))
    assert started.status == 202 and {"Azure-AsyncOperation", "Location"} <= set(started.headers)  # as
    # RedisEnterpriseDelete.json; a second delete while it runs is refused
    assert raw(memsim, "DELETE", cluster_url("cache1")).status == 409
    memsim.fast_forward()
    assert refused(re.redis_enterprise.get, RG, "cache1").status_code == 404
    assert not [k for k in memsim.db["resources"] if "/redisenterprise/" in k]
    assert raw(memsim, "DELETE", cluster_url("cache1")).status == 204


def test_status_route_knows_only_the_sdk_api_version(memsim):
    factory(memsim)
    created = raw(memsim, "PUT", cluster_url("cache1"), CLUSTER)
    url = created.headers["Azure-AsyncOperation"].replace(API, "2020-01-01")
    path, _, query = url.split("management.azure.com", 1)[1].partition("?")
    answer = memsim.handle("GET", f"https://management.azure.com{path}?{query}", {}, None)
    assert answer.status == 400 and answer.body["error"]["code"] == "InvalidApiVersionParameter"
