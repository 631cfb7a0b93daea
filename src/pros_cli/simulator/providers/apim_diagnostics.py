"""API Management diagnostics entities (``Microsoft.ApiManagement/service/diagnostics``).

From the API Management REST reference (Diagnostic - Create Or Update) and the templates
reference for service/diagnostics: PUT answers 201 on create and 200 on update, synchronously;
the diagnostic id is ``applicationinsights``, ``azuremonitor`` or ``local``; ``loggerId`` names a
logger of the service (the ``azuremonitor`` diagnostic uses the built-in ``azuremonitor`` logger
[I]); at most 8192 body bytes are logged per message; ``largeLanguageModel`` (from api-version
2024-06-01-preview) has ``logs`` ``enabled``/``disabled`` and, for requests and responses,
``messages`` (only ``all`` exists) with ``maxSizeInBytes`` up to 262144. API Management answers a
refused write with ``ValidationError`` and the reason in ``details``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pros_cli.simulator.core import ArmError, ArmPath
from pros_cli.simulator.providers.apim_common import service_entity

if TYPE_CHECKING:
    from pros_cli.simulator.core import Simulator

Body = dict[str, Any]
TYPE = "Microsoft.ApiManagement/service/diagnostics"
API_VERSIONS = (
    "2025-09-01-preview",
    "2025-03-01-preview",
    "2024-10-01-preview",
    "2024-06-01-preview",
    "2024-05-01",
    "2023-09-01-preview",
    "2022-08-01",
)
NAMES = ("applicationinsights", "azuremonitor", "local")
MAX_BODY_BYTES = 8192
MAX_LLM_MESSAGE_BYTES = 262144


def _invalid(target: str, message: str) -> ArmError:
    # The service puts the reason into details[]; the simulator's error body has no details, so
    # the reason follows the headline.
    return ArmError(
        400, "ValidationError", f"One or more fields contain incorrect values: {target}: {message}"
    )


def _validate(sim: Simulator, parsed: ArmPath, body: Body, old: Body | None) -> None:
    if parsed.name not in NAMES:
        raise _invalid(
            "diagnosticId", f"Diagnostic identifier '{parsed.name}' is not one of {', '.join(NAMES)}."
        )
    props = body.get("properties") or {}
    logger = str(props.get("loggerId") or "")
    if not logger:
        raise _invalid("loggerId", "Logger identifier is required.")
    if parsed.name == "azuremonitor" and not logger.lower().endswith("/loggers/azuremonitor"):
        raise _invalid("loggerId", "The azuremonitor diagnostic must use the azuremonitor logger.")
    service = (parsed.parent_id or "").lower()
    if not logger.lower().startswith(service + "/loggers/"):
        raise _invalid("loggerId", f"Logger '{logger}' does not belong to this service.")
    percentage = (props.get("sampling") or {}).get("percentage")
    if percentage is not None and not 0 <= float(percentage) <= 100:
        raise _invalid("sampling.percentage", "Sampling percentage must be between 0 and 100.")
    for side in ("frontend", "backend"):
        for part in ("request", "response"):
            size = (((props.get(side) or {}).get(part) or {}).get("body") or {}).get("bytes")
            if size is not None and not 0 <= int(size) <= MAX_BODY_BYTES:
                raise _invalid(
                    f"{side}.{part}.body.bytes", f"Body bytes to log must be between 0 and {MAX_BODY_BYTES}."
                )
    llm = props.get("largeLanguageModel")
    if llm is None:
        return
    if str(llm.get("logs") or "") not in ("enabled", "disabled"):
        raise _invalid("largeLanguageModel.logs", "Value must be 'enabled' or 'disabled'.")
    for part in ("requests", "responses"):
        settings = llm.get(part)
        if settings is None:
            continue
        if settings.get("messages") not in (None, "all"):
            raise _invalid(f"largeLanguageModel.{part}.messages", "The only supported value is 'all'.")
        size = settings.get("maxSizeInBytes")
        if size is not None and not 0 <= int(size) <= MAX_LLM_MESSAGE_BYTES:
            raise _invalid(
                f"largeLanguageModel.{part}.maxSizeInBytes",
                f"Message size must be between 0 and {MAX_LLM_MESSAGE_BYTES}.",
            )


def _render(sim: Simulator, body: Body) -> Body:
    body.get("properties", {}).pop("provisioningState", None)
    return body


def llm_logging(sim: Simulator, service_id: str) -> tuple[bool, bool]:
    """(LLM logs on, prompts/completions logged) for a service, from its azuremonitor diagnostic.
    The gateway writes no LLM log record unless ``largeLanguageModel.logs`` is ``enabled`` [I]."""
    stored = sim.get_resource(f"{service_id}/diagnostics/azuremonitor")
    llm = ((stored or {}).get("body", {}).get("properties") or {}).get("largeLanguageModel") or {}
    messages = any((llm.get(part) or {}).get("messages") for part in ("requests", "responses"))
    return llm.get("logs") == "enabled", messages


def register(sim: Simulator) -> None:
    sim.register_type(
        service_entity(
            TYPE,
            API_VERSIONS,  # diagnostics have api-versions of their own
            create_mode="sync",
            validate=_validate,
            render=_render,
        )
    )
