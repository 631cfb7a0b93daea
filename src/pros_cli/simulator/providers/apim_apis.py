"""API Management APIs (``service/apis``), their import from an OpenAPI document, and their
operations (``service/apis/{api}/operations``).

As API Management does:

- an API write is a long-running operation: 201/200 with ``provisioningState: InProgress`` and
  Azure-AsyncOperation (ApiManagementCreateApi.json, ApiManagementCreateApiUsingOai3Import.json);
- ``path`` is required (ApiContractProperties ``required: [path]``, at most 400 characters) and
  unique in the service: "Cannot create API 'x' with the same Path 'p' as API 'y' unless it's a
  part of the same version set" (azure-powershell#11027);
- a PUT with ``format`` + ``value`` imports the document: the API's operations are (re)created
  from its paths, one per method, named by ``operationId``; required query parameters become part
  of the URL template (``?api-version={api-version}``); ``displayName``, ``description`` and
  ``serviceUrl`` default to the document's ``info.title``, ``info.description`` and first server;
  ``format`` and ``value`` are not kept (a GET never returns them);
- the default subscription key names are ``Ocp-Apim-Subscription-Key`` / ``subscription-key``
  and a subscription is required unless ``subscriptionRequired`` is false (ApiContract defaults).

Supported inline formats: ``openapi+json``, ``openapi`` (YAML, needs PyYAML) and ``swagger-json``;
the ``*-link`` formats would make API Management fetch a URL and are not simulated.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmError, ArmPath, TypeSpec, utcnow
from pros_cli.simulator.providers.apim_common import (
    API_VERSIONS,
    ENTITY_ID_RE,
    service_entity,
    service_of,
    validation_error,
)

if TYPE_CHECKING:
    from pros_cli.simulator.core import Simulator

TYPE = "Microsoft.ApiManagement/service/apis"
OPERATION_TYPE = "Microsoft.ApiManagement/service/apis/operations"
FORMATS = (
    "wadl-xml",
    "wadl-link-json",
    "swagger-json",
    "swagger-link-json",
    "wsdl",
    "wsdl-link",
    "openapi",
    "openapi+json",
    "openapi-link",
    "openapi+json-link",
    "graphql-link",
    "odata",
    "odata-link",
    "grpc",
    "grpc-link",
)
SIMULATED_FORMATS = ("openapi+json", "openapi", "swagger-json")
PROTOCOLS = ("http", "https", "ws", "wss")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
DEFAULT_KEY_NAMES = {"header": "Ocp-Apim-Subscription-Key", "query": "subscription-key"}


def _parse(fmt: str, value: Any) -> dict[str, Any]:
    if fmt not in SIMULATED_FORMATS:
        raise ArmError(
            404,
            "SimulatorRouteNotImplemented",
            f"The pros ARM simulator does not simulate API import format '{fmt}'. This is a gap in the "
            "simulator, not an Azure answer.",
        )
    try:
        if fmt == "openapi":
            import yaml

            doc = yaml.safe_load(str(value))
        else:
            doc = json.loads(str(value))
    except ImportError:
        raise ArmError(
            404, "SimulatorRouteNotImplemented", "The simulator needs PyYAML to import YAML."
        ) from None
    except ValueError as exc:
        raise validation_error(f"Parsing error(s): the document is not valid: {exc}") from None
    except Exception as exc:  # yaml.YAMLError
        raise validation_error(f"Parsing error(s): the document is not valid: {exc}") from None
    if not isinstance(doc, dict):
        raise validation_error("Parsing error(s): the document is not an object.")
    is_v3 = str(doc.get("openapi", "")).startswith("3.")
    if fmt == "swagger-json" and str(doc.get("swagger")) != "2.0":
        raise validation_error("Parsing error(s): The input file is not a Swagger 2.0 document.")
    if fmt != "swagger-json" and not is_v3:
        raise validation_error(
            "Parsing error(s): The input OpenAPI file is not valid for the OpenAPI specification "
            "https://github.com/OAI/OpenAPI-Specification/blob/master/versions/3.0.0.md."
        )
    if not isinstance(doc.get("paths"), dict):
        raise validation_error("Parsing error(s): The document has no 'paths' object.")
    return doc


def _resolve(doc: dict[str, Any], item: Any) -> Any:
    """A local ``$ref`` (``#/components/parameters/x``) replaced by what it points to."""
    seen = 0
    while (
        isinstance(item, dict)
        and isinstance(item.get("$ref"), str)
        and item["$ref"].startswith("#/")
        and seen < 20
    ):
        node: Any = doc
        for part in item["$ref"][2:].split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        item, seen = node, seen + 1
    return item


def _operation_name(op: dict[str, Any], method: str, path: str, taken: set[str]) -> str:
    name = str(op.get("operationId") or "")
    if not name or len(name) > 80 or not ENTITY_ID_RE.match(name) or "/" in name:
        slug = re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-")
        name = slug[:80] or method
    base, n = name, 2
    while name.lower() in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name.lower())
    return name


def operations_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations API Management creates from an OpenAPI document (name + properties)."""
    out: list[dict[str, Any]] = []
    taken: set[str] = set()
    for path, item in doc["paths"].items():
        item = _resolve(doc, item)
        if not isinstance(item, dict):
            continue
        shared = [_resolve(doc, p) for p in item.get("parameters") or []]
        for method, op in item.items():
            if method.lower() not in HTTP_METHODS or not isinstance(op, dict):
                continue
            params = {(p.get("in"), p.get("name")): p for p in shared if isinstance(p, dict)}
            params.update(
                {
                    (p.get("in"), p.get("name")): p
                    for p in (_resolve(doc, x) for x in op.get("parameters") or [])
                    if isinstance(p, dict)
                }
            )
            template = [p for (where, _), p in params.items() if where == "path"]
            required_query = [p for (where, _), p in params.items() if where == "query" and p.get("required")]
            url = str(path)
            if required_query:
                url += "?" + "&".join(f"{p['name']}={{{p['name']}}}" for p in required_query)
            out.append(
                {
                    "name": _operation_name(op, method, str(path), taken),
                    "properties": {
                        "displayName": str(
                            op.get("summary") or op.get("operationId") or f"{method.upper()} {path}"
                        )[:300],
                        "method": method.upper(),
                        "urlTemplate": url,
                        "templateParameters": [
                            {
                                "name": p["name"],
                                "type": str((p.get("schema") or {}).get("type") or p.get("type") or "string"),
                                "required": True,
                                "values": [],
                            }
                            for p in [*template, *required_query]
                        ],
                        "description": op.get("description"),
                        "request": {
                            "queryParameters": [
                                {
                                    "name": p["name"],
                                    "type": str((p.get("schema") or {}).get("type") or "string"),
                                    "required": bool(p.get("required")),
                                    "values": [],
                                }
                                for (where, _), p in params.items()
                                if where == "query" and not p.get("required")
                            ],
                            "headers": [],
                            "representations": [],
                        },
                        "responses": [
                            {
                                "statusCode": int(code) if str(code).isdigit() else 200,
                                "description": (r or {}).get("description"),
                                "representations": [],
                                "headers": [],
                            }
                            for code, r in (op.get("responses") or {}).items()
                            if str(code).isdigit()
                        ],
                    },
                }
            )
    return out


def _validate(sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None) -> None:
    props = body.get("properties") or {}
    if len(parsed.name) > 256 or not ENTITY_ID_RE.match(parsed.name):
        raise validation_error(f"'{parsed.name}' is not a valid API identifier.")
    fmt = props.get("format")
    if fmt is not None:
        if fmt not in FORMATS:
            raise validation_error(f"'{fmt}' is not a valid content format.")
        if props.get("value") in (None, ""):
            raise validation_error("'value' is required when 'format' is set.")
        _parse(str(fmt), props["value"])
    path = props.get("path")
    if path is None and old is not None:
        path = (old.get("properties") or {}).get("path")
    if path is None:
        raise validation_error("'path' is required.")
    if len(str(path)) > 400:
        raise validation_error("'path' is longer than 400 characters.")
    for p in props.get("protocols") or []:
        if str(p).lower() not in PROTOCOLS:
            raise validation_error(f"'{p}' is not a valid protocol; allowed: {', '.join(PROTOCOLS)}.")
    name = props.get("displayName")
    if name is not None and not 1 <= len(str(name)) <= 300:
        raise validation_error("'displayName' must be 1-300 characters.")
    _check_path_unique(sim, parsed, str(path), props)


def _check_path_unique(sim: Simulator, parsed: ArmPath, path: str, props: dict[str, Any]) -> None:
    service = service_of(parsed.resource_id).lower() + "/apis/"
    version_set = ((props.get("apiVersionSet") or {}).get("id") or props.get("apiVersionSetId") or "").lower()
    for other in sim.resources_of_type(TYPE):
        other_id = other["body"]["id"]
        if not other_id.lower().startswith(service) or other_id.lower() == parsed.resource_id.lower():
            continue
        other_props = other["body"].get("properties") or {}
        other_set = str(other_props.get("apiVersionSetId") or "").lower()
        if str(other_props.get("path") or "").strip("/").lower() == path.strip("/").lower() and not (
            version_set and version_set == other_set
        ):
            raise validation_error(
                f"Cannot create API '{parsed.name}' with the same Path '{path}' as API "
                f"'{other['body']['name']}' "
                "unless it's a part of the same version set"
            )


def _build(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    props = body["properties"]
    old_props = (old or {}).get("properties") or {}
    fmt, value = props.pop("format", None), props.pop("value", None)
    doc = _parse(str(fmt), value) if fmt is not None else None  # validated already
    props.pop("wsdlSelector", None)
    if doc is not None:
        info = doc.get("info") or {}
        servers = doc.get("servers") or []
        props.setdefault("displayName", info.get("title") or parsed.name)
        if info.get("description"):
            props.setdefault("description", info.get("description"))
        if servers and isinstance(servers[0], dict) and not props.get("serviceUrl"):
            props["serviceUrl"] = servers[0].get("url")
        _replace_operations(sim, parsed.resource_id, operations_of(doc))
    props.setdefault("displayName", parsed.name)
    props.setdefault("path", old_props.get("path"))
    props.setdefault("protocols", ["https"])
    props.setdefault("subscriptionRequired", True)
    props["subscriptionKeyParameterNames"] = {
        **DEFAULT_KEY_NAMES,
        **(props.get("subscriptionKeyParameterNames") or {}),
    }
    props.setdefault("apiRevision", "1")
    props.setdefault("isCurrent", True)
    props.setdefault("type", "http")
    props["lastModified"] = utcnow()
    return body


def _replace_operations(sim: Simulator, api_id: str, operations: list[dict[str, Any]]) -> None:
    prefix = api_id.lower() + "/operations/"
    for key in [
        k for k, r in sim.db["resources"].items() if k.startswith(prefix) and r["type"] == OPERATION_TYPE
    ]:
        sim.db["resources"].pop(key, None)
    for op in operations:
        op_id = f"{api_id}/operations/{op['name']}"
        sim.db["resources"][op_id.lower()] = {
            "type": OPERATION_TYPE,
            "body": {"id": op_id, "type": OPERATION_TYPE, "name": op["name"], "properties": op["properties"]},
        }


def _on_api_deleted(sim: Simulator, stored: dict[str, Any]) -> None:
    """API Management removes a deleted API from every product."""
    from pros_cli.simulator.providers.apim_products import LINK_TYPE

    service = service_of(stored["body"]["id"]).lower()
    name = stored["body"]["name"].lower()
    for key, r in list(sim.db["resources"].items()):
        if (
            r["type"] == LINK_TYPE
            and key.startswith(service + "/products/")
            and key.endswith("/apis/" + name)
        ):
            sim.db["resources"].pop(key, None)


def _validate_operation(
    sim: Simulator, parsed: ArmPath, body: dict[str, Any], old: dict[str, Any] | None
) -> None:
    props = body.get("properties") or {}
    for key in ("displayName", "method", "urlTemplate"):
        if not props.get(key):
            raise validation_error(f"'{key}' is required.")


def _strip_state(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    body.get("properties", {}).pop("provisioningState", None)  # operations report none
    return body


def register(sim: Simulator) -> None:
    sim.register_type(
        service_entity(
            TYPE,
            create_mode="async",
            update_mode="async",
            patch_mode="async",
            # Api_Delete (2024-05-01) answers 202 (long-running) or 204; azure-mgmt-apimanagement
            # 5.0.0's begin_delete accepts nothing else. A delete of an API without revisions
            # in flight completes at once: 204.
            delete_mode="sync",
            delete_status=204,
            provisioning_creating="InProgress",
            provisioning_updating="InProgress",
            validate=_validate,
            build=_build,
            on_deleted=_on_api_deleted,
        )
    )
    sim.register_type(
        TypeSpec(
            OPERATION_TYPE,
            API_VERSIONS,
            parent_type=TYPE,
            tracked=False,
            immutable=(),
            validate=_validate_operation,
            render=_strip_state,
        )
    )
