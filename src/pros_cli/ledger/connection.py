"""One way to reach the ledger's Redis: Azure Managed Redis or Azure Cache for Redis with Microsoft
Entra ID, or a plain ``REDIS_URL`` for local development. No access key anywhere.

* Azure Managed Redis (``Microsoft.Cache/redisEnterprise``): TLS on port 10000, host
  ``<name>.<region>.redis.azure.net``. pros creates it with the EnterpriseCluster clustering
  policy: one endpoint, so a plain (non-cluster) client works; the ledger's multi-key script
  needs one slot, which its hash tags guarantee.
* Azure Cache for Redis (``Microsoft.Cache/redis``, retiring): TLS on port 6380.
* Entra ID: the ``redis-entraid`` credential provider gets tokens for
  ``https://redis.azure.com/.default`` from a TokenCredential (a managed identity in the
  function, DefaultAzureCredential for an operator), authenticates as the token's ``oid`` with
  the token as password, and re-authenticates open connections with a fresh token before the old
  one expires (at ``refresh_ratio`` of its lifetime).

The token processor's app settings: ``REDIS_HOST``, ``REDIS_PORT``, ``REDIS_SSL`` ("true"),
``REDIS_AUTH`` ("entra"); ``REDIS_URL`` instead for a local run.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

SCOPE = "https://redis.azure.com/.default"
MANAGED_PORT = 10000
CACHE_PORT = 6380
MANAGED = "managed"
CACHE = "azure-cache-for-redis"
REFRESH_RATIO = 0.7  # get a new token when 70 % of the old one's lifetime has passed
ENV_NAMES = ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_SSL", "REDIS_AUTH")


class RedisSettingsError(ValueError):
    """The connection settings are missing or contradict each other."""


class EntraTokenError(redis.exceptions.AuthenticationError):
    """The credential could not produce a Microsoft Entra ID token for Redis."""


@dataclass(frozen=True)
class RedisTarget:
    host: str
    port: int
    ssl: bool = True
    auth: str = "entra"  # "entra", or "none" (a local server without authentication)
    db: int = 0

    def describe(self) -> str:
        return f"{self.host}:{self.port}"


def managed_host(name: str, region: str) -> str:
    return f"{name}.{region}.redis.azure.net"


def _flag(value: str, name: str) -> bool:
    text = value.strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise RedisSettingsError(f"{name}={value!r} is not true or false")


def settings_from_env(env: Mapping[str, str] | None = None) -> str | RedisTarget:
    """``REDIS_URL`` when set (local runs), else the Entra target from REDIS_HOST/PORT/SSL/AUTH."""
    env = os.environ if env is None else env
    url = (env.get("REDIS_URL") or "").strip()
    if url:
        return url
    host = (env.get("REDIS_HOST") or "").strip()
    if not host:
        raise RedisSettingsError(
            "no Redis configured: set REDIS_HOST (with REDIS_PORT, REDIS_SSL, REDIS_AUTH=entra), "
            "or REDIS_URL for a local server"
        )
    managed = host.endswith(".redis.azure.net")
    port_text = (env.get("REDIS_PORT") or "").strip() or str(MANAGED_PORT if managed else CACHE_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise RedisSettingsError(f"REDIS_PORT={port_text!r} is not a port number")
    auth = (env.get("REDIS_AUTH") or "entra").strip().lower()
    if auth not in ("entra", "none"):
        raise RedisSettingsError(
            f"REDIS_AUTH={auth!r}: pros connects with Microsoft Entra ID ('entra'); access keys are not used"
        )
    return RedisTarget(host, int(port_text), _flag(env.get("REDIS_SSL") or "true", "REDIS_SSL"), auth)


def target_from_outputs(outputs: Mapping[str, Any]) -> RedisTarget:
    """The target recorded in the state file for the deployment's cache (``resources["redis"]``).

    Accepts ``host_name`` with ``port`` and ``cache_kind`` (Managed Redis or Azure Cache for
    Redis), and the older ``host_name`` + ``ssl_port`` outputs of an Azure Cache for Redis.
    """
    host = outputs.get("host_name")
    if not isinstance(host, str) or not host:
        raise RedisSettingsError("the state file records no host name for the deployment's Redis")
    kind = outputs.get("cache_kind") or (MANAGED if host.endswith(".redis.azure.net") else CACHE)
    if kind not in (MANAGED, CACHE):
        raise RedisSettingsError(f"unknown cache kind {kind!r} in the state file")
    port = outputs.get("port") or outputs.get("ssl_port") or (MANAGED_PORT if kind == MANAGED else CACHE_PORT)
    return RedisTarget(host, int(port), True, "entra")


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (only to name the identity: never to trust it)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def entra_credential_provider(
    credential: Any, *, scope: str = SCOPE, refresh_ratio: float = REFRESH_RATIO
) -> Any:
    """A redis-entraid streaming credential provider over any azure-core TokenCredential."""
    from redis.auth.token_manager import RetryPolicy, TokenManagerConfig
    from redis_entraid.cred_provider import EntraIdCredentialsProvider
    from redis_entraid.identity_provider import DefaultAzureCredentialProvider

    source = type(credential).__name__

    class Provider(EntraIdCredentialsProvider):
        def get_credentials(self) -> Any:
            try:
                user, token = super().get_credentials()
            except Exception as exc:
                cause = str(getattr(exc, "args", [exc])[0] if getattr(exc, "args", None) else exc)
                cause = cause.strip().splitlines()[0][:300] if cause.strip() else type(exc).__name__
                raise EntraTokenError(
                    f"could not get a Microsoft Entra ID token for Redis (scope {scope}) from "
                    f"{source}: {cause}"
                ) from None
            if not user:
                raise EntraTokenError(
                    f"the Microsoft Entra ID token from {source} has no 'oid' claim, so Redis cannot "
                    "tell which identity it is"
                )
            return user, token

    # DefaultAzureCredentialProvider only calls credential.get_token(scope): any TokenCredential.
    identity = DefaultAzureCredentialProvider(credential, (scope,))
    config = TokenManagerConfig(refresh_ratio, 0, 1000, RetryPolicy(2, 50))
    return Provider(identity, config)


def _client_options(socket_timeout: float) -> dict[str, Any]:
    return {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
        "health_check_interval": 30,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 2),
        "decode_responses": False,
    }


def connect(
    target: str | RedisTarget,
    *,
    credential: Any = None,
    refresh_ratio: float = REFRESH_RATIO,
    socket_timeout: float = 10.0,
) -> redis.Redis:
    """A redis-py client for ``target``: a URL as is, or a RedisTarget with Entra ID.

    ``credential``: the TokenCredential for Entra ID; default: the managed identity
    (``AZURE_CLIENT_ID`` names a user-assigned one), which is what the token processor runs as.
    Nothing connects until the first command.
    """
    options = _client_options(socket_timeout)
    if isinstance(target, str):
        return redis.Redis.from_url(target, **options)
    if target.auth == "none":
        return redis.Redis(host=target.host, port=target.port, ssl=target.ssl, db=target.db, **options)
    if credential is None:
        from azure.identity import ManagedIdentityCredential

        client_id = os.environ.get("AZURE_CLIENT_ID") or None
        credential = ManagedIdentityCredential(client_id=client_id)
    provider = entra_credential_provider(credential, refresh_ratio=refresh_ratio)
    return redis.Redis(
        host=target.host,
        port=target.port,
        ssl=target.ssl,
        db=target.db,
        credential_provider=provider,
        **options,
    )


def connect_from_env(env: Mapping[str, str] | None = None, *, credential: Any = None) -> redis.Redis:
    return connect(settings_from_env(env), credential=credential)


def redact_url(url: str) -> str:
    """A Redis URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user + ':' if user else ''}***@{host}"
