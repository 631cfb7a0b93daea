"""A deployment's settings: one registry, one resolution order, one record.

Every setting a deployment has (regions, SKUs, models, ...) is declared once here. From the
declaration come the command-line option, the ``PROS_*`` environment variable, the config-file
key, the value recorded in the state file and the line ``pros settings`` prints.

A run resolves each setting in this order and remembers where the value came from:

1. ``flag``: the command line;
2. ``env``: the ``PROS_<NAME>`` environment variable;
3. ``config``: the ``--config`` TOML file;
4. ``state``: what the deployment's state file records (the settings of the last run that
   applied successfully);
5. ``default``.

So a re-run with no options works from what the deployment was made with, and a run that
changes a setting shows the change (``from``, ``to``, ``source``) before anything else in its
plan. Settings are recorded only by a run that applied them without failure. Immutable settings
cannot be changed on an existing deployment. No secret is ever a setting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pros_cli.errors import UsageError

SOURCES = ("flag", "env", "config", "state", "default")


@dataclass(frozen=True)
class SettingDef:
    """One deployment setting.

    ``kind``: ``str``, ``int``, ``bool``, ``strs`` (a list of strings) or ``models``; :func:`coerce`
    turns a raw value (from any source) into the resolved value, raising UsageError naming the
    problem.
    ``flags``: the option's command-line names; ``envvar`` defaults to ``PROS_<NAME>``.
    """

    name: str
    kind: str
    default: Any
    help: str
    flags: tuple[str, ...] = ()
    metavar: str | None = None
    immutable: bool = False
    immutable_hint: str = ""
    envvar: str | None = None
    # Commands whose options include this setting besides provision, up and settings.
    also_on: tuple[str, ...] = ()

    @property
    def env(self) -> str:
        return self.envvar or f"PROS_{self.name.upper()}"

    @property
    def flag(self) -> str:
        return (self.flags[0] if self.flags else f"--{self.name.replace('_', '-')}").split("/")[0]

    @property
    def repeatable(self) -> bool:
        return self.kind in ("strs", "models")


def _s(name: str, default: Any, help: str, **kw: Any) -> SettingDef:
    return SettingDef(name, kw.pop("kind", "str"), default, help, **kw)


def _i(name: str, default: int, help: str, **kw: Any) -> SettingDef:
    return SettingDef(name, "int", default, help, **kw)


# The registry. Order is the order ``pros settings`` prints. Defaults are the values a deployment
# gets when nothing anywhere says otherwise.
SETTINGS: tuple[SettingDef, ...] = (
    SettingDef(
        "regions",
        "strs",
        ("eastus", "westus"),
        "Region to deploy to; repeat for several (default: eastus and westus).",
        flags=("--region", "-l"),
        metavar="REGION",
        envvar="PROS_REGIONS",
    ),
    _s(
        "shared_region",
        None,
        "Region of the shared resources (default: the first region).",
        metavar="REGION",
        immutable=True,
        immutable_hint="the shared resources (Event Grid topic, Redis, token processor, resource group) "
        "cannot move; tear the deployment down and provision it again to move them",
    ),
    SettingDef(
        "models",
        "models",
        None,
        "Model deployment on every OpenAI account, [NAME=]MODEL[:VERSION]; repeat for several (replaces "
        "the recorded or default models). Without a version: the newest generally available one every "
        "region offers, recorded so a re-run never upgrades silently. Default: a current chat model and "
        "text-embedding-3-small, chosen from Azure's model catalog (see pros models).",
        flags=("--model",),
        metavar="[NAME=]MODEL[:VERSION]",
    ),
    _s("storage_sku", "Standard_LRS", "SKU of the storage accounts."),
    _s("apim_sku", "Developer", "API Management SKU."),
    SettingDef("apim_capacity", "int", None, "API Management units (default 1; 0 for Consumption)."),
    _s("publisher_email", "apim-admin@example.com", "API Management publisher email."),
    _s("publisher_name", "pros", "API Management publisher name."),
    _s(
        "function_plan",
        "flex",
        "Function App hosting: flex (Flex Consumption) or consumption (Linux Consumption, retiring 2028).",
        metavar="flex|consumption",
        immutable=True,
        immutable_hint="a Function App cannot move between Flex Consumption and Linux Consumption in "
        "place; tear the deployment down and provision it again with the other plan",
    ),
    _s("python_version", "3.11", "Function App Python version."),
    _s(
        "cache_kind",
        "managed",
        "Redis to deploy: managed (Azure Managed Redis) or azure-cache-for-redis (the retiring Azure Cache "
        "for Redis, for tenants that still have one). Both use Entra ID, no access keys.",
        metavar="managed|azure-cache-for-redis",
        immutable=True,
        immutable_hint="the usage ledger lives in the cache: switching kinds would leave it behind in the "
        "old cache; tear the deployment down (after exporting usage with pros usage export) and provision "
        "it again with the other kind",
    ),
    _s(
        "redis_sku",
        None,
        "Redis SKU for the cache kind: a Managed Redis SKU (default Balanced_B0), or Basic/Standard/Premium "
        "for azure-cache-for-redis (default Standard).",
    ),
    SettingDef("redis_capacity", "int", None, "Azure Cache for Redis size only: 1 for C1/P1 (default 1)."),
    SettingDef(
        "usage_readers",
        "strs",
        (),
        "Microsoft Entra object id granted read access to the usage ledger in Redis (for pros usage); "
        "repeat for several.",
        flags=("--usage-reader",),
        metavar="OBJECT_ID",
    ),
    _s(
        "custom_domain",
        None,
        "Gateway host name to configure on every APIM (needs --certificate-secret-id); '' removes it.",
        metavar="HOST",
    ),
    _s(
        "certificate_secret_id",
        None,
        "Key Vault secret id of the custom domain's certificate; '' removes it.",
        metavar="ID",
    ),
    # ---- routing (Traffic Manager, and how far a gateway fails over; pros_cli.geo) ----
    _s(
        "routing_method",
        "performance",
        "Traffic Manager routing: performance (the closest gateway), priority (active/passive in the order "
        "of --region) or geographic (each region serves the geographies --geo maps to it).",
        metavar="performance|priority|geographic",
    ),
    SettingDef(
        "geo",
        "strs",
        (),
        "Geographic routing: REGION=CODE[,CODE...] with Traffic Manager's geography codes, e.g. "
        "westeurope=GEO-EU or eastus=GEO-NA,WORLD; repeat for every region. Regions given the same codes "
        "share a geography (performance routing among them); one region must serve WORLD. '' clears.",
        flags=("--geo",),
        metavar="REGION=CODES",
    ),
    _s(
        "failover_scope",
        "global",
        "How far a gateway's pools fail over: global (every region) or geography (only the regions of its "
        "own geography: a call never leaves it).",
        metavar="global|geography",
        also_on=("backends",),
    ),
    # ---- the gateway (pros backends, pros policies) ----
    SettingDef(
        "circuit_breaker",
        "bool",
        True,
        "Give every regional backend the circuit breaker (the Consumption tier has none).",
        flags=("--circuit-breaker/--no-circuit-breaker",),
        also_on=("backends",),
    ),
    _i(
        "breaker_failures",
        1,
        "Failures (429 or 5xx) within the breaker interval that trip a backend.",
        metavar="N",
        also_on=("backends",),
    ),
    _i(
        "breaker_interval_seconds",
        60,
        "Window the breaker counts failures in.",
        flags=("--breaker-interval",),
        metavar="SECONDS",
        also_on=("backends",),
    ),
    _i(
        "breaker_trip_seconds",
        60,
        "How long a tripped backend rests, unless its Retry-After says otherwise.",
        flags=("--breaker-trip",),
        metavar="SECONDS",
        also_on=("backends",),
    ),
    _s(
        "spec_file",
        None,
        "OpenAPI document to import as the OpenAI API (default: the one pros ships in templates/); '' for "
        "the default.",
        metavar="FILE",
        also_on=("backends", "policies"),
    ),
    SettingDef(
        "tokens_per_minute",
        "int",
        None,
        "Token limit per minute for each billing code (0: none).",
        metavar="N",
        also_on=("policies",),
    ),
    SettingDef(
        "monthly_token_quota",
        "int",
        None,
        "Token quota per month for each billing code (0: none).",
        metavar="N",
        also_on=("policies",),
    ),
    SettingDef(
        "require_billing_code",
        "bool",
        False,
        "Refuse calls without a billingCode query parameter with 400.",
        flags=("--require-billing-code/--no-require-billing-code",),
        also_on=("policies",),
    ),
    SettingDef(
        "streaming_function",
        "bool",
        True,
        "Send streamed calls to the regional streaming functions, which count their tokens exactly; without "
        "it they go to the OpenAI pool and are estimated.",
        flags=("--streaming-function/--no-streaming-function",),
        also_on=("policies",),
    ),
    # ---- observability ----
    _i(
        "log_retention_days",
        90,
        "Days the Log Analytics workspace keeps gateway, LLM and function logs (30-730); the default "
        "keeps a closed billing month reconcilable.",
        metavar="DAYS",
    ),
    _s(
        "reconcile_tolerance",
        "0",
        "Largest token difference per day, region and model that pros usage reconcile accepts: "
        "N tokens or P% of Azure's count (default 0: exact).",
        metavar="N|P%",
        also_on=("usage reconcile",),
    ),
)
BY_NAME: dict[str, SettingDef] = {s.name: s for s in SETTINGS}


def setting(name: str) -> SettingDef:
    return BY_NAME[name]


def names_for(command: str) -> tuple[str, ...]:
    """The settings a command takes as options: provision (and settings, up) take them all."""
    if command in ("provision", "settings", "up"):
        return tuple(BY_NAME)
    return tuple(s.name for s in SETTINGS if command in s.also_on)


# ---- values ----------------------------------------------------------------------------------
def _split_words(text: str) -> list[str]:
    return [part for chunk in text.replace(",", " ").split() if (part := chunk.strip())]


def coerce(definition: SettingDef, raw: Any, *, where: str) -> Any:
    """A raw value from one source as the setting's type; '' clears an optional setting."""
    kind = definition.kind
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"{where} must be true or false, not {raw!r}")
    if kind == "int":
        if isinstance(raw, bool):
            raise UsageError(f"{where} must be a whole number, not {raw!r}")
        if isinstance(raw, int):
            return raw
        try:
            return int(str(raw).strip())
        except ValueError:
            raise UsageError(f"{where} must be a whole number, not {raw!r}") from None
    if kind == "str":
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise UsageError(f"{where} must be a string, not {type(raw).__name__}")
        return raw if raw.strip() or definition.default is not None else None
    if kind == "strs":
        if isinstance(raw, str):
            return tuple(_split_words(raw))
        if isinstance(raw, (list, tuple)) and all(isinstance(v, str) for v in raw):
            return tuple(w for v in raw for w in _split_words(v))
        raise UsageError(f"{where} must be a list of names")
    if kind == "models":
        from pros_cli.spec import ModelDeployment, parse_model

        if isinstance(raw, str):
            return tuple(parse_model(part) for part in _split_words(raw))
        if isinstance(raw, (list, tuple)):
            out = []
            for item in raw:
                if isinstance(item, ModelDeployment):
                    out.append(item)
                elif isinstance(item, str):
                    out.append(parse_model(item))
                elif isinstance(item, Mapping):
                    out.append(model_from_record(item, where=where))
                else:
                    raise UsageError(f"{where} must be a list of models")
            return tuple(out)
        raise UsageError(f"{where} must be a list of models")
    raise AssertionError(f"unknown setting kind {kind}")


def model_from_record(item: Mapping[str, Any], *, where: str) -> Any:
    from pros_cli.spec import ModelDeployment

    if not isinstance(item.get("model"), str) or not isinstance(item.get("version") or "", str):
        raise UsageError(f"{where}: a model needs 'model' (and a 'version' string, when given)")
    return ModelDeployment(
        name=str(item.get("name") or item["model"]),
        model=item["model"],
        version=str(item.get("version") or ""),
        sku=str(item.get("sku") or "GlobalStandard"),
        capacity=int(item.get("capacity") or 30),
    )


def to_record(definition: SettingDef, value: Any) -> Any:
    """The JSON form the state file records (and ``-o json`` prints)."""
    if value is None:
        return None
    if definition.kind == "strs":
        return list(value)
    if definition.kind == "models":
        return [m.to_state() for m in value]
    return value


def render(definition: SettingDef, value: Any) -> str:
    """A value for a table cell."""
    if value is None:
        return "-"
    if definition.kind == "strs":
        return ", ".join(value) or "-"
    if definition.kind == "models":
        return "; ".join(
            f"{m.name}={m.model}:{m.version or '(newest, from the catalog)'} ({m.sku}, {m.capacity})"
            for m in value
        )
    return str(value)


# ---- resolution ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resolved:
    value: Any
    source: str


@dataclass
class Settings:
    """The effective settings of one run, each with its source."""

    values: dict[str, Resolved] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name].value

    def source(self, name: str) -> str:
        return self.values[name].source

    def spec_kwargs(self) -> dict[str, Any]:
        """build_spec() keyword arguments: every setting that has a value."""
        return {name: r.value for name, r in self.values.items() if r.value is not None}

    def record(self) -> dict[str, Any]:
        return {name: to_record(BY_NAME[name], r.value) for name, r in self.values.items()}

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "value": to_record(BY_NAME[name], r.value), "source": r.source}
            for name, r in self.values.items()
        ]


def recorded_settings(state_data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The settings a state file records: ``settings``, or (files written before settings were
    recorded on their own) the setting keys of ``spec``."""
    if not state_data:
        return {}
    recorded = state_data.get("settings")
    if not isinstance(recorded, Mapping):
        recorded = state_data.get("spec") or {}
    return {k: v for k, v in recorded.items() if k in BY_NAME}


def resolve(
    *,
    flags: Mapping[str, Any],
    config: Mapping[str, Any],
    recorded: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    adjust: Callable[[Settings], None] | None = None,
) -> Settings:
    """Each setting from the first source that has it: flag, env, config, state, default."""
    environ = os.environ if environ is None else environ
    out = Settings()
    for definition in SETTINGS:
        name = definition.name
        candidates = (
            ("flag", flags.get(name), f"{definition.flag}"),
            ("env", environ.get(definition.env), f"environment variable {definition.env}"),
            ("config", config.get(name), f"config setting {name}"),
            ("state", recorded.get(name), f"the state file's recorded {name}"),
        )
        for source, raw, where in candidates:
            if raw is None or (source == "flag" and isinstance(raw, (list, tuple)) and not raw):
                continue
            out.values[name] = Resolved(coerce(definition, raw, where=where), source)
            break
        else:
            out.values[name] = Resolved(definition.default, "default")
    if adjust is not None:
        adjust(out)
    return out


@dataclass(frozen=True)
class SettingChange:
    name: str
    before: Any
    after: Any
    source: str

    def to_json(self) -> dict[str, Any]:
        d = BY_NAME[self.name]
        return {
            "name": self.name,
            "from": to_record(d, self.before),
            "to": to_record(d, self.after),
            "source": self.source,
        }


def changes(effective: Settings, recorded: Mapping[str, Any]) -> list[SettingChange]:
    """What this run changes against the recorded settings; nothing when none are recorded
    (a first run), since every value is then new."""
    if not recorded:
        return []
    out = []
    for definition in SETTINGS:
        name = definition.name
        after = effective[name]
        raw = recorded.get(name)
        before = coerce(definition, raw, where=name) if raw is not None else definition.default
        if to_record(definition, before) != to_record(definition, after):
            out.append(SettingChange(name, before, after, effective.source(name)))
    return out


def check_immutable(setting_changes: list[SettingChange]) -> None:
    for change in setting_changes:
        definition = BY_NAME[change.name]
        if definition.immutable:
            raise UsageError(
                f"{change.name} cannot change on an existing deployment "
                f"(recorded {render(definition, change.before)}, this run says "
                f"{render(definition, change.after)} from {change.source})",
                hint=f"{definition.immutable_hint}; or drop the {change.source} value to keep "
                f"{render(definition, change.before)}",
            )
