"""The simulator enforces what ARM enforces, through the real SDK clients."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from pros_cli.azure.clients import ClientFactory, raw_json
from pros_cli.azure.errors import error_code, is_not_found
from pros_cli.simulator.core import Simulator
from tests.conftest import SUB

OTHER_SUB = "0f0e0d0c-0b0a-0908-0706-050403020100"
STORAGE = {"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}


def clients(sim: Simulator, sub: str = SUB) -> ClientFactory:
    return ClientFactory(sub, cloud="simulator", simulator=sim)


def http(sim: Simulator, method: str, path: str, api: str = "2025-04-01", body: bytes | None = None):
    return sim.handle(method, f"https://management.azure.com{path}?api-version={api}", {}, body)


def test_unimplemented_routes_answer_a_loud_404_that_is_never_taken_for_absence(memsim, capsys):
    resp = http(memsim, "GET", f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Fake/things/x")
    assert resp.status == 404
    assert resp.body["error"]["code"] == "SimulatorRouteNotImplemented"
    assert "NOT IMPLEMENTED" in capsys.readouterr().err
    assert memsim.unimplemented()
    c = clients(memsim)
    with pytest.raises(HttpResponseError) as err:
        c.resource.resources.get_by_id(
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Fake/things/x",
            api_version="2020-01-01",
        )
    assert not is_not_found(err.value)


def test_unknown_api_version_is_rejected(memsim):
    resp = http(memsim, "GET", f"/subscriptions/{SUB}/resourcegroups/rg", api="1999-01-01")
    assert resp.status == 400
    assert resp.body["error"]["code"] == "InvalidApiVersionParameter"


def test_parent_must_exist(memsim):
    c = clients(memsim)
    with pytest.raises(ResourceNotFoundError) as err:
        c.storage.storage_accounts.begin_create("rg-missing", "stabc123", STORAGE).result()
    assert error_code(err.value) == "ResourceGroupNotFound"


def test_required_properties_and_enums_are_validated(memsim):
    c = clients(memsim)
    c.resource.resource_groups.create_or_update("rg", {"location": "eastus"})
    with pytest.raises(HttpResponseError) as err:
        c.storage.storage_accounts.begin_create("rg", "stabc123", {"location": "eastus", "kind": "StorageV2"})
    assert "sku.name" in str(err.value)
    with pytest.raises(HttpResponseError):
        c.storage.storage_accounts.begin_create("rg", "stabc123", {**STORAGE, "kind": "Floppy"})
    with pytest.raises(HttpResponseError) as err:
        c.resource.resource_groups.create_or_update("rg2", {"location": "atlantis"})
    assert error_code(err.value) == "LocationNotAvailableForResourceType"


def test_global_names_are_unique_across_subscriptions(memsim):
    mine, theirs = clients(memsim), clients(memsim, OTHER_SUB)
    for c in (mine, theirs):
        c.resource.resource_groups.create_or_update("rg", {"location": "eastus"})
    theirs.storage.storage_accounts.begin_create("rg", "stshared1", STORAGE).result()
    with pytest.raises(HttpResponseError) as err:
        mine.storage.storage_accounts.begin_create("rg", "stshared1", STORAGE).result()
    assert error_code(err.value) == "StorageAccountAlreadyTaken"
    check = mine.storage.storage_accounts.check_name_availability(
        {"name": "stshared1", "type": "Microsoft.Storage/storageAccounts"}, cls=raw_json
    )
    assert check["nameAvailable"] is False and check["reason"] == "AlreadyExists"


def test_long_running_operations_take_several_polls_and_block_other_writes():
    sim = Simulator(profile="slow-polls")
    c = clients(sim)
    c.resource.resource_groups.create_or_update("rg", {"location": "eastus"})
    poller = c.storage.storage_accounts.begin_create("rg", "stslow1", STORAGE, polling=False)
    body = c.storage.storage_accounts.get_properties("rg", "stslow1", cls=raw_json)
    assert body["properties"]["provisioningState"] == "Creating"
    with pytest.raises(HttpResponseError) as err:
        c.storage.storage_accounts.begin_create("rg", "stslow1", STORAGE, polling=False)
    assert error_code(err.value) == "AnotherOperationInProgress"
    assert poller.done()  # polling=False: we poll the resource ourselves below
    states = []
    for _ in range(10):
        states.append(
            c.storage.storage_accounts.get_properties("rg", "stslow1", cls=raw_json)["properties"][
                "provisioningState"
            ]
        )
        if states[-1] == "Succeeded":
            break
    assert states[-1] == "Succeeded"
    assert states.count("Creating") >= 3


def test_location_is_immutable(memsim):
    c = clients(memsim)
    c.resource.resource_groups.create_or_update("rg", {"location": "eastus"})
    with pytest.raises(HttpResponseError) as err:
        c.resource.resource_groups.create_or_update("rg", {"location": "westus"})
    assert error_code(err.value) == "InvalidResourceLocation"


def test_throttling_carries_retry_after_and_is_logged(memsim):
    memsim.inject(
        method="GET",
        path_regex="resourcegroups",
        status=429,
        code="TooManyRequests",
        message="slow down",
        times=1,
    )
    memsim.configure(throttle=1.0, retry_after=7)
    resp = http(memsim, "GET", f"/subscriptions/{SUB}/resourcegroups/rg")
    assert resp.status == 429  # the injected rule
    resp = http(memsim, "GET", f"/subscriptions/{SUB}/resourcegroups/rg")
    assert resp.status == 429 and resp.headers["Retry-After"] == "7"
    memsim.configure(throttle=0.0, error=1.0)
    assert http(memsim, "GET", f"/subscriptions/{SUB}/resourcegroups/rg").status == 500
    assert memsim.count("GET") == 3
    assert all(e.get("fault") for e in memsim.request_log)


def test_persisted_cloud_is_shared_between_instances(tmp_path):
    path = tmp_path / "cloud.json"
    a, b = Simulator(path=path), Simulator(path=path)
    clients(a).resource.resource_groups.create_or_update("rg", {"location": "eastus"})
    got = clients(b).resource.resource_groups.get("rg", cls=raw_json)
    assert got["location"] == "eastus"
    assert b.count("PUT") == 1  # the request log is shared too


def test_deleting_a_resource_group_removes_what_it_holds(memsim):
    c = clients(memsim)
    c.resource.resource_groups.create_or_update("rg", {"location": "eastus"})
    c.storage.storage_accounts.begin_create("rg", "stgone1", STORAGE).result()
    c.resource.resource_groups.begin_delete("rg").result()
    assert memsim.db["resources"] == {}
    with pytest.raises(ResourceNotFoundError):
        c.storage.storage_accounts.get_properties("rg", "stgone1")
