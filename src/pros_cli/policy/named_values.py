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
GEOGRAPHY = "pros-geography"
# The value of pros-geography without geographic routing (a named value cannot be empty); the
# policy then sends no geography. Geography names are Traffic Manager codes, upper case.
NO_GEOGRAPHY = "none"

_REGION_RE = re.compile(r"^[a-z0-9]{2,40}$")  # the contract's region pattern
_GEOGRAPHY_RE = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")  # a Traffic Manager geography code
_GEOGRAPHY_MAX = 64  # the contract's data.geography maxLength


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
    NamedValueDef(
        GEOGRAPHY,
        "With geographic routing, the geography the gateway serves (its first Traffic Manager code, e.g. "
        "GEO-EU): the usage event's geography and the x-pros-geography header; 'none' otherwise.",
        secret=False,
    ),
)


def named_value_values(region: str, eventgrid_endpoint: str, geography: str | None = None) -> dict[str, str]:
    """The value of every named value in :data:`NAMED_VALUES` for one gateway, checked.
    ``geography``: the geography the gateway serves with geographic routing, else None.

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
    if geography is not None and not (
        _GEOGRAPHY_RE.match(geography) and len(geography) <= _GEOGRAPHY_MAX and geography != NO_GEOGRAPHY
    ):
        raise ValueError(f"{GEOGRAPHY}: {geography!r} is not a Traffic Manager geography code like 'GEO-EU'")
    values = {
        REGION: region,
        EVENTGRID_ENDPOINT: eventgrid_endpoint.rstrip("/"),
        GEOGRAPHY: geography or NO_GEOGRAPHY,
    }
    assert set(values) == {nv.name for nv in NAMED_VALUES}
    return values
