"""pros usage against the deployment's cache from the state file, with the operator's Entra identity
(a fake TokenCredential and Redis ACL users on the local server stand in for Entra ID)."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from pathlib import Path
from typing import Any

import azure.identity
import pytest

from pros_cli.ledger import Ledger
from pros_cli.ledger import connection as conn
from tests import redisdb
from tests.conftest import run_pros
from tests.ledger import entra
from tests.ledger.entra import FakeCredential, mint
from tests.ledger.factory import make_event

CACHE_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-demo/providers/"
    "Microsoft.Cache/redisEnterprise/redis-demo-abc123"
)

redis_db = redisdb.redis_db  # the fixtures
acl_users = entra.acl_users


@pytest.fixture
def deployment(isolated: Path, monkeypatch: pytest.MonkeyPatch, redis_db: Any) -> FakeCredential:
    """A state file whose cache is the local server (plain TCP, the test's database), and an
    operator identity that DefaultAzureCredential would return."""
    state = {
        "schema": "pros-state",
        "schema_version": 1,
        "base_name": "demo",
        "resources": {
            "redis": {
                "id": CACHE_ID,
                "status": "succeeded",
                "outputs": {"host_name": "127.0.0.1", "port": 6379, "cache_kind": "managed"},
            }
        },
    }
    (isolated / ".pros").mkdir()
    (isolated / ".pros" / "demo.json").write_text(json.dumps(state))
    monkeypatch.delenv("REDIS_URL", raising=False)
    real = conn.target_from_outputs
    number = redis_db.connection_pool.connection_kwargs.get("db", 9)  # REDIS_URL's database
    local = lambda o: dataclasses.replace(real(o), ssl=False, db=number)  # noqa: E731
    monkeypatch.setattr(conn, "target_from_outputs", local)
    credential = FakeCredential()
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", lambda **kwargs: credential)
    Ledger(redis_db).submit(make_event("entra-1", when="2026-11-03T10:00:00Z", prompt=40, completion=2))
    return credential


def test_report_with_the_operators_identity(deployment: FakeCredential, acl_users) -> None:
    oid = str(uuid.uuid4())
    token = mint(oid)
    deployment.issue = lambda: token
    acl_users.allow(oid, token)
    run = run_pros("usage", "-o", "json", "--from", "2026-11-01", "--to", "2026-11-30")
    assert run.code == 0, run.err
    assert run.json()["totals"]["total_tokens"] == 42
    assert deployment.scopes[0] == ("https://redis.azure.com/.default",)
    assert token.token not in run.out + run.err


def test_no_data_access_says_how_to_grant_it(deployment: FakeCredential, az_parser) -> None:
    oid = str(uuid.uuid4())  # an identity the cache has no access policy assignment for
    token = mint(oid)
    deployment.issue = lambda: token
    run = run_pros("usage", "--from", "2026-11-01", "--to", "2026-11-30")
    assert run.code == 1
    assert "has no data access to the ledger's Redis at 127.0.0.1:6379" in run.err
    assert f"pros provision --usage-reader {oid}" in run.err
    (az_line,) = re.findall(r"or: (az rest .*)", run.err)
    assert f"{CACHE_ID}/databases/default/accessPolicyAssignments/" in az_line
    assert '"accessPolicyName":"default","user":{"objectId":"' + oid + '"}' in az_line
    assert az_parser.failures([az_line]) == []
    assert token.token not in run.out + run.err


def test_identity_without_a_token_is_a_clear_error(deployment: FakeCredential) -> None:
    deployment.error = "DefaultAzureCredential failed to retrieve a token from the included credentials."
    run = run_pros("usage")
    assert run.code == 1
    assert (
        "could not get a Microsoft Entra ID token for Redis (scope https://redis.azure.com/.default)"
        in run.err
    )
    assert "az login" in run.err


def test_state_without_a_cache_is_bad_input(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    (isolated / ".pros").mkdir()
    state = {"schema": "pros-state", "schema_version": 1, "base_name": "demo", "resources": {}}
    (isolated / ".pros" / "demo.json").write_text(json.dumps(state))
    run = run_pros("usage")
    assert run.code == 2 and "records no usable Redis for deployment 'demo'" in run.err


def test_replay_with_read_only_access_asks_for_contributor(
    deployment: FakeCredential, acl_users, isolated: Path, tmp_path: Path, az_parser
) -> None:
    """Azure Cache for Redis: a usage reader has Data Reader; replay writes, and Redis says NOPERM."""
    state_path = isolated / ".pros" / "demo.json"
    state = json.loads(state_path.read_text())
    cache_id = CACHE_ID.replace("redisEnterprise/redis-demo-abc123", "redis/redis-demo-abc123")
    state["resources"]["redis"] = {
        "id": cache_id,
        "outputs": {"host_name": "127.0.0.1", "port": 6379, "cache_kind": "azure-cache-for-redis"},
    }
    state_path.write_text(json.dumps(state))
    oid = str(uuid.uuid4())
    token = mint(oid)
    deployment.issue = lambda: token
    acl_users.allow(oid, token, commands=("-@all", "+@read", "+@connection"))  # like Data Reader
    first = run_pros("usage", "-o", "json", "--from", "2026-11-01")
    assert first.code == 0, first.err[:400]  # reading is allowed
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(make_event("replay-ro-1", when="2026-11-03T11:00:00Z")) + "\n")
    run = run_pros("usage", "replay", str(events))
    assert run.code == 1 and "has no data access" in run.err and "no permissions to run" in run.err
    (az_line,) = re.findall(r"or: (az rest .*)", run.err)
    assert f"{cache_id}/accessPolicyAssignments/" in az_line
    assert '"accessPolicyName":"Data Contributor"' in az_line
    assert "enough to report, not to replay" in run.err
    assert az_parser.failures([az_line]) == []
