"""pros_cli.catalog: reading Azure's model catalog and quota, resolving and checking models (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from pros_cli.catalog import (
    DEFAULT_REQUESTS,
    DeployedModel,
    ModelOffer,
    ModelRequest,
    Quota,
    RegionCatalog,
    SkuOffer,
    check_deployments,
    lifecycle_warnings,
    parse_deployed,
    parse_offers,
    parse_quotas,
    pinned_from_state,
    resolve_models,
)
from pros_cli.catalog.offers import CHAT, EMBEDDINGS
from pros_cli.errors import ExitCode, UsageError
from pros_cli.simulator.providers import cognitive_catalog as sim_catalog
from pros_cli.spec import ModelDeployment

TODAY = dt.date(2026, 11, 30)
GS = "GlobalStandard"


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def sku(
    name: str = GS, model: str = "m", closed: str | None = None, max_capacity: int | None = None
) -> SkuOffer:
    return SkuOffer(name, f"OpenAI.{name}.{model}", max_capacity, 10, day(closed) if closed else None)


def offer(
    model: str,
    version: str,
    *,
    skus: tuple[str, ...] = (GS,),
    lifecycle: str = "GenerallyAvailable",
    caps: frozenset[str] = frozenset({CHAT}),
    retire: str | None = None,
    closed: str | None = None,
    replacement: str | None = None,
    max_capacity: int | None = None,
) -> ModelOffer:
    released = day(version) if len(version) == 10 else None
    return ModelOffer(
        model,
        version,
        lifecycle=lifecycle,
        capabilities=caps,
        skus=tuple(sku(s, model, closed, max_capacity) for s in skus),
        retirement=day(retire) if retire else None,
        replacement=replacement,
        released=released,
    )


def region(
    name: str,
    *offers: ModelOffer,
    quotas: dict[str, int] | None = None,
    used: dict[str, int] | None = None,
    deployed: tuple[DeployedModel, ...] = (),
) -> RegionCatalog:
    names = {s.usage_name for o in offers for s in o.skus if s.usage_name}
    limits = {n: (quotas or {}).get(n, 1000) for n in names}
    return RegionCatalog(
        name,
        offers,
        {n.lower(): Quota(n, limit, (used or {}).get(n, 0)) for n, limit in limits.items()},
        {d.name.lower(): d for d in deployed},
    )


EMB = frozenset({EMBEDDINGS})


def world(**extra: RegionCatalog) -> dict[str, RegionCatalog]:
    """Two regions as Azure shows them on 2026-11-30 (abridged)."""
    common = (
        offer(
            "gpt-4o",
            "2024-08-06",
            lifecycle="Deprecated",
            retire="2026-03-31",
            closed="2025-08-06",
            replacement="gpt-5.1 2025-11-13",
        ),
        offer("gpt-5.1", "2025-11-13", lifecycle="Deprecating", retire="2027-05-15", closed="2026-11-13"),
        offer(
            "gpt-5.2", "2025-12-11", skus=(GS, "DataZoneStandard"), retire="2027-05-12", closed="2026-12-12"
        ),
        offer("gpt-5.2-chat", "2025-12-11", lifecycle="Preview"),
        offer("text-embedding-3-small", "1", skus=(GS, "Standard"), caps=EMB, retire="2027-01-29"),
        offer("text-embedding-ada-002", "2", skus=(GS, "Standard"), caps=EMB),
        offer("text-embedding-ada-002", "1", skus=("Standard",), caps=EMB),
    )
    out = {"eastus": region("eastus", *common), "westus": region("westus", *common)}
    out.update(extra)
    return out


# ---- parsing ---------------------------------------------------------------------------------------------
def test_parses_the_rest_json_azure_serves():
    items = sim_catalog.location_models("eastus", TODAY)
    offers = parse_offers(items)
    by_key = {(o.model, o.version): o for o in offers}
    # Each model is listed under two account kinds; pros keeps the OpenAI kind once.
    assert len(offers) == len({(i["model"]["name"], i["model"]["version"]) for i in items})
    gpt4o = by_key[("gpt-4o", "2024-08-06")]
    assert gpt4o.retired(TODAY) and gpt4o.replacement == "gpt-5.1 2025-11-13" and gpt4o.is_default
    small = by_key[("text-embedding-3-small", "1")]
    assert EMBEDDINGS in small.capabilities and CHAT not in small.capabilities
    assert small.retirement_tentative and small.retirement == day("2027-01-29")
    assert small.sku("standard").usage_name == "OpenAI.Standard.text-embedding-3-small"  # any casing
    assert by_key[("gpt-5.2", "2025-12-11")].released == day("2025-12-11")
    assert not parse_offers(
        [
            {"kind": "AIServices", "model": {"format": "OpenAI", "name": "x", "version": "1"}},
            {"kind": "OpenAI", "model": {"format": "Meta", "name": "y", "version": "1"}},
        ]
    )


def test_parses_usages_and_deployments():
    quotas = parse_quotas(
        [
            {
                "name": {"value": "OpenAI.GlobalStandard.gpt-5.2", "localizedValue": "TPM"},
                "currentValue": 30.0,
                "limit": 100.0,
                "unit": "Count",
            },
            {"name": {"value": "broken"}},
        ]
    )
    assert quotas == {"openai.globalstandard.gpt-5.2": Quota("OpenAI.GlobalStandard.gpt-5.2", 100, 30, "TPM")}
    assert quotas["openai.globalstandard.gpt-5.2"].left == 70
    deployed = parse_deployed(
        [
            {
                "name": "Chat",
                "sku": {"name": GS, "capacity": 30},
                "properties": {"model": {"name": "gpt-5.2", "version": "2025-12-11"}},
            }
        ]
    )
    assert deployed == {"chat": DeployedModel("Chat", "gpt-5.2", "2025-12-11", GS, 30)}


# ---- resolving -------------------------------------------------------------------------------------------
def test_defaults_are_the_newest_ga_chat_model_and_text_embedding_3_small():
    models = resolve_models(DEFAULT_REQUESTS, world(), today=TODAY)
    assert models == (
        ModelDeployment("gpt-5.2", "gpt-5.2", "2025-12-11", GS, 30),  # not the preview, not the deprecating
        ModelDeployment("text-embedding-3-small", "text-embedding-3-small", "1", GS, 30),
    )


def test_a_version_must_be_open_in_every_region():
    # westus lacks ada-002 version 2, so the newest version open everywhere (with Standard) is 1.
    west = region("westus", offer("text-embedding-ada-002", "1", skus=("Standard",), caps=EMB))
    request = ModelRequest("text-embedding-ada-002", sku="Standard")
    assert resolve_models([request], world(), today=TODAY)[0].version == "2"
    assert resolve_models([request], world(westus=west), today=TODAY)[0].version == "1"
    east_only = resolve_models(
        [ModelRequest("text-embedding-ada-002")], {"eastus": world()["eastus"]}, today=TODAY
    )
    assert east_only[0].version == "2"
    with pytest.raises(UsageError) as err:
        resolve_models([ModelRequest("text-embedding-ada-002")], world(westus=west), today=TODAY)
    assert err.value.exit_code == ExitCode.USAGE
    message = err.value.message
    assert (
        "no generally available version of text-embedding-ada-002 is offered with SKU GlobalStandard"
        in message
    )
    assert (
        "westus: 1 (available, Standard)" in message
        and "eastus: 2 (available, GlobalStandard/Standard)" in message
    )
    assert "pros models -l eastus -l westus" in err.value.hint


def test_no_chat_model_everywhere_names_what_each_region_has():
    west = region("westus", offer("gpt-5.1", "2025-11-13", lifecycle="Deprecating", closed="2026-11-13"))
    with pytest.raises(UsageError) as err:
        resolve_models(DEFAULT_REQUESTS, world(westus=west), today=TODAY)
    assert "no generally available chat model" in err.value.message
    assert "eastus: gpt-5.2 2025-12-11" in err.value.message and "westus: none" in err.value.message


def test_a_recorded_version_is_kept_and_an_explicit_one_wins():
    pinned = {"emb": ModelDeployment("emb", "text-embedding-ada-002", "1", "Standard")}
    unversioned = ModelRequest("text-embedding-ada-002", name="emb", sku="Standard")
    assert resolve_models([unversioned], world(), pinned, today=TODAY)[0].version == "1"  # not upgraded to 2
    assert resolve_models([unversioned], world(), today=TODAY)[0].version == "2"
    explicit = ModelRequest("text-embedding-ada-002", "2", name="emb", sku="Standard")
    assert resolve_models([explicit], world(), pinned, today=TODAY)[0].version == "2"
    # A recorded deployment of another model under the same name does not pin this one.
    other = {"emb": ModelDeployment("emb", "text-embedding-3-small", "1")}
    assert resolve_models([unversioned], world(), other, today=TODAY)[0].version == "2"


def test_the_default_chat_model_of_an_earlier_run_is_kept():
    # An earlier run chose gpt-5.1 (then the newest); gpt-5.2 came later. No silent switch.
    pinned = {"gpt-5.1": ModelDeployment("gpt-5.1", "gpt-5.1", "2025-11-13")}
    models = resolve_models(DEFAULT_REQUESTS, world(), pinned, today=TODAY)
    assert models[0] == ModelDeployment("gpt-5.1", "gpt-5.1", "2025-11-13", GS, 30)
    # An embeddings deployment does not count as the chat model.
    emb_only = {
        "text-embedding-3-small": ModelDeployment("text-embedding-3-small", "text-embedding-3-small", "1")
    }
    assert resolve_models(DEFAULT_REQUESTS, world(), emb_only, today=TODAY)[0].model == "gpt-5.2"


def test_pinned_from_state_reads_the_recorded_models():
    data = {
        "spec": {
            "models": [
                {"name": "chat", "model": "gpt-5.2", "version": "2025-12-11", "sku": GS, "capacity": 30},
                {"name": "bad"},
                {"name": "unresolved", "model": "x", "version": ""},
            ]
        }
    }
    assert pinned_from_state(data) == {"chat": ModelDeployment("chat", "gpt-5.2", "2025-12-11", GS, 30)}
    assert pinned_from_state(None) == {}


# ---- checking --------------------------------------------------------------------------------------------
def md(name: str, model: str, version: str, sku_name: str = GS, capacity: int = 30) -> ModelDeployment:
    return ModelDeployment(name, model, version, sku_name, capacity)


def test_a_retired_version_is_refused_with_its_replacement_and_the_alternatives():
    findings = check_deployments([md("chat", "gpt-4o", "2024-08-06")], world(), today=TODAY)
    assert len(findings.errors) == 2 and not findings.warnings
    east = findings.errors[0]
    assert east.startswith(
        "eastus: chat (gpt-4o 2024-08-06, GlobalStandard): gpt-4o 2024-08-06 was retired on "
        "2026-03-31; Azure names gpt-5.1 2025-11-13 as its replacement"
    )
    assert "available in eastus instead" in east
    assert "gpt-5.2 2025-12-11 [available, no new deployments from 2026-12-12, retires 2027-05-12]" in east
    assert "GlobalStandard (quota left 1000)" in east
    assert "gpt-5.1 2025-11-13" not in east.split("instead")[1]  # deprecating: not an alternative
    assert findings.errors[1].startswith("westus: ")


def test_deprecated_for_new_deployments_is_refused_but_an_existing_deployment_is_only_warned_about():
    request = [md("chat", "gpt-5.1", "2025-11-13")]
    refused = check_deployments(request, world(), today=TODAY)
    assert "is deprecated for new deployments since 2026-11-13 and retires 2027-05-15" in refused.errors[0]
    kept = DeployedModel("chat", "gpt-5.1", "2025-11-13", GS, 30)
    catalogs = world(eastus=region("eastus", *world()["eastus"].offers, deployed=(kept,)))
    findings = check_deployments(request, catalogs, today=TODAY)
    assert [e.split(":")[0] for e in findings.errors] == ["westus"]  # a new deployment there
    assert findings.warnings == [
        "eastus: the existing deployment chat (gpt-5.1 2025-11-13) is deprecated for new deployments since "
        "2026-11-13; it keeps serving until it retires 2027-05-15"
    ]


def test_a_region_without_the_model_or_sku_is_named():
    west = region("westus", offer("gpt-5.2", "2025-12-11", skus=("DataZoneStandard",)))
    findings = check_deployments([md("chat", "gpt-5.2", "2025-12-11")], world(westus=west), today=TODAY)
    assert findings.errors == [
        "westus: chat (gpt-5.2 2025-12-11, GlobalStandard): gpt-5.2 2025-12-11 is not offered with SKU "
        "GlobalStandard in westus (offered: DataZoneStandard)\n      available in westus instead:\n"
        "        gpt-5.2 2025-12-11 [available]: DataZoneStandard (quota left 1000)"
    ]
    missing = check_deployments([md("chat", "o3", "2025-04-16")], world(), today=TODAY)
    assert missing.errors[0].startswith(
        "eastus: chat (o3 2025-04-16, GlobalStandard): o3 2025-04-16 is not offered in eastus"
    )


def test_capacity_above_the_sku_maximum_is_refused():
    east = region("eastus", offer("gpt-5.2", "2025-12-11", max_capacity=50))
    findings = check_deployments(
        [md("chat", "gpt-5.2", "2025-12-11", capacity=60)], {"eastus": east}, today=TODAY
    )
    assert findings.errors == [
        "eastus: chat asks for capacity 60, more than gpt-5.2 2025-12-11 allows with GlobalStandard (50)"
    ]


def test_quota_left_counts_every_deployment_of_the_run_and_what_they_already_hold():
    usage = "OpenAI.GlobalStandard.gpt-5.2"
    two = [md("a", "gpt-5.2", "2025-12-11", capacity=30), md("b", "gpt-5.2", "2025-12-11", capacity=30)]
    tight = region("eastus", world()["eastus"].offers[2], quotas={usage: 100}, used={usage: 50})
    findings = check_deployments(two, {"eastus": tight}, today=TODAY)
    assert findings.errors == [
        "eastus: a, b need 60 more capacity (thousands of tokens per minute) of quota "
        "OpenAI.GlobalStandard.gpt-5.2, but only 50 of 100 is left: lower --model-capacity, free capacity "
        "from other deployments, or request more quota for the region"
    ]
    # A re-run: "a" already holds its 30 (counted in the 80 used), so only "b" needs more, up to 20.
    held = DeployedModel("a", "gpt-5.2", "2025-12-11", GS, 30)
    rerun = region("eastus", tight.offers[0], quotas={usage: 100}, used={usage: 80}, deployed=(held,))
    grow_b = [two[0], md("b", "gpt-5.2", "2025-12-11", capacity=20)]
    assert check_deployments(grow_b, {"eastus": rerun}, today=TODAY).errors == []
    too_much = [md("a", "gpt-5.2", "2025-12-11", capacity=40), grow_b[1]]
    assert "need 30 more" in check_deployments(too_much, {"eastus": rerun}, today=TODAY).errors[0]


def test_pros_own_clock_retires_what_the_dates_retire():
    # Azure's status lags (still "GenerallyAvailable"), but the retirement date has passed.
    stale = region("eastus", offer("gpt-5.2", "2025-12-11", retire="2026-11-01"))
    findings = check_deployments([md("chat", "gpt-5.2", "2025-12-11")], {"eastus": stale}, today=TODAY)
    assert "was retired on 2026-11-01" in findings.errors[0]


# ---- warnings for status ---------------------------------------------------------------------------------
def test_lifecycle_warnings_within_60_days_name_the_replacement():
    catalogs = world(
        eastus=region(
            "eastus",
            *world()["eastus"].offers,
            offer(
                "o3-pro",
                "2025-06-10",
                lifecycle="Deprecating",
                retire="2026-12-10",
                closed="2026-06-10",
                replacement="o4-pro",
            ),
        )
    )
    deployed = [
        ("eastus", DeployedModel("old", "gpt-4o", "2024-08-06", GS, 30)),
        ("eastus", DeployedModel("pro", "o3-pro", "2025-06-10", GS, 30)),
        ("eastus", DeployedModel("chat", "gpt-5.2", "2025-12-11", GS, 30)),
        ("eastus", DeployedModel("emb", "text-embedding-3-small", "1", GS, 30)),
        ("westus", md("chat", "gpt-5.1", "2025-11-13")),
        ("westus", DeployedModel("gone", "gpt-35-turbo", "0125", GS, 30)),
        ("japaneast", DeployedModel("x", "gpt-5.2", "2025-12-11", GS, 30)),  # no catalog read: skipped
    ]
    warnings = lifecycle_warnings(deployed, catalogs, today=TODAY)
    assert warnings == [
        "eastus: model deployment old (gpt-4o 2024-08-06) was retired on 2026-03-31 and no longer serves; "
        "Azure names gpt-5.1 2025-11-13 as its replacement",
        "eastus: model deployment pro (o3-pro 2025-06-10) retires 2026-12-10 (in 10 days); Azure names "
        "o4-pro as its replacement",
        "eastus: model deployment chat (gpt-5.2 2025-12-11) takes no new deployments from 2026-12-12 and "
        "retires 2027-05-12",
        "eastus: model deployment emb (text-embedding-3-small 1) retires 2027-01-29 (in 60 days)",
        "westus: model deployment chat (gpt-5.1 2025-11-13) has taken no new deployments from 2026-11-13 and "
        "retires 2027-05-15",
        "westus: model deployment gone (gpt-35-turbo 0125) is no longer in the region's model catalog "
        "(retired?): choose a current version with --model gone=gpt-35-turbo:VERSION (or another model)",
    ]
    # Nothing within the horizon: no warning.
    assert lifecycle_warnings(deployed[2:3], catalogs, today=TODAY, within_days=5) == []
