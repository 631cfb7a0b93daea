"""The named values the policy reads: what differs per gateway lives here, not in the policy text.

API Management replaces ``{{name}}`` in a policy with the named value's value before it compiles
the policy (learn.microsoft.com/azure/api-management/api-management-howto-properties), so one
policy text serves every gateway and ``pros backends`` sets the values per gateway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

REGION = "pros-region"
EVENTGRID_ENDPOINT = "pros-eventgrid-endpoint"

_REGION_RE = re.compile(r"^[a-z0-9]{2,40}$")  # the contract's region pattern


@dataclass(frozen=True)
class NamedValueDef:
    name: str  # also the display name: `{{name}}` in the policy refers to the display name
    description: str
    secret: bool


NAMED_VALUES: tuple[NamedValueDef, ...] = (
    NamedValueDef(
        REGION,
        "The gateway's own Azure region name (e.g. eastus): the usage event's gatewayRegion; a call "
        "served by another region's account counts as a failover.",
        secret=False,
    ),
    NamedValueDef(
        EVENTGRID_ENDPOINT,
        "The Event Grid topic endpoint usage events are published to (ends in /api/events); the "
        "gateway authenticates with its managed identity, so no key is stored.",
        secret=False,
    ),
)


def named_value_values(region: str, eventgrid_endpoint: str) -> dict[str, str]:
    """The value of every named value in :data:`NAMED_VALUES` for one gateway, checked.

    Raises ``ValueError`` naming the problem when a value would make the policy misbehave.
    """
    if not _REGION_RE.match(region or ""):
        raise ValueError(f"{REGION}: {region!r} is not an Azure region name like 'eastus'")
    parts = urlsplit(eventgrid_endpoint or "")
    if parts.scheme != "https" or not parts.netloc or parts.path.rstrip("/") != "/api/events":
        raise ValueError(
            f"{EVENTGRID_ENDPOINT}: {eventgrid_endpoint!r} is not an Event Grid topic endpoint "
            "(https://<topic>.<region>-1.eventgrid.azure.net/api/events)"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"{EVENTGRID_ENDPOINT}: the topic endpoint takes no query string or fragment")
    values = {REGION: region, EVENTGRID_ENDPOINT: eventgrid_endpoint.rstrip("/")}
    assert set(values) == {nv.name for nv in NAMED_VALUES}
    return values
