"""Azure OpenAI: one account per region and its model deployments.

The account is keyless: API Management and the Function Apps call it with their managed
identities, so ``disableLocalAuth`` is true and the custom subdomain (which Entra ID auth needs)
is the account name. Accounts are soft-deleted for 48 hours, keeping their name and subdomain:
the preflight says so with the purge command instead of letting the create fail half-way.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, Subst, az, tags_args
from pros_cli.resources.base import FieldDiff, Resource, get_path
from pros_cli.spec import ModelDeployment as ModelDeploymentSpec
from pros_cli.spec import Spec

ACCOUNT_TYPE = "Microsoft.CognitiveServices/accounts"
API_VERSION = "2025-09-01"  # what azure-mgmt-cognitiveservices 14.1.0 sends
# Keep the pinned version until Azure retires it, then let Azure move the deployment to the new
# default instead of letting it stop serving (NoAutoUpgrade) or changing it under us whenever a
# new default appears (OnceNewDefaultVersionAvailable, which pros would then see as drift and undo).
VERSION_UPGRADE_OPTION = "OnceCurrentVersionExpired"
RESTORE_HINT = "or run again with --restore-soft-deleted to restore it"


def _az_bool(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class OpenAIAccount(Resource):
    """``Microsoft.CognitiveServices/accounts`` of kind OpenAI in one region."""

    typical_seconds = 60
    arm_type = ACCOUNT_TYPE
    client_kind = "cognitive"
    api_version = API_VERSION
    label = "OpenAI account"
    managed_fields = (
        "location",
        "kind",
        "sku.name",
        "identity.type",
        "properties.customSubDomainName",
        "properties.publicNetworkAccess",
        "properties.disableLocalAuth",
    )
    immutable_fields = ("location", "kind", "properties.customSubDomainName")
    globally_unique = True  # the custom subdomain, checked with checkDomainAvailability

    def __init__(self, spec: Spec, *, key: str, region: str, depends_on: tuple[str, ...] = (),
                 parent: str | None = None):
        super().__init__(spec, key=key, name=spec.names.openai(region), region=region,
                         depends_on=depends_on, parent=parent)
        # Whether a soft-deleted account holds this name: None until preflight (or create) asks.
        self.soft_deleted: bool | None = None

    # ---- desired state ------------------------------------------------------------------------
    def desired(self) -> dict[str, Any]:
        return {
            "location": self.region,
            "kind": "OpenAI",
            "sku": {"name": self.spec.openai_sku},
            "identity": {"type": "SystemAssigned"},
            "tags": self.desired_tags(),
            "properties": {
                "customSubDomainName": self.name,
                "publicNetworkAccess": "Enabled",
                "disableLocalAuth": True,
            },
        }

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        # A user-assigned identity added next to ours ("SystemAssigned, UserAssigned") is theirs to keep.
        have = str(get_path(current, "identity.type") or "").replace(" ", "").lower()
        diffs = super().diff(current, adopted=adopted)
        if "systemassigned" in have:
            diffs = [d for d in diffs if d.path != "identity.type"]
        return diffs

    @property
    def restoring(self) -> bool:
        return bool(self.spec.restore_soft_deleted and self.soft_deleted)

    # ---- calls --------------------------------------------------------------------------------
    def read(self, clients: Any) -> dict[str, Any] | None:
        return get_or_none(self.client(clients).accounts.get, self.resource_group, self.name)

    def find_soft_deleted(self, clients: Any) -> dict[str, Any] | None:
        deleted_accounts = self.client(clients).deleted_accounts
        deleted = get_or_none(deleted_accounts.get, str(self.region), self.resource_group, self.name)
        self.soft_deleted = deleted is not None
        return deleted

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        body = self.desired()
        if continuation_token is None and self.spec.restore_soft_deleted:
            if self.soft_deleted is None:
                self.find_soft_deleted(clients)
            if self.soft_deleted:
                body["properties"]["restore"] = True
        return self.client(clients).accounts.begin_create(
            self.resource_group, self.name, body, cls=raw_json, continuation_token=continuation_token
        )

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self.client(clients).accounts.begin_update(
            self.resource_group, self.name, self.patch_body(current, diffs), cls=raw_json
        )

    def delete(self, clients: Any) -> Any:
        return self.client(clients).accounts.begin_delete(self.resource_group, self.name)

    def check_name(self, clients: Any) -> str | None:
        result = self.client(clients).check_domain_availability(
            subdomain_name=self.name, type=ACCOUNT_TYPE, kind="OpenAI", cls=raw_json
        )
        if result.get("isSubdomainAvailable"):
            return None
        return f"custom subdomain: {result.get('reason') or 'already in use'}"

    def purge(self, clients: Any) -> Any:
        """Free the name (and subdomain) of a deleted account now instead of after 48 hours."""
        deleted = self.client(clients).deleted_accounts
        return deleted.begin_purge(str(self.region), self.resource_group, self.name)

    def az_purge(self) -> AzCommand:
        return self.purge_command()

    def purge_command(self) -> AzCommand:
        where = ("-l", str(self.region), "-g", self.resource_group, "-n", self.name)
        show = az("cognitiveservices", "account", "show-deleted", *where, read_only=True)
        return dataclasses.replace(az("cognitiveservices", "account", "purge", *where), guard=show)

    def preflight(self, clients: Any) -> str | None:
        deleted = self.find_soft_deleted(clients)
        if deleted is not None:
            if self.spec.restore_soft_deleted:
                return None  # the restore brings back its own subdomain
            props = deleted.get("properties") or {}
            when = f" on {props['deletionDate']}" if props.get("deletionDate") else ""
            until = f" until {props['scheduledPurgeDate']}" if props.get("scheduledPurgeDate") else ""
            return (
                f"{self.describe()} cannot be created: an account with this name was deleted{when} and is "
                f"soft-deleted{until}, which keeps its name and subdomain reserved. Purge it with "
                f"`{self.purge_command().render()}` (this destroys it for good), {RESTORE_HINT}"
            )
        return super().preflight(clients)

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "endpoint": get_path(current, "properties.endpoint"),
            "principal_id": get_path(current, "identity.principalId"),
        }

    # ---- az -----------------------------------------------------------------------------------
    def _ids_set(self, assignments: list[str]) -> AzCommand:
        return az("resource", "update", "--ids", self.arm_id(), "--api-version", self.api_version,
                  "--set", *assignments,
                  note="az cognitiveservices has no flags for these properties")

    def _where(self) -> list[str]:
        return ["--name", self.name, "--resource-group", self.resource_group]

    def az_read(self) -> AzCommand:
        return az("cognitiveservices", "account", "show", *self._where(), read_only=True)

    def az_create(self) -> list[AzCommand]:
        props = self.desired()["properties"]
        settings = [f"properties.disableLocalAuth={_az_bool(props['disableLocalAuth'])}",
                    f"properties.publicNetworkAccess={props['publicNetworkAccess']}"]
        if self.restoring:
            tags = [f"tags.{k}={v}" for k, v in sorted(self.desired_tags().items())]
            return [
                az("cognitiveservices", "account", "recover", *self._where(), "--location", str(self.region)),
                self._ids_set([*settings, "identity.type=SystemAssigned", f"sku.name={self.spec.openai_sku}",
                               *tags]),
            ]
        return [
            az("cognitiveservices", "account", "create", *self._where(), "--location", str(self.region),
               "--kind", "OpenAI", "--sku", self.spec.openai_sku, "--custom-domain", self.name,
               "--assign-identity", *tags_args(self.desired_tags())),
            self._ids_set(settings),
        ]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        update: list[str] = []
        settings: list[str] = []
        commands: list[AzCommand] = []
        for d in diffs:
            if d.path == "sku.name":
                update += ["--sku", str(d.desired)]
            elif d.path.startswith("properties."):
                settings.append(f"{d.path}={_az_bool(d.desired)}")
            elif d.path == "identity.type":
                commands.append(az("cognitiveservices", "account", "identity", "assign", *self._where()))
        if any(d.path.startswith("tags.") for d in diffs):
            update += tags_args(self.merged_tags(current))
        if update:
            commands.insert(0, az("cognitiveservices", "account", "update", *self._where(), *update))
        if settings:
            commands.append(self._ids_set(settings))
        return commands

    def az_delete(self) -> list[AzCommand]:
        return [az("cognitiveservices", "account", "delete", *self._where(),
                   note="Azure keeps the deleted account (and its name) for 48 hours; purge frees the name")]


class ModelDeployment(Resource):
    """``Microsoft.CognitiveServices/accounts/deployments``: one model on one regional account."""

    typical_seconds = 60
    arm_type = "Microsoft.CognitiveServices/accounts/deployments"
    client_kind = "cognitive"
    api_version = API_VERSION
    label = "model deployment"
    managed_fields = (
        "sku.name",
        "sku.capacity",
        "properties.model.format",
        "properties.model.name",
        "properties.model.version",
        "properties.versionUpgradeOption",
    )
    immutable_fields = ("properties.model.format", "properties.model.name")
    tagged = False  # a child of the account, which carries the tags; az cannot tag deployments

    def __init__(self, spec: Spec, model: ModelDeploymentSpec, *, key: str, region: str,
                 depends_on: tuple[str, ...] = (), parent: str | None = None):
        super().__init__(spec, key=key, name=model.name, region=region, depends_on=depends_on, parent=parent)
        self.model = model
        self.account = spec.names.openai(region)
        # Azure OpenAI accepts one deployment operation per account at a time (409 RequestConflict).
        self.serial_group = self.account_id()

    def account_id(self) -> str:
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/{ACCOUNT_TYPE}/{self.account}")

    def arm_id(self) -> str:
        return f"{self.account_id()}/deployments/{self.name}"

    def describe(self) -> str:
        return f"{self.label} {self.name} on {self.account} ({self.region})"

    def desired(self) -> dict[str, Any]:
        m = self.model
        model = {"format": "OpenAI", "name": m.model}
        if m.version:  # empty only in offline plans, which read no catalog to resolve it
            model["version"] = m.version
        return {
            "sku": {"name": m.sku, "capacity": m.capacity},
            "properties": {"model": model, "versionUpgradeOption": VERSION_UPGRADE_OPTION},
        }

    def version_arg(self) -> str | Subst:
        """The version, or (not resolved: an offline plan) the az query that resolves it the way pros
        does: the newest generally available version the region offers with the SKU."""
        m = self.model
        if m.version:
            return m.version
        # JMESPath JSON literals (`"..."`): no single quotes, so the shell quoting stays readable.
        query = (f'[?kind==`"OpenAI"` && model.name==`"{m.model}"` && '
                 'model.lifecycleStatus==`"GenerallyAvailable"` && '
                 f'contains(model.skus[].name, `"{m.sku}"`)].model.version | sort(@) | [-1]')
        return Subst(az("cognitiveservices", "model", "list", "-l", str(self.region), read_only=True), query)

    def read(self, clients: Any) -> dict[str, Any] | None:
        deployments = self.client(clients).deployments
        return get_or_none(deployments.get, self.resource_group, self.account, self.name)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        # Also the update: version, SKU and capacity change with the same PUT (the PATCH only takes sku).
        return self.client(clients).deployments.begin_create_or_update(
            self.resource_group, self.account, self.name, self.desired(), cls=raw_json,
            continuation_token=continuation_token,
        )

    def delete(self, clients: Any) -> Any:
        return self.client(clients).deployments.begin_delete(self.resource_group, self.account, self.name)

    def health(self, current: dict[str, Any], clients: Any) -> tuple[str, str]:
        level, detail = super().health(current, clients)
        if level != "ok":
            return level, detail
        m = get_path(current, "properties.model") or {}
        sku, capacity = get_path(current, "sku.name"), get_path(current, "sku.capacity")
        return "ok", f"{m.get('name')} {m.get('version')}, {sku} capacity {capacity}"

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "model": get_path(current, "properties.model.name"),
            "version": get_path(current, "properties.model.version"),
            "sku": get_path(current, "sku.name"),
            "capacity": get_path(current, "sku.capacity"),
        }

    # ---- az -----------------------------------------------------------------------------------
    def _where(self) -> list[str]:
        return ["--name", self.account, "--resource-group", self.resource_group,
                "--deployment-name", self.name]

    def az_read(self) -> AzCommand:
        return az("cognitiveservices", "account", "deployment", "show", *self._where(), read_only=True)

    def az_create(self) -> list[AzCommand]:
        m = self.model
        return [
            az("cognitiveservices", "account", "deployment", "create", *self._where(),
               "--model-format", "OpenAI", "--model-name", m.model, "--model-version", self.version_arg(),
               "--sku-name", m.sku, "--sku-capacity", str(m.capacity)),
            # az sends that PUT and returns without polling (polling=False in azure-cli 2.91): wait
            # for the deployment before the next line changes it (one operation at a time).
            az("resource", "wait", "--created", "--ids", self.arm_id(), "--api-version", self.api_version,
               note="az cognitiveservices account deployment create returns before the deployment exists"),
            az("resource", "update", "--ids", self.arm_id(), "--api-version", self.api_version,
               "--set", f"properties.versionUpgradeOption={VERSION_UPGRADE_OPTION}",
               note="az cognitiveservices account deployment create has no --version-upgrade-option"),
        ]

    def az_delete(self) -> list[AzCommand]:
        return [az("cognitiveservices", "account", "deployment", "delete", *self._where())]
