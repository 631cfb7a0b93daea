"""The dependency-graph walk: order, bounded parallelism, serial groups, skip propagation, stop."""

from __future__ import annotations

import threading
import time

import pytest

from pros_cli.engine.dag import NodeFailed, NodeStarted, run_dag


def recorder():
    lock = threading.Lock()
    state = {"running": 0, "peak": 0, "order": [], "together": []}

    def enter(key: str) -> None:
        with lock:
            state["running"] += 1
            state["peak"] = max(state["peak"], state["running"])
            state["order"].append(key)

    def leave() -> None:
        with lock:
            state["running"] -= 1

    return state, enter, leave


def test_dependencies_run_first_and_results_keep_declared_order():
    state, enter, leave = recorder()
    deps = {"c": ("a", "b"), "a": (), "b": ("a",)}

    def fn(key, results):
        enter(key)
        for need in deps[key]:
            assert results[need].status == "succeeded"
        leave()
        return key.upper()

    results = run_dag(deps, fn, parallelism=4)
    assert list(results) == ["c", "a", "b"]
    assert state["order"] == ["a", "b", "c"]
    assert results["c"].value == "C"


@pytest.mark.parametrize("width", [1, 3])
def test_parallelism_is_bounded(width):
    state, enter, leave = recorder()
    barrier_hits = []

    def fn(key, _results):
        enter(key)
        barrier_hits.append(key)
        time.sleep(0.02)
        leave()

    run_dag({str(i): () for i in range(9)}, fn, parallelism=width)
    assert state["peak"] <= width
    assert len(barrier_hits) == 9
    if width > 1:
        assert state["peak"] > 1


def test_nodes_of_one_serial_group_never_overlap():
    state, enter, leave = recorder()
    group_running = {"acct": 0}
    overlaps = []
    lock = threading.Lock()

    def fn(key, _results):
        enter(key)
        with lock:
            if key.startswith("dep"):
                group_running["acct"] += 1
                if group_running["acct"] > 1:
                    overlaps.append(key)
        time.sleep(0.02)
        with lock:
            if key.startswith("dep"):
                group_running["acct"] -= 1
        leave()

    deps = {f"dep{i}": () for i in range(4)} | {f"other{i}": () for i in range(4)}
    groups = {k: ("acct" if k.startswith("dep") else None) for k in deps}
    results = run_dag(deps, fn, parallelism=8, groups=groups)
    assert overlaps == []
    assert all(r.status == "succeeded" for r in results.values())
    assert state["peak"] > 1  # ungrouped nodes still ran alongside


def test_a_failure_skips_its_dependents_and_names_the_root_cause():
    deps = {"root": (), "mid": ("root",), "leaf": ("mid",), "free": ()}

    def fn(key, _results):
        if key == "root":
            raise NodeFailed("quota exceeded")
        return key

    results = run_dag(deps, fn, parallelism=2)
    assert results["root"].status == "failed"
    assert results["root"].error == "quota exceeded"
    assert results["mid"].status == "skipped" and results["mid"].cause == "root"
    assert results["leaf"].status == "skipped" and results["leaf"].cause == "root"
    assert results["free"].status == "succeeded"


def test_unexpected_exceptions_are_failures_not_crashes():
    results = run_dag({"a": ()}, lambda k, r: 1 / 0, parallelism=1)
    assert results["a"].status == "failed"
    assert "ZeroDivisionError" in results["a"].error


def test_started_work_defers_its_dependents():
    deps = {"apim": (), "endpoint": ("apim",), "other": ()}

    def fn(key, _results):
        if key == "apim":
            raise NodeStarted("op-1")
        return key

    results = run_dag(deps, fn, parallelism=2)
    assert results["apim"].status == "started"
    assert results["endpoint"].status == "deferred" and results["endpoint"].cause == "apim"
    assert results["other"].status == "succeeded"


def test_stop_event_prevents_new_work():
    stop = threading.Event()
    ran = []

    def fn(key, _results):
        ran.append(key)
        stop.set()

    results = run_dag({"a": (), "b": ("a",), "c": ("b",)}, fn, parallelism=1, stop=stop)
    assert ran == ["a"]
    assert results["b"].status == "not-started"
    assert results["c"].status == "not-started"


def test_unknown_dependency_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown node"):
        run_dag({"a": ("ghost",)}, lambda k, r: None, parallelism=1)


def test_ready_nodes_with_the_longest_remaining_chain_start_first():
    started = []

    def fn(key, _results):
        started.append(key)

    deps = {"small1": (), "small2": (), "apim": (), "endpoint": ("apim",)}
    run_dag(deps, fn, parallelism=1, priority={"small1": 1, "small2": 1, "apim": 2700, "endpoint": 5})
    assert started[0] == "apim"


def test_critical_path_priority_adds_up_waiting_chains():
    from types import SimpleNamespace

    from pros_cli.engine.apply import critical_path_priority

    def change(key, seconds, action="create"):
        return SimpleNamespace(key=key, action=action, resource=SimpleNamespace(typical_seconds=seconds))

    changes = [
        change("rg", 5),
        change("apim", 2700),
        change("tm", 10),
        change("ep", 10),
        change("st", 30, "no-op"),
    ]
    deps = {"rg": (), "apim": ("rg",), "tm": ("rg",), "ep": ("tm", "apim"), "st": ("rg",)}
    prio = critical_path_priority(changes, deps)
    assert prio["ep"] == 10
    assert prio["apim"] == 2710
    assert prio["tm"] == 20
    assert prio["rg"] == 2715
    assert prio["st"] == 0
