"""The app settings the function reads (pros sets them when it provisions the regional app)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

ENDPOINT = "AZURE_OPENAI_ENDPOINT"
REGION = "PROS_REGION"
EVENTGRID_ENDPOINT = "PROS_EVENTGRID_ENDPOINT"
CLIENT_ID = "AZURE_CLIENT_ID"
REQUIRED = (ENDPOINT, REGION, EVENTGRID_ENDPOINT)

_REGION = re.compile(r"^[a-z0-9]{2,40}$")


class SettingsError(Exception):
    """A required app setting is missing or malformed; the message names it."""


def region_name(value: str) -> str:
    """Azure's programmatic region name: ``East US 2`` (API Management's display name) and
    ``eastus2`` are the same region."""
    return "".join(value.lower().split())


@dataclass(frozen=True)
class Settings:
    openai_endpoint: str  # ends with "/"
    region: str
    eventgrid_endpoint: str
    client_id: str | None = None  # a user-assigned identity; None: the app's system-assigned one

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        missing = [name for name in REQUIRED if not env.get(name, "").strip()]
        if missing:
            raise SettingsError(
                f"app setting(s) {', '.join(missing)} not set: pros provision sets them on the regional "
                "Function App; set them by hand for a local run"
            )
        endpoint = env[ENDPOINT].strip()
        if not endpoint.startswith(("https://", "http://")):
            raise SettingsError(f"{ENDPOINT} must be an https:// URL, got {endpoint!r}")
        region = region_name(env[REGION])
        if not _REGION.match(region):
            raise SettingsError(f"{REGION} must be an Azure region name such as eastus, got {env[REGION]!r}")
        eventgrid = env[EVENTGRID_ENDPOINT].strip()
        if not eventgrid.startswith(("https://", "http://")):
            raise SettingsError(
                f"{EVENTGRID_ENDPOINT} must be the topic's https:// endpoint, got {eventgrid!r}"
            )
        return cls(
            openai_endpoint=endpoint.rstrip("/") + "/",
            region=region,
            eventgrid_endpoint=eventgrid,
            client_id=env.get(CLIENT_ID, "").strip() or None,
        )
