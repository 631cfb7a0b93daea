"""Waiting for a new role assignment to reach the data plane.

A role assignment exists in ARM at once, but the access it grants reaches the service later: Key
Vault's RBAC guide (articles/key-vault/general/rbac-guide.md, "Known limits and performance") says
"it will take up to 10 minutes (600 seconds) after role assignments is changed for role to be
applied". API Management fetches a custom domain's certificate from Key Vault with its identity
when the hostname is set, and until the grant has propagated it refuses the PATCH exactly as it
refuses a missing grant: 400 InvalidOperation, "Failed to access KeyVault Secret ... using Managed
Service Identity (http://aka.ms/apimmsi) of Api Management service. Check if Managed Identity of
Type: SystemAssigned ... has GET permissions on secrets in the KeyVault Access Policies."
(hashicorp/terraform-provider-azurerm issue reports quote it).

So the step that needs the access retries that refusal, with a progress line, until a bound
measured from when the grant was made; a grant older than the bound is not propagating, it is not
enough (an access-policy vault, a network rule), and the refusal is reported at once.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from pros_cli.azure.errors import describe, error_code
from pros_cli.resources.base import get_path

ROLE_ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"


class DataPlaneAccessDenied(RuntimeError):
    """The service still cannot use the access a role assignment grants, past the bound."""


def key_vault_denied(exc: BaseException) -> bool:
    """API Management could not read a Key Vault secret with its managed identity."""
    return error_code(exc) == "InvalidOperation" and "Failed to access KeyVault Secret" in describe(exc)


def granted_at(inputs: Mapping[str, dict[str, Any] | None]) -> float | None:
    """When the newest role assignment among a node's inputs was made (epoch seconds), if known."""
    times = []
    for body in inputs.values():
        if not body or str(body.get("type") or "").lower() != ROLE_ASSIGNMENT_TYPE.lower():
            continue
        stamp = str(get_path(body, "properties.createdOn") or "")
        try:
            when = dt.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        times.append(when.timestamp())
    return max(times) if times else None


def notifier(clients: Any) -> Callable[[str], None]:
    """Where progress lines go: the run's stderr UI when the client factory carries one."""
    notice = getattr(clients, "notice", None)
    if callable(notice):
        return notice

    def to_stderr(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return to_stderr


def retry_until_propagated(
    call: Callable[[], Any],
    *,
    denied: Callable[[BaseException], bool],
    what: str,
    since: float | None,
    bound: float,
    delay: float,
    notice: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> Any:
    """``call()``, retried every ``delay`` seconds while it fails with ``denied`` and the grant made
    at ``since`` is younger than ``bound`` seconds. No grant known (``since`` None): nothing pros did
    is propagating, so a refusal is final at once."""
    if since is None:
        return call()
    start = min(since, clock())
    deadline = start + bound
    attempt = 1
    while True:
        try:
            return call()
        except Exception as exc:
            if not denied(exc):
                raise
            left = deadline - clock()
            if left <= 0:
                waited = clock() - start
                raise DataPlaneAccessDenied(
                    f"{what}: still denied {waited:.0f} s after the role assignment was made "
                    f"({describe(exc)}). A new grant reaches Key Vault within about 10 minutes; this one "
                    "has had longer, so it does not grant the access: check that the vault uses Azure RBAC "
                    "(not access policies) and lets Azure services through its network rules, then run "
                    "pros again"
                ) from exc
            pause = min(delay, left)
            notice(
                f"waiting for Key Vault access: {what}: the role assignment is not effective yet (Azure "
                f"takes up to ~10 minutes); attempt {attempt} refused, retrying in {pause:.1f} s, giving up "
                f"in {left:.0f} s"
            )
            sleep(pause)
            attempt += 1
