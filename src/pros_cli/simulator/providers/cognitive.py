"""Microsoft.CognitiveServices: Azure OpenAI accounts, their model deployments and quota.

The rules that bite in real deployments, and that the simulator therefore enforces:

- a deleted account is soft-deleted for 48 hours: its name and its custom subdomain stay taken,
  and creating it again fails with 409 FlagMustBeSetForRestore unless ``properties.restore``;
- a custom subdomain is globally unique (409 CustomDomainInUse; ``checkDomainAvailability``);
- an account accepts one write at a time: a deployment PUT, PATCH or DELETE while the account or
  another of its deployments is busy fails with 409 RequestConflict;
- a deployment must name a model version the region's catalog offers with that SKU
  (:mod:`.cognitive_catalog`, Microsoft's retirement table on the simulated day): a retired one
  fails with ServiceModelDeprecated, a new deployment of one past its no-new-customers date with
  ServiceModelDeprecating, an unknown one with DeploymentModelNotSupported; the catalog and the
  quota usages are served at ``locations/{loc}/models`` and ``locations/{loc}/usages``;
- deployments draw on a tokens-per-minute quota per subscription, region, model and SKU
  (400 InsufficientQuota), settable from tests with :func:`set_quota` (:mod:`.cognitive_quota`);
- an account with deployments cannot be deleted (409 CannotDeleteResource);
- ``listKeys`` fails with 400 BadRequest when ``disableLocalAuth`` is true.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import (
    ARM_HOST,
    ArmError,
    ArmPath,
    SimResponse,
    TypeSpec,
    new_secret,
    parse_arm_path,
    retry_headers,
    utcnow,
)
from pros_cli.simulator.providers import cognitive_catalog as catalog
from pros_cli.simulator.providers.cognitive_quota import (  # noqa: F401  (set_quota, quota_limit: test API)
    DEFAULT_QUOTA,
    check_quota,
    deployment_region,
    location_usages,
    quota_limit,
    region_of,
    set_quota,
)

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

ACCOUNT_TYPE = "Microsoft.CognitiveServices/accounts"
DEPLOYMENT_TYPE = "Microsoft.CognitiveServices/accounts/deployments"
# azure-mgmt-cognitiveservices 14.1.0 sends 2025-09-01; the others are the stable versions before it.
# 2026-05-15-preview: what azure-cli 2.91's azure-mgmt-cognitiveservices 15.0.0b4 (generated from
# azure-rest-api-specs specification/cognitiveservices/resource-manager, preview/2026-05-15-preview)
# sends for `az cognitiveservices account ...`; the account and deployment fields pros sets have the
# same shape there as in 2025-09-01.
API_VERSIONS = ("2025-09-01", "2025-06-01", "2024-10-01", "2023-05-01", "2026-05-15-preview")
_NS = r"/subscriptions/([^/]+)/providers/Microsoft\.CognitiveServices"
Body = dict[str, Any]

ACCOUNT_SKUS: dict[str, tuple[str, ...]] = {
    "OpenAI": ("S0",),
    "AIServices": ("S0",),
    "CognitiveServices": ("S0",),
    "ComputerVision": ("F0", "S1"),
    "Face": ("F0", "S0"),
    "FormRecognizer": ("F0", "S0"),
    "TextAnalytics": ("F0", "S"),
    "SpeechServices": ("F0", "S0"),
    "ContentSafety": ("F0", "S0"),
}
# Kinds Azure lets an account move between in place (az cognitiveservices account update --kind).
KIND_UPGRADES = {("OpenAI", "AIServices"), ("AIServices", "OpenAI")}
PUBLIC_NETWORK_ACCESS = ("Enabled", "Disabled")
ACCOUNT_NAME_RE = r"[a-zA-Z0-9][a-zA-Z0-9_-]{1,63}"
SUBDOMAIN_RE = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,62}[a-zA-Z0-9])?"
SOFT_DELETE_SECONDS = 48 * 3600

DEPLOYMENT_SKUS = ("Standard", "GlobalStandard", "DataZoneStandard", "ProvisionedManaged",
                   "GlobalProvisionedManaged", "DataZoneProvisionedManaged", "GlobalBatch")
VERSION_UPGRADE_OPTIONS = ("OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade")
# ---- accounts ----------------------------------------------------------------------------------
def _region(location: str) -> str:
    return region_of(location)


def _deleted_accounts(sim: Simulator) -> dict[str, Body]:
    return sim.db["deleted"].get(ACCOUNT_TYPE.lower(), {})


def _subdomain_holder(sim: Simulator, subdomain: str, except_id: str) -> str | None:
    """Who holds a custom subdomain: a live account, a soft-deleted one, or someone outside."""
    wanted = subdomain.lower()
    for stored in sim.resources_of_type(ACCOUNT_TYPE):
        held = ((stored["body"].get("properties") or {}).get("customSubDomainName") or "").lower()
        if held == wanted and stored["body"]["id"].lower() != except_id.lower():
            return stored["body"]["id"]
    for entry in _deleted_accounts(sim).values():
        if ((entry["body"].get("properties") or {}).get("customSubDomainName") or "").lower() == wanted:
            return entry["body"]["id"]
    if wanted in sim.db["foreign_names"].get(ACCOUNT_TYPE.lower(), []):
        return "another subscription"
    return None


def _domain_in_use(subdomain: str) -> ArmError:
    return ArmError(
        409, "CustomDomainInUse",
        f"Please pick a different name. The subdomain name '{subdomain}' is not available as it's "
        "already used by a resource. If the resource using the name was deleted in the last 48 hours, "
        "you may need to purge the deleted resource.",
    )


def _validate_account(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    if not re.fullmatch(ACCOUNT_NAME_RE, parsed.name):
        raise ArmError(400, "InvalidAccountName", "The account name is invalid. Account name can only "
                       "include alphanumeric characters, underscores and hyphens; Account name only allows "
                       "2 to 64 characters.")
    kind = body.get("kind")
    if kind not in ACCOUNT_SKUS:
        raise ArmError(400, "InvalidApiSetId",
                       f"The account type '{kind}' is either invalid or unavailable in given region.")
    if old is not None and old.get("kind") != kind and (old.get("kind"), kind) not in KIND_UPGRADES:
        raise ArmError(409, "PropertyChangeNotAllowed", "Changing property 'kind' is not allowed.")
    sku = (body.get("sku") or {}).get("name")
    if sku not in ACCOUNT_SKUS[kind]:
        raise ArmError(400, "InvalidSkuId", f"The SKU '{sku}' is not supported for kind '{kind}'; "
                       f"supported SKUs: {', '.join(ACCOUNT_SKUS[kind])}.")
    props = body.get("properties") or {}
    access = props.get("publicNetworkAccess")
    if access is not None and access not in PUBLIC_NETWORK_ACCESS:
        raise ArmError(400, "InvalidRequestPropertyValue",
                       f"The value '{access}' is not valid for publicNetworkAccess.")
    subdomain = props.get("customSubDomainName")
    before = ((old or {}).get("properties") or {}).get("customSubDomainName")
    if before and subdomain and before.lower() != str(subdomain).lower():
        raise ArmError(409, "PropertyChangeNotAllowed",
                       "Changing property 'properties.customSubDomainName' is not allowed.")
    if subdomain and not before:
        if not re.fullmatch(SUBDOMAIN_RE, str(subdomain)):
            raise ArmError(400, "InvalidSubdomainName", f"Sub domain name '{subdomain}' is not valid.")
        if _subdomain_holder(sim, str(subdomain), parsed.resource_id):
            raise _domain_in_use(str(subdomain))


def _etag() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%%3A%M%%3A%S.%fZ")
    return f"W/\"datetime'{stamp}'\""


def _endpoint(kind: str, subdomain: str | None, region: str) -> str:
    if not subdomain:
        return f"https://{region}.api.cognitive.microsoft.com/"
    if kind == "OpenAI":
        return f"https://{subdomain}.openai.azure.com/"
    return f"https://{subdomain}.cognitiveservices.azure.com/"


def _build_account(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    props = body["properties"]
    old_props = (old or {}).get("properties") or {}
    props.pop("restore", None)  # a write-time instruction, not state
    if not props.get("customSubDomainName") and old_props.get("customSubDomainName"):
        props["customSubDomainName"] = old_props["customSubDomainName"]
    props.setdefault("publicNetworkAccess", "Enabled")
    props.setdefault("disableLocalAuth", False)
    props["endpoint"] = _endpoint(body["kind"], props.get("customSubDomainName"), _region(body["location"]))
    props["dateCreated"] = old_props.get("dateCreated") or utcnow()
    body["sku"] = {"name": body["sku"]["name"]}
    body["etag"] = _etag()
    return body


def _list_keys(sim: Simulator, parsed: ArmPath, req: SimRequest, stored: Body) -> SimResponse:
    if (stored["body"].get("properties") or {}).get("disableLocalAuth"):
        raise ArmError(400, "BadRequest", "Failed to list key. disableLocalAuth is set to be true")
    secrets = stored.setdefault("secrets", {"key1": new_secret(), "key2": new_secret()})
    return SimResponse(200, {"key1": secrets["key1"], "key2": secrets["key2"]})


# ---- deployments -------------------------------------------------------------------------------
def _busy(sim: Simulator, stored: Body | None) -> bool:
    op = sim.db["operations"].get((stored or {}).get("operation") or "")
    return bool(op and op["status"] == "InProgress")


def _check_account_free(sim: Simulator, account_id: str) -> None:
    """Azure OpenAI runs one write per account at a time; the others get RequestConflict."""
    account = sim.get_resource(account_id)
    if _busy(sim, account) or any(_busy(sim, child) for child in sim.children_of(account_id)):
        raise ArmError(409, "RequestConflict", f"Another operation is being performed on the parent resource "
                       f"'{account['body']['id'] if account else account_id}'. Please try again later.")


def _model_text(model: Body) -> str:
    return f"Format:{model.get('format')},Name:{model.get('name')},Version:{model.get('version')}"


def _unsupported_model(model: Body) -> ArmError:
    # microsoft/microsoft-foundry-for-vscode#497: "The model 'Format:Mistral AI,Name:Mistral-Large-3,
    # Version:1' of account deployment is not supported."
    return ArmError(400, "DeploymentModelNotSupported",
                    f"The model '{_model_text(model)}' of account deployment is not supported.")


def _check_lifecycle(sim: Simulator, parsed: ArmPath, model: Body, sku: str, old: Body | None) -> None:
    """Azure's answers to a deployment of a model the catalog no longer offers for it:
    ServiceModelDeprecated once retired ("... has been deprecated since 03/31/2026 00:00:00.",
    microsoft/microsoft-foundry-for-vscode#491, Azure-Samples/Azure-Functions-OpenAI-Demo#30),
    ServiceModelDeprecating for a new deployment of a model past its no-new-customers date ("... is in
    deprecating state and cannot be used for new deployments.", microsoft-foundry-for-vscode#557), and
    InvalidResourceProperties for a SKU the region does not offer the model in (microsoft-foundry-for-
    vscode#644, Azure-Samples/azure-search-openai-demo#1840). An existing deployment of a deprecating
    version keeps serving and may still be updated."""
    row = catalog.find(model["name"], model.get("version"))
    if row is None:
        raise _unsupported_model(model)
    life = catalog.lifecycle(row, catalog.catalog_today(sim))
    shown = {**model, "version": row.version}
    if life.retired:
        assert life.retire is not None
        raise ArmError(400, "ServiceModelDeprecated", f"The model '{_model_text(shown)}' has been deprecated "
                       f"since {life.retire.strftime('%m/%d/%Y')} 00:00:00.")
    old_model = ((old or {}).get("properties") or {}).get("model") or {}
    same_version = old_model.get("name") == row.model and old_model.get("version") == row.version
    if life.deprecating and not same_version:
        raise ArmError(400, "ServiceModelDeprecating", f"The model '{_model_text(shown)}' is in deprecating "
                       "state and cannot be used for new deployments.")
    region = deployment_region(sim, parsed.resource_id)
    if sku in DEPLOYMENT_SKUS and sku not in catalog.skus_in(row, region):
        raise ArmError(400, "InvalidResourceProperties", f"The specified SKU '{sku}' for model "
                       f"'{row.model} {row.version}' is not supported in this region '{region}'.")


def _validate_deployment(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    _check_account_free(sim, parsed.parent_id or "")
    model = (body.get("properties") or {}).get("model") or {}
    if model.get("format") != "OpenAI" or catalog.default_version(str(model.get("name"))) is None:
        raise _unsupported_model(model)
    if catalog.find(model["name"], model.get("version")) is None:
        raise _unsupported_model(model)
    old_model = ((old or {}).get("properties") or {}).get("model") or {}
    if old_model and old_model.get("name") != model["name"]:
        raise ArmError(409, "PropertyChangeNotAllowed",
                       "Changing property 'properties.model.name' is not allowed.")
    sku = body.get("sku") or {}
    version = model.get("version") or catalog.default_version(model["name"])
    if sku.get("name") not in DEPLOYMENT_SKUS:
        raise ArmError(400, "InvalidResourceProperties", f"The specified SKU '{sku.get('name')}' of account "
                       f"deployment is not supported by the model '{model['name']}' version: '{version}'.")
    capacity = sku.get("capacity", 1)
    if isinstance(capacity, str) and capacity.strip().isdigit():
        # azure-cli 2.91 (azure-mgmt-cognitiveservices 15.0.0b4) sends `--sku-capacity 30` as the JSON
        # string "30", and Microsoft's own quickstarts deploy models with exactly that command
        # (learn.microsoft.com, "Create and deploy an Azure OpenAI resource", Azure CLI tab): the RP
        # reads a numeric string as the number, and answers it as one.
        capacity = int(capacity)
        sku["capacity"] = capacity
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ArmError(400, "InvalidResourceProperties", f"The specified capacity '{capacity}' of account "
                       "deployment is invalid: a whole number of at least 1.")
    option = (body.get("properties") or {}).get("versionUpgradeOption")
    if option is not None and option not in VERSION_UPGRADE_OPTIONS:
        raise ArmError(400, "InvalidResourceProperties",
                       f"The value '{option}' is not valid for versionUpgradeOption.")
    _check_lifecycle(sim, parsed, model, sku["name"], old)
    check_quota(sim, parsed, model["name"], sku["name"], capacity)


def _build_deployment(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    props = body["properties"]
    model = props["model"]
    model.setdefault("version", catalog.default_version(model["name"]))
    props.setdefault("versionUpgradeOption", "OnceNewDefaultVersionAvailable")
    body["sku"] = {"name": body["sku"]["name"], "capacity": body["sku"].get("capacity", 1)}
    return body


# ---- routes ------------------------------------------------------------------------------------
def _deleted_id(sub: str, location: str, rg: str, name: str) -> str:
    return (f"/subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/{location}"
            f"/resourceGroups/{rg}/deletedAccounts/{name}")


def _find_deleted(sim: Simulator, sub: str, location: str, rg: str, name: str) -> Body | None:
    """Azure keys a deleted account by subscription, location, resource group and name."""
    entry = _deleted_accounts(sim).get(name.lower())
    if entry is None:
        return None
    parsed = parse_arm_path(entry["body"]["id"])
    if parsed is None or parsed.subscription.lower() != sub.lower():
        return None
    same_group = (parsed.resource_group or "").lower() == rg.lower()
    if not same_group or _region(entry["body"]["location"]) != _region(location):
        return None
    return entry


def _render_deleted(entry: Body) -> Body:
    body = dict(entry["body"])
    parsed = parse_arm_path(body["id"])
    assert parsed is not None
    deleted_at = dt.datetime.fromtimestamp(entry["deleted_at"], dt.UTC)
    purge_at = deleted_at + dt.timedelta(seconds=SOFT_DELETE_SECONDS)
    location = _region(body["location"])
    body["id"] = _deleted_id(parsed.subscription, location, parsed.resource_group or "", body["name"])
    body["properties"] = {
        **(body.get("properties") or {}),
        "provisioningState": "Succeeded",
        "deletionDate": deleted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scheduledPurgeDate": purge_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return body


def _not_found_deleted(name: str) -> ArmError:
    return ArmError(404, "ResourceNotFound", f"The deleted account '{name}' was not found.")


def _before_account_delete(s: Simulator, parsed: ArmPath, stored: Body) -> None:
    nested = [c["body"]["id"].split("/providers/", 1)[1] for c in s.children_of(parsed.resource_id)]
    if nested:
        raise ArmError(409, "CannotDeleteResource",
                       "Cannot delete resource while nested resources exist. Some existing nested "
                       f"resource IDs include: '{', '.join(nested)}'. Please delete all nested "
                       "resources before deleting this resource.")


def _before_deployment_delete(s: Simulator, parsed: ArmPath, stored: Body) -> None:
    _check_account_free(s, parsed.parent_id or "")


def _register_routes(sim: Simulator) -> None:
    @sim.route("POST", _NS + r"/checkDomainAvailability", api_versions=API_VERSIONS)
    def _check_domain(s: Simulator, req: SimRequest, sub: str) -> SimResponse:
        body = req.body if isinstance(req.body, dict) else {}
        name = str(body.get("subdomainName") or "")
        kind = body.get("type") or ""
        if not name or kind.lower() != ACCOUNT_TYPE.lower():
            raise ArmError(400, "InvalidRequestContent",
                           "subdomainName and type 'Microsoft.CognitiveServices/accounts' are required.")
        answer: Body = {"isSubdomainAvailable": True, "subdomainName": name, "type": kind}
        if not re.fullmatch(SUBDOMAIN_RE, name):
            answer.update(isSubdomainAvailable=False, reason=f"Sub domain name '{name}' is not valid")
        elif _subdomain_holder(s, name, except_id=""):
            answer.update(isSubdomainAvailable=False, reason=f"Sub domain name '{name}' is already used")
        if body.get("kind"):
            answer["kind"] = body["kind"]
        return SimResponse(200, answer)

    deleted = _NS + r"/locations/([^/]+)/resourceGroups/([^/]+)/deletedAccounts/([^/]+)"

    @sim.route("GET", deleted, api_versions=API_VERSIONS)
    def _get_deleted(s: Simulator, req: SimRequest, sub: str, loc: str, rg: str, name: str) -> SimResponse:
        entry = _find_deleted(s, sub, loc, rg, name)
        if entry is None:
            raise _not_found_deleted(name)
        return SimResponse(200, _render_deleted(entry))

    @sim.route("DELETE", deleted, api_versions=API_VERSIONS)
    def _purge(s: Simulator, req: SimRequest, sub: str, loc: str, rg: str, name: str) -> SimResponse:
        entry = _find_deleted(s, sub, loc, rg, name)
        if entry is None:
            raise _not_found_deleted(name)
        _deleted_accounts(s).pop(name.lower(), None)
        # Purging is asynchronous in Azure (202 + Azure-AsyncOperation): the SDK polls it.
        op = s.start_operation({"body": {"id": req.path, "location": _region(loc)}}, "purge",
                               s.types[ACCOUNT_TYPE.lower()])
        status = (f"https://{ARM_HOST}/subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/"
                  f"{_region(loc)}/operationStatuses/{op['id']}?api-version={req.api_version}")
        return SimResponse(202, None, {"Azure-AsyncOperation": status, **retry_headers(s.poll_interval)})

    @sim.route("GET", _NS + r"/locations/([^/]+)/models", api_versions=API_VERSIONS)
    def _models(s: Simulator, req: SimRequest, sub: str, loc: str) -> SimResponse:
        # ListLocationModels.json: the models this location offers, under each account kind.
        return SimResponse(200, {"value": catalog.location_models(_region(loc), catalog.catalog_today(s))})

    @sim.route("GET", _NS + r"/locations/([^/]+)/usages", api_versions=API_VERSIONS)
    def _usages(s: Simulator, req: SimRequest, sub: str, loc: str) -> SimResponse:
        if req.query.get("$filter") is not None:
            raise s.not_implemented(req)
        return SimResponse(200, {"value": location_usages(s, sub, _region(loc))})

    @sim.route("GET", _NS + r"/deletedAccounts", api_versions=API_VERSIONS)
    def _list_deleted(s: Simulator, req: SimRequest, sub: str) -> SimResponse:
        mine = f"/subscriptions/{sub}/".lower()
        entries = _deleted_accounts(s).values()
        items = [_render_deleted(e) for e in entries if e["body"]["id"].lower().startswith(mine)]
        return SimResponse(200, {"value": items})



def register(sim: Simulator) -> None:
    sim.register_type(
        TypeSpec(
            ACCOUNT_TYPE,
            API_VERSIONS,
            create_mode="async",
            create_status=201,
            update_mode="async",
            patch_mode="async",
            delete_mode="async",
            provisioning_creating="Creating",
            provisioning_updating="Accepted",
            required=("location", "kind", "sku.name"),
            immutable=("location",),
            soft_delete=True,
            soft_deleted_code="FlagMustBeSetForRestore",
            validate=_validate_account,
            build=_build_account,
            before_delete=_before_account_delete,
            actions={"listkeys": _list_keys},
        )
    )
    sim.register_type(
        TypeSpec(
            DEPLOYMENT_TYPE,
            API_VERSIONS,
            create_mode="async",
            create_status=201,
            update_mode="async",
            patch_mode="async",
            delete_mode="async",
            provisioning_creating="Accepted",
            provisioning_updating="Accepted",
            required=("properties.model.format", "properties.model.name", "sku.name"),
            immutable=(),
            parent_type=ACCOUNT_TYPE,
            tracked=False,
            name_rule=(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,63}",
                       "Deployment names are 2-64 letters, digits, '.', '_' or '-', starting with a letter "
                       "or digit."),
            validate=_validate_deployment,
            build=_build_deployment,
            before_delete=_before_deployment_delete,
        )
    )
    _register_routes(sim)
