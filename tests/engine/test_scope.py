"""Planning and applying part of the graph: resources outside the scope are read for their bodies,
never changed or recorded; an absent one stops the plan and names the command that creates it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from pros_cli.echo import AzCommand, Echo, az
from pros_cli.engine.apply import Applier, ApplyOptions
from pros_cli.engine.plan import PlanOptions, make_plan
from pros_cli.resources.base import Resource
from pros_cli.state import StateStore
from tests.conftest import SUB, make_spec


class Cloud:
    def __init__(self) -> None:
        self.bodies: dict[str, dict[str, Any]] = {}
        self.writes: list[str] = []


class Fake(Resource):
    """A resource kept in a dict: its body is {"properties": {"value": ...}}."""

    arm_type = "Test/things"
    label = "thing"
    managed_fields = ("properties.value",)
    tagged = False

    def __init__(self, cloud: Cloud, key: str, value: Any = "v", **kwargs: Any):
        super().__init__(make_spec(), key=key, name=key, region=None, **kwargs)
        self.cloud = cloud
        self.value = value

    def desired(self) -> dict[str, Any]:
        value = self.value(self.inputs) if callable(self.value) else self.value
        return {"properties": {"value": value}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return self.cloud.bodies.get(self.key)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        self.cloud.writes.append(self.key)
        self.cloud.bodies[self.key] = {"id": self.key, **self.desired()}
        return self.cloud.bodies[self.key]

    def delete(self, clients: Any) -> Any:
        self.cloud.writes.append(f"delete {self.key}")
        self.cloud.bodies.pop(self.key, None)

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"value": (current or {}).get("properties", {}).get("value")}

    def az_create(self) -> list[AzCommand]:
        return [az("group", "create", "-n", self.key, "-l", "eastus")]

    def az_delete(self) -> list[AzCommand]:
        return []


class Gateway(Fake):
    created_by = "pros backends"


def graph(cloud: Cloud) -> list[Resource]:
    """rg <- service <- child (whose value is the service's value + "/child"), and a sibling."""
    return [
        Fake(cloud, "rg"),
        Fake(cloud, "service", "svc-new", depends_on=("rg",), parent="rg"),
        Gateway(
            cloud,
            "child",
            lambda inputs: (inputs.get("service") or {}).get("properties", {}).get("value", "?") + "/child",
            depends_on=("service",),
            parent="service",
        ),
        Gateway(cloud, "policy", "p", depends_on=("child",), parent="child"),
    ]


def plan(cloud: Cloud, scope: set[str] | None, state: StateStore | None = None) -> Any:
    """The graph up to the scope's deepest node, as the commands select it."""
    keys = ("rg", "service", "child", "policy")
    deepest = max((keys.index(k) for k in scope), default=len(keys) - 1) if scope else len(keys) - 1
    return make_plan(
        graph(cloud)[: deepest + 1],
        clients=None,
        recorded=(state.get if state else (lambda key: None)),
        options=PlanOptions(scope=frozenset(scope) if scope is not None else None),
    )


def apply(plan_: Any, state: StateStore) -> Any:
    lines: list[str] = []
    applier = Applier(
        clients=None,
        state=state,
        echo=Echo(write=lines.append),
        options=ApplyOptions(),
        stop=threading.Event(),
    )
    return applier.apply(plan_), lines


def store(tmp_path: Path) -> StateStore:
    return StateStore.open(tmp_path / "state.json", base_name="demo", subscription_id=SUB, cloud="simulator")


def test_an_absent_resource_outside_the_scope_stops_the_plan_naming_the_command_that_creates_it():
    cloud = Cloud()
    cloud.bodies["rg"] = {"properties": {"value": "v"}}
    result = plan(cloud, {"child"})
    assert result.errors == ["thing service does not exist; run `pros provision` first"]
    assert {c.key: c.action for c in result.in_scope} == {"child": "create"}

    cloud.bodies["service"] = {"properties": {"value": "svc"}}
    result = plan(cloud, {"policy"})
    assert result.errors == ["thing child does not exist; run `pros backends` first"]


def test_only_the_root_cause_is_listed_when_a_parent_outside_the_scope_is_absent_too():
    result = plan(Cloud(), {"child"})
    assert result.errors == ["thing rg does not exist; run `pros provision` first"]


def test_a_present_resource_outside_the_scope_is_read_only_whatever_its_diffs(tmp_path):
    cloud = Cloud()
    cloud.bodies["rg"] = {"properties": {"value": "v"}}
    cloud.bodies["service"] = {"properties": {"value": "svc-drifted"}}  # differs from "svc-new"
    state = store(tmp_path)
    result = plan(cloud, {"child"}, state)
    assert not result.errors
    changes = result.by_key()
    assert changes["service"].action == "no-op" and changes["service"].read_only
    assert changes["rg"].read_only
    assert [c.key for c in result.in_scope] == ["child"]
    assert result.counts()["no-op"] == 0  # read-only resources are not part of this plan
    assert [c["name"] for c in result.to_json()["changes"]] == ["child"]

    report, _ = apply(result, state)
    # The dependent got the out-of-scope body (the drifted one, as it is) through its inputs.
    assert cloud.bodies["child"]["properties"]["value"] == "svc-drifted/child"
    assert cloud.writes == ["child"]
    assert state.get("service") is None and state.get("rg") is None  # never recorded here
    assert state.get("child")["status"] == "succeeded"
    assert report.summary() == {"created": 1}


def test_without_a_scope_every_resource_is_planned_as_before():
    cloud = Cloud()
    result = plan(cloud, None)
    assert not result.errors
    assert {c.key: c.action for c in result.changes} == dict.fromkeys(
        ("rg", "service", "child", "policy"), "create"
    )
    assert not any(c.read_only for c in result.changes)


def test_a_resource_outside_the_scope_still_being_created_stops_the_plan():
    cloud = Cloud()
    cloud.bodies["rg"] = {"properties": {"value": "v"}}
    cloud.bodies["service"] = {"properties": {"value": "svc", "provisioningState": "Activating"}}
    result = plan(cloud, {"child"})
    assert result.errors == [
        "thing service is still being created or changed (provisioningState Activating); wait for it to "
        "finish: run `pros provision` again"
    ]


def test_a_kind_that_remembers_gets_its_state_entry_before_its_diff(tmp_path):
    seen: list[Any] = []

    class Remembers(Fake):
        def remember(self, recorded: Any) -> None:
            seen.append(recorded)

    cloud = Cloud()
    state = store(tmp_path)
    state.record_done("r", {"id": "r"}, origin="created", outputs={"hash": "abc"})
    make_plan(
        [Remembers(cloud, "r")], clients=None, recorded=state.get, options=PlanOptions(scope=frozenset({"r"}))
    )
    assert seen[0]["outputs"] == {"hash": "abc"}
