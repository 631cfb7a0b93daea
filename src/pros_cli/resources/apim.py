"""API Management: the regional gateways, their soft-deleted names, and the custom domain.

Three graph nodes:

- :class:`ApiManagementService`, one per region. Creating one takes 30-90 minutes, so a create
  is a long-running operation pros can leave running (``--no-wait``) and resume; while it runs,
  ARM reports provisioningState ``Created``/``Activating`` and pros waits instead of acting. A
  deleted service keeps its name for 48 hours: the preflight says so and prints the purge
  command, or restores the service when asked to.
- :class:`KeyVaultRef`, the operator's Key Vault holding the custom domain's certificate. pros
  only reads it (``external``): it lives in the operator's resource group, found by name.
- :class:`ApimCustomDomain`, the gateway hostname on one service, with its certificate read
  from Key Vault by the service's managed identity. A second node on the same service because
  it can only be set once that identity has been granted access to the vault.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none
from pros_cli.echo import AzCommand, az, az_rest, tags_args
from pros_cli.resources.base import FieldDiff, Resource, get_path, same
from pros_cli.spec import KV_SECRET_RE, Spec

API_VERSION = "2024-05-01"  # azure-mgmt-apimanagement 5.0.0
SKU_FAMILY = {
    "Developer": "classic",
    "Basic": "classic",
    "Standard": "classic",
    "Premium": "classic",
    "BasicV2": "v2",
    "StandardV2": "v2",
}
AZ_CLI_SKUS = ("Developer", "Basic", "Standard", "Premium")  # az apim rejects the v2 tiers
# provisioningState values of a service whose operation is still running. Others that are not
# Succeeded/Failed (Stopped, TerminationFailed, ...) are not going to change by waiting.
RUNNING_STATES = {"created", "activating", "creating", "updating", "deleting", "terminating"}
KEY_VAULT_TYPE = "Microsoft.KeyVault/vaults"
GATEWAY_STATUS_PATH = "/status-0123456789abcdef"  # every gateway answers 200 here


def apim_in_progress(body: dict[str, Any]) -> bool:
    """Is an operation running on this service? ARM's provisioningState says Created, then
    Activating, while a service is created; a delete keeps Succeeded and shows its target."""
    state = str(get_path(body, "properties.provisioningState") or "").lower()
    target = str(get_path(body, "properties.targetProvisioningState") or "")
    return state in RUNNING_STATES or (bool(target) and state != "failed")


def default_hostname(service_name: str) -> str:
    return f"{service_name.lower()}.azure-api.net"


def _az_show(name: str, resource_group: str) -> AzCommand:
    return az("apim", "show", "--name", name, "--resource-group", resource_group, read_only=True)


def _service_client(clients: Any) -> Any:
    return clients.get("apim").api_management_service


def _get_service(clients: Any, resource_group: str, name: str) -> dict[str, Any] | None:
    return get_or_none(_service_client(clients).get, resource_group, name)


class ApiManagementService(Resource):
    """One regional API Management service with a system-assigned identity."""

    typical_seconds = 2700
    arm_type = "Microsoft.ApiManagement/service"
    client_kind = "apim"
    api_version = API_VERSION
    label = "API Management service"
    managed_fields = (
        "location",
        "sku.name",
        "sku.capacity",
        "properties.publisherEmail",
        "properties.publisherName",
    )
    immutable_fields = ("location",)
    patch_whole = ("sku",)  # the API wants name and capacity together
    globally_unique = True

    def __init__(self, spec: Spec, **kwargs: Any):
        kwargs.setdefault("name", spec.names.apim(kwargs["region"]))
        super().__init__(spec, **kwargs)
        # Set by preflight: the create restores the soft-deleted service of this name.
        self.restoring = False

    # ---- desired state ----------------------------------------------------------------------
    def desired(self) -> dict[str, Any]:
        return {
            "location": self.region,
            "sku": {"name": self.spec.apim_sku, "capacity": self.spec.apim_capacity},
            "identity": {"type": "SystemAssigned"},
            "tags": self.desired_tags(),
            "properties": {
                "publisherEmail": self.spec.publisher_email,
                "publisherName": self.spec.publisher_name,
            },
        }

    def _create_body(self) -> dict[str, Any]:
        body = self.desired()
        if self.restoring:
            # ARM ignores every other property of a restore; the rest is still required to parse.
            body["properties"]["restore"] = True
        return body

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        diffs = []
        for d in super().diff(current, adopted=adopted):
            if d.path == "sku.name" and _family(d.current) != _family(d.desired):
                d = FieldDiff(d.path, d.current, d.desired, immutable=True)  # no in-place migration
            diffs.append(d)
        identity = str(get_path(current, "identity.type") or "")
        if "systemassigned" not in identity.replace(" ", "").lower():
            diffs.append(FieldDiff("identity.type", identity or None, "SystemAssigned"))
        return diffs

    def in_progress(self, current: dict[str, Any]) -> bool:
        return apim_in_progress(current)

    def health(self, current: dict[str, Any], clients: Any) -> tuple[str, str]:
        """Succeeded, and the gateway answers its status path (every gateway answers
        ``/status-0123456789abcdef`` with 200 once activated)."""
        level, detail = super().health(current, clients)
        if level != "ok":
            return level, detail
        host = self.outputs(current).get("gateway_host")
        if not host:
            return "degraded", "no gateway URL"
        url = f"https://{host}{GATEWAY_STATUS_PATH}"
        answer = clients.probe(url)
        if answer == 200:
            return "ok", f"gateway answers {GATEWAY_STATUS_PATH}"
        return "degraded", f"gateway {url} answered {answer}"

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        url = get_path(current, "properties.gatewayUrl")
        return {
            "gateway_url": url,
            "gateway_host": urlsplit(str(url)).hostname if url else None,
            "principal_id": get_path(current, "identity.principalId"),
        }

    # ---- calls ------------------------------------------------------------------------------
    def read(self, clients: Any) -> dict[str, Any] | None:
        return _get_service(clients, self.resource_group, self.name)

    def deleted_service(self, clients: Any) -> dict[str, Any] | None:
        """The soft-deleted service holding this name in this region, if any."""
        return get_or_none(clients.get("apim").deleted_services.get_by_name, self.name, str(self.region))

    def check_name(self, clients: Any) -> str | None:
        result = _service_client(clients).check_name_availability({"name": self.name}, cls=raw_json)
        if result.get("nameAvailable"):
            return None
        return f"{result.get('reason') or 'unavailable'}: {result.get('message') or 'name is taken'}"

    def preflight(self, clients: Any) -> str | None:
        deleted = self.deleted_service(clients)
        if deleted is not None:
            if self.spec.restore_soft_deleted:
                self.restoring = True
                return None
            props = deleted.get("properties") or {}
            return (
                f"the name {self.name!r} of {self.describe()} is held by a soft-deleted API Management "
                f"service (deleted {props.get('deletionDate')}; Azure purges it at "
                f"{props.get('scheduledPurgeDate')}). Purge it to create a new one: "
                f"{self.az_purge().render()} - or restore it as it was with --restore-soft-deleted"
            )
        return super().preflight(clients)

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        if continuation_token is None and self.spec.restore_soft_deleted and not self.restoring:
            # A resumed or re-planned create did not run preflight in this process.
            self.restoring = self.deleted_service(clients) is not None
        return _service_client(clients).begin_create_or_update(
            self.resource_group,
            self.name,
            self._create_body(),
            cls=raw_json,
            continuation_token=continuation_token,
        )

    def patch_body(self, current: dict[str, Any], diffs: list[FieldDiff]) -> dict[str, Any]:
        patch = super().patch_body(current, diffs)
        if "identity" in patch:  # keep a user-assigned identity the operator added beside ours
            users = "userassigned" in str(get_path(current, "identity.type") or "").lower()
            patch["identity"] = {"type": "SystemAssigned, UserAssigned" if users else "SystemAssigned"}
        return patch

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return _service_client(clients).begin_update(
            self.resource_group, self.name, self.patch_body(current, diffs), cls=raw_json
        )

    def delete(self, clients: Any) -> Any:
        """Soft-deletes: the name stays reserved for 48 hours unless purged (:meth:`purge`)."""
        return _service_client(clients).begin_delete(self.resource_group, self.name)

    def purge(self, clients: Any) -> Any:
        """Free the name of a deleted service now instead of after 48 hours."""
        return clients.get("apim").deleted_services.begin_purge(self.name, str(self.region))

    # ---- az ---------------------------------------------------------------------------------
    def az_read(self) -> AzCommand:
        return _az_show(self.name, self.resource_group)

    def az_purge(self) -> AzCommand:
        where = ("--service-name", self.name, "-l", str(self.region))
        show = az("apim", "deletedservice", "show", *where, read_only=True)
        return dataclasses.replace(az("apim", "deletedservice", "purge", *where), guard=show)

    def az_create(self) -> list[AzCommand]:
        if self.restoring or self.spec.apim_sku not in AZ_CLI_SKUS:
            # az apim create has no restore flag and rejects --sku-name BasicV2/StandardV2.
            return [az_rest("PUT", self.arm_id(), self.api_version, self._create_body())]
        return [
            az(
                "apim",
                "create",
                "--name",
                self.name,
                "--resource-group",
                self.resource_group,
                "--location",
                str(self.region),
                "--publisher-email",
                self.spec.publisher_email,
                "--publisher-name",
                self.spec.publisher_name,
                "--sku-name",
                self.spec.apim_sku,
                "--sku-capacity",
                str(self.spec.apim_capacity),
                "--enable-managed-identity",
                "true",
                *tags_args(self.desired_tags()),
            )
        ]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        patch = self.patch_body(current, diffs)
        if self.spec.apim_sku not in AZ_CLI_SKUS:
            return [az_rest("PATCH", self.arm_id(), self.api_version, patch)]
        args: list[str] = []
        if "sku" in patch:
            args += ["--sku-name", patch["sku"]["name"], "--sku-capacity", str(patch["sku"]["capacity"])]
        props = patch.get("properties", {})
        if "publisherEmail" in props:
            args += ["--publisher-email", str(props["publisherEmail"])]
        if "publisherName" in props:
            args += ["--publisher-name", str(props["publisherName"])]
        if "tags" in patch:
            args += tags_args(patch["tags"])
        # az apim update removes the managed identity unless told to keep it.
        args += ["--enable-managed-identity", "true"]
        return [az("apim", "update", "--name", self.name, "--resource-group", self.resource_group, *args)]

    def az_delete(self) -> list[AzCommand]:
        return [az("apim", "delete", "--name", self.name, "--resource-group", self.resource_group, "--yes")]


def _family(sku: Any) -> str:
    return SKU_FAMILY.get(str(sku), str(sku))


class KeyVaultRef(Resource):
    """The operator's Key Vault named by ``spec.certificate_secret_id``; read, never written."""

    typical_seconds = 1
    arm_type = KEY_VAULT_TYPE
    client_kind = "resource"
    api_version = "2025-04-01"  # the resource listing it is found with (azure-mgmt-resource 26)
    label = "Key Vault"
    managed_fields = ()
    tagged = False
    external = True

    def __init__(self, spec: Spec, **kwargs: Any):
        kwargs.setdefault("name", vault_name(spec))
        kwargs.setdefault("region", None)
        super().__init__(spec, **kwargs)
        self.found: dict[str, Any] | None = None

    def arm_id(self) -> str:
        """The vault's id as found in the subscription: its resource group is the operator's,
        not known before the lookup. Not found: the subscription-level form of what was sought."""
        if self.found is not None:
            return str(self.found["id"])
        return f"/subscriptions/{self.subscription_id}/providers/{KEY_VAULT_TYPE}/{self.name}"

    def describe(self) -> str:
        return f"Key Vault {self.name} (from --certificate-secret-id)"

    def desired(self) -> dict[str, Any]:
        """Nothing: pros reads the vault and never changes it."""
        return {}

    def _filter(self) -> str:
        return f"resourceType eq '{KEY_VAULT_TYPE}' and name eq '{self.name}'"

    def read(self, clients: Any) -> dict[str, Any] | None:
        found = [item.as_dict() for item in self.client(clients).resources.list(filter=self._filter())]
        matches = [v for v in found if str(v.get("name", "")).lower() == self.name.lower()]
        self.found = matches[0] if matches else None
        return self.found

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        raise RuntimeError(f"{self.describe()} is the operator's; pros never creates it")

    def delete(self, clients: Any) -> Any:
        raise RuntimeError(f"{self.describe()} is the operator's; pros never deletes it")

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {"vault_id": (current or {}).get("id")}

    def az_read(self) -> AzCommand:
        return az("resource", "list", "--resource-type", KEY_VAULT_TYPE, "--name", self.name, read_only=True)

    def az_create(self) -> list[AzCommand]:
        return []  # never created: external

    def az_delete(self) -> list[AzCommand]:
        return []  # never deleted: external


def vault_name(spec: Spec) -> str:
    match = KV_SECRET_RE.match(spec.certificate_secret_id or "")
    if match is None:
        raise ValueError("a Key Vault reference needs spec.certificate_secret_id")
    return match.group("vault")


def versionless_secret_id(secret_id: str) -> str:
    """APIM polls a versionless secret id for new versions (rotation); a versioned one pins."""
    match = KV_SECRET_RE.match(secret_id)
    if match is None:
        raise ValueError(f"not a Key Vault secret id: {secret_id!r}")
    return f"https://{match.group('vault')}.vault.azure.net/secrets/{match.group('name')}"


class ApimCustomDomain(Resource):
    """``spec.custom_domain`` as a gateway (Proxy) hostname of one service, certificate from Key
    Vault. Read is the service itself; only that one hostname entry is compared and written."""

    typical_seconds = 900
    arm_type = "Microsoft.ApiManagement/service"
    client_kind = "apim"
    api_version = API_VERSION
    label = "API Management custom domain"
    managed_fields = ()
    tagged = False  # the service's tags belong to the service node
    DIFF_KEYS: ClassVar[tuple[str, ...]] = (
        "type",
        "hostName",
        "keyVaultId",
        "defaultSslBinding",
        "negotiateClientCertificate",
    )

    def __init__(self, spec: Spec, **kwargs: Any):
        kwargs.setdefault("name", spec.names.apim(kwargs["region"]))
        super().__init__(spec, **kwargs)

    @property
    def hostname(self) -> str:
        return str(self.spec.custom_domain)

    def describe(self) -> str:
        return f"{self.label} {self.hostname} on {self.name}" + (f" ({self.region})" if self.region else "")

    def desired_entry(self) -> dict[str, Any]:
        return {
            "type": "Proxy",
            "hostName": self.hostname,
            "keyVaultId": versionless_secret_id(str(self.spec.certificate_secret_id)),
            "certificateSource": "KeyVault",
            # Clients that arrive through Traffic Manager use this name: it gets the default binding.
            "defaultSslBinding": True,
            "negotiateClientCertificate": False,
        }

    def desired(self) -> dict[str, Any]:
        return {"properties": {"hostnameConfigurations": [self.desired_entry()]}}

    def _entry(self, current: dict[str, Any] | None) -> dict[str, Any] | None:
        for entry in get_path(current, "properties.hostnameConfigurations") or []:
            if entry.get("type") == "Proxy" and str(entry.get("hostName", "")).lower() == self.hostname:
                return entry
        return None

    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        want = self.desired_entry()
        have = self._entry(current)
        path = f"hostnameConfigurations[{self.hostname}]"
        if have is None:
            return [FieldDiff(path, None, want)]
        have_id = str(have.get("keyVaultId") or "").rstrip("/").lower()
        if have_id != want["keyVaultId"].lower() or not all(
            same(have.get(k), want[k]) for k in self.DIFF_KEYS if k != "keyVaultId"
        ):
            return [FieldDiff(path, {k: have.get(k) for k in self.DIFF_KEYS}, want)]
        return []

    def in_progress(self, current: dict[str, Any]) -> bool:
        return apim_in_progress(current)

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        entry = self._entry(current) or {}
        certificate = entry.get("certificate") or {}
        return {
            "custom_domain": entry.get("hostName"),
            "certificate_thumbprint": certificate.get("thumbprint"),
            "certificate_expiry": certificate.get("expiry"),
        }

    def _hostnames(self, current: dict[str, Any] | None, *, with_custom: bool) -> list[dict[str, Any]]:
        """Every hostname the service keeps (its default one always), this one replaced or
        removed. Read-only fields are not sent back."""
        default = default_hostname(self.name)
        kept = [
            {k: v for k, v in e.items() if k != "certificateStatus"}
            for e in get_path(current, "properties.hostnameConfigurations") or []
            if str(e.get("hostName", "")).lower() not in (self.hostname, default)
        ]
        out = [
            {
                "type": "Proxy",
                "hostName": default,
                "negotiateClientCertificate": False,
                "defaultSslBinding": not with_custom,
                "certificateSource": "BuiltIn",
            },
            *kept,
        ]
        if with_custom:
            out.append(self.desired_entry())
        return out

    def _patch_body(self, current: dict[str, Any] | None, *, with_custom: bool = True) -> dict[str, Any]:
        return {"properties": {"hostnameConfigurations": self._hostnames(current, with_custom=with_custom)}}

    # ---- calls ------------------------------------------------------------------------------
    def read(self, clients: Any) -> dict[str, Any] | None:
        return _get_service(clients, self.resource_group, self.name)

    def _begin_patch(self, clients: Any, body: dict[str, Any], token: str | None = None) -> Any:
        return _service_client(clients).begin_update(
            self.resource_group, self.name, body, cls=raw_json, continuation_token=token
        )

    # API Management reads the certificate with its identity when the hostname is set; a grant made
    # moments ago takes up to ~10 minutes to reach Key Vault (see resources/propagation.py): wait for
    # it, bounded, instead of failing. Seconds; scaled down against the simulator.
    propagation_bound: ClassVar[float] = 900.0
    propagation_retry: ClassVar[float] = 30.0
    simulator_delay_scale: ClassVar[float] = 0.01

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        if continuation_token is not None:
            return self._begin_patch(clients, {}, continuation_token)
        from pros_cli.resources import propagation

        scale = self.simulator_delay_scale if clients.settings.kind == "simulator" else 1.0
        # Read-modify-write on the service's hostname list: read it now, not at plan time.
        return propagation.retry_until_propagated(
            lambda: self._begin_patch(clients, self._patch_body(self.read(clients))),
            denied=propagation.key_vault_denied,
            what=self.describe(),
            since=propagation.granted_at(self.inputs),
            bound=self.propagation_bound * scale,
            delay=self.propagation_retry * scale,
            notice=propagation.notifier(clients),
        )

    def update(self, clients: Any, current: dict[str, Any], diffs: list[FieldDiff]) -> Any:
        return self.create(clients)

    def delete(self, clients: Any) -> Any:
        """Remove the hostname (the service stays). Nothing to do when it is not configured."""
        current = self.read(clients)
        if current is None or self._entry(current) is None:
            return None
        return self._begin_patch(clients, self._patch_body(current, with_custom=False))

    # ---- az ---------------------------------------------------------------------------------
    def az_read(self) -> AzCommand:
        return _az_show(self.name, self.resource_group)

    def az_create(self) -> list[AzCommand]:
        # az apim has no command for hostnames: the same PATCH as az rest.
        return [az_rest("PATCH", self.arm_id(), self.api_version, self._patch_body(None))]

    def az_update(self, current: dict[str, Any], diffs: list[FieldDiff]) -> list[AzCommand]:
        return [az_rest("PATCH", self.arm_id(), self.api_version, self._patch_body(current))]

    def az_delete(self) -> list[AzCommand]:
        return [az_rest("PATCH", self.arm_id(), self.api_version, self._patch_body(None, with_custom=False))]
