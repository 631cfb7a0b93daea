"""Spec and names: validation names the rule; every derived name is legal and deterministic."""

from __future__ import annotations

import itertools
import random
import string

import pytest

from pros_cli import regions
from pros_cli.errors import UsageError
from pros_cli.spec import (
    BASE_NAME_MAX,
    NAME_RULES,
    build_spec,
    name_suffix,
    parse_model,
    validate_base_name,
)
from tests.conftest import SUB

OTHER_SUB = "0f0e0d0c-0b0a-0908-0706-050403020100"


def random_base_names(count: int) -> list[str]:
    rng = random.Random(1234)
    names = {"abc", "a" * BASE_NAME_MAX, "a-b-c-d-e-f1", "z9-9z"}
    while len(names) < count:
        length = rng.randint(3, BASE_NAME_MAX)
        chars = [rng.choice(string.ascii_lowercase)]
        while len(chars) < length:
            pool = string.ascii_lowercase + string.digits
            if chars[-1] != "-" and len(chars) < length - 1:
                pool += "-"
            chars.append(rng.choice(pool))
        names.add("".join(chars))
    return sorted(names)


@pytest.mark.parametrize("base", random_base_names(60))
def test_every_valid_base_name_gives_legal_azure_names_in_every_region(base):
    longest_codes = sorted(regions.REGIONS, key=lambda r: -len(regions.short_code(r)))[:2]
    spec = build_spec(base_name=base, subscription_id=SUB, regions=longest_codes)
    for kind, name in spec.names.all_global(spec.regions):
        pattern, low, high = NAME_RULES[kind]
        assert low <= len(name) <= high and pattern.match(name), (kind, name)
    assert spec.names.resource_group().startswith("rg-")


@pytest.mark.parametrize(
    ("base", "needle"),
    [
        ("ab", "2 characters"),
        ("abcdefghijklm", "13 characters"),
        ("Abc", "uppercase"),
        ("9abc", "start"),
        ("abc-", "ends with"),
        ("ab--c", "consecutive"),
        ("ab.c", "'.'"),
        ("", "no base name"),
    ],
)
def test_bad_base_names_say_which_rule(base, needle):
    with pytest.raises(UsageError) as err:
        validate_base_name(base)
    assert needle in err.value.message


def test_names_are_deterministic_and_suffixed_per_subscription():
    a = build_spec(base_name="demo", subscription_id=SUB)
    b = build_spec(base_name="demo", subscription_id=SUB.upper())
    c = build_spec(base_name="demo", subscription_id=OTHER_SUB)
    assert a.names == b.names
    assert a.names.storage_account("eastus") != c.names.storage_account("eastus")
    assert a.names.resource_group() == c.names.resource_group() == "rg-demo"
    assert name_suffix(SUB, "demo") == name_suffix(SUB, "demo")
    assert len(name_suffix(SUB, "demo")) == 6


def test_region_short_codes_are_unique_so_names_never_collide():
    codes = [regions.short_code(r) for r in regions.REGIONS]
    assert len(codes) == len(set(codes))
    spec = build_spec(base_name="demo", subscription_id=SUB, regions=list(regions.REGIONS))
    all_names = [n for _, n in spec.names.all_global(spec.regions)]
    assert len(all_names) == len(set(all_names))


def test_regions_accept_display_names_and_commas():
    spec = build_spec(base_name="demo", subscription_id=SUB, regions=["East US,westeurope", "Japan East"])
    assert spec.regions == ("eastus", "westeurope", "japaneast")


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"regions": []}, "no region"),
        ({"regions": ["eastus", "moon"]}, "unknown Azure region 'moon'"),
        ({"shared_region": "japaneast"}, "not one of the deployment's regions"),
        ({"apim_sku": "Gold"}, "API Management SKU"),
        ({"apim_sku": "Developer", "apim_capacity": 2}, "exactly 1 unit"),
        ({"function_plan": "premium"}, "Function plan"),
        ({"publisher_email": "nope"}, "publisher email"),
        ({"custom_domain": "api.contoso.com"}, "go together"),
        (
            {"custom_domain": "api.contoso.com", "certificate_secret_id": "https://x/y"},
            "certificate secret id",
        ),
        (
            {
                "custom_domain": "x.azure-api.net",
                "certificate_secret_id": "https://kv1.vault.azure.net/secrets/cert",
            },
            "domain you own",
        ),
        ({"redis_sku": "Enterprise"}, "Redis SKU"),
    ],
)
def test_spec_validation_names_the_problem(kwargs, needle):
    args = {"base_name": "demo", "subscription_id": SUB} | kwargs
    with pytest.raises(UsageError) as err:
        build_spec(**args)
    assert needle in err.value.message


def test_models_parse_and_validate():
    m = parse_model("chat=gpt-5.2:2025-12-11", capacity=50)
    assert (m.name, m.model, m.version, m.capacity) == ("chat", "gpt-5.2", "2025-12-11", 50)
    assert m.sku == "GlobalStandard"  # the default deployment type
    assert parse_model("gpt-5.2:2025-12-11").name == "gpt-5.2"
    # Without a version the model is resolved from the catalog later: the version stays empty.
    bare = parse_model("emb=text-embedding-3-small")
    assert (bare.name, bare.model, bare.version) == ("emb", "text-embedding-3-small", "")
    for bad in ("gpt-5.2:", ":2025-12-11", "chat="):
        with pytest.raises(UsageError, match="MODEL or MODEL:VERSION"):
            parse_model(bad)
    with pytest.raises(UsageError, match="given twice"):
        build_spec(
            base_name="demo", subscription_id=SUB, models=(parse_model("gpt-5.2:1"), parse_model("gpt-5.2:2"))
        )
    with pytest.raises(UsageError, match="capacity"):
        build_spec(base_name="demo", subscription_id=SUB, models=(parse_model("gpt-5.2:1", capacity=0),))


def test_spec_round_trips_to_state_without_secrets():
    from pros_cli.state import find_secrets

    spec = build_spec(
        base_name="demo",
        subscription_id=SUB,
        custom_domain="api.contoso.com",
        certificate_secret_id="https://kv1.vault.azure.net/secrets/cert",
    )
    data = spec.to_state()
    assert data["regions"] == ["eastus", "westus"]
    assert data["models"][0]["model"] == "gpt-5.2"
    assert find_secrets(data) == []
    assert list(itertools.islice(data, 1)) == ["base_name"]


def test_cache_kind_defaults_and_per_kind_skus():
    managed = build_spec(base_name="demo", subscription_id=SUB)
    assert (managed.cache_kind, managed.redis_sku, managed.redis_capacity) == ("managed", "Balanced_B0", None)
    bigger = build_spec(base_name="demo", subscription_id=SUB, redis_sku="MemoryOptimized_M10")
    assert bigger.redis_sku == "MemoryOptimized_M10"
    acr = build_spec(base_name="demo", subscription_id=SUB, cache_kind="azure-cache-for-redis")
    assert (acr.redis_sku, acr.redis_capacity) == ("Standard", 1)
    premium = build_spec(
        base_name="demo", subscription_id=SUB, cache_kind="azure-cache-for-redis", redis_sku="Premium",
        redis_capacity=5,
    )
    assert (premium.redis_sku, premium.redis_capacity) == ("Premium", 5)
    assert acr.to_state()["cache_kind"] == "azure-cache-for-redis"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"redis_sku": "Standard"}, "pass --cache-kind azure-cache-for-redis"),
        ({"redis_sku": "Enterprise_E10"}, "FlashOptimized_{A250"),  # Enterprise tiers retire in 2027
        ({"redis_capacity": 1}, "--redis-capacity applies to Azure Cache for Redis only"),
        ({"cache_kind": "Managed"}, "unknown cache kind"),
        ({"cache_kind": "azure-cache-for-redis", "redis_sku": "Balanced_B0"}, "drop --cache-kind"),
        ({"cache_kind": "azure-cache-for-redis", "redis_capacity": 7}, "0 to 6"),
        ({"cache_kind": "azure-cache-for-redis", "redis_sku": "Premium", "redis_capacity": 0}, "1 to 5"),
        ({"usage_readers": ["not-a-guid"]}, "invalid --usage-reader 'not-a-guid'"),
    ],
)
def test_cache_settings_are_validated_per_kind(kwargs, needle):
    with pytest.raises(UsageError) as err:
        build_spec(base_name="demo", subscription_id=SUB, **kwargs)
    assert needle in err.value.message + (err.value.hint or "")


def test_usage_readers_are_lowercased_and_listed_once():
    oid = "6497C918-11AD-41E7-BF0F-7C518A87D0B0"
    s = build_spec(base_name="demo", subscription_id=SUB, usage_readers=[oid, oid.lower()])
    assert s.usage_readers == (oid.lower(),)
    assert s.to_state()["usage_readers"] == [oid.lower()]
