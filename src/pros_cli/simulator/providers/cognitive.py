"""Microsoft.CognitiveServices: Azure OpenAI accounts, their model deployments and quota.

The rules that bite in real deployments, and that the simulator therefore enforces:

- a deleted account is soft-deleted for 48 hours: its name and its custom subdomain stay taken,
  and creating it again fails with 409 FlagMustBeSetForRestore unless ``properties.restore``;
- a custom subdomain is globally unique (409 CustomDomainInUse; ``checkDomainAvailability``);
- an account accepts one write at a time: a deployment PUT, PATCH or DELETE while the account or
  another of its deployments is busy fails with 409 RequestConflict;
- deployments draw on a tokens-per-minute quota per subscription, region, model and SKU
  (400 InsufficientQuota), settable from tests with :func:`set_quota`;
- an account with deployments cannot be deleted (409 CannotDeleteResource);
- ``listKeys`` fails with 400 BadRequest when ``disableLocalAuth`` is true.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from pros_cli import regions
from pros_cli.simulator.core import (
    ARM_HOST,
    DEFAULT_SUBSCRIPTION,
    ArmError,
    ArmPath,
    SimResponse,
    TypeSpec,
    new_secret,
    parse_arm_path,
    retry_headers,
    utcnow,
)

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, Simulator

ACCOUNT_TYPE = "Microsoft.CognitiveServices/accounts"
DEPLOYMENT_TYPE = "Microsoft.CognitiveServices/accounts/deployments"
# azure-mgmt-cognitiveservices 14.1.0 sends 2025-09-01; the others are the stable versions before it.
API_VERSIONS = ("2025-09-01", "2025-06-01", "2024-10-01", "2023-05-01")
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
# model name: (display name used in quota names, versions; the first is Azure's default version)
MODELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "gpt-4o": ("GPT-4o", ("2024-08-06", "2024-05-13", "2024-11-20")),
    "gpt-4o-mini": ("GPT-4o-Mini", ("2024-07-18",)),
    "gpt-4.1": ("GPT-4.1", ("2025-04-14",)),
    "gpt-4.1-mini": ("GPT-4.1-mini", ("2025-04-14",)),
    "gpt-4.1-nano": ("GPT-4.1-nano", ("2025-04-14",)),
    "gpt-35-turbo": ("GPT-35-Turbo", ("0125", "1106")),
    "o3-mini": ("o3-mini", ("2025-01-31",)),
    "o4-mini": ("o4-mini", ("2025-04-16",)),
    "text-embedding-ada-002": ("Text-Embedding-Ada-002", ("2", "1")),
    "text-embedding-3-small": ("Text-Embedding-3-Small", ("1",)),
    "text-embedding-3-large": ("Text-Embedding-3-Large", ("1",)),
}
# Thousands of tokens per minute per subscription, region, model and SKU unless a test sets it.
DEFAULT_QUOTA = 1000


# ---- quota -------------------------------------------------------------------------------------
def _quota_key(subscription: str, region: str, model: str, sku: str) -> str:
    return "|".join((subscription.lower(), _region(region), model.lower(), sku.lower()))


def set_quota(sim: Simulator, region: str, model: str, sku: str, limit: int, *,
              subscription: str = DEFAULT_SUBSCRIPTION) -> None:
    """Set the tokens-per-minute quota (thousands) for one model and SKU in one region."""
    with sim.transaction():
        sim.db.setdefault("cognitive_quota", {})[_quota_key(subscription, region, model, sku)] = int(limit)


def quota_limit(sim: Simulator, subscription: str, region: str, model: str, sku: str) -> int:
    key = _quota_key(subscription, region, model, sku)
    return int(sim.db.get("cognitive_quota", {}).get(key, DEFAULT_QUOTA))


def _quota_name(model: str, sku: str) -> str:
    display = MODELS.get(model, (model, ()))[0]
    name = f"Tokens Per Minute (thousands) - {display}"
    return name if sku == "Standard" else f"{name} - {sku}"


def _deployment_region(sim: Simulator, deployment_id: str) -> str:
    account = sim.get_resource(deployment_id.rsplit("/", 2)[0])
    return _region((account or {}).get("body", {}).get("location") or "")


def _usage(sim: Simulator, subscription: str, region: str, model: str, sku: str) -> dict[str, int]:
    """Capacity each deployment of this model and SKU holds in the region, by deployment id."""
    out: dict[str, int] = {}
    prefix = f"/subscriptions/{subscription}/".lower()
    for stored in sim.resources_of_type(DEPLOYMENT_TYPE):
        body = stored["body"]
        if not body["id"].lower().startswith(prefix):
            continue
        model_name = ((body.get("properties") or {}).get("model") or {}).get("name")
        sku_name = (body.get("sku") or {}).get("name")
        if model_name != model or sku_name != sku or _deployment_region(sim, body["id"]) != region:
            continue
        out[body["id"].lower()] = int((body.get("sku") or {}).get("capacity") or 0)
    return out


def _check_quota(sim: Simulator, parsed: ArmPath, model: str, sku: str, capacity: int) -> None:
    region = _deployment_region(sim, parsed.resource_id)
    usage = _usage(sim, parsed.subscription, region, model, sku)
    needed = capacity - usage.get(parsed.resource_id.lower(), 0)
    if needed <= 0:
        return
    used = sum(usage.values())
    limit = quota_limit(sim, parsed.subscription, region, model, sku)
    available = max(limit - used, 0)
    if needed > available:
        quota = _quota_name(model, sku)
        raise ArmError(
            400, "InsufficientQuota",
            f"This operation require {needed} new capacity in quota {quota}, which is bigger than the "
            f"current available capacity {available}. The current quota usage is {used} and the quota "
            f"limit is {limit} for quota {quota}.",
        )


# ---- accounts ----------------------------------------------------------------------------------
def _region(location: str) -> str:
    return regions.normalize(location) or location.replace(" ", "").lower()


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


def _unsupported_model(model: Body) -> ArmError:
    return ArmError(400, "DeploymentModelNotSupported",
                    f"The model 'Format: {model.get('format')}, Name: {model.get('name')}, Version: "
                    f"{model.get('version')}' of account deployment is not supported.")


def _validate_deployment(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    _check_account_free(sim, parsed.parent_id or "")
    model = (body.get("properties") or {}).get("model") or {}
    if model.get("format") != "OpenAI" or model.get("name") not in MODELS:
        raise _unsupported_model(model)
    versions = MODELS[model["name"]][1]
    if model.get("version") is not None and model["version"] not in versions:
        raise _unsupported_model(model)
    old_model = ((old or {}).get("properties") or {}).get("model") or {}
    if old_model and old_model.get("name") != model["name"]:
        raise ArmError(409, "PropertyChangeNotAllowed",
                       "Changing property 'properties.model.name' is not allowed.")
    sku = body.get("sku") or {}
    version = model.get("version") or versions[0]
    if sku.get("name") not in DEPLOYMENT_SKUS:
        raise ArmError(400, "InvalidResourceProperties", f"The specified SKU '{sku.get('name')}' of account "
                       f"deployment is not supported by the model '{model['name']}' version: '{version}'.")
    capacity = sku.get("capacity", 1)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ArmError(400, "InvalidResourceProperties", f"The specified capacity '{capacity}' of account "
                       "deployment is invalid: a whole number of at least 1.")
    option = (body.get("properties") or {}).get("versionUpgradeOption")
    if option is not None and option not in VERSION_UPGRADE_OPTIONS:
        raise ArmError(400, "InvalidResourceProperties",
                       f"The value '{option}' is not valid for versionUpgradeOption.")
    _check_quota(sim, parsed, model["name"], sku["name"], capacity)


def _build_deployment(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> Body:
    props = body["properties"]
    model = props["model"]
    model.setdefault("version", MODELS[model["name"]][1][0])
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
