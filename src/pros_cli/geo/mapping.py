"""The routing settings of a deployment, checked before any request: routing method, the
geography each region serves (``--geo``), and how far a gateway's pools may fail over.

A ``--geo`` value is ``REGION=CODE[,CODE...]`` with Traffic Manager's geography codes. Regions
given the same codes share one geography: geographic routing at the top sends that geography's
callers to a nested profile that routes by performance among its regions. Every rule Traffic
Manager applies to a geographic profile is checked here, offline, against the documented
hierarchy (:mod:`pros_cli.geo.hierarchy`): a code it does not know, a code on two endpoints, a
region without a geography, and no endpoint for ``WORLD`` (a query Traffic Manager cannot place
would get no answer) are each refused before anything is read or changed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pros_cli import regions as region_table
from pros_cli.errors import UsageError
from pros_cli.geo import hierarchy

# Setting value -> Traffic Manager's trafficRoutingMethod.
ROUTING_METHODS: dict[str, str] = {
    "performance": "Performance",
    "priority": "Priority",
    "geographic": "Geographic",
}
FAILOVER_SCOPES = ("global", "geography")
WORLD = hierarchy.ROOT
REGIONS_DOC = "https://learn.microsoft.com/azure/traffic-manager/traffic-manager-geographic-regions"
_CODE = re.compile(r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")
Mapping = tuple[tuple[str, tuple[str, ...]], ...]  # (region, codes) in the order given


@dataclass(frozen=True)
class Geography:
    """Regions that serve the same Traffic Manager geography codes. Named by its first code."""

    codes: tuple[str, ...]
    regions: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.codes[0]

    @property
    def slug(self) -> str:
        """The name as it appears in resource names: ``GEO-EU`` -> ``geo-eu``."""
        return self.name.lower()

    @property
    def nested(self) -> bool:
        """Several regions: a child profile routes by performance among them."""
        return len(self.regions) > 1

    def describe(self) -> str:
        return f"{self.name} ({', '.join(self.codes)}: {', '.join(self.regions)})"


def routing_method(value: str) -> str:
    """The setting's value, checked: performance, priority or geographic."""
    method = str(value or "").strip().lower()
    if method not in ROUTING_METHODS:
        raise UsageError(
            f"unknown routing method {value!r}",
            hint=f"choose one of {', '.join(ROUTING_METHODS)} (--routing-method)",
        )
    return method


def failover_scope(value: str) -> str:
    scope = str(value or "").strip().lower()
    if scope not in FAILOVER_SCOPES:
        raise UsageError(
            f"unknown failover scope {value!r}", hint=f"choose one of {', '.join(FAILOVER_SCOPES)}"
        )
    return scope


def parse_mapping(tokens: Sequence[str]) -> Mapping:
    """``--geo`` values as (region, codes), in the order given.

    Settings split list values at commas, so ``eastus=GEO-NA,WORLD`` arrives as two tokens; a
    token without ``=`` continues the codes of the region before it."""
    entries: list[tuple[str, list[str]]] = []
    for raw in tokens:
        token = str(raw).strip()
        if not token:
            continue
        if "=" in token:
            name, _, codes = token.partition("=")
            region = region_table.normalize(name)
            if region is None:
                raise UsageError(
                    f"--geo {token}: unknown Azure region {name.strip()!r}",
                    hint="write REGION=CODE[,CODE...] with one of the deployment's regions, e.g. "
                    "--geo westeurope=GEO-EU",
                )
            if any(region == r for r, _ in entries):
                raise UsageError(
                    f"region {region} is given twice in --geo",
                    hint=f"list all of its codes in one value: --geo {region}=CODE,CODE",
                )
            entries.append((region, []))
            parts = codes.split(",")
        else:
            if not entries:
                raise UsageError(
                    f"--geo {token}: expected REGION=CODE[,CODE...]",
                    hint="e.g. --geo westeurope=GEO-EU --geo eastus=GEO-NA,WORLD",
                )
            parts = token.split(",")
        region, codes_of_region = entries[-1]
        for part in parts:
            code = part.strip().upper()
            if not code:
                continue
            if not _CODE.match(code):
                raise UsageError(
                    f"--geo {region}: {part.strip()!r} is not a geography code", hint=_codes_hint()
                )
            if code in codes_of_region:
                raise UsageError(
                    f"geography code {code} is given twice for {region}", hint="list each code once"
                )
            codes_of_region.append(code)
    for region, codes_of_region in entries:
        if not codes_of_region:
            raise UsageError(
                f"--geo {region}= names no geography code",
                hint=f"e.g. --geo {region}=GEO-EU; codes: {REGIONS_DOC}",
            )
    return tuple((region, tuple(codes)) for region, codes in entries)


def to_tokens(mapping: Mapping) -> tuple[str, ...]:
    """The mapping as ``--geo`` values (one per region)."""
    return tuple(f"{region}={','.join(codes)}" for region, codes in mapping)


def _codes_hint() -> str:
    return (
        "use Traffic Manager's geography codes: WORLD, a grouping such as GEO-EU, GEO-NA, GEO-AS, a "
        f"country such as FR or DE, or a state such as US-CA (the list: {REGIONS_DOC})"
    )


def check_codes(mapping: Mapping, known: set[str] | frozenset[str] | None = None) -> None:
    """Every code must be in the hierarchy (the documented one unless ``known`` is given)."""
    known_codes = set(hierarchy.parents()) if known is None else {c.upper() for c in known}
    for region, codes in mapping:
        unknown = [c for c in codes if c not in known_codes]
        if unknown:
            close = sorted(k for k in known_codes if k.startswith(unknown[0][:2]))[:6]
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise UsageError(
                f"unknown geography code{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for {region}: "
                "Traffic Manager's geographic hierarchy has no such code",
                hint=hint + _codes_hint(),
            )


def geographies(regions: Sequence[str], mapping: Mapping) -> tuple[Geography, ...]:
    """Regions grouped by the codes they serve, in the order of ``regions``. A code may belong to
    one geography only (Traffic Manager maps a code to one endpoint of a profile)."""
    by_region = dict(mapping)
    groups: dict[frozenset[str], tuple[tuple[str, ...], list[str]]] = {}
    owner: dict[str, str] = {}
    for region in regions:
        codes = by_region.get(region)
        if codes is None:
            continue
        key = frozenset(codes)
        for code in codes:
            other = owner.get(code)
            if other is not None and frozenset(by_region[other]) != key:
                raise UsageError(
                    f"geography code {code} is given twice: for {other} ({','.join(by_region[other])}) "
                    f"and for {region} ({','.join(codes)})",
                    hint="Traffic Manager maps a code to one endpoint only: regions that share a geography "
                    "must list exactly the same codes, and different geographies must not share a code",
                )
            owner.setdefault(code, region)
        if key in groups:
            groups[key][1].append(region)
        else:
            groups[key] = (codes, [region])
    return tuple(Geography(codes, tuple(members)) for codes, members in groups.values())


def check_routing(regions: Sequence[str], method: str, mapping: Mapping, scope: str) -> tuple[Geography, ...]:
    """Every rule, offline; the geographies (none unless the routing is geographic)."""
    mapped = [region for region, _ in mapping]
    stray = [r for r in mapped if r not in regions]
    if stray:
        raise UsageError(
            f"--geo maps {', '.join(stray)}, which {'is' if len(stray) == 1 else 'are'} not one of the "
            f"deployment's regions ({', '.join(regions)})",
            hint="add the region with --region, or give --geo again without it",
        )
    check_codes(mapping)
    groups = geographies(regions, mapping)  # refuses a code given twice
    if method != "geographic":
        if scope == "geography":
            raise UsageError(
                f"failover scope 'geography' needs geographic routing: with {method} routing a caller is "
                "not bound to a geography, so there is no boundary to keep",
                hint="add --routing-method geographic with a --geo for every region, or use "
                "--failover-scope global",
            )
        return ()
    unmapped = [r for r in regions if r not in dict(mapping)]
    if unmapped:
        raise UsageError(
            f"geographic routing needs a geography for every region; {', '.join(unmapped)} "
            f"{'has' if len(unmapped) == 1 else 'have'} none",
            hint=" ".join(f"--geo {r}=CODE[,CODE...]" for r in unmapped) + f" (codes: {REGIONS_DOC})",
        )
    if not any(WORLD in g.codes for g in groups):
        raise UsageError(
            "no region serves WORLD: Traffic Manager would give no answer to a caller from a place no "
            "geography covers (or one it cannot place)",
            hint="add WORLD to the codes of the region that should serve everyone else, e.g. "
            f"--geo {regions[0]}={','.join((*dict(mapping).get(regions[0], ()), WORLD))}",
        )
    return groups


def single_region_geographies(groups: Sequence[Geography]) -> list[Geography]:
    return [g for g in groups if not g.nested]
