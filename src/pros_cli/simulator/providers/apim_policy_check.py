"""Validating a policy document the way API Management does before it stores it.

API Management first replaces ``{{name}}`` with named values, then checks the document against
its policy schema and refuses it with 400 ValidationError, one detail per problem in the form
"Error in element 'set-header' on line 19, column 7: <reason>" (microsoft/vscode-apimanagement#145).
References are checked too: "Error in element 'set-backend-service' on line 4, column 4: Backend
with id 'x' could not be found." (Azure/apiops#565); an unknown named value is refused with
"Property 'x' not found." (the wording APIM gives for a backend's credentials, Azure/apiops#491).

The schema is Microsoft's published one (``apim-policy-schema``: policies.xsd, XSD 1.1, checked
with ``xmlschema``), found at ``$PROS_APIM_POLICY_SCHEMA_DIR``, ``$PROS_SHARED_DIR/apim-policy-schema``,
or ``shared/apim-policy-schema`` beside the repository. Policy expressions (``@(...)``, ``@{...}``)
are C# and are replaced by a placeholder first, as ``shared/tools/validate-apim-policy`` does: the
schema checks elements, attributes, nesting and enumerations, not the C# inside expressions.

Without the schema (or without ``xmlschema``), the check is weaker and says so in
:data:`SCHEMA_NOTE`: the document must be well-formed, its root ``policies``, its sections the
four API Management knows, and every element one API Management knows (:data:`KNOWN_ELEMENTS`).
"""

from __future__ import annotations

import functools
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

SECTIONS = ("inbound", "backend", "outbound", "on-error")
# Every policy element and child element in Microsoft's policy reference, for the check without
# the schema.
KNOWN_ELEMENTS = frozenset(
    [
        "policies",
        "inbound",
        "backend",
        "outbound",
        "on-error",
        "base",
        "authentication-basic",
        "authentication-certificate",
        "authentication-managed-identity",
        "authentication-token",
        "authentication-token-store",
        "azure-openai-emit-token-metric",
        "azure-openai-semantic-cache-lookup",
        "azure-openai-semantic-cache-store",
        "azure-openai-token-limit",
        "llm-emit-token-metric",
        "llm-token-limit",
        "llm-semantic-cache-lookup",
        "llm-semantic-cache-store",
        "llm-content-safety",
        "block",
        "cache-lookup",
        "cache-lookup-value",
        "cache-remove-value",
        "cache-store",
        "cache-store-value",
        "check-header",
        "choose",
        "when",
        "otherwise",
        "cors",
        "allowed-origins",
        "origin",
        "allowed-methods",
        "method",
        "allowed-headers",
        "header",
        "expose-headers",
        "cosmosdb-data-source",
        "cross-domain",
        "emit-metric",
        "dimension",
        "find-and-replace",
        "forward-request",
        "get-authorization-context",
        "graphql-data-source",
        "http-data-source",
        "include-fragment",
        "invoke-dapr-binding",
        "invoke-request",
        "ip-filter",
        "address",
        "address-range",
        "json-to-xml",
        "jsonp",
        "limit-concurrency",
        "log-to-eventhub",
        "mock-response",
        "proxy",
        "publish-event",
        "publish-to-dapr",
        "quota",
        "quota-by-key",
        "api",
        "operation",
        "rate-limit",
        "rate-limit-by-key",
        "redirect-content-urls",
        "retry",
        "return-response",
        "rewrite-uri",
        "send-one-way-request",
        "send-request",
        "set-backend-service",
        "set-body",
        "set-header",
        "set-method",
        "set-query-parameter",
        "set-request-metric-dimension-value",
        "set-status",
        "set-url",
        "set-variable",
        "sql-data-source",
        "trace",
        "metadata",
        "message",
        "validate-azure-ad-token",
        "validate-client-certificate",
        "validate-content",
        "validate-graphql-request",
        "validate-headers",
        "validate-jwt",
        "validate-odata-request",
        "validate-parameters",
        "validate-status-code",
        "wait",
        "xml-to-json",
        "value",
        "url",
        "body",
        "headers",
        "parameter",
        "parameters",
        "path",
        "query",
        "openid-config",
        "issuer-signing-keys",
        "key",
        "decryption-keys",
        "audiences",
        "audience",
        "issuers",
        "issuer",
        "required-claims",
        "claim",
        "client-application-ids",
        "application-id",
        "backend-application-ids",
        "tenant-id",
        "identities",
        "identity",
        "content",
        "content-type-map",
        "type",
        "schema-ref",
        "set-backend-service",
        "request",
        "response",
        "entity-tag-value",
    ]
)


def schema_dir() -> Path | None:
    env = os.environ.get("PROS_APIM_POLICY_SCHEMA_DIR")
    candidates = [Path(env)] if env else []
    shared = os.environ.get("PROS_SHARED_DIR")
    if shared:
        candidates.append(Path(shared) / "apim-policy-schema")
    repo = Path(__file__).resolve().parents[4]  # src/pros_cli/simulator/providers -> the repository
    candidates.append(repo.parent / "shared" / "apim-policy-schema")  # beside a source checkout
    return next((c for c in candidates if (c / "policies.xsd").is_file()), None)


def _cache_file(directory: Path, version: str) -> Path:
    """Where the built schema of ``directory`` is kept between processes: named by the xmlschema
    and Python versions and a hash of every schema file, so any change builds it afresh."""
    import hashlib
    import sys

    digest = hashlib.sha256(f"{version} {sys.version}".encode())
    for xsd in sorted(directory.glob("*.xsd")):
        digest.update(xsd.name.encode() + b"\0" + xsd.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "pros" / "apim-policy-schema" / f"{digest.hexdigest()[:32]}.pickle"


@functools.lru_cache(maxsize=4)
def _schema(directory: str) -> Any:
    """Building the schema (about 90 XSD 1.1 files) takes ~0.5 s of CPU in every process that
    checks a policy; a built one, pickled, loads in ~0.05 s. The cache is only an optimisation:
    anything wrong with it and the schema is built from the files again."""
    import pickle

    import xmlschema

    cache = _cache_file(Path(directory), getattr(xmlschema, "__version__", "?"))
    try:
        loaded = pickle.loads(cache.read_bytes())
        if isinstance(loaded, xmlschema.XMLSchema11):
            return loaded
    except Exception:  # missing, unreadable, or from an incompatible build: build afresh
        pass
    built = xmlschema.XMLSchema11(str(Path(directory) / "policies.xsd"))
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(built, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, cache)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # a read-only home still validates, only more slowly
    return built


def schema() -> Any | None:
    """The loaded schema, or None (no schema files, or no xmlschema package)."""
    directory = schema_dir()
    if directory is None:
        return None
    try:
        return _schema(str(directory))
    except ImportError:
        return None


def schema_note() -> str:
    if schema() is not None:
        return f"validated against API Management's policy schema ({schema_dir()})"
    return (
        "API Management's policy schema is not available (no apim-policy-schema directory or no "
        "xmlschema package): only well-formedness and known element names are checked"
    )


def neutralize_expressions(text: str) -> str:
    """Each ``@(...)`` / ``@{...}`` expression replaced by ``@(x)`` (the C# inside is not XML), as
    shared/tools/validate-apim-policy does. Positions in messages come from the original text."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i] == "@" and i + 1 < n and text[i + 1] in "({":
            opening = text[i + 1]
            closing = ")" if opening == "(" else "}"
            depth, j, quote = 0, i + 1, None
            while j < n:
                c = text[j]
                if quote:
                    if c == "\\":
                        j += 1
                    elif c == quote:
                        quote = None
                elif c in "\"'" and opening == "{":
                    quote = c
                elif c == opening:
                    depth += 1
                elif c == closing:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            out.append("@(x)")
            i = j + 1
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _position(text: str, tag: str, occurrence: int = 0) -> tuple[int, int]:
    """Line and column of the ``occurrence``-th ``<tag`` in ``text`` (1-based)."""
    matches = [m.start() for m in re.finditer(rf"<{re.escape(tag)}(?=[\s/>])", text)]
    if not matches:
        return 1, 1
    at = matches[min(occurrence, len(matches) - 1)]
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def _error(text: str, tag: str, reason: str, occurrence: int = 0) -> tuple[str, str]:
    line, column = _position(text, tag, occurrence)
    return tag, f"Error in element '{tag}' on line {line}, column {column}: {reason}"


def validate_policy(text: str, *, named_values: dict[str, str], backends: set[str]) -> list[tuple[str, str]]:
    """Problems as (target, message), in API Management's words; empty when the policy is valid.

    ``named_values``: display name (lower-case) -> value; ``backends``: backend ids (lower-case)."""
    problems: list[tuple[str, str]] = []
    for name in sorted({m.strip() for m in re.findall(r"\{\{([^{}]+)\}\}", text)}):
        if name.lower() not in named_values:
            problems.append(("policy", f"Property '{name}' not found."))
    if problems:
        return problems
    resolved = re.sub(r"\{\{([^{}]+)\}\}", lambda m: named_values[m.group(1).strip().lower()], text)
    neutral = neutralize_expressions(resolved)
    try:
        root = ET.fromstring(neutral)
    except ET.ParseError as exc:
        return [("policy", f"The policy document is not well-formed XML: {exc}.")]
    loaded = schema()
    if loaded is not None:
        compact = re.sub(r">\s+</", "></", neutral)
        for err in list(loaded.iter_errors(compact))[:10]:
            path = str(getattr(err, "path", "") or "")
            tag = path.rstrip("/").rsplit("/", 1)[-1] or root.tag
            tag = re.sub(r"\[\d+\]$", "", tag)
            problems.append(_error(resolved, tag, str(getattr(err, "reason", None) or err)))
    else:
        problems += _basic_checks(root, resolved)
    if problems:
        return problems
    for index, element in enumerate(root.iter("set-backend-service")):
        backend = element.get("backend-id")
        if backend and not backend.startswith("@") and backend.lower() not in backends:
            problems.append(
                _error(
                    resolved, "set-backend-service", f"Backend with id '{backend}' could not be found.", index
                )
            )
    return problems


def _basic_checks(root: ET.Element, text: str) -> list[tuple[str, str]]:
    if root.tag != "policies":
        return [_error(text, root.tag, "The root element of a policy document must be 'policies'.")]
    problems = []
    for child in root:
        if child.tag not in SECTIONS:
            problems.append(
                _error(
                    text, child.tag, f"'{child.tag}' is not a policy section; allowed: {', '.join(SECTIONS)}."
                )
            )
    seen: dict[str, int] = {}
    for element in root.iter():
        occurrence = seen.get(element.tag, 0)
        seen[element.tag] = occurrence + 1
        if element.tag not in KNOWN_ELEMENTS:
            problems.append(_error(text, element.tag, f"Unknown policy element '{element.tag}'.", occurrence))
    return problems
