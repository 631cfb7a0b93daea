"""The shape every resource kind shares.

A resource kind is one small module (Ansible azure_rm_* style): it knows its ARM type and id,
what it depends on, how to read the current state (``None`` when absent), which desired fields it
manages (and which of those are immutable), how to create, update and delete itself, and the az
command line equivalent to each of those calls.

Bodies are REST-shaped dicts (camelCase, as in ARM's own examples): the desired body, the body
read back and the body echoed by ``az rest`` are the same shape, so diffs are plain comparisons.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pros_cli.echo import AzCommand, az
from pros_cli.spec import DEPLOYMENT_TAG, TOOL_TAG, TOOL_TAG_VALUE, Spec

# provisioningState values that mean an operation is still running.
TERMINAL_STATES = {"succeeded", "failed", "canceled", "cancelled"}


class KeepInstead(Exception):
    """Raised by ``delete()`` when the resource must stay after all (a resource group that still
    holds something pros did not make): the run keeps it, says why, and stops recording it."""


def get_path(body: dict[str, Any] | None, path: str) -> Any:
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        # ARM property names are case-insensitive on input; match exactly first.
        if part in value:
            value = value[part]
        else:
            lowered = {k.lower(): v for k, v in value.items()}
            value = lowered.get(part.lower())
    return value


def set_path(body: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = body
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def same(current: Any, desired: Any) -> bool:
    """ARM echoes enums and locations with its own casing ("Standard_LRS", "East US")."""
    if isinstance(current, str) and isinstance(desired, str):
        return current.replace(" ", "").lower() == desired.replace(" ", "").lower()
    if isinstance(current, dict) and isinstance(desired, dict):
        return all(same(current.get(k), v) for k, v in desired.items())
    if isinstance(current, list) and isinstance(desired, list):
        return len(current) == len(desired) and all(same(c, d) for c, d in zip(current, desired, strict=True))
    return current == desired


@dataclass(frozen=True)
class FieldDiff:
    path: str
    current: Any
    desired: Any
    immutable: bool = False

    def reason(self) -> str:
        verb = "cannot change" if self.immutable else "change"
        return f"{verb} {self.path}: {self.current!r} -> {self.desired!r}"


class Resource(ABC):
    """Base class for one Azure resource of one deployment."""

    arm_type: ClassVar[str] = ""
    client_kind: ClassVar[str] = ""
    api_version: ClassVar[str] = ""
    label: ClassVar[str] = ""  # short human label for progress lines, e.g. "storage account"
    # Desired fields pros manages; only these are compared. Paths into the REST body.
    managed_fields: ClassVar[tuple[str, ...]] = ()
    immutable_fields: ClassVar[tuple[str, ...]] = ("location",)
    # Immutable fields whose drift is fixed by deleting and creating the resource again, for kinds
    # where that loses nothing (a role assignment's principal). Others are refused.
    replace_on: ClassVar[tuple[str, ...]] = ()
    # Objects a PATCH must carry whole when any field inside differs (e.g. an API that wants a
    # SKU's name and capacity together).
    patch_whole: ClassVar[tuple[str, ...]] = ()
    # Has a globally unique name, checked with the provider's name-availability call.
    globally_unique: ClassVar[bool] = False
    tagged: ClassVar[bool] = True
    # Typical time Azure takes to create one (seconds): only used to start the longest chains
    # of work first.
    typical_seconds: ClassVar[float] = 30.0
    # Resources with the same serial group never run at the same time (e.g. Azure OpenAI accepts
    # one deployment operation per account at a time). None: no constraint.
    serial_group: str | None = None
    # Needs the current bodies of its dependencies (``inputs``) to know what to read, e.g. a role
    # assignment on a Key Vault found at plan time: its dependencies are read before it.
    reads_inputs: bool = False
    # A resource pros only reads (e.g. the operator's Key Vault): never created, changed or
    # deleted; the plan fails if it does not exist.
    external: ClassVar[bool] = False
    # The command that makes this kind (the part of the deployment it belongs to); a command that
    # needs it while it is absent says to run this one.
    created_by: ClassVar[str] = "pros provision"
    # Part of its structural parent (app settings inside their app, a container inside its
    # storage account): when the parent is deleted too, deleting it on its own is needless.
    deleted_with_parent: ClassVar[bool] = False
    # Set by the engine while it applies this resource: echoes the az commands of a call the
    # resource decides on only while applying (a fallback), so that call is announced first too.
    announce: Callable[[Sequence[AzCommand]], None] | None = None

    def __init__(
        self,
        spec: Spec,
        *,
        key: str,
        name: str,
        region: str | None,
        depends_on: tuple[str, ...] = (),
        parent: str | None = None,
    ):
        self.spec = spec
        self.key = key
        self.name = name
        self.region = region
        self.depends_on = depends_on
        self.parent = parent  # structural parent: if it is absent, so is this
        # Current bodies of the dependencies (None: absent), filled in by the engine before
        # diff and apply: e.g. the principal id of an identity a role assignment grants to.
        self.inputs: dict[str, dict[str, Any] | None] = {}
        # For a resource being deleted: the keys that depended on it (they go, or stop referring
        # to it, first). Set by the graph diff that plans the delete.
        self.delete_after: tuple[str, ...] = ()

    # ---- identity -------------------------------------------------------------------------
    @property
    def resource_group(self) -> str:
        return self.spec.resource_group

    @property
    def subscription_id(self) -> str:
        return self.spec.subscription_id

    def arm_id(self) -> str:
        provider, _, kind = self.arm_type.partition("/")
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{provider}/{kind}/{self.name}"
        )

    def identity(self) -> dict[str, Any]:
        """What the state file records about which resource this is."""
        return {"id": self.arm_id(), "type": self.arm_type, "name": self.name, "region": self.region}

    def describe(self) -> str:
        where = f" ({self.region})" if self.region else ""
        return f"{self.label} {self.name}{where}"

    def display_name(self) -> str:
        """The name to show in a table: the resource's name, or what it is when the name is an
        opaque id (a role assignment's GUID)."""
        return self.name

    # ---- desired state and diff -------------------------------------------------------------
    def desired_tags(self) -> dict[str, str]:
        return self.spec.tags() if self.tagged else {}

    @abstractmethod
    def desired(self) -> dict[str, Any]:
        """The REST body pros wants (for a PUT)."""

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        desired = self.desired()
        diffs: list[FieldDiff] = []
        for path in self.managed_fields:
            want = get_path(desired, path)
            have = get_path(current, path)
            if want is None:
                continue
            if not same(have, want):
                diffs.append(FieldDiff(path, have, want, immutable=path in self.immutable_fields))
        if self.tagged and not adopted:
            have_tags = current.get("tags") or {}
            for k, v in self.desired_tags().items():
                if have_tags.get(k) != v:
                    diffs.append(FieldDiff(f"tags.{k}", have_tags.get(k), v))
        return diffs

    def patch_body(self, current: dict[str, Any], diffs: list[FieldDiff]) -> dict[str, Any]:
        """A PATCH body carrying only what differs: our tags merged into the user's, each other
        drifted field at its path (or, for a path under ``patch_whole``, that whole object)."""
        desired = self.desired()
        patch: dict[str, Any] = {}
        for d in diffs:
            if d.path.startswith("tags."):
                patch["tags"] = self.merged_tags(current)
                continue
            whole = next((w for w in self.patch_whole if d.path == w or d.path.startswith(w + ".")), None)
            if whole is not None:
                set_path(patch, whole, get_path(desired, whole))
            else:
                set_path(patch, d.path, d.desired)
        return patch

    def merged_tags(self, current: dict[str, Any] | None) -> dict[str, str]:
        """Our tags on top of whatever tags the resource already has (never drop user tags)."""
        tags = dict((current or {}).get("tags") or {})
        tags.update(self.desired_tags())
        return tags

    def is_ours(self, current: dict[str, Any]) -> bool:
        """Ownership is proven by the resource's own tags: ``pros-deployment`` names this base name
        (a lost ``managed-by=pros`` beside it is drift, put back by an update; one naming another
        tool is not ours)."""
        if not self.tagged:
            return True
        tags = current.get("tags") or {}
        tool = tags.get(TOOL_TAG)
        return tags.get(DEPLOYMENT_TAG) == self.spec.base_name and tool in (None, TOOL_TAG_VALUE)

    def provisioning_state(self, current: dict[str, Any]) -> str | None:
        state = get_path(current, "properties.provisioningState")
        return str(state) if state is not None else None

    def in_progress(self, current: dict[str, Any]) -> bool:
        state = self.provisioning_state(current)
        return state is not None and state.lower() not in TERMINAL_STATES

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        """Non-secret facts worth keeping in the state file (endpoints, principal ids)."""
        return {}

    def health(self, current: dict[str, Any], clients: Any) -> tuple[str, str]:
        """(``ok`` | ``pending`` | ``degraded``, detail) of an existing resource, for status.
        Default: its provisioning state. Kinds with more to say (a gateway that answers, a
        Traffic Manager probe, a running app) override it; a probe may make one data-plane call."""
        state = self.provisioning_state(current)
        if state is None or state.lower() == "succeeded":
            return "ok", state or "exists"
        if self.in_progress(current):
            return "pending", f"{state}: an operation is running"
        return "degraded", f"provisioningState {state}"

    # ---- calls ----------------------------------------------------------------------------
    def client(self, clients: Any) -> Any:
        return clients.get(self.client_kind)

    @abstractmethod
    def read(self, clients: Any) -> dict[str, Any] | None:
        """GET the resource as REST JSON; None when ARM says it does not exist."""

    @abstractmethod
    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        """Start the create (PUT); return an LROPoller or the created body. With a
        continuation token, rebuild the poller of a create an earlier run started instead."""

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        """Default: PUT the desired body again (it carries the merged tags)."""
        return self.create(clients)

    @abstractmethod
    def delete(self, clients: Any) -> Any:
        """Start the delete; return an LROPoller or None."""

    def check_delete(self, clients: Any, deleted: frozenset[str]) -> None:  # noqa: B027 - optional hook
        """Called right before a delete (``deleted``: lowercase ids this run has deleted so far):
        raise :class:`KeepInstead` to keep the resource."""

    def check_name(self, clients: Any) -> str | None:
        """For globally unique names: None when free, else the reason it is not."""
        return None

    def preflight(self, clients: Any) -> str | None:
        """Checks before a create, run for every create before anything is created: None when
        the create can go ahead, else an operator-facing reason it cannot."""
        if self.globally_unique:
            reason = self.check_name(clients)
            if reason:
                return (
                    f"the name {self.name!r} for {self.label} is not available in Azure ({reason}); names "
                    "derive from the base name and subscription, so choose another --base-name"
                )
        return None

    # ---- az equivalents -------------------------------------------------------------------
    def az_read(self) -> AzCommand:
        # The api-version pros reads with: without one, az first asks the resource provider for its
        # versions (another read) and may pick one with another shape.
        version = ("--api-version", self.api_version) if self.api_version else ()
        return az("resource", "show", "--ids", self.arm_id(), *version, read_only=True)

    @abstractmethod
    def az_create(self) -> list[AzCommand]:
        """The az commands equivalent to :meth:`create`."""

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        return self.az_create()

    @abstractmethod
    def az_delete(self) -> list[AzCommand]:
        """The az commands equivalent to :meth:`delete`."""
