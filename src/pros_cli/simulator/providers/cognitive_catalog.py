"""The Azure OpenAI model catalog the simulator serves, date-aware.

Built from Microsoft's published retirement table (MicrosoftDocs/azure-ai-docs,
``articles/ai-foundry/openai/includes/retirement/models.md``, commit 00b1f657, ms.date 2025-12-16:
the "Text generation" and "Embedding" tabs) and rendered in the shape of
``GET /subscriptions/{s}/providers/Microsoft.CognitiveServices/locations/{loc}/models``
(azure-rest-api-specs, specification/cognitiveservices/.../stable/2025-09-01/examples/
ListLocationModels.json; field meanings from the AccountModel, ModelSku and ModelDeprecationInfo
definitions in cognitiveservices.json 2025-09-01, and a real ``az cognitiveservices model list``
answer: capabilities are strings ("true"), every SKU names its quota as ``usageName``
``OpenAI.<SKU>.<model>``).

How a table row becomes a lifecycle on a given day ("today": the real UTC date, or
``PROS_SIMULATOR_TODAY`` / :func:`set_today` so tests can travel in time):

- past the retirement date: ``lifecycleStatus: Deprecated``; a deployment PUT fails with
  ``ServiceModelDeprecated`` ("... has been deprecated since <date>");
- past the "Deprecation (no new customers)" date: ``Deprecating``; a new deployment (or a version
  change) fails with ``ServiceModelDeprecating`` ("... is in deprecating state and cannot be used
  for new deployments"), an existing deployment keeps serving;
- otherwise the table's status (``GenerallyAvailable`` or ``Preview``).

A "No earlier than" date is tentative (``deprecationStatus: Tentative``). Microsoft gives at least
60 days' notice before retiring a GA model (30 for previews: concepts/model-retirements.md,
"Notifications"), so a tentative date that has passed without a firm one being published moves to
today + the notice period: a model is never retired on a date Microsoft did not announce.

Where each model is offered (deployment type by region) is a realistic subset of Microsoft's model
matrices (articles/foundry/openai/includes/model-matrix/region-americas.md and
standard-models.md): Global Standard in every region that has Azure OpenAI, Data Zone Standard in
the US and EU data-zone regions, regional Standard only where the matrix lists it; some regions
have no Azure OpenAI at all and serve an empty list.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pros_cli.simulator.core import Simulator

TODAY_ENV = "PROS_SIMULATOR_TODAY"
TODAY_KEY = "today"  # in sim.db["config"]
GA_NOTICE_DAYS = 60
PREVIEW_NOTICE_DAYS = 30
OPENAI = "OpenAI"
# A catalog entry exists once per account kind that can deploy the model (ListLocationModels.json
# lists OpenAI-format models under both kinds).
KINDS = ("OpenAI", "AIServices")
# Real catalog answers (az cognitiveservices model list) give these capacity bounds for the
# pay-as-you-go SKUs; the binding limit is the subscription's quota (usages).
SKU_CAPACITY = {"default": 10, "maximum": 1000000}

CHAT = {"chatCompletion": "true", "completion": "true", "responses": "true"}
RESPONSES = {"responses": "true"}
EMBEDDINGS = {"embeddings": "true", "embeddingsMaxInputs": "2048"}


@dataclass(frozen=True)
class Row:
    """One row of the retirement table. Dates "YYYY-MM-DD"; a leading "~" is "No earlier than"."""

    model: str
    version: str
    preview: bool
    no_new: str | None  # "Deprecation Date (No New Customers)"; None for n/a
    retire: str | None
    replacement: str | None
    capabilities: dict[str, str]


def _rows() -> tuple[Row, ...]:
    ga, pv = False, True
    text = [
        ("gpt-5-chat", "2025-08-07", pv, None, "2026-03-01", "gpt-5.2-chat", CHAT),
        ("gpt-5-chat", "2025-10-03", pv, None, "2026-03-01", "gpt-5.2-chat", CHAT),
        ("gpt-4o", "2024-05-13", ga, "2025-05-13", "2026-03-31", "gpt-5.1", CHAT),
        ("gpt-4o", "2024-08-06", ga, "2025-08-06", "2026-03-31", "gpt-5.1", CHAT),
        ("gpt-4o", "2024-11-20", ga, "2025-11-20", "2026-06-05", "gpt-5.1", CHAT),
        ("gpt-4o-mini", "2024-07-18", ga, "2025-07-18", "2026-03-31", "gpt-4.1-mini", CHAT),
        ("gpt-4.1", "2025-04-14", ga, "2026-04-14", "2026-10-14", "gpt-5", CHAT),
        ("gpt-4.1-mini", "2025-04-14", ga, "2026-04-14", "2026-10-14", "gpt-5-mini", CHAT),
        ("gpt-4.1-nano", "2025-04-14", ga, "2026-04-14", "2026-10-14", "gpt-5-nano", CHAT),
        ("computer-use-preview", "2025-03-11", pv, None, "~2026-04-14", None, RESPONSES),
        ("o1", "2024-12-17", ga, "2025-12-17", "2026-07-15", "o3", CHAT),
        ("o1-pro", "2025-03-19", ga, "2026-03-19", "2026-09-18", "o3-pro", RESPONSES),
        ("o3-mini", "2025-01-31", ga, "2026-01-31", "2026-08-02", "o4-mini", CHAT),
        ("o3", "2025-04-16", ga, "2026-04-16", "2026-10-16", None, CHAT),
        ("o3-pro", "2025-06-10", ga, "2026-06-10", "2026-12-10", None, RESPONSES),
        ("o3-deep-research", "2025-06-26", ga, "2026-06-26", "2026-12-26", None, RESPONSES),
        ("o4-mini", "2025-04-16", ga, "2026-04-16", "2026-10-16", None, CHAT),
        ("codex-mini", "2025-05-16", ga, "2026-05-16", "2026-11-15", None, RESPONSES),
        ("model-router", "2025-11-18", ga, "2026-11-18", "2027-05-20", None, CHAT),
        ("gpt-5-mini", "2025-08-07", ga, "2026-08-07", "2027-02-06", None, CHAT),
        ("gpt-5-nano", "2025-08-07", ga, "2026-08-07", "2027-02-06", None, CHAT),
        ("gpt-5-codex", "2025-09-15", ga, "2026-09-15", "2027-03-17", None, RESPONSES),
        ("gpt-5-pro", "2025-10-06", ga, "2026-10-06", "2027-04-07", None, RESPONSES),
        ("gpt-5.1", "2025-11-13", ga, "2026-11-13", "2027-05-15", None, CHAT),
        ("gpt-5.1-codex", "2025-11-13", ga, "2026-11-13", "2027-05-15", None, RESPONSES),
        ("gpt-5.1-codex-mini", "2025-11-13", ga, "2026-11-13", "2027-05-15", None, RESPONSES),
        ("gpt-5.1-chat", "2025-11-13", pv, None, "~2026-03-31", None, CHAT),
        ("gpt-5.2", "2025-12-11", ga, "~2026-12-12", "~2027-05-12", None, CHAT),
        ("gpt-5.2-chat", "2025-12-11", pv, None, "~2026-04-01", None, CHAT),
    ]
    embedding = [
        ("text-embedding-3-large", "1", ga, None, "~2026-10-30", None, EMBEDDINGS),
        ("text-embedding-3-small", "1", ga, None, "~2026-10-30", None, EMBEDDINGS),
        ("text-embedding-ada-002", "2", ga, None, "~2026-10-30", None, EMBEDDINGS),
        ("text-embedding-ada-002", "1", ga, None, "~2026-10-30", None, EMBEDDINGS),
    ]
    return tuple(Row(*r) for r in (*text, *embedding))


ROWS = _rows()
# The table's "Default model versions" section names gpt-4o's; every other model's default is its
# newest version.
DEFAULT_VERSIONS = {"gpt-4o": "2024-08-06"}

# ---- where each model is offered ------------------------------------------------------------------
_US = ("centralus", "eastus", "eastus2", "northcentralus", "southcentralus", "westus", "westus3")
_EU = (
    "francecentral",
    "germanywestcentral",
    "italynorth",
    "polandcentral",
    "spaincentral",
    "swedencentral",
    "westeurope",
)
_OTHER = (
    "australiaeast",
    "brazilsouth",
    "canadaeast",
    "japaneast",
    "koreacentral",
    "norwayeast",
    "southafricanorth",
    "southeastasia",
    "southindia",
    "switzerlandnorth",
    "uaenorth",
    "uksouth",
)
OPENAI_REGIONS = tuple(sorted((*_US, *_EU, *_OTHER)))
DATA_ZONE = (*_US, *_EU)
_STD_US7 = ("eastus", "eastus2", "northcentralus", "southcentralus", "swedencentral", "westus", "westus3")
_NOT_WUS3 = tuple(r for r in OPENAI_REGIONS if r != "westus3")

# key: "model" or "model:version" (the more specific wins); value: SKU -> regions.
AVAILABILITY: dict[str, dict[str, tuple[str, ...]]] = {
    "gpt-5-chat": {"GlobalStandard": _NOT_WUS3},
    "gpt-4o": {"GlobalStandard": OPENAI_REGIONS, "DataZoneStandard": DATA_ZONE, "Standard": _STD_US7},
    "gpt-4o:2024-11-20": {
        "GlobalStandard": OPENAI_REGIONS,
        "DataZoneStandard": DATA_ZONE,
        "Standard": (
            "australiaeast",
            "canadaeast",
            "centralus",
            "eastus",
            "eastus2",
            "francecentral",
            "japaneast",
            "northcentralus",
            "norwayeast",
            "southcentralus",
            "southindia",
            "swedencentral",
            "switzerlandnorth",
            "uksouth",
            "westus",
            "westus3",
        ),
    },
    "gpt-4o:2024-08-06": {
        "GlobalStandard": OPENAI_REGIONS,
        "DataZoneStandard": DATA_ZONE,
        "Standard": ("centralus", *_STD_US7),
    },
    "gpt-4o-mini": {"GlobalStandard": OPENAI_REGIONS, "DataZoneStandard": DATA_ZONE, "Standard": _STD_US7},
    "gpt-4.1": {
        "GlobalStandard": OPENAI_REGIONS,
        "DataZoneStandard": DATA_ZONE,
        "Standard": (*_STD_US7, "switzerlandnorth"),
    },
    "gpt-4.1-mini": {
        "GlobalStandard": OPENAI_REGIONS,
        "DataZoneStandard": DATA_ZONE,
        "Standard": (
            "australiaeast",
            "canadaeast",
            "eastus",
            "eastus2",
            "francecentral",
            "japaneast",
            "northcentralus",
            "southcentralus",
            "southindia",
            "swedencentral",
            "switzerlandnorth",
            "uksouth",
            "westeurope",
            "westus",
            "westus3",
        ),
    },
    "gpt-4.1-nano": {
        "GlobalStandard": OPENAI_REGIONS,
        "DataZoneStandard": DATA_ZONE,
        "Standard": ("northcentralus", "swedencentral"),
    },
    "computer-use-preview": {"GlobalStandard": ("eastus2", "southindia", "swedencentral")},
    "o1": {"GlobalStandard": OPENAI_REGIONS, "DataZoneStandard": DATA_ZONE, "Standard": _STD_US7},
    "o1-pro": {"GlobalStandard": ("eastus2", "swedencentral")},
    "o3-mini": {"GlobalStandard": OPENAI_REGIONS, "DataZoneStandard": DATA_ZONE},
    "o3": {"GlobalStandard": OPENAI_REGIONS, "DataZoneStandard": DATA_ZONE},
    "o3-pro": {"GlobalStandard": ("centralus", "eastus2", "swedencentral")},
    "o3-deep-research": {"GlobalStandard": ("norwayeast", "westus")},
    "o4-mini": {"GlobalStandard": OPENAI_REGIONS, "DataZoneStandard": DATA_ZONE, "Standard": _STD_US7},
    "codex-mini": {"GlobalStandard": ("centralus", "eastus2", "swedencentral")},
    "model-router": {"GlobalStandard": ("eastus2", "swedencentral"), "DataZoneStandard": ("eastus2",)},
    "gpt-5-mini": {"GlobalStandard": OPENAI_REGIONS, "DataZoneStandard": DATA_ZONE},
    "gpt-5-nano": {"GlobalStandard": OPENAI_REGIONS, "DataZoneStandard": DATA_ZONE},
    "gpt-5-codex": {"GlobalStandard": _NOT_WUS3},
    "gpt-5-pro": {"GlobalStandard": _NOT_WUS3},
    "gpt-5.1": {
        "GlobalStandard": OPENAI_REGIONS,
        "DataZoneStandard": DATA_ZONE,
        "Standard": ("centralus", *_STD_US7),
    },
    "gpt-5.1-codex": {"GlobalStandard": OPENAI_REGIONS},
    "gpt-5.1-codex-mini": {"GlobalStandard": OPENAI_REGIONS},
    "gpt-5.1-chat": {"GlobalStandard": OPENAI_REGIONS},
    "gpt-5.2": {"GlobalStandard": OPENAI_REGIONS, "DataZoneStandard": DATA_ZONE},
    "gpt-5.2-chat": {"GlobalStandard": OPENAI_REGIONS},
    "text-embedding-3-large": {
        "GlobalStandard": OPENAI_REGIONS,
        "DataZoneStandard": DATA_ZONE,
        "Standard": (
            "australiaeast",
            "canadaeast",
            "eastus",
            "eastus2",
            "francecentral",
            "germanywestcentral",
            "japaneast",
            "koreacentral",
            "norwayeast",
            "polandcentral",
            "southafricanorth",
            "southeastasia",
            "southindia",
            "spaincentral",
            "swedencentral",
            "switzerlandnorth",
            "uaenorth",
            "uksouth",
            "westus3",
        ),
    },
    "text-embedding-3-small": {
        "GlobalStandard": OPENAI_REGIONS,
        "DataZoneStandard": DATA_ZONE,
        "Standard": (
            "australiaeast",
            "canadaeast",
            "eastus",
            "eastus2",
            "japaneast",
            "switzerlandnorth",
            "uaenorth",
            "westus",
        ),
    },
    "text-embedding-ada-002": {
        "GlobalStandard": tuple(r for r in OPENAI_REGIONS if r != "centralus"),
        "DataZoneStandard": DATA_ZONE,
        "Standard": (
            "australiaeast",
            "brazilsouth",
            "canadaeast",
            "eastus",
            "eastus2",
            "francecentral",
            "japaneast",
            "northcentralus",
            "norwayeast",
            "southafricanorth",
            "southcentralus",
            "southindia",
            "swedencentral",
            "switzerlandnorth",
            "uaenorth",
            "uksouth",
            "westeurope",
            "westus",
            "westus3",
        ),
    },
    "text-embedding-ada-002:1": {"Standard": ("eastus", "southcentralus")},
}


# ---- today ------------------------------------------------------------------------------------------
def catalog_today(sim: Simulator | None = None) -> dt.date:
    """The simulated cloud's date: ``PROS_SIMULATOR_TODAY``, else :func:`set_today`, else UTC today."""
    text = os.environ.get(TODAY_ENV) or (sim.db["config"].get(TODAY_KEY) if sim is not None else None)
    if text:
        return dt.date.fromisoformat(str(text))
    return dt.datetime.now(dt.UTC).date()


def set_today(sim: Simulator, day: str | dt.date | None) -> None:
    """Let the simulated cloud live on another date (None: the real one again)."""
    with sim.transaction():
        if day is None:
            sim.db["config"].pop(TODAY_KEY, None)
        else:
            when = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
            sim.db["config"][TODAY_KEY] = when.isoformat()


# ---- lifecycle ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lifecycle:
    status: str  # GenerallyAvailable, Preview, Deprecating, Deprecated
    no_new: dt.date | None  # from this day on, no new deployments
    retire: dt.date | None
    retire_tentative: bool

    @property
    def retired(self) -> bool:
        return self.status == "Deprecated"

    @property
    def deprecating(self) -> bool:
        return self.status == "Deprecating"


def _effective(text: str | None, today: dt.date, notice_days: int) -> tuple[dt.date | None, bool]:
    if text is None:
        return None, False
    tentative = text.startswith("~")
    day = dt.date.fromisoformat(text.lstrip("~"))
    if tentative and day <= today:
        day = today + dt.timedelta(days=notice_days)
    return day, tentative


def lifecycle(row: Row, today: dt.date) -> Lifecycle:
    notice = PREVIEW_NOTICE_DAYS if row.preview else GA_NOTICE_DAYS
    retire, tentative = _effective(row.retire, today, notice)
    no_new, _ = _effective(row.no_new, today, notice)
    if retire is not None and today >= retire:
        status = "Deprecated"
    elif no_new is not None and today >= no_new:
        status = "Deprecating"
    else:
        status = "Preview" if row.preview else "GenerallyAvailable"
    return Lifecycle(status, no_new, retire, tentative)


def find(model: str, version: str | None) -> Row | None:
    """The table row of ``model`` at ``version`` (None: the model's default version)."""
    version = version or default_version(model)
    return next((r for r in ROWS if r.model == model and r.version == version), None)


def default_version(model: str) -> str | None:
    versions = [r.version for r in ROWS if r.model == model]
    if not versions:
        return None
    return DEFAULT_VERSIONS.get(model) or max(versions, key=_version_key)


def _version_key(version: str) -> tuple[int, str]:
    return (0, version.rjust(12, "0")) if version.isdigit() else (1, version)


def skus_in(row: Row, region: str) -> tuple[str, ...]:
    """The deployment types (SKUs) of this model version offered in ``region``."""
    table = AVAILABILITY.get(f"{row.model}:{row.version}") or AVAILABILITY.get(row.model) or {}
    return tuple(sku for sku, where in table.items() if region in where)


def usage_name(model: str, sku: str) -> str:
    return f"OpenAI.{sku}.{model}"


def display_name(model: str) -> str:
    """How quota names spell a model ("Tokens Per Minute (thousands) - GPT-5.2")."""
    if model.startswith("gpt-"):
        return "GPT-" + model[4:]
    if model.startswith("text-embedding-"):
        return "-".join(part.capitalize() for part in model.split("-"))
    return model


# ---- REST shapes ---------------------------------------------------------------------------------------
def _stamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _released(row: Row) -> dt.date | None:
    try:
        return dt.date.fromisoformat(row.version)
    except ValueError:
        return None


def _model_body(row: Row, region: str, today: dt.date) -> dict[str, Any] | None:
    skus = skus_in(row, region)
    if not skus:
        return None
    life = lifecycle(row, today)
    sku_deprecation = life.no_new or life.retire
    model: dict[str, Any] = {
        "format": OPENAI,
        "name": row.model,
        "version": row.version,
        "isDefaultVersion": default_version(row.model) == row.version,
        "skus": [
            {
                "name": sku,
                "usageName": usage_name(row.model, sku),
                "capacity": dict(SKU_CAPACITY),
                **({"deprecationDate": _stamp(sku_deprecation)} if sku_deprecation else {}),
            }
            for sku in skus
        ],
        "capabilities": dict(row.capabilities),
        "lifecycleStatus": life.status,
        "modelCatalogAssetId": f"azureml://registries/azure-openai/models/{row.model}/versions/{row.version}",
    }
    if life.retire is not None:
        model["deprecation"] = {
            "inference": _stamp(life.retire),
            "deprecationStatus": "Tentative" if life.retire_tentative else "Planned",
        }
    if row.replacement:
        target: dict[str, Any] = {"targetModelName": row.replacement}
        versions = [r.version for r in ROWS if r.model == row.replacement]
        if len(versions) == 1:
            target["targetModelVersion"] = versions[0]
        model["replacementConfig"] = target
    released = _released(row)
    if released is not None:
        stamp = _stamp(released)
        model["systemData"] = {
            "createdBy": "Microsoft",
            "createdByType": "Application",
            "createdAt": stamp,
            "lastModifiedBy": "Microsoft",
            "lastModifiedByType": "Application",
            "lastModifiedAt": stamp,
        }
    return model


def location_models(region: str, today: dt.date) -> list[dict[str, Any]]:
    """The ``value`` of a ListLocationModels answer for ``region`` on ``today``."""
    out: list[dict[str, Any]] = []
    for row in ROWS:
        model = _model_body(row, region, today)
        if model is None:
            continue
        for kind in KINDS:
            out.append({"kind": kind, "skuName": "S0", "model": model})
    return out


def usage_names(region: str) -> list[tuple[str, str]]:
    """(model, SKU) of every token quota that applies in ``region``."""
    seen: dict[tuple[str, str], None] = {}
    for row in ROWS:
        for sku in skus_in(row, region):
            seen.setdefault((row.model, sku), None)
    return list(seen)
