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
from dataclasses import dataclass, field

from pros_cli import regions as region_table
from pros_cli.errors import UsageError

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


@dataclass(frozen=True)
class Spec:
    """The desired deployment. Build it with :func:`build_spec`."""

    base_name: str
    subscription_id: str
    regions: tuple[str, ...]
    storage_sku: str = "Standard_LRS"
    resource_group: str = ""
    names: Names = field(default=None)  # type: ignore[assignment]

    @property
    def primary_region(self) -> str:
        return self.regions[0]

    def tags(self) -> dict[str, str]:
        return {TOOL_TAG: TOOL_TAG_VALUE, DEPLOYMENT_TAG: self.base_name}

    def to_state(self) -> dict:
        """The non-secret part of the spec that later commands (status, teardown) work from."""
        return {
            "base_name": self.base_name,
            "regions": list(self.regions),
            "resource_group": self.resource_group,
            "storage_sku": self.storage_sku,
            "name_suffix": self.names.suffix,
        }


def build_spec(
    *,
    base_name: str,
    subscription_id: str,
    regions: list[str] | tuple[str, ...] = ("eastus", "westus"),
    storage_sku: str = "Standard_LRS",
) -> Spec:
    base_name = validate_base_name(base_name)
    regions_t = validate_regions(list(regions))
    subscription_id = validate_subscription_id(subscription_id)
    if storage_sku not in STORAGE_SKUS:
        raise UsageError(
            f"unsupported storage SKU {storage_sku!r}",
            hint=f"choose one of {', '.join(STORAGE_SKUS)}",
        )
    names = Names(base=base_name, suffix=name_suffix(subscription_id, base_name))
    return Spec(
        base_name=base_name,
        subscription_id=subscription_id,
        regions=regions_t,
        storage_sku=storage_sku,
        resource_group=names.resource_group(),
        names=names,
    )
