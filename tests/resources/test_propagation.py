"""Waiting, bounded, for a new role assignment to reach the data plane (resources/propagation.py)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from pros_cli.resources.propagation import (
    DataPlaneAccessDenied,
    granted_at,
    key_vault_denied,
    retry_until_propagated,
)

DENIED = (
    "Failed to access KeyVault Secret https://kv.vault.azure.net/secrets/cert using Managed Service "
    "Identity (http://aka.ms/apimmsi) of Api Management service. Check if Managed Identity of Type: "
    "SystemAssigned has GET permissions on secrets in the KeyVault Access Policies."
)


class FakeResponse:
    def __init__(self, status: int, text: str):
        self.status_code = status
        self._text = text
        self.reason = "Bad Request"
        self.headers: dict[str, str] = {}
        self.request = None

    def text(self) -> str:
        return self._text


def arm_error(code: str, message: str) -> HttpResponseError:
    import json

    return HttpResponseError(
        response=FakeResponse(400, json.dumps({"error": {"code": code, "message": message}}))
    )


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def run(call: Any, clock: Clock, since: float | None, notes: list[str]) -> Any:
    return retry_until_propagated(
        call,
        denied=key_vault_denied,
        what="API Management custom domain api.contoso.com on apim-x",
        since=since,
        bound=900.0,
        delay=30.0,
        notice=notes.append,
        sleep=clock.sleep,
        clock=clock.time,
    )


def failing(times: int, error: Exception) -> Any:
    calls = {"n": 0}

    def call() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        return "patched"

    call.calls = calls  # type: ignore[attr-defined]
    return call


def test_a_fresh_grant_is_waited_for_with_progress_lines():
    clock, notes = Clock(), []
    call = failing(3, arm_error("InvalidOperation", DENIED))
    assert run(call, clock, since=clock.now - 5, notes=notes) == "patched"
    assert clock.slept == [30.0, 30.0, 30.0]
    assert len(notes) == 3
    assert notes[0].startswith("waiting for Key Vault access: API Management custom domain api.contoso.com")
    assert (
        "up to ~10 minutes" in notes[0]
        and "attempt 1 refused, retrying in 30.0 s, giving up in 895 s" in notes[0]
    )


def test_the_wait_is_bounded_from_when_the_grant_was_made():
    clock, notes = Clock(), []
    call = failing(1000, arm_error("InvalidOperation", DENIED))
    with pytest.raises(DataPlaneAccessDenied) as err:
        run(call, clock, since=clock.now - 800, notes=notes)
    assert sum(clock.slept) == pytest.approx(100.0)  # the 900 s bound counts from the grant
    assert "still denied 900 s after the role assignment was made" in str(err.value)
    assert "access policies" in str(err.value) and "run pros again" in str(err.value)


def test_an_old_grant_or_none_is_not_waited_for():
    for since in (1000.0 - 3600, None):
        clock, notes = Clock(), []
        with pytest.raises((DataPlaneAccessDenied, HttpResponseError)):
            run(failing(1, arm_error("InvalidOperation", DENIED)), clock, since=since, notes=notes)
        assert clock.slept == [] and notes == []


def test_other_errors_are_not_retried():
    clock, notes = Clock(), []
    with pytest.raises(HttpResponseError):
        run(failing(1, arm_error("ValidationError", "bad hostname")), clock, since=clock.now, notes=notes)
    assert clock.slept == []


def test_granted_at_reads_the_newest_role_assignment_input():
    inputs = {
        "apim/eastus": {"type": "Microsoft.ApiManagement/service", "properties": {}},
        "rbac/a": {
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"createdOn": "2026-11-30T08:00:00.1234567Z"},
        },
        "rbac/b": {
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"createdOn": "2026-11-30T08:05:00Z"},
        },
        "keyvault": None,
    }
    import datetime as dt

    assert granted_at(inputs) == dt.datetime(2026, 11, 30, 8, 5, tzinfo=dt.UTC).timestamp()
    assert granted_at({"keyvault": None}) is None
