"""The routing settings, checked offline: geography codes against Traffic Manager's documented
hierarchy, regions grouped into geographies, and every bad mapping refused with its reason."""

from __future__ import annotations

import pytest

from pros_cli.errors import UsageError
from pros_cli.geo import check_routing, geographies, hierarchy, parse_mapping
from tests.conftest import make_spec

THREE = ("westeurope", "swedencentral", "eastus")
MAPPING = ("westeurope=GEO-EU", "swedencentral=GEO-EU", "eastus=GEO-NA", "WORLD")


def test_the_documented_hierarchy() -> None:
    parents = hierarchy.parents()
    assert parents["WORLD"] is None
    assert parents["GEO-EU"] == parents["GEO-NA"] == "WORLD"
    assert parents["FR"] == "GEO-EU" and parents["US"] == "GEO-NA" and parents["US-CA"] == "US"
    assert parents["AU-NSW"] == "AU" and parents["AQ"] == "GEO-AN"
    assert hierarchy.name_of("ca-qc") == "Québec"
    assert not hierarchy.is_known("GEO-XX") and not hierarchy.is_known("EU")
    assert len(parents) > 300  # every country and the states and provinces Traffic Manager lists


def test_a_token_without_a_region_continues_the_codes_before_it() -> None:
    # Settings split list values at commas: eastus=GEO-NA,WORLD arrives as two tokens.
    assert parse_mapping(MAPPING) == (
        ("westeurope", ("GEO-EU",)),
        ("swedencentral", ("GEO-EU",)),
        ("eastus", ("GEO-NA", "WORLD")),
    )
    assert parse_mapping(["East US=geo-na,world"]) == (("eastus", ("GEO-NA", "WORLD")),)


def test_regions_with_the_same_codes_share_a_geography() -> None:
    groups = geographies(THREE, parse_mapping(MAPPING))
    assert [(g.name, g.regions, g.nested) for g in groups] == [
        ("GEO-EU", ("westeurope", "swedencentral"), True),
        ("GEO-NA", ("eastus",), False),
    ]
    same = geographies(
        ("westeurope", "swedencentral"),
        parse_mapping(["westeurope=GEO-EU,WORLD", "swedencentral=WORLD,GEO-EU"]),
    )
    assert [(g.codes, g.regions) for g in same] == [(("GEO-EU", "WORLD"), ("westeurope", "swedencentral"))]


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (
            ("westeurope=GEO-EU", "swedencentral=GEO-EU", "eastus=GEO-XX", "WORLD"),
            "unknown geography code GEO-XX",
        ),
        (("westeurope=GEO-EU", "swedencentral=GEO-EU", "eastus=GEO-EU", "WORLD"), "GEO-EU is given twice"),
        (
            ("westeurope=GEO-EU", "swedencentral=GEO-EU", "eastus=WORLD", "WORLD"),
            "WORLD is given twice for eastus",
        ),
        (("westeurope=GEO-EU", "eastus=GEO-NA", "WORLD"), "swedencentral has none"),
        (("westeurope=GEO-EU", "swedencentral=GEO-EU", "eastus=GEO-NA"), "no region serves WORLD"),
        (
            ("westeurope=GEO-EU", "swedencentral=GEO-EU", "eastus=GEO-NA", "WORLD", "japaneast=GEO-AS"),
            "japaneast",
        ),
        (("westeurope=GEO-EU", "westeurope=FR"), "westeurope is given twice"),
        (("GEO-EU",), "expected REGION=CODE"),
        (("narnia=GEO-EU",), "unknown Azure region"),
        (("eastus=",), "names no geography code"),
        (("eastus=GEO NA",), "is not a geography code"),
    ],
)
def test_each_bad_mapping_is_refused_with_its_reason(tokens, message) -> None:
    with pytest.raises(UsageError) as err:
        check_routing(THREE, "geographic", parse_mapping(tokens), "global")
    assert message in str(err.value)
    assert err.value.hint  # and says what to do


def test_failover_within_a_geography_needs_geographic_routing() -> None:
    with pytest.raises(UsageError, match="needs geographic routing"):
        make_spec(regions=list(THREE), failover_scope="geography")
    spec = make_spec(
        regions=list(THREE), routing_method="geographic", geo=list(MAPPING), failover_scope="geography"
    )
    assert spec.failover_regions("swedencentral") == ("westeurope", "swedencentral")
    assert spec.failover_regions("eastus") == ("eastus",)
    assert make_spec(regions=list(THREE)).failover_regions("eastus") == THREE


def test_the_spec_keeps_the_mapping_and_the_method() -> None:
    spec = make_spec(regions=list(THREE), routing_method="Geographic", geo=list(MAPPING))
    assert spec.routing_method == "geographic"
    assert spec.to_state()["geo"] == ["westeurope=GEO-EU", "swedencentral=GEO-EU", "eastus=GEO-NA,WORLD"]
    assert spec.geography_of("swedencentral").name == "GEO-EU"
    # Not geographic: the mapping is kept (checked all the same) but there are no geographies.
    kept = make_spec(regions=list(THREE), geo=list(MAPPING))
    assert kept.geographies == () and kept.geo == spec.geo
    with pytest.raises(UsageError, match="unknown routing method"):
        make_spec(routing_method="nearest")
    with pytest.raises(UsageError, match="unknown failover scope"):
        make_spec(failover_scope="region")
