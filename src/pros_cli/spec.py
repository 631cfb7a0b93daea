"""The desired deployment: base name, regions, SKUs, models and every derived name.

Pure data. :func:`build_spec` validates everything up front and raises
:class:`~pros_cli.errors.UsageError` naming the rule that was broken, before any Azure call.

Names are deterministic. Names that must be globally unique (storage accounts, APIM, Function
Apps, OpenAI custom subdomains, Redis, Traffic Manager DNS, Event Grid topics) carry a short
suffix derived from the subscription id and the base name, so a re-run computes the same names
and two subscriptions using the same base name do not collide.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from pros_cli import regions as region_table
from pros_cli.cache_kinds import AZURE_CACHE_SKUS, MANAGED, resolve_cache, validate_object_ids
from pros_cli.errors import UsageError
from pros_cli.geo import mapping as geo_rules

BASE_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
BASE_NAME_MIN, BASE_NAME_MAX = 3, 12
SUFFIX_LEN = 6
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
OFFLINE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"

TOOL_TAG = "managed-by"
TOOL_TAG_VALUE = "pros"
DEPLOYMENT_TAG = "pros-deployment"

STORAGE_SKUS = ("Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS")


def validate_base_name(base_name: str) -> str:
    """Return the base name or raise a UsageError that names the broken rule."""
    rule = (
        f"a base name is {BASE_NAME_MIN}-{BASE_NAME_MAX} characters of lowercase letters, digits and "
        "single hyphens, starting with a letter and not ending with a hyphen"
    )
    if base_name is None or base_name == "":
        raise UsageError("no base name given", hint="pass --base-name NAME (or set PROS_BASE_NAME)")
    why = None
    if len(base_name) < BASE_NAME_MIN or len(base_name) > BASE_NAME_MAX:
        why = (
            f"it is {len(base_name)} characters long; storage account names derived from it are "
            "limited to 24 characters"
        )
    elif base_name != base_name.lower():
        why = "it has uppercase letters; storage account names allow only lowercase letters and digits"
    elif not base_name[0].isalpha():
        why = "it does not start with a letter (API Management service names must)"
    elif base_name.endswith("-"):
        why = "it ends with a hyphen (Azure names and DNS labels may not)"
    elif "--" in base_name:
        why = "it has consecutive hyphens (Redis and Function App names may not)"
    elif not BASE_NAME_RE.match(base_name):
        bad = sorted({c for c in base_name if not (c.isascii() and (c.isalnum() or c == "-"))})
        why = f"it contains {', '.join(repr(c) for c in bad)}"
    if why:
        raise UsageError(f"invalid base name {base_name!r}: {why}", hint=rule)
    return base_name


def validate_regions(raw: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if not raw:
        raise UsageError("no region given", hint="pass --region at least once, e.g. --region eastus")
    out: list[str] = []
    for item in raw:
        for part in str(item).split(","):
            if not part.strip():
                continue
            name = region_table.normalize(part)
            if name is None:
                close = [r for r in region_table.REGIONS if r.startswith(part.strip().lower()[:4])]
                hint = (
                    f"did you mean {', '.join(close[:4])}?"
                    if close
                    else "use an Azure region name such as eastus, westus, westeurope"
                )
                raise UsageError(f"unknown Azure region {part.strip()!r}", hint=hint)
            if name in out:
                raise UsageError(f"region {name!r} is given twice", hint="list each region once")
            out.append(name)
    if not out:
        raise UsageError("no region given", hint="pass --region at least once, e.g. --region eastus")
    return tuple(out)


def validate_subscription_id(sub: str) -> str:
    if not UUID_RE.match(sub or ""):
        raise UsageError(
            f"invalid subscription id {sub!r}: expected a GUID like 00000000-0000-0000-0000-000000000000",
            hint="pass --subscription with the subscription's id (az account show --query id -o tsv)",
        )
    return sub.lower()


def name_suffix(subscription_id: str, base_name: str) -> str:
    """Six stable characters [a-z0-9] from subscription id + base name."""
    digest = hashlib.sha256(f"pros|{subscription_id.lower()}|{base_name}".encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    chars = []
    for _ in range(SUFFIX_LEN):
        number, rem = divmod(number, 36)
        chars.append(alphabet[rem])
    return "".join(chars)


APIM_SKUS = ("Developer", "Basic", "Standard", "Premium", "BasicV2", "StandardV2", "Consumption")
FUNCTION_PLANS = ("flex", "consumption")
REDIS_SKUS = AZURE_CACHE_SKUS  # Azure Cache for Redis; Managed Redis SKUs: pros_cli.cache_kinds
MODEL_SKUS = ("Standard", "GlobalStandard", "DataZoneStandard", "ProvisionedManaged")
PYTHON_VERSIONS = ("3.11", "3.12")
HOST_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
KV_SECRET_RE = re.compile(
    r"^https://(?P<vault>[a-zA-Z0-9-]{3,24})\.vault\.azure\.net/secrets/(?P<name>[a-zA-Z0-9-]{1,127})"
    r"(?:/(?P<version>[0-9a-fA-F]{32}))?/?$"
)
# Workspace-level retention of a PerGB2018 Log Analytics workspace (Workspaces.json
# "retentionInDays": allowed values per pricing plan; az monitor log-analytics workspace
# --retention-time; 30-730 days for PerGB2018, interactive retention up to two years).
LOG_RETENTION_MIN, LOG_RETENTION_MAX = 30, 730
DEPLOYMENT_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,63}$")

# Gateway settings (pros backends / pros policies): the circuit breaker of every regional backend,
# token limits per billing code, the API definition. Ranges: (min, max, unit).
GATEWAY_LIMITS: dict[str, tuple[int, int, str]] = {
    "breaker_failures": (1, 10000, "failures"),
    "breaker_interval_seconds": (1, 86400, "seconds"),
    "breaker_trip_seconds": (1, 86400, "seconds"),
    "tokens_per_minute": (1, 100_000_000, "tokens per minute"),
    "monthly_token_quota": (1, 1_000_000_000_000, "tokens"),
}
GATEWAY_OPTIONS = {
    "breaker_failures": "--breaker-failures",
    "breaker_interval_seconds": "--breaker-interval",
    "breaker_trip_seconds": "--breaker-trip",
    "tokens_per_minute": "--tokens-per-minute",
    "monthly_token_quota": "--monthly-token-quota",
}


@dataclass(frozen=True)
class ModelDeployment:
    """One model deployment on every regional OpenAI account. An empty ``version`` means "not
    resolved yet" (pros_cli.catalog resolves it from Azure's model catalog; offline plans keep it)."""

    name: str  # the deployment name clients use
    model: str
    version: str
    # Global Standard: the deployment type Azure offers the current models with in every region that
    # has Azure OpenAI; regional Standard offers few of them (Microsoft's model matrices).
    sku: str = "GlobalStandard"
    capacity: int = 30

    def to_state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "version": self.version,
            "sku": self.sku,
            "capacity": self.capacity,
        }


# build_spec's fallback for callers that resolve no models themselves (tests, library use). `pros
# provision` never uses it: it resolves its defaults (a current chat model and text-embedding-3-small)
# from every region's model catalog with pros_cli.catalog.
DEFAULT_MODELS = (
    ModelDeployment("gpt-5.2", "gpt-5.2", "2025-12-11"),
    ModelDeployment("text-embedding-3-small", "text-embedding-3-small", "1"),
)


def parse_model(text: str, *, sku: str = "GlobalStandard", capacity: int = 30) -> ModelDeployment:
    """``MODEL[:VERSION]`` or ``DEPLOYMENT=MODEL[:VERSION]``; without a version, ``version`` is empty
    (resolved later from the model catalog)."""
    name, _, rest = text.partition("=") if "=" in text else ("", "", text)
    model, colon, version = rest.partition(":")
    model, version, name = model.strip(), version.strip(), (name.strip() or model.strip())
    if not model or (colon and not version):
        raise UsageError(
            f"invalid --model {text!r}: expected MODEL or MODEL:VERSION, e.g. gpt-5.2 or gpt-5.2:2025-12-11",
            hint="optionally name the deployment: chat=gpt-5.2 (`pros models` lists what can be deployed)",
        )
    return ModelDeployment(name=name, model=model, version=version, sku=sku, capacity=capacity)


def validate_models(models: tuple[ModelDeployment, ...]) -> tuple[ModelDeployment, ...]:
    if not models:
        raise UsageError("no model deployments given", hint="pass --model MODEL[:VERSION] at least once")
    seen: set[str] = set()
    for m in models:
        if not DEPLOYMENT_NAME_RE.match(m.name):
            raise UsageError(
                f"invalid model deployment name {m.name!r}: 2-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        if m.name.lower() in seen:
            raise UsageError(f"model deployment {m.name!r} is given twice", hint="list each deployment once")
        seen.add(m.name.lower())
        if m.sku not in MODEL_SKUS:
            raise UsageError(
                f"unknown model SKU {m.sku!r} for {m.name}", hint=f"choose one of {', '.join(MODEL_SKUS)}"
            )
        if not isinstance(m.capacity, int) or isinstance(m.capacity, bool) or not 1 <= m.capacity <= 10000:
            raise UsageError(
                f"invalid capacity {m.capacity!r} for model deployment {m.name}: a whole number from 1 to "
                "10000 (thousands of tokens per minute for Standard)"
            )
    return models


@dataclass(frozen=True)
class Names:
    """Every Azure name of one deployment, derived from base name, subscription and regions."""

    base: str
    suffix: str

    @property
    def compact(self) -> str:
        return self.base.replace("-", "")

    def resource_group(self) -> str:
        return f"rg-{self.base}"

    def storage_account(self, region: str) -> str:
        return f"st{self.compact}{region_table.short_code(region)}{self.suffix}"

    def token_storage_account(self) -> str:
        return f"st{self.compact}tok{self.suffix}"

    def apim(self, region: str) -> str:
        return f"apim-{self.base}-{region_table.short_code(region)}-{self.suffix}"

    def openai(self, region: str) -> str:
        return f"oai-{self.base}-{region_table.short_code(region)}-{self.suffix}"

    def plan(self, region: str) -> str:
        return f"plan-{self.base}-{region_table.short_code(region)}"

    def token_plan(self) -> str:
        return f"plan-{self.base}-tok"

    def function_app(self, region: str) -> str:
        return f"func-{self.base}-{region_table.short_code(region)}-{self.suffix}"

    def token_function_app(self) -> str:
        return f"func-{self.base}-tok-{self.suffix}"

    def eventgrid_topic(self) -> str:
        return f"evgt-{self.base}-{self.suffix}"

    def redis(self) -> str:
        return f"redis-{self.base}-{self.suffix}"

    def traffic_manager(self) -> str:
        return f"tm-{self.base}"

    def traffic_manager_dns(self) -> str:
        return f"tm-{self.base}-{self.suffix}"

    def log_workspace(self) -> str:
        """Log Analytics workspace names are unique per resource group (4-63 characters)."""
        return f"log-{self.base}"

    def app_insights(self) -> str:
        return f"appi-{self.base}"

    def all_global(self, regions: tuple[str, ...]) -> list[tuple[str, str]]:
        """(kind, name) of every globally unique name, for validation."""
        out = [
            ("storage account", self.token_storage_account()),
            ("Function App", self.token_function_app()),
            ("Event Grid topic", self.eventgrid_topic()),
            ("Redis cache", self.redis()),
            ("Traffic Manager DNS name", self.traffic_manager_dns()),
        ]
        for region in regions:
            out += [
                ("storage account", self.storage_account(region)),
                ("API Management service", self.apim(region)),
                ("OpenAI custom subdomain", self.openai(region)),
                ("Function App", self.function_app(region)),
            ]
        return out


# Azure's own rules for each kind of name: (regex, min, max). Checked for every derived name so a
# base name that passes validate_base_name can never produce an illegal Azure name.
NAME_RULES: dict[str, tuple[re.Pattern[str], int, int]] = {
    "storage account": (re.compile(r"^[a-z0-9]+$"), 3, 24),
    "API Management service": (re.compile(r"^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$"), 1, 50),
    "OpenAI custom subdomain": (re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$"), 2, 64),
    "Function App": (re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$"), 2, 32),
    "Event Grid topic": (re.compile(r"^[a-zA-Z0-9-]+$"), 3, 50),
    "Redis cache": (re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9]|-(?!-))*[a-zA-Z0-9]$"), 1, 63),
    "Traffic Manager DNS name": (re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$"), 1, 63),
}


def check_derived_names(names: Names, regions: tuple[str, ...]) -> None:
    for kind, name in names.all_global(regions):
        pattern, low, high = NAME_RULES[kind]
        if not (low <= len(name) <= high and pattern.match(name)):
            raise UsageError(
                f"derived {kind} name {name!r} would be illegal in Azure", hint="use a shorter base name"
            )


@dataclass(frozen=True)
class Spec:
    """The desired deployment. Build it with :func:`build_spec`."""

    base_name: str
    subscription_id: str
    regions: tuple[str, ...]
    names: Names
    resource_group: str
    shared_region: str
    storage_sku: str = "Standard_LRS"
    openai_sku: str = "S0"
    models: tuple[ModelDeployment, ...] = DEFAULT_MODELS
    apim_sku: str = "Developer"
    apim_capacity: int = 1
    publisher_email: str = "apim-admin@example.com"
    publisher_name: str = "pros"
    function_plan: str = "flex"
    python_version: str = "3.11"
    redis_sku: str = "Balanced_B0"
    redis_capacity: int | None = None  # Azure Cache for Redis only (C0-C6, P1-P5)
    custom_domain: str | None = None
    certificate_secret_id: str | None = None
    restore_soft_deleted: bool = False
    cache_kind: str = MANAGED  # or "azure-cache-for-redis" (pros_cli.cache_kinds)
    usage_readers: tuple[str, ...] = ()  # Entra object ids granted read access for `pros usage`
    # Gateway (pros backends / pros policies)
    circuit_breaker: bool = True
    breaker_failures: int = 1
    breaker_interval_seconds: int = 60
    breaker_trip_seconds: int = 60
    tokens_per_minute: int | None = None
    monthly_token_quota: int | None = None
    require_billing_code: bool = False
    streaming_function: bool = True
    spec_file: str | None = None  # the OpenAPI document to import; None: the one pros ships
    log_retention_days: int = 90
    reconcile_tolerance: str = "0"
    # Routing (pros_cli.geo): Traffic Manager's method, the geography codes of each region, and
    # whether a gateway's pools may fail over beyond its geography.
    routing_method: str = "performance"
    geo: geo_rules.Mapping = ()
    failover_scope: str = "global"

    @property
    def primary_region(self) -> str:
        return self.regions[0]

    @property
    def geographies(self) -> tuple[geo_rules.Geography, ...]:
        """The geographies of geographic routing (none for the other methods)."""
        if self.routing_method != "geographic":
            return ()
        return geo_rules.geographies(self.regions, self.geo)

    def geography_of(self, region: str) -> geo_rules.Geography | None:
        return next((g for g in self.geographies if region in g.regions), None)

    def failover_regions(self, gateway: str) -> tuple[str, ...]:
        """The regions a gateway's pools hold: all of them, or (failover scope ``geography``) those
        of its own geography."""
        own = self.geography_of(gateway) if self.failover_scope == "geography" else None
        return own.regions if own is not None else self.regions

    def tags(self) -> dict[str, str]:
        return {TOOL_TAG: TOOL_TAG_VALUE, DEPLOYMENT_TAG: self.base_name}

    def to_state(self) -> dict[str, Any]:
        """The non-secret part of the spec that later commands (status, teardown) work from."""
        return {
            "base_name": self.base_name,
            "regions": list(self.regions),
            "shared_region": self.shared_region,
            "resource_group": self.resource_group,
            "name_suffix": self.names.suffix,
            "storage_sku": self.storage_sku,
            "openai_sku": self.openai_sku,
            "models": [m.to_state() for m in self.models],
            "apim_sku": self.apim_sku,
            "apim_capacity": self.apim_capacity,
            "publisher_email": self.publisher_email,
            "publisher_name": self.publisher_name,
            "function_plan": self.function_plan,
            "python_version": self.python_version,
            "redis_sku": self.redis_sku,
            "redis_capacity": self.redis_capacity,
            "custom_domain": self.custom_domain,
            "certificate_secret_id": self.certificate_secret_id,
            "cache_kind": self.cache_kind,
            "usage_readers": list(self.usage_readers),
            "circuit_breaker": self.circuit_breaker,
            "breaker_failures": self.breaker_failures,
            "breaker_interval_seconds": self.breaker_interval_seconds,
            "breaker_trip_seconds": self.breaker_trip_seconds,
            "tokens_per_minute": self.tokens_per_minute,
            "monthly_token_quota": self.monthly_token_quota,
            "require_billing_code": self.require_billing_code,
            "streaming_function": self.streaming_function,
            "spec_file": self.spec_file,
            "log_retention_days": self.log_retention_days,
            "reconcile_tolerance": self.reconcile_tolerance,
            "routing_method": self.routing_method,
            "geo": list(geo_rules.to_tokens(self.geo)),
            "failover_scope": self.failover_scope,
        }


def build_spec(
    *,
    base_name: str,
    subscription_id: str,
    regions: list[str] | tuple[str, ...] = ("eastus", "westus"),
    shared_region: str | None = None,
    storage_sku: str = "Standard_LRS",
    models: tuple[ModelDeployment, ...] = DEFAULT_MODELS,
    apim_sku: str = "Developer",
    apim_capacity: int | None = None,
    publisher_email: str = "apim-admin@example.com",
    publisher_name: str = "pros",
    function_plan: str = "flex",
    python_version: str = "3.11",
    redis_sku: str | None = None,
    redis_capacity: int | None = None,
    custom_domain: str | None = None,
    certificate_secret_id: str | None = None,
    restore_soft_deleted: bool = False,
    cache_kind: str = MANAGED,
    usage_readers: list[str] | tuple[str, ...] = (),
    circuit_breaker: bool = True,
    breaker_failures: int = 1,
    breaker_interval_seconds: int = 60,
    breaker_trip_seconds: int = 60,
    tokens_per_minute: int | None = None,
    monthly_token_quota: int | None = None,
    require_billing_code: bool = False,
    streaming_function: bool = True,
    spec_file: str | None = None,
    log_retention_days: int = 90,
    reconcile_tolerance: str = "0",
    routing_method: str = "performance",
    geo: list[str] | tuple[str, ...] = (),
    failover_scope: str = "global",
) -> Spec:
    """Validate every input (naming the rule broken) and derive every name."""
    base_name = validate_base_name(base_name)
    regions_t = validate_regions(list(regions))
    subscription_id = validate_subscription_id(subscription_id)
    if shared_region is None:
        shared = regions_t[0]
    else:
        shared = validate_regions([shared_region])[0]
        if shared not in regions_t:
            raise UsageError(
                f"shared region {shared!r} is not one of the deployment's regions ({', '.join(regions_t)})",
                hint="pick one of them with --shared-region, or add it with --region",
            )
    _choice("storage SKU", storage_sku, STORAGE_SKUS)
    _choice("API Management SKU", apim_sku, APIM_SKUS)
    _choice("Function plan", function_plan, FUNCTION_PLANS)
    _choice("Python version", python_version, PYTHON_VERSIONS)
    cache_kind, redis_sku, redis_capacity = resolve_cache(cache_kind, redis_sku, redis_capacity)
    readers = validate_object_ids(list(usage_readers))
    if apim_capacity is None:
        apim_capacity = 0 if apim_sku == "Consumption" else 1
    if apim_sku == "Consumption":
        if apim_capacity != 0:
            raise UsageError(
                "the Consumption tier of API Management has no units (capacity 0)",
                hint="drop --apim-capacity",
            )
    elif not 1 <= apim_capacity <= 12:
        raise UsageError(f"invalid API Management capacity {apim_capacity}: 1 to 12 units")
    if apim_sku == "Developer" and apim_capacity != 1:
        raise UsageError(
            "the Developer SKU of API Management has exactly 1 unit", hint="drop --apim-capacity"
        )
    if not EMAIL_RE.match(publisher_email or ""):
        raise UsageError(
            f"invalid publisher email {publisher_email!r}", hint="pass --publisher-email you@example.com"
        )
    if not publisher_name or len(publisher_name) > 100:
        raise UsageError("publisher name must be 1-100 characters", hint="pass --publisher-name")
    models = validate_models(tuple(models))
    if (custom_domain is None) != (certificate_secret_id is None):
        raise UsageError(
            "--custom-domain and --certificate-secret-id go together",
            hint="pass both (the host name and the Key Vault secret id of its certificate), or neither",
        )
    if custom_domain is not None:
        custom_domain = custom_domain.strip().lower().rstrip(".")
        if not HOST_RE.match(custom_domain):
            raise UsageError(
                f"invalid custom domain {custom_domain!r}: expected a DNS host name like api.contoso.com"
            )
        if custom_domain.endswith((".azure-api.net", ".trafficmanager.net")):
            raise UsageError(
                f"custom domain {custom_domain!r} must be a domain you own, not an Azure default name"
            )
    if certificate_secret_id is not None and not KV_SECRET_RE.match(certificate_secret_id):
        raise UsageError(
            f"invalid certificate secret id {certificate_secret_id!r}",
            hint="expected https://<vault>.vault.azure.net/secrets/<name>[/<version>]",
        )
    tokens_per_minute = tokens_per_minute or None  # 0: no limit
    monthly_token_quota = monthly_token_quota or None
    gateway = {
        "breaker_failures": breaker_failures,
        "breaker_interval_seconds": breaker_interval_seconds,
        "breaker_trip_seconds": breaker_trip_seconds,
        "tokens_per_minute": tokens_per_minute,
        "monthly_token_quota": monthly_token_quota,
    }
    for key, value in gateway.items():
        _gateway_number(key, value)
    if spec_file is not None and not str(spec_file).strip():
        raise UsageError(
            "the API definition file name is empty", hint="pass --spec-file FILE, or leave it out"
        )
    if not LOG_RETENTION_MIN <= log_retention_days <= LOG_RETENTION_MAX:
        raise UsageError(
            f"invalid log retention {log_retention_days} days: a Log Analytics workspace (PerGB2018) keeps "
            f"data {LOG_RETENTION_MIN} to {LOG_RETENTION_MAX} days",
            hint="pass --log-retention-days between 30 and 730",
        )
    from pros_cli.reconcile import parse_tolerance

    parse_tolerance(reconcile_tolerance)
    routing = _routing(regions_t, routing_method, geo, failover_scope)
    names = Names(base=base_name, suffix=name_suffix(subscription_id, base_name))
    check_derived_names(names, regions_t)
    return Spec(
        base_name=base_name,
        subscription_id=subscription_id,
        regions=regions_t,
        names=names,
        resource_group=names.resource_group(),
        shared_region=shared,
        storage_sku=storage_sku,
        models=models,
        apim_sku=apim_sku,
        apim_capacity=apim_capacity,
        publisher_email=publisher_email,
        publisher_name=publisher_name,
        function_plan=function_plan,
        python_version=python_version,
        redis_sku=redis_sku,
        redis_capacity=redis_capacity,
        custom_domain=custom_domain,
        certificate_secret_id=certificate_secret_id,
        restore_soft_deleted=restore_soft_deleted,
        cache_kind=cache_kind,
        usage_readers=readers,
        circuit_breaker=bool(circuit_breaker),
        breaker_failures=breaker_failures,
        breaker_interval_seconds=breaker_interval_seconds,
        breaker_trip_seconds=breaker_trip_seconds,
        tokens_per_minute=tokens_per_minute,
        monthly_token_quota=monthly_token_quota,
        require_billing_code=bool(require_billing_code),
        streaming_function=bool(streaming_function),
        spec_file=str(spec_file) if spec_file is not None else None,
        log_retention_days=log_retention_days,
        reconcile_tolerance=reconcile_tolerance,
        routing_method=routing[0],
        geo=routing[1],
        failover_scope=routing[2],
    )


def _routing(
    regions: tuple[str, ...], method: str, tokens: list[str] | tuple[str, ...], scope: str
) -> tuple[str, geo_rules.Mapping, str]:
    """Routing method, geography mapping and failover scope, each checked (pros_cli.geo)."""
    method = geo_rules.routing_method(method)
    scope = geo_rules.failover_scope(scope)
    mapping = geo_rules.parse_mapping(list(tokens or ()))
    geo_rules.check_routing(regions, method, mapping, scope)
    return method, mapping, scope


def _gateway_number(key: str, value: int | None) -> None:
    """A gateway setting: a whole number within its range (limits may also be None: no limit)."""
    if value is None and key in ("tokens_per_minute", "monthly_token_quota"):
        return
    low, high, unit = GATEWAY_LIMITS[key]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise UsageError(
            f"invalid {GATEWAY_OPTIONS[key]} {value!r}: a whole number of {unit} from {low} to {high}",
            hint=f"pass {GATEWAY_OPTIONS[key]} N (or {key} = N in the config file)",
        )


def _choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UsageError(f"unsupported {what} {value!r}", hint=f"choose one of {', '.join(allowed)}")
