"""The state file: versioned, atomic, locked, backed up, and never holding a secret."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pros_cli.errors import LockHeldError, ProsError, StateError
from pros_cli.state import (
    SCHEMA_VERSION,
    DeploymentLock,
    StateStore,
    find_secrets,
    load_state_file,
    scrub_continuation_token,
)
from tests.conftest import SUB, run_pros


def open_store(path: Path) -> StateStore:
    return StateStore.open(path, base_name="demo", subscription_id=SUB, cloud="simulator")


IDENTITY = {"id": "/x", "type": "Microsoft.Storage/storageAccounts", "name": "st", "region": "eastus"}


def record(store: StateStore, key: str = "storage/eastus") -> None:
    store.record_start(key, IDENTITY, action="create", origin="created")


def test_records_start_token_and_end(tmp_path):
    path = tmp_path / ".pros" / "demo.json"
    store = open_store(path)
    record(store)
    data = json.loads(path.read_text())
    entry = data["resources"]["storage/eastus"]
    assert data["schema_version"] == SCHEMA_VERSION
    assert entry["status"] == "creating"
    assert entry["operation"]["action"] == "create"
    assert entry["operation"]["pid"] == os.getpid()
    store.record_done(
        "storage/eastus",
        IDENTITY,
        origin="created",
        outputs={"blob_endpoint": "https://st.blob.core.windows.net/"},
    )
    entry = json.loads(path.read_text())["resources"]["storage/eastus"]
    assert entry["status"] == "succeeded"
    assert entry["operation"] is None
    assert entry["outputs"]["blob_endpoint"].startswith("https://")
    assert entry["created_at"] <= entry["completed_at"]


def test_every_write_keeps_the_previous_version_as_backup(tmp_path):
    path = tmp_path / "demo.json"
    store = open_store(path)
    record(store, "a")
    first = path.read_bytes()
    record(store, "b")
    assert (tmp_path / "demo.json.bak").read_bytes() == first
    assert set(json.loads(path.read_text())["resources"]) == {"a", "b"}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_corrupt_state_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "demo.json"
    path.write_text('{"schema": "pros-state", "schema_version": 1, "resources": {')
    before = path.read_bytes()
    with pytest.raises(StateError, match="not valid JSON"):
        load_state_file(path)
    assert path.read_bytes() == before


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "demo.json"
    path.write_text(
        json.dumps({"schema": "pros-state", "schema_version": SCHEMA_VERSION + 1, "resources": {}})
    )
    with pytest.raises(StateError, match="newer than this pros understands"):
        load_state_file(path)


def test_foreign_json_is_not_taken_for_state(tmp_path):
    path = tmp_path / "demo.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(StateError, match="not a pros state file"):
        load_state_file(path)


def test_state_of_another_subscription_is_refused(tmp_path):
    path = tmp_path / "demo.json"
    record(open_store(path))
    with pytest.raises(StateError, match="records subscription"):
        StateStore.open(
            path, base_name="demo", subscription_id="11111111-1111-1111-1111-111111111111", cloud="simulator"
        )


def test_cli_exits_2_on_corrupt_state_and_changes_nothing(sim, isolated):
    state = isolated / ".pros" / "demo.json"
    state.parent.mkdir()
    state.write_text("{not json")
    run = run_pros("provision", "--base-name", "demo")
    assert run.code == 2
    assert "not valid JSON" in run.err and "left untouched" in run.err
    assert state.read_text() == "{not json"
    assert sim.count() == 0


def test_cli_exits_2_on_newer_state(sim, isolated):
    state = isolated / ".pros" / "demo.json"
    state.parent.mkdir()
    content = json.dumps({"schema": "pros-state", "schema_version": 99, "base_name": "demo", "resources": {}})
    state.write_text(content)
    run = run_pros("provision", "--base-name", "demo")
    assert run.code == 2
    assert "schema version 99" in run.err
    assert state.read_text() == content


def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    path = tmp_path / "demo.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from pros_cli.state import DeploymentLock
            lock = DeploymentLock(Path({str(path)!r}), "pros provision --base-name demo")
            lock.acquire()
            print("held", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeldError) as err:
            DeploymentLock(path, "pros provision").acquire()
        assert f"pid {holder.pid}" in err.value.message
        assert "pros provision --base-name demo" in err.value.message
    finally:
        holder.kill()
        holder.wait()
    # The kernel released the dead holder's lock: it can be taken again.
    with DeploymentLock(path, "pros provision"):
        pass


def test_secrets_are_refused(tmp_path):
    store = open_store(tmp_path / "demo.json")
    record(store)
    with pytest.raises(ProsError, match="refusing to write a secret"):
        store.record_done(
            "storage/eastus",
            IDENTITY,
            origin="created",
            outputs={"connectionString": "DefaultEndpointsProtocol=https;AccountKey=abc"},
        )
    assert "AccountKey" not in (tmp_path / "demo.json").read_text()


@pytest.mark.parametrize(
    "value",
    [
        {"primaryKey": "x"},
        {"a": {"accessKeys": {"primaryKey": "k"}}},
        {"cs": "Endpoint=sb://x;SharedAccessKey=abc"},
        {"list": [{"password": "p"}]},
    ],
)
def test_find_secrets_spots_keys_and_values(value):
    assert find_secrets(value)


def test_find_secrets_leaves_plain_data_alone():
    assert find_secrets({"blob_endpoint": "https://x", "principal_id": "guid", "operation": None}) == []


def make_token(body: dict) -> str:
    data = {
        "request": {"method": "PUT", "url": "https://management.azure.com/x", "headers": {}},
        "response": {
            "status_code": 201,
            "headers": {},
            "content": base64.b64encode(json.dumps(body).encode()).decode(),
        },
        "context": {"deserialized_data": body},
    }
    return base64.b64encode(json.dumps({"version": 1, "data": data}).encode()).decode()


def test_continuation_tokens_lose_secret_fields_but_keep_the_rest():
    token = make_token(
        {
            "name": "redis1",
            "properties": {"accessKeys": {"primaryKey": "s3cret"}, "provisioningState": "Creating"},
        }
    )
    assert (
        "s3cret"
        in base64.b64decode(json.loads(base64.b64decode(token))["data"]["response"]["content"]).decode()
    )
    cleaned = json.loads(base64.b64decode(scrub_continuation_token(token)))
    content = base64.b64decode(cleaned["data"]["response"]["content"]).decode()
    deserialized = json.dumps(cleaned["data"]["context"]["deserialized_data"])
    for text in (content, deserialized):
        assert "s3cret" not in text and "accessKeys" not in text
        assert "Creating" in text
    assert scrub_continuation_token("not base64 json!") is None
