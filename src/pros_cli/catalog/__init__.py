"""Which Azure OpenAI models can be deployed, where, until when, and within which quota.

pros never relies on a hard-coded model list: before any write it reads every region's model
catalog and quota (:mod:`.read`), resolves unversioned requests and the defaults from them, and
refuses, naming region and alternatives, what Azure would refuse (:mod:`.choose`). The data types
are in :mod:`.offers`. Importing this package imports no Azure SDK.
"""

from __future__ import annotations

from pros_cli.catalog.choose import (
    DEFAULT_CAPACITY,
    DEFAULT_EMBEDDING_MODEL,
    DEFAULT_REQUESTS,
    DEFAULT_SKU,
    Findings,
    ModelRequest,
    check_deployments,
    choose_model,
    choose_version,
    lifecycle_warnings,
    refuse,
    request_of,
    resolve_models,
)
from pros_cli.catalog.offers import (
    DeployedModel,
    ModelOffer,
    Quota,
    RegionCatalog,
    SkuOffer,
    parse_deployed,
    parse_offers,
    parse_quotas,
)
from pros_cli.catalog.read import (
    OFFLINE_CHAT_MODEL,
    Prepared,
    az_reads,
    deployed_model_warnings,
    pinned_from_state,
    placeholder_models,
    prepare_models,
    read_catalogs,
    requests_for,
    resolve_and_check,
    today_for,
    with_sku_and_capacity,
)

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_REQUESTS",
    "DEFAULT_SKU",
    "OFFLINE_CHAT_MODEL",
    "DeployedModel",
    "Findings",
    "ModelOffer",
    "ModelRequest",
    "Prepared",
    "Quota",
    "RegionCatalog",
    "SkuOffer",
    "az_reads",
    "check_deployments",
    "choose_model",
    "choose_version",
    "deployed_model_warnings",
    "lifecycle_warnings",
    "parse_deployed",
    "parse_offers",
    "parse_quotas",
    "pinned_from_state",
    "placeholder_models",
    "prepare_models",
    "read_catalogs",
    "refuse",
    "request_of",
    "requests_for",
    "resolve_and_check",
    "resolve_models",
    "today_for",
    "with_sku_and_capacity",
]
