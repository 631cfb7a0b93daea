"""The Azure OpenAI inference API on one gateway, imported from an OpenAPI document.

The import is a PUT of the API with ``format`` + ``value`` (the document inline); API Management
creates the API's operations from it, and the import is a long-running operation
(ApiManagementCreateApiUsingOai3Import.json). The subscription key is taken from the ``api-key``
header, so existing Azure OpenAI clients work unchanged.

When pros imports again, and why. Azure cannot return the document an API was imported from, so:

- the SHA-256 of the document's content is recorded in the state file when the import succeeds;
  a different (or no) recorded hash means the file changed: import again;
- drift of the live API is found by reading it: its own settings (path, protocols, subscription
  settings, service URL, display name) and its operations, compared as (method, URL path) with the
  operations the document defines. A deleted, added or re-pointed operation, or a changed
  setting, imports the document again, which restores them all.

Edits inside an operation that keep its method and URL (a changed parameter description) are not
detected; the document is the reference and the next change to it re-imports everything.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pros_cli.azure.clients import raw_json
from pros_cli.azure.errors import get_or_none, is_not_found
from pros_cli.echo import AzCommand, az
from pros_cli.errors import UsageError
from pros_cli.resources.apim_child import ApimChild, call
from pros_cli.resources.base import FieldDiff, get_path, same
from pros_cli.spec import Spec

API_TYPE = "Microsoft.ApiManagement/service/apis"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
DISPLAY_NAME = "Azure OpenAI"
_TEMPLATE_PARAM = re.compile(r"\{[^}]*\}")
# az apim api import --specification-format for each REST import format.
AZ_FORMATS = {"openapi+json": "OpenApiJson", "openapi": "OpenApi", "swagger-json": "Swagger"}


def operation_key(method: str, url: str) -> tuple[str, str]:
    """(METHOD, path) with template parameter names and any query template dropped: the same
    operation whatever API Management named its parameters."""
    path = str(url).split("?", 1)[0].rstrip("/") or "/"
    return str(method).upper(), _TEMPLATE_PARAM.sub("{}", path)


@dataclass(frozen=True)
class ApiDefinition:
    """An OpenAPI document read from disk, checked, with what pros compares."""

    path: Path
    text: str
    format: str  # the REST import format: openapi+json, openapi (YAML) or swagger-json
    operations: frozenset[tuple[str, str]]
    title: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def load_definition(path: Path) -> ApiDefinition:
    """Read and check an OpenAPI 3 (JSON or YAML) or Swagger 2.0 (JSON) document; a bad file is a
    UsageError naming the problem."""
    hint = "pass --spec-file with an OpenAPI 3 (JSON or YAML) or Swagger 2.0 JSON document"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"API definition {path} does not exist", hint=hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read API definition {path}: {exc}", hint=hint) from None
    doc: Any
    try:
        doc, yaml_text = json.loads(text), False
    except ValueError:
        doc, yaml_text = _yaml(path, text, hint), True
    if not isinstance(doc, dict):
        raise UsageError(f"API definition {path} is not an OpenAPI document (no top-level object)", hint=hint)
    if str(doc.get("openapi", "")).startswith("3."):
        fmt = "openapi" if yaml_text else "openapi+json"
    elif str(doc.get("swagger", "")) == "2.0" and not yaml_text:
        fmt = "swagger-json"
    else:
        raise UsageError(
            f"API definition {path} is neither OpenAPI 3.x nor Swagger 2.0 JSON "
            f"(openapi={doc.get('openapi')!r}, swagger={doc.get('swagger')!r})",
            hint=hint,
        )
    paths = doc.get("paths")
    operations = frozenset(
        operation_key(method, url)
        for url, item in (paths.items() if isinstance(paths, dict) else ())
        if isinstance(item, dict)
        for method in item
        if method.lower() in HTTP_METHODS
    )
    if not operations:
        raise UsageError(f"API definition {path} defines no operations (its 'paths' are empty)", hint=hint)
    title = str((doc.get("info") or {}).get("title") or DISPLAY_NAME)
    return ApiDefinition(path.resolve(), text, fmt, operations, title)


def _yaml(path: Path, text: str, hint: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise UsageError(
            f"API definition {path} is not JSON, and reading YAML needs PyYAML (pip install pyyaml)",
            hint=hint,
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(
            f"API definition {path} is neither valid JSON nor valid YAML: {exc}", hint=hint
        ) from None


class OpenAIApi(ApimChild):
    """``service/apis/{api_id}`` imported from ``definition``."""

    arm_type = API_TYPE
    collection = "apis"
    label = "API Management API"
    typical_seconds = 30.0

    def __init__(
        self,
        spec: Spec,
        *,
        definition: ApiDefinition,
        api_path: str,
        key_header: str,
        key_query: str,
        service_url: Callable[[Mapping[str, dict[str, Any] | None]], str],
        **kwargs: Any,
    ):
        super().__init__(spec, **kwargs)
        self.definition = definition
        self.api_path = api_path
        self.key_header = key_header
        self.key_query = key_query
        self.service_url_of = service_url
        self.recorded_sha256: str | None = None
        self.live_operations: frozenset[tuple[str, str]] | None = None

    @property
    def service_url(self) -> str:
        return self.service_url_of(self.inputs)

    def settings(self) -> dict[str, Any]:
        """The API's own settings pros manages (everything but the document)."""
        return {
            "path": self.api_path,
            "displayName": DISPLAY_NAME,
            "protocols": ["https"],
            "subscriptionRequired": True,
            "subscriptionKeyParameterNames": {"header": self.key_header, "query": self.key_query},
            "serviceUrl": self.service_url,
        }

    def desired(self) -> dict[str, Any]:
        return {
            "properties": {"format": self.definition.format, "value": self.definition.text, **self.settings()}
        }

    # ---- what the state file remembers ------------------------------------------------------
    def remember(self, recorded: Mapping[str, Any] | None) -> None:
        """The engine hands over this resource's state entry before the diff."""
        outputs = (recorded or {}).get("outputs") or {}
        self.recorded_sha256 = (
            outputs.get("definition_sha256") if (recorded or {}).get("status") == "succeeded" else None
        )

    # ---- diff -------------------------------------------------------------------------------
    def diff(self, current: dict[str, Any], *, adopted: bool = False) -> list[FieldDiff]:
        have = current.get("properties") or {}
        diffs: list[FieldDiff] = []
        for key, want in self.settings().items():
            got = have.get(key)
            if key == "protocols":
                equal = sorted(str(p).lower() for p in got or []) == sorted(want)
            elif key == "serviceUrl":
                equal = str(got or "").rstrip("/").lower() == want.rstrip("/").lower()
            else:
                equal = same(got, want)
            if not equal:
                diffs.append(FieldDiff(f"properties.{key}", got, want))
        if self.recorded_sha256 != self.definition.sha256:
            was = f"sha256 {self.recorded_sha256[:12]}" if self.recorded_sha256 else "not recorded"
            diffs.append(
                FieldDiff(
                    "definition", was, f"{self.definition.path.name} sha256 {self.definition.sha256[:12]}"
                )
            )
        live = self.live_operations
        if live is not None and live != self.definition.operations:
            missing = sorted(self.definition.operations - live)
            extra = sorted(live - self.definition.operations)
            diffs.append(
                FieldDiff(
                    "operations",
                    f"{len(extra)} not in the definition: {_ops(extra)}"
                    if extra
                    else f"{len(live)} operations",
                    f"{len(missing)} missing: {_ops(missing)}"
                    if missing
                    else f"{len(self.definition.operations)}",
                )
            )
        return diffs

    # ---- calls ------------------------------------------------------------------------------
    def read(self, clients: Any) -> dict[str, Any] | None:
        apim = self.client(clients)
        current = get_or_none(apim.api.get, *self.where(), self.name)
        self.live_operations = None
        if current is not None:
            self.live_operations = frozenset(
                operation_key(op.method, op.url_template)
                for op in apim.api_operation.list_by_api(*self.where(), self.name)
            )
        return current

    def create(self, clients: Any, *, continuation_token: str | None = None) -> Any:
        return call(
            f"importing {self.describe()} from {self.definition.path}",
            self.client(clients).api.begin_create_or_update,
            *self.where(),
            self.name,
            self.desired(),
            cls=raw_json,
            continuation_token=continuation_token,
        )

    def delete(self, clients: Any) -> Any:
        try:
            return self.client(clients).api.begin_delete(
                *self.where(), self.name, if_match="*", delete_revisions=True
            )
        except Exception as exc:
            if not is_not_found(exc):
                raise
        return None

    def outputs(self, current: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "path": get_path(current, "properties.path"),
            "definition": str(self.definition.path),
            "definition_sha256": self.definition.sha256,
            "operations": len(self.definition.operations),
        }

    # ---- az ---------------------------------------------------------------------------------
    def az_create(self) -> list[AzCommand]:
        return [
            az(
                "apim",
                "api",
                "import",
                *self.az_where(),
                "--api-id",
                self.name,
                "--path",
                self.api_path,
                "--specification-format",
                AZ_FORMATS[self.definition.format],
                "--specification-path",
                str(self.definition.path),
                "--display-name",
                DISPLAY_NAME,
                "--protocols",
                "https",
                "--service-url",
                self.service_url,
                "--subscription-required",
                "true",
                "--subscription-key-header-name",
                self.key_header,
                "--subscription-key-query-param-name",
                self.key_query,
            )
        ]

    def az_delete(self) -> list[AzCommand]:
        return [az("apim", "api", "delete", *self.az_where(), "--api-id", self.name, "--yes")]


def _ops(ops: list[tuple[str, str]], limit: int = 3) -> str:
    shown = ", ".join(f"{m} {p}" for m, p in ops[:limit])
    return shown + (f" and {len(ops) - limit} more" if len(ops) > limit else "")
