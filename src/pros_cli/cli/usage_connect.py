"""How ``pros usage`` reaches the ledger: ``--redis-url`` / ``REDIS_URL``, else the deployment's cache
from the state file with the operator's Entra identity; and what a Redis failure tells the
operator (for missing data access: exactly how to grant it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pros_cli.cli.context import App
from pros_cli.errors import ProsError, UsageError

REDIS_STATE_KEY = "redis"
ACCESS_POLICY_API = "2025-07-01"  # Microsoft.Cache/redisEnterprise (azure-mgmt-redisenterprise 3.1)
CACHE_API = "2024-11-01"  # Microsoft.Cache/redis (azure-mgmt-redis 14.5)
_DENIED = ("NOPERM", "WRONGPASS", "invalid username-password pair", "NOAUTH")


@dataclass
class Connection:
    client: Any
    where: str  # host:port or the redacted URL: safe to print
    credential: Any = None  # the operator's TokenCredential, with Entra ID
    resource_id: str | None = None  # the cache's ARM id, from the state file
    cache_kind: str | None = None


def open_connection(app: App, redis_url: str | None) -> Connection:
    from pros_cli.ledger.connection import RedisSettingsError, connect, redact_url, target_from_outputs

    if redis_url:
        return Connection(connect(redis_url), redact_url(redis_url))
    base = app.base_name(required=False)
    if base is None:
        raise UsageError(
            "no Redis to read: pass --redis-url (or set REDIS_URL), or run where ./.pros/ records "
            "exactly one deployment",
            hint="pass --base-name NAME to pick the deployment whose cache holds the ledger",
        )
    from pros_cli.state import load_state_file

    path = app.state_path(base)
    data = load_state_file(path) or {"resources": {}}
    entry = data["resources"].get(REDIS_STATE_KEY) or {}
    try:
        target = target_from_outputs(entry.get("outputs") or {})
    except RedisSettingsError as exc:
        raise UsageError(
            f"the state file {path} records no usable Redis for deployment {base!r} ({exc})",
            hint="run 'pros provision' first, or pass --redis-url",
        ) from None
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    kind = (entry.get("outputs") or {}).get("cache_kind")
    return Connection(
        connect(target, credential=credential), target.describe(), credential, entry.get("id"), kind
    )


def _object_id(credential: Any) -> str | None:
    from pros_cli.ledger.connection import SCOPE, token_claims

    try:
        oid = token_claims(credential.get_token(SCOPE).token).get("oid")
    except Exception:
        return None
    return oid if isinstance(oid, str) else None


def grant_hint(conn: Connection, *, write: bool = False) -> str:
    """How to give the operator's identity data access: pros provision, or the az rest equivalent.

    ``write``: the command writes (replay). Managed Redis has one access policy ("default", read
    and write); on Azure Cache for Redis, ``--usage-reader`` grants "Data Reader", which reports
    need, and replay needs "Data Contributor"."""
    oid = _object_id(conn.credential) or "<your-object-id>"
    name = "usagereader" + oid.replace("-", "")[:40] if oid[0] != "<" else "usagereader"
    lines = [
        f"grant your identity (object id {oid}) data access to the cache, then run this again:",
        f"  pros provision --usage-reader {oid}",
    ]
    rid = conn.resource_id or ""
    if "/microsoft.cache/redis/" in rid.lower():  # Azure Cache for Redis
        policy = "Data Contributor" if write else "Data Reader"
        if write:
            lines[1] = "  (pros provision --usage-reader grants Data Reader: enough to report, not to replay)"
        url = f"https://management.azure.com{rid}/accessPolicyAssignments/{name}?api-version={CACHE_API}"
        body = (
            '{"properties":{"accessPolicyName":"' + policy + '","objectId":"' + oid + '",'
            '"objectIdAlias":"pros usage"}}'
        )
    else:  # Azure Managed Redis: the database's "default" access policy
        cluster = rid or (
            "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.Cache/"
            "redisEnterprise/<cache>"
        )
        url = (
            f"https://management.azure.com{cluster}/databases/default/accessPolicyAssignments/{name}"
            f"?api-version={ACCESS_POLICY_API}"
        )
        body = '{"properties":{"accessPolicyName":"default","user":{"objectId":"' + oid + '"}}}'
    lines.append(f"  or: az rest --method put --url '{url}' --body '{body}'")
    if oid.startswith("<"):
        lines.append("  (your object id: az ad signed-in-user show --query id -o tsv)")
    return "\n".join(lines)


@contextlib.contextmanager
def redis_errors(conn: Connection, *, write: bool = False) -> Iterator[None]:
    """Turn Redis failures into one clear error; never print a URL's password or a token."""
    import redis

    from pros_cli.ledger.connection import EntraTokenError

    try:
        yield
    except EntraTokenError as exc:
        raise ProsError(
            str(exc), hint="sign in with 'az login' (or set AZURE_* for a service principal), then run again"
        ) from None
    except (redis.AuthenticationError, redis.ResponseError) as exc:
        text = str(exc)
        denied = isinstance(exc, redis.exceptions.NoPermissionError)  # NOPERM (redis-py drops the word)
        if not denied and not any(word.lower() in text.lower() for word in _DENIED):
            raise ProsError(f"Redis at {conn.where} refused the request: {text[:300]}") from None
        if conn.credential is None:
            raise ProsError(
                f"Redis at {conn.where} refused access ({text[:200]})",
                hint="check the user and password in --redis-url / REDIS_URL",
            ) from None
        raise ProsError(
            f"your Microsoft Entra identity has no data access to the ledger's Redis at {conn.where} "
            f"({text[:200]})",
            hint=grant_hint(conn, write=write),
        ) from None
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise ProsError(
            f"cannot reach Redis at {conn.where}: {str(exc)[:300]}",
            hint="check the host, port and network access (firewall, private endpoint), then run again",
        ) from None
