"""The token processor's real decorated function, called with real EventGridEvent objects,
against the local Redis: counted once, malformed events dead-lettered, outages retried."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from pros_cli.ledger.audit import dead_letters
from pros_cli.ledger.report import build_report
from tests.functions.harness import as_delivered, bindings, indexed, module, processor, raw_event
from tests.functions.proxy import Proxy
from tests.ledger import entra
from tests.ledger.factory import expected, make_event, random_events, with_change
from tests.redisdb import REDIS_URL

DAY = dt.date(2026, 11, 2)
GOOD = make_event("base-1", prompt=300, completion=20)


@pytest.fixture
def function(monkeypatch: pytest.MonkeyPatch, redis_db: Any) -> Iterator[Callable[[Any], None]]:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    module().reset()
    yield processor()
    module().reset()


def totals(db: Any) -> dict[str, int]:
    return build_report(db, DAY, DAY).totals


def test_the_function_is_registered_as_an_event_grid_trigger() -> None:
    assert indexed().get_function_name() == "token_processor"
    assert bindings() == [{"type": "eventGridTrigger", "direction": "IN", "name": "event"}]
    assert processor().__name__ == "token_processor"


def test_duplicate_deliveries_count_once(function, redis_db) -> None:
    event = make_event("dup-1", prompt=1200, completion=350, cached=1024, reasoning=128)
    for _ in range(3):
        function(as_delivered(event))
    assert totals(redis_db) == expected([event], [])[()]


def _bad(path: str, value: Any = None, *, delete: bool = False) -> Callable[[int], Any]:
    def make(i: int) -> Any:
        event = make_event(f"bad-{i}")
        if path == "data.requestId":
            return as_delivered(with_change(event, path, value, delete=delete))
        if path == "id" and not delete:
            event = with_change(event, "data.requestId", value)
        return as_delivered(with_change(event, path, value, delete=delete))

    return make


def _naive_time(i: int) -> Any:  # the worker parses a time without offset as a naive datetime
    return as_delivered(make_event(f"bad-{i}", when="2026-11-02T12:00:00"))


MALFORMED: dict[str, Callable[[int], Any]] = {
    "missing id": _bad("id", delete=True),
    "wrong event type": _bad("eventType", "Microsoft.Storage.BlobCreated"),
    "wrong data version": _bad("dataVersion", "2.0"),
    "missing subject": _bad("subject", delete=True),
    "missing event time": lambda i: raw_event(
        id=f"bad-{i}", data=make_event(f"bad-{i}")["data"], event_time=None
    ),
    "event time without offset": _naive_time,
    "event time 3 days ahead": _bad("eventTime", "2026-12-03T12:00:00Z"),
    "data not JSON": lambda i: raw_event(id=f"bad-{i}", data='{"promptTokens": 12, '),
    "data a list": _bad("data", [1, 2, 3]),
    "data null": _bad("data", None),
    "missing prompt tokens": _bad("data.promptTokens", delete=True),
    "negative tokens": _bad("data.completionTokens", -50),
    "huge tokens": _bad("data.promptTokens", 10**12),
    "fractional tokens": _bad("data.promptTokens", 99.5),
    "tokens as text": _bad("data.totalTokens", "150"),
    "tokens as boolean": _bad("data.cachedTokens", True),
    "total is not the sum": _bad("data.totalTokens", 151),
    "cached above prompt": _bad("data.cachedTokens", 101),
    "reasoning above completion": _bad("data.reasoningTokens", 51),
    "oversized billing code": _bad("data.billingCode", "B" * 257),
    "oversized user name": _bad("data.username", "u" * 100_000),
    "unknown field with prompt text": _bad("data.prompt", "What is the capital of France?"),
    "request id differs": _bad("data.requestId", "another-request"),
    "status out of range": _bad("data.status", 42),
    "region with a space": _bad("data.region", "East US"),
    "unknown accuracy": _bad("data.accuracy", "approximate"),
    "unknown source": _bad("data.source", "curl"),
    "id with a space": _bad("id", "two words"),
    "id too long": _bad("id", "x" * 200),
    "streamed as text": _bad("data.streamed", "yes"),
    "null api": _bad("data.api", None),
}


def test_malformed_events_are_dead_lettered_and_valid_ones_around_them_count(function, redis_db) -> None:
    assert len(MALFORMED) >= 20
    valid = random_events(len(MALFORMED) + 1, days=[DAY.isoformat()], seed=99)
    for i, make in enumerate(MALFORMED.values()):
        function(as_delivered(valid[i]))
        assert function(make(i)) is None  # acknowledged: Event Grid does not retry it
    function(as_delivered(valid[-1]))
    assert totals(redis_db) == expected(valid, [])[()]
    letters = dead_letters(redis_db, limit=1000)
    assert len(letters) == len(MALFORMED)
    reasons = [d["reason"] for d in reversed(letters)]
    assert all(reasons) and len(set(reasons)) >= 25
    by_kind = dict(zip(MALFORMED, reasons, strict=True))
    assert by_kind["missing event time"] == "eventTime is missing"
    assert by_kind["event time without offset"] == "eventTime is not an RFC 3339 date-time with an offset"
    assert by_kind["data not JSON"] == "data is not a JSON object"
    assert by_kind["oversized user name"] == "data.username is longer than 256 characters"
    assert all(len(d["payload"]) < 9000 for d in letters)


def test_redis_outage_raises_then_redelivery_counts_each_event_once(
    monkeypatch: pytest.MonkeyPatch, redis_db: Any
) -> None:
    db = redis_db.connection_pool.connection_kwargs
    proxy = Proxy((db.get("host", "127.0.0.1"), db.get("port", 6379))).start()
    try:
        monkeypatch.setenv("REDIS_URL", f"{proxy.url}/{db.get('db', 9)}")
        module().reset()
        run = processor()
        events = random_events(40, days=[DAY.isoformat()], seed=4)
        for event in events[:10]:
            run(as_delivered(event))
        proxy.stop()  # Redis unreachable: the same warm client now fails
        failed = []
        for event in events[10:25]:
            with pytest.raises(redis.ConnectionError):
                run(as_delivered(event))
            failed.append(event)
        proxy.start()  # back on the same port
        for event in failed + events[:10] + events[25:]:  # Event Grid's retries, and the rest
            run(as_delivered(event))
        assert totals(redis_db) == expected(events, [])[()]
        assert dead_letters(redis_db) == []
    finally:
        proxy.stop()
        module().reset()


def test_failing_credential_raises(monkeypatch: pytest.MonkeyPatch, redis_db: Any, acl_users) -> None:
    """REDIS_HOST + Entra: a managed identity that cannot get a token makes the function raise."""
    from pros_cli.ledger import connection

    monkeypatch.delenv("REDIS_URL", raising=False)
    for name, value in {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": "6379", "REDIS_SSL": "false"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REDIS_AUTH", "entra")
    identity = entra.FakeCredential(error="ManagedIdentityCredential authentication unavailable")
    real = connection.connect
    monkeypatch.setattr(connection, "connect", lambda target, **kw: real(target, credential=identity))
    mod = module()
    monkeypatch.setattr(mod, "connect_from_env", lambda: connection.connect(connection.settings_from_env()))
    mod.reset()
    try:
        with pytest.raises(redis.AuthenticationError, match="could not get a Microsoft Entra ID token"):
            processor()(as_delivered(make_event("cred-1")))
    finally:
        mod.reset()
    assert totals(redis_db)["requests"] == 0


def test_logs_carry_ids_and_outcomes_only(
    monkeypatch: pytest.MonkeyPatch, redis_db: Any, acl_users, caplog: pytest.LogCaptureFixture
) -> None:
    password = "pw-" + "s3cret" * 4
    acl_users.admin.acl_setuser("token-processor", enabled=True, passwords=[f"+{password}"], keys=["*"],
                                commands=["+@all"])  # fmt: skip
    acl_users.names.append("token-processor")
    db = redis_db.connection_pool.connection_kwargs
    port, number = db.get("port", 6379), db.get("db", 9)  # the fixture's database (REDIS_URL)
    monkeypatch.setenv("REDIS_URL", f"redis://token-processor:{password}@127.0.0.1:{port}/{number}")
    module().reset()
    caplog.set_level(logging.DEBUG)
    try:
        run = processor()
        run(as_delivered(make_event("log-1", username="jane@contoso.com")))
        run(as_delivered(make_event("log-1")))
        run(as_delivered(with_change(make_event("log-2"), "data.prompt", "What is the capital of France?")))
    finally:
        module().reset()
    text = caplog.text
    assert "'log-1' recorded" in text and "'log-1' duplicate" in text and "'log-2' dead-lettered" in text
    for secret in (password, "capital of France", "jane@contoso.com"):
        assert secret not in text
