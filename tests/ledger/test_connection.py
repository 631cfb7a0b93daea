"""The connection helper against the local Redis: the Entra credential-provider path with a fake
TokenCredential (Redis ACL user = the token's object id, password = the token), token rotation,
a credential that cannot get a token, and the settings it is configured by."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest
import redis
from azure.core.credentials import AccessToken

from pros_cli.ledger.connection import (
    CACHE_PORT,
    MANAGED_PORT,
    SCOPE,
    EntraTokenError,
    RedisSettingsError,
    RedisTarget,
    connect,
    managed_host,
    redact_url,
    settings_from_env,
    target_from_outputs,
    token_claims,
)
from tests.ledger.entra import AclUsers, FakeCredential, mint
from tests.redisdb import client

LOCAL = client().connection_pool.connection_kwargs


def local_target() -> RedisTarget:
    return RedisTarget(LOCAL.get("host", "127.0.0.1"), int(LOCAL.get("port", 6379)), ssl=False, db=9)


def wait_for(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_authenticates_as_the_tokens_object_id(acl_users: AclUsers) -> None:
    oid = str(uuid.uuid4())
    token = mint(oid)
    acl_users.allow(oid, token)
    credential = FakeCredential(lambda: token)
    r = connect(local_target(), credential=credential)
    assert r.ping() is True
    assert r.acl_whoami() in (oid, oid.encode())
    assert set(credential.scopes) == {(SCOPE,)}
    r.set("pros:usage:probe", b"1")
    assert r.get("pros:usage:probe") == b"1"
    r.delete("pros:usage:probe")
    r.close()


def test_reconnects_with_a_new_token_after_rotation(acl_users: AclUsers) -> None:
    oid = str(uuid.uuid4())
    current = {"token": mint(oid)}
    acl_users.allow(oid, current["token"])
    credential = FakeCredential(lambda: current["token"])
    r = connect(local_target(), credential=credential)
    assert r.acl_whoami() in (oid, oid.encode())
    old = current["token"]
    current["token"] = mint(oid)
    acl_users.allow(oid, current["token"], reset=True)  # the old token is no longer accepted
    with pytest.raises(redis.AuthenticationError):
        target = local_target()
        redis.Redis(host=target.host, port=target.port, username=oid, password=old.token).ping()
    asked = len(credential.scopes)
    assert acl_users.kill_connections(oid) >= 1  # the server drops the session (as on expiry)
    assert r.acl_whoami() in (oid, oid.encode())  # reconnected with the new token
    assert len(credential.scopes) > asked
    r.close()


def test_refreshes_the_token_before_it_expires(acl_users: AclUsers) -> None:
    oid = str(uuid.uuid4())
    issued: list[Any] = []
    done = False

    def issue() -> Any:
        issued.append(mint(oid, lifetime=60))
        if not done:  # the refresh goes on in the background after the test: touch nothing then
            acl_users.allow(oid, issued[-1])  # Entra's side: every issued token is valid
        return issued[-1]

    credential = FakeCredential(issue)
    r = connect(local_target(), credential=credential, refresh_ratio=0.02)  # refresh after ~1.2 s
    assert r.ping() is True
    first = len(issued)
    assert wait_for(lambda: len(issued) > first), "no refresh before expiry"
    assert issued[0].expires_on > time.time()  # the first token is still valid: refreshed early
    assert r.ping() is True  # the connection re-authenticated with the fresh token
    done = True
    r.close()


def test_a_credential_without_a_token_fails_clearly() -> None:
    credential = FakeCredential(error="ManagedIdentityCredential: no managed identity endpoint found")
    r = connect(local_target(), credential=credential)
    with pytest.raises(EntraTokenError) as caught:
        r.ping()
    message = str(caught.value)
    assert (
        "could not get a Microsoft Entra ID token for Redis (scope https://redis.azure.com/.default)"
        in message
    )
    assert "FakeCredential" in message and "no managed identity endpoint found" in message
    assert isinstance(caught.value, redis.AuthenticationError)  # the function raises: Event Grid retries


def test_a_token_without_object_id_fails_clearly() -> None:
    header, _, signature = mint("x").token.split(".")
    claims = base64.urlsafe_b64encode(json.dumps({"exp": int(time.time()) + 600}).encode()).rstrip(b"=")
    token = AccessToken(f"{header}.{claims.decode()}.{signature}", int(time.time()) + 600)
    assert "oid" not in token_claims(token.token)
    with pytest.raises(EntraTokenError, match="has no 'oid' claim"):
        connect(local_target(), credential=FakeCredential(lambda: token)).ping()


def test_settings_from_the_function_app() -> None:
    managed = settings_from_env(
        {
            "REDIS_HOST": "redis-x.eastus.redis.azure.net",
            "REDIS_PORT": "10000",
            "REDIS_SSL": "true",
            "REDIS_AUTH": "entra",
        }
    )
    assert managed == RedisTarget("redis-x.eastus.redis.azure.net", 10000, True, "entra")
    cache = settings_from_env({"REDIS_HOST": "redis-x.redis.cache.windows.net"})
    assert (cache.port, cache.ssl, cache.auth) == (CACHE_PORT, True, "entra")
    assert (
        settings_from_env({"REDIS_URL": "redis://localhost:6379/0", "REDIS_HOST": "x"})
        == "redis://localhost:6379/0"
    )
    for bad in ({}, {"REDIS_HOST": "h", "REDIS_PORT": "port"}, {"REDIS_HOST": "h", "REDIS_AUTH": "key"}):
        with pytest.raises(RedisSettingsError):
            settings_from_env(bad)


def test_targets_from_the_state_file() -> None:
    host = managed_host("redis-demo-abc", "eastus")
    assert host == "redis-demo-abc.eastus.redis.azure.net"
    assert (
        target_from_outputs({"host_name": host, "port": 10000, "cache_kind": "managed"}).port == MANAGED_PORT
    )
    assert target_from_outputs({"host_name": host}).port == MANAGED_PORT
    old = target_from_outputs({"host_name": "r.redis.cache.windows.net", "ssl_port": 6380})
    assert (old.port, old.ssl, old.auth) == (6380, True, "entra")
    with pytest.raises(RedisSettingsError):
        target_from_outputs({"ssl_port": 6380})


def test_urls_are_redacted() -> None:
    assert redact_url("rediss://user:pa55@host:6380/0") == "rediss://user:***@host:6380/0"
    assert redact_url("redis://:pa55@host") == "redis://***@host"
    assert redact_url("redis://host:6379") == "redis://host:6379"
