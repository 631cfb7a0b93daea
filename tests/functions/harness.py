"""The token processor as the Functions host runs it: its module, the decorated function found
through azure-functions' own registry, and Event Grid deliveries as real EventGridEvent objects
made by the library's own converter from the delivered JSON."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum

APP_DIR = Path(__file__).resolve().parents[2] / "functions" / "token_processor"


@cache
def module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("token_processor_function_app", APP_DIR / "function_app.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@cache
def indexed() -> Any:
    """The app's one function as the host indexes it (azure-functions' own registry; indexed once,
    as the host does: a second get_functions() refuses the names it has already seen)."""
    (function,) = module().app.get_functions()
    return function


def bindings() -> list[dict[str, Any]]:
    return [json.loads(b) for b in indexed().get_raw_bindings()]


def processor() -> Any:
    """The user function behind the app's Event Grid trigger."""
    return indexed().get_user_function()


def as_delivered(body: dict[str, Any]) -> func.EventGridEvent:
    """What the Python worker hands the function for one delivered event (Event Grid schema)."""
    body = {"topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.EventGrid/topics/t", **body}
    body.setdefault("metadataVersion", "1")
    event = EventGridEventInConverter.decode(Datum(json.dumps(body), "json"), trigger_metadata={})
    assert isinstance(event, func.EventGridEvent)
    return event


def raw_event(**fields: Any) -> func.EventGridEvent:
    """An EventGridEvent built field by field, for deliveries JSON alone cannot describe."""
    defaults: dict[str, Any] = {
        "id": "raw-1",
        "data": {},
        "topic": "/topics/t",
        "subject": "/s",
        "event_type": "Pros.Usage.ModelCall",
        "event_time": dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC),
        "data_version": "1.0",
    }
    defaults.update(fields)
    return func.EventGridEvent(**defaults)


def deliver(body: dict[str, Any]) -> None:
    processor()(as_delivered(body))
